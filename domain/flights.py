"""Flight legs: their current state, as every reader of flights sees it.

The same ``Flight`` model is returned by the REST API, carried in board
snapshots and realtime events, so a client renders one shape everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain import examples
from domain.airports import AirportRef
from domain.times import Instant
from foundation.errors import FlightNotFound

FlightStatus = Literal[
    "scheduled", "boarding", "departed", "landed", "arrived", "cancelled", "diverted"
]


class Carrier(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(examples=["SB"])
    name: str = Field(examples=["Skybound Airways"])


class Aircraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="IATA aircraft type.", examples=["789"])
    name: str = Field(examples=["Boeing 787-9"])


class FlightEnd(BaseModel):
    """One end of a leg: where, when (scheduled, estimated, actual) and at which gate."""

    model_config = ConfigDict(frozen=True)

    airport: AirportRef
    terminal: str | None = None
    gate: str | None = None
    scheduled: Instant
    estimated: Instant | None = None
    actual: Instant | None = None


class DepartureEnd(FlightEnd):
    takeoff: Instant | None = Field(
        default=None, description="Wheels off. `actual` is off-block: leaving the gate."
    )


class ArrivalEnd(FlightEnd):
    baggage_belt: str | None = None
    landing: Instant | None = Field(
        default=None, description="Wheels on. `actual` is on-block: reaching the gate."
    )


class Flight(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.FLIGHT]}, frozen=True)

    id: int = Field(examples=[1042])
    designator: str = Field(description="Carrier code and number.", examples=["SB101"])
    carrier: Carrier
    flight_number: int = Field(examples=[101])
    service_date: date = Field(description="Local departure date at the origin.")
    status: FlightStatus
    departure: DepartureEnd
    arrival: ArrivalEnd
    aircraft: Aircraft | None = None
    codeshares: list[str] = Field(
        default=[],
        description="The leg's codes with partners that also sell it.",
        examples=[["KA7001"]],
    )
    delay_minutes: int = Field(
        description="Estimated (or actual) departure minus scheduled, never negative."
    )
    version: int = Field(description="Increases with every change of this flight.")
    updated_at: datetime


# Shared by every query that returns flights: the leg plus the names a client shows.
FLIGHT_SELECT = """
SELECT f.id, f.carrier, al.name AS carrier_name, f.flight_number, f.service_date, f.status,
       f.origin, o.name AS origin_name, o.city AS origin_city, o.country AS origin_country,
       o.time_zone AS origin_tz,
       f.destination, d.name AS destination_name, d.city AS destination_city,
       d.country AS destination_country, d.time_zone AS destination_tz,
       f.scheduled_departure, f.estimated_departure, f.actual_departure,
       f.scheduled_arrival, f.estimated_arrival, f.actual_arrival,
       f.actual_takeoff, f.actual_landing,
       f.departure_terminal, f.departure_gate, f.arrival_terminal, f.arrival_gate,
       f.baggage_belt, f.aircraft_type, ac.name AS aircraft_name, f.version, f.updated_at,
       (SELECT coalesce(array_agg(rtrim(c.marketing_carrier) || c.marketing_number
                                  ORDER BY c.marketing_carrier), '{}')
          FROM codeshares c WHERE c.flight_id = f.id) AS codeshares
FROM flights f
JOIN airlines al ON al.code = f.carrier
JOIN airports o ON o.iata = f.origin
JOIN airports d ON d.iata = f.destination
LEFT JOIN aircraft_types ac ON ac.code = f.aircraft_type
"""

_GET = FLIGHT_SELECT + "WHERE f.id = $1"


def flight_from_row(row: Mapping[str, Any]) -> Flight:
    """A Flight from a FLIGHT_SELECT row, or from a captured flight state with the same keys."""
    origin_tz, destination_tz = row["origin_tz"], row["destination_tz"]
    scheduled = row["scheduled_departure"]
    departed = row["actual_departure"] or row["estimated_departure"] or scheduled
    delay = max(0, int((departed - scheduled).total_seconds() // 60))
    carrier = row["carrier"].strip()
    return Flight(
        id=row["id"],
        designator=f"{carrier}{row['flight_number']}",
        carrier=Carrier(code=carrier, name=row["carrier_name"]),
        flight_number=row["flight_number"],
        service_date=row["service_date"],
        status=row["status"],
        departure=DepartureEnd(
            airport=AirportRef(
                iata=row["origin"],
                name=row["origin_name"],
                city=row["origin_city"],
                country=row["origin_country"],
                time_zone=origin_tz,
            ),
            terminal=row["departure_terminal"],
            gate=row["departure_gate"],
            scheduled=Instant.of(scheduled, origin_tz),
            estimated=Instant.at(row["estimated_departure"], origin_tz),
            actual=Instant.at(row["actual_departure"], origin_tz),
            takeoff=Instant.at(row.get("actual_takeoff"), origin_tz),
        ),
        arrival=ArrivalEnd(
            airport=AirportRef(
                iata=row["destination"],
                name=row["destination_name"],
                city=row["destination_city"],
                country=row["destination_country"],
                time_zone=destination_tz,
            ),
            terminal=row["arrival_terminal"],
            gate=row["arrival_gate"],
            baggage_belt=row["baggage_belt"],
            scheduled=Instant.of(row["scheduled_arrival"], destination_tz),
            estimated=Instant.at(row["estimated_arrival"], destination_tz),
            actual=Instant.at(row["actual_arrival"], destination_tz),
            landing=Instant.at(row.get("actual_landing"), destination_tz),
        ),
        aircraft=(
            Aircraft(code=row["aircraft_type"], name=row["aircraft_name"])
            if row["aircraft_type"]
            else None
        ),
        codeshares=list(row.get("codeshares") or ()),
        delay_minutes=delay,
        version=row["version"],
        updated_at=row["updated_at"],
    )


async def get_flight(conn: asyncpg.Connection | asyncpg.Pool, flight_id: int) -> Flight:
    row = await conn.fetchrow(_GET, flight_id)
    if row is None:
        raise FlightNotFound(flight_id)
    return flight_from_row(row)
