"""The search benchmark's steps: seed, build the mix, serve, load, baseline, profile, report."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import math
import os
import sys
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.harness import HOST, RESULTS_DIR, BenchError
from bench.harness.options import positive_list
from bench.harness.postgres import bench_home, guarded_run, postmaster_pid
from bench.harness.processes import run_bounded
from bench.harness.pyspy import MISSING, py_spy_bin, recording
from bench.harness.report import display, fresh_dir, invocation, write
from bench.harness.servers import (
    NO_RATE_LIMITS,
    Server,
    free_port,
    seed_home,
    shown_env,
    skybound_bin,
    skybound_env,
)
from bench.harness.usage import pass_cpu
from bench.harness.versions import code_changed, postgres, run_settings
from bench.search import breakdown, explain
from bench.search.database import repair_indexes, search_indexes_dropped
from bench.search.mix import (
    LABELS,
    Network,
    Search,
    build_mix,
    counts,
    load_network,
    resorted,
    subset,
)
from bench.search.profile import summarise_profile
from bench.search.report import CACHED, CACHED_SLICES, NAIVE, UNCACHED, Pass, Report, render

WORK_DIR = RESULTS_DIR / "search"
WARM_SEARCHES = 100
# Cached runs: warm-up passes (each request on a new connection, so every worker sees
# every search sooner or later) until each worker holds this share of the mix's slices,
# at most this many passes.
MAX_WARM_PASSES = 12
WARM_ENOUGH = 0.995
PROFILE_RATE = 200
# A pass during which other processes kept more cores than this busy is measured again
# (up to MAX_ATTEMPTS in all; the naive baseline, minutes long, only once).
NOISY_CORES = 0.5
MAX_ATTEMPTS = 3


# --- the mix ---------------------------------------------------------------------------


def write_mix(path: Path, searches: Sequence[Search]) -> None:
    with path.open("w") as out:
        for s in searches:
            out.write(json.dumps({"index": s.index, "category": s.category, "body": s.body}) + "\n")


# --- one pass -----------------------------------------------------------------------------


class Plan:
    """What every pass needs: where things are and how hard to push."""

    def __init__(self, args: argparse.Namespace, home: Path, dsn: str, report: Report) -> None:
        self.args = args
        self.home = home
        self.dsn = dsn
        self.report = report
        self.mix_file = WORK_DIR / "mix.jsonl"
        self.warm_file = WORK_DIR / "warm.jsonl"
        self.naive_file = WORK_DIR / "naive.jsonl"
        # One per client count and attempt: no response cache may have seen them (resorted).
        self.resorted_files = {
            clients: [
                WORK_DIR / f"mix-sort-price-{n}-{attempt}.jsonl" for attempt in range(MAX_ATTEMPTS)
            ]
            for n, clients in enumerate(args.clients)
        }
        self.categories: dict[int, str] = {}
        self.slice_keys = 0
        self.naive_calls: list[tuple[str, tuple[Any, ...]]] = []


def loadgen_argv(url: str, mix: Path, concurrency: int, timeout: float, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "bench.search.loadgen", "--url", url, "--mix", str(mix),
        "--concurrency", str(concurrency), "--timeout", f"{timeout:g}", "--out", str(out),
    ]  # fmt: skip


def load(
    plan: Plan,
    server: Server,
    url: str,
    mix: Path,
    concurrency: int,
    name: str,
    *,
    fresh: bool = False,
    record: bool = True,
) -> tuple[float, float, float, dict[str, Any]]:
    """Run the load generator once; (server CPU s, PostgreSQL CPU s, wall s, its output)."""
    out = WORK_DIR / f"{name}.json"
    argv = loadgen_argv(url, mix, concurrency, plan.args.timeout, out)
    if fresh:
        argv.append("--fresh-connections")
    searches = mix.read_text().count("\n")
    bound = searches * plan.args.timeout / concurrency + 120
    with pass_cpu(server.pid, postmaster_pid(plan.home / "pgdata")) as cpu:
        code, output, wall = run_bounded(argv, dict(os.environ), bound, WORK_DIR / f"{name}.log")
    if code != 0:
        raise BenchError(f"load generator failed with {code}:\n{output[-2000:]}")
    if record:
        plan.report.commands.append(display(argv))
    raw = json.loads(out.read_text())
    # Cores kept busy by everything else on the machine during the pass: the noise.
    raw["others"] = cpu.others(raw["cpu"], wall)
    return cpu.server, cpu.postgres, wall, raw


def measured(
    plan: Plan,
    server: Server,
    url: str,
    variant: str,
    workers: int,
    concurrency: int,
    mixes: Sequence[Path],
    base: str | None = None,
) -> Pass:
    """A measured pass; repeated (with the next of ``mixes``) while other processes kept
    more than ``NOISY_CORES`` busy, keeping the quietest attempt. With ``base``, the cache
    hit ratios of the pass are read from each worker's /metrics."""
    name = f"{variant.replace(' ', '-')}-w{workers}-c{concurrency}"
    attempts: list[Pass] = []
    for attempt, mix in enumerate(mixes):
        print(f"  {name}" + (f" (again, #{attempt + 1})" if attempt else "") + " ...", flush=True)
        before = worker_caches(base, workers) if base else []
        server_cpu, pg_cpu, _wall, raw = load(
            plan, server, url, mix, concurrency, f"{name}-{attempt}", record=not attempt
        )
        result = Pass(
            variant=variant,
            workers=workers,
            concurrency=concurrency,
            categories=plan.categories,
            wall=raw["wall"],
            results=[tuple(r) for r in raw["results"]],  # type: ignore[misc]
            timeout=plan.args.timeout,
            cpu_server=server_cpu,
            cpu_postgres=pg_cpu,
            cpu_loadgen=raw["cpu"],
            other_cores=raw["others"],
        )
        if base:
            result.hit_ratio, result.response_hit_ratio = cache_ratios(
                before, worker_caches(base, workers), len(result.results)
            )
        print(
            f"    {result.rate:,.0f} searches/s, p50 {result.p(0.5):.1f} ms, p95 "
            f"{result.p(0.95):.1f} ms, statuses {dict(result.statuses())}, other processes "
            f"{result.other_cores:.2f} cores",
            flush=True,
        )
        attempts.append(result)
        if result.other_cores <= NOISY_CORES:
            break
    best = min(attempts, key=lambda p: p.other_cores)
    if len(attempts) > 1:
        plan.report.notes.append(
            f"{variant}, {workers} worker(s), {concurrency} client(s): measured "
            f"{len(attempts)} times because other processes kept "
            + ", ".join(f"{p.other_cores:.2f}" for p in attempts)
            + f" cores busy; the table has the quietest ({best.rate:,.0f} searches/s; the "
            "others " + ", ".join(f"{p.rate:,.0f}" for p in attempts if p is not best) + ")"
        )
    plan.report.passes.append(best)
    return best


