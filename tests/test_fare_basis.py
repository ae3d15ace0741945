"""Booking classes, fare basis codes and the fare calculation line of a ticket."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.booking_helpers import bearer, book, booking_body
from tests.search_world import DAY, RETURN, search
from tests.test_documents import read_pdf

_ROUND_TRIP = [
    {"origin": "JFK", "destination": "LHR", "date": DAY.isoformat()},
    {"origin": "LHR", "destination": "JFK", "date": RETURN.isoformat()},
]


async def _standard_round_trip(client: TestClient, **body: Any) -> dict[str, Any]:
    results = await search(client, slices=_ROUND_TRIP, limit=100, **body)
    for offer in results["offers"]:
        flown = [seg["carrier"]["code"] for s in offer["slices"] for seg in s["segments"]]
        if offer["fare"]["brand"] == "Standard" and flown == ["SB", "SB"]:
            return dict(offer)
    raise AssertionError("no Standard round trip on SB")


async def test_segments_carry_booking_class_and_fare_basis_and_tickets_the_fare_calculation(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await _standard_round_trip(client)))
    assert [(s["booking_class"], s["fare_basis"]) for s in booking["segments"]] == [
        ("M", "MSTD"), ("M", "MSTD"),
    ]  # fmt: skip
    calculation = "JFK SB LHR260.00 SB JFK260.00NUC520.00END ROE1.000000"
    fare = await db.fetchval("SELECT fare FROM bookings WHERE id = $1", uuid.UUID(booking["id"]))
    assert [line["fare_calculation"] for line in fare["lines"]] == [calculation]

    ticket = booking["passengers"][0]["tickets"][0]
    response = await client.get(ticket["document_url"], headers=bearer(user))
    assert response.status == 200, await response.text()
    text, _, _ = read_pdf(await response.read())
    assert "MSTD" in text
    assert calculation in text.replace("\r", "").replace("\n", " ").replace("  ", " ")


async def test_the_fare_calculation_is_in_nuc_with_the_selling_currencys_rate(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    offer = await _standard_round_trip(client, currency="GBP")
    booking = await book(client, uuid.uuid4(), booking_body(offer))
    fare = await db.fetchval("SELECT fare FROM bookings WHERE id = $1", uuid.UUID(booking["id"]))
    assert fare["lines"][0]["fare_calculation"] == (
        "JFK SB LHR260.00 SB JFK260.00NUC520.00END ROE0.790000"
    )


async def test_any_writer_of_a_segment_gets_its_class_stamped(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    booking = await book(client, uuid.uuid4(), booking_body(await _standard_round_trip(client)))
    booking_id = uuid.UUID(booking["id"])
    await db.execute(
        "UPDATE booking_segments SET fare_brand = 'SB_ECO_FLEX' WHERE booking_id = $1",
        booking_id,
    )
    stamped = await db.fetch(
        "SELECT booking_class, fare_basis FROM booking_segments WHERE booking_id = $1",
        booking_id,
    )
    assert {(r["booking_class"], r["fare_basis"]) for r in stamped} == {("Y", "YFLX")}
