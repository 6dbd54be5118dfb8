#!/usr/bin/env python3
"""Load benchmark: our gateway against Apollo Gateway, on one machine, in one run.

    benches/load/run.py [--smoke] [--connections N] [--duration S] [--warmup S]
                        [--scenarios a,b,...] [--gateways gateway,apollo[,hive]]
                        [--hive-router PATH] [--list]

What one run does (docs/benchmarks.md has the details and the results):

1. Installs what is missing: wrk (Debian's package, with apt-get), Apollo Gateway (npm ci
   into benches/load/node_modules, ignored by git).
2. Builds the release binaries (`cargo build --release -p gateway -p subgraphs`).
3. Starts the four demo services on free loopback ports, and the cheap subgraphs'
   process (`cheap-subgraphs`) when a `cheap*` scenario is selected.
4. Checks every target (our gateway with each scenario's config, Apollo Gateway, the products
   service answering directly) against every query it will be loaded with: no `errors`, the
   expected size, and the same JSON as every other target asked the same query. Aborts
   otherwise. Counts the subgraph requests each query caused (the cheap subgraphs count
   them; the demo services are reached through counting proxies during these checks only).
5. For each scenario and target in turn: starts a fresh target process, warms it up, drives it
   with wrk (fixed connections and duration), reads its CPU time and peak RSS from /proc,
   checks the answer once more, stops it.
6. Prints one table (req/s, latency percentiles, errors, peak RSS, CPU), our figures as ratios
   to Apollo Gateway's (and to Hive Router's when it ran), and the targets the team measures
   against; writes the same as JSON and Markdown next to the logs, under
   <cargo target dir>/load-bench/.

Exit status: 0 when every check passed and no request failed; 1 when a response was wrong or
a request failed (non-2xx, socket error or timeout); 2 for a bad option or a missing tool.

Only processes this script started are stopped, by PID, also on Ctrl-C. Every option has an
environment variable (BENCH_CONNECTIONS, ...); a flag wins over its variable.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import base64
import datetime
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SUPERGRAPH = ROOT / "schema" / "supergraph.graphql"
SERVICES = ("accounts", "products", "reviews", "inventory")
# The cheap subgraphs (subgraphs/src/cheap): one `cheap-subgraphs` process serving the four on
# their own paths from data built at start, and counting the requests each received.
CHEAP_DIR = HERE / "scenarios" / "cheap"
CHEAP_SUPERGRAPH = CHEAP_DIR / "supergraph.graphql"

# ---------------------------------------------------------------------------------------------
# Scenarios: one entry each. `targets` says who is loaded: "gateways" (our gateway and Apollo
# Gateway, as selected with --gateways), "ours" (our gateway alone, compared with Apollo
# Gateway's figures of the `baseline` scenario), or "direct" (a demo service answering without
# a gateway). `config` is YAML appended to our gateway's base config (listen address and
# subgraph URLs) for this scenario.
# ---------------------------------------------------------------------------------------------

DEEP_QUERY = (
    "{ users { id name reviews { id body product { upc name price shippingEstimate"
    " reviews { id body author { id name username } } } } } }"
)
# (b) and (d) send the same query: one hop to products, through a gateway or directly, so
# their ratio is what the gateway costs. small-join adds a second hop (inventory's inStock).
SMALL_QUERY = "{ topProducts(first: 3) { upc name } }"
SMALL_JOIN_QUERY = "{ topProducts(first: 3) { upc name inStock } }"
# The cheap scenario's query: the shape of the field's public federation benchmark (two root
# fields, each four levels deep through the four subgraphs), over the cheap subgraphs.
CHEAP_QUERY = (CHEAP_DIR / "query.graphql").read_text()


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    query: str
    # Size bounds of the response body in bytes, inclusive.
    min_bytes: int
    max_bytes: int
    targets: str = "gateways"  # "gateways" | "ours" | "direct"
    config: str | None = None  # file under benches/load/, for our gateway
    baseline: str | None = None  # scenario whose Apollo Gateway figures ours compare with
    service: str | None = None  # for targets == "direct"
    in_smoke: bool = False
    # Extra request headers: "secured" (a signed JWT and an Origin the config allows) or
    # "gzip" (Accept-Encoding: gzip). See `request_headers`.
    headers: str | None = None
    # Which subgraphs answer: "demo" (the four demo services, schema/supergraph.graphql) or
    # "cheap" (the cheap subgraphs, benches/load/scenarios/cheap/supergraph.graphql).
    services: str = "demo"


SCENARIOS = [
    Scenario(
        "deep",
        "(a) deep query across the four services, ~68 KB, shippingEstimate via @requires",
        DEEP_QUERY,
        min_bytes=60_000,
        max_bytes=80_000,
    ),
    Scenario(
        "small",
        "(b) small query, one hop (products), under 1 KB",
        SMALL_QUERY,
        min_bytes=50,
        max_bytes=1023,
        in_smoke=True,
    ),
    Scenario(
        "small-join",
        "small query, two hops (products, then inventory), under 1 KB",
        SMALL_JOIN_QUERY,
        min_bytes=50,
        max_bytes=1023,
    ),
    Scenario(
        "deep-cache",
        "(c) the deep query with the entity cache on and warm",
        DEEP_QUERY,
        min_bytes=60_000,
        max_bytes=80_000,
        targets="ours",
        config="scenarios/cache.yaml",
        baseline="deep",
    ),
    Scenario(
        "ceiling",
        "(d) the products service answering directly: the ceiling for (b)",
        SMALL_QUERY,
        min_bytes=50,
        max_bytes=1023,
        targets="direct",
        service="products",
    ),
    Scenario(
        "deep-dedup",
        "the deep query with inbound request de-duplication on",
        DEEP_QUERY,
        min_bytes=60_000,
        max_bytes=80_000,
        targets="ours",
        config="scenarios/dedup.yaml",
        baseline="deep",
    ),
    Scenario(
        "deep-unlimited",
        "the deep query with every operation limit off (their cost: compare with deep)",
        DEEP_QUERY,
        min_bytes=60_000,
        max_bytes=80_000,
        targets="ours",
        config="scenarios/unlimited.yaml",
        baseline="deep",
    ),
    Scenario(
        "small-unlimited",
        "the small query with every operation limit off (their cost: compare with small)",
        SMALL_QUERY,
        min_bytes=50,
        max_bytes=1023,
        targets="ours",
        config="scenarios/unlimited.yaml",
        baseline="small",
    ),
]
for query_name, query, low, high in [
    ("deep", DEEP_QUERY, 60_000, 80_000),
    ("small", SMALL_QUERY, 50, 1023),
]:
    SCENARIOS += [
        Scenario(
            f"{query_name}-open",
            f"the {query_name} query with CSRF prevention off, no CORS and no JWT: what the"
            f" edge costs, against {query_name}-secured",
            query,
            min_bytes=low,
            max_bytes=high,
            targets="ours",
            config="scenarios/edge-off.yaml",
            baseline=query_name,
        ),
        Scenario(
            f"{query_name}-secured",
            f"the {query_name} query from an allowed origin with an RS256 JWT verified against a"
            " JWKS, CSRF prevention and CORS on",
            query,
            min_bytes=low,
            max_bytes=high,
            targets="ours",
            config="scenarios/secured.yaml",
            baseline=query_name,
            headers="secured",
        ),
    ]
for query_name, query, low, high in [
    ("deep", DEEP_QUERY, 60_000, 80_000),
    ("small", SMALL_QUERY, 50, 1023),
]:
    SCENARIOS += [
        Scenario(
            f"{query_name}-obs-off",
            f"the {query_name} query with metrics, the access log and tracing off: what"
            " observability costs, against the sampling scenarios",
            query,
            min_bytes=low,
            max_bytes=high,
            targets="ours",
            config="scenarios/observability-off.yaml",
            baseline=query_name,
        ),
        Scenario(
            f"{query_name}-sampling-0.01",
            f"the {query_name} query with metrics and tracing on, 1 % sampled,"
            " spans exported over OTLP/HTTP",
            query,
            min_bytes=low,
            max_bytes=high,
            targets="ours",
            config="scenarios/sampling-0.01.yaml",
            baseline=query_name,
        ),
        Scenario(
            f"{query_name}-sampling-1",
            f"the {query_name} query with metrics and tracing on, every request"
            " sampled, spans exported over OTLP/HTTP",
            query,
            min_bytes=low,
            max_bytes=high,
            targets="ours",
            config="scenarios/sampling-1.yaml",
            baseline=query_name,
        ),
    ]
SCENARIOS.append(
    Scenario(
        "deep-gzip",
        "the deep query with Accept-Encoding: gzip (the answer compressed; compare with deep)",
        DEEP_QUERY,
        min_bytes=60_000,
        max_bytes=80_000,
        targets="ours",
        baseline="deep",
        headers="gzip",
    )
)
SCENARIOS += [
    Scenario(
        "cheap",
        "the public benchmark's shape over cheap subgraphs (data built at start): users and"
        " topProducts four levels deep, ~90 KB; every de-duplication off",
        CHEAP_QUERY,
        min_bytes=80_000,
        max_bytes=100_000,
        config="scenarios/cheap/dedup-off.yaml",
        services="cheap",
    ),
    Scenario(
        "cheap-dedup",
        "the cheap query with our defaults: identical subgraph requests in flight shared",
        CHEAP_QUERY,
        min_bytes=80_000,
        max_bytes=100_000,
        targets="ours",
        baseline="cheap",
        services="cheap",
    ),
]
SCENARIOS_BY_NAME = {s.name: s for s in SCENARIOS}

# The JWT test keys (gateway/tests/jwt-keys): scenarios/secured.yaml reads their JWKS.
JWT_KEYS = ROOT / "gateway" / "tests" / "jwt-keys"
SECURED_ORIGIN = "http://app.bench.test"


def scenario_config(scenario: Scenario) -> str:
    """The YAML a scenario appends to our gateway's base config (`@REPO@`: the repository;
    `@OTLP_HTTP@`: the traces URL of an OTLP sink in this process, started on first use)."""
    if not scenario.config:
        return ""
    text = (HERE / scenario.config).read_text().replace("@REPO@", str(ROOT))
    if "@OTLP_HTTP@" in text:
        text = text.replace("@OTLP_HTTP@", otlp_sink_url())
    return text


_OTLP_SINK: str | None = None


def otlp_sink_url() -> str:
    """An OTLP/HTTP collector stand-in on a free port: it reads every export and answers 200
    with an empty (valid) protobuf response, so the gateway's exporter does all its work."""
    global _OTLP_SINK
    if _OTLP_SINK is None:
        import http.server
        import threading

        class Sink(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        _OTLP_SINK = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    return _OTLP_SINK


def jwt_rs256(claims: dict) -> str:
    """A token signed with the test RSA key, by openssl (no Python package needed)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = {"alg": "RS256", "typ": "JWT", "kid": "rsa"}
    signed = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(JWT_KEYS / "rsa.pem"), "-binary"],
        input=signed.encode(),
        capture_output=True,
        check=True,
    ).stdout
    return f"{signed}.{b64(signature)}"


_TOKEN: list[str] = []


def request_headers(scenario: Scenario | None) -> dict[str, str]:
    """The headers every request of a scenario carries."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    kind = scenario.headers if scenario else None
    if kind == "secured":
        if not _TOKEN:
            claims = {"sub": "1", "iss": "https://issuer.bench.test", "aud": "gateway",
                      "exp": int(time.time()) + 24 * 3600, "scope": "read"}
            _TOKEN.append(jwt_rs256(claims))
        headers["Authorization"] = f"Bearer {_TOKEN[0]}"
        headers["Origin"] = SECURED_ORIGIN
    elif kind == "gzip":
        headers["Accept-Encoding"] = "gzip"
    return headers

# What the team measures against (see docs/benchmarks.md). Printed, never enforced.
TARGET_DEEP_RPS_RATIO = 40.0  # (a) req/s at least 40x Apollo Gateway's
TARGET_DEEP_P99_FRACTION = 20.0  # (a) p99 at most 1/20 of Apollo Gateway's
TARGET_DEEP_RSS_MB = 60.0  # (a) peak RSS under load at most 60 MB
TARGET_SMALL_VS_CEILING = 1.5  # (b) req/s within 1.5x of the ceiling (d)

GATEWAY_LABELS = {"gateway": "gateway (ours)", "apollo": "Apollo Gateway", "hive": "Hive Router"}
# Peers, in the order their ratios are printed. Hive Router (Rust) is optional: the script does
# not build it (it needs a newer Rust than ours), it runs a binary given with --hive-router.
PEERS = ("apollo", "hive")

# Hive Router's config for every run: no de-duplication of any kind (its default shares
# identical in-flight subgraph requests, which on a benchmark that sends one query on every
# connection is inbound de-duplication in all but name; scenario (a) is defined without it).
HIVE_CONFIG = """\
log:
  level: warn
traffic_shaping:
  all:
    dedupe_enabled: false
  router:
    dedupe:
      enabled: false
"""


class BenchError(Exception):
    """A failure that ends the run: exit status 1."""


class UsageError(Exception):
    """A bad option or a missing tool: exit status 2."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------


def env_default(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, got {value!r}") from None


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Load benchmark: our gateway against Apollo Gateway (docs/benchmarks.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=env_int("BENCH_CONNECTIONS", 64),
        help="open connections (env BENCH_CONNECTIONS)",
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=env_int("BENCH_DURATION", 20),
        help="seconds of measured load per scenario and target (env BENCH_DURATION)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=env_int("BENCH_WARMUP", 5),
        help="seconds of unmeasured load before each measurement (env BENCH_WARMUP)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=env_int("BENCH_THREADS", 2),
        help="wrk threads (env BENCH_THREADS)",
    )
    parser.add_argument(
        "--timeout",
        type=int,
        default=env_int("BENCH_TIMEOUT", 10),
        help="seconds after which wrk counts a request as timed out (env BENCH_TIMEOUT)",
    )
    parser.add_argument(
        "--scenarios",
        default=env_default("BENCH_SCENARIOS", ",".join(s.name for s in SCENARIOS)),
        help="comma-separated scenarios to run (env BENCH_SCENARIOS; --list shows them)",
    )
    parser.add_argument(
        "--gateways",
        default=env_default("BENCH_GATEWAYS", "gateway,apollo"),
        help="comma-separated gateways: gateway (ours), apollo, hive (Hive Router, needs"
        " --hive-router) (env BENCH_GATEWAYS)",
    )
    parser.add_argument(
        "--hive-router",
        default=env_default("BENCH_HIVE_ROUTER", ""),
        help="the hive_router binary to run as gateway `hive`, e.g. from"
        " `cargo +nightly install hive-router` (env BENCH_HIVE_ROUTER)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        default=env_default("BENCH_SMOKE", "") not in ("", "0"),
        help="2-second runs, 1-second warm-up, scenario small, both gateways (env BENCH_SMOKE=1)",
    )
    parser.add_argument(
        "--binaries",
        default=env_default("BENCH_BINARIES", ""),
        help="run the gateway and subgraph binaries in this folder instead of building them,"
        " e.g. a copy of an earlier build to compare with (env BENCH_BINARIES)",
    )
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = parser.parse_args(argv)

    if args.smoke:
        args.duration, args.warmup = 2, 1
        args.scenarios = ",".join(s.name for s in SCENARIOS if s.in_smoke)
        args.gateways = "gateway,apollo"
    args.scenario_list = [
        SCENARIOS_BY_NAME.get(n.strip()) or n.strip()
        for n in args.scenarios.split(",")
        if n.strip()
    ]
    unknown = [n for n in args.scenario_list if isinstance(n, str)]
    if unknown:
        raise UsageError(f"unknown scenario(s) {', '.join(unknown)}; --list shows them")
    args.gateway_list = [g.strip() for g in args.gateways.split(",") if g.strip()]
    bad = [g for g in args.gateway_list if g not in GATEWAY_LABELS]
    if bad or not args.gateway_list:
        raise UsageError(
            f"--gateways takes a comma-separated subset of gateway,apollo,hive; got {args.gateways!r}"
        )
    if "hive" in args.gateway_list:
        if not args.hive_router:
            raise UsageError("--gateways hive needs --hive-router PATH (a hive_router binary)")
        if not os.access(args.hive_router, os.X_OK):
            raise UsageError(f"--hive-router {args.hive_router!r} is not an executable file")
    if args.connections < 1 or args.duration < 1 or args.warmup < 0 or args.threads < 1:
        raise UsageError(
            "--connections, --duration and --threads must be positive, --warmup not negative"
        )
    args.threads = min(args.threads, args.connections)
    return args


# ---------------------------------------------------------------------------------------------
# Processes: everything started here is recorded and stopped by PID at exit
# ---------------------------------------------------------------------------------------------

STARTED: list[subprocess.Popen] = []


def spawn(cmd: list[str], log_path: Path, **kwargs) -> subprocess.Popen:
    log_file = open(log_path, "ab")
    try:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, **kwargs
        )
    finally:
        log_file.close()
    STARTED.append(proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 5 s; only for a process this script started."""
    if proc.poll() is None:
        try:
            proc.terminate()
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except ProcessLookupError:
            pass
    if proc in STARTED:
        STARTED.remove(proc)


def stop_all() -> None:
    for proc in list(reversed(STARTED)):
        stop(proc)


def on_signal(signum, _frame) -> None:
    # Turn SIGTERM/SIGHUP into an exception so `finally` blocks and atexit run.
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------------------------------------
# Tools and builds
# ---------------------------------------------------------------------------------------------


def run_checked(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kwargs)


def apt_install(package: str) -> None:
    """Installs a Debian package (as root, or through sudo when there is one)."""
    prefix: list[str] = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            raise UsageError(
                f"{package} is missing: install it with `apt-get install {package}` as root"
            )
        prefix = ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run_checked(prefix + ["apt-get", "update", "-qq"], env=env)
    run_checked(
        prefix + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], env=env
    )


