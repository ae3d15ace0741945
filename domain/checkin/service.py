"""Check-in and its undo: the rules, in one transaction per request.

The booking's row is locked first, so check-ins, undos, changes and cancellations of
one booking take turns. Legs are then worked in flight id order (the order bookings
take seat and inventory locks in), so concurrent check-ins cannot deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from domain.bookings.errors import BookingNotFound
from domain.bookings.queries import may_read
from domain.cards import CardVault
from domain.checkin.errors import (
    BoardingPassNotFound,
    BookingNotCheckable,
    CheckInClosed,
    CheckInNotOpen,
    FlightNotCheckable,
    InvalidTravelDocument,
    NoLiveTicket,
    NoSeatAvailable,
    NotCheckedIn,
    UnknownTravelSelection,
)
from domain.checkin.models import BoardingPassList, BoardingPassView, CheckInRequest
from domain.checkin.passes import boarding_passes
from domain.checkin.seats import assign_free_seat
from domain.checkin.travel_documents import (
    TravelDocumentInput,
    document_errors,
    store_documents,
    stored_documents,
)
from domain.checkin.window import CLOSED_STATUSES, CheckInRules, CheckInWindow
from domain.receipts import LIVE_TICKET_STATUSES
from domain.times import zone
from foundation.errors import FieldError, SkyboundError

_BOOKING = "SELECT id, user_id, status FROM bookings WHERE id = $1 FOR UPDATE"

_PASSENGERS = """
SELECT p.id, p.passenger_no, p.passenger_type, p.date_of_birth,
       EXISTS (SELECT 1 FROM tickets t
               WHERE t.passenger_id = p.id AND t.status = ANY($2::text[])) AS ticketed
FROM passengers p WHERE p.booking_id = $1 ORDER BY p.passenger_no
"""

_SEGMENTS = """
SELECT s.segment_no, s.flight_id, s.cabin, f.carrier, f.flight_number, f.status,
       f.scheduled_departure, f.scheduled_arrival, d.time_zone AS destination_tz,
       o.country = d.country AS domestic, a.check_in_opens_hours, a.check_in_closes_minutes,
       a.check_in_closes_domestic_minutes
FROM booking_segments s
JOIN flights f ON f.id = s.flight_id
JOIN airlines a ON a.code = f.carrier
JOIN airports o ON o.iata = f.origin
JOIN airports d ON d.iata = f.destination
WHERE s.booking_id = $1
ORDER BY s.segment_no
"""

_CHECK_INS = "SELECT passenger_id, flight_id, status FROM check_ins WHERE booking_id = $1"
_SEATS = "SELECT flight_id, passenger_id, seat FROM seat_assignments WHERE booking_id = $1"

# The next sequence number of the flight; the row lock orders concurrent check-ins.
_NEXT_SEQUENCE = """
INSERT INTO check_in_sequences (flight_id, last_sequence) VALUES ($1, 1)
ON CONFLICT (flight_id) DO UPDATE SET last_sequence = check_in_sequences.last_sequence + 1
RETURNING last_sequence
"""

_CHECK_IN = """
INSERT INTO check_ins (passenger_id, flight_id, booking_id, segment_no, status, sequence_no,
                       seat, seat_assigned, checked_in_by)
VALUES ($1, $2, $3, $4, 'checked_in', $5, $6, $7, $8)
ON CONFLICT (passenger_id, flight_id) DO UPDATE
    SET status = 'checked_in', segment_no = EXCLUDED.segment_no,
        sequence_no = EXCLUDED.sequence_no, seat = EXCLUDED.seat,
        seat_assigned = EXCLUDED.seat_assigned, checked_in_by = EXCLUDED.checked_in_by,
        checked_in_at = now(), undone_at = NULL
