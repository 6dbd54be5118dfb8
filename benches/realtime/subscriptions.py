#!/usr/bin/env python3
"""Subscriptions at scale: gateway memory per idle subscription, and the latency of one
subgraph event fanned out to 1, 100 and 10,000 subscribers of one gateway instance.

    benches/realtime/subscriptions.py [--counts 1,100,10000] [--samples N] [--interval-ms MS]
        [--client python|rust] [--transport sse|ws] [--per-connection K]

What one run does (docs/realtime.md, "Measured", has the results):

1. Uses the release binaries in $CARGO_TARGET_DIR/release (else target/release); builds them
   (`cargo build --release -p gateway -p subgraphs`) when missing. BENCH_PROFILE=debug uses
   the debug ones (to try the script; not for figures).
2. Starts the four demo services and one gateway (no Redis, no entity cache: every event is
   answered from the reviews subgraph's stream alone), with the subscription and connection
   limits raised above the largest count.
3. For each count N: opens N client subscriptions over GraphQL over SSE (one connection each,
   the distinct-connections mode), `subscription { reviewAdded(upc: "1") { id body rating } }`.
   Identical subscriptions share one upstream subscription to reviews, so every event is one
   subgraph message fanned out by the gateway to N streams.
4. Waits until every subscriber has received a warm-up event (then all are subscribed), reads
   the gateway's resident memory (VmRSS) idle, and compares it with the memory before the N
   connections were opened: (after - before) / N is the memory per idle subscription,
   connection included.
5. --samples times: posts `addReview(productUpc: "1", ...)` to the reviews service directly;
   it publishes the event on its subscription stream. Records when each client has the event;
   prints p50/p99/max of (a) mutation sent → first subscriber holding the event and (b)
   mutation sent → every subscriber holding it (the fan-out), as one JSON line per count.

With `--client python` (the default) the clients are one Python asyncio loop on the same 2 cores
as the gateway and the services: at 10,000 subscribers most of (b) is this loop reading 10,000
sockets one after the other, so (b) is an upper bound of the gateway's own fan-out time.

With `--client rust` steps 3-5 are done by benches/realtime-client (built with `cargo build
--release -p realtime-client` when missing), one process per count: a task per connection that
scans its socket for the event's name and timestamps it on arrival, on a multi-threaded tokio
runtime. It adds (c), the time from the mutation to each subscriber holding the event (every
delivery of every sample), and the gateway's CPU time per event. `--transport ws` subscribes
over `graphql-transport-ws` instead of SSE, `--per-connection K` subscriptions multiplexed on
each WebSocket (SSE is always one per connection).

Only processes this script started are stopped, by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from processes import ROOT, binaries, percentiles, start_gateway, start_services, stop_all, subgraphs_config

SUBSCRIPTION = 'subscription { reviewAdded(upc: "1") { id body rating } }'


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for {pid}")


class Subscriber:
    """One GraphQL-over-SSE subscription on its own connection; records when each event
    (by its review body) arrived."""

    def __init__(self, port: int):
        self.port = port
        self.arrivals: dict[str, float] = {}
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer = writer
        body = json.dumps({"query": SUBSCRIPTION}).encode()
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise SystemExit(f"subscription refused: {status!r}")
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        asyncio.get_running_loop().create_task(self.read(reader))

    async def read(self, reader: asyncio.StreamReader) -> None:
        # Chunked transfer: chunk-size lines and SSE lines interleave; only `data:` lines
        # matter, and each event's data is one line.
        while line := await reader.readline():
            if line.startswith(b"data:"):
                now = time.perf_counter()
                try:
                    payload = json.loads(line[5:])
                except ValueError:
                    continue
                review = ((payload.get("data") or {}).get("reviewAdded")) or {}
                if "body" in review:
                    self.arrivals.setdefault(review["body"], now)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def add_review(reviews_url: str, body: str) -> None:
    query = (
        f'mutation {{ addReview(productUpc: "1", authorId: "1", body: "{body}", rating: 5)'
        " { id } }"
    )
    request = urllib.request.Request(
        reviews_url, json.dumps({"query": query}).encode(), {"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request).read()


async def wait_for(subscribers: list[Subscriber], body: str, timeout: float) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if all(body in s.arrivals for s in subscribers):
            return True
        await asyncio.sleep(0.0005)
    return False


async def measure(count: int, args, port: int, gateway_pid: int, reviews_url: str) -> dict:
    loop = asyncio.get_running_loop()
    before = rss_kib(gateway_pid)
    subscribers = [Subscriber(port) for _ in range(count)]
    for start in range(0, count, 500):
        await asyncio.gather(*(s.open() for s in subscribers[start : start + 500]))
    # Every subscriber has its upstream once a warm-up event reaches all of them.
    for attempt in range(50):
        body = f"warm-up-{count}-{attempt}"
        await loop.run_in_executor(None, add_review, reviews_url, body)
        if await wait_for(subscribers, body, 2.0):
            break
    else:
        raise SystemExit(f"{count} subscribers never all received a warm-up event")
    await asyncio.sleep(1.0)
    idle = rss_kib(gateway_pid)
    first, every, missed = [], [], 0
    for sample in range(args.samples):
        body = f"sample-{count}-{sample}"
        sent = time.perf_counter()
        await loop.run_in_executor(None, add_review, reviews_url, body)
        if not await wait_for(subscribers, body, 10.0):
            missed += 1
            continue
        arrivals = [s.arrivals[body] - sent for s in subscribers]
        first.append(min(arrivals))
        every.append(max(arrivals))
        await asyncio.sleep(args.interval_ms / 1000)
    for s in subscribers:
        s.close()
    await asyncio.sleep(1.0)
    return {
        "subscribers": count,
        "samples": len(first),
        "missed": missed,
        "gateway_rss_before_kib": before,
        "gateway_rss_idle_kib": idle,
        "kib_per_idle_subscription": round((idle - before) / count, 2),
        "event_to_first_subscriber": percentiles(first),
        "event_to_every_subscriber": percentiles(every),
        "cpus": os.cpu_count(),
    }


def client_binary(bins: Path) -> Path:
    """benches/realtime-client, built beside the gateway when missing."""
    client = bins / "realtime-client"
    if not client.exists():
        flags = ["--release"] if bins.name == "release" else []
        subprocess.run(["cargo", "build", *flags, "-p", "realtime-client"], cwd=ROOT, check=True)
    return client


def measure_rust(count: int, args, client: Path, port: int, gateway_pid: int,
                 reviews_port: int) -> dict:
    out = subprocess.run(
        [str(client), "--gateway", f"127.0.0.1:{port}", "--reviews", f"127.0.0.1:{reviews_port}",
         "--gateway-pid", str(gateway_pid), "--transport", args.transport,
         "--per-connection", str(args.per_connection), "--subscribers", str(count),
         "--samples", str(args.samples), "--interval-ms", str(args.interval_ms)],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"realtime-client failed: {out.stderr.strip()}")
    # Its connections close as it exits: let the gateway release them before the next count.
    time.sleep(2.0)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--counts", default="1,100,10000")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--interval-ms", type=int, default=50)
    parser.add_argument("--client", choices=("python", "rust"), default="python")
    parser.add_argument("--transport", choices=("sse", "ws"), default="sse")
    parser.add_argument("--per-connection", type=int, default=1)
    args = parser.parse_args()
    if args.transport == "ws" and args.client != "rust":
        raise SystemExit("--transport ws needs --client rust")
    counts = [int(c) for c in args.counts.split(",")]
    # Each subscriber is a socket here and one in the gateway.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = max(counts) + 1024
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))
    bins = binaries()
    client = client_binary(bins) if args.client == "rust" else None
    work = Path(tempfile.mkdtemp(prefix="subscriptions-bench-"))
    ports = start_services(bins, work)
    config = work / "gateway.yaml"
    limit = max(counts) + 1000
    config.write_text(
        subgraphs_config(ports)
        + f"server:\n  max_connections: {limit}\n"
        f"subscriptions:\n  max_total: {limit}\n  max_websockets: {limit}\n"
        f"  max_per_connection: {max(100, args.per_connection)}\n"
        "log:\n  access_log: false\n"
    )
    gateway, port = start_gateway(bins, config, work / "gateway.log")
    reviews_url = f"http://127.0.0.1:{ports['reviews']}/graphql"
    for count in counts:
        if client is not None:
            result = measure_rust(count, args, client, port, gateway.pid, ports["reviews"])
        else:
            result = asyncio.run(measure(count, args, port, gateway.pid, reviews_url))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        stop_all()