# --- cache state of each worker -----------------------------------------------------------


def _scrape(base: str) -> dict[str, float]:
    """Search cache gauges of whichever worker answers (a new connection each time)."""
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        text = response.read().decode()
    wanted = (
        "skybound_search_cache_hits", "skybound_search_cache_misses",
        "skybound_search_cache_entries", "skybound_searches",
        "skybound_search_response_cache_hits",
    )  # fmt: skip
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            values[name] = float(value)
    return values


def worker_caches(base: str, workers: int, tries: int = 60) -> list[dict[str, float]]:
    """The cache gauges of each worker, told apart by their counters (found by sampling)."""
    seen: dict[tuple[float, ...], dict[str, float]] = {}
    for _ in range(tries):
        values = _scrape(base)
        seen[tuple(sorted(values.items()))] = values  # type: ignore[arg-type]
        if len(seen) >= workers:
            break
    return list(seen.values())


def response_ttl() -> float:
    """How long the server keeps a whole answer (0 if it has no such cache)."""
    try:
        from domain.search.cache import ResponseCache
    except ImportError:
        return 0.0
    parameter = inspect.signature(ResponseCache.__init__).parameters.get("ttl_seconds")
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return 0.0
    return float(parameter.default)


def warm_cache(plan: Plan, server: Server, url: str, base: str, workers: int, tag: str) -> str:
    """Warm-up passes until every worker holds the mix's slices; a note of how it went.

    A whole answer is stored only when it was missed and lives a fixed time from then, so
    the answers stored so far are left to expire, and a few more passes right before the
    measurement store them afresh on every worker.
    """
    started = time.monotonic()
    clients = plan.args.clients[-1]
    for n in range(1, MAX_WARM_PASSES + 1):
        load(plan, server, url, plan.mix_file, clients, f"warm-{tag}-{n}", fresh=True,
             record=False)  # fmt: skip
        caches = worker_caches(base, workers)
        entries = sorted(int(c.get("skybound_search_cache_entries", 0)) for c in caches)
        if len(caches) == workers and min(entries) >= WARM_ENOUGH * plan.slice_keys:
            break
    ttl = response_ttl()
    refresh = 0
    if ttl:
        time.sleep(ttl + 1)
        # Each pass reaches a given worker with a search with probability 1/W: 98% after these.
        refresh = 1 if workers == 1 else math.ceil(math.log(0.02) / math.log(1 - 1 / workers))
        for m in range(refresh):
            load(plan, server, url, plan.mix_file, clients, f"refresh-{tag}-{m}", fresh=True,
                 record=False)  # fmt: skip
    expired = f", {ttl + 1:.0f} s for stored answers to expire, {refresh} more pass(es)"
    return (
        f"{n} warm-up pass(es) until the slice caches were full"
        + (expired if ttl else "")
        + f", {time.monotonic() - started:.1f} s in all; slice cache entries per worker "
        f"{entries} of {plan.slice_keys} distinct slices"
    )


