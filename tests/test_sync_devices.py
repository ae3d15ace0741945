"""Sync between devices: a simulated device, and the documented conflict outcomes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from sync.protocol import SCHEMA_VERSION
from tests.booking_helpers import bearer, book, booking_body, offer_for
from tests.factories import add_aircraft_cabins

Key = tuple[str, str]


class Device:
    """A mobile client: a local copy of its records, an upload queue, a cursor and a clock."""

    def __init__(
        self, client: TestClient, user: uuid.UUID, *, limit: int = 500, name: str | None = None
    ) -> None:
        self.client = client
        self.user = user
        self.client_id = name or f"dev-{uuid.uuid4().hex[:12]}"
        self.limit = limit
        self.store: dict[Key, dict[str, Any]] = {}
        self.cursor: str | None = None
        self.queue: list[dict[str, Any]] = []
        self.next_id = 1
        self.wall = 0
        self.counter = 0
        self.results: list[dict[str, Any]] = []
        self.last_mutation_ids: dict[str, int] = {}

    # Hybrid logical clock: ahead of everything seen, on the wall clock when it can be.
    def tick(self) -> str:
        now = time.time_ns() // 1_000_000
        if now > self.wall:
            self.wall, self.counter = now, 0
        else:
            self.counter += 1
        return f"{self.wall:013d}:{self.counter:04d}:{self.client_id}"

    def observe(self, clock: str) -> None:
        wall, counter, _ = clock.split(":", 2)
        if (int(wall), int(counter)) > (self.wall, self.counter):
            self.wall, self.counter = int(wall), int(counter)

    def mutate(self, name: str, args: dict[str, Any]) -> int:
        mutation = {"id": self.next_id, "name": name, "args": args, "client_time": self.tick()}
        self.next_id += 1
        self.queue.append(mutation)
        return int(mutation["id"])

    async def push(self) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/sync/push",
            json={"client_id": self.client_id, "schema_version": SCHEMA_VERSION,
                  "mutations": self.queue},
            headers=bearer(self.user),
        )  # fmt: skip
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        self.results.extend(body["results"])
        self.queue = [m for m in self.queue if m["id"] > body["last_mutation_id"]]
        return body

    async def pull_page(self) -> dict[str, Any]:
        response = await self.client.post(
            "/v1/sync/pull",
            json={"cursor": self.cursor, "limit": self.limit, "schema_version": SCHEMA_VERSION},
            headers=bearer(self.user),
        )
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        if body["reset"]:
            self.store.clear()
        for change in body["changes"]:
            self.apply(change)
        self.cursor = body["cursor"]
        self.last_mutation_ids = body["last_mutation_ids"]
        return body

    async def pull(self) -> list[dict[str, Any]]:
        """Every page until the device is up to date; the changes received."""
        changes = []
        while True:
            body = await self.pull_page()
            changes.extend(body["changes"])
            if not body["has_more"]:
                return changes

    def apply(self, change: dict[str, Any]) -> None:
        key = (change["collection"], change["id"])
        if change["op"] == "delete":
            self.store.pop(key, None)
            return
        self.store[key] = {"version": change["version"], "data": change["data"]}
        for clock in (change["data"].get("clocks") or {}).values():
            self.observe(clock)

    def records(self, collection: str) -> dict[str, dict[str, Any]]:
        return {i: r["data"] for (c, i), r in self.store.items() if c == collection}

    def one(self, collection: str) -> dict[str, Any]:
        (record,) = self.records(collection).values()
        return record


async def trip(
    client: TestClient, db: asyncpg.Connection, user: uuid.UUID, seat: str = "20B"
) -> dict[str, Any]:
    """A confirmed JFK-LHR booking with a seat, made through the REST API (needs search_world)."""
    if await db.fetchval("SELECT count(*) FROM aircraft_cabins") == 0:
        await add_aircraft_cabins(db)
        await db.execute("UPDATE flights SET aircraft_type = '32N'")
    offer = await offer_for(client)
    flight = offer["slices"][0]["segments"][0]["flight_id"]
    seats = [{"flight_id": flight, "passenger": 0, "seat": seat}]
    return await book(client, user, booking_body(offer, seats=seats))


def traveler(**fields: Any) -> dict[str, Any]:
    return {"given_name": "Grace", "family_name": "Hopper", "date_of_birth": "1906-12-09",
            **fields}  # fmt: skip


# Preferences: field-level last writer wins ------------------------------------------------


async def test_two_devices_editing_different_preferences_both_win(client: TestClient) -> None:
    user = uuid.uuid4()
    phone, tablet = Device(client, user), Device(client, user)
    phone.mutate("preferences.update", {"seat": "window"})
    tablet.mutate("preferences.update", {"meal": "vegan", "language": "pt-BR"})
    await tablet.push()
    await phone.push()
    await phone.pull()
    await tablet.pull()
    for device in (phone, tablet):
        prefs = device.one("preferences")
        assert (prefs["seat"], prefs["meal"], prefs["language"]) == ("window", "vegan", "pt-BR")
    assert phone.store == tablet.store


async def test_the_later_edit_of_one_preference_wins_whichever_is_pushed_first(
    client: TestClient,
) -> None:
    user = uuid.uuid4()
    # Within one millisecond the node breaks the tie: "tablet" orders after "phone".
    phone, tablet = Device(client, user, name="phone"), Device(client, user, name="tablet")
    phone.mutate("preferences.update", {"seat": "aisle"})
    tablet.mutate("preferences.update", {"seat": "window"})  # stamped later
    await tablet.push()
    pushed = await phone.push()  # the earlier edit arrives last, and loses
    assert pushed["results"][0]["status"] == "applied"
    assert pushed["results"][0]["detail"] == "Newer edits kept for: seat."
    assert pushed["results"][0]["records"][0]["data"]["seat"] == "window"
    await phone.pull()
    await tablet.pull()
    assert phone.one("preferences")["seat"] == tablet.one("preferences")["seat"] == "window"
    assert phone.one("preferences")["clocks"]["seat"].endswith(f":{tablet.client_id}")


async def test_a_rest_edit_after_a_device_edit_wins_and_a_later_device_edit_wins_over_it(
    client: TestClient,
) -> None:
    user = uuid.uuid4()
    phone = Device(client, user)
    phone.mutate("preferences.update", {"seat": "aisle", "meal": "halal"})
    await phone.push()
    response = await client.put("/v1/me/preferences", json={"seat": "window", "meal": "halal"},
                                headers=bearer(user))  # fmt: skip
    assert response.status == 200, await response.text()
    await phone.pull()
    prefs = phone.one("preferences")
    assert (prefs["seat"], prefs["meal"]) == ("window", "halal")
    assert prefs["clocks"]["seat"].endswith(":server")
    assert prefs["clocks"]["meal"].endswith(f":{phone.client_id}")  # unchanged by the PUT
    phone.mutate("preferences.update", {"seat": "no_preference"})  # after seeing the server's
    await phone.push()
    await phone.pull()
    assert phone.one("preferences")["seat"] == "no_preference"


# Travellers: base versions, merges and conflicts -------------------------------------------


async def test_travelers_edited_on_different_fields_merge(client: TestClient) -> None:
    user = uuid.uuid4()
    phone, tablet = Device(client, user), Device(client, user)
    grace = str(uuid.uuid4())
    phone.mutate("travelers.upsert", {"id": grace, "fields": traveler()})
    await phone.push()
    await tablet.pull()
    phone.mutate("travelers.upsert", {"id": grace, "base_version": 1,
                                      "fields": {"passport_number": "X1234567"}})  # fmt: skip
    tablet.mutate("travelers.upsert", {"id": grace, "base_version": 1,
                                       "fields": {"nationality": "US"}})  # fmt: skip
    assert (await phone.push())["results"][0]["status"] == "applied"
    result = (await tablet.push())["results"][0]
    assert result["status"] == "applied"
    assert result["records"][0]["version"] == 3
    await phone.pull()
    await tablet.pull()
    merged = phone.records("travelers")[grace]
    assert (merged["passport_number"], merged["nationality"]) == ("X1234567", "US")
    assert phone.store == tablet.store


async def test_a_stale_traveler_edit_of_a_changed_field_is_a_conflict_with_the_servers_record(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    phone, tablet = Device(client, user), Device(client, user)
    grace = str(uuid.uuid4())
    phone.mutate("travelers.upsert", {"id": grace, "fields": traveler()})
    await phone.push()
    await tablet.pull()
    phone.mutate("travelers.upsert", {"id": grace, "base_version": 1,
                                      "fields": {"family_name": "Murray Hopper"}})  # fmt: skip
    await phone.push()
    tablet.mutate("travelers.upsert", {"id": grace, "base_version": 1, "fields": {
        "family_name": "Brewster", "nationality": "US"}})  # fmt: skip
    result = (await tablet.push())["results"][0]
    assert result["status"] == "conflict"
    assert result["reason"] == "stale_base_version"
    assert "family_name" in result["detail"]
    (record,) = result["records"]
    assert (record["version"], record["data"]["family_name"]) == (2, "Murray Hopper")
    # Nothing of the conflicting mutation was applied, not even its other field.
    row = await db.fetchrow("SELECT family_name, nationality, version FROM travelers")
    assert tuple(row) == ("Murray Hopper", None, 2)
    # Resolved on the device and sent again on the server's version, it applies.
    tablet.mutate("travelers.upsert", {"id": grace, "base_version": 2, "fields": {
        "family_name": "Brewster", "nationality": "US"}})  # fmt: skip
    assert (await tablet.push())["results"][0]["status"] == "applied"


async def test_deleted_travelers_stay_deleted(client: TestClient) -> None:
    user = uuid.uuid4()
    phone, tablet = Device(client, user), Device(client, user)
    grace = str(uuid.uuid4())
    phone.mutate("travelers.upsert", {"id": grace, "fields": traveler()})
    await phone.push()
    await tablet.pull()
    phone.mutate("travelers.delete", {"id": grace, "base_version": 1})
    await phone.push()
    tablet.mutate("travelers.upsert", {"id": grace, "base_version": 1,
                                       "fields": {"nationality": "US"}})  # fmt: skip
    result = (await tablet.push())["results"][0]
    assert (result["status"], result["reason"]) == ("rejected", "deleted")
    assert result["records"][0]["op"] == "delete"
    changes = await tablet.pull()
    assert {"collection": "travelers", "id": grace, "op": "delete", "version": 2,
            "data": None} in changes  # fmt: skip
    assert tablet.records("travelers") == {}


# Trip notes --------------------------------------------------------------------------------


async def test_trip_notes_merge_per_field_and_deletes_win(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    user = uuid.uuid4()
    booking = await trip(client, db, user)
    phone, tablet = Device(client, user), Device(client, user)
    note = str(uuid.uuid4())
    phone.mutate("trip_notes.upsert", {"id": note, "booking_id": booking["id"],
                                       "title": "London", "body": "Pack an umbrella"})  # fmt: skip
    await phone.push()
    await tablet.pull()
    tablet.mutate("trip_notes.upsert", {"id": note, "booking_id": booking["id"],
                                        "title": "London!"})  # fmt: skip
    phone.mutate("trip_notes.upsert", {"id": note, "booking_id": booking["id"],
                                       "body": "Pack two umbrellas"})  # fmt: skip
    await phone.push()
    await tablet.push()
    await phone.pull()
    await tablet.pull()
    merged = phone.records("trip_notes")[note]
    assert (merged["title"], merged["body"]) == ("London!", "Pack two umbrellas")
    assert phone.store == tablet.store

    phone.mutate("trip_notes.delete", {"id": note})
    tablet.mutate("trip_notes.upsert", {"id": note, "booking_id": booking["id"],
                                        "body": "Edited later, on the tablet"})  # fmt: skip
    await phone.push()
    assert (await tablet.push())["results"][0]["reason"] == "deleted"
    await phone.pull()
    await tablet.pull()
    assert phone.records("trip_notes") == tablet.records("trip_notes") == {}


async def test_notes_only_on_the_users_own_trips(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    booking = await trip(client, db, owner)
    device = Device(client, stranger)
    device.mutate("trip_notes.upsert", {"id": str(uuid.uuid4()), "booking_id": booking["id"],
                                        "title": "Not my trip"})  # fmt: skip
    result = (await device.push())["results"][0]
    assert (result["status"], result["reason"]) == ("rejected", "trip_not_found")
    assert await db.fetchval("SELECT count(*) FROM trip_notes") == 0
