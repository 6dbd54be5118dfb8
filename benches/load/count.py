#!/usr/bin/env python3
"""Instructions per request: our gateway under callgrind, in front of the demo services.

    benches/load/count.py [--scenarios deep,small,deep-cache] [--requests N] [--binaries DIR]

Load runs on a shared 2-core machine move by 20 % from one run to the next, more than most
single changes. callgrind counts instructions instead: the same count for the same binary and
requests, whatever else the machine is doing. For each scenario this script starts the
gateway under `valgrind --tool=callgrind` (the services run natively), sends 20 requests to
warm the caches, zeroes the counters, sends `--requests` more one after another on one
keep-alive connection (as wrk does), checks the answer once more, stops the gateway and prints
the gateway process's instructions per request, HTTP handling included (the final check,
which opens a connection of its own, is counted as one request more).
Compare two builds by running it with `--binaries` on each (docs/benchmarks.md).

Exit status: 0 when every answer was right; 1 when one was not; 2 for a bad option or a
missing tool. Only processes this script started are stopped, by PID.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import run  # the load benchmark: scenarios, processes, builds, checks

WARMUP_REQUESTS = 20
# Scenarios that go through our gateway; `ceiling` is a service alone.
COUNTABLE = [s for s in run.SCENARIOS if s.targets != "direct"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Instructions per request of our gateway, under callgrind.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--scenarios",
        default="deep,small,deep-cache",
        help="comma-separated scenarios of run.py: " + ", ".join(s.name for s in COUNTABLE),
    )
    parser.add_argument(
        "--requests", type=int, default=50, help="requests counted per scenario"
    )
    parser.add_argument(
        "--binaries",
        default="",
        help="run the gateway and subgraph binaries in this folder instead of building them",
    )
    args = parser.parse_args(argv)
    by_name = {s.name: s for s in COUNTABLE}
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        raise run.UsageError(
            f"unknown scenario(s) {', '.join(unknown) or '(none)'}; choose among "
            + ", ".join(by_name)
        )
    if args.requests < 1:
        raise run.UsageError("--requests must be positive")
    args.scenario_list = [by_name[n] for n in names]
    return args


def ensure_valgrind() -> None:
    for tool in ("valgrind", "callgrind_control"):
        if not shutil.which(tool):
            run.log(f"{tool} is missing: installing Debian's valgrind package")
            run.apt_install("valgrind")
            break


def total_instructions(out_file: Path) -> int:
    """The `totals:` (or `summary:`) line callgrind writes at the end of its output file."""
    for line in reversed(out_file.read_text(errors="replace").splitlines()):
        match = re.match(r"(?:totals|summary):\s+(\d+)", line)
        if match:
            return int(match.group(1))
    raise run.BenchError(f"no instruction total in {out_file}")


def count(
    binaries: Path, services: run.Services, scenario: run.Scenario, requests: int, workdir: Path
) -> int:
    extra = run.scenario_config(scenario)
    config = workdir / f"gateway-{scenario.name}.yaml"
    config.write_text(run.gateway_base_config(services.urls) + ("\n" + extra if extra else ""))
    port = run.free_ports(1)[0]
    out_file = workdir / f"callgrind-{scenario.name}.out"
    cmd = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out_file}",
        str(binaries / "gateway"),
        "serve",
        "--supergraph",
        str(services.supergraph),
        "--config",
        str(config),
        "--listen",
        f"127.0.0.1:{port}",
    ]
    target = run.Target("gateway", f"gateway under callgrind ({scenario.name})", cmd, port)
    proc = run.start_target(target, workdir, f"callgrind-{scenario.name}")
    checker = run.Checker(workdir)
    try:
        checker.check(target.label, target.url, scenario, services)
        # One keep-alive connection, as wrk's: connection setup is not what is counted.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = json.dumps({"query": scenario.query})
        headers = run.request_headers(scenario)

        def send() -> None:
            connection.request("POST", "/graphql", body, headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise run.BenchError(f"{target.label}: HTTP {response.status}")

        for _ in range(WARMUP_REQUESTS):
            send()
        subprocess.run(
            ["callgrind_control", "--zero", str(proc.pid)],
            check=True,
            capture_output=True,
        )
        for _ in range(requests):
            send()
        connection.close()
        # The answer is still right at the end (checked on a connection of its own, counted).
        checker.check(target.label, target.url, scenario)
    finally:
        # callgrind writes the counts since the zeroing when the process exits.
        run.stop(proc)
    return round(total_instructions(out_file) / (requests + 1))


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    ensure_valgrind()
    binaries, target_dir = run.binaries_and_target_dir(args.binaries)
    needed = ["gateway", "subgraph"]
    if any(s.services == "cheap" for s in args.scenario_list):
        needed.append("cheap-subgraphs")
    for binary in needed:
        if not (binaries / binary).is_file():
            raise run.UsageError(f"{binaries / binary} is missing")
    workdir = target_dir / "load-bench" / ("count-" + time.strftime("%Y-%m-%dT%H-%M-%S"))
    workdir.mkdir(parents=True)

    service_sets = {
        kind: run.start_services(binaries, workdir, kind)
        for kind in dict.fromkeys(s.services for s in args.scenario_list)
    }

    results = {}
    for scenario in args.scenario_list:
        run.log(f"scenario {scenario.name}: {args.requests} requests under callgrind")
        results[scenario.name] = count(
            binaries, service_sets[scenario.services], scenario, args.requests, workdir
        )

    print(f"Gateway instructions per request ({binaries}, {args.requests} requests each):")
    for name, per_request in results.items():
        print(f"  {name:<12} {per_request:>12,}")
    (workdir / "counts.json").write_text(json.dumps(results, indent=2) + "\n")
    run.log(f"logs and callgrind files in {workdir}")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, run.on_signal)
    signal.signal(signal.SIGHUP, run.on_signal)
    atexit.register(run.stop_all)
    try:
        sys.exit(main(sys.argv[1:]))
    except run.UsageError as error:
        run.log(f"error: {error}")
        sys.exit(2)
    except run.BenchError as error:
        run.log(f"FAILED: {error}")
        sys.exit(1)
    except subprocess.CalledProcessError as error:
        run.log(f"FAILED: {' '.join(map(str, error.cmd))} exited with status {error.returncode}")
        sys.exit(1)
