"""The booking benchmark's steps: seed, choose flights, serve, load, race, check, report."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.booking import database
from bench.booking.report import Pass, Race, Report, render, summary_line
from bench.booking.waits import WaitSampler
from bench.booking.waits import render as render_waits
from bench.harness import HOST, RESULTS_DIR, BenchError
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
    worker_pids,
)
from bench.harness.usage import pass_cpu
from bench.harness.versions import code_changed, postgres, run_settings

WORK_DIR = RESULTS_DIR / "booking"
# Signs the bench's tokens; the server verifies with it (SUPABASE_JWT_SECRET).
SECRET = "bench-booking-secret-for-hs256-0123456789abcdef"
PROFILE_RATE = 200
# Spare flights per throughput client, for when its flight sells out.
SPARES = 2
# The in-process breakdown's busier level: as many as the two workers' pools hold.
BREAKDOWN_CONCURRENCY = 20


# --- tokens and the server ------------------------------------------------------------------


def mint(count: int) -> list[tuple[uuid.UUID, str]]:
    """Tokens of new users, minted as ``skybound token`` does, with the bench's secret."""
    from foundation.settings import Settings
    from server.cli import mint_token

    settings = Settings.from_env(jwt_secret=SECRET, jwt_audience="authenticated")
    settings = settings.model_copy(update={"jwt_issuer": None})
    minted = []
    for _ in range(count):
        user = uuid.uuid4()
        email = f"bench-{user.hex[:12]}@example.com"
        minted.append((user, mint_token(settings, sub=str(user), roles=[], ttl=3600, email=email)))
    return minted


def booking_server_env(home: Path) -> dict[str, str]:
    return skybound_env(home, SUPABASE_JWT_SECRET=SECRET, **NO_RATE_LIMITS)


# --- offers -----------------------------------------------------------------------------------


async def _offers(
    base: str, candidates: Sequence[database.Candidate], wanted: int
) -> list[tuple[database.Candidate, str, int]]:
    """Search each candidate flight (a few at a time) until ``wanted`` have an offer."""
    found: list[tuple[database.Candidate, str, int]] = []
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(candidate: database.Candidate) -> None:
            if len(found) >= wanted:
                return
            async with session.post(f"{base}/v1/search", json=candidate.search_body()) as answer:
                if answer.status != 200:
                    return
                results = await answer.json()
            for offer in results["offers"]:
                legs = [s["flight_id"] for part in offer["slices"] for s in part["segments"]]
                if legs == [candidate.flight_id] and len(found) < wanted:
                    found.append((candidate, offer["id"], offer["seats_left"]))
                    return

        for start in range(0, len(candidates), 8):
            await asyncio.gather(*(one(c) for c in candidates[start : start + 8]))
            if len(found) >= wanted:
                break
    return found


# --- one pass of the load generator -----------------------------------------------------------


class Plan:
    def __init__(self, args: argparse.Namespace, home: Path, dsn: str, report: Report) -> None:
        self.args = args
        self.home = home
        self.dsn = dsn
        self.report = report
        self.run_id = secrets.token_hex(4)


def load(plan: Plan, server: Server, name: str, body: dict[str, Any], bound: float) -> Pass:
    """Run the load generator on a plan; the CPU of server, PostgreSQL and loadgen meanwhile."""
    plan_file, out = WORK_DIR / f"{name}.plan.json", WORK_DIR / f"{name}.json"
    plan_file.write_text(json.dumps(body))
    argv = [sys.executable, "-m", "bench.booking.loadgen", "--plan", str(plan_file)]
    argv += ["--out", str(out)]
    pgdata = plan.home / "pgdata"
    roles_before = asyncio.run(_pg_processes(plan.dsn, pgdata))
    with pass_cpu(server.pid, postmaster_pid(pgdata)) as cpu:
        code, output, wall = run_bounded(argv, dict(os.environ), bound, WORK_DIR / f"{name}.log")
    roles = database.cpu_by_role(roles_before, asyncio.run(_pg_processes(plan.dsn, pgdata)))
    if code != 0:
        raise BenchError(f"load generator failed with {code}:\n{output[-2000:]}")
    raw = json.loads(out.read_text())
    return Pass(
        name=name,
        wall=raw["wall"],
        results=[tuple(r) for r in raw["results"]],
        cpu_server=cpu.server,
        cpu_postgres=cpu.postgres,
        cpu_loadgen=raw["cpu"],
        other_cores=cpu.others(raw["cpu"], wall),
        postgres_roles=roles,
    )


