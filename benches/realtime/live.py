#!/usr/bin/env python3
"""Live-query update latency: from the XADD of a change event to the client holding the new
result, on a gateway instance that did not see the write.

    benches/realtime/live.py [--clients N] [--samples N] [--interval-ms MS]

What one run does (docs/realtime.md, "Measured", has the results):

1. Uses the release binaries in $CARGO_TARGET_DIR/release (else target/release); builds them
   (`cargo build --release -p gateway -p subgraphs`) when missing. BENCH_PROFILE=debug uses
   the debug ones (to try the script; not for figures).
2. Starts a redis-server on a free loopback port, the four demo services (publishing no
   events of their own), and two gateway instances A and B tailing the Redis Stream, with the
   entity cache on (`events` mode) and `subscriptions.live_throttle_ms: 0`.
3. Opens --clients live queries on B over GraphQL over SSE:
   `query @live { product(upc: "1") { upc price } }`, and waits for their first results.
4. --samples times: changes product 1's price in the products service directly (no event),
   then XADDs the change event and records when each client receives the new price. Samples
   are --interval-ms apart.
5. Prints p50/p95/p99/max of (a) XADD → first client holding it and (b) XADD → every client
   holding it, as one JSON line.

Only processes this script started are stopped, by PID.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"
SERVICES = ("accounts", "products", "reviews", "inventory")
QUERY = 'query @live { product(upc: "1") { upc price } }'
STARTED: list[subprocess.Popen] = []
STOPPING = threading.Event()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binaries() -> Path:
    profile = os.environ.get("BENCH_PROFILE", "release")
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / profile
    if not (target / "gateway").exists() or not (target / "subgraph").exists():
        flags = ["--release"] if profile == "release" else []
        subprocess.run(
            ["cargo", "build", *flags, "-p", "gateway", "-p", "subgraphs"], cwd=ROOT, check=True
        )
    return target


def spawn(cmd: list[str], log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    STARTED.append(proc)
    return proc


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


class Redis:
    """One RESP connection: enough for XADD."""

    def __init__(self, port: int):
        self.socket = socket.create_connection(("127.0.0.1", port))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.socket.makefile("rb")

    def command(self, *args: str) -> bytes:
        out = f"*{len(args)}\r\n".encode()
        for arg in args:
            data = arg.encode()
            out += b"$%d\r\n%s\r\n" % (len(data), data)
        self.socket.sendall(out)
        line = self.file.readline()
        if line.startswith(b"$"):
            return self.file.readline()
        return line


class Client(threading.Thread):
    """One live query over SSE: records when each price arrives."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        host, port = url.split("//")[1].split("/")[0].split(":")
        self.socket = socket.create_connection((host, int(port)))
        body = json.dumps({"query": QUERY}).encode()
        self.socket.sendall(
            b"POST /graphql HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
            b"accept: text/event-stream\r\ncontent-length: %d\r\n\r\n%s"
            % (host.encode(), len(body), body)
        )
        self.file = self.socket.makefile("rb")
        self.arrivals: dict[int, float] = {}
        self.first = threading.Event()

    def run(self) -> None:
        for line in self.file:
            if line.startswith(b"data: {"):
                now = time.perf_counter()
                result = json.loads(line[6:])
                if "data" not in result:
                    if not STOPPING.is_set():
                        print(f"a live query failed: {result}", file=sys.stderr)
                    return
                price = result["data"]["product"]["price"]
                self.arrivals.setdefault(price, now)
                self.first.set()


def percentiles(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    return {
        "p50_ms": round(pick(0.50) * 1000, 2),
        "p95_ms": round(pick(0.95) * 1000, 2),
        "p99_ms": round(pick(0.99) * 1000, 2),
        "max_ms": round(values[-1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--interval-ms", type=int, default=50)
    args = parser.parse_args()
    bins = binaries()
    work = Path(tempfile.mkdtemp(prefix="live-bench-"))
    redis_port = free_port()
    spawn(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        work / "redis.log",
    )
    wait_port(redis_port)
    ports = {}
    for service in SERVICES:
        ports[service] = free_port()
        spawn([str(bins / "subgraph"), service, "--listen", f"127.0.0.1:{ports[service]}"],
              work / f"{service}.log")
    for port in ports.values():
        wait_port(port)
    config = work / "gateway.yaml"
    config.write_text(
        "subgraphs:\n"
        + "".join(f"  {s}:\n    url: http://127.0.0.1:{p}/graphql\n" for s, p in ports.items())
        + f"cache:\n  enabled: true\n  redis_url: redis://127.0.0.1:{redis_port}/\n"
        "  defaults:\n    mode: events\n"
        "subscriptions:\n  live_throttle_ms: 0\n  max_per_connection: 100000\n"
    )
    gateways = []
    for name in ("a", "b"):
        port = free_port()
        spawn([str(bins / "gateway"), "serve", "--supergraph", str(SUPERGRAPH), "--config",
               str(config), "--listen", f"127.0.0.1:{port}"], work / f"gateway-{name}.log")
        wait_port(port)
        gateways.append(f"http://127.0.0.1:{port}/graphql")
    b = gateways[1]
    deadline = time.time() + 15
    while "gateway_cache_stream_connected 1" not in urllib.request.urlopen(
        b.replace("/graphql", "/metrics")).read().decode():
        if time.time() > deadline:
            raise SystemExit("gateway B never connected to the stream")
        time.sleep(0.05)
    clients = [Client(b) for _ in range(args.clients)]
    for client in clients:
        client.start()
    for client in clients:
        if not client.first.wait(30):
            raise SystemExit("a live query got no first result")
    redis = Redis(redis_port)
    products = f"http://127.0.0.1:{ports['products']}/graphql"
    event = json.dumps({"subgraph": "products", "type": "Product", "keys": [{"upc": "1"}]})
    first, every, missed = [], [], 0
    for sample in range(args.samples):
        price = 100_000 + sample
        post(products, {"query": f'mutation {{ updateProductPrice(upc: "1", price: {price}) {{ price }} }}'})
        sent = time.perf_counter()
        redis.command("XADD", "gateway:invalidations", "*", "event", event)
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline and not all(price in c.arrivals for c in clients):
            time.sleep(0.0005)
        got = [c.arrivals[price] - sent for c in clients if price in c.arrivals]
        if len(got) < len(clients):
            missed += 1
            continue
        first.append(min(got))
        every.append(max(got))
        time.sleep(args.interval_ms / 1000)
    print(json.dumps({
        "clients": args.clients,
        "samples": len(first),
        "missed": missed,
        "xadd_to_first_client": percentiles(first),
        "xadd_to_every_client": percentiles(every),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    try:
        main()
    finally:
        STOPPING.set()
        for proc in STARTED:
            proc.terminate()
        for proc in STARTED:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
