"""A small deterministic schedule for search tests, and helpers to query it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.factories import add_airline, add_brands, add_cabin, add_flight, add_world

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
PARIS = ZoneInfo("Europe/Paris")

DAY = datetime.now(UTC).date() + timedelta(days=30)
NEXT = DAY + timedelta(days=1)
RETURN = DAY + timedelta(days=7)


def at(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=tz)


async def leg(
    db: asyncpg.Connection,
    origin: str,
    destination: str,
    departure: datetime,
    minutes: int,
    *,
    number: int,
    carrier: str = "SB",
    fare: int = 20000,
    currency: str = "USD",
    capacity: int = 150,
    sold: int = 0,
) -> int:
    flight = await add_flight(
        db, origin=origin, destination=destination, departure=departure,
        block=timedelta(minutes=minutes), carrier=carrier, number=number,
    )  # fmt: skip
    await add_cabin(db, flight, fare_minor=fare, currency=currency, capacity=capacity, sold=sold)
    return flight


@pytest.fixture
async def search_world(db: asyncpg.Connection) -> dict[str, int]:
    """Two carriers (SB in USD, KA in GBP) and a schedule around JFK, LHR and CDG."""
    await add_world(db)
    await add_airline(db, "KA", icao="KAL", name="Kestrel Air", country="GB",
                      ticket_prefix="902", currency="GBP")  # fmt: skip
    await add_brands(db, "SB")
    await add_brands(db, "KA")
    f: dict[str, int] = {}
    # JFK -> LHR direct, 18:00 New York, 7 h.
    f["jfk_lhr"] = await leg(db, "JFK", "LHR", at(DAY, "18:00", NEW_YORK), 420, number=1)
    # A later, cheaper direct on KA priced in GBP.
    f["jfk_lhr_ka"] = await leg(db, "JFK", "LHR", at(DAY, "21:00", NEW_YORK), 430, number=2,
                                carrier="KA", fare=12000, currency="GBP")  # fmt: skip
    # LHR -> CDG: 60 min after the SB arrival (too short) and 150 min after (fits).
    arrival = at(DAY, "18:00", NEW_YORK) + timedelta(minutes=420)
    f["lhr_cdg_tight"] = await leg(db, "LHR", "CDG", arrival + timedelta(minutes=60), 70,
                                   number=3, carrier="KA", fare=8000, currency="GBP")  # fmt: skip
    f["lhr_cdg_ok"] = await leg(db, "LHR", "CDG", arrival + timedelta(minutes=150), 70,
                                number=4, carrier="KA", fare=8000, currency="GBP")  # fmt: skip
    # Domestic BOS -> JFK arriving 60 min before a JFK -> LAX departure (45 min suffices).
    f["bos_jfk"] = await leg(db, "BOS", "JFK", at(DAY, "07:00", NEW_YORK), 75, number=5,
                             fare=9000)  # fmt: skip
    f["jfk_lax"] = await leg(db, "JFK", "LAX", at(DAY, "09:15", NEW_YORK), 360, number=6,
                             fare=25000)  # fmt: skip
    # The return: LHR -> JFK a week later.
    f["lhr_jfk"] = await leg(db, "LHR", "JFK", at(RETURN, "11:00", LONDON), 480, number=7)
    # Paris -> Los Angeles for a third slice.
    f["cdg_lax"] = await leg(db, "CDG", "LAX", at(RETURN + timedelta(days=2), "10:00", PARIS),
                             690, number=8, carrier="SB", fare=40000)  # fmt: skip
    return f


async def search(client: TestClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/search", json=body)
    assert response.status == 200, await response.text()
    return dict(await response.json())


def one_way(origin: str, destination: str, on: date = DAY, **extra: Any) -> dict[str, Any]:
    return {"slices": [{"origin": origin, "destination": destination, "date": on.isoformat()}],
            **extra}  # fmt: skip


def flights_of(offer: dict[str, Any]) -> list[list[int]]:
    return [[seg["flight_id"] for seg in s["segments"]] for s in offer["slices"]]


def itineraries(results: dict[str, Any]) -> list[list[list[int]]]:
    """Distinct itineraries in result order (each appears once per fare brand)."""
    seen: list[list[list[int]]] = []
    for offer in results["offers"]:
        if flights_of(offer) not in seen:
            seen.append(flights_of(offer))
    return seen