async def _pg_processes(dsn: str, pgdata: Path) -> dict[int, tuple[str, float]]:
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "bench"})
    try:
        return await database.postgres_cpu_by_role(conn, postmaster_pid(pgdata))
    finally:
        await conn.close()


async def _state(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM flights) AS flights,
                      (SELECT count(*) FROM bookings) AS bookings,
                      (SELECT count(*) FROM tickets) AS tickets"""
        )
    finally:
        await conn.close()
    assert row is not None
    return (
        f"{row['flights']:,} flights, {row['bookings']:,} bookings, {row['tickets']:,} tickets "
        "(a booking's cost grows with the tickets table: see the README)"
    )


async def _charges(dsn: str, key_prefix: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return await database.charges(conn, key_prefix)
    finally:
        await conn.close()


def throughput_pass(
    plan: Plan,
    server: Server,
    base: str,
    clients: list[dict[str, Any]],
    name: str,
    seconds: float,
) -> Pass:
    prefix = f"bb{plan.run_id}{name.replace('-', '')}"
    body = {
        "mode": "throughput",
        "base": base,
        "duration": seconds,
        "timeout": plan.args.timeout,
        "key_prefix": prefix,
        "clients": clients,
    }
    print(f"  {name}: {len(clients)} clients for {seconds:g} s ...", flush=True)
    with WaitSampler(plan.dsn) as sampler:
        result = load(plan, server, name, body, seconds + plan.args.timeout + 60)
    result.waits = render_waits(sampler)
    result.charges = asyncio.run(_charges(plan.dsn, prefix))
    print(summary_line(result), flush=True)
    return result


async def _race_setup(
    plan: Plan, base: str, candidates: Sequence[database.Candidate]
) -> tuple[database.Candidate, str, datetime]:
    """A fresh flight with exactly ``--race-seats`` economy seats left, its offer, and
    the database's clock when the seats were set."""
    conn = await asyncpg.connect(plan.dsn)
    try:
        for candidate in candidates:
            if candidate.capacity < plan.args.race_seats:
                continue
            if not await database.unbooked(conn, candidate.flight_id):
                continue
            _capacity, since = await database.set_seats_left(
                conn, candidate.flight_id, plan.args.race_seats
            )
            found = await _offers(base, [candidate], 1)
            if found and found[0][2] == plan.args.race_seats:
                return candidate, found[0][1], since
    finally:
        await conn.close()
    raise BenchError("no flight for the race: no candidate had an offer")


def race(
    plan: Plan, server: Server, base: str, candidates: list[database.Candidate], n: int
) -> Race:
    args = plan.args
    candidate, offer_id, since = asyncio.run(_race_setup(plan, base, candidates))
    candidates.remove(candidate)
    prefix = f"bb{plan.run_id}race{n}"
    flight = {
        "flight_id": candidate.flight_id,
        "search": candidate.search_body(),
        "offer_id": offer_id,
    }
    clients = [
        {"number": i, "token": token, "flights": [flight]}
        for i, (_user, token) in enumerate(mint(args.race_clients))
    ]
    body = {
        "mode": "race",
        "base": base,
        "timeout": args.timeout,
        "key_prefix": prefix,
        "clients": clients,
    }
    name = f"race-{n}"
    print(
        f"  {name}: {args.race_clients} clients, {args.race_seats} seats left on flight "
        f"{candidate.flight_id} ...",
        flush=True,
    )
    result = load(plan, server, name, body, args.timeout * 2 + 120)

    async def check() -> database.RaceCheck:
        conn = await asyncpg.connect(plan.dsn)
        try:
            return await database.race_check(conn, candidate.flight_id, prefix, since)
        finally:
            await conn.close()

    outcome = Race(
        result, args.race_clients, args.race_seats, candidate.flight_id, asyncio.run(check())
    )
    print(
        f"    settled in {outcome.settle * 1000:,.0f} ms: {dict(result.outcomes())}; "
        f"invariants {'PASS' if outcome.passed else 'FAIL'}",
        flush=True,
    )
    return outcome


# --- profile ------------------------------------------------------------------------------


