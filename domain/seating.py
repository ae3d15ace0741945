"""Seat maps, seat holds and seat assignments of a flight.

A seat is held for a user while they book, and assigned to a passenger when a
booking claims it. A hold expires on its own: every read treats an expired hold
as free, and the reaper deletes expired holds only so that watchers of the seat
map hear that the seat is available again.

Holds and claims of a seat are serialised by a transaction-scoped advisory lock
per (flight, seat), taken in seat order, so a hold racing a booking for the same
seat cannot both succeed and concurrent multi-seat holds cannot deadlock.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain import examples
from domain.reference import half_even
from foundation.errors import (
    Conflict,
    FieldError,
    FlightNotFound,
    NotFound,
    ValidationFailed,
)

log = logging.getLogger(__name__)

DEFAULT_HOLD_TTL_SECONDS = 600
REAP_INTERVAL_SECONDS = 30.0

Cabin = Literal["first", "business", "premium_economy", "economy"]
SeatState = Literal["available", "held", "held_by_you", "booked"]
SeatCharacteristic = Literal["window", "aisle", "middle", "exit_row", "extra_legroom"]

_SEAT = re.compile(r"^([1-9][0-9]{0,2})([A-K])$")

# Seat prices, as a percentage of the cabin's adult base fare. Seat choice is part
# of the fare in business and first; economy charges for legroom (exit and extra
# legroom rows) and, less, for a window or an aisle; middle seats are free.
_LEGROOM_PCT: dict[str, int] = {"economy": 15, "premium_economy": 10}
_WINDOW_OR_AISLE_PCT: dict[str, int] = {"economy": 5}


# Errors ------------------------------------------------------------------------------


class SeatMapUnavailable(NotFound):
    slug = "seat-map-unavailable"
    title = "Seat map unavailable"

    def __init__(self, flight_id: int) -> None:
        super().__init__(
            f"Flight {flight_id} has no seat map: its aircraft or cabin layout is not known.",
            flight_id=flight_id,
        )


class SeatUnavailable(Conflict):
    """Seats that are booked, or held by someone else."""

    slug = "seat-unavailable"
    title = "Seat unavailable"

    def __init__(self, flight_id: int, seats: Iterable[str]) -> None:
        taken = sorted(seats, key=seat_order)
        super().__init__(
            f"Not available on flight {flight_id}: {', '.join(taken)}.",
            flight_id=flight_id,
            seats=taken,
        )


class SeatHeldByAnother(SeatUnavailable):
    slug = "seat-held"
    title = "Seat held by another traveller"


class PassengerAlreadySeated(Conflict):
    slug = "passenger-already-seated"
    title = "Passenger already has a seat"

    def __init__(self, flight_id: int) -> None:
        super().__init__(
            f"A passenger of this request already has a seat on flight {flight_id}.",
            flight_id=flight_id,
        )


class UnknownSeat(ValidationFailed):
    """Seats that are not on the flight's layout (or not in the cabin asked for)."""

    slug = "unknown-seat"
    title = "No such seat"

    def __init__(self, flight_id: int, unknown: Mapping[str, str]) -> None:
        """``unknown``: input field (``body.seats.1``) to the seat named there."""
        super().__init__(
            [FieldError(f, f"No seat {seat} on this flight.", "unknown_seat")
             for f, seat in unknown.items()],
            detail=f"Not on flight {flight_id}'s seat map: {', '.join(unknown.values())}.",
        )  # fmt: skip
        self.extensions = {"flight_id": flight_id, "seats": list(unknown.values())}


class ExitRowRestricted(ValidationFailed):
    """Exit-row seats are for adults who can help in an evacuation: no children, and no
    adult with an infant on the lap (the infant cannot be held in the brace position
    while the exit is opened)."""

    slug = "exit-row-restricted"
    title = "Exit row not allowed"

    def __init__(self, flight_id: int, refused: Mapping[str, str]) -> None:
        """``refused``: input field to the exit-row seat asked for there."""
        super().__init__(
            [FieldError(f, f"Seat {seat} is in an exit row: adults without an infant only.",
                        "exit_row_restricted") for f, seat in refused.items()],
            detail=f"Exit-row seats on flight {flight_id}: {', '.join(refused.values())}.",
        )  # fmt: skip
        self.extensions = {"flight_id": flight_id, "seats": list(refused.values())}