def ensure_wrk() -> str:
    if not shutil.which("wrk"):
        log("wrk is missing: installing Debian's package")
        apt_install("wrk")
    wrk = shutil.which("wrk")
    if not wrk:
        raise UsageError("wrk is still missing after apt-get install wrk")
    return wrk


def ensure_apollo() -> str:
    """npm ci into benches/load/node_modules unless it already matches package-lock.json."""
    node = shutil.which("node")
    if not node:
        raise UsageError("node is missing: Apollo Gateway needs Node.js 20 or later")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        raise UsageError(f"Apollo Server 5 needs Node.js 20 or later; found {version}")
    if not shutil.which("npm"):
        log("npm is missing: installing Debian's package")
        apt_install("npm")
    lock = HERE / "package-lock.json"
    stamp = HERE / "node_modules" / ".bench-lock-sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != digest:
        run_checked(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE)
        stamp.write_text(digest + "\n")
    manifest = HERE / "node_modules" / "@apollo" / "gateway" / "package.json"
    return json.loads(manifest.read_text())["version"]


def binaries_and_target_dir(binaries: str) -> tuple[Path, Path]:
    """The binaries to run (those in `binaries`, else a fresh release build) and cargo's target
    directory (where runs keep their files). Given binaries are not rebuilt: a build now would
    be of this checkout, which is not what they are."""
    if binaries:
        return Path(binaries).resolve(), target_directory()
    target_dir = build()
    return target_dir / "release", target_dir


