"""Departure and arrival boards: local day windows, DST days, live windows, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from domain.boards import board_window
from tests.factories import add_flight, add_world
from tests.problems import assert_problem


@pytest.fixture
async def world(db: asyncpg.Connection) -> None:
    """Real airports, one airline."""
    await add_world(db)


def _next(month: int, day: int) -> date:
    """The next occurrence of a calendar day, so dates stay within the schedule horizon."""
    today = datetime.now(UTC).date()
    candidate = date(today.year, month, day)
    return candidate if candidate > today else date(today.year + 1, month, day)


@pytest.mark.usefixtures("world")
async def test_departures_of_a_local_day_in_time_order(
    client: TestClient, db: asyncpg.Connection
) -> None:
    day = _next(12, 1)
    # 23:30 UTC on the day before is 18:30 in New York: the previous local day.
    await add_flight(
        db,
        origin="JFK",
        destination="LHR",
        number=1,
        departure=datetime.combine(day, time(23, 30), tzinfo=UTC) - timedelta(days=1),
    )
    late = await add_flight(
        db,
        origin="JFK",
        destination="LAX",
        number=3,
        departure=datetime.combine(day, time(23, 0), tzinfo=UTC),
    )
    early = await add_flight(
        db,
        origin="JFK",
        destination="CDG",
        number=2,
        departure=datetime.combine(day, time(12, 0), tzinfo=UTC),
    )
    # 04:30 UTC the next day is still 23:30 on the local day in New York.
    night = await add_flight(
        db,
        origin="JFK",
        destination="LAX",
        number=4,
        departure=datetime.combine(day, time(4, 30), tzinfo=UTC) + timedelta(days=1),
    )
    await add_flight(
        db,
        origin="LHR",
        destination="JFK",
        number=5,
        departure=datetime.combine(day, time(12, 0), tzinfo=UTC),
    )

    response = await client.get("/v1/airports/JFK/departures", params={"date": day.isoformat()})
    assert response.status == 200
    board = await response.json()
    assert [f["id"] for f in board["flights"]] == [early, late, night]
    assert board["window"]["start"]["local"] == f"{day.isoformat()}T00:00:00-05:00"
    assert board["truncated"] is False
    assert board["flights"][2]["departure"]["scheduled"]["local"].startswith(
        f"{day.isoformat()}T23:30"
    )


@pytest.mark.usefixtures("world")
async def test_arrivals_are_ordered_by_scheduled_arrival(
    client: TestClient, db: asyncpg.Connection
) -> None:
    day = _next(12, 2)
    slow = await add_flight(
        db,
        origin="JFK",
        destination="LHR",
        number=1,
        block=timedelta(hours=9),
        departure=datetime.combine(day, time(1, 0), tzinfo=UTC),
    )
    fast = await add_flight(
        db,
        origin="CDG",
        destination="LHR",
        number=2,
        block=timedelta(hours=1),
        departure=datetime.combine(day, time(6, 0), tzinfo=UTC),
    )
    board = await (
        await client.get("/v1/airports/LHR/arrivals", params={"date": day.isoformat()})
    ).json()
    assert [f["id"] for f in board["flights"]] == [fast, slow]
    assert board["kind"] == "arrivals"


def test_window_of_a_spring_forward_day_is_23_hours() -> None:
    start, end = board_window("Europe/London", on=date(2027, 3, 28), start=None, hours=None)
    assert end - start == timedelta(hours=23)
    assert start == datetime(2027, 3, 28, 0, 0, tzinfo=UTC)


def test_window_of_a_fall_back_day_is_25_hours() -> None:
    start, end = board_window("America/New_York", on=date(2026, 11, 1), start=None, hours=None)
    assert end - start == timedelta(hours=25)


def test_live_window_starts_an_hour_ago() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    start, end = board_window("Asia/Tokyo", on=None, start=None, hours=None, now=now)
    assert start == now - timedelta(hours=1)
    assert end == start + timedelta(hours=12)


@pytest.mark.usefixtures("world")
async def test_board_across_spring_forward_keeps_local_times(
    client: TestClient, db: asyncpg.Connection
) -> None:
    # Take the last Sunday of March (the European switch) within the horizon.
    year = _next(3, 31).year
    last = date(year, 3, 31)
    day = last - timedelta(days=(last.weekday() + 1) % 7)
    before = await add_flight(
        db,
        origin="LHR",
        destination="CDG",
        number=7,
        departure=datetime.combine(day, time(0, 30), tzinfo=UTC),
    )
    after = await add_flight(
        db,
        origin="LHR",
        destination="CDG",
        number=8,
        departure=datetime.combine(day, time(7, 30), tzinfo=UTC),
    )
    board = await (
        await client.get("/v1/airports/LHR/departures", params={"date": day.isoformat()})
    ).json()
    locals_ = [f["departure"]["scheduled"]["local"] for f in board["flights"]]
    assert [f["id"] for f in board["flights"]] == [before, after]
    assert locals_ == [f"{day}T00:30:00+00:00", f"{day}T08:30:00+01:00"]


@pytest.mark.usefixtures("world")
async def test_limit_truncates_and_says_so(client: TestClient, db: asyncpg.Connection) -> None:
    day = _next(12, 3)
    for n in range(3):
        await add_flight(
            db,
            origin="CDG",
            destination="LHR",
            number=10 + n,
            departure=datetime.combine(day, time(8 + n), tzinfo=UTC),
        )
    board = await (
        await client.get(
            "/v1/airports/CDG/departures", params={"date": day.isoformat(), "limit": "2"}
        )
    ).json()
    assert len(board["flights"]) == 2
    assert board["truncated"] is True


@pytest.mark.usefixtures("world")
async def test_from_and_hours_narrow_the_window(client: TestClient, db: asyncpg.Connection) -> None:
    day = _next(12, 4)
    await add_flight(
        db,
        origin="CDG",
        destination="LHR",
        number=1,
        departure=datetime.combine(day, time(6), tzinfo=UTC),
    )
    noon = await add_flight(
        db,
        origin="CDG",
        destination="LHR",
        number=2,
        departure=datetime.combine(day, time(11), tzinfo=UTC),
    )
    params = {"date": day.isoformat(), "from": "11:00", "hours": "2"}
    board = await (await client.get("/v1/airports/CDG/departures", params=params)).json()
    # 11:00 UTC is 12:00 in Paris: only the noon flight falls in 11:00-13:00 local.
    assert [f["id"] for f in board["flights"]] == [noon]


@pytest.mark.usefixtures("world")
async def test_unknown_airport_board_is_404(client: TestClient) -> None:
    await assert_problem(await client.get("/v1/airports/QQQ/arrivals"), 404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date": "1900-01-01"}, "query.date"),
        ({"date": "2026-02-30"}, "query.date"),
        ({"date": "tomorrow"}, "query.date"),
        ({"hours": "0"}, "query.hours"),
        ({"hours": "49"}, "query.hours"),
        ({"from": "25:00"}, "query.from"),
        ({"limit": "501"}, "query.limit"),
    ],
)
async def test_bad_board_parameters_are_422_naming_the_field(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/v1/airports/JFK/departures", params=params)
    await assert_problem(response, 422, field=field)