def check_exit_rows(
    layout: FlightLayout,
    requests: Sequence[tuple[str, bool, str]],
) -> None:
    """``requests``: (seat, whether the passenger may sit at an exit, input field)."""
    refused = {}
    for seat, allowed, field in requests:
        cabin = layout.cabin_of(seat)
        if not allowed and cabin is not None and "exit_row" in (cabin.characteristics(seat) or ()):
            refused[field] = seat
    if refused:
        raise ExitRowRestricted(layout.flight_id, refused)


class SeatHoldNotFound(NotFound):
    slug = "seat-hold-not-found"
    title = "Seat hold not found"

    def __init__(self, hold_id: uuid.UUID) -> None:
        super().__init__(f"No live seat hold {hold_id} of yours on this flight.")


# Models -------------------------------------------------------------------------------


class Seat(BaseModel):
    seat: str = Field(examples=["12A"])
    letter: str = Field(examples=["A"])
    characteristics: list[SeatCharacteristic] = Field(examples=[["window", "exit_row"]])
    state: SeatState = Field(
        description="`held_by_you` only to the holder, when the request is authenticated."
    )
    price_minor: int = Field(
        ge=0, description="Price of choosing this seat, in minor units of the cabin's currency."
    )


class SeatRow(BaseModel):
    row: int
    exit_row: bool
    extra_legroom: bool
    seats: list[Seat] = Field(description="In layout order, left to right.")


class CabinSeatMap(BaseModel):
    cabin: Cabin
    layout: str = Field(
        description="Seat letters as seen from above, aisles as spaces.", examples=["ABC DEF"]
    )
    currency: str = Field(examples=["USD"])
    rows: list[SeatRow]


class SeatMap(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEAT_MAP]})

    flight_id: int
    aircraft: str = Field(description="IATA aircraft type.", examples=["32N"])
    cabins: list[CabinSeatMap] = Field(description="Front to back.")


class SeatHold(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEAT_HOLD]})

    hold_id: uuid.UUID
    flight_id: int
    seats: list[str] = Field(examples=[["12A", "12B"]])
    expires_at: datetime


class SeatHoldList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEAT_HOLD_LIST]})

    holds: list[SeatHold] = Field(description="Live holds, oldest first.")


# Layouts ------------------------------------------------------------------------------


def seat_order(seat: str) -> tuple[int, str]:
    """Sort key: by row, then letter (``9C`` before ``10A``)."""
    match = _SEAT.match(seat)
    return (int(match[1]), match[2]) if match else (10**4, seat)