def profile(
    plan: Plan, server: Server, base: str, clients: list[dict[str, Any]]
) -> list[str] | None:
    """py-spy on one worker during one more, unmeasured, throughput pass."""
    from bench.booking.profile import summarise

    if py_spy_bin() is None:
        plan.report.notes.append(MISSING)
        return None
    workers = worker_pids(server.pid)
    if not workers:
        plan.report.notes.append("no worker process found to profile")
        return None
    raw = WORK_DIR / "profile.raw"
    print("  profiling one worker ...", flush=True)
    with recording(workers[0], raw, WORK_DIR / "profile.log") as argv:
        profiled = throughput_pass(plan, server, base, clients, "profile", plan.args.duration)
    plan.report.commands.append(display(argv) + "  # during one more throughput pass")
    if not raw.exists():
        plan.report.notes.append("py-spy wrote no profile: see profile.log")
        return None
    return [
        f"py-spy on worker {workers[0]} (of {len(workers)}) during one more throughput pass "
        f"({profiled.rate:,.0f} bookings/s under the profiler):",
        "",
        *summarise(raw),
    ]


def run_breakdown(plan: Plan, base: str, candidates: list[database.Candidate]) -> list[str]:
    """The in-process timing of ``BookingService``, on flights no pass has used."""
    from bench.booking.breakdown import breakdown

    levels = (1, BREAKDOWN_CONCURRENCY)
    found = asyncio.run(_offers(base, candidates, BREAKDOWN_CONCURRENCY * 2))
    if len(found) < BREAKDOWN_CONCURRENCY:
        plan.report.notes.append(f"breakdown skipped: only {len(found)} flights had an offer")
        return []
    print(f"timing {plan.args.breakdown} bookings in process at {levels} at a time ...", flush=True)
    return asyncio.run(breakdown(plan.dsn, [o for _c, o, _s in found], plan.args.breakdown, levels))


# --- setup ------------------------------------------------------------------------------------


async def _candidates(dsn: str, count: int, min_seats: int) -> list[database.Candidate]:
    conn = await asyncpg.connect(dsn)
    try:
        return await database.candidates(conn, count, min_seats)
    finally:
        await conn.close()


def choose_flights(plan: Plan, base: str) -> tuple[list[dict[str, Any]], list[database.Candidate]]:
    """Throughput clients (token, own flight, spare flights) and the race's candidates."""
    args = plan.args
    wanted = args.clients * (1 + SPARES)
    pool = asyncio.run(_candidates(plan.dsn, wanted * 3 + args.rounds * 10, args.race_seats))
    found = asyncio.run(_offers(base, pool[: wanted * 3], wanted))
    if len(found) < wanted:
        raise BenchError(f"only {len(found)} of {wanted} candidate flights had an offer")
    used = {c.flight_id for c, _offer, _seats in found}
    race_candidates = [c for c in pool if c.flight_id not in used]
    flights = [
        {"flight_id": c.flight_id, "search": c.search_body(), "offer_id": offer}
        for c, offer, _seats in found
    ]
    seats = [s for _c, _o, s in found]
    plan.report.settings["flights"] = (
        f"{args.clients} distinct flights (one per client) plus {SPARES} spares per client, "
        f"the economy cabins with the most seats left between 2 and 28 days out "
        f"({min(seats)} to {max(seats)} seats left, {sum(seats):,} in all)"
    )
    clients = [
        {
            "number": i,
            "token": token,
            "flights": [
                flights[i],
                *flights[args.clients + i * SPARES : args.clients + (i + 1) * SPARES],
            ],
        }
        for i, (_user, token) in enumerate(mint(args.clients))
    ]
    return clients, race_candidates