def _total(caches: list[dict[str, float]], name: str) -> float:
    return sum(c.get(name, 0.0) for c in caches)


def cache_ratios(
    before: list[dict[str, float]], after: list[dict[str, float]], searches: int
) -> tuple[float | None, float | None]:
    """(slice cache hit ratio, share of searches answered by the response cache) of a pass."""
    if len(before) != len(after) or not searches:
        return None, None
    hits, misses, whole = (
        _total(after, name) - _total(before, name)
        for name in (
            "skybound_search_cache_hits",
            "skybound_search_cache_misses",
            "skybound_search_response_cache_hits",
        )
    )
    return (hits / (hits + misses) if hits + misses else None), whole / searches


# --- profile ------------------------------------------------------------------------------


def profile(plan: Plan, server: Server, url: str, title: str, name: str, mix: Path) -> None:
    """An extra, unmeasured pass at the highest client count with py-spy on the worker."""
    if py_spy_bin() is None:
        plan.report.notes.append(MISSING)
        return
    raw = WORK_DIR / f"{name}.raw"
    print(f"  profiling: {title} ...", flush=True)
    options = ["--nonblocking", "--nolineno"]
    with recording(server.pid, raw, WORK_DIR / f"{name}.log", options) as argv:
        load(plan, server, url, mix, plan.args.clients[-1], name, record=False)
    plan.report.commands.append(display(argv) + "  # during one more pass of the mix")
    if raw.exists():
        plan.report.profiles[title] = summarise_profile(raw)
    else:
        plan.report.notes.append(f"py-spy wrote no profile for {title}: see {name}.log")


# --- one worker count ---------------------------------------------------------------------


