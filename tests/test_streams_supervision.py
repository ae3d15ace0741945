"""The change listener under supervision: a failure is restarted without losing an
event, and readiness tells a load balancer when the pipeline is down or stuck."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.keys import metrics_key, realtime_key, supervisor_key
from streams import changelog
from tests.factories import add_flight, add_world
from tests.sse_client import SseReader
from tests.waiting import eventually


@pytest.fixture
async def flight(db: asyncpg.Connection) -> int:
    """One leg out of JFK in an hour."""
    await add_world(db)
    departure = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    return await add_flight(db, origin="JFK", destination="LHR", departure=departure)


@pytest.fixture
def broken_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Makes the listener's reads of the log fail (``failing``) or hang (``stuck``)."""
    state: dict[str, Any] = {"failing": False, "stuck": None}
    real = changelog.released_events

    async def released_events(*args: Any, **kwargs: Any) -> Any:
        if state["failing"]:
            raise RuntimeError("injected failure in the listener")
        if state["stuck"] is not None:
            await state["stuck"].wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(changelog, "released_events", released_events)
    yield state
    if state["stuck"] is not None:
        state["stuck"].set()


async def _readiness(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status, await response.json()


def _restarts(client: TestClient) -> float:
    registry = client.app[metrics_key].registry
    value = registry.get_sample_value("skybound_task_restarts_total", {"task": "change-listener"})
    return value or 0.0


async def test_a_listener_that_fails_is_restarted_and_loses_nothing(
    client: TestClient, db: asyncpg.Connection, flight: int, broken_log: dict[str, Any]
) -> None:
    board = SseReader(await client.get("/v1/streams/boards/JFK"))
    assert (await board.next()).event == "snapshot"
    broken_log["failing"] = True
    await db.execute("UPDATE flights SET departure_gate = 'F1' WHERE id = $1", flight)
    await eventually(lambda: _restarts(client) >= 1, what="a restart counted")
    await db.execute("UPDATE flights SET departure_gate = 'F2' WHERE id = $1", flight)
    broken_log["failing"] = False
    gates = [(await board.next(wait=15)).json()["flight"]["departure"]["gate"] for _ in range(2)]
    assert gates == ["F1", "F2"]
    await eventually(
        lambda: client.app[supervisor_key].tasks["change-listener"].alive, what="running again"
    )
    status, body = await _readiness(client)
    assert status == 200, body
    metrics = await (await client.get("/metrics")).text()
    assert 'skybound_task_restarts_total{task="change-listener"}' in metrics


async def test_readiness_names_the_listener_while_it_is_down(
    client: TestClient, db: asyncpg.Connection, flight: int, broken_log: dict[str, Any]
) -> None:
    supervisor = client.app[supervisor_key]
    supervisor.tasks["change-listener"].max_backoff = 30.0
    supervisor.tasks["change-listener"].min_backoff = 30.0
    broken_log["failing"] = True
    await db.execute("UPDATE flights SET departure_gate = 'X1' WHERE id = $1", flight)
    await eventually(lambda: supervisor.down() == ["change-listener"], what="listener down")
    status, body = await _readiness(client)
    assert status == 503
    assert body["status"] == "not_ready"
    assert body["checks"]["change_listener"] is False
    assert body["checks"]["background_tasks"] is False
    assert body["details"]["background_tasks"] == {"down": ["change-listener"]}


async def test_readiness_fails_while_the_listener_is_stuck_behind_the_log(
    client: TestClient, db: asyncpg.Connection, flight: int, broken_log: dict[str, Any]
) -> None:
    realtime = client.app[realtime_key]
    board = SseReader(await client.get("/v1/streams/boards/JFK"))
    assert (await board.next()).event == "snapshot"
    broken_log["stuck"] = asyncio.Event()
    await db.execute("UPDATE flights SET departure_gate = 'S1' WHERE id = $1", flight)
    newest = int(await db.fetchval("SELECT max(id) FROM change_events"))
    assert realtime.hub.cursor < newest
    status, body = await _readiness(client)
    assert status == 503, body
    assert body["checks"]["change_listener_lag"] is False
    lag = body["details"]["change_listener_lag"]
    assert lag["events"] >= 1
    assert lag["progressing"] is False
    assert lag["released"] == newest
    # The listener itself is alive: only the lag check saw the trouble.
    assert body["checks"]["change_listener"] is True
    broken_log["stuck"].set()
    assert (await board.next()).json()["flight"]["departure"]["gate"] == "S1"
    status, body = await _readiness(client)
    assert status == 200, body


async def test_a_protocol_error_from_a_killed_connection_is_a_reconnect_not_a_crash(
    client: TestClient, db: asyncpg.Connection, flight: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg can report a connection killed mid-statement as an InternalClientError;
    the listener reconnects as for any lost connection, and nothing is lost."""
    realtime = client.app[realtime_key]
    real = changelog.released_events
    killed = False

    async def dying(conn: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        nonlocal killed
        if not killed:
            killed = True
            conn.terminate()
            raise asyncpg.InternalClientError("cannot switch to state 12")
        return await real(conn, *args, **kwargs)

    monkeypatch.setattr(changelog, "released_events", dying)
    board = SseReader(await client.get("/v1/streams/boards/JFK"))
    assert (await board.next()).event == "snapshot"
    reconnects = realtime.listener.reconnects
    await db.execute("UPDATE flights SET departure_gate = 'K1' WHERE id = $1", flight)
    assert (await board.next(wait=15)).json()["flight"]["departure"]["gate"] == "K1"
    assert killed
    assert realtime.listener.reconnects == reconnects + 1
    assert _restarts(client) == 0
