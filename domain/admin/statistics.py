"""Figures for staff: sales, cancellations and refunds per day and currency, and how full
flights and routes are.

Sales, cancellations and refunds read the daily rollup that triggers keep as bookings and
payments are written (migration 0029): a few rows per day whatever the bookings. Load
factors are one aggregate over the legs of the days asked for (legs by service date).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.admin import examples
from foundation.models import StrictModel

MAX_SALES_DAYS = 366
MAX_LOAD_DAYS = 31
MAX_LOAD_ROWS = 1000

Iata = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)]


class SalesQuery(StrictModel):
    """Days in UTC, both ends included."""

    from_day: Annotated[date, Field(alias="from")]
    to_day: Annotated[date, Field(alias="to")]

    @model_validator(mode="after")
    def _bounded(self) -> SalesQuery:
        if self.to_day < self.from_day:
            raise ValueError("`to` must not be before `from`")
        if (self.to_day - self.from_day).days >= MAX_SALES_DAYS:
            raise ValueError(f"at most {MAX_SALES_DAYS} days at a time")
        return self


class SalesDay(BaseModel):
    day: date
    currency: str
    bookings: int = Field(description="Bookings made that day.")
    cancellations: int = Field(description="Bookings cancelled that day.")
    charged_minor: int = Field(description="Succeeded charges, in minor units.")
    refunded_minor: int = Field(description="Succeeded refunds, in minor units.")
    net_minor: int = Field(description="Charged minus refunded.")


class SalesReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SALES_REPORT]})

    days: list[SalesDay] = Field(description="By day, then currency; days without sales left out.")


# The rollup's slots summed per (day, currency); days with nothing left out.
_SALES = """
SELECT day, currency, sum(bookings) AS bookings, sum(cancellations) AS cancellations,
       sum(charged_minor) AS charged, sum(refunded_minor) AS refunded
  FROM sales_daily WHERE day BETWEEN $1 AND $2
 GROUP BY day, currency
HAVING sum(bookings) <> 0 OR sum(cancellations) <> 0 OR sum(charged_minor) <> 0
    OR sum(refunded_minor) <> 0
 ORDER BY day, currency
"""


async def sales_report(pool: asyncpg.Pool, query: SalesQuery) -> SalesReport:
    rows = await pool.fetch(_SALES, query.from_day, query.to_day)
    return SalesReport(
        days=[
            SalesDay(
                day=row["day"],
                currency=row["currency"].strip(),
                bookings=row["bookings"],
                cancellations=row["cancellations"],
                charged_minor=row["charged"],
                refunded_minor=row["refunded"],
                net_minor=row["charged"] - row["refunded"],
            )
            for row in rows
        ]
    )


class RefundDay(BaseModel):
    day: date
    currency: str
    cause: str = Field(
        description="The cancellation rule (`within_24_hours`, `refundable`, "
        "`non_refundable`, `airline_cancelled`) or the change that refunded "
        "(`flight_change`, `seats_change`, `contact_change`)."
    )
    cancellations: int = Field(description="Bookings cancelled that day under this rule.")
    refunds: int = Field(description="Succeeded refunds that day.")
    refunded_minor: int


class RefundReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.REFUND_REPORT]})

    days: list[RefundDay] = Field(description="By day, currency and cause; empty ones left out.")


_REFUNDS = """
SELECT day, currency, cause, sum(cancellations) AS cancellations, sum(refunds) AS refunds,
       sum(refunded_minor) AS refunded
  FROM refunds_daily WHERE day BETWEEN $1 AND $2
 GROUP BY day, currency, cause
HAVING sum(cancellations) <> 0 OR sum(refunds) <> 0
 ORDER BY day, currency, cause
"""


async def refund_report(pool: asyncpg.Pool, query: SalesQuery) -> RefundReport:
    rows = await pool.fetch(_REFUNDS, query.from_day, query.to_day)
    return RefundReport(
        days=[
            RefundDay(
                day=row["day"],
                currency=row["currency"].strip(),
                cause=row["cause"],
                cancellations=row["cancellations"],
                refunds=row["refunds"],
                refunded_minor=row["refunded"],
            )
            for row in rows
        ]
    )


class LoadQuery(StrictModel):
    """Legs by service date (the local departure date), both ends included."""

    from_day: Annotated[date, Field(alias="from")]
    to_day: Annotated[date, Field(alias="to")]
    origin: Iata | None = None
    destination: Iata | None = None
    by: Literal["flight", "route"] = "route"

    @model_validator(mode="after")
    def _bounded(self) -> LoadQuery:
        if self.to_day < self.from_day:
            raise ValueError("`to` must not be before `from`")
        if (self.to_day - self.from_day).days >= MAX_LOAD_DAYS:
            raise ValueError(f"at most {MAX_LOAD_DAYS} days at a time")
        return self


class Load(BaseModel):
    origin: str
    destination: str
    flight_id: int | None = Field(description="Set when grouped by flight.")
    designator: str | None = None
    service_date: date | None = None
    flights: int
    capacity: int
    seats_sold: int
    load_factor: float = Field(description="Seats sold over capacity, 0 to 1.")


class LoadReport(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.LOAD_REPORT]})

    rows: list[Load] = Field(description="Fullest first, at most 1000.")
    truncated: bool


_LOAD_WHERE = """
  FROM flights f JOIN flight_cabins c ON c.flight_id = f.id
 WHERE f.service_date BETWEEN $1 AND $2 AND f.status <> 'cancelled'
   AND ($3::text IS NULL OR f.origin = $3) AND ($4::text IS NULL OR f.destination = $4)
"""
_LOAD = {
    "route": f"""
SELECT f.origin, f.destination, NULL::bigint AS flight_id, NULL AS carrier,
       NULL::integer AS flight_number, NULL::date AS service_date,
       count(DISTINCT f.id) AS flights, sum(c.capacity) AS capacity,
       sum(c.seats_sold) AS seats_sold
{_LOAD_WHERE}
 GROUP BY f.origin, f.destination
 ORDER BY sum(c.seats_sold)::float / sum(c.capacity) DESC, f.origin, f.destination
 LIMIT $5""",
    "flight": f"""
SELECT f.origin, f.destination, f.id AS flight_id, f.carrier, f.flight_number,
       f.service_date, 1 AS flights, sum(c.capacity) AS capacity,
       sum(c.seats_sold) AS seats_sold
{_LOAD_WHERE}
 GROUP BY f.id
 ORDER BY sum(c.seats_sold)::float / sum(c.capacity) DESC, f.id
 LIMIT $5""",
}


async def load_report(pool: asyncpg.Pool, query: LoadQuery) -> LoadReport:
    rows = await pool.fetch(_LOAD[query.by], query.from_day, query.to_day, query.origin,
                            query.destination, MAX_LOAD_ROWS + 1)  # fmt: skip
    loads = [
        Load(
            origin=row["origin"],
            destination=row["destination"],
            flight_id=row["flight_id"],
            designator=(
                f"{row['carrier'].strip()}{row['flight_number']}" if row["carrier"] else None
            ),
            service_date=row["service_date"],
            flights=row["flights"],
            capacity=row["capacity"],
            seats_sold=row["seats_sold"],
            load_factor=round(row["seats_sold"] / row["capacity"], 4) if row["capacity"] else 0.0,
        )
        for row in rows[:MAX_LOAD_ROWS]
    ]
    return LoadReport(rows=loads, truncated=len(rows) > MAX_LOAD_ROWS)
