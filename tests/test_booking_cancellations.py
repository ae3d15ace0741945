"""Cancelling bookings: the refund policy, confirmation exactly once, bad requests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.booking_helpers import adult, bearer, book, booking_body, offer_for
from tests.problems import assert_problem


async def _quote(client: TestClient, user: uuid.UUID, booking_id: str) -> dict[str, Any]:
    response = await client.post(
        f"/v1/bookings/{booking_id}/cancellation-quotes", headers=bearer(user)
    )
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _cancel(client: TestClient, user: uuid.UUID, booking_id: str, quote_id: str) -> Any:
    return await client.post(
        f"/v1/bookings/{booking_id}/cancellations", json={"quote_id": quote_id},
        headers=bearer(user),
    )  # fmt: skip


async def _age(db: asyncpg.Connection, booking_id: str, days: int = 2) -> None:
    """Pretend the booking was bought ``days`` ago, past the free-cancellation day."""
    await db.execute(
        "UPDATE bookings SET created_at = created_at - make_interval(days => $2) WHERE id = $1",
        uuid.UUID(booking_id), days,
    )  # fmt: skip
    await db.execute(
        "UPDATE tickets SET issued_at = issued_at - make_interval(days => $2)"
        " WHERE booking_id = $1",
        uuid.UUID(booking_id), days,
    )  # fmt: skip


async def test_cancelling_within_a_day_refunds_everything_and_frees_the_seats(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client, brand="Light")))
    paid = booking["total"]["amount_minor"]
    quote = await _quote(client, user, booking["id"])
    assert quote["refund"]["amount_minor"] == paid
    assert quote["amount"]["amount_minor"] == -paid
    assert quote["details"]["rule"] == "within_24_hours"

    response = await _cancel(client, user, booking["id"], quote["id"])
    assert response.status == 200, await response.text()
    cancelled = await response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["cancellation_reason"] == "within_24_hours"
    assert cancelled["total"]["amount_minor"] == 0
    refunds = [p for p in cancelled["payments"] if p["kind"] == "refund"]
    assert [(r["amount"]["amount_minor"], r["status"]) for r in refunds] == [(paid, "succeeded")]
    assert cancelled["passengers"][0]["tickets"][0]["status"] == "void"  # the day of issue
    sold = await db.fetchval(
        "SELECT seats_sold FROM flight_cabins WHERE flight_id = $1", search_world["jfk_lhr"]
    )
    assert sold == 0
    ledger = await db.fetch(
        "SELECT kind, amount_minor FROM simulated_provider_ledger ORDER BY kind"
    )
    assert [(r["kind"], r["amount_minor"]) for r in ledger] == [("charge", paid), ("refund", paid)]
    events = await db.fetch(
        "SELECT topics FROM change_events WHERE event_type = 'booking.cancelled'"
    )
    assert [e["topics"] for e in events] == [[f"user:{user}"]]


async def test_a_quote_is_confirmed_once_even_when_confirmations_race(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    quote = await _quote(client, user, booking["id"])
    responses = await asyncio.gather(
        *(_cancel(client, user, booking["id"], quote["id"]) for _ in range(8))
    )
    assert {r.status for r in responses} == {200}
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 7
    bodies = [await r.json() for r in responses]
    assert all(b == bodies[0] for b in bodies)
    assert await db.fetchval("SELECT count(*) FROM payments WHERE kind = 'refund'") == 1
    assert (
        await db.fetchval("SELECT count(*) FROM simulated_provider_ledger WHERE kind = 'refund'")
        == 1
    )
    assert (
        await db.fetchval(
            "SELECT seats_sold FROM flight_cabins WHERE flight_id = $1", search_world["jfk_lhr"]
        )
        == 0
    )


async def test_non_refundable_fare_after_a_day_refunds_nothing(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client, brand="Light")))
    await _age(db, booking["id"])
    quote = await _quote(client, user, booking["id"])
    assert (quote["refund"]["amount_minor"], quote["details"]["rule"]) == (0, "non_refundable")
    cancelled = await (await _cancel(client, user, booking["id"], quote["id"])).json()
    assert cancelled["status"] == "cancelled"
    assert [p["kind"] for p in cancelled["payments"]] == ["charge"]
    assert cancelled["passengers"][0]["tickets"][0]["status"] == "refunded"  # not the same day
    assert cancelled["total"] == booking["total"]


async def test_refundable_fare_keeps_the_fee_doubled_close_to_departure(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    await db.execute("UPDATE fare_brands SET cancellation_fee_minor = 5000 WHERE name = 'Flex'")
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client, brand="Flex")))
    paid = booking["total"]["amount_minor"]
    await _age(db, booking["id"])
    early = await _quote(client, user, booking["id"])
    assert (early["fee"]["amount_minor"], early["refund"]["amount_minor"]) == (5000, paid - 5000)

    await db.execute(
        """UPDATE flights SET scheduled_departure = now() + interval '2 days',
                              scheduled_arrival = now() + interval '2 days 7 hours'
           WHERE id = $1""",
        search_world["jfk_lhr"],
    )
    late = await _quote(client, user, booking["id"])
    assert (late["fee"]["amount_minor"], late["refund"]["amount_minor"]) == (10000, paid - 10000)
    cancelled = await (await _cancel(client, user, booking["id"], late["id"])).json()
    assert cancelled["total"]["amount_minor"] == 10000


async def test_airline_cancelled_flight_is_refunded_in_full(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client, brand="Light")))
    await _age(db, booking["id"])
    await db.execute(
        "UPDATE flights SET status = 'cancelled' WHERE id = $1", search_world["jfk_lhr"]
    )
    quote = await _quote(client, user, booking["id"])
    assert quote["details"]["rule"] == "airline_cancelled"
    assert quote["refund"] == booking["total"]


async def test_cancelled_and_flown_bookings_cannot_be_cancelled(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    quote = await _quote(client, user, booking["id"])
    assert (await _cancel(client, user, booking["id"], quote["id"])).status == 200
    again = await client.post(
        f"/v1/bookings/{booking['id']}/cancellation-quotes", headers=bearer(user)
    )
    assert (await assert_problem(again, 409))["type"].endswith("/booking-already-cancelled")

    flown = await book(client, user, booking_body(await offer_for(client)))
    await db.execute(
        """UPDATE flights SET scheduled_departure = now() - interval '1 day',
                              scheduled_arrival = now() - interval '17 hours'
           WHERE id = $1""",
        search_world["jfk_lhr"],
    )
    late = await client.post(
        f"/v1/bookings/{flown['id']}/cancellation-quotes", headers=bearer(user)
    )
    assert (await assert_problem(late, 409))["type"].endswith("/booking-already-flown")


async def test_stale_expired_foreign_and_unknown_quotes_are_refused(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user, stranger = uuid.uuid4(), uuid.uuid4()
    booking = await book(client, user, booking_body(await offer_for(client)))
    quote = await _quote(client, user, booking["id"])

    foreign = await _cancel(client, stranger, booking["id"], quote["id"])
    await assert_problem(foreign, 404)
    unknown = await _cancel(client, user, booking["id"], str(uuid.uuid4()))
    assert (await assert_problem(unknown, 404))["type"].endswith("/quote-not-found")

    await db.execute(
        "UPDATE bookings SET contact_phone = '+4420700000' WHERE id = $1",
        uuid.UUID(booking["id"]),
    )
    stale = await _cancel(client, user, booking["id"], quote["id"])
    assert (await assert_problem(stale, 409))["type"].endswith("/quote-stale")

    fresh = await _quote(client, user, booking["id"])
    await db.execute(
        "UPDATE booking_quotes SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(fresh["id"]),
    )
    expired = await _cancel(client, user, booking["id"], fresh["id"])
    assert (await assert_problem(expired, 410))["type"].endswith("/quote-expired")
    still = await client.get(f"/v1/bookings/{booking['id']}", headers=bearer(user))
    assert (await still.json())["status"] == "confirmed"


async def test_a_lap_infant_adds_no_cancellation_fee(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    await db.execute("UPDATE fare_brands SET cancellation_fee_minor = 5000 WHERE name = 'Flex'")
    user = uuid.uuid4()
    offer = await offer_for(client, brand="Flex", passengers={"adults": 1, "infants": 1})
    infant = {"type": "infant", "given_name": "Ivy", "family_name": "Lovelace",
              "date_of_birth": str(date.today() - timedelta(days=200))}  # fmt: skip
    booking = await book(client, user, booking_body(offer, passengers=[adult(), infant]))
    paid = booking["total"]["amount_minor"]
    await _age(db, booking["id"])
    quote = await _quote(client, user, booking["id"])
    assert (quote["fee"]["amount_minor"], quote["refund"]["amount_minor"]) == (5000, paid - 5000)
