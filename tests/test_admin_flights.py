"""Flight operations by ops staff: versioned writes, change capture, and the audit log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.factories import add_flight, add_world
from tests.problems import assert_problem
from tests.sse_client import SseReader
from tests.tokens import access_token


def staff(*roles: str, user: uuid.UUID | None = None) -> dict[str, str]:
    """Authorization for a user holding ``roles`` in the token's app_metadata."""
    token = access_token(user or uuid.uuid4(), app_metadata={"roles": list(roles)})
    return {"Authorization": f"Bearer {token}"}


OPS = staff("ops")
ADMIN = staff("admin")


@pytest.fixture
async def flights(db: asyncpg.Connection) -> list[int]:
    """Three legs out of JFK departing within the next hours (on the live board)."""
    await add_world(db)
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        await add_flight(db, origin="JFK", destination=dest, number=n,
                         departure=now + timedelta(hours=n), departure_gate=f"B{n}")
        for n, dest in ((1, "LHR"), (2, "CDG"), (3, "LAX"))
    ]  # fmt: skip


@pytest.fixture
async def board(client: TestClient, flights: list[int]) -> AsyncIterator[SseReader]:
    """A connected JFK departures stream that has consumed its snapshot."""
    response = await client.get("/v1/streams/boards/JFK")
    reader = SseReader(response)
    assert (await reader.next()).event == "snapshot"
    yield reader
    response.close()


async def etag_of(client: TestClient, flight_id: int) -> str:
    response = await client.get(f"/v1/flights/{flight_id}")
    assert response.status == 200
    return response.headers["ETag"]


async def write(
    client: TestClient, method: str, path: str, body: dict[str, Any], if_match: str | None,
    headers: dict[str, str] = OPS,
) -> Any:  # fmt: skip
    sent = dict(headers)
    if if_match is not None:
        sent["If-Match"] = if_match
    return await client.request(method, path, json=body, headers=sent)