def _serve(plan: Plan, workers: int, name: str, **settings: str) -> tuple[Server, str, str]:
    port = free_port()
    argv = [skybound_bin(), "serve", "--port", str(port), "--workers", str(workers)]
    env = skybound_env(plan.home, **NO_RATE_LIMITS, **settings)
    base = f"http://{HOST}:{port}"
    server = Server(name, argv, env, f"{base}/readyz", WORK_DIR / f"{name}.log")
    plan.report.commands.append(f"{shown_env(env)} {display(argv)} &")
    return server, base, f"{base}/v1/search"


def _stopped(plan: Plan, server: Server) -> None:
    server.stop()
    plan.report.notes.append(server.lifetime_note())
    logged = server.logged_note()
    if logged:
        plan.report.notes.append(logged)


def measure_workers(plan: Plan, workers: int) -> None:
    args = plan.args
    # Uncached and naive: the slice cache stores nothing (max_entries 0).
    server, base, url = _serve(plan, workers, f"serve-w{workers}-nocache",
                               SKYBOUND_SEARCH_CACHE_ENTRIES="0")  # fmt: skip
    with server:
        load(plan, server, url, plan.warm_file, args.clients[-1], f"warm-w{workers}", record=False)
        for clients in args.clients:
            measured(plan, server, url, UNCACHED, workers, clients, [plan.mix_file] * MAX_ATTEMPTS)
        if args.profile and workers == 1:
            profile(plan, server, url, "uncached, 1 worker", "profile-uncached", plan.mix_file)
        if args.naive:
            with search_indexes_dropped(plan.dsn) as swap:
                if plan.naive_calls and workers == args.workers[0]:
                    scans = asyncio.run(explain.scans_of(plan.dsn, plan.naive_calls))
                    plan.report.notes.append(
                        "naive plans (the EXPLAIN queries without the search indexes): "
                        + "; ".join(scans)
                    )
                for clients in args.clients:
                    measured(plan, server, url, NAIVE, workers, clients, [plan.naive_file])
            plan.report.notes.append(
                f"naive baseline, {workers} worker(s): search indexes dropped in "
                f"{swap.dropped_seconds:.2f} s and rebuilt in {swap.recreated_seconds:.1f} s"
            )
        _stopped(plan, server)

    # Cached: a fresh server per client count, so that every measured pass reads slices and
    # answers stored minutes, not hours, before (an entry lives a fixed time from its store).
    for clients in args.clients:
        name = f"serve-w{workers}-cache-c{clients}"
        server, base, url = _serve(plan, workers, name)
        with server:
            note = warm_cache(plan, server, url, base, workers, f"w{workers}-c{clients}")
            measured(plan, server, url, CACHED, workers, clients,
                     [plan.mix_file] * MAX_ATTEMPTS, base)  # fmt: skip
            measured(plan, server, url, CACHED_SLICES, workers, clients,
                     plan.resorted_files[clients], base)  # fmt: skip
            plan.report.notes.append(f"cached, {workers} worker(s), {clients} client(s): {note}")
            if args.profile and workers == 1 and clients == args.clients[-1]:
                warm_cache(plan, server, url, base, workers, "profile")
                profile(plan, server, url, "cached, 1 worker", "profile-cached", plan.mix_file)
                profile(plan, server, url, "cached slices, 1 worker", "profile-cached-slices",
                        WORK_DIR / "mix-sort-price-profile.jsonl")  # fmt: skip
            _stopped(plan, server)


# --- setup --------------------------------------------------------------------------------


async def _prepare(plan: Plan) -> Network:
    import asyncpg

    conn = await asyncpg.connect(plan.dsn)
    try:
        return await load_network(conn)
    finally:
        await conn.close()


