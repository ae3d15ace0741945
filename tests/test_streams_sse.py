"""SSE streams: snapshot then deltas, exact resume, resets, and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.factories import add_flight, add_world
from tests.problems import assert_problem
from tests.sse_client import SseReader


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
    snapshot = await reader.next()
    assert snapshot.event == "snapshot"
    yield reader
    response.close()


async def test_board_stream_starts_with_headers_retry_and_snapshot(
    client: TestClient, flights: list[int]
) -> None:
    response = await client.get("/v1/streams/boards/jfk", params={"kind": "departures"})
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache, no-transform"
    assert response.headers["X-Accel-Buffering"] == "no"
    reader = SseReader(response)
    snapshot = await reader.next()
    assert reader.retry is not None
    assert snapshot.event == "snapshot"
    assert snapshot.id is not None
    body = snapshot.json()
    assert body["kind"] == "departures"
    assert [f["id"] for f in body["flights"]] == flights
    response.close()


async def test_gate_change_written_in_sql_reaches_the_board(
    board: SseReader, db: asyncpg.Connection, flights: list[int]
) -> None:
    await db.execute("UPDATE flights SET departure_gate = 'C7' WHERE id = $1", flights[1])
    event = await board.next()
    assert event.event == "flight.gate_changed"
    data = event.json()
    assert data["changes"] == {"departure_gate": ["B2", "C7"]}
    assert data["flight"]["id"] == flights[1]
    assert data["flight"]["departure"]["gate"] == "C7"
    assert data["flight"]["version"] == 2
    assert data["flight"]["departure"]["scheduled"]["local"].endswith(("-05:00", "-04:00"))


async def test_event_types_follow_what_changed(
    board: SseReader, db: asyncpg.Connection, flights: list[int]
) -> None:
    first = flights[0]
    await db.execute(
        "UPDATE flights SET estimated_departure = scheduled_departure + interval '40 min'"
        " WHERE id = $1",
        first,
    )
    await db.execute("UPDATE flights SET status = 'boarding' WHERE id = $1", first)
    await db.execute("UPDATE flights SET departure_terminal = '8' WHERE id = $1", first)
    await db.execute("UPDATE flights SET status = 'cancelled' WHERE id = $1", first)
    events = [await board.next() for _ in range(4)]
    assert [e.event for e in events] == [
        "flight.delayed",
        "flight.status_changed",
        "flight.updated",
        "flight.cancelled",
    ]
    assert events[0].json()["flight"]["delay_minutes"] == 40
    versions = [e.json()["flight"]["version"] for e in events]
    assert versions == sorted(versions)


async def test_events_for_other_boards_are_not_delivered(
    board: SseReader, db: asyncpg.Connection
) -> None:
    other = await add_flight(
        db, origin="LHR", destination="CDG", number=77, departure=datetime.now(UTC)
    )
    await db.execute("UPDATE flights SET departure_gate = 'A1' WHERE id = $1", other)
    await board.expect_silence()


async def test_resume_replays_exactly_the_missed_events_in_order(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    first = await client.get("/v1/streams/boards/JFK")
    reader = SseReader(first)
    snapshot = await reader.next()
    first.close()
    for n, gate in enumerate(("D1", "D2", "D3")):
        await db.execute("UPDATE flights SET departure_gate = $1 WHERE id = $2", gate, flights[n])
    resumed = await client.get(
        "/v1/streams/boards/JFK", headers={"Last-Event-ID": snapshot.id or ""}
    )
    reader = SseReader(resumed)
    replayed = [await reader.next() for _ in range(3)]
    assert [e.event for e in replayed] == ["flight.gate_changed"] * 3
    assert [e.json()["flight"]["departure"]["gate"] for e in replayed] == ["D1", "D2", "D3"]
    ids = [int((e.id or "").split(":")[1]) for e in replayed]
    assert ids == sorted(ids)
    await reader.expect_silence()
    # Live events continue after the replay.
    await db.execute("UPDATE flights SET departure_gate = 'D9' WHERE id = $1", flights[0])
    assert (await reader.next()).json()["changes"] == {"departure_gate": ["D1", "D9"]}
    resumed.close()


async def test_last_event_id_query_parameter_resumes_too(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    first = await client.get(f"/v1/streams/flights/{flights[0]}")
    snapshot = await SseReader(first).next()
    assert snapshot.json()["id"] == flights[0]
    first.close()
    await db.execute("UPDATE flights SET status = 'boarding' WHERE id = $1", flights[0])
    resumed = await client.get(
        f"/v1/streams/flights/{flights[0]}", params={"last_event_id": snapshot.id or ""}
    )
    event = await SseReader(resumed).next()
    assert event.event == "flight.status_changed"
    resumed.close()


async def test_position_from_another_epoch_gets_reset_then_snapshot(
    client: TestClient, flights: list[int]
) -> None:
    response = await client.get("/v1/streams/boards/JFK", headers={"Last-Event-ID": "00000000:5"})
    reader = SseReader(response)
    reset = await reader.next()
    assert reset.event == "reset"
    assert reset.json() == {"reason": "epoch_changed"}
    assert (await reader.next()).event == "snapshot"
    response.close()


async def test_purged_position_gets_reset_then_snapshot(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    epoch = await db.fetchval("SELECT epoch FROM change_log_state")
    await db.execute("UPDATE flights SET departure_gate = 'Z1' WHERE id = $1", flights[0])
    await db.execute("UPDATE change_log_state SET purged_through = 1000")
    response = await client.get("/v1/streams/boards/JFK", headers={"Last-Event-ID": f"{epoch}:1"})
    reader = SseReader(response)
    reset = await reader.next()
    assert reset.json() == {"reason": "position_expired"}
    assert (await reader.next()).event == "snapshot"
    response.close()


@pytest.mark.parametrize("garbage", ["banana", "12", "abcdefgh:", "abcdefgh:-1", "x" * 60])
async def test_garbage_last_event_id_is_400(
    client: TestClient, flights: list[int], garbage: str
) -> None:
    response = await client.get("/v1/streams/boards/JFK", headers={"Last-Event-ID": garbage})
    body = await assert_problem(response, 400)
    assert body["type"].endswith("/invalid-last-event-id")


async def test_unknown_airport_is_404_before_the_stream(client: TestClient) -> None:
    response = await client.get("/v1/streams/boards/QQQ")
    await assert_problem(response, 404)


async def test_unknown_flight_is_404_before_the_stream(client: TestClient) -> None:
    await assert_problem(await client.get("/v1/streams/flights/999999"), 404)


async def test_bad_board_kind_is_422(client: TestClient) -> None:
    response = await client.get("/v1/streams/boards/JFK", params={"kind": "sideways"})
    await assert_problem(response, 422, field="query.kind")


async def test_me_stream_needs_a_token(client: TestClient) -> None:
    response = await client.get("/v1/streams/me")
    await assert_problem(response, 401)