async def test_flight_detail_carries_its_version_as_etag(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    assert await etag_of(client, flights[0]) == '"1"'
    await db.execute("UPDATE flights SET departure_gate = 'C9' WHERE id = $1", flights[0])
    assert await etag_of(client, flights[0]) == '"2"'


async def test_gate_change_reaches_the_board_and_the_audit_log(
    client: TestClient, board: SseReader, flights: list[int]
) -> None:
    user = uuid.uuid4()
    response = await write(client, "PATCH", f"/v1/admin/flights/{flights[1]}/stands",
                           {"departure_gate": "c12", "reason": "stand swap"},
                           await etag_of(client, flights[1]), staff("ops", user=user))  # fmt: skip
    assert response.status == 200, await response.text()
    assert response.headers["ETag"] == '"2"'
    assert (await response.json())["departure"]["gate"] == "C12"

    event = await board.next()
    assert event.event == "flight.gate_changed"
    assert event.json()["changes"] == {"departure_gate": ["B2", "C12"]}

    audit = await client.get("/v1/admin/audit", params={"entity": "flight"}, headers=ADMIN)
    assert audit.status == 200
    [entry] = (await audit.json())["entries"]
    assert (entry["actor"], entry["action"], entry["entity_id"]) == (
        str(user), "flight.stands", str(flights[1]))  # fmt: skip
    assert entry["changes"] == {"departure_gate": ["B2", "C12"]}
    assert entry["reason"] == "stand swap"
    assert entry["actor_roles"] == ["ops", "passenger"]
    assert entry["request_id"] == response.headers["X-Request-ID"]


async def test_a_stale_if_match_never_overwrites(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    seen = await etag_of(client, flights[0])
    await db.execute("UPDATE flights SET departure_gate = 'D1' WHERE id = $1", flights[0])
    response = await write(client, "PATCH", f"/v1/admin/flights/{flights[0]}/stands",
                           {"departure_gate": "E5"}, seen)  # fmt: skip
    body = await assert_problem(response, 412)
    assert body["current_version"] == 2
    assert await db.fetchval("SELECT departure_gate FROM flights WHERE id = $1", flights[0]) == "D1"
    assert await db.fetchval("SELECT count(*) FROM admin_audit_log") == 0


async def test_a_write_without_if_match_is_428(client: TestClient, flights: list[int]) -> None:
    response = await write(client, "POST", f"/v1/admin/flights/{flights[0]}/cancel",
                           {"reason": "crew shortage"}, None)  # fmt: skip
    await assert_problem(response, 428)
    unreadable = await write(client, "POST", f"/v1/admin/flights/{flights[0]}/cancel",
                             {"reason": "crew shortage"}, "*")  # fmt: skip
    await assert_problem(unreadable, 422, field="header.If-Match")


async def test_delay_moves_the_arrival_with_the_departure(
    client: TestClient, board: SseReader, db: asyncpg.Connection, flights: list[int]
) -> None:
    scheduled = await db.fetchval(
        "SELECT scheduled_departure FROM flights WHERE id = $1", flights[0]
    )
    new_time = (scheduled + timedelta(minutes=45)).isoformat()
    response = await write(client, "POST", f"/v1/admin/flights/{flights[0]}/delay",
                           {"estimated_departure": new_time, "reason": "late inbound"},
                           '"1"')  # fmt: skip
    assert response.status == 200, await response.text()
    flight = await response.json()
    assert flight["delay_minutes"] == 45
    row = await db.fetchrow("SELECT * FROM flights WHERE id = $1", flights[0])
    assert row["estimated_arrival"] - row["scheduled_arrival"] == timedelta(minutes=45)
    event = await board.next()
    assert event.event == "flight.delayed"


async def test_cancel_is_refused_once_departed_and_needs_a_reason(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    no_reason = await write(client, "POST", f"/v1/admin/flights/{flights[0]}/cancel", {}, '"1"')
    await assert_problem(no_reason, 422, field="body.reason")
    await db.execute("UPDATE flights SET status = 'departed' WHERE id = $1", flights[0])
    response = await write(client, "POST", f"/v1/admin/flights/{flights[0]}/cancel",
                           {"reason": "weather"}, '"2"')  # fmt: skip
    body = await assert_problem(response, 409)
    assert body["status"] == 409

    cancelled = await write(client, "POST", f"/v1/admin/flights/{flights[1]}/cancel",
                            {"reason": "weather"}, '"1"')  # fmt: skip
    assert (await cancelled.json())["status"] == "cancelled"


async def test_diversion_moves_the_flight_between_arrival_boards(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    await db.execute("UPDATE flights SET status = 'departed', baggage_belt = '7' WHERE id = $1",
                     flights[0])  # fmt: skip
    lgw = await client.get("/v1/streams/boards/LGW", params={"kind": "arrivals"})
    reader = SseReader(lgw)
    assert (await reader.next()).event == "snapshot"
    response = await write(client, "POST", f"/v1/admin/flights/{flights[0]}/divert",
                           {"destination": "lgw", "reason": "fog at LHR"}, '"2"')  # fmt: skip
    assert response.status == 200, await response.text()
    flight = await response.json()
    assert (flight["status"], flight["arrival"]["airport"]["iata"]) == ("diverted", "LGW")
    assert flight["arrival"]["baggage_belt"] is None
    event = await reader.next()
    assert event.json()["flight"]["id"] == flights[0]
    lgw.close()


async def test_reschedule_keeps_the_service_date(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    scheduled = await db.fetchval(
        "SELECT scheduled_departure FROM flights WHERE id = $1", flights[2]
    )
    next_week = (scheduled + timedelta(days=7)).isoformat()
    response = await write(client, "PATCH", f"/v1/admin/flights/{flights[2]}/schedule",
                           {"scheduled_departure": next_week}, '"1"')  # fmt: skip
    await assert_problem(response, 422, field="body.scheduled_departure")
    swapped = await write(client, "PATCH", f"/v1/admin/flights/{flights[2]}/schedule",
                          {"aircraft_type": "32N", "reason": "equipment swap"},
                          '"1"')  # fmt: skip
    assert swapped.status == 200, await swapped.text()
    assert (await swapped.json())["aircraft"]["code"] == "32N"


async def test_a_new_leg_is_announced_on_its_board(
    client: TestClient, board: SseReader, db: asyncpg.Connection
) -> None:
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=4)
    leg = {
        "carrier": "SB", "flight_number": 777, "origin": "JFK", "destination": "BOS",
        "scheduled_departure": departure.isoformat(),
        "scheduled_arrival": (departure + timedelta(hours=1, minutes=20)).isoformat(),
        "aircraft_type": "32N",
        "cabins": [{"cabin": "economy", "capacity": 150, "base_fare_minor": 9900,
                    "currency": "USD"}],
    }  # fmt: skip
    response = await client.post("/v1/admin/flights", json=leg, headers=OPS)
    assert response.status == 201, await response.text()
    flight = await response.json()
    assert response.headers["Location"] == f"/v1/flights/{flight['id']}"
    assert flight["designator"] == "SB777"
    event = await board.next()
    assert event.event == "flight.created"
    assert event.json()["flight"]["id"] == flight["id"]

    again = await client.post("/v1/admin/flights", json=leg, headers=OPS)
    await assert_problem(again, 409)
    unknown = await client.post("/v1/admin/flights", json={**leg, "destination": "ZZZ"},
                                headers=OPS)  # fmt: skip
    await assert_problem(unknown, 422, field="body.destination")


async def test_bulk_delay_moves_every_departure_in_the_window(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    await db.execute("UPDATE flights SET status = 'departed' WHERE id = $1", flights[0])
    now = datetime.now(UTC)
    response = await client.post("/v1/admin/flights/bulk-delay", headers=OPS, json={
        "airport": "JFK", "minutes": 30, "from": now.isoformat(),
        "to": (now + timedelta(hours=12)).isoformat(), "reason": "thunderstorms"})  # fmt: skip
    assert response.status == 200, await response.text()
    result = await response.json()
    assert sorted(f["id"] for f in result["delayed"]) == flights[1:]
    delays = await db.fetch(
        "SELECT estimated_departure - scheduled_departure AS delay FROM flights WHERE id = ANY($1)",
        flights[1:],
    )
    assert {row["delay"] for row in delays} == {timedelta(minutes=30)}
    entries = await db.fetch("SELECT entity_id, batch FROM admin_audit_log ORDER BY entity_id")
    assert [int(e["entity_id"]) for e in entries] == flights[1:]
    assert {str(e["batch"]) for e in entries} == {result["batch"]}


async def test_bulk_delay_windows_are_bounded(client: TestClient, flights: list[int]) -> None:
    now = datetime.now(UTC)
    response = await client.post("/v1/admin/flights/bulk-delay", headers=OPS, json={
        "airport": "JFK", "minutes": 30, "from": now.isoformat(),
        "to": (now + timedelta(days=3)).isoformat(), "reason": "thunderstorms"})  # fmt: skip
    await assert_problem(response, 422, field="body")


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), (staff(), 403), (staff("agent"), 403), (staff("admin"), 403)],
)
async def test_flight_admin_needs_the_ops_role(
    client: TestClient, flights: list[int], headers: dict[str, str], status: int
) -> None:
    response = await write(client, "POST", f"/v1/admin/flights/{flights[0]}/cancel",
                           {"reason": "weather"}, '"1"', headers)  # fmt: skip
    await assert_problem(response, status)


async def test_the_audit_log_is_for_admins_and_cannot_be_rewritten(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    await write(client, "POST", f"/v1/admin/flights/{flights[0]}/cancel", {"reason": "weather"},
                '"1"')  # fmt: skip
    await assert_problem(await client.get("/v1/admin/audit", headers=OPS), 403)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("UPDATE admin_audit_log SET reason = 'nothing'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("DELETE FROM admin_audit_log")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await db.execute("TRUNCATE admin_audit_log")
    assert await db.fetchval("SELECT count(*) FROM admin_audit_log") == 1


async def test_audit_pages_with_a_cursor(client: TestClient, flights: list[int]) -> None:
    for flight_id in flights:
        await write(client, "PATCH", f"/v1/admin/flights/{flight_id}/stands",
                    {"baggage_belt": "3"}, '"1"')  # fmt: skip
    first = await (await client.get("/v1/admin/audit", params={"limit": "2"},
                                    headers=ADMIN)).json()  # fmt: skip
    assert [e["entity_id"] for e in first["entries"]] == [str(flights[2]), str(flights[1])]
    rest = await (
        await client.get(
            "/v1/admin/audit", headers=ADMIN, params={"limit": "2", "cursor": first["next_cursor"]}
        )
    ).json()
    assert [e["entity_id"] for e in rest["entries"]] == [str(flights[0])]
    assert rest["next_cursor"] is None
    bad = await client.get("/v1/admin/audit", params={"cursor": "x1"}, headers=ADMIN)
    await assert_problem(bad, 422, field="query.cursor")
