"""Booking commands and inbox marks pushed from devices: the REST API's rules, exactly once."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from sync.protocol import SCHEMA_VERSION as SYNC_SCHEMA
from tests.booking_helpers import GOOD_CARD, bearer
from tests.test_sync_devices import Device, trip


def _only(result: dict[str, Any]) -> dict[str, Any]:
    (record,) = result["records"]
    return dict(record)


async def _seat_of(db: asyncpg.Connection, booking_id: str) -> str:
    return str(await db.fetchval("SELECT seat FROM seat_assignments WHERE booking_id = $1",
                                 uuid.UUID(booking_id)))  # fmt: skip


async def test_a_free_seat_change_applies_and_the_ticket_follows(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await trip(client, db, user)
    device = Device(client, user)
    await device.pull()
    move = {"booking_id": booking["id"], "passenger": 0, "flight_id": search_world["jfk_lhr"]}
    device.mutate("booking.change_seat", {**move, "seat": "21E"})
    (result,) = (await device.push())["results"]
    assert result["status"] == "applied", result
    assert _only(result)["data"]["segments"][0]["seats"] == [{"passenger_no": 1, "seat": "21E"}]
    assert await _seat_of(db, booking["id"]) == "21E"
    await device.pull()
    (ticket,) = device.records("tickets").values()
    assert ticket["segments"][0]["seat"] == "21E"
    (notification,) = device.records("notifications").values()
    assert notification["title"] == f"Booking {booking['record_locator']} changed"


async def test_a_seat_taken_meanwhile_is_rejected_with_the_trip_as_it_is(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user, rival = uuid.uuid4(), uuid.uuid4()
    booking = await trip(client, db, user)
    device = Device(client, user)
    await device.pull()
    move = {"booking_id": booking["id"], "passenger": 0, "flight_id": search_world["jfk_lhr"]}
    device.mutate("booking.change_seat", {**move, "seat": "25E"})
    await trip(client, db, rival, seat="25E")  # while the device was offline
    (result,) = (await device.push())["results"]
    assert (result["status"], result["reason"]) == ("rejected", "seat_unavailable")
    assert "25E" in result["detail"]
    trip_now = _only(result)
    assert (trip_now["collection"], trip_now["id"]) == ("trips", booking["id"])
    assert trip_now["data"]["segments"][0]["seats"] == [{"passenger_no": 1, "seat": "20B"}]
    assert await _seat_of(db, booking["id"]) == "20B"


async def test_a_seat_that_costs_money_needs_a_limit_and_a_saved_card(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await trip(client, db, user)
    device = Device(client, user)
    legroom = {"booking_id": booking["id"], "passenger": 0,
               "flight_id": search_world["jfk_lhr"], "seat": "12A"}  # fmt: skip
    device.mutate("booking.change_seat", legroom)
    card = {k: v for k, v in GOOD_CARD.items() if k != "type"}
    saved = await client.post("/v1/me/payment-methods", json=card, headers=bearer(user))
    card_id = (await saved.json())["id"]
    device.mutate("booking.change_seat", {**legroom, "max_charge_minor": 2999,
                                          "payment_method_id": card_id})  # fmt: skip
    device.mutate("booking.change_seat", {**legroom, "max_charge_minor": 3000})
    device.mutate("booking.change_seat", {**legroom, "max_charge_minor": 3000,
                                          "payment_method_id": card_id})  # fmt: skip
    results = (await device.push())["results"]
    assert [(r["status"], r.get("reason")) for r in results] == [
        ("rejected", "price_exceeds_limit"), ("rejected", "price_exceeds_limit"),
        ("rejected", "payment_required"), ("applied", None),
    ]  # fmt: skip
    assert await _seat_of(db, booking["id"]) == "12A"
    charges = await db.fetch("SELECT amount_minor FROM payments WHERE kind = 'charge' "
                             "ORDER BY created_at")  # fmt: skip
    assert [c["amount_minor"] for c in charges][-1] == 3000


async def test_a_cancellation_below_the_devices_minimum_refund_is_rejected(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await trip(client, db, user)
    paid = booking["total"]["amount_minor"]
    device = Device(client, user)
    device.mutate("booking.request_cancellation", {"booking_id": booking["id"],
                                                   "min_refund_minor": paid + 1})  # fmt: skip
    (result,) = (await device.push())["results"]
    assert (result["status"], result["reason"]) == ("rejected", "refund_below_minimum")
    assert _only(result)["data"]["status"] == "confirmed"
    status = await db.fetchval("SELECT status FROM bookings")
    assert status == "confirmed"


async def test_a_retried_cancellation_cancels_and_refunds_once(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await trip(client, db, user)
    paid = booking["total"]["amount_minor"]
    device = Device(client, user)
    device.mutate("booking.request_cancellation", {"booking_id": booking["id"],
                                                   "min_refund_minor": paid})  # fmt: skip
    body = {
        "client_id": device.client_id,
        "schema_version": SYNC_SCHEMA,
        "mutations": device.queue,
    }
    first = await (await client.post("/v1/sync/push", json=body, headers=bearer(user))).json()
    again = await (await client.post("/v1/sync/push", json=body, headers=bearer(user))).json()
    assert first["results"][0]["status"] == "applied"
    assert again["results"] == [{"id": 1, "status": "applied", "records": [], "replayed": True}]
    refunds = await db.fetch("SELECT amount_minor FROM payments WHERE kind = 'refund'")
    assert [r["amount_minor"] for r in refunds] == [paid]
    # A second request, as a new mutation, is refused by the rules.
    device.queue = []
    device.mutate("booking.request_cancellation", {"booking_id": booking["id"]})
    device.next_id = 3
    (result,) = (await device.push())["results"]
    assert (result["status"], result["reason"]) == ("rejected", "already_cancelled")


async def test_a_flown_booking_cannot_be_cancelled_from_a_device(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await trip(client, db, user)
    await db.execute(
        """UPDATE flights SET scheduled_departure = now() - interval '1 day',
                              scheduled_arrival = now() - interval '20 hours'
           WHERE id = $1""",
        search_world["jfk_lhr"],
    )
    device = Device(client, user)
    device.mutate("booking.request_cancellation", {"booking_id": booking["id"]})
    (result,) = (await device.push())["results"]
    assert (result["status"], result["reason"]) == ("rejected", "already_flown")


async def test_commands_on_someone_elses_booking_look_like_no_booking(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    booking = await trip(client, db, owner)
    device = Device(client, stranger)
    device.mutate("booking.request_cancellation", {"booking_id": booking["id"]})
    move = {"booking_id": booking["id"], "passenger": 0, "flight_id": search_world["jfk_lhr"]}
    device.mutate("booking.change_seat", {**move, "seat": "21E"})
    results = (await device.push())["results"]
    assert [r["reason"] for r in results] == ["booking_not_found", "booking_not_found"]
    for result in results:
        assert _only(result) == {"collection": "trips", "id": booking["id"], "op": "delete",
                                 "version": 0, "data": None}  # fmt: skip
    assert await db.fetchval("SELECT status FROM bookings") == "confirmed"


async def test_staff_roles_do_not_reach_other_peoples_bookings_through_sync(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    owner, agent = uuid.uuid4(), uuid.uuid4()
    booking = await trip(client, db, owner)
    device = Device(client, agent)
    device.mutate("booking.request_cancellation", {"booking_id": booking["id"]})
    response = await client.post(
        "/v1/sync/push",
        json={
            "client_id": device.client_id,
            "schema_version": SYNC_SCHEMA,
            "mutations": device.queue,
        },
        headers=bearer(agent, app_metadata={"roles": ["agent"]}),
    )
    (result,) = (await response.json())["results"]
    assert (result["status"], result["reason"]) == ("rejected", "booking_not_found")
    assert await db.fetchval("SELECT status FROM bookings") == "confirmed"


async def test_a_retry_after_a_crash_confirms_the_quote_already_taken(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await trip(client, db, user)
    device = Device(client, user)
    # The state a crash between quoting and confirming leaves behind.
    quote = await (await client.post(f"/v1/bookings/{booking['id']}/cancellation-quotes",
                                     headers=bearer(user))).json()  # fmt: skip
    await db.execute("INSERT INTO sync_clients (user_id, client_id) VALUES ($1, $2)",
                     user, device.client_id)  # fmt: skip
    await db.execute(
        """INSERT INTO sync_mutations (user_id, client_id, mutation_id, name, status, quote_id)
           VALUES ($1, $2, 1, 'booking.request_cancellation', 'pending', $3)""",
        user, device.client_id, uuid.UUID(quote["id"]),
    )  # fmt: skip
    device.mutate("booking.request_cancellation", {"booking_id": booking["id"]})
    (result,) = (await device.push())["results"]
    assert result["status"] == "applied"
    confirmed = await db.fetch("SELECT id FROM booking_quotes WHERE confirmed_at IS NOT NULL")
    assert [str(q["id"]) for q in confirmed] == [quote["id"]]
    outcome = await db.fetchrow("SELECT status, event_id FROM sync_mutations")
    assert outcome["status"] == "applied"
    assert outcome["event_id"] is not None


async def test_marking_notifications_read(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    await trip(client, db, user)
    await db.execute("UPDATE flights SET departure_gate = 'B2' WHERE id = $1",
                     search_world["jfk_lhr"])  # fmt: skip
    device = Device(client, user)
    await device.pull()
    (notification_id,) = device.records("notifications")
    device.mutate("notifications.mark_read", {"ids": [int(notification_id), 999999]})
    (result,) = (await device.push())["results"]
    assert result["status"] == "applied"
    assert result["detail"] == "Not in your inbox: 999999."
    changes = await device.pull()
    assert [(c["collection"], c["version"]) for c in changes] == [("notifications", 2)]
    assert device.records("notifications")[notification_id]["read_at"] is not None
    # Marking again changes nothing.
    device.mutate("notifications.mark_read", {"ids": [int(notification_id)]})
    await device.push()
    assert await device.pull() == []