def run(plan: Plan) -> None:
    args = plan.args
    port = free_port()
    argv = [skybound_bin(), "serve", "--port", str(port), "--workers", str(args.workers)]
    env = booking_server_env(plan.home)
    if args.payment_latency_ms:
        env["SKYBOUND_PAYMENT_LATENCY_MS"] = str(args.payment_latency_ms)
    base = f"http://{HOST}:{port}"
    plan.report.commands.append(f"{shown_env(env)} {display(argv)} &")
    server = Server(
        f"skybound serve --workers {args.workers}",
        argv,
        env,
        f"{base}/readyz",
        WORK_DIR / "serve.log",
    )
    with server:
        print("choosing flights ...", flush=True)
        clients, race_candidates = choose_flights(plan, base)
        if args.warmup:
            warm = throughput_pass(plan, server, base, clients, "warmup", args.warmup)
            plan.report.notes.append(
                f"warm-up (unmeasured): {warm.booked:,} bookings in {warm.wall:.1f} s; first "
                "bookings of each user create its profile"
            )
        for n in range(1, args.rounds + 1):
            print(f"round {n} ...", flush=True)
            plan.report.throughput.append(
                throughput_pass(plan, server, base, clients, f"round-{n}", args.duration)
            )
            if args.race_clients:
                plan.report.races.append(race(plan, server, base, race_candidates, n))
        if args.profile:
            plan.report.profile = profile(plan, server, base, clients) or []
        if args.breakdown:
            plan.report.breakdown = run_breakdown(plan, base, race_candidates)
        server.stop()
    plan.report.notes.append(server.lifetime_note())
    logged = server.logged_note()
    if logged:
        plan.report.notes.append(logged)


# --- main -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.booking",
        description="Booking throughput on distinct flights and a race for the last seats.",
    )
    add = parser.add_argument
    add("--home", type=Path, help="use this already-seeded SKYBOUND_HOME instead of seeding")
    add("--seed-flights", type=int, default=100_000, help="legs to seed (100000)")
    add("--seed-days", type=int, default=30, help="days of schedule (30)")
    add("--seed-timeout", type=int, default=1800, help="give up seeding after this many s")
    add("--workers", type=int, default=2, help="server processes (2)")
    add("--clients", type=int, default=50, help="throughput clients, one flight each (50)")
    add("--duration", type=float, default=10.0, help="seconds per throughput pass (10)")
    add("--warmup", type=float, default=3.0, help="unmeasured throughput seconds first (3)")
    add("--rounds", type=int, default=2, help="throughput passes and races (2)")
    add("--race-clients", type=int, default=500, help="users racing for the seats (500)")
    add("--race-seats", type=int, default=50, help="seats left on the race's flight (50)")
    add("--timeout", type=float, default=30.0, help="client timeout per request, s (30)")
    add(
        "--payment-latency-ms",
        type=int,
        default=0,
        help="delay of the simulated payment provider's answers (0, as by default)",
    )
    add("--profile", action="store_true", help="py-spy one worker during one more pass")
    add(
        "--breakdown",
        type=int,
        default=0,
        metavar="N",
        help="also time N bookings in process, statement by statement (0: skip)",
    )
    add("--output", type=Path, default=RESULTS_DIR / "booking.md", help="report file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    fresh_dir(WORK_DIR)
    report = Report(
        command=invocation("bench.booking", argv),
        settings={
            **run_settings(postgres()),
            "server": (
                f"`skybound serve --workers {args.workers}` on the embedded PostgreSQL, "
                "SKYBOUND_ACCESS_LOG=false SKYBOUND_LOG_LEVEL=WARNING, rate limits off, other "
                "settings at their defaults (pool of 10 per process), simulated payments with "
                + (
                    f"{args.payment_latency_ms} ms latency"
                    if args.payment_latency_ms
                    else "no latency"
                )
            ),
            "load": (
                "`bench/booking/loadgen.py` (aiohttp on uvloop, its own process), keep-alive "
                f"connections to 127.0.0.1, client timeout {args.timeout:g} s"
            ),
        },
        clients=args.clients,
        workers=args.workers,
    )
    with (
        bench_home(args.home) as (home, owned),
        guarded_run(home, owned, report.notes) as outcome,
    ):
        seeded = seed_home(home, owned, args.seed_flights, args.seed_days, args.seed_timeout,
                           WORK_DIR, report.commands, env=booking_server_env(home))  # fmt: skip
        report.settings["data"] = (
            seeded.described() if seeded else f"an already seeded home ({home})"
        )
        plan = Plan(args, home, outcome.hold_postgres(), report)
        report.settings["database at the start"] = asyncio.run(_state(plan.dsn))
        run(plan)
    code = outcome.code
    if any(not race.passed for race in report.races):
        code = code or 1
    finished = code_changed(report.settings["code"])
    if finished:
        report.notes.append(f"the code changed during the run (now {finished})")
    write(render(report), args.output)
    return code