@dataclass(frozen=True, slots=True)
class CabinLayout:
    """One cabin of a flight: the aircraft's layout and what the flight sells it at."""

    cabin: Cabin
    first_row: int
    last_row: int
    seat_letters: str
    exit_rows: frozenset[int]
    extra_legroom_rows: frozenset[int]
    base_fare_minor: int
    currency: str

    def letter_positions(self) -> dict[str, tuple[SeatCharacteristic, ...]]:
        """Each letter's place across the cabin: window, aisle (both, for a lone seat) or
        middle."""
        groups = self.seat_letters.split(" ")
        places: dict[str, tuple[SeatCharacteristic, ...]] = {}
        for g, group in enumerate(groups):
            for i, letter in enumerate(group):
                found: list[SeatCharacteristic] = []
                if (g == 0 and i == 0) or (g == len(groups) - 1 and i == len(group) - 1):
                    found.append("window")
                if (i == 0 and g > 0) or (i == len(group) - 1 and g < len(groups) - 1):
                    found.append("aisle")
                places[letter] = tuple(found) or ("middle",)
        return places

    def characteristics(self, seat: str) -> tuple[SeatCharacteristic, ...] | None:
        """The seat's characteristics, or None when it is not in this cabin."""
        match = _SEAT.match(seat)
        if match is None:
            return None
        row, letter = int(match[1]), match[2]
        place = self.letter_positions().get(letter)
        if place is None or not self.first_row <= row <= self.last_row:
            return None
        return place + self._row_characteristics(row)

    def _row_characteristics(self, row: int) -> tuple[SeatCharacteristic, ...]:
        found: list[SeatCharacteristic] = []
        if row in self.exit_rows:
            found.append("exit_row")
        if row in self.extra_legroom_rows:
            found.append("extra_legroom")
        return tuple(found)

    def price(self, characteristics: Sequence[SeatCharacteristic]) -> int:
        if "exit_row" in characteristics or "extra_legroom" in characteristics:
            pct = _LEGROOM_PCT.get(self.cabin, 0)
        elif "window" in characteristics or "aisle" in characteristics:
            pct = _WINDOW_OR_AISLE_PCT.get(self.cabin, 0)
        else:
            pct = 0
        return half_even(self.base_fare_minor * pct, 100)

    def seat_map(self, states: Mapping[str, SeatState]) -> CabinSeatMap:
        places = self.letter_positions()
        letters = self.seat_letters.replace(" ", "")
        rows = []
        for row in range(self.first_row, self.last_row + 1):
            extra = self._row_characteristics(row)
            seats = []
            for letter in letters:
                seat = f"{row}{letter}"
                characteristics = places[letter] + extra
                seats.append(
                    Seat(
                        seat=seat,
                        letter=letter,
                        characteristics=list(characteristics),
                        state=states.get(seat, "available"),
                        price_minor=self.price(characteristics),
                    )
                )
            rows.append(
                SeatRow(
                    row=row,
                    exit_row="exit_row" in extra,
                    extra_legroom="extra_legroom" in extra,
                    seats=seats,
                )
            )
        return CabinSeatMap(
            cabin=self.cabin, layout=self.seat_letters, currency=self.currency, rows=rows
        )


@dataclass(frozen=True, slots=True)
class FlightLayout:
    flight_id: int
    aircraft: str
    cabins: tuple[CabinLayout, ...]

    def cabin_of(self, seat: str) -> CabinLayout | None:
        for cabin in self.cabins:
            if cabin.characteristics(seat) is not None:
                return cabin
        return None


# Cabins the flight sells that its aircraft type has a layout for, front to back. No row:
# no such flight; one row without a cabin: no seat map.
_LAYOUT = """
SELECT f.aircraft_type, ac.cabin, ac.first_row, ac.last_row, ac.seat_letters, ac.exit_rows,
       ac.extra_legroom_rows, fc.base_fare_minor, fc.currency
FROM flights f
LEFT JOIN (aircraft_cabins ac JOIN flight_cabins fc ON fc.cabin = ac.cabin)
       ON ac.aircraft_type = f.aircraft_type AND fc.flight_id = f.id
WHERE f.id = $1
ORDER BY ac.first_row
"""


async def flight_layout(conn: asyncpg.Connection | asyncpg.Pool, flight_id: int) -> FlightLayout:
    """The flight's cabin layouts (FlightNotFound, SeatMapUnavailable)."""
    rows = await conn.fetch(_LAYOUT, flight_id)
    if not rows:
        raise FlightNotFound(flight_id)
    if rows[0]["cabin"] is None:
        raise SeatMapUnavailable(flight_id)
    cabins = tuple(
        CabinLayout(
            cabin=row["cabin"],
            first_row=row["first_row"],
            last_row=row["last_row"],
            seat_letters=row["seat_letters"],
            exit_rows=frozenset(row["exit_rows"]),
            extra_legroom_rows=frozenset(row["extra_legroom_rows"]),
            base_fare_minor=row["base_fare_minor"],
            currency=row["currency"].strip(),
        )
        for row in rows
    )
    return FlightLayout(flight_id, rows[0]["aircraft_type"], cabins)


# Seat maps ----------------------------------------------------------------------------

