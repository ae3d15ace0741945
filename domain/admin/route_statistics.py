"""Figures per route for staff: the routes that sell most, and how many passengers choose
(or pay for) a seat.

Both read what migration 0029's triggers keep as bookings, seats and EMDs are written:
top routes the daily rollup, seat take-up the seat counts of each leg, over the legs of
the days asked for.
"""

from __future__ import annotations

from typing import Annotated, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain.admin import examples
from domain.admin.statistics import MAX_LOAD_ROWS, Iata, LoadQuery, SalesQuery


class TopRoutesQuery(SalesQuery):
    """Bookings made on UTC days, both ends included."""

    limit: Annotated[int, Field(ge=1, le=100)] = 20


class RouteSales(BaseModel):
    origin: str
    destination: str
    bookings: int = Field(description="Bookings made in the window, as booked (outbound).")
    passengers: int
    cancellations: int = Field(description="Bookings of the route cancelled in the window.")


class TopRoutesReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.TOP_ROUTES]})

    routes: list[RouteSales] = Field(description="Most bookings first.")


_TOP_ROUTES = """
SELECT origin, destination, sum(bookings) AS bookings, sum(passengers) AS passengers,
       sum(cancellations) AS cancellations
  FROM routes_daily WHERE day BETWEEN $1 AND $2
 GROUP BY origin, destination
HAVING sum(bookings) > 0
 ORDER BY sum(bookings) DESC, sum(passengers) DESC, origin, destination
 LIMIT $3
"""


async def top_routes(pool: asyncpg.Pool, query: TopRoutesQuery) -> TopRoutesReport:
    rows = await pool.fetch(_TOP_ROUTES, query.from_day, query.to_day, query.limit)
    return TopRoutesReport(
        routes=[
            RouteSales(origin=r["origin"], destination=r["destination"], bookings=r["bookings"],
                       passengers=r["passengers"], cancellations=r["cancellations"])
            for r in rows
        ]
    )  # fmt: skip


class SeatQuery(LoadQuery):
    """Legs by service date, both ends included; at most 31 days."""

    by: Literal["flight", "route"] = "route"


class SeatTakeUp(BaseModel):
    origin: Iata
    destination: Iata
    flight_id: int | None = Field(description="Set when grouped by flight.")
    designator: str | None = None
    flights: int
    passengers: int = Field(description="Seated passengers booked (lap infants have no seat).")
    seated: int = Field(description="Passengers holding a seat on the seat map.")
    paid: int = Field(description="Passengers holding a paid seat (an open or used EMD).")
    seated_share: float = Field(description="seated / passengers, 0 to 1.")
    paid_share: float = Field(description="paid / passengers, 0 to 1.")


class SeatReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEAT_REPORT]})

    rows: list[SeatTakeUp] = Field(description="Most passengers first, at most 1000.")
    truncated: bool


# The legs, their seats sold (cabins) and their seat counts (kept by migration 0029's
# triggers), each one index probe per leg.
_PER_LEG = """
WITH per_leg AS (
    SELECT f.id, f.origin, f.destination, f.carrier, f.flight_number,
           (SELECT coalesce(sum(c.seats_sold), 0) FROM flight_cabins c
             WHERE c.flight_id = f.id) AS passengers,
           coalesce(t.seated, 0) AS seated, coalesce(t.paid, 0) AS paid
      FROM flights f LEFT JOIN flight_seat_take_up t ON t.flight_id = f.id
     WHERE f.service_date BETWEEN $1 AND $2 AND f.status <> 'cancelled'
       AND ($3::text IS NULL OR f.origin = $3) AND ($4::text IS NULL OR f.destination = $4)
)
"""
_SEATS = {
    "route": f"""{_PER_LEG}
SELECT origin, destination, NULL::bigint AS id, NULL AS carrier, NULL::integer AS flight_number,
       count(*) AS flights, sum(passengers) AS passengers, sum(seated) AS seated,
       sum(paid) AS paid
  FROM per_leg GROUP BY origin, destination
 ORDER BY sum(passengers) DESC, origin, destination LIMIT $5""",
    "flight": f"""{_PER_LEG}
SELECT origin, destination, id, carrier, flight_number, 1 AS flights, passengers, seated, paid
  FROM per_leg ORDER BY passengers DESC, id LIMIT $5""",
}


def _share(part: int, whole: int) -> float:
    return round(min(part / whole, 1.0), 4) if whole else 0.0


async def seat_take_up(pool: asyncpg.Pool, query: SeatQuery) -> SeatReport:
    rows = await pool.fetch(_SEATS[query.by], query.from_day, query.to_day, query.origin,
                            query.destination, MAX_LOAD_ROWS + 1)  # fmt: skip
    return SeatReport(
        rows=[
            SeatTakeUp(
                origin=r["origin"],
                destination=r["destination"],
                flight_id=r["id"],
                designator=f"{r['carrier'].strip()}{r['flight_number']}" if r["carrier"] else None,
                flights=r["flights"],
                passengers=r["passengers"],
                seated=r["seated"],
                paid=r["paid"],
                seated_share=_share(r["seated"], r["passengers"]),
                paid_share=_share(r["paid"], r["passengers"]),
            )
            for r in rows[:MAX_LOAD_ROWS]
        ],
        truncated=len(rows) > MAX_LOAD_ROWS,
    )
