"""The search caches: whole answers kept and sent as bytes, the catch-up barrier run only
when a cache has something to serve, and no cached search older than a committed change."""

from __future__ import annotations

import gc
import types
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp.test_utils import TestClient

from api.keys import search_key
from domain.reference import ReferenceCache
from domain.search.cache import CatchUp, MemorySearchCache, ResponseCache
from domain.search.models import SearchRequest
from domain.search.service import SearchService
from foundation.database import create_pool
from foundation.settings import Settings
from server.app import create_app
from tests.search_world import DAY, RETURN, one_way, search

SB_JFK_LHR = one_way("JFK", "LHR", filters={"airlines": ["SB"]}, sort="price")


def _calls(result: bool, log: list[str]) -> CatchUp:
    async def catch_up() -> bool:
        log.append("catch-up")
        return result

    return catch_up


def _tracked_under(root: object) -> int:
    """Objects the cyclic collector tracks that ``root`` reaches (classes and modules aside)."""
    seen: set[int] = set()
    stack = [root]
    tracked = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type | types.ModuleType | types.FunctionType):
            continue
        seen.add(id(obj))
        tracked += gc.is_tracked(obj)
        stack.extend(gc.get_referents(obj))
    return tracked


# The response cache on its own -------------------------------------------------------------


async def test_response_cache_serves_the_bytes_it_was_given() -> None:
    cache = ResponseCache()
    cache.put("request", b'{"offers":[]}', {1, 2}, since=0)
    assert await cache.get("request") == b'{"offers":[]}'
    assert await cache.get("another request") is None
    assert cache.hits == 1


async def test_response_cache_drops_every_answer_with_a_changed_flight() -> None:
    cache = ResponseCache()
    cache.put("a", b"a", {1, 2}, since=0)
    cache.put("b", b"b", {2, 3}, since=0)
    cache.put("c", b"c", {4}, since=0)
    cache.flight_changed(2, event_id=7)
    assert [await cache.get(key) for key in ("a", "b", "c")] == [None, None, b"c"]


async def test_response_cache_refuses_an_answer_computed_before_a_change_of_its_flights() -> None:
    cache = ResponseCache()
    cache.flight_changed(1, event_id=7)
    cache.put("computed from position 6", b"old", {1}, since=6)
    cache.put("computed from position 7", b"new", {1}, since=7)
    assert await cache.get("computed from position 6") is None
    assert await cache.get("computed from position 7") == b"new"


async def test_response_cache_keeps_the_most_recently_used_answers() -> None:
    cache = ResponseCache(max_entries=2)
    cache.put("a", b"a", {1}, since=0)
    cache.put("b", b"b", {2}, since=0)
    assert await cache.get("a") == b"a"
    cache.put("c", b"c", {3}, since=0)
    assert [await cache.get(key) for key in ("a", "b", "c")] == [b"a", None, b"c"]


async def test_response_cache_does_not_serve_an_answer_older_than_its_ttl() -> None:
    cache = ResponseCache(ttl_seconds=-1)  # every answer is older than that
    cache.put("a", b"a", {1}, since=0)
    assert await cache.get("a") is None
    assert cache.hits == 0


async def test_response_cache_catches_up_only_when_it_holds_an_answer() -> None:
    cache = ResponseCache()
    log: list[str] = []
    assert await cache.get("a", _calls(True, log)) is None
    assert log == []
    cache.put("a", b"a", {1}, since=0)
    assert await cache.get("a", _calls(True, log)) == b"a"
    assert log == ["catch-up"]


async def test_response_cache_serves_nothing_when_the_catch_up_times_out() -> None:
    cache = ResponseCache()
    cache.put("a", b"a", {1}, since=0)
    assert await cache.get("a", _calls(False, [])) is None
    assert cache.hits == 0


async def test_response_cache_does_not_serve_an_answer_dropped_while_catching_up() -> None:
    cache = ResponseCache()
    cache.put("a", b"a", {1}, since=0)

    async def change_arrives() -> bool:
        cache.flight_changed(1, event_id=7)
        return True

    assert await cache.get("a", change_arrives) is None


# Through the API ---------------------------------------------------------------------------


async def test_a_cached_answer_is_byte_identical_to_the_answer_that_stored_it(
    client: TestClient, search_world: dict[str, int]
) -> None:
    body = one_way("JFK", "LHR", limit=2)
    first = await client.post("/v1/search", json=body)
    again = await client.post("/v1/search", json=body)
    assert (first.status, again.status) == (200, 200)
    # A recomputed answer would differ: offer ids and expiries are signed from the clock.
    assert await again.read() == await first.read()
    assert again.headers["Content-Type"] == first.headers["Content-Type"] == "application/json"
    service = client.app[search_key]
    assert (service.stats.searches, service.responses.hits) == (1, 1)


async def test_cached_pages_and_get_searches_are_the_bytes_first_sent(
    client: TestClient, search_world: dict[str, int]
) -> None:
    async def pages() -> list[bytes]:
        sent: list[bytes] = []
        cursor = None
        while True:
            response = await client.post(
                "/v1/search", json=one_way("JFK", "LHR", limit=2, cursor=cursor)
            )
            assert response.status == 200
            sent.append(await response.read())
            cursor = orjson.loads(sent[-1])["next_cursor"]
            if cursor is None:
                return sent

    params = {"origin": "JFK", "destination": "LHR", "date": DAY.isoformat(),
              "return_date": RETURN.isoformat()}  # fmt: skip
    first_pages = await pages()
    first_get = await (await client.get("/v1/search", params=params)).read()
    assert await pages() == first_pages
    assert await (await client.get("/v1/search", params=params)).read() == first_get
    service = client.app[search_key]
    assert len(first_pages) == 3
    assert service.responses.hits == len(first_pages) + 1


