"""What an e-ticket receipt shows beyond the fare: form of payment, terminals, baggage
allowance, 'operated by' on a codeshare, and the passenger's EMDs."""

from __future__ import annotations

import uuid

import asyncpg
from aiohttp.test_utils import TestClient

from tests.booking_helpers import bearer, book, booking_body
from tests.factories import add_aircraft_cabins
from tests.search_world import one_way, search
from tests.test_documents import read_pdf


async def test_the_receipt_shows_payment_terminals_bags_operator_and_emds(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    await add_aircraft_cabins(db)
    await db.execute("UPDATE flights SET aircraft_type = '32N'")
    first, onward = search_world["jfk_lhr"], search_world["lhr_cdg_ok"]
    await db.execute("UPDATE flights SET departure_terminal = '8', arrival_terminal = '5'"
                     " WHERE id = $1", first)  # fmt: skip
    await db.execute(
        "INSERT INTO codeshares (flight_id, marketing_carrier, marketing_number) "
        "VALUES ($1, 'SB', 5004)",
        onward,
    )
    results = await search(client, **one_way("JFK", "CDG", limit=100))
    offer = next(
        o for o in results["offers"]
        if [s["flight_id"] for s in o["slices"][0]["segments"]] == [first, onward]
        and o["fare"]["brand"] == "Standard"
    )  # fmt: skip
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(
        offer, seats=[{"flight_id": first, "passenger": 0, "seat": "1A"}]
    ))  # fmt: skip
    ticket = booking["passengers"][0]["tickets"][0]
    emd = booking["passengers"][0]["emds"][0]["emd_number"]

    response = await client.get(ticket["document_url"], headers=bearer(user))
    assert response.status == 200, await response.text()
    text, _, _ = read_pdf(await response.read())
    flat = " ".join(text.split())
    for expected in ("Form of payment", "CC VISA 4242", "New York T8", "London T5",
                     "1PC 23KG", "SB5004", "operated by Kestrel Air",
                     f"EMD {emd} Seat 1A SB1 USD 30.00 (open)"):  # fmt: skip
        assert expected in flat, expected
