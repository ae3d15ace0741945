"""Where a booking's time goes: the domain's ``BookingService`` run in this process, timed
statement by statement.

The same calls the handler makes through ``BookingService.book`` (``ensure_profile``,
then ``BookingService.create``) on the bench's database, with no HTTP in between, N at
a time. A connection class records every round trip it makes (label, seconds), so a
booking splits into its SQL statements (PostgreSQL, the socket and asyncpg's decoding,
including any wait for a lock or for the commit's WAL flush) and the Python between
them. PostgreSQL's own function statistics (``track_functions = all`` on these
sessions) time the triggers that turn each booking into change events, and the
PostgreSQL CPU of these sessions is read from ``/proc``.

Offers come from the running server's search; nothing of the service is reimplemented.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from bench.booking.loadgen import CARD
from bench.harness.usage import pids_cpu
from domain.bookings.models import BookingRequest
from domain.bookings.payments import SimulatedProvider
from domain.bookings.service import BookingService
from domain.cards import CardVault
from domain.profiles import ensure_profile
from domain.reference import ReferenceCache
from domain.search.tokens import Signer
from foundation.database import _init_connection, _keep_session
from foundation.secrets import app_secret

# Round trips by what they do, first match wins.
LABELS = (
    ("FROM profiles", "profile read (handler: ensure_profile)"),
    ("INTO profiles", "profile insert"),
    ("BEGIN", "BEGIN"),
    ("INSERT INTO idempotency_keys", "claim the Idempotency-Key"),
    ("FOR UPDATE OF c", "lock and read the legs' inventory"),
    ("UPDATE flight_cabins", "take the seats (+ inventory.changed event)"),
    ("INSERT INTO bookings", "insert the booking (+ booking.created event)"),
    ("INSERT INTO passengers", "insert passengers"),
    ("INSERT INTO booking_segments", "insert segments"),
    ("simulated_provider_ledger", "charge: simulated provider (own pool, autocommit)"),
    ("INSERT INTO payments", "insert the payment"),
    ("ticket_serial_seq", "ticket numbers"),
    ("INSERT INTO tickets", "insert tickets"),
    ("jsonb_agg", "read the booking back (one query)"),
    ("UPDATE idempotency_keys", "store the response under the key"),
    ("COMMIT", "COMMIT"),
    ("ROLLBACK", "ROLLBACK"),
)
# Every PL/pgSQL function a booking runs (triggers and what they call), not a chosen few:
# a new trigger's cost shows up here by itself.
_FUNCTION_STATS = """
SELECT funcname, calls, total_time, self_time FROM pg_stat_user_functions
"""


def label(query: str) -> str:
    for part, name in LABELS:
        if part in query:
            return name
    return " ".join(query.split())[:60]


@dataclass
class Clock:
    """Round trips of the bookings being timed: label -> seconds of each."""

    trips: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    enabled: bool = False

    def add(self, query: str, seconds: float) -> None:
        if self.enabled:
            self.trips[label(query)].append(seconds)


CLOCK = Clock()


class TimedConnection(asyncpg.Connection):  # type: ignore[misc]
    """Times each round trip the booking path makes through the public query methods."""

    async def _timed(self, method: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(query, *args, **kwargs)
        finally:
            CLOCK.add(query, time.perf_counter() - started)

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(super().execute, query, *args, **kwargs)

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(super().fetch, query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(super().fetchrow, query, *args, **kwargs)

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._timed(super().fetchval, query, *args, **kwargs)


async def _pool(dsn: str, size: int, name: str) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=size,
        max_size=size,
        init=_init_connection,
        reset=_keep_session,
        connection_class=TimedConnection,
        server_settings={"application_name": name, "track_functions": "all"},
    )
    assert pool is not None
    return pool


async def _backend_pids(pool: asyncpg.Pool, size: int) -> list[int]:
    held = [await pool.acquire() for _ in range(size)]
    try:
        return [await conn.fetchval("SELECT pg_backend_pid()") for conn in held]
    finally:
        for conn in held:
            await pool.release(conn)


@dataclass
class Mode:
    concurrency: int
    bookings: int
    wall: float
    per_booking_ms: list[float]
    trips: dict[str, list[float]]
    statuses: dict[str, int]
    postgres_cpu: float
    functions: dict[str, tuple[int, float, float]]


def _body(offer_id: str, n: int) -> dict[str, Any]:
    letters = "".join(chr(97 + int(d)) for d in str(n))
    return {
        "offer_id": offer_id,
        "passengers": [
            {
                "type": "adult",
                "given_name": "Bench",
                "family_name": "Tim" + letters,
                "date_of_birth": "1985-12-10",
            }
        ],
        "contact": {"email": "bench@example.com"},
        "payment": CARD,
    }


async def _functions(dsn: str) -> dict[str, tuple[int, float, float]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(_FUNCTION_STATS)
    finally:
        await conn.close()
    return {r["funcname"]: (r["calls"], r["total_time"], r["self_time"]) for r in rows}


async def measure(dsn: str, offers: Sequence[str], bookings: int, concurrency: int) -> Mode:
    """``bookings`` bookings, ``concurrency`` at a time, each client on its own flights."""
    pool = await _pool(dsn, concurrency, "bench-breakdown")
    provider_pool = await _pool(dsn, min(4, concurrency), "bench-breakdown-payments")
    functions_before = await _functions(dsn)
    try:
        secret = await app_secret(pool, "offer_signing")
        service = BookingService(
            pool,
            ReferenceCache(pool),
            Signer(secret.encode(), "offer"),
            SimulatedProvider(provider_pool),
            CardVault({"bench": b"\0" * 32}, "bench"),
        )
        await service.reference.get()
        pids = await _backend_pids(pool, concurrency)
        pids += await _backend_pids(provider_pool, min(4, concurrency))
        users = [uuid.uuid4() for _ in range(concurrency)]
        for user in users:  # profiles exist, as after the first booking of a real user
            await ensure_profile(pool, user, None, frozenset({"passenger"}))
        statuses: dict[str, int] = defaultdict(int)
        per_booking: list[float] = []
        remaining = iter(range(bookings))

        async def client(i: int) -> None:
            # Each client books its own flights, so no two bookings wait on one row lock.
            own = list(offers[i::concurrency]) or [offers[i % len(offers)]]
            for k, n in enumerate(remaining):
                request = BookingRequest.model_validate(_body(own[k % len(own)], n))
                started = time.perf_counter()
                try:
                    await ensure_profile(pool, users[i], None, frozenset({"passenger"}))
                    await service.create(users[i], request, f"breakdown-{uuid.uuid4().hex}")
                    statuses["201"] += 1
                except Exception as exc:  # a sold-out flight: counted, not timed
                    statuses[type(exc).__name__] += 1
                    continue
                per_booking.append(time.perf_counter() - started)

        CLOCK.trips.clear()
        CLOCK.enabled = True
        cpu_before = pids_cpu(pids)
        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(concurrency)))
        wall = time.perf_counter() - started
        cpu = pids_cpu(pids) - cpu_before
        CLOCK.enabled = False
        trips = {k: list(v) for k, v in CLOCK.trips.items()}
    finally:
        # Closing the sessions flushes their function statistics.
        await pool.close()
        await provider_pool.close()
    await asyncio.sleep(0.5)
    after = await _functions(dsn)
    functions = {}
    for name, (calls, total, self_) in after.items():
        calls_0, total_0, self_0 = functions_before.get(name, (0, 0.0, 0.0))
        functions[name] = (calls - calls_0, total - total_0, self_ - self_0)
    return Mode(
        concurrency,
        statuses["201"],
        wall,
        [s * 1000 for s in per_booking],
        trips,
        dict(statuses),
        cpu,
        functions,
    )


def render(modes: Sequence[Mode]) -> list[str]:
    modes = [m for m in modes if m.bookings and m.per_booking_ms]
    if not modes:
        return ["No booking succeeded in process."]
    out = [
        "`BookingService.create` (and the handler's `ensure_profile`) run in the bench "
        "process on the same database, with no HTTP, N bookings at a time, each on its own "
        "flight; every round trip timed in the client (`bench/booking/breakdown.py`). Mean "
        "ms per booking:",
        "",
        "| step | " + " | ".join(f"{m.concurrency} at a time" for m in modes) + " |",
        "|---|" + "---:|" * len(modes),
    ]
    names: list[str] = []
    for m in modes:
        names += [n for n in m.trips if n not in names]
    order = [name for _part, name in LABELS]
    names.sort(key=lambda n: order.index(n) if n in order else len(order))

    def per(m: Mode, seconds: float) -> str:
        return f"{seconds * 1000 / m.bookings:.2f}" if m.bookings else "n/a"

    for name in names:
        out.append(
            f"| {name} | " + " | ".join(per(m, sum(m.trips.get(name, []))) for m in modes) + " |"
        )

    def sql_ms(m: Mode) -> float:
        return sum(sum(v) for v in m.trips.values()) * 1000 / m.bookings

    def whole_ms(m: Mode) -> float:
        return sum(m.per_booking_ms) / len(m.per_booking_ms)

    rows: list[tuple[str, Callable[[Mode], str]]] = [
        ("all SQL round trips", lambda m: f"{sql_ms(m):.2f}"),
        (
            "round trips per booking",
            lambda m: f"{sum(len(v) for v in m.trips.values()) / m.bookings:.1f}",
        ),
        ("whole booking (mean)", lambda m: f"{whole_ms(m):.2f}"),
        (
            "rest: Python between the round trips (and, above 1 at a time, the event loop)",
            lambda m: f"{whole_ms(m) - sql_ms(m):.2f}",
        ),
        ("bookings/s", lambda m: f"{m.bookings / m.wall:,.0f}"),
        ("PostgreSQL CPU of these sessions per booking", lambda m: per(m, m.postgres_cpu)),
    ]
    for name, value in rows:
        out.append(f"| **{name}** | " + " | ".join(value(m) for m in modes) + " |")
    out += [
        "",
        "Triggers and the functions they call, ms per booking, by self time in the first "
        "mode (PostgreSQL's `pg_stat_user_functions`: total including the functions they "
        "call / self):",
        "",
        "| function | " + " | ".join(f"{m.concurrency} at a time" for m in modes) + " |",
        "|---|" + "---:|" * len(modes),
    ]
    for name in _called(modes):
        cells = []
        for m in modes:
            calls, total, self_ = m.functions.get(name, (0, 0.0, 0.0))
            cells.append(
                f"{total / m.bookings:.2f} / {self_ / m.bookings:.2f} ({calls / m.bookings:.0f} "
                "calls)"
                if m.bookings
                else "n/a"
            )
        out.append(f"| `{name}` | " + " | ".join(cells) + " |")
    statuses = "; ".join(f"{m.concurrency} at a time: {m.statuses}" for m in modes)
    out += ["", f"Outcomes: {statuses}."]
    return out


def _called(modes: Sequence[Mode]) -> list[str]:
    """Functions called during any mode, the most self time (first mode) first."""
    names = {name for m in modes for name, (calls, _, _) in m.functions.items() if calls}
    first = modes[0].functions if modes else {}
    return sorted(names, key=lambda name: (-first.get(name, (0, 0.0, 0.0))[2], name))


async def breakdown(
    dsn: str, offers: Sequence[str], bookings: int, levels: Sequence[int]
) -> list[str]:
    modes = [await measure(dsn, offers, bookings, level) for level in levels]
    return render(modes)
