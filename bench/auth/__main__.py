"""Run: .venv/bin/python -m bench.auth [--duration 8] [--connections 32] [--rounds 5]

Starts the bench server (one worker, uvloop) on an embedded PostgreSQL in a temporary
home, then loads with wrk, in one run: the no-auth twin of GET /v1/me (the same route
wrapper, domain call and SQL, without authentication), GET /v1/me with an HS256 token,
and GET /v1/me with an ES256 token verified through the cached JWKS.

The machine is shared and noisy, so every figure is paired within a round: each round
runs all three variants back to back (the order rotating from round to round, so none
always runs first or last), and a variant's throughput ratio is taken against the
no-auth run of the same round; the report gives the median of those ratios and their
range. It also gives the server process's CPU time per request (from /proc, so load
from other processes does not add to it; PostgreSQL's CPU is excluded, and both twins
run the same query).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.auth.load import ROOT, SECRET, Variant, WrkResult, es256_key, free_port, variants, wrk


def _wait_ready(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("bench server did not become ready")


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU of one process (not its children), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Run:
    result: WrkResult
    cpu_us: float  # server CPU per request


def _measure(pid: int, url: str, variant: Variant, seconds: int, connections: int) -> Run:
    before = _cpu_seconds(pid)
    result = wrk(url + variant.path, variant.token, seconds, connections)
    used = _cpu_seconds(pid) - before
    return Run(result, used / max(1, result.requests) * 1e6)


def _report(args: argparse.Namespace, names: list[str], rounds: list[dict[str, Run]]) -> str:
    baseline = names[0]
    lines = [
        f"Command: `.venv/bin/python -m bench.auth --duration {args.duration} "
        f"--connections {args.connections} --rounds {args.rounds}`",
        "",
        "| variant | requests/s (median) | p50 | p99 | errors "
        "| throughput vs no auth (median of rounds, range) | server CPU per request "
        "| CPU vs no auth |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for name in names:
        runs = [r[name] for r in rounds]
        ratios = [r[name].result.rps / r[baseline].result.rps for r in rounds]
        cpu_ratio = statistics.median(r[name].cpu_us / r[baseline].cpu_us for r in rounds)
        lines.append(
            f"| {name} | {statistics.median(r.result.rps for r in runs):,.0f} "
            f"| {statistics.median(r.result.p50_ms for r in runs):.2f} ms "
            f"| {statistics.median(r.result.p99_ms for r in runs):.2f} ms "
            f"| {sum(r.result.errors for r in runs)} "
            f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) "
            f"| {statistics.median(r.cpu_us for r in runs):.0f} us | {cpu_ratio:.2f} |"
        )
    lines += ["", "Per round (requests/s, in the order run):", ""]
    for number, runs_of_round in enumerate(rounds, start=1):
        order = ", ".join(f"{name}: {run.result.rps:,.0f}" for name, run in runs_of_round.items())
        lines.append(f"{number}. {order}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.auth")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of all variants")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench.auth needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2
    es_key, public_pem = es256_key()
    home = Path(tempfile.mkdtemp(prefix="skybound-bench-auth-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SKYBOUND_HOME=str(home), SUPABASE_JWT_SECRET=SECRET,
               BENCH_ES256_PUBLIC_PEM=public_pem, PYTHONPATH=str(ROOT))  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "bench.auth.server", str(port)], env=env,
                              start_new_session=True)  # fmt: skip
    all_variants = variants(es_key)
    rounds: list[dict[str, Run]] = []
    try:
        _wait_ready(port)
        base = f"http://127.0.0.1:{port}"
        for variant in all_variants:  # warm-up: profile row, JWKS fetch, caches
            wrk(base + variant.path, variant.token, 2, args.connections)
        for number in range(args.rounds):
            shift = number % len(all_variants)
            runs = {}
            for variant in all_variants[shift:] + all_variants[:shift]:
                runs[variant.name] = _measure(
                    server.pid, base, variant, args.duration, args.connections
                )
            rounds.append(runs)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(home, ignore_errors=True)

    report = _report(args, [v.name for v in all_variants], rounds)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "auth.md").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
