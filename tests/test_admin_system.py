"""System monitoring for ops staff, and the day's disrupted flights the dashboard lists."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.keys import realtime_key
from foundation.settings import Settings
from server.app import create_app
from tests.factories import add_flight, add_world
from tests.problems import assert_problem
from tests.sse_client import SseReader
from tests.test_cli import _env, _free_port, _serve, _stop, _wait_ready
from tests.tokens import TEST_JWT_SECRET, access_token


def staff(*roles: str, ttl: float = 3600) -> dict[str, str]:
    """Authorization for a new user holding ``roles``."""
    token = access_token(uuid.uuid4(), ttl=ttl, app_metadata={"roles": list(roles)})
    return {"Authorization": f"Bearer {token}"}


OPS = staff("ops")
PASSENGER = staff()


@pytest.mark.parametrize("path", ["/v1/admin/system", "/v1/admin/system/stream",
                                  "/v1/admin/flights/disruptions"])  # fmt: skip
async def test_monitoring_refuses_anonymous_callers_and_passengers(
    client: TestClient, path: str
) -> None:
    await assert_problem(await client.get(path), 401)
    await assert_problem(await client.get(path, headers=PASSENGER), 403)
    await assert_problem(await client.get(path, headers=staff("admin", "agent")), 403)


async def test_system_report_counts_streams_topics_and_requests(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    boards = [await client.get(f"/v1/streams/boards/{iata}") for iata in ("JFK", "JFK", "LHR")]
    for board in boards:
        assert (await SseReader(board).next()).event == "snapshot"
    await client.get("/v1/flights/999999")  # a 404, not an error

    response = await client.get("/v1/admin/system", headers=OPS)
    assert response.status == 200, await response.text()
    report = await response.json()
    [worker] = report["workers"]
    assert worker["worker"] == "0"
    assert worker["connections"] == {"sse": 3, "websocket": 0, "realtime_compat": 0,
                                     "topics": 2, "subscriptions": 3}  # fmt: skip
    assert report["fleet"]["workers"] == 1
    assert report["fleet"]["connections"] == worker["connections"]
    assert worker["listener"]["up"] is True
    assert worker["listener"]["cursor"] + worker["listener"]["lag_events"] == report["released"]
    assert worker["errors"]["http_5xx"] == 0
    assert worker["errors"]["http_requests"] == 1  # the 404; a stream counts when it ends
    assert worker["errors"]["tasks_down"] == []
    assert worker["pool"]["max"] == 4
    assert 0 < worker["uptime_seconds"] < 3600
    assert worker["version"] == "0.1.0"
    assert worker["python"]
    assert worker["aiohttp"]
    assert report["database_version"]
    assert (report["outbox_depth"], report["jobs_due"], report["bookings_last_minute"]) == (0, 0, 0)
    for board in boards:
        board.close()


async def test_lag_is_the_released_log_ahead_of_the_hub(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR",
                              departure=datetime.now(UTC) + timedelta(hours=2))  # fmt: skip
    await db.execute("UPDATE flights SET departure_gate = 'Q1' WHERE id = $1", flight)
    newest = await db.fetchval("SELECT max(id) FROM change_events")
    lags = []
    for _ in range(200):  # the hub catches up; the report says how far it is at each look
        report = await (await client.get("/v1/admin/system", headers=OPS)).json()
        assert report["released"] == newest
        listener = report["fleet"]["listener"]
        assert listener["lag_events"] == newest - listener["cursor"]
        lags.append(listener["lag_events"])
        if lags[-1] == 0:
            break
        await asyncio.sleep(0.05)
    assert lags[-1] == 0


@pytest.fixture
async def quick_client(aiohttp_client: Any, settings: Settings) -> TestClient:
    """An app whose system stream sends every 0.2 seconds."""
    quick = settings.model_copy(update={"system_stream_seconds": 0.2})
    return await aiohttp_client(create_app(quick))


async def test_system_stream_sends_the_report_again_and_again(quick_client: TestClient) -> None:
    response = await quick_client.get("/v1/admin/system/stream", headers=OPS)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    reader = SseReader(response)
    first = await reader.next()
    assert first.event == "system"
    assert first.json()["workers"][0]["connections"]["sse"] == 0  # itself is no hub client
    second = await reader.next()
    assert second.event == "system"
    assert second.json()["at"] > first.json()["at"]
    assert reader.retry is not None
    response.close()


async def test_system_stream_ends_when_the_token_does(quick_client: TestClient) -> None:
    response = await quick_client.get("/v1/admin/system/stream", headers=staff("ops", ttl=1))
    reader = SseReader(response)
    while (event := await reader.next()).event == "system":
        pass
    assert event.event == "error"
    assert event.json()["code"] == "token_expired"
    with pytest.raises(EOFError):
        await reader.next()


async def test_system_stream_ends_when_the_users_sessions_are_revoked(
    quick_client: TestClient,
) -> None:
    user = uuid.uuid4()
    ops = {"Authorization": f"Bearer {access_token(user, app_metadata={'roles': ['ops']})}"}
    assert (await quick_client.get("/v1/me", headers=ops)).status == 200  # a known user
    reader = SseReader(await quick_client.get("/v1/admin/system/stream", headers=ops))
    assert (await reader.next()).event == "system"
    revoked = await quick_client.post(
        f"/v1/admin/users/{user}/sessions/revoke", headers=staff("admin"), json={"reason": "lost"}
    )
    assert revoked.status == 200, await revoked.text()
    while (event := await reader.next()).event == "system":
        pass
    assert event.event == "error"
    assert event.json()["code"] == "token_revoked"
    with pytest.raises(EOFError):
        await reader.next()


async def test_system_stream_asks_to_reconnect_when_the_server_shuts_down(
    aiohttp_client: Any, settings: Settings
) -> None:
    # Reports five minutes apart: only the shutdown can end the stream within the wait.
    slow = settings.model_copy(update={"system_stream_seconds": 300})
    client: TestClient = await aiohttp_client(create_app(slow))
    reader = SseReader(await client.get("/v1/admin/system/stream", headers=OPS))
    assert (await reader.next()).event == "system"
    client.app[realtime_key].shutdown()
    with pytest.raises(EOFError):
        await reader.next()
    assert reader.retry is not None


async def test_a_two_worker_instance_reports_each_worker_and_the_fleet(
    database_url: str,
) -> None:
    port = _free_port()
    env = _env(DATABASE_URL=database_url, SUPABASE_JWT_SECRET=TEST_JWT_SECRET)
    process = await _serve("--port", str(port), "--workers", "2", env=env)
    try:
        await _wait_ready(port)
        async with aiohttp.ClientSession() as session:
            report: dict[str, Any] = {}
            deadline = time.monotonic() + 30
            # Each worker publishes every 2 seconds; ask until both have.
            while time.monotonic() < deadline:
                async with session.get(
                    f"http://127.0.0.1:{port}/v1/admin/system",
                    headers={**OPS, "Connection": "close"},
                ) as response:
                    assert response.status == 200, await response.text()
                    report = await response.json()
                if report["fleet"]["workers"] == 2 and report["fleet"]["listener"]["up"]:
                    break
                await asyncio.sleep(0.3)
        assert sorted(w["worker"] for w in report["workers"]) == ["0", "1"]
        assert report["fleet"]["workers"] == 2
        assert report["fleet"]["listener"]["up"] is True
        assert report["fleet"]["pool"]["max"] == sum(w["pool"]["max"] for w in report["workers"])
        assert report["fleet"]["errors"]["http_requests"] == sum(
            w["errors"]["http_requests"] for w in report["workers"]
        )
    finally:
        assert await _stop(process) == 0


async def test_disruptions_list_the_days_delayed_cancelled_diverted_and_regated_legs(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    now = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    legs = [await add_flight(db, origin="LHR", destination=dest, number=n,
                             departure=now + timedelta(minutes=n), departure_gate="A1")
            for n, dest in enumerate(("JFK", "CDG", "JFK", "CDG", "JFK"), start=1)]  # fmt: skip
    await db.execute("UPDATE flights SET estimated_departure = scheduled_departure"
                     " + interval '40 min' WHERE id = $1", legs[0])  # fmt: skip
    await db.execute("UPDATE flights SET status = 'cancelled' WHERE id = $1", legs[1])
    await db.execute("UPDATE flights SET status = 'diverted' WHERE id = $1", legs[2])
    etag = (await client.get(f"/v1/flights/{legs[3]}")).headers["ETag"]
    changed = await client.patch(f"/v1/admin/flights/{legs[3]}/stands",
                                 json={"departure_gate": "B7"},
                                 headers={**OPS, "If-Match": etag})  # fmt: skip
    assert changed.status == 200
    # legs[4] runs to plan, and a gate set in SQL (a schedule load) is not news.
    await db.execute("UPDATE flights SET departure_gate = 'A2' WHERE id = $1", legs[4])

    day = now.date().isoformat()
    response = await client.get("/v1/admin/flights/disruptions", headers=OPS,
                                params={"date": day, "airport": "lhr"})  # fmt: skip
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["service_date"] == day
    assert body["truncated"] is False
    assert [(f["flight"]["id"], f["disruptions"]) for f in body["flights"]] == [
        (legs[0], ["delayed"]), (legs[1], ["cancelled"]), (legs[2], ["diverted"]),
        (legs[3], ["gate_changed"]),
    ]  # fmt: skip
    assert body["flights"][3]["flight"]["version"] == 2
    elsewhere = await client.get("/v1/admin/flights/disruptions", headers=OPS,
                                 params={"date": day, "airport": "SYD"})  # fmt: skip
    assert (await elsewhere.json())["flights"] == []


async def test_disruptions_name_a_bad_date_or_airport(client: TestClient) -> None:
    for params, field in (({"date": "2026-13-01"}, "query.date"),
                          ({"airport": "LH"}, "query.airport")):  # fmt: skip
        response = await client.get("/v1/admin/flights/disruptions", headers=OPS, params=params)
        await assert_problem(response, 422, field=field)


async def test_openapi_documents_the_monitoring_routes_roles_and_statuses(
    client: TestClient,
) -> None:
    paths = (await (await client.get("/openapi.json")).json())["paths"]
    system = paths["/v1/admin/system"]["get"]
    stream = paths["/v1/admin/system/stream"]["get"]
    disruptions = paths["/v1/admin/flights/disruptions"]["get"]
    for operation in (system, stream, disruptions):
        assert "role: ops" in operation["summary"]
        assert {"200", "401", "403"} <= set(operation["responses"])
        assert operation["security"] == [{"bearerAuth": []}]
    assert {"503", "505"} <= set(stream["responses"])
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert "422" in disruptions["responses"]
    assert "text/html" in paths["/admin"]["get"]["responses"]["200"]["content"]
