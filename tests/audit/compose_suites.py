#!/usr/bin/env python3
"""Composes every federation audit suite's subgraph set with `gateway compose` and compares the
result with the supergraph the audit serves (composed by Apollo), blank lines aside.

    tests/audit/compose_suites.py <gateway binary>

Needs the audit's server on 127.0.0.1:4200 (`npm start -- serve` in the audit clone; docs/audit.md).
Writes each suite's files under /tmp/auditcomp/<suite>/ (ours.graphql and expected.graphql when they
differ). Not part of the test command: it needs the audit, which is not committed.
"""
import json, subprocess, sys, urllib.request, pathlib
gw = sys.argv[1]
base = "http://127.0.0.1:4200"
ids = json.load(urllib.request.urlopen(base + "/ids"))
same = differ = failed = 0
for id in ids:
    d = pathlib.Path("/tmp/auditcomp") / id
    d.mkdir(parents=True, exist_ok=True)
    subs = json.load(urllib.request.urlopen(f"{base}/{id}/subgraphs"))
    cfg = ["federation_version: =2.3.0", "subgraphs:"]
    for s in subs:
        (d / f"{s['name']}.graphql").write_text(s["sdl"])
        cfg += [f"  {s['name']}:", f"    routing_url: {s['url']}", "    schema:", f"      file: ./{s['name']}.graphql"]
    (d / "supergraph.yaml").write_text("\n".join(cfg) + "\n")
    expected = urllib.request.urlopen(f"{base}/{id}/supergraph").read().decode()
    r = subprocess.run([gw, "compose", "--config", str(d / "supergraph.yaml")], capture_output=True, text=True)
    if r.returncode != 0:
        failed += 1; print("FAILED", id, r.stderr[:300]); continue
    norm = lambda t: [l.rstrip() for l in t.splitlines() if l.strip()]
    if norm(r.stdout) == norm(expected):
        same += 1
    else:
        differ += 1; print("DIFFERS", id)
        (d / "ours.graphql").write_text(r.stdout); (d / "expected.graphql").write_text(expected)
print(f"same {same} differ {differ} failed {failed} of {len(ids)}")