"""

_UNDO = """
UPDATE check_ins SET status = 'undone', undone_at = now()
WHERE passenger_id = $1 AND flight_id = $2 AND status = 'checked_in'
RETURNING seat, seat_assigned
"""
# Only the seat check-in gave: one the passenger chose since (a seat change) stays.
_FREE_ASSIGNED_SEAT = """
DELETE FROM seat_assignments WHERE flight_id = $1 AND passenger_id = $2 AND seat = $3
"""


@dataclass(frozen=True, slots=True)
class Leg:
    segment_no: int
    flight_id: int
    cabin: str
    designator: str
    status: str
    domestic: bool
    arrival: datetime
    destination_tz: str
    window: CheckInWindow


@dataclass(frozen=True, slots=True)
class Traveller:
    id: uuid.UUID
    passenger_no: int
    passenger_type: str
    date_of_birth: date
    ticketed: bool


def _leg(row: asyncpg.Record) -> Leg:
    rules = CheckInRules(
        row["check_in_opens_hours"],
        row["check_in_closes_minutes"],
        row["check_in_closes_domestic_minutes"],
    )
    return Leg(
        segment_no=row["segment_no"],
        flight_id=row["flight_id"],
        cabin=row["cabin"],
        designator=f"{row['carrier'].strip()}{row['flight_number']}",
        status=row["status"],
        domestic=row["domestic"],
        arrival=row["scheduled_arrival"],
        destination_tz=row["destination_tz"],
        window=CheckInWindow.of(row["scheduled_departure"], row["domestic"], rules),
    )


def _chosen(numbers: Sequence[int] | None, known: Mapping[int, object], name: str) -> list[int]:
    """The numbers asked for (all if None), each once; UnknownTravelSelection names a bad one."""
    if numbers is None:
        return list(known)
    unknown = [
        FieldError(f"{name}.{i}", f"The booking has no {name[:-1]} {n}.", f"unknown_{name[:-1]}")
        for i, n in enumerate(numbers)
        if n not in known
    ]
    if unknown:
        raise UnknownTravelSelection(unknown)
    return list(dict.fromkeys(numbers))


def _refusal(leg: Leg, now: datetime) -> SkyboundError | None:
    """Why the leg cannot be checked in now, or None when it can."""
    if leg.status in CLOSED_STATUSES:
        return FlightNotCheckable(leg.designator, leg.status)
    state = leg.window.state(now)
    if state == "not_open":
        return CheckInNotOpen(leg.designator, leg.window.opens_at)
    if state == "closed":
        return CheckInClosed(leg.designator, leg.window.closes_at)
    return None


def _check_leg(leg: Leg, now: datetime) -> None:
    refusal = _refusal(leg, now)
    if refusal is not None:
        raise refusal


def _open_legs(legs: dict[int, Leg], now: datetime) -> list[int]:
    """Every leg open for check-in now; if none, the refusal of the next leg to open (or,
    when none is ahead, of the last leg)."""
    refusals = {n: _refusal(leg, now) for n, leg in legs.items()}
    open_now = [n for n, refusal in refusals.items() if refusal is None]
    if open_now:
        return open_now
    ahead = [r for r in refusals.values() if isinstance(r, CheckInNotOpen)]
    refusal = ahead[0] if ahead else list(refusals.values())[-1]
    assert refusal is not None
    raise refusal


class CheckInService:
    """Check-in, its undo, and the boarding passes it gives."""

    def __init__(self, pool: asyncpg.Pool, vault: CardVault) -> None:
        self._pool = pool
        self._vault = vault

    async def _visible(
        self,
        conn: asyncpg.Connection,
        booking_id: uuid.UUID,
        viewer: uuid.UUID,
        roles: Collection[str],
    ) -> asyncpg.Record:
        booking = await conn.fetchrow(_BOOKING, booking_id)
        if booking is None or not may_read(booking["user_id"], viewer, roles):
            raise BookingNotFound()
        if booking["status"] != "confirmed":
            raise BookingNotCheckable("The booking is cancelled.")
        return booking

    async def _state(
        self, conn: asyncpg.Connection, booking_id: uuid.UUID
    ) -> tuple[dict[int, Traveller], dict[int, Leg]]:
        travellers = {
            r["passenger_no"]: Traveller(
                r["id"], r["passenger_no"], r["passenger_type"], r["date_of_birth"], r["ticketed"]
            )
            for r in await conn.fetch(_PASSENGERS, booking_id, list(LIVE_TICKET_STATUSES))
        }
        legs = {r["segment_no"]: _leg(r) for r in await conn.fetch(_SEGMENTS, booking_id)}
        if not legs:
            raise BookingNotCheckable("The booking has no flights.")
        return travellers, legs

    async def check_in(
        self,
        booking_id: uuid.UUID,
        request: CheckInRequest,
        viewer: uuid.UUID,
        roles: Collection[str],
        *,
        now: datetime | None = None,
    ) -> BoardingPassList:
        """Check the chosen passengers in on the chosen legs and return the booking's
        boarding passes. Checking in someone already checked in changes nothing."""
        now = now or datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            await self._visible(conn, booking_id, viewer, roles)
            travellers, legs = await self._state(conn, booking_id)
            passenger_nos = _chosen(request.passengers, travellers, "passengers")
            if request.segments is None:
                segment_nos = _open_legs(legs, now)
            else:
                segment_nos = _chosen(request.segments, legs, "segments")
                for n in segment_nos:
                    _check_leg(legs[n], now)
            chosen = [travellers[n] for n in passenger_nos]
            for traveller in chosen:
                if not traveller.ticketed:
                    raise NoLiveTicket(traveller.passenger_no)
            await self._documents(
                conn,
                booking_id,
                request.documents,
                travellers,
                chosen,
                [legs[n] for n in segment_nos],
                legs,
            )
            await self._check_in_legs(
                conn,
                booking_id,
                viewer,
                chosen,
                sorted((legs[n] for n in segment_nos), key=lambda leg: leg.flight_id),
            )
            passes = await boarding_passes(conn, booking_id)
        return BoardingPassList(booking_id=str(booking_id), boarding_passes=passes)

    async def _documents(
        self,
        conn: asyncpg.Connection,
        booking_id: uuid.UUID,
        documents: Sequence[TravelDocumentInput],
        travellers: dict[int, Traveller],
        chosen: Sequence[Traveller],
        legs: Sequence[Leg],
        all_legs: dict[int, Leg],
    ) -> None:
        """Validate and keep the documents given; every chosen passenger of an international
        leg must have one (given now, or kept from before and still valid)."""
        last = max(all_legs.values(), key=lambda leg: leg.arrival)
        trip_ends = last.arrival.astimezone(zone(last.destination_tz)).date()
        errors: list[FieldError] = []
        given: dict[int, TravelDocumentInput] = {}
        for index, document in enumerate(documents):
            traveller = travellers.get(document.passenger_no)
            if traveller is None:
                errors.append(
                    FieldError(
                        f"documents.{index}.passenger_no",
                        f"The booking has no passenger {document.passenger_no}.",
                        "unknown_passenger",
                    )
                )
                continue
            if document.passenger_no in given:
                errors.append(
                    FieldError(
                        f"documents.{index}.passenger_no",
                        "Give one document per passenger.",
                        "duplicate",
                    )
                )
                continue
            given[document.passenger_no] = document
            errors += document_errors(index, document, traveller.date_of_birth, trip_ends)
        kept = await stored_documents(conn, booking_id)
        needs = [leg for leg in legs if not leg.domestic]
        if needs:
            for traveller in chosen:
                stored = kept.get(traveller.id)
                if traveller.passenger_no in given or (
                    stored is not None and stored.expires_on > trip_ends
                ):
                    continue
                errors.append(
                    FieldError(
                        "documents",
                        f"Passenger {traveller.passenger_no} needs a travel document (type, "
                        "number, expiry, nationality, date of birth, gender) for "
                        f"{needs[0].designator}.",
                        "document_required",
                    )
                )
        if errors:
            raise InvalidTravelDocument(errors)
        if given:
            await store_documents(
                conn, self._vault, booking_id, [(travellers[n].id, d) for n, d in given.items()]
            )

    async def _check_in_legs(
        self,
        conn: asyncpg.Connection,
        booking_id: uuid.UUID,
        viewer: uuid.UUID,
        chosen: Sequence[Traveller],
        legs: Sequence[Leg],
    ) -> None:
        done = {
            (r["passenger_id"], r["flight_id"])
            for r in await conn.fetch(_CHECK_INS, booking_id)
            if r["status"] == "checked_in"
        }
        seats = {
            (r["passenger_id"], r["flight_id"]): r["seat"]
            for r in await conn.fetch(_SEATS, booking_id)
        }
        for leg in legs:
            for traveller in chosen:
                key = (traveller.id, leg.flight_id)
                if key in done:
                    continue
                seat, assigned = seats.get(key), False
                if seat is None and traveller.passenger_type != "infant":
                    try:
                        seat = await assign_free_seat(
                            conn,
                            flight_id=leg.flight_id,
                            cabin=leg.cabin,
                            booking_id=booking_id,
                            passenger_id=traveller.id,
                            user_id=viewer,
                            child=traveller.passenger_type == "child",
                        )
                    except LookupError:
                        raise NoSeatAvailable(leg.designator, leg.cabin) from None
                    assigned = seat is not None
                sequence = await conn.fetchval(_NEXT_SEQUENCE, leg.flight_id)
                await conn.execute(
                    _CHECK_IN,
                    traveller.id,
                    leg.flight_id,
                    booking_id,
                    leg.segment_no,
                    sequence,
                    seat,
                    assigned,
                    viewer,
                )

    async def undo(
        self,
        booking_id: uuid.UUID,
        passengers: Sequence[int] | None,
        segments: Sequence[int] | None,
        viewer: uuid.UUID,
        roles: Collection[str],
        *,
        now: datetime | None = None,
    ) -> None:
        """Take back the chosen check-ins (all of the booking's by default) while their
        window is open: the boarding passes are withdrawn and a seat that check-in gave
        is freed. NotCheckedIn when none of them is checked in."""
        now = now or datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            await self._visible(conn, booking_id, viewer, roles)
            travellers, legs = await self._state(conn, booking_id)
            passenger_nos = _chosen(passengers, travellers, "passengers")
            segment_nos = _chosen(segments, legs, "segments")
            done = {
                (r["passenger_id"], r["flight_id"])
                for r in await conn.fetch(_CHECK_INS, booking_id)
                if r["status"] == "checked_in"
            }
            undo = [
                (travellers[p], legs[s])
                for s in segment_nos
                for p in passenger_nos
                if (travellers[p].id, legs[s].flight_id) in done
            ]
            if not undo:
                raise NotCheckedIn("None of these passengers is checked in on these flights.")
            for leg in {leg.segment_no: leg for _, leg in undo}.values():
                if leg.status in CLOSED_STATUSES:
                    raise FlightNotCheckable(leg.designator, leg.status)
                if leg.window.state(now) == "closed":
                    raise CheckInClosed(leg.designator, leg.window.closes_at)
            for traveller, leg in sorted(undo, key=lambda pair: pair[1].flight_id):
                row = await conn.fetchrow(_UNDO, traveller.id, leg.flight_id)
                if row is not None and row["seat_assigned"]:
                    await conn.execute(_FREE_ASSIGNED_SEAT, leg.flight_id, traveller.id,
                                       row["seat"])  # fmt: skip

    async def passes(
        self, booking_id: uuid.UUID, viewer: uuid.UUID, roles: Collection[str]
    ) -> BoardingPassList:
        """The booking's boarding passes (none before check-in), for whoever may read it."""
        row = await self._pool.fetchrow("SELECT user_id FROM bookings WHERE id = $1", booking_id)
        if row is None or not may_read(row["user_id"], viewer, roles):
            raise BookingNotFound()
        passes = await boarding_passes(self._pool, booking_id)
        return BoardingPassList(booking_id=str(booking_id), boarding_passes=passes)

    async def boarding_pass(
        self,
        booking_id: uuid.UUID,
        segment_no: int,
        passenger_no: int,
        viewer: uuid.UUID,
        roles: Collection[str],
    ) -> BoardingPassView:
        """One passenger's pass for one segment (BoardingPassNotFound before check-in)."""
        found = await self.passes(booking_id, viewer, roles)
        for view in found.boarding_passes:
            if (view.segment_no, view.passenger_no) == (segment_no, passenger_no):
                return view
        raise BoardingPassNotFound()