async def test_cached_answers_give_the_garbage_collector_almost_nothing_to_walk(
    client: TestClient, search_world: dict[str, int]
) -> None:
    service = client.app[search_key]
    empty = _tracked_under(service.responses)
    for limit in range(1, 11):  # ten distinct requests, ten stored answers of 1 to 6 offers
        await search(client, **one_way("JFK", "LHR", limit=limit))
    # An answer kept as a model graph would be hundreds of objects; as bytes, its key's
    # entry and the sets of its flights.
    assert _tracked_under(service.responses) - empty <= 10 * 4


async def test_a_search_that_reads_nothing_cached_runs_no_catch_up(
    client: TestClient, search_world: dict[str, int]
) -> None:
    service = client.app[search_key]
    await search(client, **one_way("JFK", "LHR"))
    await search(client, **one_way("JFK", "CDG"))
    assert service.stats.catch_ups == 0
    await search(client, **one_way("JFK", "LHR"))  # the whole answer is cached
    assert service.stats.catch_ups == 1
    await search(client, **one_way("JFK", "LHR", sort="duration"))  # its slice is cached
    assert service.stats.catch_ups == 2
    metrics = await (await client.get("/metrics")).text()
    assert "skybound_search_catch_ups 2.0" in metrics
    assert "skybound_search_catch_up_timeouts 0.0" in metrics


async def test_a_search_catches_up_once_however_many_slices_are_cached(
    client: TestClient, search_world: dict[str, int]
) -> None:
    await search(client, **one_way("JFK", "LHR", on=DAY))
    await search(client, **one_way("LHR", "JFK", on=RETURN))
    service = client.app[search_key]
    round_trip = {"slices": [one_way("JFK", "LHR", on=DAY)["slices"][0],
                             one_way("LHR", "JFK", on=RETURN)["slices"][0]]}  # fmt: skip
    hits = service.cache.hits
    await search(client, **round_trip)
    assert service.cache.hits == hits + 2
    assert service.stats.catch_ups == 1


async def test_without_caches_no_search_runs_the_catch_up(
    aiohttp_client: Any, settings: Settings, search_world: dict[str, int]
) -> None:
    app = create_app(settings.model_copy(update={"search_cache_entries": 0}))
    client = await aiohttp_client(app)
    for _ in range(3):
        await search(client, **one_way("JFK", "LHR"))
    assert app[search_key].stats.searches == 3
    assert app[search_key].stats.catch_ups == 0


async def test_a_cached_slice_is_not_served_after_a_committed_price_change(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    first = await search(client, **SB_JFK_LHR)
    assert first["offers"][0]["total"]["amount_minor"] == 20000
    await db.execute(
        "UPDATE flight_cabins SET base_fare_minor = 21500 WHERE flight_id = $1",
        search_world["jfk_lhr"],
    )
    # Another answer over the same slice, right after the commit: never the old price.
    resorted = await search(client, **{**SB_JFK_LHR, "sort": "duration"})
    assert min(o["total"]["amount_minor"] for o in resorted["offers"]) == 21500


# The service with a stand-in for the hub ------------------------------------------------


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on this test's database, for a service built without the app."""
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.mark.parametrize("sort", ["price", "duration"], ids=["same answer", "same slice"])
async def test_what_catching_up_drops_is_not_served(
    pool: asyncpg.Pool, db: asyncpg.Connection, search_world: dict[str, int], sort: str
) -> None:
    flight = search_world["jfk_lhr"]
    slices = MemorySearchCache()

    async def hub_hears_the_change() -> bool:
        slices.flight_changed(flight, event_id=1)
        service.responses.flight_changed(flight, event_id=1)
        return True

    service = SearchService(pool, ReferenceCache(pool), slices, b"key",
                            caught_up=hub_hears_the_change)  # fmt: skip
    await service.search(SearchRequest.model_validate(SB_JFK_LHR))
    await db.execute(
        "UPDATE flight_cabins SET base_fare_minor = 21500 WHERE flight_id = $1", flight
    )
    again = await service.search(SearchRequest.model_validate({**SB_JFK_LHR, "sort": sort}))
    assert min(o["total"]["amount_minor"] for o in orjson.loads(again)["offers"]) == 21500
    assert service.stats.catch_ups == 1


@pytest.mark.parametrize("sort", ["price", "duration"], ids=["same answer", "same slice"])
async def test_a_search_reads_the_database_when_the_catch_up_times_out(
    pool: asyncpg.Pool, db: asyncpg.Connection, search_world: dict[str, int], sort: str
) -> None:
    log: list[str] = []
    service = SearchService(pool, ReferenceCache(pool), MemorySearchCache(), b"key",
                            caught_up=_calls(False, log))  # fmt: skip
    await service.search(SearchRequest.model_validate(SB_JFK_LHR))
    # Committed, but never heard: the stand-in hub stays behind.
    await db.execute(
        "UPDATE flight_cabins SET base_fare_minor = 21500 WHERE flight_id = $1",
        search_world["jfk_lhr"],
    )
    again = await service.search(SearchRequest.model_validate({**SB_JFK_LHR, "sort": sort}))
    assert min(o["total"]["amount_minor"] for o in orjson.loads(again)["offers"]) == 21500
    assert log == ["catch-up"]
    assert service.stats.catch_up_timeouts == 1
