"""Airport lookup and search."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.factories import AIRPORTS, add_world
from tests.problems import assert_problem


@pytest.fixture
async def world(db: asyncpg.Connection) -> None:
    """A handful of real airports, an airline and an aircraft type."""
    await add_world(db)


@pytest.mark.usefixtures("world")
async def test_airport_by_code_is_case_insensitive(client: TestClient) -> None:
    response = await client.get("/v1/airports/lhr")
    assert response.status == 200
    body = await response.json()
    assert body["iata"] == "LHR"
    assert body["time_zone"] == "Europe/London"
    assert body["hub"] is True


@pytest.mark.usefixtures("world")
async def test_unknown_airport_is_404_problem(client: TestClient) -> None:
    body = await assert_problem(await client.get("/v1/airports/ZZZ"), 404)
    assert body["type"].endswith("/airport-not-found")
    assert body["iata"] == "ZZZ"


@pytest.mark.parametrize("code", ["JFKX", "J1K", "JF"])
async def test_malformed_airport_code_is_422_naming_the_field(
    client: TestClient, code: str
) -> None:
    await assert_problem(await client.get(f"/v1/airports/{code}"), 422, field="path.iata")


@pytest.mark.usefixtures("world")
async def test_search_ranks_code_then_city_then_name(client: TestClient) -> None:
    by_code = await (await client.get("/v1/airports", params={"q": "lcy"})).json()
    assert [a["iata"] for a in by_code["airports"]] == ["LCY"]

    by_city = await (await client.get("/v1/airports", params={"q": "lon"})).json()
    # The London airports, the hub first; nothing that merely contains "lon".
    assert [a["iata"] for a in by_city["airports"]] == ["LHR", "LCY", "LGW"]

    by_name = await (await client.get("/v1/airports", params={"q": "kennedy"})).json()
    assert [a["iata"] for a in by_name["airports"]] == ["JFK"]


@pytest.mark.usefixtures("world")
async def test_search_treats_like_wildcards_literally(client: TestClient) -> None:
    body = await (await client.get("/v1/airports", params={"q": "%"})).json()
    assert body["airports"] == []


@pytest.mark.usefixtures("world")
async def test_listing_pages_through_every_airport_once(client: TestClient) -> None:
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": "3", **({"after": after} if after else {})}
        page = await (await client.get("/v1/airports", params=params)).json()
        seen += [a["iata"] for a in page["airports"]]
        after = page["next_after"]
        if after is None:
            break
    assert seen == sorted(AIRPORTS)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "query.limit"),
        ({"limit": "101"}, "query.limit"),
        ({"limit": "ten"}, "query.limit"),
        ({"q": ""}, "query.q"),
        ({"q": "x" * 65}, "query.q"),
        ({"colour": "red"}, "query.colour"),
    ],
)
async def test_bad_search_parameters_are_422_naming_the_field(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    await assert_problem(await client.get("/v1/airports", params=params), 422, field=field)


async def test_repeated_scalar_parameter_is_rejected(client: TestClient) -> None:
    response = await client.get("/v1/airports?limit=1&limit=2")
    await assert_problem(response, 422, field="query.limit")
