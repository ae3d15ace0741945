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
import statistics
import sys
from dataclasses import dataclass

from bench.auth.load import SECRET, Variant, WrkResult, es256_key, variants, wrk
from bench.harness import HOST, RESULTS_DIR, BenchError
from bench.harness.load import wrk_missing
from bench.harness.postgres import bench_home
from bench.harness.report import LOGS_DIR, fresh_dir, write
from bench.harness.servers import Server, free_port, skybound_env
from bench.harness.usage import cpu_seconds


@dataclass(frozen=True, slots=True)
class Run:
    result: WrkResult
    cpu_us: float  # server CPU per request


def _measure(pid: int, url: str, variant: Variant, seconds: int, connections: int) -> Run:
    """One wrk run, and the server process's own CPU meanwhile (from /proc, so load from
    other processes does not add to it)."""
    before = cpu_seconds(pid) or 0.0
    result = wrk(url + variant.path, variant.token, seconds, connections)
    used = (cpu_seconds(pid) or 0.0) - before
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
    missing = wrk_missing("bench.auth")
    if missing:
        print(missing, file=sys.stderr)
        return 2
    es_key, public_pem = es256_key()
    all_variants = variants(es_key)
    rounds: list[dict[str, Run]] = []
    logs = fresh_dir(LOGS_DIR / "auth")
    with bench_home(None) as (home, _owned):
        port = free_port()
        env = skybound_env(home, SUPABASE_JWT_SECRET=SECRET, BENCH_ES256_PUBLIC_PEM=public_pem)
        argv = [sys.executable, "-m", "bench.auth.server", str(port)]
        base = f"http://{HOST}:{port}"
        try:
            with Server(
                "bench.auth.server", argv, env, f"{base}/readyz", logs / "server.log"
            ) as server:
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
        except BenchError as exc:
            print(f"bench.auth: {exc}", file=sys.stderr)
            return 1

    write(_report(args, [v.name for v in all_variants], rounds) + "\n", RESULTS_DIR / "auth.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
