"""Changing bookings: flights, seats and contact details, quoted then confirmed once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.booking_helpers import GOOD_CARD, bearer, book, booking_body, offer_for
from tests.factories import add_aircraft_cabins
from tests.problems import assert_problem
from tests.search_world import DAY, NEW_YORK, at, leg, search


async def _quote(
    client: TestClient, user: uuid.UUID, booking_id: str, change: dict[str, Any]
) -> Any:
    return await client.post(
        f"/v1/bookings/{booking_id}/change-quotes", json={"change": change}, headers=bearer(user)
    )


async def _quoted(
    client: TestClient, user: uuid.UUID, booking_id: str, change: dict[str, Any]
) -> dict[str, Any]:
    response = await _quote(client, user, booking_id, change)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _confirm(
    client: TestClient, user: uuid.UUID, booking_id: str, quote_id: str, **extra: Any
) -> Any:
    return await client.post(
        f"/v1/bookings/{booking_id}/changes", json={"quote_id": quote_id, **extra},
        headers=bearer(user),
    )  # fmt: skip


async def _later_flight(db: asyncpg.Connection) -> int:
    """Another SB JFK-LHR the same evening, at the same fare."""
    return await leg(db, "JFK", "LHR", at(DAY, "22:30", NEW_YORK), 420, number=9)


async def _offer_on(client: TestClient, flight_id: int, brand: str) -> dict[str, Any]:
    results = await search(
        client, slices=[{"origin": "JFK", "destination": "LHR", "date": DAY.isoformat()}]
    )
    for offer in results["offers"]:
        flights = [seg["flight_id"] for s in offer["slices"] for seg in s["segments"]]
        if flights == [flight_id] and offer["fare"]["brand"] == brand:
            return dict(offer)
    raise AssertionError("no such offer")


async def test_flight_change_charges_the_fee_and_exchanges_the_tickets(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    later = await _later_flight(db)
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client, brand="Standard")))
    old_ticket = booking["passengers"][0]["tickets"][0]["ticket_number"]
    new_offer = await _offer_on(client, later, "Standard")

    response = await _quote(client, user, booking["id"], {"type": "flight",
                                                          "offer_id": new_offer["id"]})  # fmt: skip
    assert response.status == 201, await response.text()
    quote = await response.json()
    assert quote["details"]["fare_difference_minor"] == 0
    assert quote["fee"]["amount_minor"] == 7500  # Standard's change fee, one passenger
    assert quote["amount"]["amount_minor"] == 7500

    confirmed = await _confirm(client, user, booking["id"], quote["id"], payment=GOOD_CARD)
    assert confirmed.status == 200, await confirmed.text()
    changed = await confirmed.json()
    assert [s["flight_id"] for s in changed["segments"]] == [later]
    tickets = changed["passengers"][0]["tickets"]
    assert [(t["ticket_number"] == old_ticket, t["status"]) for t in tickets] == [
        (True, "exchanged"), (False, "open"),
    ]  # fmt: skip
    assert [(p["kind"], p["amount"]["amount_minor"]) for p in changed["payments"]][-1] == (
        "charge", 7500,
    )  # fmt: skip
    assert changed["total"]["amount_minor"] == booking["total"]["amount_minor"] + 7500
    sold = dict(await db.fetch(
        "SELECT flight_id, seats_sold FROM flight_cabins WHERE flight_id = ANY($1::bigint[])",
        [search_world["jfk_lhr"], later],
    ))  # fmt: skip
    assert sold == {search_world["jfk_lhr"]: 0, later: 1}

    again = await _confirm(client, user, booking["id"], quote["id"], payment=GOOD_CARD)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == changed
    assert (
        await db.fetchval(
            "SELECT count(*) FROM simulated_provider_ledger WHERE status = 'succeeded'"
        )
        == 2
    )


async def test_a_change_that_costs_money_needs_a_payment_and_changes_nothing_without(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    later = await _later_flight(db)
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client, brand="Standard")))
    new_offer = await _offer_on(client, later, "Standard")
    quote = await _quoted(client, user, booking["id"], {"type": "flight",
                                                        "offer_id": new_offer["id"]})  # fmt: skip
    unpaid = await _confirm(client, user, booking["id"], quote["id"])
    await assert_problem(unpaid, 422, field="body.payment")
    declined = await _confirm(client, user, booking["id"], quote["id"],
                              payment={**GOOD_CARD, "number": "4000000000000002"})  # fmt: skip
    await assert_problem(declined, 402)
    still = await (await client.get(f"/v1/bookings/{booking['id']}", headers=bearer(user))).json()
    assert [s["flight_id"] for s in still["segments"]] == [search_world["jfk_lhr"]]
    assert still == booking | {"updated_at": still["updated_at"]}


async def test_light_fares_cannot_change_flights_and_routes_must_match(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    later = await _later_flight(db)
    user = uuid.uuid4()
    light = await book(client, user, booking_body(await offer_for(client, brand="Light")))
    refused = await _quote(client, user, light["id"], {
        "type": "flight", "offer_id": (await _offer_on(client, later, "Light"))["id"]})  # fmt: skip
    assert (await assert_problem(refused, 409))["type"].endswith("/booking-not-changeable")

    standard = await book(client, user, booking_body(await offer_for(client)))
    elsewhere = await offer_for(client, "JFK", "LAX")
    wrong = await _quote(client, user, standard["id"], {"type": "flight",
                                                        "offer_id": elsewhere["id"]})  # fmt: skip
    await assert_problem(wrong, 422, field="body.change.offer_id")


async def test_contact_change_is_free_and_emits_an_event(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    quote = await (await _quote(client, user, booking["id"], {
        "type": "contact", "contact": {"email": "new@example.com"},
        "passengers": [{"passenger": 0, "phone": "+447700900123"}]})).json()  # fmt: skip
    assert quote["amount"]["amount_minor"] == 0
    changed = await (await _confirm(client, user, booking["id"], quote["id"])).json()
    assert changed["contact"] == {"email": "new@example.com", "phone": None}
    assert changed["passengers"][0]["phone"] == "+447700900123"
    assert [p["kind"] for p in changed["payments"]] == ["charge"]
    assert changed["version"] > booking["version"]
    # A passenger-only change moves the booking's version too (synced trips see it).
    email_only = {"type": "contact", "passengers": [{"passenger": 0, "email": "ada@lovelace.org"}]}
    quote = await _quoted(client, user, booking["id"], email_only)
    again = await (await _confirm(client, user, booking["id"], quote["id"])).json()
    assert again["passengers"][0]["email"] == "ada@lovelace.org"
    assert again["version"] > changed["version"]
    assert await db.fetchval(
        "SELECT topics FROM change_events WHERE event_type = 'booking.changed'"
    ) == [f"user:{user}"]


async def test_racing_confirmations_of_a_change_charge_once(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    later = await _later_flight(db)
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    new_offer = await _offer_on(client, later, "Standard")
    quote = await _quoted(client, user, booking["id"], {"type": "flight",
                                                        "offer_id": new_offer["id"]})  # fmt: skip
    responses = await asyncio.gather(*(
        _confirm(client, user, booking["id"], quote["id"], payment=GOOD_CARD) for _ in range(6)
    ))  # fmt: skip
    assert {r.status for r in responses} == {200}
    assert (
        await db.fetchval(
            "SELECT count(*) FROM payments WHERE kind = 'charge' AND reason = 'flight change'"
        )
        == 1
    )
    assert await db.fetchval("SELECT count(*) FROM tickets WHERE status = 'open'") == 1


async def test_seat_change_charges_the_difference_and_moves_the_seat(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    await add_aircraft_cabins(db)
    await db.execute("UPDATE flights SET aircraft_type = '32N'")
    user = uuid.uuid4()
    flight = search_world["jfk_lhr"]
    booking = await book(client, user, booking_body(
        await offer_for(client), seats=[{"flight_id": flight, "passenger": 0, "seat": "20B"}]
    ))  # fmt: skip
    assert booking["segments"][0]["seats"] == [{"passenger_no": 1, "seat": "20B"}]
    move = {"flight_id": flight, "passenger": 0, "seat": "12A"}
    quote = await _quoted(client, user, booking["id"], {"type": "seats", "seats": [move]})
    assert quote["charge"]["amount_minor"] == 3000  # extra legroom: 15% of the 200.00 base fare
    changed = await (await _confirm(client, user, booking["id"], quote["id"],
                                    payment=GOOD_CARD)).json()  # fmt: skip
    assert changed["segments"][0]["seats"] == [{"passenger_no": 1, "seat": "12A"}]
    assert changed["fare"]["seats"]["amount_minor"] == 3000
    seats = await db.fetch("SELECT seat FROM seat_assignments WHERE flight_id = $1", flight)
    assert [s["seat"] for s in seats] == ["12A"]
