"""Flight operations by staff: new legs, schedule edits, delays, gates, cancellations,
diversions, and a delay of every departure of an airport at once.

A write names the versions of the flight it was made against (``If-Match``); a flight
changed since is refused rather than overwritten. The row is locked, checked, changed
and the audit entry written in one transaction. The change reaches boards, streams and
travellers through the capture triggers of migration 0002, like any other write of a
flight; a new leg, which those triggers do not capture, is announced explicitly.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import asyncpg
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.admin import audit, examples
from domain.admin.audit import Actor
from domain.flights import Flight, get_flight
from domain.times import zone
from foundation.errors import (
    Conflict,
    FieldError,
    FlightNotFound,
    PreconditionFailed,
    ValidationFailed,
)
from foundation.models import StrictModel

# A bulk action changes at most this many flights; a wider one is refused, not truncated.
BULK_MAX_FLIGHTS = 500
BULK_MAX_WINDOW = timedelta(hours=24)
# A delay or retime further than this from the schedule is a typo, not an operation.
MAX_SHIFT = timedelta(hours=72)

# Which statuses each action may start from.
BEFORE_DEPARTURE: frozenset[str] = frozenset({"scheduled", "boarding"})
NOT_FINISHED: frozenset[str] = frozenset({"scheduled", "boarding", "departed"})
NOT_CANCELLED: frozenset[str] = frozenset(
    {"scheduled", "boarding", "departed", "landed", "arrived", "diverted"}
)

# Fields whose change the audit log shows (what the flight's readers see).
AUDITED = (
    "status", "origin", "destination", "aircraft_type",
    "scheduled_departure", "scheduled_arrival", "estimated_departure", "estimated_arrival",
    "departure_terminal", "departure_gate", "arrival_terminal", "arrival_gate", "baggage_belt",
)  # fmt: skip

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
Iata = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)]
Stand = Annotated[
    str | None,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9-]{1,6}$", to_upper=True),
]
CabinName = Literal["first", "business", "premium_economy", "economy"]


class StaleFlightVersion(PreconditionFailed):
    slug = "stale-version"
    title = "The flight changed since you read it"

    def __init__(self, flight_id: int, current: int) -> None:
        super().__init__(
            f"Flight {flight_id} is at version {current}; read it again and retry.",
            flight_id=flight_id,
            current_version=current,
        )


class FlightStateConflict(Conflict):
    slug = "flight-state-conflict"
    title = "The flight's status does not allow this"

    def __init__(self, flight_id: int, status: str, action: str) -> None:
        super().__init__(
            f"Flight {flight_id} is {status}: it cannot be {action}.",
            flight_id=flight_id,
            flight_status=status,
        )


class FlightExists(Conflict):
    slug = "flight-exists"
    title = "That flight already operates on that day"


def _invalid(field: str, message: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed([FieldError(field, message, code)])


# Inputs -------------------------------------------------------------------------------


class NewCabin(StrictModel):
    cabin: CabinName
    capacity: Annotated[int, Field(ge=1, le=1000)]
    base_fare_minor: Annotated[int, Field(ge=0, le=10**9, description="Adult base fare.")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class NewLeg(StrictModel):
    """A leg to add to the schedule; its service date is the local departure date."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.NEW_LEG]})

    carrier: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")]
    flight_number: Annotated[int, Field(ge=1, le=9999)]
    origin: Iata
    destination: Iata
    scheduled_departure: AwareDatetime
    scheduled_arrival: AwareDatetime
    aircraft_type: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3}$")] | None = None
    cabins: Annotated[list[NewCabin], Field(min_length=1, max_length=4)]
    reason: Reason | None = None

    @model_validator(mode="after")
    def _consistent(self) -> NewLeg:
        if self.origin == self.destination:
            raise ValueError("origin and destination must differ")
        if self.scheduled_arrival <= self.scheduled_departure:
            raise ValueError("scheduled_arrival must be after scheduled_departure")
        if len({c.cabin for c in self.cabins}) != len(self.cabins):
            raise ValueError("each cabin may be given once")
        return self


class ScheduleEdit(StrictModel):
    """A retime or an aircraft change, before the flight is under way. Only the fields
    sent change. The leg keeps its service date, so a retime stays on that local day."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.SCHEDULE_EDIT]})

    scheduled_departure: AwareDatetime | None = None
    scheduled_arrival: AwareDatetime | None = None
    aircraft_type: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3}$")] | None = None
    reason: Reason | None = None


class DelayNotice(StrictModel):
    """New estimated times. Without an estimated arrival, the arrival moves with the
    departure (the block time stays)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.DELAY_NOTICE]})

    estimated_departure: AwareDatetime
    estimated_arrival: AwareDatetime | None = None
    reason: Reason | None = None