def build() -> Path:
    """Builds the release binaries; returns cargo's target directory."""
    if not shutil.which("cargo"):
        raise UsageError("cargo is missing: install Rust (rustup.rs)")
    run_checked(
        ["cargo", "build", "--release", "--locked", "-p", "gateway", "-p", "subgraphs"], cwd=ROOT
    )
    return target_directory()


def target_directory() -> Path:
    """Cargo's target directory for this checkout."""
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(json.loads(metadata.stdout)["target_directory"])


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out for 127.0.0.1:0, held open together so they differ."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# ---------------------------------------------------------------------------------------------
# HTTP and checks
# ---------------------------------------------------------------------------------------------


def post(
    url: str, query: str, timeout: float = 30, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """POSTs a query; a gzip answer is decompressed (and must have been asked for)."""
    body = json.dumps({"query": query}).encode()
    request = urllib.request.Request(url, data=body, headers=headers or request_headers(None))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read()
            if response.headers.get("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            return response.status, data
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def ordered(value):
    """JSON as nested lists of (key, value) pairs: equality then also compares key order."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def first_difference(a, b, path: str = "") -> str:
    if type(a) is not type(b):
        return f"{path or '.'}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path or '.'}: keys {list(a)} vs {list(b)}"
        for key in a:
            if a[key] != b[key] or ordered(a[key]) != ordered(b[key]):
                return first_difference(a[key], b[key], f"{path}.{key}")
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path or '.'}: {len(a)} items vs {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            if ordered(x) != ordered(y):
                return first_difference(x, y, f"{path}[{i}]")
    return f"{path or '.'}: {json.dumps(a)[:80]} vs {json.dumps(b)[:80]}"


@dataclasses.dataclass
class Reference:
    who: str
    value: object
    size: int


class Checker:
    """Checks answers: no errors, expected size, the same JSON for the same query everywhere."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.references: dict[str, Reference] = {}
        # Subgraph requests the last checked query caused, by subgraph (None: not counted).
        self.last_requests: dict[str, int] | None = None
        # (who, scenario) -> total subgraph requests of one query, for the log and report.
        self.requests: dict[tuple[str, str], int] = {}

    def check(
        self, who: str, url: str, scenario: Scenario, services: Services | None = None
    ) -> int:
        """Checks one answer; with `services` that count their requests (the cheap subgraphs),
        also counts the subgraph requests the query caused (nothing else may be running)."""
        before = services.request_counts() if services else None
        status, body = post(url, scenario.query, headers=request_headers(scenario))
        after = services.request_counts() if services else None
        self.last_requests = None
        if before is not None and after is not None:
            self.last_requests = {name: after[name] - before[name] for name in after}
            total = sum(self.last_requests.values())
            if self.requests.get((who, scenario.name)) != total:
                detail = ", ".join(f"{n} {c}" for n, c in self.last_requests.items())
                log(f"  {who}, {scenario.name}: {total} subgraph requests a query ({detail})")
            self.requests[(who, scenario.name)] = total
        saved = self.workdir / f"response-{re.sub(r'[^A-Za-z0-9]+', '-', who)}-{scenario.name}.json"
        saved.write_bytes(body)
        where = f"{who}, scenario {scenario.name}"
        if status != 200:
            raise BenchError(f"{where}: HTTP {status} (body in {saved})")
        try:
            value = json.loads(body)
        except ValueError as error:
            raise BenchError(f"{where}: the body is not JSON: {error} (body in {saved})") from None
        if not isinstance(value, dict) or value.get("errors"):
            errors = json.dumps(value.get("errors") if isinstance(value, dict) else value)[:300]
            raise BenchError(f"{where}: the response has errors: {errors}")
        if not value.get("data"):
            raise BenchError(f"{where}: the response has no data (body in {saved})")
        if not scenario.min_bytes <= len(body) <= scenario.max_bytes:
            raise BenchError(
                f"{where}: the response is {len(body)} bytes, expected"
                f" {scenario.min_bytes} to {scenario.max_bytes} (body in {saved})"
            )
        reference = self.references.get(scenario.query)
        if reference is None:
            self.references[scenario.query] = Reference(who, value, len(body))
        elif ordered(reference.value) != ordered(value):
            raise BenchError(
                f"{where}: the response differs from {reference.who}'s to the same query at "
                f"{first_difference(reference.value, value)} (bodies in {self.workdir})"
            )
        return len(body)


# ---------------------------------------------------------------------------------------------
# Targets: what gets loaded
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Target:
    kind: str  # "gateway" | "apollo" | "direct"
    label: str
    cmd: list[str]
    port: int
    cwd: Path | None = None
    env: dict | None = None
    path: str = "/graphql"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


def start_target(target: Target, workdir: Path, name: str) -> subprocess.Popen:
    """Starts a target and waits until it answers `{ __typename }` (30 s at most)."""
    log_path = workdir / f"{name}.log"
    env = dict(os.environ, **(target.env or {}))
    proc = spawn(target.cmd, log_path, cwd=target.cwd, env=env)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            output = log_path.read_text(errors="replace")
            STARTED.remove(proc)
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise BenchError(
                f"{target.label} exited with status {proc.returncode} while starting:\n{tail}"
            )
        try:
            status, _ = post(target.url, "{ __typename }", timeout=2)
            if status == 200:
                return proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(proc)
            raise BenchError(f"{target.label} did not answer within 30 s; see {log_path}")
        time.sleep(0.1)


@dataclasses.dataclass
class Services:
    """A running set of subgraphs: "demo" or "cheap" (see `Scenario.services`)."""

    kind: str
    supergraph: Path
    urls: dict[str, str]  # subgraph name -> its URL
    pids: list[int]
    # GET it for the requests each subgraph received so far (the cheap subgraphs count).
    counts_url: str | None = None
    # Else counting proxies in front of the services (answer checks only, see `counting`).
    proxies: dict[str, "CountingProxy"] | None = None
    _counting: "Services | None" = None

    def request_counts(self) -> dict[str, int] | None:
        if self.proxies is not None:
            return {name: proxy.count for name, proxy in self.proxies.items()}
        if not self.counts_url:
            return None
        with urllib.request.urlopen(self.counts_url, timeout=10) as response:
            return json.loads(response.read())

    def counting(self) -> "Services":
        """The same services as targets of the answer checks, with their requests counted:
        themselves when they count (the cheap subgraphs), else behind a counting proxy each
        (the demo services). Never under load: a proxy in the path would be measured too."""
        if self.counts_url:
            return self
        if self._counting is None:
            proxies = {name: CountingProxy(url) for name, url in self.urls.items()}
            self._counting = Services(
                self.kind,
                self.supergraph,
                {name: proxy.url for name, proxy in proxies.items()},
                self.pids,
                proxies=proxies,
            )
        return self._counting


class CountingProxy:
    """Forwards POSTs to one service and counts them; one connection per request, plain
    bodies (no Accept-Encoding), for the answer checks' subgraph request counts."""

    def __init__(self, upstream: str):
        import http.client
        import http.server
        import threading
        import urllib.parse

        target = urllib.parse.urlsplit(upstream)
        self.count = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {
                    name: value
                    for name, value in self.headers.items()
                    if name.lower() not in ("host", "content-length", "accept-encoding", "connection")
                }
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                try:
                    connection.request("POST", self.path, body, headers)
                    answer = connection.getresponse()
                    data = answer.read()
                finally:
                    connection.close()
                proxy.count += 1
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.getheader("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}{target.path}"


def start_services(binaries: Path, workdir: Path, kind: str = "demo") -> Services:
    """The four demo services on free ports, or the cheap subgraphs' process on one."""
    if kind == "cheap":
        port = free_ports(1)[0]
        cmd = [str(binaries / "cheap-subgraphs"), "--listen", f"127.0.0.1:{port}"]
        target = Target("direct", "cheap subgraphs", cmd, port, path="/accounts")
        proc = start_target(target, workdir, "cheap-subgraphs")
        log(f"cheap subgraphs up: :{port}")
        base = f"http://127.0.0.1:{port}"
        return Services(
            "cheap",
            CHEAP_SUPERGRAPH,
            {name: f"{base}/{name}" for name in SERVICES},
            [proc.pid],
            counts_url=f"{base}/requests",
        )
    ports = dict(zip(SERVICES, free_ports(len(SERVICES))))
    pids = []
    for service, port in ports.items():
        cmd = [str(binaries / "subgraph"), service, "--listen", f"127.0.0.1:{port}"]
        proc = start_target(Target("direct", service, cmd, port), workdir, f"subgraph-{service}")
        pids.append(proc.pid)
    log("demo services up: " + ", ".join(f"{s} :{p}" for s, p in ports.items()))
    urls = {service: f"http://127.0.0.1:{port}/graphql" for service, port in ports.items()}
    return Services("demo", SUPERGRAPH, urls, pids)


def gateway_base_config(urls: dict[str, str]) -> str:
    """Our gateway's config with the subgraph URLs pointed at the services (docs/config.md)."""
    return "subgraphs:\n" + "".join(
        f"  {service}:\n    url: {url}\n" for service, url in urls.items()
    )


def supergraph_for_peers(services: Services, workdir: Path) -> Path:
    """A copy of the services' supergraph with the routing URLs rewritten (for Apollo Gateway
    and Hive Router, which take no URL overrides)."""
    supergraph = services.supergraph.read_text()
    for service, url in services.urls.items():
        supergraph, count = re.subn(
            rf'(@join__graph\(name: "{service}", url: ")[^"]*(")',
            rf"\g<1>{url}\g<2>",
            supergraph,
        )
        if count != 1:
            raise BenchError(f"cannot find the routing URL of {service} in {services.supergraph}")
    counted = "-counted" if services.proxies is not None else ""
    copy = workdir / f"supergraph-peers-{services.kind}{counted}.graphql"
    copy.write_text(supergraph)
    return copy


# ---------------------------------------------------------------------------------------------
# /proc readings
# ---------------------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (fields 14 and 15 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid: int) -> float:
    """VmHWM, the process's peak resident set size, in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise BenchError(f"no VmHWM in /proc/{pid}/status")


# ---------------------------------------------------------------------------------------------
# One load run
# ---------------------------------------------------------------------------------------------


def wrk_run(
    args, wrk: str, url: str, body_file: Path, seconds: int, headers: dict[str, str]
) -> dict:
    cmd = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        f"--timeout={args.timeout}s",
        "-s",
        str(HERE / "wrk.lua"),
        url,
    ]
    env = dict(
        os.environ,
        WRK_BODY_FILE=str(body_file),
        WRK_HEADERS="\n".join(f"{name}: {value}" for name, value in headers.items()),
    )
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    STARTED.append(proc)
    try:
        output, _ = proc.communicate(timeout=seconds + args.timeout + 30)
    finally:
        stop(proc)
    if proc.returncode != 0:
        raise BenchError(f"wrk failed with status {proc.returncode}:\n{output}")
    for line in output.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON ") :])
    raise BenchError(f"no summary in wrk's output:\n{output}")


def measure(
    args,
    wrk: str,
    checker: Checker,
    target: Target,
    proc: subprocess.Popen,
    scenario: Scenario,
    workdir: Path,
    services: Services,
) -> dict:
    subgraph_pids = services.pids
    body_file = workdir / f"body-{scenario.name}.json"
    body_file.write_text(json.dumps({"query": scenario.query}))
    size = checker.check(target.label, target.url, scenario, services)
    subgraph_requests = checker.last_requests
    if args.warmup:
        log(f"  {target.label}: warming up for {args.warmup} s")
        wrk_run(args, wrk, target.url, body_file, args.warmup, request_headers(scenario))
    log(f"  {target.label}: {args.duration} s at {args.connections} connections")
    watched = [proc.pid] + [pid for pid in subgraph_pids if pid != proc.pid]
    before = {pid: cpu_seconds(pid) for pid in watched}
    start = time.monotonic()
    summary = wrk_run(
        args, wrk, target.url, body_file, args.duration, request_headers(scenario)
    )
    wall = time.monotonic() - start
    after = {pid: cpu_seconds(pid) for pid in watched}
    rss = peak_rss_mb(proc.pid)
    if proc.poll() is not None:
        raise BenchError(f"{target.label} exited during the run (status {proc.returncode})")
    # The answer must still be right after the load (e.g. from a warm cache).
    checker.check(target.label, target.url, scenario, services)

    errors = summary["errors"]
    socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
    requests = summary["requests"]
    # Bytes read per response, headers included; a wrong (shorter) body shows up here, unless
    # the answer is compressed on the wire (its size is then what the run measures).
    bytes_per_response = summary["bytes"] / requests if requests else 0.0
    compressed = scenario.headers == "gzip"
    short = requests > 0 and not compressed and bytes_per_response < size * 0.98
    latency = summary["latency_us"]
    return {
        "scenario": scenario.name,
        "target": target.kind,
        "label": target.label,
        "requests": requests,
        "rps": requests / (summary["duration_us"] / 1e6),
        "p50_ms": latency["p50"] / 1000,
        "p90_ms": latency["p90"] / 1000,
        "p99_ms": latency["p99"] / 1000,
        "max_ms": latency["max"] / 1000,
        "non_2xx": errors["status"],
        "socket_errors": socket_errors,
        "errors": errors["status"] + socket_errors,
        "error_detail": errors,
        "response_bytes": size,
        "bytes_per_response": bytes_per_response,
        "short_responses_suspected": short,
        "peak_rss_mb": rss,
        "cpu_percent": (after[proc.pid] - before[proc.pid]) / wall * 100,
        "cpu_ms_per_request": (after[proc.pid] - before[proc.pid]) * 1000 / requests
        if requests
        else 0.0,
        "subgraph_requests": subgraph_requests,
        # Counted by this run's checks (the cheap subgraphs), else by the checks before any
        # load (the demo services, through counting proxies).
        "subgraph_requests_per_query": sum(subgraph_requests.values())
        if subgraph_requests
        else checker.requests.get((target.label, scenario.name)),
        "subgraphs_cpu_percent": sum(after[p] - before[p] for p in subgraph_pids if p != proc.pid)
        / wall
        * 100,
    }


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def cpu_per_request(result: dict) -> float:
    return result["cpu_percent"] / result["rps"]


def render(results: list[dict], skipped: list[tuple[str, str]], settings: dict) -> str:
    lines = [
        f"Load benchmark, {settings['started']} — {settings['connections']} connections, "
        f"{settings['duration']} s per run after {settings['warmup']} s of warm-up, "
        f"wrk {settings['threads']} threads",
        f"Machine: {settings['nproc']} cores ({settings['cpu']}), {settings['ram_gib']} GiB RAM, "
        f"Linux {settings['kernel']}, {settings['rustc']}, Node {settings['node']}",
        "",
        "| scenario | target | req/s | p50 ms | p90 ms | p99 ms | errors | peak RSS MB | CPU % "
        "| CPU ms/req | KB/resp | subgraphs CPU % | subgraph req/query |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    if not results:
        lines.append("| (no scenario ran) | | | | | | | | | | | | |")
    for r in results:
        errors = str(r["errors"])
        if r["errors"]:
            errors += f" ({r['non_2xx']} non-2xx, {r['socket_errors']} socket)"
        if r["short_responses_suspected"]:
            errors += " SHORT BODIES"
        lines.append(
            f"| {r['scenario']} | {r['label']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} "
            f"| {r['p99_ms']:.2f} | {errors} | {r['peak_rss_mb']:.1f} | {r['cpu_percent']:.0f} "
            f"| {r['cpu_ms_per_request']:.3f} | {r['bytes_per_response'] / 1000:.1f} "
            f"| {r['subgraphs_cpu_percent']:.0f} "
            f"| {r['subgraph_requests_per_query'] if r.get('subgraph_requests_per_query') is not None else '—'} |"
        )
    by = {(r["scenario"], r["target"]): r for r in results}

    for peer in PEERS:
        ratio_lines = []
        name = GATEWAY_LABELS[peer]
        for scenario in SCENARIOS:
            ours = by.get((scenario.name, "gateway"))
            theirs = by.get((scenario.baseline or scenario.name, peer))
            if (
                not ours
                or not theirs
                or not all((ours["rps"], theirs["rps"], ours["p99_ms"], theirs["cpu_percent"]))
            ):
                continue
            against = "" if not scenario.baseline else f" ({name} on {scenario.baseline})"
            ratio_lines.append(
                f"- {scenario.name}{against}: req/s {fmt_ratio(ours['rps'] / theirs['rps'])}, "
                f"p99 1/{theirs['p99_ms'] / ours['p99_ms']:.1f}, "
                f"peak RSS {fmt_ratio(ours['peak_rss_mb'] / theirs['peak_rss_mb'])}, "
                f"CPU per request {fmt_ratio(cpu_per_request(ours) / cpu_per_request(theirs))}"
            )
        if ratio_lines:
            lines += ["", f"Ours as a ratio to {name}'s:", *ratio_lines]

    target_lines = []
    deep, deep_apollo = by.get(("deep", "gateway")), by.get(("deep", "apollo"))
    small, ceiling = by.get(("small", "gateway")), by.get(("ceiling", "direct"))

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    if deep and deep_apollo and deep["rps"] and deep_apollo["rps"] and deep["p99_ms"]:
        rps_ratio = deep["rps"] / deep_apollo["rps"]
        p99_fraction = deep_apollo["p99_ms"] / deep["p99_ms"]
        target_lines.append(
            f"- (a) req/s at least {TARGET_DEEP_RPS_RATIO:.0f}x Apollo Gateway's: "
            f"{fmt_ratio(rps_ratio)}, {verdict(rps_ratio >= TARGET_DEEP_RPS_RATIO)}"
        )
        target_lines.append(
            f"- (a) p99 at most 1/{TARGET_DEEP_P99_FRACTION:.0f} of Apollo Gateway's: "
            f"1/{p99_fraction:.1f}, {verdict(p99_fraction >= TARGET_DEEP_P99_FRACTION)}"
        )
    if deep:
        target_lines.append(
            f"- (a) peak RSS under load at most {TARGET_DEEP_RSS_MB:.0f} MB: "
            f"{deep['peak_rss_mb']:.1f} MB, {verdict(deep['peak_rss_mb'] <= TARGET_DEEP_RSS_MB)}"
        )
    if small and ceiling and small["rps"]:
        gap = ceiling["rps"] / small["rps"]
        target_lines.append(
            f"- (b) req/s within {TARGET_SMALL_VS_CEILING}x of the ceiling (d): "
            f"the ceiling is {fmt_ratio(gap)} ours, {verdict(gap <= TARGET_SMALL_VS_CEILING)}"
        )
    if target_lines:
        lines += ["", "Targets:", *target_lines]
    if skipped:
        lines += ["", "Skipped:", *[f"- {name}: {why}" for name, why in skipped]]
    return "\n".join(lines) + "\n"


def machine() -> dict:
    """What docs/benchmarks.md records about the machine a run was made on."""

    def first(path: str, prefix: str) -> str | None:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return None

    def version(cmd: list[str]) -> str | None:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None

    mem_kb = first("/proc/meminfo", "MemTotal") or "0 kB"
    return {
        "nproc": os.cpu_count(),
        "cpu": first("/proc/cpuinfo", "model name") or "unknown CPU",
        "ram_gib": round(int(mem_kb.split()[0]) / 1024**2, 1),
        "kernel": platform.release(),
        "rustc": version(["rustc", "--version"]),
        "node": version(["node", "--version"]),
    }


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.list:
        for s in SCENARIOS:
            who = {
                "gateways": "gateways",
                "ours": "our gateway",
                "direct": f"{s.service} directly",
            }[s.targets]
            config = f", config {s.config}" if s.config else ""
            query = " ".join(s.query.split())
            print(f"{s.name:<12} {s.title} [{who}{config}]\n{'':<12} {query}")
        return 0
    scenarios: list[Scenario] = args.scenario_list
    use_apollo = "apollo" in args.gateway_list and any(s.targets == "gateways" for s in scenarios)
    use_ours = "gateway" in args.gateway_list
    use_hive = "hive" in args.gateway_list and any(s.targets == "gateways" for s in scenarios)

    wrk = ensure_wrk()
    apollo_version = ensure_apollo() if use_apollo else None
    binaries, target_dir = binaries_and_target_dir(args.binaries)
    for binary in ("gateway", "subgraph"):
        if not (binaries / binary).is_file():
            raise UsageError(f"{binaries / binary} is missing")
    started = datetime.datetime.now().strftime("%Y-%m-%dT%H-%M-%S")
    workdir = target_dir / "load-bench" / started
    workdir.mkdir(parents=True)
    log(f"logs, responses and results go to {workdir}")

    # The subgraphs the selected scenarios need, each set with its supergraph copy for the
    # peers (routing URLs rewritten).
    service_sets: dict[str, Services] = {}
    for kind in dict.fromkeys(s.services for s in scenarios):
        if kind == "cheap" and not (binaries / "cheap-subgraphs").is_file():
            raise UsageError(
                f"{binaries / 'cheap-subgraphs'} is missing (scenarios {kind}*): copy it from"
                " a current build (`cargo build --release -p subgraphs`)"
            )
        service_sets[kind] = start_services(binaries, workdir, kind)
    peer_supergraphs: dict[int, Path] = {}

    def peer_supergraph(services: Services) -> Path:
        if id(services) not in peer_supergraphs:
            peer_supergraphs[id(services)] = supergraph_for_peers(services, workdir)
        return peer_supergraphs[id(services)]
    hive_config = workdir / "hive-router.yaml"
    hive_config.write_text(HIVE_CONFIG)

    def our_gateway(scenario: Scenario, services: Services) -> Target:
        extra = scenario_config(scenario)
        name = scenario.name if scenario.config else f"base-{services.kind}"
        if services.proxies is not None:
            name += "-counted"
        config_file = workdir / f"gateway-{name}.yaml"
        config_file.write_text(
            gateway_base_config(services.urls) + ("\n" + extra if extra else "")
        )
        port = free_ports(1)[0]
        cmd = [
            str(binaries / "gateway"),
            "serve",
            "--supergraph",
            str(services.supergraph),
            "--config",
            str(config_file),
            "--listen",
            f"127.0.0.1:{port}",
        ]
        # RUST_LOG as the gateway's default, whatever the caller's environment says.
        env = {"RUST_LOG": "info"}
        return Target("gateway", GATEWAY_LABELS["gateway"], cmd, port, env=env)

    def apollo_gateway(services: Services) -> Target:
        port = free_ports(1)[0]
        return Target(
            "apollo",
            f"Apollo Gateway {apollo_version}",
            ["node", "apollo-gateway.mjs", str(peer_supergraph(services)), str(port)],
            port,
            cwd=HERE,
            env={"NODE_ENV": "production"},
        )

    def hive_router(services: Services) -> Target:
        port = free_ports(1)[0]
        # The same supergraph copy as Apollo Gateway's; the rest from the environment.
        env = {
            "ROUTER_CONFIG_FILE_PATH": str(hive_config),
            "SUPERGRAPH_FILE_PATH": str(peer_supergraph(services)),
            "HOST": "127.0.0.1",
            "PORT": str(port),
        }
        binary = str(Path(args.hive_router).resolve())
        return Target("hive", GATEWAY_LABELS["hive"], [binary], port, env=env)

    def direct(scenario: Scenario) -> Target:
        port = free_ports(1)[0]
        cmd = [str(binaries / "subgraph"), scenario.service, "--listen", f"127.0.0.1:{port}"]
        return Target("direct", f"{scenario.service} service directly", cmd, port)

    def targets_of(scenario: Scenario) -> list[Target | str]:
        if scenario.targets == "direct":
            return [direct(scenario)]
        out: list = []
        if use_ours:
            out.append("gateway")
        if scenario.targets == "gateways" and use_apollo:
            out.append("apollo")
        if scenario.targets == "gateways" and use_hive:
            out.append("hive")
        return out

    checker = Checker(workdir)
    skipped: list[tuple[str, str]] = []

    # 1. Every target answers every query it will be loaded with, correctly and identically.
    # Scenarios without a config of their own share one gateway process per set of services.
    # The gateways checked here reach the services through counting proxies when the services
    # do not count their requests themselves (Services.counting).
    log("checking the responses")
    if use_ours:
        for kind, services in service_sets.items():
            plain = [
                s for s in scenarios
                if s.services == kind and not s.config and s.targets != "direct"
            ]
            if not plain:
                continue
            services = services.counting()
            target = our_gateway(plain[0], services)
            proc = start_target(target, workdir, f"check-gateway-{kind}")
            for scenario in plain:
                checker.check(target.label, target.url, scenario, services)
            stop(proc)
        for scenario in [s for s in scenarios if s.config]:
            services = service_sets[scenario.services].counting()
            target = our_gateway(scenario, services)
            proc = start_target(target, workdir, f"check-gateway-{scenario.name}")
            checker.check(target.label, target.url, scenario, services)
            stop(proc)
    elif any(s.targets == "ours" for s in scenarios):
        for s in scenarios:
            if s.targets == "ours":
                skipped.append((s.name, "our gateway is not among --gateways"))
    peers = ([apollo_gateway] if use_apollo else []) + ([hive_router] if use_hive else [])
    for make_peer in peers:
        for kind, services in service_sets.items():
            loaded = [s for s in scenarios if s.services == kind and s.targets == "gateways"]
            if not loaded:
                continue
            services = services.counting()
            target = make_peer(services)
            proc = start_target(target, workdir, f"check-{target.kind}-{kind}")
            for scenario in loaded:
                checker.check(target.label, target.url, scenario, services)
            stop(proc)
    for scenario in scenarios:
        if scenario.targets == "direct":
            target = direct(scenario)
            proc = start_target(target, workdir, f"check-direct-{scenario.service}")
            checker.check(target.label, target.url, scenario)
            stop(proc)
    skipped_names = {name for name, _ in skipped}
    runnable = [s for s in scenarios if s.name not in skipped_names and targets_of(s)]
    log(
        "responses check out: "
        + ", ".join(f"{r.size} B first from {r.who}" for r in checker.references.values())
    )

    # 2. The load runs: a fresh process per scenario and target.
    results = []
    for scenario in runnable:
        log(f"scenario {scenario.name}: {scenario.title}")
        services = service_sets[scenario.services]
        for kind in targets_of(scenario):
            if isinstance(kind, Target):
                target = kind
            elif kind == "gateway":
                target = our_gateway(scenario, services)
            elif kind == "hive":
                target = hive_router(services)
            else:
                target = apollo_gateway(services)
            proc = start_target(target, workdir, f"{scenario.name}-{target.kind}")
            try:
                results.append(
                    measure(args, wrk, checker, target, proc, scenario, workdir, services)
                )
            finally:
                stop(proc)

    settings = {
        "started": started,
        "connections": args.connections,
        "duration": args.duration,
        "warmup": args.warmup,
        "threads": args.threads,
        "timeout": args.timeout,
        "smoke": args.smoke,
        "apollo_gateway": apollo_version,
        "hive_router": str(Path(args.hive_router).resolve()) if use_hive else None,
        **machine(),
    }
    report = render(results, skipped, settings)
    (workdir / "results.md").write_text(report)
    (workdir / "results.json").write_text(
        json.dumps({"settings": settings, "results": results, "skipped": skipped}, indent=2) + "\n"
    )
    print(report, end="")
    log(f"results written to {workdir}/results.md and results.json")

    failed = [r for r in results if r["errors"] or r["short_responses_suspected"]]
    if failed:
        for r in failed:
            log(
                f"FAILED: {r['label']} on {r['scenario']}: {r['errors']} failed requests "
                f"{r['error_detail']}"
                + (
                    ", responses shorter than the checked one"
                    if r["short_responses_suspected"]
                    else ""
                )
            )
        return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(stop_all)
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as error:
        log(f"error: {error}")
        sys.exit(2)
    except BenchError as error:
        log(f"FAILED: {error}")
        sys.exit(1)
    except subprocess.CalledProcessError as error:
        log(f"FAILED: {' '.join(map(str, error.cmd))} exited with status {error.returncode}")
        sys.exit(1)
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
    finally:
        stop_all()
