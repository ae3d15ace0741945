"""Offline sync: full state, changes since a cursor from every writer, paging, scope, live mode."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from devtools.simulator import Simulator
from foundation.database import connect, create_pool
from sync.protocol import SCHEMA_VERSION as SYNC_SCHEMA
from tests.booking_helpers import bearer
from tests.sse_client import SseReader
from tests.test_sync_devices import Device, traveler, trip


async def _book_and_prepare(
    client: TestClient, db: asyncpg.Connection, user: uuid.UUID, seat: str = "20B"
) -> dict[str, Any]:
    booking = await trip(client, db, user, seat)
    response = await client.put("/v1/me/preferences", json={"seat": "aisle", "meal": "vegan"},
                                headers=bearer(user))  # fmt: skip
    assert response.status == 200, await response.text()
    return booking


async def test_a_fresh_device_gets_the_whole_state_without_tombstones(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await _book_and_prepare(client, db, user)
    other = Device(client, user)
    grace = str(uuid.uuid4())
    other.mutate("travelers.upsert", {"id": grace, "fields": traveler(nationality="US")})
    other.mutate("trip_notes.upsert", {"id": str(uuid.uuid4()), "booking_id": booking["id"],
                                       "title": "London"})  # fmt: skip
    await other.push()
    await db.execute("UPDATE flights SET departure_gate = 'B7' WHERE id = $1",
                     search_world["jfk_lhr"])  # fmt: skip

    device = Device(client, user)
    changes = await device.pull()
    assert {c["op"] for c in changes} == {"upsert"}
    assert {c["collection"] for c in changes} == {
        "trips", "flights", "tickets", "preferences", "travelers", "trip_notes", "notifications",
    }  # fmt: skip

    (trip_id,) = device.records("trips")
    assert trip_id == booking["id"]
    rest = await (await client.get(f"/v1/bookings/{booking['id']}", headers=bearer(user))).json()
    for segment in rest["segments"]:
        del segment["flight_status"]  # live status is in flights
    assert device.records("trips")[trip_id] == rest

    flight = search_world["jfk_lhr"]
    assert device.records("flights") == {
        str(flight): await (await client.get(f"/v1/flights/{flight}")).json()
    }
    assert device.records("flights")[str(flight)]["departure"]["gate"] == "B7"

    (ticket,) = device.records("tickets").values()
    assert ticket["ticket_number"] == rest["passengers"][0]["tickets"][0]["ticket_number"]
    (leg,) = ticket["segments"]
    assert leg["seat"] == "20B"
    # A ticket is not a boarding pass: passes come with check-in (tests/test_check_in_sync.py).
    assert "bcbp" not in leg
    assert device.records("boarding_passes") == {}

    prefs = device.one("preferences")
    assert (prefs["seat"], prefs["meal"]) == ("aisle", "vegan")
    assert device.records("travelers")[grace]["nationality"] == "US"
    assert [n["title"] for n in device.records("trip_notes").values()] == ["London"]
    (notification,) = device.records("notifications").values()
    assert notification["title"] == "Gate change for SB1"
    assert notification["body"] == "SB1 from JFK to LHR now departs from gate B7."
    assert notification["read_at"] is None


async def test_full_state_pages_add_up_to_the_whole(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    await _book_and_prepare(client, db, user)
    other = Device(client, user)
    for _ in range(4):
        other.mutate("travelers.upsert", {"id": str(uuid.uuid4()), "fields": traveler()})
    await other.push()

    whole = Device(client, user)
    await whole.pull()
    paged = Device(client, user, limit=2)
    pages = 0
    while True:
        body = await paged.pull_page()
        pages += 1
        assert len(body["changes"]) <= 2
        if not body["has_more"]:
            break
    assert len(whole.store) == 8  # trip, flight, ticket, preferences, four travellers
    assert pages == 5  # the fourth page was full, so a fifth (empty) one was asked for
    assert paged.store == whole.store


async def test_rest_sql_and_simulator_edits_show_up_in_the_next_pull(
    client: TestClient, db: asyncpg.Connection, database_url: str, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    await _book_and_prepare(client, db, user)
    flight = search_world["jfk_lhr"]
    device = Device(client, user)
    await device.pull()
    assert await device.pull() == []  # nothing new

    response = await client.put("/v1/me/preferences", json={"seat": "window"},
                                headers=bearer(user))  # fmt: skip
    assert response.status == 200
    changes = await device.pull()
    assert [(c["collection"], c["data"]["seat"]) for c in changes] == [("preferences", "window")]

    await db.execute("UPDATE flights SET departure_gate = 'C3' WHERE id = $1", flight)
    changes = await device.pull()
    assert {c["collection"] for c in changes} == {"flights", "notifications"}
    assert device.records("flights")[str(flight)]["departure"]["gate"] == "C3"

    departure = await db.fetchval("SELECT scheduled_departure FROM flights WHERE id = $1", flight)
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        moved = await Simulator(pool, seed=1).step(departure + timedelta(hours=1))
    finally:
        await pool.close()
    assert flight in {change.flight_id for change in moved}
    await device.pull()
    simulated = await (await client.get(f"/v1/flights/{flight}")).json()
    assert simulated["status"] != "scheduled"
    assert device.records("flights")[str(flight)] == simulated


async def test_sql_edits_of_tickets_and_preferences_show_up_too(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    await _book_and_prepare(client, db, user)
    device = Device(client, user)
    await device.pull()
    (ticket,) = device.records("tickets")
    await db.execute("UPDATE tickets SET status = 'void'")  # an operator voids it
    await db.execute("DELETE FROM user_preferences")
    changes = await device.pull()
    touched = {(c["collection"], c["id"], c["op"]) for c in changes}
    assert {("tickets", ticket, "delete"), ("preferences", str(user), "upsert")} <= touched
    (trip_now,) = device.records("trips").values()
    assert trip_now["passengers"][0]["tickets"][0]["status"] == "void"
    assert device.records("tickets") == {}
    assert device.store[("preferences", str(user))]["version"] == 0
    assert device.one("preferences")["seat"] == "no_preference"


async def test_a_change_committed_late_under_a_smaller_id_is_not_missed(
    client: TestClient, db: asyncpg.Connection, database_url: str, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    await _book_and_prepare(client, db, user)
    flight = search_world["jfk_lhr"]
    device = Device(client, user)
    await device.pull()

    slow = await connect(database_url)
    try:
        transaction = slow.transaction()
        await transaction.start()
        # Takes its change-log id now, commits last.
        await slow.execute("UPDATE flights SET departure_gate = 'D9' WHERE id = $1", flight)
        held = await slow.fetchval("SELECT max(id) FROM change_events")
        # A later transaction commits first, with a larger id, on the same user's topic.
        other = Device(client, user)
        other.mutate("travelers.upsert", {"id": str(uuid.uuid4()), "fields": traveler()})
        await other.push()
        assert await db.fetchval("SELECT max(id) FROM change_events") > held

        before = await device.pull()
        assert all(c["collection"] != "flights" for c in before)
        await transaction.commit()
    finally:
        await slow.close()

    after = await device.pull()
    assert device.records("flights")[str(flight)]["departure"]["gate"] == "D9"
    assert {c["collection"] for c in after} >= {"flights", "travelers"}


async def test_a_mutation_counts_as_covered_only_once_its_change_is_pulled(
    client: TestClient, db: asyncpg.Connection, database_url: str, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    await _book_and_prepare(client, db, user)
    device = Device(client, user)
    await device.pull()
    slow = await connect(database_url)
    try:
        transaction = slow.transaction()
        await transaction.start()
        await slow.execute("UPDATE flights SET departure_gate = 'E1' WHERE id = $1",
                           search_world["jfk_lhr"])  # fmt: skip
        device.mutate("preferences.update", {"seat": "window"})
        pushed = await device.push()
        assert pushed["last_mutation_id"] == 1
        await device.pull()
        # Processed, but its change waits behind the open transaction: not yet covered.
        assert device.last_mutation_ids == {device.client_id: 0}
        assert device.one("preferences")["seat"] == "aisle"
        await transaction.commit()
    finally:
        await slow.close()
    await device.pull()
    assert device.last_mutation_ids == {device.client_id: 1}
    assert device.one("preferences")["seat"] == "window"


async def test_records_that_leave_the_users_scope_come_as_tombstones(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await _book_and_prepare(client, db, user)
    device = Device(client, user)
    await device.pull()
    (ticket,) = device.records("tickets")
    device.mutate("booking.request_cancellation", {"booking_id": booking["id"]})
    (result,) = (await device.push())["results"]
    assert result["status"] == "applied", result
    assert result["records"][0]["data"]["status"] == "cancelled"

    changes = await device.pull()
    flight = str(search_world["jfk_lhr"])
    deletes = {(c["collection"], c["id"]) for c in changes if c["op"] == "delete"}
    assert deletes == {("flights", flight), ("tickets", ticket)}
    assert device.records("trips")[booking["id"]]["status"] == "cancelled"
    assert device.records("flights") == {}
    assert device.records("tickets") == {}
    titles = [n["title"] for n in device.records("notifications").values()]
    assert titles == [f"Booking {booking['record_locator']} cancelled"]


async def test_a_flight_change_takes_the_old_flight_off_the_device(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await _book_and_prepare(client, db, user)
    device = Device(client, user)
    await device.pull()
    old = search_world["jfk_lhr"]
    # An operator moves the booking to the later KA flight by SQL.
    later = search_world["jfk_lhr_ka"]
    booking_id = uuid.UUID(booking["id"])
    await db.execute("DELETE FROM seat_assignments WHERE booking_id = $1", booking_id)
    await db.execute("DELETE FROM booking_segments WHERE booking_id = $1", booking_id)
    await db.execute(
        """INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,
                                         fare_brand)
           VALUES ($1, 1, 1, $2, 'economy', 'KA_ECO_STANDARD')""",
        booking_id, later,
    )  # fmt: skip
    changes = await device.pull()
    flights = {(c["id"], c["op"]) for c in changes if c["collection"] == "flights"}
    assert flights == {(str(old), "delete"), (str(later), "upsert")}
    assert set(device.records("flights")) == {str(later)}
    assert device.records("trips")[booking["id"]]["segments"][0]["flight_id"] == later


async def test_a_user_never_receives_another_users_records(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    devices = {}
    for user, seat in ((alice, "20B"), (bob, "21B")):
        booking = await _book_and_prepare(client, db, user, seat)
        writer = Device(client, user)
        writer.mutate("travelers.upsert", {"id": str(uuid.uuid4()), "fields": traveler()})
        note = {"id": str(uuid.uuid4()), "booking_id": booking["id"], "title": str(user)}
        writer.mutate("trip_notes.upsert", note)
        await writer.push()
        devices[user] = Device(client, user)
        await devices[user].pull()
    # Both are on the same flight: its change reaches each of them, as their own records.
    await db.execute("UPDATE flights SET departure_gate = 'F2' WHERE id = $1",
                     search_world["jfk_lhr"])  # fmt: skip
    for device in devices.values():
        await device.pull()

    mine, theirs = devices[alice], devices[bob]
    shared = {"flights"}
    for collection, key in mine.store:
        if collection not in shared:
            assert (collection, key) not in theirs.store
    assert {t["user_id"] for t in mine.records("trips").values()} == {str(alice)}
    assert {t["user_id"] for t in theirs.records("trips").values()} == {str(bob)}
    assert [n["title"] for n in mine.records("trip_notes").values()] == [str(alice)]
    assert [n["title"] for n in theirs.records("trip_notes").values()] == [str(bob)]
    assert len(mine.records("notifications")) == len(theirs.records("notifications")) == 1
    assert set(mine.records("notifications")).isdisjoint(theirs.records("notifications"))
    assert await db.fetchval("SELECT count(*) FROM notifications") == 2


async def test_live_mode_the_user_stream_pokes_and_the_pull_brings_the_change(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    device = Device(client, user)
    await device.pull()
    stream = SseReader(await client.get("/v1/streams/me", headers=bearer(user)))
    assert (await stream.next()).event == "snapshot"

    other = Device(client, user)
    grace = str(uuid.uuid4())
    other.mutate("travelers.upsert", {"id": grace, "fields": traveler()})
    await other.push()

    poke = await stream.next()
    assert poke.event == "traveler.created"
    assert poke.json()["traveler"] == {"id": grace, "version": 1}  # ids, not personal data
    changes = await device.pull()
    assert [(c["collection"], c["id"]) for c in changes] == [("travelers", grace)]
    stream.response.close()


async def test_a_cursor_older_than_the_retained_log_resets_to_the_whole_state(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    device = Device(client, user)
    device.mutate("travelers.upsert", {"id": str(uuid.uuid4()), "fields": traveler()})
    await device.push()
    await device.pull()
    device.store[("travelers", "left-over")] = {"version": 1, "data": {}}
    # A change the device has not pulled, then retention purges it.
    device.mutate("travelers.upsert", {"id": str(uuid.uuid4()), "fields": traveler()})
    await device.push()
    newest = await db.fetchval("SELECT max(id) FROM change_events")
    await db.execute("DELETE FROM change_events")
    await db.execute("UPDATE change_log_state SET purged_through = $1", newest)

    body = await device.pull_page()
    assert body["reset"] is True
    assert len(device.records("travelers")) == 2  # the left-over record went with the reset
    assert "left-over" not in device.records("travelers")
    assert (await device.pull_page())["reset"] is False


async def test_a_cursor_of_another_life_of_the_database_resets(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    device = Device(client, user)
    await device.pull()
    await db.execute("UPDATE change_log_state SET epoch = 'feedf00d'")
    assert (await device.pull_page())["reset"] is True


async def test_pulls_of_chosen_collections_leave_the_others_out(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    await _book_and_prepare(client, db, user)
    response = await client.post(
        "/v1/sync/pull",
        json={
            "cursor": None,
            "collections": ["flights", "tickets"],
            "schema_version": SYNC_SCHEMA,
        },
        headers=bearer(user),
    )
    body = await response.json()
    assert {c["collection"] for c in body["changes"]} == {"flights", "tickets"}
    await db.execute("UPDATE flights SET departure_gate = 'G1'")
    again = await client.post(
        "/v1/sync/pull",
        json={"cursor": body["cursor"], "collections": ["flights", "tickets"],
              "schema_version": SYNC_SCHEMA},
        headers=bearer(user),
    )  # fmt: skip
    changes = (await again.json())["changes"]
    assert [c["collection"] for c in changes] == ["flights"]


async def test_concurrent_retries_of_one_push_apply_each_mutation_once(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    device = Device(client, user)
    for _ in range(20):
        device.mutate("travelers.upsert", {"id": str(uuid.uuid4()), "fields": traveler()})
    body = {
        "client_id": device.client_id,
        "schema_version": SYNC_SCHEMA,
        "mutations": device.queue,
    }
    responses = await asyncio.gather(*(
        client.post("/v1/sync/push", json=body, headers=bearer(user)) for _ in range(3)
    ))  # fmt: skip
    outcomes = [await r.json() for r in responses]
    assert all(r.status == 200 for r in responses)
    assert await db.fetchval("SELECT count(*) FROM travelers") == 20
    for outcome in outcomes:
        assert [r["status"] for r in outcome["results"]] == ["applied"] * 20
        assert outcome["last_mutation_id"] == 20
    replayed = sum(r.get("replayed", False) for o in outcomes for r in o["results"])
    assert replayed == 40