_TAKEN = """
SELECT seat, NULL::uuid AS user_id FROM seat_assignments WHERE flight_id = $1
UNION ALL
SELECT seat, user_id FROM seat_holds WHERE flight_id = $1 AND expires_at > now()
"""


async def seat_map(
    conn: asyncpg.Connection | asyncpg.Pool, flight_id: int, viewer: uuid.UUID | None = None
) -> SeatMap:
    """Every seat of the flight with its state and price; the viewer's own holds show as
    ``held_by_you``."""
    layout = await flight_layout(conn, flight_id)
    states: dict[str, SeatState] = {}
    for row in await conn.fetch(_TAKEN, flight_id):
        if row["user_id"] is None:
            states[row["seat"]] = "booked"
        elif states.get(row["seat"]) != "booked":
            states[row["seat"]] = "held_by_you" if row["user_id"] == viewer else "held"
    return SeatMap(
        flight_id=flight_id,
        aircraft=layout.aircraft,
        cabins=[cabin.seat_map(states) for cabin in layout.cabins],
    )


# Holds --------------------------------------------------------------------------------

# Seats in seat order, the order every writer locks them in.
_LOCK_SEATS = """
SELECT pg_advisory_xact_lock(hashtextextended('seat:' || $1::bigint || ':' || seat, 0))
FROM unnest($2::text[]) AS seat
"""
_BOOKED = "SELECT seat FROM seat_assignments WHERE flight_id = $1 AND seat = ANY($2::text[])"
# A seat is taken over when it is free, its hold expired, or the hold is the user's own
# (which moves it into this hold and extends it). A seat held by someone else returns
# no row.
_HOLD = """
INSERT INTO seat_holds (flight_id, seat, hold_id, user_id, expires_at)
SELECT $1, seat, $3, $4, now() + make_interval(secs => $5)
FROM unnest($2::text[]) AS seat
ON CONFLICT (flight_id, seat) DO UPDATE
    SET hold_id = EXCLUDED.hold_id, user_id = EXCLUDED.user_id,
        expires_at = EXCLUDED.expires_at, created_at = now()
    WHERE seat_holds.expires_at <= now() OR seat_holds.user_id = EXCLUDED.user_id
RETURNING seat, expires_at
"""


def _known_seats(
    layout: FlightLayout, seats: Sequence[str], fields: Sequence[str], cabin: str | None = None
) -> None:
    unknown = {}
    for seat, field in zip(seats, fields, strict=True):
        found = layout.cabin_of(seat)
        if found is None or (cabin is not None and found.cabin != cabin):
            unknown[field] = seat
    if unknown:
        raise UnknownSeat(layout.flight_id, unknown)


async def _lock_seats(conn: asyncpg.Connection, flight_id: int, seats: Sequence[str]) -> None:
    await conn.execute(_LOCK_SEATS, flight_id, sorted(seats, key=seat_order))


async def hold_seats(
    pool: asyncpg.Pool,
    user_id: uuid.UUID,
    flight_id: int,
    seats: Sequence[str],
    ttl: float = DEFAULT_HOLD_TTL_SECONDS,
    *,
    field: str = "seats",
) -> SeatHold:
    """Hold all of ``seats`` for ``ttl`` seconds, or none of them.

    Seats the user already holds move into the new hold and are extended; expired
    holds of others are taken over. Errors: FlightNotFound, SeatMapUnavailable,
    UnknownSeat (naming ``{field}.{i}``), SeatUnavailable (booked or held by another).
    """
    if ttl <= 0 or not seats:
        raise ValueError("hold at least one seat for a positive time")
    wanted = sorted(set(seats), key=seat_order)
    async with pool.acquire() as conn, conn.transaction():
        layout = await flight_layout(conn, flight_id)
        _known_seats(layout, seats, [f"{field}.{i}" for i in range(len(seats))])
        await _lock_seats(conn, flight_id, wanted)
        booked = await conn.fetch(_BOOKED, flight_id, wanted)
        if booked:
            raise SeatUnavailable(flight_id, (row["seat"] for row in booked))
        hold_id = uuid.uuid4()
        held = await conn.fetch(_HOLD, flight_id, wanted, hold_id, user_id, float(ttl))
        if len(held) < len(wanted):
            # Raising rolls back the seats this statement did hold: all or none.
            raise SeatUnavailable(flight_id, set(wanted) - {row["seat"] for row in held})
    return SeatHold(
        hold_id=hold_id, flight_id=flight_id, seats=wanted, expires_at=held[0]["expires_at"]
    )