def prepare_mix(plan: Plan) -> list[Search]:
    args = plan.args
    network = asyncio.run(_prepare(plan))
    mix = build_mix(network, args.searches, args.mix_seed)
    write_mix(plan.mix_file, mix)
    for n, paths in enumerate(plan.resorted_files.values()):
        for attempt, path in enumerate(paths):
            write_mix(path, resorted(mix, 10 * n + attempt))
    write_mix(WORK_DIR / "mix-sort-price-profile.jsonl", resorted(mix, 99))
    write_mix(plan.warm_file, build_mix(network, WARM_SEARCHES, args.mix_seed + 1))
    naive = subset(mix, min(args.naive_searches, args.searches))
    write_mix(plan.naive_file, naive)
    plan.categories = {s.index: s.category for s in mix}
    plan.slice_keys = len({key for s in mix for key in s.slice_keys()})
    shares = ", ".join(f"{n} {LABELS[c]}" for c, n in counts(args.searches).items())
    plan.report.settings["mix"] = (
        f"{args.searches:,} searches ({shares}), `random.Random({args.mix_seed})` over the "
        f"seeded routes: {len(network.direct):,} direct pairs, {len(network.one_stop):,} "
        f"one-stop pairs, {len(network.two_stop):,} two-stop pairs; dates "
        f"{network.first_date}..{network.last_date} (origin-local); "
        f"{plan.slice_keys:,} distinct slices; written to "
        f"{display([str(plan.mix_file)])}"
    )
    if len(naive) < len(mix):
        plan.report.settings["naive baseline"] = (
            f"the first {len(naive)} searches of each category in the same shares "
            f"({display([str(plan.naive_file)])})"
        )
    return mix


def run_explain(plan: Plan) -> None:
    setting, explained = asyncio.run(explain.explain_all(plan.dsn))
    path = RESULTS_DIR / "search-explain.md"
    path.write_text(explain.render(setting, explained))
    plan.naive_calls = [(e.sql, e.args) for e in explained if e.name != "_DEPARTURES"]
    plan.report.explain = [
        f"EXPLAIN (ANALYZE, BUFFERS) of a two-stop search {setting['origin']} to "
        f"{setting['destination']} on {setting['day']} and of {setting['origin']}'s "
        f"departures board, in full in {display([str(path)])}:",
        "",
        "| query | scans | execution ms (custom plan / generic plan) |",
        "|---|---|---:|",
        *[
            f"| `{e.name}` | {', '.join(e.scans)} | {explain.Explained.execution_ms(e.plan):.2f}"
            f" / {explain.Explained.execution_ms(e.generic_plan):.2f} |"
            for e in explained
        ],
    ]


def run_breakdown(plan: Plan, mix: Sequence[Search]) -> None:
    import uvloop

    chosen = subset(mix, min(plan.args.breakdown_searches, len(mix)))
    print(f"timing searches in process ({len(chosen)} per mode) ...", flush=True)
    # Distinct requests over the same slices, as the cached-slices passes send them: the
    # whole mix three times over, so the response cache grows as on the benchmarked server.
    filling = [s for n in range(3) for s in resorted(mix, 100 + n)]

    async def modes() -> list[breakdown.Breakdown]:
        run = breakdown.run
        return [
            await run(plan.dsn, "slice cache off, response cache off", chosen,
                      slice_cache=False, response_cache=False, warm=chosen[:5]),
            await run(plan.dsn, "slice cache warm, response cache off", chosen,
                      slice_cache=True, response_cache=False, warm=chosen),
            await run(plan.dsn, "slice cache warm, response cache warm (identical requests)",
                      chosen, slice_cache=True, response_cache=True, warm=chosen),
            await run(plan.dsn, "slice cache warm, response cache filling (distinct requests "
                      f"over the same slices, {len(filling):,} of them)", filling,
                      slice_cache=True, response_cache=True, warm=mix),
        ]  # fmt: skip

    plan.report.breakdown = breakdown.render(uvloop.run(modes()))


