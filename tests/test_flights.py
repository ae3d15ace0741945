"""Flight detail: one shape with UTC and airport-local times, and a version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.factories import add_flight, add_world
from tests.problems import assert_problem


@pytest.fixture
async def flight_id(db: asyncpg.Connection) -> int:
    """JFK to LHR, departing 2026-12-01 18:30 New York time (23:30 UTC)."""
    await add_world(db)
    return await add_flight(
        db,
        origin="JFK",
        destination="LHR",
        departure=datetime(2026, 12, 1, 23, 30, tzinfo=UTC),
        block=timedelta(hours=7),
        number=1,
        departure_terminal="4",
        departure_gate="B22",
        aircraft_type="32N",
    )


async def test_flight_shows_times_in_utc_and_local(client: TestClient, flight_id: int) -> None:
    response = await client.get(f"/v1/flights/{flight_id}")
    assert response.status == 200
    flight = await response.json()
    assert flight["designator"] == "SB1"
    assert flight["service_date"] == "2026-12-01"
    assert flight["departure"]["scheduled"] == {
        "utc": "2026-12-01T23:30:00Z",
        "local": "2026-12-01T18:30:00-05:00",
    }
    # 06:30 UTC next morning is 06:30 in London (GMT in December).
    assert flight["arrival"]["scheduled"] == {
        "utc": "2026-12-02T06:30:00Z",
        "local": "2026-12-02T06:30:00+00:00",
    }
    assert flight["departure"]["gate"] == "B22"
    assert flight["aircraft"] == {"code": "32N", "name": "Airbus A320neo"}
    assert flight["status"] == "scheduled"
    assert flight["delay_minutes"] == 0
    assert flight["version"] == 1


async def test_update_bumps_version_and_reports_delay(
    client: TestClient, db: asyncpg.Connection, flight_id: int
) -> None:
    await db.execute(
        "UPDATE flights SET estimated_departure = scheduled_departure + interval '25 minutes'"
        " WHERE id = $1",
        flight_id,
    )
    flight = await (await client.get(f"/v1/flights/{flight_id}")).json()
    assert flight["version"] == 2
    assert flight["delay_minutes"] == 25
    assert flight["departure"]["estimated"]["local"] == "2026-12-01T18:55:00-05:00"


async def test_noop_update_keeps_version(
    client: TestClient, db: asyncpg.Connection, flight_id: int
) -> None:
    await db.execute("UPDATE flights SET status = status WHERE id = $1", flight_id)
    flight = await (await client.get(f"/v1/flights/{flight_id}")).json()
    assert flight["version"] == 1


async def test_unknown_flight_is_404_problem(client: TestClient) -> None:
    body = await assert_problem(await client.get("/v1/flights/424242"), 404)
    assert body["type"].endswith("/flight-not-found")


@pytest.mark.parametrize("raw", ["abc", "0", "-3", "1.5", "99999999999999999999"])
async def test_bad_flight_id_is_422_naming_the_field(client: TestClient, raw: str) -> None:
    await assert_problem(await client.get(f"/v1/flights/{raw}"), 422, field="path.flight_id")
