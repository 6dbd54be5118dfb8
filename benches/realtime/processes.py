"""What the realtime benchmarks share: the binaries, the demo services and the processes they
start (stopped by `stop_all`, by PID), free loopback ports and latency percentiles."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"
SERVICES = ("accounts", "products", "reviews", "inventory")
STARTED: list[subprocess.Popen] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def binaries() -> Path:
    """The release binaries in $CARGO_TARGET_DIR/release (else target/release), built when
    missing; BENCH_PROFILE=debug takes the debug ones (to try a script; not for figures)."""
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


def start_services(bins: Path, work: Path) -> dict[str, int]:
    """The four demo services on free ports, once they listen: their ports by name."""
    ports = {}
    for service in SERVICES:
        ports[service] = free_port()
        spawn([str(bins / "subgraph"), service, "--listen", f"127.0.0.1:{ports[service]}"],
              work / f"{service}.log")
    for port in ports.values():
        wait_port(port)
    return ports


def subgraphs_config(ports: dict[str, int]) -> str:
    """The `subgraphs:` section of a gateway config pointing at `start_services`' ports."""
    return "subgraphs:\n" + "".join(
        f"  {s}:\n    url: http://127.0.0.1:{p}/graphql\n" for s, p in ports.items()
    )


def start_gateway(bins: Path, config: Path, log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = spawn([str(bins / "gateway"), "serve", "--supergraph", str(SUPERGRAPH), "--config",
                  str(config), "--listen", f"127.0.0.1:{port}"], log)
    wait_port(port)
    return proc, port


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of durations in seconds, in milliseconds."""
    ordered = sorted(values)
    if not ordered:
        return {}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {
        "p50_ms": round(pick(0.50) * 1000, 2),
        "p95_ms": round(pick(0.95) * 1000, 2),
        "p99_ms": round(pick(0.99) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def stop_all() -> None:
    """Stops every process `spawn` started, by PID."""
    for proc in STARTED:
        proc.terminate()
    for proc in STARTED:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
