"""Booking an offer: the whole transaction, idempotency, payment failures, bad input."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from api.keys import search_key
from domain.ticketing import valid_ticket_number
from foundation.settings import Settings
from server.app import create_app
from tests.booking_helpers import (
    DECLINED_CARD,
    GOOD_CARD,
    NO_FUNDS_CARD,
    TIMEOUT_CARD,
    adult,
    bearer,
    book,
    booking_body,
    offer_for,
    post_booking,
)
from tests.problems import assert_problem


async def _counts(db: asyncpg.Connection, flight_id: int) -> dict[str, int]:
    row = await db.fetchrow(
        """SELECT (SELECT seats_sold FROM flight_cabins WHERE flight_id = $1
                   AND cabin = 'economy') AS sold,
                  (SELECT count(*) FROM bookings) AS bookings,
                  (SELECT count(*) FROM payments) AS payments,
                  (SELECT count(*) FROM tickets) AS tickets,
                  (SELECT count(*) FROM idempotency_keys) AS keys,
                  (SELECT count(*) FROM simulated_provider_ledger
                    WHERE status = 'succeeded') AS captured""",
        flight_id,
    )
    return dict(row)


async def test_booking_takes_inventory_charges_and_issues_tickets(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    offer = await offer_for(client, passengers={"adults": 2, "children": 1})
    body = booking_body(offer, passengers=[
        adult(), adult("Charles", "Babbage", "1971-12-26"),
        {"type": "child", "given_name": "Ada", "family_name": "King",
         "date_of_birth": "2018-05-01"},
    ])  # fmt: skip
    booking = await book(client, user, body)

    assert booking["status"] == "confirmed"
    assert len(booking["record_locator"]) == 6
    assert booking["total"] == offer["total"]
    assert booking["fare"]["brand"] == "Standard"
    assert booking["fare"]["changeable"] is True
    assert [s["flight_id"] for s in booking["segments"]] == [search_world["jfk_lhr"]]
    assert [p["type"] for p in booking["passengers"]] == ["adult", "adult", "child"]
    numbers = [t["ticket_number"] for p in booking["passengers"] for t in p["tickets"]]
    assert len(numbers) == 3
    assert all(valid_ticket_number(n) and n.startswith("901") for n in numbers)
    [payment] = booking["payments"]
    assert payment["kind"] == "charge"
    assert payment["status"] == "succeeded"
    assert payment["amount"] == offer["total"]
    assert payment["card_last4"] == "4242"

    counts = await _counts(db, search_world["jfk_lhr"])
    assert counts == {"sold": 3, "bookings": 1, "payments": 1, "tickets": 3, "keys": 1,
                      "captured": 1}  # fmt: skip
    captured = await db.fetchval(
        "SELECT amount_minor FROM simulated_provider_ledger WHERE status = 'succeeded'"
    )
    assert captured == offer["total"]["amount_minor"]


async def test_owner_reads_booking_and_others_get_404(
    client: TestClient, search_world: dict[str, int]
) -> None:
    owner, stranger, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    booking = await book(client, owner, booking_body(await offer_for(client)))
    url = f"/v1/bookings/{booking['id']}"

    mine = await client.get(url, headers=bearer(owner))
    assert mine.status == 200
    assert (await mine.json())["record_locator"] == booking["record_locator"]

    theirs = await client.get(url, headers=bearer(stranger))
    problem = await assert_problem(theirs, 404)
    missing = await client.get(f"/v1/bookings/{uuid.uuid4()}", headers=bearer(stranger))
    assert (await assert_problem(missing, 404))["type"] == problem["type"]

    staff = await client.get(url, headers=bearer(agent, app_metadata={"roles": ["agent"]}))
    assert staff.status == 200


async def test_same_key_and_body_replays_the_first_booking(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    body = booking_body(await offer_for(client))
    first = await post_booking(client, user, body, key="retry-me")
    again = await post_booking(client, user, body, key="retry-me")

    assert first.status == again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json()
    counts = await _counts(db, search_world["jfk_lhr"])
    assert (counts["bookings"], counts["payments"], counts["captured"], counts["sold"]) == (
        1, 1, 1, 1,
    )  # fmt: skip


async def test_racing_retries_create_one_booking_and_one_charge(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    body = booking_body(await offer_for(client))
    responses = await asyncio.gather(
        *(post_booking(client, user, body, key="flaky-network") for _ in range(12))
    )
    bodies = [await r.json() for r in responses]
    assert {r.status for r in responses} == {201}
    assert len({b["id"] for b in bodies}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 11
    counts = await _counts(db, search_world["jfk_lhr"])
    assert (counts["bookings"], counts["payments"], counts["captured"], counts["sold"]) == (
        1, 1, 1, 1,
    )  # fmt: skip


async def test_same_key_with_another_body_is_rejected(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    offer = await offer_for(client)
    await book_with_key(client, user, booking_body(offer), "k1")
    other = booking_body(offer, contact={"email": "someone@example.com"})
    problem = await assert_problem(await post_booking(client, user, other, key="k1"), 422)
    assert problem["type"].endswith("/idempotency-key-reused")
    assert (await _counts(db, search_world["jfk_lhr"]))["bookings"] == 1


async def book_with_key(
    client: TestClient, user: uuid.UUID, body: dict[str, Any], key: str
) -> None:
    response = await post_booking(client, user, body, key=key)
    assert response.status == 201, await response.text()


async def test_a_key_is_required(client: TestClient, search_world: dict[str, int]) -> None:
    body = booking_body(await offer_for(client))
    response = await client.post("/v1/bookings", json=body, headers=bearer(uuid.uuid4()))
    await assert_problem(response, 422, field="header.Idempotency-Key")


async def test_declined_card_leaves_nothing_behind(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    offer = await offer_for(client)
    before = await _counts(db, search_world["jfk_lhr"])
    for card, code in ((DECLINED_CARD, "card_declined"), (NO_FUNDS_CARD, "insufficient_funds")):
        response = await post_booking(client, user, booking_body(offer, payment=card))
        problem = await assert_problem(response, 402)
        assert problem["type"].endswith("/payment-declined")
        assert problem["decline_code"] == code
    assert await _counts(db, search_world["jfk_lhr"]) == before
    # The key of a failed attempt is free: the same key with a good card books.
    body = booking_body(offer, payment=GOOD_CARD)
    assert (await post_booking(client, user, body, key="after-decline")).status == 201


async def test_provider_timeout_voids_the_charge_and_books_nothing(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    before = await _counts(db, search_world["jfk_lhr"])
    body = booking_body(await offer_for(client), payment=TIMEOUT_CARD)
    response = await post_booking(client, user, body)
    await assert_problem(response, 503)
    assert response.headers["Retry-After"] == "2"
    assert await _counts(db, search_world["jfk_lhr"]) == before
    # The provider did capture before its answer was lost; Skybound voided it.
    assert (
        await db.fetchval("SELECT status FROM simulated_provider_ledger WHERE kind = 'charge'")
        == "voided"
    )


async def test_failure_after_the_charge_rolls_back_and_voids(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    """A crash between the charge and the commit (simulated by a trigger that fails the
    ticket insert) leaves no booking, no inventory change and no live charge."""
    await db.execute(
        """CREATE FUNCTION fail_tickets() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'ticketing is down'; END $$;
           CREATE TRIGGER tickets_fail BEFORE INSERT ON tickets
               FOR EACH STATEMENT EXECUTE FUNCTION fail_tickets();"""
    )
    user = uuid.uuid4()
    before = await _counts(db, search_world["jfk_lhr"])
    response = await post_booking(client, user, booking_body(await offer_for(client)))
    assert response.status == 500
    assert await _counts(db, search_world["jfk_lhr"]) == before
    assert await db.fetchval("SELECT status FROM simulated_provider_ledger") == "voided"


async def test_tampered_and_expired_offers_are_refused(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    offer = await offer_for(client)
    version, payload, mac = offer["id"].split(".")
    tampered = {**offer, "id": f"{version}.{payload[:-2]}xx.{mac}"}
    await assert_problem(
        await post_booking(client, user, booking_body(tampered)), 422, field="body.offer_id"
    )
    signer = client.app[search_key].offers
    expired_id = signer.sign({
        "l": [[search_world["jfk_lhr"]]], "c": "economy", "b": "Standard", "p": [1, 0, 0],
        "t": offer["total"]["amount_minor"], "$": "USD",
        "x": int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()),
    })  # fmt: skip
    problem = await assert_problem(
        await post_booking(client, user, booking_body({"id": expired_id})), 410
    )
    assert problem["type"].endswith("/offer-expired")
    assert (await _counts(db, search_world["jfk_lhr"]))["bookings"] == 0


async def test_price_change_since_the_search_is_refused(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    offer = await offer_for(client)
    await db.execute(
        "UPDATE flight_cabins SET base_fare_minor = base_fare_minor + 5000 WHERE flight_id = $1",
        search_world["jfk_lhr"],
    )
    problem = await assert_problem(
        await post_booking(client, uuid.uuid4(), booking_body(offer)), 409
    )
    assert problem["type"].endswith("/price-changed")
    assert problem["current"]["amount_minor"] > problem["offered"]["amount_minor"]
    assert (await _counts(db, search_world["jfk_lhr"]))["sold"] == 0


async def test_passengers_must_match_the_offer_and_their_ages(
    client: TestClient, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    offer = await offer_for(client)
    two = booking_body(offer, passengers=[adult(), adult("Charles", "Babbage")])
    await assert_problem(await post_booking(client, user, two), 422, field="body.passengers")
    young = booking_body(offer, passengers=[adult(born="2020-01-01")])
    await assert_problem(
        await post_booking(client, user, young), 422, field="body.passengers[0].date_of_birth"
    )
    digits = booking_body(offer, passengers=[adult(given="Ada2")])
    await assert_problem(
        await post_booking(client, user, digits), 422, field="body.passengers.0.given_name"
    )


async def test_bad_card_details_name_the_field(
    client: TestClient, search_world: dict[str, int]
) -> None:
    offer = await offer_for(client)
    body = booking_body(offer, payment={**GOOD_CARD, "number": "4242424242424241"})
    await assert_problem(
        await post_booking(client, uuid.uuid4(), body), 422, field="body.payment.number"
    )
    saved = booking_body(offer, payment={"type": "saved_card",
                                         "payment_method_id": str(uuid.uuid4())})  # fmt: skip
    await assert_problem(
        await post_booking(client, uuid.uuid4(), saved), 422,
        field="body.payment.payment_method_id",
    )  # fmt: skip


async def test_a_saved_card_pays(client: TestClient, search_world: dict[str, int]) -> None:
    user = uuid.uuid4()
    card = {k: v for k, v in GOOD_CARD.items() if k != "type"}
    saved = await client.post("/v1/me/payment-methods", json=card, headers=bearer(user))
    assert saved.status == 201, await saved.text()
    method = (await saved.json())["id"]
    booking = await book(client, user, booking_body(
        await offer_for(client), payment={"type": "saved_card", "payment_method_id": method}
    ))  # fmt: skip
    assert booking["payments"][0]["card_last4"] == "4242"
    # Another user cannot pay with it.
    other = booking_body(await offer_for(client),
                         payment={"type": "saved_card", "payment_method_id": method})  # fmt: skip
    await assert_problem(
        await post_booking(client, uuid.uuid4(), other), 422,
        field="body.payment.payment_method_id",
    )  # fmt: skip


async def test_two_hundred_concurrent_bookings_never_oversell(
    crowd_client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    client = crowd_client
    flight = search_world["jfk_lhr"]
    await db.execute(
        "UPDATE flight_cabins SET seats_sold = capacity - 10 WHERE flight_id = $1", flight
    )
    offer = await offer_for(client)
    users = [uuid.uuid4() for _ in range(200)]
    responses = await asyncio.gather(
        *(post_booking(client, user, booking_body(offer)) for user in users)
    )
    statuses = [r.status for r in responses]
    assert statuses.count(201) == 10
    assert statuses.count(409) == 190
    for response in responses:
        if response.status == 409:
            assert (await response.json(content_type=None))["type"].endswith("/sold-out")
    row = await db.fetchrow(
        """SELECT capacity, seats_sold,
                  (SELECT count(*) FROM passengers) AS passengers,
                  (SELECT count(*) FROM simulated_provider_ledger
                    WHERE status = 'succeeded') AS captured
           FROM flight_cabins WHERE flight_id = $1""",
        flight,
    )
    assert row["seats_sold"] == row["capacity"]
    assert row["passengers"] == 10
    assert row["captured"] == 10


async def test_history_lists_upcoming_bookings_a_page_at_a_time(
    client: TestClient, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    made = [await book(client, user, booking_body(await offer_for(client))) for _ in range(3)]
    first = await client.get("/v1/me/bookings?limit=2", headers=bearer(user))
    assert first.status == 200
    page = await first.json()
    assert len(page["bookings"]) == 2
    assert page["next_cursor"]
    second = await client.get(
        f"/v1/me/bookings?limit=2&cursor={page['next_cursor']}", headers=bearer(user)
    )
    rest = await second.json()
    assert rest["next_cursor"] is None
    listed = {b["id"] for b in page["bookings"] + rest["bookings"]}
    assert listed == {b["id"] for b in made}
    empty = await client.get("/v1/me/bookings?view=past", headers=bearer(user))
    assert (await empty.json())["bookings"] == []
    stranger = await client.get("/v1/me/bookings", headers=bearer(uuid.uuid4()))
    assert (await stranger.json())["bookings"] == []
    garbage = await client.get("/v1/me/bookings?cursor=nonsense", headers=bearer(user))
    await assert_problem(garbage, 422, field="query.cursor")


async def test_booking_emits_events_for_the_owner(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    events = await db.fetch("SELECT event_type, topics FROM change_events ORDER BY id")
    kinds = [(e["event_type"], e["topics"]) for e in events]
    assert ("booking.created", [f"user:{user}"]) in kinds
    assert any(kind == "inventory.changed" for kind, _ in kinds)
    assert booking["id"]


async def test_erasure_anonymises_bookings_and_drops_stored_replays(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    await db.execute(
        """INSERT INTO travelers (user_id, id, given_name, family_name, passport_number)
           VALUES ($1, gen_random_uuid(), 'Charles', 'Babbage', 'X1234567')""",
        user,
    )
    await db.execute(
        """INSERT INTO trip_notes (user_id, id, booking_id, title, body)
           VALUES ($1, gen_random_uuid(), $2, 'Hotel', 'Near Paddington')""",
        user, uuid.UUID(booking["id"]),
    )  # fmt: skip
    export = await client.get("/v1/me/export", headers=bearer(user))
    document = await export.json()
    exported = document["bookings"]
    assert [b["record_locator"] for b in exported] == [booking["record_locator"]]
    assert exported[0]["passengers"][0]["family_name"] == "Lovelace"
    assert [t["passport_number"] for t in document["travelers"]] == ["X1234567"]
    assert [n["body"] for n in document["trip_notes"]] == ["Near Paddington"]

    assert (await client.delete("/v1/me", headers=bearer(user))).status == 204
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    kept = await db.fetchrow(
        "SELECT user_id, total_minor FROM bookings WHERE id = $1", uuid.UUID(booking["id"])
    )
    assert (kept["user_id"], kept["total_minor"]) == (None, booking["total"]["amount_minor"])
    names = await db.fetch("SELECT given_name, family_name FROM passengers")
    assert [tuple(n) for n in names] == [("ERASED", "ERASED")]
    assert await db.fetchval("SELECT count(*) FROM tickets") == 1
    assert (
        await db.fetchval(
            "SELECT (SELECT count(*) FROM travelers) + (SELECT count(*) FROM trip_notes)"
        )
        == 0
    )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM change_events WHERE topics = ARRAY[$1]", f"user:{user}"
        )
        == 0
    )
    # Shared events (the flight's inventory) stay for everyone else's history.
    assert (
        await db.fetchval(
            "SELECT count(*) FROM change_events WHERE event_type = 'inventory.changed'"
        )
        == 1
    )


async def test_a_booking_stuck_behind_a_lock_gets_503_and_leaves_nothing(
    aiohttp_client: Any,
    client: TestClient,
    db: asyncpg.Connection,
    settings: Settings,
    search_world: dict[str, int],
) -> None:
    impatient = await aiohttp_client(
        create_app(settings.model_copy(update={"statement_timeout_ms": 300}))
    )
    offer = await offer_for(client)
    flight = search_world["jfk_lhr"]
    async with db.transaction():
        # An operator's long transaction holds the cabin row.
        await db.execute("SELECT 1 FROM flight_cabins WHERE flight_id = $1 FOR UPDATE", flight)
        response = await post_booking(impatient, uuid.uuid4(), booking_body(offer))
    problem = await assert_problem(response, 503)
    assert problem["type"].endswith("/database-busy")
    assert response.headers["Retry-After"] == "2"
    assert (await _counts(db, flight))["bookings"] == 0
