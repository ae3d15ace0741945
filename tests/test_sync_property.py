"""Property: devices editing offline, pushing and pulling in any order, end equal to the server."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.ticketing import record_locator, ticket_number
from tests.booking_helpers import bearer
from tests.test_sync_devices import Device, traveler

DEVICES = 3

device = st.integers(min_value=0, max_value=DEVICES - 1)
pick = st.integers(min_value=0, max_value=7)
preference = st.sampled_from([
    ("seat", "window"), ("seat", "aisle"), ("meal", "vegan"), ("meal", "kosher"),
    ("language", "fr"), ("language", "pt-BR"), ("marketing_consent", True),
    ("notification_channels", ["push"]), ("notification_channels", ["email", "sms"]),
])  # fmt: skip
traveler_edit = st.sampled_from([
    ("nationality", "US"), ("nationality", "GB"), ("passport_number", "P1234567"),
    ("family_name", "Murray Hopper"), ("given_name", "Amazing Grace"),
    ("loyalty_numbers", {"SB": "GOLD1234"}), ("passport_number", None),
])  # fmt: skip
text = st.sampled_from(["", "Umbrella", "Gate closes early", "Taxi booked"])

operation = st.one_of(
    st.tuples(st.just("preferences"), device, preference),
    st.tuples(st.just("new_traveler"), device),
    st.tuples(st.just("edit_traveler"), device, pick, traveler_edit),
    st.tuples(st.just("delete_traveler"), device, pick),
    st.tuples(st.just("new_note"), device, text),
    st.tuples(st.just("edit_note"), device, pick, st.sampled_from(["title", "body"]), text),
    st.tuples(st.just("delete_note"), device, pick),
    st.tuples(st.just("read"), device, pick),
    st.tuples(st.just("push"), device),
    st.tuples(st.just("pull"), device),
    st.tuples(st.just("pull_page"), device),
    st.tuples(st.just("gate"), st.sampled_from(["A1", "B2", "C3"])),
    st.tuples(st.just("rest_preferences"), st.sampled_from(["window", "aisle"])),
)


async def _trip_by_sql(db: asyncpg.Connection, user: uuid.UUID, flight: int) -> str:
    """A confirmed one-leg booking with a ticket, written as another service would."""
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", user)
    booking = await db.fetchval(
        """INSERT INTO bookings (record_locator, user_id, total_minor, currency)
           VALUES ($1, $2, 26000, 'USD') RETURNING id""",
        record_locator(), user,
    )  # fmt: skip
    passenger = await db.fetchval(
        """INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name,
                                   family_name, date_of_birth)
           VALUES ($1, 1, 'adult', 'Ada', 'Lovelace', '1985-12-10') RETURNING id""",
        booking,
    )
    await db.execute(
        """INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,
                                         fare_brand)
           VALUES ($1, 1, 1, $2, 'economy', 'SB_ECO_STANDARD')""",
        booking, flight,
    )  # fmt: skip
    serial = await db.fetchval("SELECT nextval('ticket_serial_seq')")
    await db.execute(
        "INSERT INTO tickets (ticket_number, booking_id, passenger_id) VALUES ($1, $2, $3)",
        ticket_number("901", serial), booking, passenger,
    )  # fmt: skip
    return str(booking)


def _nth(records: dict[str, dict[str, Any]], n: int) -> tuple[str, dict[str, Any]] | None:
    if not records:
        return None
    key = sorted(records)[n % len(records)]
    return key, records[key]


async def _run(
    client: TestClient, db: asyncpg.Connection, flight: int, ops: list[tuple[Any, ...]],
    limits: list[int],
) -> None:  # fmt: skip
    user = uuid.uuid4()
    booking = await _trip_by_sql(db, user, flight)
    devices = [Device(client, user, limit=limit, name=f"d{i}") for i, limit in enumerate(limits)]
    for op in ops:
        kind, args = op[0], op[1:]
        if kind == "gate":
            await db.execute("UPDATE flights SET departure_gate = $2 WHERE id = $1", flight,
                             args[0])  # fmt: skip
            continue
        if kind == "rest_preferences":
            response = await client.put("/v1/me/preferences", json={"seat": args[0]},
                                        headers=bearer(user))  # fmt: skip
            assert response.status == 200
            continue
        me = devices[args[0]]
        if kind == "preferences":
            name, value = args[1]
            me.mutate("preferences.update", {name: value})
        elif kind == "new_traveler":
            me.mutate("travelers.upsert", {"id": str(uuid.uuid4()), "fields": traveler()})
        elif kind in ("edit_traveler", "delete_traveler"):
            found = _nth({k: r for (c, k), r in me.store.items() if c == "travelers"}, args[1])
            if found is None:
                continue
            key, record = found
            if kind == "delete_traveler":
                me.mutate("travelers.delete", {"id": key, "base_version": record["version"]})
            else:
                name, value = args[2]
                me.mutate("travelers.upsert", {"id": key, "base_version": record["version"],
                                               "fields": {name: value}})  # fmt: skip
        elif kind == "new_note":
            me.mutate("trip_notes.upsert", {"id": str(uuid.uuid4()), "booking_id": booking,
                                            "title": args[1]})  # fmt: skip
        elif kind in ("edit_note", "delete_note"):
            found = _nth(me.records("trip_notes"), args[1])
            if found is None:
                continue
            if kind == "delete_note":
                me.mutate("trip_notes.delete", {"id": found[0]})
            else:
                me.mutate("trip_notes.upsert", {"id": found[0], "booking_id": booking,
                                                args[2]: args[3]})  # fmt: skip
        elif kind == "read":
            found = _nth(me.records("notifications"), args[1])
            if found is not None:
                me.mutate("notifications.mark_read", {"ids": [int(found[0])]})
        elif kind == "push":
            if me.queue:
                await me.push()
        elif kind == "pull":
            await me.pull()
        else:
            await me.pull_page()

    for me in devices:
        if me.queue:
            await me.push()
    fresh = Device(client, user)
    await fresh.pull()
    for me in devices:
        await me.pull()
        assert me.store == fresh.store
        assert me.last_mutation_ids.get(me.client_id, 0) == me.next_id - 1
    # The state every device agrees on is the server's, record for record.
    assert {c for c, _ in fresh.store} >= {"trips", "flights", "tickets", "preferences"}
    statuses = [r["status"] for me in devices for r in me.results]
    assert set(statuses) <= {"applied", "conflict", "rejected"}


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ops=st.lists(operation, min_size=5, max_size=40),
    limits=st.lists(st.integers(min_value=1, max_value=5), min_size=DEVICES, max_size=DEVICES),
)
async def test_devices_converge_to_the_server_state_whatever_the_order(
    crowd_client: TestClient,
    db: asyncpg.Connection,
    search_world: dict[str, int],
    ops: list[tuple[Any, ...]],
    limits: list[int],
) -> None:
    await _run(crowd_client, db, search_world["jfk_lhr"], ops, limits)
