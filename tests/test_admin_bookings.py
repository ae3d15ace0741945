"""Agents acting for a passenger: the passenger's own quotes and confirmations, with the
agent in the audit log and the booking's history."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from tests.booking_helpers import bearer, book, booking_body, offer_for
from tests.problems import assert_problem
from tests.test_admin_flights import staff

AGENT_ID = uuid.uuid4()
AGENT = staff("agent", user=AGENT_ID)
NEW_EMAIL = {"change": {"type": "contact", "contact": {"email": "new@example.com"}}}


async def _created(response: Any) -> dict[str, Any]:
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def test_an_agent_cancels_for_the_passenger_once_and_is_on_record(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    traveller = uuid.uuid4()
    booking = await book(client, traveller, booking_body(await offer_for(client)))
    base = f"/v1/admin/bookings/{booking['id']}"
    quote = await _created(await client.post(f"{base}/cancellation-quotes", headers=AGENT))
    assert quote["details"]["rule"] == "within_24_hours"

    body = {"quote_id": quote["id"], "reason": "Passenger called: family emergency"}
    first = await client.post(f"{base}/cancellations", json=body, headers=AGENT)
    assert first.status == 200, await first.text()
    assert (await first.json())["status"] == "cancelled"
    again = await client.post(f"{base}/cancellations", json=body, headers=AGENT)
    assert again.status == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.json() == await first.json()

    entries = await db.fetch(
        "SELECT actor, actor_roles, action, entity, entity_id, changes, reason"
        " FROM admin_audit_log WHERE entity = 'booking'"
    )
    why = "Passenger called: family emergency"
    assert [(e["actor"], e["actor_roles"], e["action"], e["entity_id"], e["reason"])
            for e in entries] == [(AGENT_ID, ["agent", "passenger"], "booking.cancellation",
                                   booking["id"], why)]  # fmt: skip
    assert entries[0]["changes"]["quote_id"] == quote["id"]
    assert entries[0]["changes"]["amount_minor"] == -booking["total"]["amount_minor"]

    history = await client.get(f"{base}/history", headers=AGENT)
    assert history.status == 200, await history.text()
    [entry] = (await history.json())["entries"]
    assert (entry["kind"], entry["actor"], entry["on_behalf"], entry["quote_id"]) == (
        "cancellation", str(AGENT_ID), True, quote["id"])  # fmt: skip
    assert entry["reason"] == "Passenger called: family emergency"


async def test_an_agents_change_and_the_passengers_own_both_reach_the_history(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    traveller = uuid.uuid4()
    booking = await book(client, traveller, booking_body(await offer_for(client)))
    base = f"/v1/admin/bookings/{booking['id']}"
    quote = await _created(await client.post(f"{base}/change-quotes", json=NEW_EMAIL,
                                             headers=AGENT))  # fmt: skip
    confirmation = {"quote_id": quote["id"], "reason": "New address"}
    changed = await client.post(f"{base}/changes", json=confirmation, headers=AGENT)
    assert changed.status == 200, await changed.text()
    assert (await changed.json())["contact"]["email"] == "new@example.com"

    mine_body = {"change": {"type": "contact", "contact": {"email": "mine@example.com"}}}
    own = await _created(await client.post(f"/v1/bookings/{booking['id']}/change-quotes",
                                           json=mine_body, headers=bearer(traveller)))  # fmt: skip
    mine = await client.post(f"/v1/bookings/{booking['id']}/changes", headers=bearer(traveller),
                             json={"quote_id": own["id"]})  # fmt: skip
    assert mine.status == 200, await mine.text()

    entries = (await (await client.get(f"{base}/history", headers=AGENT)).json())["entries"]
    assert [(e["actor"], e["on_behalf"], e["reason"]) for e in entries] == [
        (str(AGENT_ID), True, "New address"), (str(traveller), False, None)]  # fmt: skip
    audited = await db.fetch("SELECT action, changes FROM admin_audit_log WHERE entity_id = $1",
                             booking["id"])  # fmt: skip
    assert [(a["action"], a["changes"]["what"]) for a in audited] == [("booking.change", "contact")]


async def test_a_stale_quote_is_refused_and_changes_nothing(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    booking = await book(client, uuid.uuid4(), booking_body(await offer_for(client)))
    base = f"/v1/admin/bookings/{booking['id']}"
    cancel = await _created(await client.post(f"{base}/cancellation-quotes", headers=AGENT))
    change = await _created(await client.post(f"{base}/change-quotes", json=NEW_EMAIL,
                                              headers=AGENT))  # fmt: skip
    done = await client.post(f"{base}/changes", headers=AGENT,
                             json={"quote_id": change["id"], "reason": "New address"})  # fmt: skip
    assert done.status == 200, await done.text()

    stale = await client.post(f"{base}/cancellations", headers=AGENT,
                              json={"quote_id": cancel["id"], "reason": "Too late"})  # fmt: skip
    await assert_problem(stale, 409)
    assert await db.fetchval("SELECT status FROM bookings WHERE id = $1",
                             uuid.UUID(booking["id"])) == "confirmed"  # fmt: skip
    actions = await db.fetch("SELECT action FROM admin_audit_log WHERE entity_id = $1",
                             booking["id"])  # fmt: skip
    assert [a["action"] for a in actions] == ["booking.change"]


async def test_passengers_and_strangers_are_refused_and_unknown_bookings_are_not_found(
    client: TestClient, search_world: dict[str, int]
) -> None:
    traveller = uuid.uuid4()
    booking = await book(client, traveller, booking_body(await offer_for(client)))
    base = f"/v1/admin/bookings/{booking['id']}"
    reason = {"quote_id": str(uuid.uuid4()), "reason": "Because"}
    for headers in (bearer(traveller), staff("ops"), staff("admin")):
        await assert_problem(await client.post(f"{base}/cancellation-quotes", headers=headers),
                             403)  # fmt: skip
        await assert_problem(await client.post(f"{base}/cancellations", json=reason,
                                               headers=headers), 403)  # fmt: skip
        await assert_problem(await client.get(f"{base}/history", headers=headers), 403)
    await assert_problem(await client.post(f"{base}/change-quotes", json=NEW_EMAIL), 401)

    unknown = f"/v1/admin/bookings/{uuid.uuid4()}"
    await assert_problem(await client.post(f"{unknown}/cancellation-quotes", headers=AGENT), 404)
    await assert_problem(await client.post(f"{unknown}/change-quotes", json=NEW_EMAIL,
                                           headers=AGENT), 404)  # fmt: skip
    await assert_problem(await client.post(f"{unknown}/changes", json=reason, headers=AGENT),
                         404)  # fmt: skip
    await assert_problem(await client.get(f"{unknown}/history", headers=AGENT), 404)
    # A quote of one booking does not confirm another.
    other = await book(client, uuid.uuid4(), booking_body(await offer_for(client)))
    quote = await _created(await client.post(f"{base}/cancellation-quotes", headers=AGENT))
    await assert_problem(await client.post(
        f"/v1/admin/bookings/{other['id']}/cancellations", headers=AGENT,
        json={"quote_id": quote["id"], "reason": "Wrong booking"}), 404)  # fmt: skip
    await assert_problem(await client.post(f"{base}/cancellations", headers=AGENT,
                                           json={"quote_id": quote["id"], "reason": ""}),
                         422, field="body.reason")  # fmt: skip
