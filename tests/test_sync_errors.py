"""Bad sync input: each a clear problem, with the mutations before a bad one applied."""

from __future__ import annotations

import io
import uuid
from typing import Any

import asyncpg
import orjson
from aiohttp.test_utils import TestClient

from sync.protocol import SCHEMA_VERSION as SYNC_SCHEMA
from tests.booking_helpers import bearer
from tests.problems import assert_problem
from tests.test_sync_devices import Device, traveler


async def _pull(client: TestClient, user: uuid.UUID, **body: Any) -> Any:
    body = {"cursor": None, "schema_version": SYNC_SCHEMA, **body}
    return await client.post("/v1/sync/pull", json=body, headers=bearer(user))


async def _push(client: TestClient, user: uuid.UUID, mutations: list[Any], **body: Any) -> Any:
    payload = {
        "client_id": "phone",
        "schema_version": SYNC_SCHEMA,
        "mutations": mutations,
        **body,
    }
    return await client.post("/v1/sync/push", json=payload, headers=bearer(user))


def _mutation(mutation_id: int, name: str, args: dict[str, Any], node: str = "phone") -> Any:
    return {"id": mutation_id, "name": name, "args": args,
            "client_time": f"1764077191102:{mutation_id:04d}:{node}"}  # fmt: skip


def _traveler(mutation_id: int) -> Any:
    return _mutation(mutation_id, "travelers.upsert",
                     {"id": str(uuid.uuid4()), "fields": traveler()})  # fmt: skip


async def test_sync_needs_a_token(client: TestClient) -> None:
    response = await client.post(
        "/v1/sync/pull", json={"cursor": None, "schema_version": SYNC_SCHEMA}
    )
    await assert_problem(response, 401)
    body = {"client_id": "x", "schema_version": SYNC_SCHEMA, "mutations": []}
    response = await client.post("/v1/sync/push", json=body)
    await assert_problem(response, 401)


async def test_unknown_collections_and_fields_are_named(client: TestClient) -> None:
    user = uuid.uuid4()
    response = await _pull(client, user, collections=["trips", "boarding_cards"])
    await assert_problem(response, 422, field="body.collections.1")
    await assert_problem(await _pull(client, user, since=5), 422, field="body.since")
    await assert_problem(await _pull(client, user, limit=0), 422, field="body.limit")
    await assert_problem(await _pull(client, user, limit=10_001), 422, field="body.limit")
    response = await client.post("/v1/sync/pull", json={"cursor": None}, headers=bearer(user))
    await assert_problem(response, 422, field="body.schema_version")


async def test_garbage_and_edited_cursors_are_refused(client: TestClient) -> None:
    user = uuid.uuid4()
    device = Device(client, user)
    await device.pull()
    assert device.cursor is not None
    for cursor in ("garbage", "s1.e30.AAAA", device.cursor[:-2] + "AA", "x" * 1025):
        body = await assert_problem(await _pull(client, user, cursor=cursor), 422,
                                    field="body.cursor")  # fmt: skip
        assert body["type"] == "https://skybound.dev/problems/validation-error"


async def test_another_users_cursor_is_refused(client: TestClient) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    device = Device(client, alice)
    await device.pull()
    body = await assert_problem(await _pull(client, bob, cursor=device.cursor), 422,
                                field="body.cursor")  # fmt: skip
    assert body["errors"][0]["message"] == "This cursor was issued to another user."


async def test_a_cursor_is_for_the_collections_it_was_issued_for(client: TestClient) -> None:
    user = uuid.uuid4()
    device = Device(client, user)
    await device.pull()
    response = await _pull(client, user, cursor=device.cursor, collections=["flights"])
    await assert_problem(response, 422, field="body.collections")


async def test_a_schema_too_old_or_too_new_is_told_to_reset(client: TestClient) -> None:
    user = uuid.uuid4()
    for version in (SYNC_SCHEMA - 1, SYNC_SCHEMA + 1):
        body = await assert_problem(await _pull(client, user, schema_version=version), 409)
        assert body["type"] == "https://skybound.dev/problems/sync-schema-mismatch"
        assert body["action"] == "reset"
        assert body["reset"] == {"cursor": None, "schema_version": SYNC_SCHEMA}
        assert (body["client_schema_version"], body["schema_version"]) == (version, SYNC_SCHEMA)
        response = await _push(client, user, [_traveler(1)], schema_version=version)
        assert (await assert_problem(response, 409))["action"] == "reset"


