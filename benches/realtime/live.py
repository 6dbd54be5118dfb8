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
3. Opens --clients live queries on B over GraphQL over SSE, each on its own connection (one
   Python asyncio loop): `query @live { product(upc: "1") { upc price } }`, identical, so
   they share one execution per change; waits for their first results.
4. --samples times: changes product 1's price in the products service directly (no event),
   then XADDs the change event and records when each client receives the new price. Samples
   are --interval-ms apart.
5. Prints p50/p95/p99/max of (a) XADD → first client holding it and (b) XADD → every client
   holding it, B's live-query executions per change (`gateway_live_query_executions_total`
   over the samples: 1 when the clients share) and B's CPU time per change (from
   /proc/<pid>/stat: what the execution and the fan-out to every client cost the gateway,
   whatever the client loop's speed), as one JSON line.

The clients run on the same 2 cores as the gateways and the services: at 10,000 the "every
client" column is mostly the Python loop reading 10,000 sockets in turn, an upper bound of the
gateway's own fan-out time.

Only processes this script started are stopped, by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
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
# How many clients hold each price: the wait for "every client" reads one number rather than
# scanning every client (which, at 10,000, would take the loop's time from reading sockets).
ARRIVED: dict[int, int] = {}


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


class Client:
    """One live query over SSE on its own connection: records when each price arrives."""

    def __init__(self, port: int):
        self.port = port
        self.arrivals: dict[int, float] = {}
        self.first = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer = writer
        body = json.dumps({"query": QUERY}).encode()
        writer.write(
            b"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"accept: text/event-stream\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise SystemExit(f"live query refused: {status!r}")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        asyncio.get_running_loop().create_task(self.read(reader))

    async def read(self, reader: asyncio.StreamReader) -> None:
        # Chunked transfer: chunk-size lines and SSE lines interleave; only `data:` lines
        # matter, and each result is one line.
        while line := await reader.readline():
            if line.startswith(b"data: {"):
                now = time.perf_counter()
                result = json.loads(line[6:])
                if "data" not in result:
                    if not STOPPING.is_set():
                        print(f"a live query failed: {result}", file=sys.stderr)
                    return
                price = result["data"]["product"]["price"]
                if price not in self.arrivals:
                    self.arrivals[price] = now
                    ARRIVED[price] = ARRIVED.get(price, 0) + 1
                self.first.set()


def cpu_ms(pid: int) -> float:
    """User + system CPU time of process `pid` so far, in milliseconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def metric(url: str, name: str) -> int:
    text = urllib.request.urlopen(url.replace("/graphql", "/metrics")).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise SystemExit(f"no {name} in /metrics")


async def measure(args, b: str, b_pid: int, redis_port: int, products: str) -> dict:
    loop = asyncio.get_running_loop()
    port = int(b.split(":")[2].split("/")[0])
    clients = [Client(port) for _ in range(args.clients)]
    for start in range(0, len(clients), 500):
        await asyncio.gather(*(c.open() for c in clients[start : start + 500]))
    for client in clients:
        await asyncio.wait_for(client.first.wait(), 60)
    redis = Redis(redis_port)
    event = json.dumps({"subgraph": "products", "type": "Product", "keys": [{"upc": "1"}]})
    executions_before = metric(b, "gateway_live_query_executions_total")
    cpu_before = cpu_ms(b_pid)
    first, every, missed = [], [], 0
    for sample in range(args.samples):
        price = 100_000 + sample
        mutation = f'mutation {{ updateProductPrice(upc: "1", price: {price}) {{ price }} }}'
        await loop.run_in_executor(None, post, products, {"query": mutation})
        sent = time.perf_counter()
        redis.command("XADD", "gateway:invalidations", "*", "event", event)
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and ARRIVED.get(price, 0) < len(clients):
            await asyncio.sleep(0.0005)
        got = [c.arrivals[price] - sent for c in clients if price in c.arrivals]
        if len(got) < len(clients):
            missed += 1
            continue
        first.append(min(got))
        every.append(max(got))
        await asyncio.sleep(args.interval_ms / 1000)
    cpu = cpu_ms(b_pid) - cpu_before
    executions = metric(b, "gateway_live_query_executions_total") - executions_before
    return {
        "clients": args.clients,
        "samples": len(first),
        "missed": missed,
        "xadd_to_first_client": percentiles(first),
        "xadd_to_every_client": percentiles(every),
        "executions_per_change": round(executions / max(args.samples, 1), 2),
        "live_queries_running": metric(b, "gateway_live_queries"),
        # B's CPU time over the samples (with the pauses between them), per change.
        "gateway_b_cpu_ms_per_change": round(cpu / max(args.samples, 1), 2),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--interval-ms", type=int, default=50)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = args.clients * 2 + 1000
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
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
    limit = args.clients + 1000
    config.write_text(
        subgraphs_config(ports)
        + f"server:\n  max_connections: {limit}\n"
        + f"cache:\n  enabled: true\n  redis_url: redis://127.0.0.1:{redis_port}/\n"
        "  defaults:\n    mode: events\n"
        f"subscriptions:\n  live_throttle_ms: 0\n  max_per_connection: 100000\n"
        f"  max_total: {limit}\n"
    )
    gateways = []
    for name in ("a", "b"):
        proc, port = start_gateway(bins, config, work / f"gateway-{name}.log")
        gateways.append((f"http://127.0.0.1:{port}/graphql", proc.pid))
    b, b_pid = gateways[1]
    deadline = time.time() + 15
    while "gateway_cache_stream_connected 1" not in urllib.request.urlopen(
        b.replace("/graphql", "/metrics")).read().decode():
        if time.time() > deadline:
            raise SystemExit("gateway B never connected to the stream")
        time.sleep(0.05)
    products = f"http://127.0.0.1:{ports['products']}/graphql"
    print(json.dumps(asyncio.run(measure(args, b, b_pid, redis_port, products))))


if __name__ == "__main__":
    try:
        main()
    finally:
        STOPPING.set()
        stop_all()