# --- main -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.search",
        description="Search latency and throughput, uncached, cached and against a naive "
        "baseline without the search indexes.",
    )
    add = parser.add_argument
    add("--seed-flights", type=int, default=1_000_000, help="legs to seed (1000000)")
    add("--seed-days", type=int, default=365, help="days of schedule (365)")
    add("--seed-timeout", type=int, default=1800, help="give up seeding after this many s")
    add("--home", type=Path, help="use this already-seeded SKYBOUND_HOME instead of seeding")
    add("--searches", type=int, default=1000, help="searches in the mix (1000)")
    add("--mix-seed", type=int, default=1, help="random seed of the mix (1)")
    add("--clients", type=positive_list, default=[1, 16], help="requests in flight, e.g. 1,16")
    add("--workers", type=positive_list, default=[1, 2], help="server processes, e.g. 1,2")
    add("--timeout", type=float, default=10.0, help="client timeout per search, s (10)")
    add("--naive-searches", type=int, default=1000, help="searches of the naive baseline")
    add("--no-naive", dest="naive", action="store_false", help="skip the naive baseline")
    add("--no-profile", dest="profile", action="store_false", help="skip py-spy profiles")
    add("--no-explain", dest="explain", action="store_false", help="skip the EXPLAINs")
    add("--breakdown-searches", type=int, default=300, help="searches timed in process (300)")
    add("--output", type=Path, default=RESULTS_DIR / "search.md", help="report file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    args.clients = sorted(set(args.clients))
    fresh_dir(WORK_DIR)
    report = Report(
        command=invocation("bench.search", argv),
        settings={
            **run_settings(postgres()),
            "load": (
                f"`bench/search/loadgen.py` (aiohttp client on uvloop, its own process), "
                f"POST /v1/search, clients {args.clients}, client timeout {args.timeout:g} s, "
                "keep-alive connections, against 127.0.0.1"
            ),
            "server": (
                "`skybound serve --workers W` on the embedded PostgreSQL, SKYBOUND_ACCESS_LOG="
                "false SKYBOUND_LOG_LEVEL=WARNING, rate limits off, other settings at their "
                "defaults (2 s search "
                "budget, pool of 10 per process)"
            ),
            "variants": (
                "*uncached*: SKYBOUND_SEARCH_CACHE_ENTRIES=0 (neither the slice cache nor the "
                f"response cache stores anything), after {WARM_SEARCHES} unmeasured searches "
                "of another mix; *cached*: default caches, the same mix again after warm-up "
                "passes (one request per connection, so that every worker's own caches fill) "
                "until every worker holds the mix's slices; *cached slices*: right after, the "
                "same searches with `sort: price`, so the slices come from the cache but the "
                "answers are priced and built afresh; "
                "*naive*: the uncached server with flights_route_departure_idx, "
                "flights_origin_departure_idx and flights_destination_arrival_idx dropped "
                "(rebuilt afterwards)"
            ),
        },
    )
    with (
        bench_home(args.home) as (home, owned),
        guarded_run(home, owned, report.notes) as outcome,
    ):
        seeded = seed_home(home, owned, args.seed_flights, args.seed_days, args.seed_timeout,
                           WORK_DIR, report.commands)  # fmt: skip
        report.settings["data"] = (
            seeded.described() if seeded else f"an already seeded home ({home})"
        )
        dsn = outcome.hold_postgres()
        plan = Plan(args, home, dsn, report)
        repaired = asyncio.run(repair_indexes(dsn))
        if repaired:
            report.notes.append(f"recreated missing indexes before the run: {repaired}")
        print("building the search mix ...", flush=True)
        mix = prepare_mix(plan)
        if args.explain:
            print("explaining the leg and board queries ...", flush=True)
            run_explain(plan)
        for workers in args.workers:
            print(f"measuring with {workers} worker(s) ...", flush=True)
            measure_workers(plan, workers)
        if args.breakdown_searches:
            run_breakdown(plan, mix)
    code = outcome.code
    finished = code_changed(report.settings["code"])
    if finished:
        report.notes.append(
            f"the code changed during the run (now {finished}): servers started after the "
            "change ran the new code, so compare rows of the same worker count with care"
        )
    write(render(report), args.output)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
