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
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from processes import (
    binaries, free_port, percentiles, spawn, start_gateway, start_services, stop_all,
    subgraphs_config, wait_port,
)

QUERY = 'query @live { product(upc: "1") { upc price } }'
STOPPING = threading.Event()


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
    ports = start_services(bins, work)
    config = work / "gateway.yaml"
    config.write_text(
        subgraphs_config(ports)
        + f"cache:\n  enabled: true\n  redis_url: redis://127.0.0.1:{redis_port}/\n"
        "  defaults:\n    mode: events\n"
        "subscriptions:\n  live_throttle_ms: 0\n  max_per_connection: 100000\n"
    )
    gateways = []
    for name in ("a", "b"):
        _, port = start_gateway(bins, config, work / f"gateway-{name}.log")
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
        stop_all()