class StandChange(StrictModel):
    """Terminal, gate or baggage belt; only the fields sent change, null clears one."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.STAND_CHANGE]})

    departure_terminal: Stand = None
    departure_gate: Stand = None
    arrival_terminal: Stand = None
    arrival_gate: Stand = None
    baggage_belt: Stand = None
    reason: Reason | None = None


class Cancellation(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CANCELLATION]})

    reason: Reason


class Diversion(StrictModel):
    """The leg now ends at another airport (its arrival gate and belt are cleared)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.DIVERSION]})

    destination: Iata
    reason: Reason


class BulkDelay(StrictModel):
    """Delay every departure of ``airport`` scheduled in [``from``, ``to``) that has not
    left yet by ``minutes`` (weather, a runway closure)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.BULK_DELAY]})

    airport: Iata
    minutes: Annotated[int, Field(ge=1, le=720)]
    window_from: Annotated[AwareDatetime, Field(alias="from")]
    window_to: Annotated[AwareDatetime, Field(alias="to")]
    reason: Reason

    @model_validator(mode="after")
    def _bounded(self) -> BulkDelay:
        if self.window_to <= self.window_from:
            raise ValueError("`to` must be after `from`")
        if self.window_to - self.window_from > BULK_MAX_WINDOW:
            raise ValueError("the window may span at most 24 hours")
        return self


class DelayedFlight(BaseModel):
    id: int
    designator: str
    version: int
    estimated_departure: datetime


class BulkDelayResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BULK_DELAY_RESULT]})

    batch: uuid.UUID = Field(description="The audit entries of this action share it.")
    delayed: list[DelayedFlight]


# Changing one flight -------------------------------------------------------------------

_LOCK = "SELECT to_jsonb(f) AS state FROM flights f WHERE id = $1 FOR UPDATE"
# Columns an admin write may set; names reach SQL only from this list.
_WRITABLE = frozenset(AUDITED)


def _changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    return {key: [old.get(key), new.get(key)] for key in AUDITED if old.get(key) != new.get(key)}


async def _locked(
    conn: asyncpg.Connection, flight_id: int, expected: Collection[int]
) -> dict[str, Any]:
    state = await conn.fetchval(_LOCK, flight_id)
    if state is None:
        raise FlightNotFound(flight_id)
    if state["version"] not in expected:
        raise StaleFlightVersion(flight_id, state["version"])
    return dict(state)


async def _apply(
    pool: asyncpg.Pool,
    actor: Actor,
    flight_id: int,
    expected: Collection[int],
    action: str,
    reason: str | None,
    plan: Any,
) -> Flight:
    """Lock the flight, check its version, let ``plan(state)`` (checks, then the columns
    to set) decide, write the change and its audit entry, and return the new flight."""
    async with pool.acquire() as conn, conn.transaction():
        old = await _locked(conn, flight_id, expected)
        values: dict[str, Any] = plan(old)
        names = [name for name in values if name in _WRITABLE]
        if names:
            assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(names, start=2))
            new = await conn.fetchval(
                f"UPDATE flights f SET {assignments} WHERE id = $1 RETURNING to_jsonb(f)",
                flight_id,
                *(values[name] for name in names),
            )
            changes = _changes(old, new)
            if changes:
                await audit.record(conn, actor, action, "flight", flight_id, changes, reason)
        return await get_flight(conn, flight_id)


def _scheduled(state: dict[str, Any], end: Literal["departure", "arrival"]) -> datetime:
    """A scheduled time of a locked flight's state (never null)."""
    return datetime.fromisoformat(state[f"scheduled_{end}"])


def _require_status(state: dict[str, Any], allowed: frozenset[str], doing: str) -> None:
    if state["status"] not in allowed:
        raise FlightStateConflict(state["id"], state["status"], doing)


async def edit_schedule(
    pool: asyncpg.Pool, actor: Actor, flight_id: int, expected: Collection[int],
    edit: ScheduleEdit,
) -> Flight:  # fmt: skip
    sent = edit.model_dump(exclude_unset=True, exclude={"reason"})
    if not sent:
        raise _invalid("scheduled_departure", "Send at least one field to change.", "missing")
    for name in ("scheduled_departure", "scheduled_arrival"):
        if name in sent and sent[name] is None:
            raise _invalid(name, "A leg always has a scheduled time; it cannot be cleared.")
    if edit.aircraft_type is not None and not await pool.fetchval(
        "SELECT true FROM aircraft_types WHERE code = $1", edit.aircraft_type
    ):
        raise _invalid("aircraft_type", f"No aircraft type '{edit.aircraft_type}'.")
    origin_tz = await pool.fetchval(
        "SELECT a.time_zone FROM flights f JOIN airports a ON a.iata = f.origin WHERE f.id = $1",
        flight_id,
    )

    def plan(state: dict[str, Any]) -> dict[str, Any]:
        _require_status(state, frozenset({"scheduled"}), "rescheduled")
        departure = edit.scheduled_departure or _scheduled(state, "departure")
        arrival = edit.scheduled_arrival or _scheduled(state, "arrival")
        if edit.scheduled_departure is not None:
            local_day = departure.astimezone(zone(origin_tz)).date()
            if local_day != date.fromisoformat(state["service_date"]):
                raise _invalid("scheduled_departure",
                               f"Must stay on the service date {state['service_date']} "
                               "(local time at the origin).")  # fmt: skip
        if arrival <= departure:
            raise _invalid("scheduled_arrival", "Must be after the scheduled departure.")
        return sent

    return await _apply(pool, actor, flight_id, expected, "flight.reschedule", edit.reason, plan)


