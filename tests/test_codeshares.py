"""Codeshares: partners' codes on flights, itineraries sold under one carrier's code, and
'operated by' where the operator is another."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from api.keys import search_key
from tests.booking_helpers import book, booking_body
from tests.search_world import one_way, search


async def test_a_partners_leg_is_sold_under_the_itinerarys_carrier_and_operated_by_its_own(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    onward = search_world["lhr_cdg_ok"]  # KA4, London to Paris
    await db.execute(
        "INSERT INTO codeshares (flight_id, marketing_carrier, marketing_number) "
        "VALUES ($1, 'SB', 5004)",
        onward,
    )
    results = await search(client, **one_way("JFK", "CDG", limit=100))
    offer = next(
        o for o in results["offers"]
        if [s["flight_id"] for s in o["slices"][0]["segments"]]
        == [search_world["jfk_lhr"], onward]
    )  # fmt: skip
    first, second = offer["slices"][0]["segments"]
    assert (first["designator"], first["marketing_carrier"]) == ("SB1", None)
    assert second["designator"] == "SB5004"
    assert second["carrier"]["code"] == "KA"  # who flies it
    assert second["marketing_carrier"]["code"] == "SB"

    booking = await book(client, uuid.uuid4(), booking_body(offer))
    segments = [(s["designator"], s["operated_by"]) for s in booking["segments"]]
    assert segments == [("SB1", None), ("SB5004", "Kestrel Air")]

    flight = await client.get(f"/v1/flights/{onward}")
    assert (await flight.json())["codeshares"] == ["SB5004"]


async def test_the_operators_own_itinerary_keeps_its_own_code(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    flight = search_world["jfk_lhr_ka"]  # KA2, also sold by SB
    await db.execute(
        "INSERT INTO codeshares (flight_id, marketing_carrier, marketing_number) "
        "VALUES ($1, 'SB', 5002)",
        flight,
    )
    results = await search(client, **one_way("JFK", "LHR", limit=100))
    segment = next(
        s for o in results["offers"] for s in o["slices"][0]["segments"] if s["flight_id"] == flight
    )
    assert (segment["designator"], segment["marketing_carrier"]) == ("KA2", None)


async def test_the_seed_codeshares_partners_legs_never_the_operators(
    seeded_database_url: str,
) -> None:
    conn = await asyncpg.connect(seeded_database_url)
    try:
        shared, own = await conn.fetchrow(
            """SELECT count(*), count(*) FILTER (WHERE c.marketing_carrier = f.carrier)
               FROM codeshares c JOIN flights f ON f.id = c.flight_id"""
        )
        legs = await conn.fetchval("SELECT count(*) FROM flights")
    finally:
        await conn.close()
    assert own == 0
    assert 0.05 * legs < shared < legs


async def test_codes_are_read_once_per_reference_load(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    """A page's codes come from memory on the next search, and a new code shows once the
    reference data is loaded again, as a new fare brand or tax rule does."""
    service = client.app[search_key]
    flight = search_world["lhr_cdg_ok"]

    def designators(results: dict[str, Any]) -> set[str]:
        return {
            s["designator"]
            for o in results["offers"]
            for s in o["slices"][0]["segments"]
            if s["flight_id"] == flight
        }

    first = await search(client, **one_way("JFK", "CDG", limit=100))
    lookups = service.codeshares.lookups
    await db.execute(
        "INSERT INTO codeshares (flight_id, marketing_carrier, marketing_number) "
        "VALUES ($1, 'SB', 5004)",
        flight,
    )
    # Another order of the same offers: not the response cache, the same legs.
    again = await search(client, **one_way("JFK", "CDG", limit=100, sort="duration"))
    assert service.codeshares.lookups == lookups
    assert designators(again) == designators(first) == {"KA4"}

    service.reference.invalidate()
    fresh = await search(client, **one_way("JFK", "CDG", limit=100, sort="departure"))
    assert service.codeshares.lookups == lookups + 1
    assert "SB5004" in designators(fresh)
