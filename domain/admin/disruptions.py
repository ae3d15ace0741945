"""Today's disrupted flights, for the ops dashboard: delayed, cancelled, diverted, or
given another gate by staff."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.admin import examples
from domain.flights import FLIGHT_SELECT, Flight, flight_from_row
from foundation.models import StrictModel

MAX_ROWS = 500

Disruption = Literal["delayed", "cancelled", "diverted", "gate_changed"]

# A gate change is known from the audit log (migration 0013): staff's stands actions
# that touched a gate. A gate set by a schedule load is not news.
_DISRUPTED = f"""
WITH legs AS (
    {FLIGHT_SELECT.strip()}
    WHERE f.service_date = $1 AND ($2::text IS NULL OR $2 IN (f.origin, f.destination))
)
SELECT * FROM (
    SELECT legs.*,
           coalesce(legs.estimated_departure > legs.scheduled_departure, false) AS delayed,
           EXISTS (SELECT 1 FROM admin_audit_log a
                    WHERE a.entity = 'flight' AND a.entity_id = legs.id::text
                      AND a.action = 'flight.stands'
                      AND a.changes ?| array['departure_gate', 'arrival_gate']) AS gate_changed
      FROM legs
) flagged
WHERE status IN ('cancelled', 'diverted') OR delayed OR gate_changed
ORDER BY scheduled_departure, id
LIMIT {MAX_ROWS + 1}
"""


class DisruptionQuery(StrictModel):
    service_date: Annotated[
        date | None,
        Field(alias="date", description="Local departure date at the origin (default: today UTC)"),
    ] = None
    airport: Annotated[
        str | None,
        StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True),
        Field(description="Only legs leaving or reaching this airport."),
    ] = None


class DisruptedFlight(BaseModel):
    flight: Flight
    disruptions: list[Disruption]


class DisruptionList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.DISRUPTIONS]})

    service_date: date
    flights: list[DisruptedFlight] = Field(description="By scheduled departure.")
    truncated: bool = Field(description=f"More than {MAX_ROWS} legs: narrow to an airport.")


def _disruptions(row: asyncpg.Record) -> list[Disruption]:
    found: list[Disruption] = []
    if row["delayed"]:
        found.append("delayed")
    if row["status"] in ("cancelled", "diverted"):
        found.append(row["status"])
    if row["gate_changed"]:
        found.append("gate_changed")
    return found


async def disrupted_flights(pool: asyncpg.Pool, query: DisruptionQuery) -> DisruptionList:
    day = query.service_date or datetime.now(UTC).date()
    rows = await pool.fetch(_DISRUPTED, day, query.airport)
    flights = [
        DisruptedFlight(flight=flight_from_row(row), disruptions=_disruptions(row))
        for row in rows[:MAX_ROWS]
    ]
    return DisruptionList(service_date=day, flights=flights, truncated=len(rows) > MAX_ROWS)
