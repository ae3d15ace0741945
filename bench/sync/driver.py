"""Sync benchmark: a whole state for a user with 200 trips, a pull of 10,000 changes, and
pushes of 100 mutations, against `skybound serve` on a seeded embedded PostgreSQL.

    .venv/bin/python -m bench.sync [--rounds 20] [--trips 200] [--changes 10000]

Latencies are client-side wall times of whole HTTP exchanges on localhost (the client,
the server and PostgreSQL share the machine); each measure is repeated ``--rounds``
times after two warm-up runs. Writes bench/results/sync.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import jwt
import orjson

from bench.harness import HOST, RESULTS_DIR, BenchError
from bench.harness.postgres import bench_home, dsn_for
from bench.harness.report import LOGS_DIR, write
from bench.harness.servers import Server, free_port, seed, skybound_bin, skybound_env
from bench.harness.stats import percentile
from bench.sync.data import churn_flights, make_user, user_events_after
from sync.protocol import SCHEMA_VERSION

GOAL_PULL_MS = 300.0
GOAL_PUSH_MS = 300.0
WARM_UP = 2
_JSON = {"Content-Type": "application/json"}


@dataclass
class Measure:
    label: str
    seconds: list[float] = field(default_factory=list)
    records: int = 0
    pages: int = 0
    goal_ms: float | None = None

    def p(self, fraction: float) -> float:
        return percentile(sorted(self.seconds), fraction) * 1000


@dataclass
class Report:
    command: str
    measures: list[Measure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Client:
    def __init__(self, http: aiohttp.ClientSession, base: str, secret: str) -> None:
        self.http = http
        self.base = base
        self.secret = secret

    def sign_in(self, user: uuid.UUID) -> None:
        now = int(time.time())
        claims = {"sub": str(user), "aud": "authenticated", "role": "authenticated",
                  "iat": now, "exp": now + 7200}  # fmt: skip
        token = jwt.encode(claims, self.secret, algorithm="HS256")
        self.http.headers["Authorization"] = f"Bearer {token}"

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(self.base + path, data=orjson.dumps(body),
                                  headers=_JSON) as response:  # fmt: skip
            raw = await response.read()
            if response.status != 200:
                raise BenchError(f"{path}: {response.status} {raw[:2000]!r}")
            result: dict[str, Any] = orjson.loads(raw)
            return result

    async def sync(self, cursor: str | None, limit: int) -> tuple[float, int, int, str]:
        """Pull until up to date: (seconds, records, pages, cursor)."""
        started = time.perf_counter()
        records = pages = 0
        while True:
            body = await self.post("/v1/sync/pull", {"cursor": cursor, "limit": limit,
                                                     "schema_version": SCHEMA_VERSION})  # fmt: skip
            pages += 1
            records += len(body["changes"])
            cursor = body["cursor"]
            if not body["has_more"]:
                assert cursor is not None
                return time.perf_counter() - started, records, pages, cursor


def _mutations(
    client_id: str, bookings: Sequence[uuid.UUID], unread: list[int]
) -> list[dict[str, Any]]:
    """100 mutations, ten of each kind in every ten: preferences, travellers (two created,
    one edited on its base version), notes (two created, one edited), read marks."""
    wall = time.time_ns() // 1_000_000
    mutations: list[dict[str, Any]] = []

    def add(name: str, args: dict[str, Any]) -> None:
        n = len(mutations)
        mutations.append({"id": n + 1, "name": name, "args": args,
                          "client_time": f"{wall:013d}:{n:04d}:{client_id}"})  # fmt: skip

    for cycle in range(10):
        grace, ada, note = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        booking = str(bookings[cycle % len(bookings)])
        add("preferences.update", {"seat": ("window", "aisle")[cycle % 2]})
        add("preferences.update", {"meal": ("vegan", "halal")[cycle % 2]})
        add("travelers.upsert", {"id": grace, "fields": {"given_name": "Grace",
                                                         "family_name": "Hopper"}})  # fmt: skip
        add("travelers.upsert", {"id": ada, "fields": {"given_name": "Ada",
                                                       "family_name": "Lovelace"}})  # fmt: skip
        add("travelers.upsert", {"id": grace, "base_version": 1,
                                 "fields": {"nationality": "US"}})  # fmt: skip
        add("trip_notes.upsert", {"id": note, "booking_id": booking, "title": "Hotel"})
        add("trip_notes.upsert", {"id": str(uuid.uuid4()), "booking_id": booking,
                                  "body": "Taxi at 7"})  # fmt: skip
        add("trip_notes.upsert", {"id": note, "booking_id": booking, "body": "Check in at 3"})
        ids = [unread.pop() for _ in range(min(10, len(unread)))] or [1]
        add("notifications.mark_read", {"ids": ids})
        add("preferences.update", {"language": ("fr", "de")[cycle % 2]})
    return mutations


async def _measure(
    client: Client, conn: asyncpg.Connection, rounds: int, trips: int, changes: int,
    report: Report,
) -> None:  # fmt: skip
    world = await make_user(conn, trips)
    client.sign_in(world.user_id)

    for label, limit in (("whole state, pages of 500", 500), ("whole state, one page", 10_000)):
        measure = Measure(f"initial pull, {trips} trips ({label})")
        for run in range(WARM_UP + rounds):
            seconds, records, pages, _ = await client.sync(None, limit)
            if run >= WARM_UP:
                measure.seconds.append(seconds)
            measure.records, measure.pages = records, pages
        report.measures.append(measure)

    # Changes: gate churn on the user's flights, each a flight event and a notification.
    base_id = await conn.fetchval("SELECT max(id) FROM change_events")
    _, _, _, start = await client.sync(None, 10_000)
    await churn_flights(conn, world.flights, changes // 2)
    events = await user_events_after(conn, world.user_id, base_id)
    report.notes.append(
        f"The incremental pulls start from a cursor taken before {changes // 2:,} gate changes "
        f"on the user's {len(world.flights)} flights: {events:,} change-log events on the "
        "user's topic (each change is a flight event and a notification event)."
    )
    for label, limit in (("one page", 10_000), ("pages of 500", 500)):
        measure = Measure(f"incremental pull, {events:,} changes ({label})", goal_ms=GOAL_PULL_MS)
        for run in range(WARM_UP + rounds):
            seconds, records, pages, _ = await client.sync(start, limit)
            if run >= WARM_UP:
                measure.seconds.append(seconds)
            measure.records, measure.pages = records, pages
        report.measures.append(measure)

    unread = [r["id"] for r in await conn.fetch(
        "SELECT id FROM notifications WHERE user_id = $1 ORDER BY id", world.user_id)]  # fmt: skip
    push = Measure("push, 100 mutations", goal_ms=GOAL_PUSH_MS)
    retry = Measure("push retried, 100 mutations (all replayed)")
    statuses: dict[str, int] = {}
    for run in range(WARM_UP + rounds):
        client_id = f"bench-{uuid.uuid4().hex[:12]}"
        body = {"client_id": client_id, "schema_version": SCHEMA_VERSION,
                "mutations": _mutations(client_id, world.bookings, unread)}  # fmt: skip
        started = time.perf_counter()
        result = await client.post("/v1/sync/push", body)
        elapsed = time.perf_counter() - started
        for item in result["results"]:
            statuses[item["status"]] = statuses.get(item["status"], 0) + 1
        started = time.perf_counter()
        replayed = await client.post("/v1/sync/push", body)
        again = time.perf_counter() - started
        if not all(r.get("replayed") for r in replayed["results"]):
            raise BenchError("a retried push applied something again")
        if run >= WARM_UP:
            push.seconds.append(elapsed)
            retry.seconds.append(again)
    push.records = retry.records = 100
    report.measures += [push, retry]
    report.notes.append(f"Push outcomes over all runs: {statuses}.")


def render(report: Report) -> str:
    lines = [
        "# Sync benchmark",
        "",
        f"`{report.command}`",
        "",
        "| measure | runs | records | pages | p50 ms | p95 ms | records/s at p50 | goal |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in report.measures:
        p50, p95 = m.p(0.5), m.p(0.95)
        goal = "-"
        if m.goal_ms is not None:
            goal = f"< {m.goal_ms:.0f} ms: {'met' if p95 < m.goal_ms else 'not met'} (p95)"
        rate = m.records / (p50 / 1000) if p50 else 0
        pages = str(m.pages) if m.pages else "-"
        lines.append(
            f"| {m.label} | {len(m.seconds)} | {m.records:,} | {pages} | {p50:.1f} | "
            f"{p95:.1f} | {rate:,.0f} | {goal} |"
        )
    lines += ["", *[f"- {note}" for note in report.notes], ""]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.sync", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--trips", type=int, default=200)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--seed-flights", type=int, default=20_000)
    parser.add_argument("--home", type=Path, default=None,
                        help="an existing SKYBOUND_HOME to use (kept afterwards)")  # fmt: skip
    return parser


async def _run(base: str, dsn: str, secret: str, args: argparse.Namespace, report: Report) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with aiohttp.ClientSession() as http:
            client = Client(http, base, secret)
            await _measure(client, conn, args.rounds, args.trips, args.changes, report)
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    report = Report(command="python -m bench.sync " + " ".join(argv or sys.argv[1:]))
    logs = LOGS_DIR / "sync"
    logs.mkdir(parents=True, exist_ok=True)
    with bench_home(args.home) as (home, _owned):
        if not (home / "pgdata").exists():
            seeded = seed(home, args.seed_flights, 30, 900.0, logs)
            report.notes.append(f"Seeded {seeded.flights:,} legs in {seeded.seconds:.1f} s.")
        port = free_port()
        secret = secrets.token_hex(32)
        env = skybound_env(home, SUPABASE_JWT_SECRET=secret)
        base = f"http://{HOST}:{port}"
        argv_serve = [skybound_bin(), "serve", "--port", str(port), "--workers", "1"]
        with Server("skybound", argv_serve, env, f"{base}/readyz", logs / "serve.log") as server:
            asyncio.run(_run(base, dsn_for(home / "pgdata"), secret, args, report))
            server.stop()
    report.notes.append(
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end; client, "
        "server (one worker) and PostgreSQL on the same machine."
    )
    write(render(report), RESULTS_DIR / "sync.md")
    return 0