_RELEASE = """
DELETE FROM seat_holds WHERE flight_id = $1 AND hold_id = $2 AND user_id = $3
RETURNING expires_at > now() AS live
"""


async def release_hold(
    pool: asyncpg.Pool, user_id: uuid.UUID, flight_id: int, hold_id: uuid.UUID
) -> None:
    """Free the seats of one of the user's live holds (SeatHoldNotFound otherwise, also
    for another user's hold, so hold ids cannot be probed)."""
    rows = await pool.fetch(_RELEASE, flight_id, hold_id, user_id)
    if not any(row["live"] for row in rows):
        raise SeatHoldNotFound(hold_id)


_USER_HOLDS = """
SELECT hold_id, flight_id, array_agg(seat) AS seats, max(expires_at) AS expires_at
FROM seat_holds
WHERE user_id = $1 AND expires_at > now()
GROUP BY hold_id, flight_id
ORDER BY min(created_at), hold_id
"""


async def user_holds(conn: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID) -> SeatHoldList:
    rows = await conn.fetch(_USER_HOLDS, user_id)
    return SeatHoldList(
        holds=[
            SeatHold(
                hold_id=row["hold_id"],
                flight_id=row["flight_id"],
                seats=sorted(row["seats"], key=seat_order),
                expires_at=row["expires_at"],
            )
            for row in rows
        ]
    )


# Assignments --------------------------------------------------------------------------

_HELD_BY_OTHERS = """
SELECT seat FROM seat_holds
WHERE flight_id = $1 AND seat = ANY($2::text[]) AND user_id <> $3 AND expires_at > now()
"""
_ASSIGN = """
INSERT INTO seat_assignments (flight_id, seat, booking_id, passenger_id)
SELECT $1, seat, $3, passenger_id FROM unnest($2::text[], $4::uuid[]) AS a(seat, passenger_id)
"""
# After the assignments, so the seats.changed event of this delete says booked too.
_DROP_HOLDS = """
DELETE FROM seat_holds
WHERE flight_id = $1 AND seat = ANY($2::text[]) AND (user_id = $3 OR expires_at <= now())
"""