async def test_an_unknown_mutation_stops_the_push_after_applying_those_before(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    mutations = [_traveler(1), _traveler(2), _mutation(3, "travelers.rename", {}), _traveler(4)]
    body = await assert_problem(await _push(client, user, mutations), 422,
                                field="body.mutations[2].name")  # fmt: skip
    assert body["type"] == "https://skybound.dev/problems/sync-mutation-invalid"
    assert [(r["id"], r["status"]) for r in body["results"]] == [(1, "applied"), (2, "applied")]
    assert body["last_mutation_id"] == 2
    assert await db.fetchval("SELECT count(*) FROM travelers") == 2
    # Fixed and sent again, the first two are retries and the rest applies.
    mutations[2] = _traveler(3)
    response = await _push(client, user, mutations)
    results = (await response.json())["results"]
    assert [(r["id"], r.get("replayed", False)) for r in results] == [
        (1, True), (2, True), (3, False), (4, False),
    ]  # fmt: skip
    assert await db.fetchval("SELECT count(*) FROM travelers") == 4


async def test_malformed_arguments_are_named_by_their_path(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    cases = [
        (_mutation(2, "preferences.update", {"seat": "upside-down"}),
         "body.mutations[1].args.seat"),
        (_mutation(2, "preferences.update", {}), "body.mutations[1].args"),
        (_mutation(2, "preferences.update", {"seat": "aisle", "colour": "red"}),
         "body.mutations[1].args.colour"),
        (_mutation(2, "travelers.upsert", {"id": str(uuid.uuid4()),
                                           "fields": {"nationality": "US"}}),
         "body.mutations[1].args"),
        (_mutation(2, "travelers.upsert", {"id": "nope", "fields": traveler()}),
         "body.mutations[1].args.id"),
        (_mutation(2, "travelers.upsert", {"id": str(uuid.uuid4()),
                                           "fields": traveler(passport_number="x")}),
         "body.mutations[1].args.fields.passport_number"),
        (_mutation(2, "notifications.mark_read", {"ids": []}), "body.mutations[1].args.ids"),
        (_mutation(2, "notifications.mark_read", {"ids": [1, "two"]}),
         "body.mutations[1].args.ids[1]"),
        (_mutation(2, "booking.change_seat", {"booking_id": str(uuid.uuid4()), "flight_id": 1,
                                              "passenger": 0, "seat": "99Z"}),
         "body.mutations[1].args.seat"),
        ({"id": 2, "name": "preferences.update", "args": {"seat": "aisle"}},
         "body.mutations[1].client_time"),
        (_mutation(2, "preferences.update", {"seat": "aisle"}, node="tablet"),
         "body.mutations[1].client_time"),
        ({**_traveler(2), "client_time": "yesterday"}, "body.mutations[1].client_time"),
        ({**_traveler(2), "id": 0}, "body.mutations[1].id"),
        ({**_traveler(2), "extra": True}, "body.mutations[1].extra"),
        ("not an object", "body.mutations[1]"),
    ]  # fmt: skip
    for index, (bad, field) in enumerate(cases):
        client_id = f"device-{index}"
        first = {**_traveler(1), "client_time": f"1764077191102:0001:{client_id}"}
        if isinstance(bad, dict) and str(bad.get("client_time", "")).endswith(":phone"):
            bad = {**bad, "client_time": bad["client_time"].replace(":phone", f":{client_id}")}
        response = await _push(client, user, [first, bad], client_id=client_id)
        body = await assert_problem(response, 422, field=field)
        assert [r["id"] for r in body["results"]] == [1], field
    assert await db.fetchval("SELECT count(*) FROM travelers") == len(cases)


async def test_mutation_ids_going_backwards_are_refused(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    response = await _push(client, user, [_traveler(5), _traveler(7), _traveler(6)])
    body = await assert_problem(response, 422, field="body.mutations[2].id")
    assert [r["id"] for r in body["results"]] == [5, 7]
    assert body["last_mutation_id"] == 7
    response = await _push(client, user, [_traveler(8), _traveler(8)])
    await assert_problem(response, 422, field="body.mutations[1].id")
    assert await db.fetchval("SELECT count(*) FROM travelers") == 3


async def test_oversized_pushes_are_refused_whole(
    client: TestClient, db: asyncpg.Connection
) -> None:
    user = uuid.uuid4()
    too_many = [_traveler(i) for i in range(1, 502)]
    await assert_problem(await _push(client, user, too_many), 422, field="body.mutations")
    huge = [_traveler(i) for i in range(1, 501)]
    for mutation in huge:
        mutation["args"]["fields"]["family_name"] = "Hopper" + "x" * 3000
    # Bigger than SKYBOUND_MAX_BODY_BYTES (1 MiB): refused before it is even parsed.
    body = io.BytesIO(orjson.dumps({"client_id": "phone", "schema_version": SYNC_SCHEMA,
                                    "mutations": huge}))  # fmt: skip
    response = await client.post("/v1/sync/push", data=body, headers={
        **bearer(user), "Content-Type": "application/json"})  # fmt: skip
    await assert_problem(response, 413)
    assert await db.fetchval("SELECT count(*) FROM travelers") == 0


async def test_a_bad_client_id_is_refused(client: TestClient) -> None:
    user = uuid.uuid4()
    for client_id in ("server", "has space", "x" * 65):
        response = await _push(client, user, [], client_id=client_id)
        await assert_problem(response, 422, field="body.client_id")
