"""The throughput benchmark's steps: seed, then for each worker count the peer, Skybound and
the peer again under the same wrk load."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BENCH_DIR, HOST, RESULTS_DIR
from bench.harness.load import run_wrk, wrk_argv, wrk_missing
from bench.harness.options import positive_list
from bench.harness.postgres import bench_home, dsn_for, guarded_run
from bench.harness.report import LOGS_DIR, display, fresh_dir, invocation, now, write
from bench.harness.servers import (
    Server,
    free_port,
    get_status,
    peer_env,
    seed_home,
    shown_env,
    skybound_bin,
    skybound_env,
)
from bench.harness.versions import machine, wrk
from bench.throughput.report import PEER_LABEL, LoadResult, Report, bracket, render

LUA_DIR = BENCH_DIR / "lua"
HELLO = BENCH_DIR / "peers" / "hello.py"


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    duration_s: int
    warmup_s: int

    def argv(self, url: str, script: Path, args: Sequence[str], seconds: int) -> list[str]:
        return wrk_argv(url, seconds, connections=self.connections, threads=self.threads,
                        script=script, args=args)  # fmt: skip

    def run(
        self, label: str, workers: int, url: str, script: Path, args: Sequence[str] = ()
    ) -> tuple[LoadResult, str]:
        if self.warmup_s:
            run_wrk(self.argv(url, script, args, self.warmup_s), self.warmup_s)
        argv = self.argv(url, script, args, self.duration_s)
        raw = run_wrk(argv, self.duration_s)
        return (
            LoadResult(
                label=label,
                workers=workers,
                requests=raw["requests"],
                requests_per_second=raw["requests"] / (raw["duration_us"] / 1e6),
                p50_us=raw["p50_us"],
                p99_us=raw["p99_us"],
                errors={k: v for k, v in raw["errors"].items() if v},
                is_peer=label == PEER_LABEL,
            ),
            display(argv),
        )


async def _flight_range(pgdata: Path) -> tuple[int, int, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn_for(pgdata))
    try:
        row = await conn.fetchrow("SELECT min(id), max(id), count(*) FROM flights")
    finally:
        await conn.close()
    assert row is not None
    return int(row[0] or 0), int(row[1] or 0), int(row[2])


def measure_peer(load: Load, workers: int, when: str, logs: Path, report: Report) -> LoadResult:
    port = free_port()
    argv = [sys.executable, str(HELLO), "--port", str(port), "--workers", str(workers)]
    url = f"http://{HOST}:{port}/"
    log = logs / f"peer-w{workers}-{when}.log"
    with Server(f"peer --workers {workers}", argv, peer_env(), url, log) as peer:
        result, wrk_cmd = load.run(PEER_LABEL, workers, url, LUA_DIR / "report.lua")
        peer.stop()
    report.commands += [f"{display(argv)} &", wrk_cmd]
    if peer.exit_code != 0 or not peer.stopped_cleanly:
        report.notes.append(
            f"peer with {workers} worker(s) stopped with exit code {peer.exit_code}"
        )
    return result


def measure_skybound(load: Load, workers: int, home: Path, logs: Path, report: Report) -> None:
    port = free_port()
    argv = [skybound_bin(), "serve", "--port", str(port), "--workers", str(workers)]
    base = f"http://{HOST}:{port}"
    log = logs / f"skybound-w{workers}.log"
    env = skybound_env(home)
    with Server(f"skybound serve --workers {workers}", argv, env, f"{base}/readyz", log) as server:
        report.commands.append(f"{shown_env(env)} {display(argv)} &")
        result, wrk_cmd = load.run(
            "`GET /healthz`", workers, f"{base}/healthz", LUA_DIR / "report.lua"
        )
        report.loads.append(result)
        report.commands.append(wrk_cmd)

        low, high, count = asyncio.run(_flight_range(home / "pgdata"))
        if count == 0:
            report.notes.append("no flights in the database: `/v1/flights/{id}` not measured")
        else:
            if count != high - low + 1:
                report.notes.append(
                    f"flight ids {low}..{high} have gaps ({count:,} rows): some requests are 404"
                )
            status = get_status(f"{base}/v1/flights/{low}")
            if status != 200:
                report.notes.append(f"`GET /v1/flights/{low}` answered {status} before the load")
            result, wrk_cmd = load.run(
                "`GET /v1/flights/{id}`",
                workers,
                f"{base}/",
                LUA_DIR / "flights.lua",
                [str(low), str(high)],
            )
            report.loads.append(result)
            report.commands.append(wrk_cmd)
        server.stop()
    report.notes.append(server.lifetime_note())
    logged = server.logged_note()
    if logged:
        report.notes.append(logged)


def _seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*(s|m)?", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 10s or 1m)")
    return int(match[1]) * (60 if match[2] == "m" else 1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description="Seed rate, then HTTP throughput against a bare aiohttp peer.",
    )
    parser.add_argument("--seed-flights", type=int, default=1_000_000, help="legs to seed")
    parser.add_argument("--seed-days", type=int, default=365, help="days of schedule")
    parser.add_argument(
        "--seed-timeout", type=_seconds, default=3600, help="give up seeding after this long"
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="serve this already-seeded SKYBOUND_HOME instead of seeding a fresh one",
    )
    parser.add_argument("--duration", type=_seconds, default=10, help="wrk run length (10s)")
    parser.add_argument("--warmup", type=_seconds, default=2, help="unmeasured wrk run first")
    parser.add_argument("--connections", type=int, default=64, help="wrk -c")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t")
    parser.add_argument("--workers", type=positive_list, default=[1, 2], help="e.g. 1,2")
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "foundation.md", help="report file"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    missing = wrk_missing("bench")
    if missing:
        print(missing, file=sys.stderr)
        return 2

    load = Load(args.threads, args.connections, args.duration, args.warmup)
    # Shared with the other benchmarks' log folders: only this benchmark's own logs go.
    logs = fresh_dir(LOGS_DIR, "*.log")
    report = Report(
        command=invocation("bench.throughput", argv),
        settings={
            "date": now(),
            "machine": machine(wrk(), packages=("aiohttp",)),
            "load": (
                f"wrk -t{load.threads} -c{load.connections} -d{load.duration_s}s --latency "
                f"after a {load.warmup_s} s warm-up, against 127.0.0.1"
            ),
            "server": "SKYBOUND_ACCESS_LOG=false SKYBOUND_LOG_LEVEL=WARNING, embedded PostgreSQL",
        },
    )
    with bench_home(args.home) as (home, owned), guarded_run(home, owned, report.notes) as outcome:
        report.seed = seed_home(home, owned, args.seed_flights, args.seed_days,
                                args.seed_timeout, logs, report.commands)  # fmt: skip
        for workers in args.workers:
            print(f"measuring the peer with {workers} worker(s) ...", flush=True)
            before = measure_peer(load, workers, "before", logs, report)
            print(f"measuring skybound with {workers} worker(s) ...", flush=True)
            measure_skybound(load, workers, home, logs, report)
            print(f"measuring the peer with {workers} worker(s) again ...", flush=True)
            after = measure_peer(load, workers, "after", logs, report)
            report.loads.append(bracket(before, after))
            report.notes.append(
                f"peer with {workers} worker(s): {before.requests_per_second:,.0f} requests/s "
                f"before Skybound, {after.requests_per_second:,.0f} after "
                f"({after.requests_per_second / before.requests_per_second - 1:+.0%}); "
                "the table gives their mean"
            )
    write(render(report), args.output)
    return outcome.code