async def claim_seats(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    flight_id: int,
    cabin: str,
    booking_id: uuid.UUID,
    assignments: Sequence[tuple[str, uuid.UUID]],
    fields: Sequence[str] | None = None,
    barred_from_exits: Collection[uuid.UUID] = (),
) -> dict[str, int]:
    """Assign seats to passengers of a booking, inside the caller's transaction.

    Each seat must be in ``cabin`` on the flight's layout (UnknownSeat, naming
    ``fields[i]``, by default ``seats.{i}``), not held by another user
    (SeatHeldByAnother) and not assigned (SeatUnavailable); passengers in
    ``barred_from_exits`` get no exit-row seat (ExitRowRestricted); a passenger seated twice
    on the flight is PassengerAlreadySeated. The user's own holds on the seats end.
    Returns each seat's price in minor units of the cabin's currency. Work runs in a
    savepoint, so a refused claim leaves the caller's transaction usable. A booking of
    several flights should claim them in flight id order, as concurrent bookings
    otherwise may deadlock (PostgreSQL then aborts one of them).
    """
    if not assignments:
        return {}
    seats = [seat for seat, _ in assignments]
    names = list(fields) if fields is not None else [f"seats.{i}" for i in range(len(seats))]
    repeated = [
        FieldError(name, f"Seat {seat} is given twice.", "duplicate_seat")
        for i, (seat, name) in enumerate(zip(seats, names, strict=True))
        if seat in seats[:i]
    ]
    if repeated:
        raise ValidationFailed(repeated)
    layout = await flight_layout(conn, flight_id)
    _known_seats(layout, seats, names, cabin)
    check_exit_rows(
        layout,
        [(seat, passenger not in barred_from_exits, name)
         for (seat, passenger), name in zip(assignments, names, strict=True)],
    )  # fmt: skip
    cabin_layout = next(c for c in layout.cabins if c.cabin == cabin)
    async with conn.transaction():
        await _lock_seats(conn, flight_id, seats)
        held = await conn.fetch(_HELD_BY_OTHERS, flight_id, seats, user_id)
        if held:
            raise SeatHeldByAnother(flight_id, (row["seat"] for row in held))
        booked = await conn.fetch(_BOOKED, flight_id, seats)
        if booked:
            raise SeatUnavailable(flight_id, (row["seat"] for row in booked))
        passengers = [passenger for _, passenger in assignments]
        try:
            await conn.execute(_ASSIGN, flight_id, seats, booking_id, passengers)
        except asyncpg.UniqueViolationError as exc:
            # Writers that bypass the seat lock (an operator's SQL) still meet the keys.
            if exc.constraint_name == "seat_assignments_pkey":
                raise SeatUnavailable(flight_id, seats) from None
            raise PassengerAlreadySeated(flight_id) from None
        await conn.execute(_DROP_HOLDS, flight_id, seats, user_id)
    prices = {}
    for seat in seats:
        characteristics = cabin_layout.characteristics(seat)
        assert characteristics is not None
        prices[seat] = cabin_layout.price(characteristics)
    return prices


_RELEASE_SEATS = """
DELETE FROM seat_assignments
WHERE booking_id = $1 AND ($2::bigint[] IS NULL OR flight_id = ANY($2::bigint[]))
"""


async def release_seats(
    conn: asyncpg.Connection | asyncpg.Pool,
    booking_id: uuid.UUID,
    flight_ids: Sequence[int] | None = None,
) -> int:
    """Free a booking's seats (on ``flight_ids`` only, when given); returns how many."""
    status = await conn.execute(
        _RELEASE_SEATS, booking_id, list(flight_ids) if flight_ids is not None else None
    )
    return int(status.split()[-1])


# The service --------------------------------------------------------------------------


class SeatService:
    """Seat maps and a traveller's seat holds, held for the configured time."""

    def __init__(self, pool: asyncpg.Pool, hold_seconds: float = DEFAULT_HOLD_TTL_SECONDS) -> None:
        self._pool = pool
        self._hold_seconds = hold_seconds

    async def seat_map(self, flight_id: int, viewer: uuid.UUID | None = None) -> SeatMap:
        return await seat_map(self._pool, flight_id, viewer)

    async def hold(self, user_id: uuid.UUID, flight_id: int, seats: Sequence[str]) -> SeatHold:
        return await hold_seats(self._pool, user_id, flight_id, seats, ttl=self._hold_seconds)

    async def release(self, user_id: uuid.UUID, flight_id: int, hold_id: uuid.UUID) -> None:
        await release_hold(self._pool, user_id, flight_id, hold_id)

    async def holds(self, user_id: uuid.UUID) -> SeatHoldList:
        return await user_holds(self._pool, user_id)


# Expiry -------------------------------------------------------------------------------


async def reap_expired_holds(pool: asyncpg.Pool) -> int:
    """Delete expired holds in one statement (one seats.changed event per flight)."""
    status = await pool.execute("DELETE FROM seat_holds WHERE expires_at <= now()")
    return int(status.split()[-1])


async def hold_reaper(pool: asyncpg.Pool, interval: float = REAP_INTERVAL_SECONDS) -> None:
    """Reap expired holds every ``interval`` seconds until cancelled; a failed round is
    logged and the next one tried."""
    while True:
        try:
            await reap_expired_holds(pool)
        except Exception as exc:
            log.warning("seat hold reaper failed", extra={"error": repr(exc)})
        await asyncio.sleep(interval)