async def announce_delay(
    pool: asyncpg.Pool, actor: Actor, flight_id: int, expected: Collection[int],
    notice: DelayNotice,
) -> Flight:  # fmt: skip
    def plan(state: dict[str, Any]) -> dict[str, Any]:
        _require_status(state, BEFORE_DEPARTURE, "delayed")
        scheduled = _scheduled(state, "departure")
        if abs(notice.estimated_departure - scheduled) > MAX_SHIFT:
            raise _invalid("estimated_departure", "Must be within 72 hours of the schedule.")
        arrival = notice.estimated_arrival
        if arrival is None:
            arrival = notice.estimated_departure + (_scheduled(state, "arrival") - scheduled)
        if arrival <= notice.estimated_departure:
            raise _invalid("estimated_arrival", "Must be after the estimated departure.")
        return {"estimated_departure": notice.estimated_departure, "estimated_arrival": arrival}

    return await _apply(pool, actor, flight_id, expected, "flight.delay", notice.reason, plan)


async def change_stands(
    pool: asyncpg.Pool, actor: Actor, flight_id: int, expected: Collection[int],
    change: StandChange,
) -> Flight:  # fmt: skip
    sent = change.model_dump(exclude_unset=True, exclude={"reason"})
    if not sent:
        raise _invalid("departure_gate", "Send at least one field to change.", "missing")

    def plan(state: dict[str, Any]) -> dict[str, Any]:
        _require_status(state, NOT_CANCELLED, "given a gate")
        return sent

    return await _apply(pool, actor, flight_id, expected, "flight.stands", change.reason, plan)


async def cancel_flight(
    pool: asyncpg.Pool, actor: Actor, flight_id: int, expected: Collection[int],
    cancellation: Cancellation,
) -> Flight:  # fmt: skip
    def plan(state: dict[str, Any]) -> dict[str, Any]:
        _require_status(state, BEFORE_DEPARTURE, "cancelled")
        return {"status": "cancelled"}

    return await _apply(pool, actor, flight_id, expected, "flight.cancel", cancellation.reason,
                        plan)  # fmt: skip


async def divert_flight(
    pool: asyncpg.Pool, actor: Actor, flight_id: int, expected: Collection[int],
    diversion: Diversion,
) -> Flight:  # fmt: skip
    if not await pool.fetchval("SELECT true FROM airports WHERE iata = $1", diversion.destination):
        raise _invalid("destination", f"No airport with IATA code '{diversion.destination}'.")

    def plan(state: dict[str, Any]) -> dict[str, Any]:
        _require_status(state, NOT_FINISHED, "diverted")
        if diversion.destination in (state["origin"], state["destination"]):
            raise _invalid("destination", "Must differ from the flight's origin and destination.")
        return {"status": "diverted", "destination": diversion.destination,
                "arrival_terminal": None, "arrival_gate": None, "baggage_belt": None}  # fmt: skip

    return await _apply(pool, actor, flight_id, expected, "flight.divert", diversion.reason, plan)


# A new leg ------------------------------------------------------------------------------

_INSERT_LEG = """
INSERT INTO flights (carrier, flight_number, service_date, origin, destination, aircraft_type,
                     scheduled_departure, scheduled_arrival)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id
"""

# Inserts are not captured (migration 0002: schedule loads are not news); a leg added by
# staff is, so boards that show its day hear of it.
_ANNOUNCE_LEG = """
SELECT record_change(
    'flight.created', 'flight', f.id::text, f.version,
    ARRAY['flight:' || f.id, 'board:' || f.origin || ':departures',
          'board:' || f.destination || ':arrivals'],
    jsonb_build_object('flight', flight_state(f), 'changes', '{}'::jsonb))
FROM flights f WHERE f.id = $1
"""


async def create_leg(pool: asyncpg.Pool, actor: Actor, leg: NewLeg) -> Flight:
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchrow(
            """SELECT (SELECT true FROM airlines WHERE code = $1) AS carrier,
                      (SELECT time_zone FROM airports WHERE iata = $2) AS origin_tz,
                      (SELECT true FROM airports WHERE iata = $3) AS destination,
                      ($4::text IS NULL OR EXISTS (SELECT 1 FROM aircraft_types
                                                   WHERE code = $4)) AS aircraft""",
            leg.carrier, leg.origin, leg.destination, leg.aircraft_type,
        )  # fmt: skip
        errors = [
            FieldError(name, message)
            for name, missing, message in (
                ("carrier", not found["carrier"], f"No airline '{leg.carrier}'."),
                ("origin", found["origin_tz"] is None, f"No airport '{leg.origin}'."),
                ("destination", not found["destination"], f"No airport '{leg.destination}'."),
                ("aircraft_type", not found["aircraft"], f"No aircraft '{leg.aircraft_type}'."),
            )
            if missing
        ]
        if errors:
            raise ValidationFailed(errors)
        service_date = leg.scheduled_departure.astimezone(zone(found["origin_tz"])).date()
        try:
            flight_id = await conn.fetchval(
                _INSERT_LEG, leg.carrier, leg.flight_number, service_date, leg.origin,
                leg.destination, leg.aircraft_type, leg.scheduled_departure,
                leg.scheduled_arrival,
            )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise FlightExists(
                f"{leg.carrier}{leg.flight_number} already leaves {leg.origin} on {service_date}."
            ) from None
        await conn.executemany(
            """INSERT INTO flight_cabins (flight_id, cabin, capacity, base_fare_minor, currency)
               VALUES ($1, $2, $3, $4, $5)""",
            [(flight_id, c.cabin, c.capacity, c.base_fare_minor, c.currency) for c in leg.cabins],
        )
        await conn.execute(_ANNOUNCE_LEG, flight_id)
        flight = await get_flight(conn, flight_id)
        created = flight.model_dump(mode="json", include={"designator", "service_date", "status"})
        created |= {"origin": leg.origin, "destination": leg.destination,
                    "cabins": [c.model_dump() for c in leg.cabins]}  # fmt: skip
        await audit.record(conn, actor, "flight.create", "flight", flight_id,
                           {key: [None, value] for key, value in created.items()},
                           leg.reason)  # fmt: skip
        return flight


# Bulk -----------------------------------------------------------------------------------

_BULK_DELAY = """
WITH chosen AS (
    SELECT id, to_jsonb(f) AS old FROM flights f
     WHERE origin = $1 AND scheduled_departure >= $2 AND scheduled_departure < $3
       AND status IN ('scheduled', 'boarding')
     ORDER BY id
     LIMIT $5
       FOR UPDATE
)
UPDATE flights f
   SET estimated_departure = coalesce(f.estimated_departure, f.scheduled_departure) + $4,
       estimated_arrival = coalesce(f.estimated_arrival, f.scheduled_arrival) + $4
  FROM chosen
 WHERE f.id = chosen.id
RETURNING f.id, f.carrier, f.flight_number, f.version, f.estimated_departure, chosen.old,
          to_jsonb(f) AS new
"""


async def bulk_delay(pool: asyncpg.Pool, actor: Actor, request: BulkDelay) -> BulkDelayResult:
    """Every departure in the window that has not left, delayed in one transaction: all
    of them or none. More than BULK_MAX_FLIGHTS is refused; narrow the window."""
    batch = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT true FROM airports WHERE iata = $1", request.airport):
            raise _invalid("airport", f"No airport with IATA code '{request.airport}'.")
        # One more than allowed is enough to know it is too many; raising rolls it back.
        rows = await conn.fetch(_BULK_DELAY, request.airport, request.window_from,
                                request.window_to, timedelta(minutes=request.minutes),
                                BULK_MAX_FLIGHTS + 1)  # fmt: skip
        if len(rows) > BULK_MAX_FLIGHTS:
            raise _invalid("to", f"The window holds more than {BULK_MAX_FLIGHTS} departures, "
                                 "the most one action may change. Narrow it.")  # fmt: skip
        changed = [(row["id"], _changes(row["old"], row["new"])) for row in rows]
        if changed:
            await audit.record_many(conn, actor, "flight.bulk_delay", "flight", changed,
                                    request.reason, batch)  # fmt: skip
    delayed = [
        DelayedFlight(id=row["id"], designator=f"{row['carrier'].strip()}{row['flight_number']}",
                      version=row["version"], estimated_departure=row["estimated_departure"])
        for row in sorted(rows, key=lambda r: r["estimated_departure"])
    ]  # fmt: skip
    return BulkDelayResult(batch=batch, delayed=delayed)
