"""Rate limits: budgets per client address and per user, their 429 answers and headers,
trusted proxies, the endpoints left alone, and one budget shared through Redis."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
from aiohttp.test_utils import TestClient

from adapters.rate_limits import RateLimiter, parse_limits
from foundation.settings import Settings
from server.app import create_app
from tests.factories import add_world
from tests.problems import assert_problem
from tests.test_admin_flights import staff
from tests.test_search_redis import redis_server_url  # noqa: F401 (a fixture)
from tests.tokens import access_token


async def app_with(aiohttp_client: Any, settings: Settings, **changes: Any) -> TestClient:
    client: TestClient = await aiohttp_client(create_app(settings.model_copy(update=changes)))
    return client


async def test_an_address_beyond_its_search_budget_gets_429_with_the_ietf_fields(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await app_with(aiohttp_client, settings, rate_limits={"address.search": "5/minute"})
    for _ in range(5):
        response = await client.get("/v1/airports", params={"q": "lon"})
        assert response.status == 200
        assert response.headers["RateLimit-Policy"] == '"address.search";q=5;w=60'
    refused = await client.get("/v1/airports", params={"q": "lon"})
    body = await assert_problem(refused, 429)
    assert body["policy"] == "address.search"
    retry_after = int(refused.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert refused.headers["RateLimit-Policy"] == '"address.search";q=5;w=60'
    assert refused.headers["RateLimit"] == f'"address.search";r=0;t={retry_after}'
    # Other classes of endpoints have budgets of their own.
    assert (await client.get("/openapi.json")).status == 200


async def test_health_metrics_streams_and_boards_are_not_limited(
    aiohttp_client: Any, settings: Settings, db: Any
) -> None:
    await add_world(db)
    client = await app_with(aiohttp_client, settings, rate_limits={"address": "2/minute"})
    for _ in range(5):
        for path in ("/healthz", "/metrics", "/boards/JFK"):
            response = await client.get(path)
            assert response.status == 200, path
            assert "RateLimit-Policy" not in response.headers
        stream = await client.get("/v1/streams/boards/JFK")
        assert stream.status == 200
        stream.close()


async def test_each_user_has_a_budget_and_staff_their_own(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await app_with(aiohttp_client, settings,
                            rate_limits={"user": "3/minute", "staff": "10/minute"})  # fmt: skip
    first = {"Authorization": f"Bearer {access_token(uuid.uuid4())}"}
    for _ in range(3):
        assert (await client.get("/v1/me", headers=first)).status == 200
    body = await assert_problem(await client.get("/v1/me", headers=first), 429)
    assert body["policy"] == "user"
    # Another user at the same address is not held back by the first.
    second = {"Authorization": f"Bearer {access_token(uuid.uuid4())}"}
    assert (await client.get("/v1/me", headers=second)).status == 200
    agent = staff("agent")
    for _ in range(6):
        response = await client.get("/v1/me", headers=agent)
        assert response.status == 200
    assert '"staff";q=10;w=60' in response.headers["RateLimit-Policy"]


@pytest.mark.parametrize(("hops", "separate"), [(0, False), (1, True)])
async def test_x_forwarded_for_counts_only_behind_trusted_proxies(
    aiohttp_client: Any, settings: Settings, hops: int, separate: bool
) -> None:
    client = await app_with(aiohttp_client, settings, trusted_proxy_hops=hops,
                            rate_limits={"address": "2/minute"})  # fmt: skip
    statuses = []
    for n in range(4):
        response = await client.get("/openapi.json",
                                    headers={"X-Forwarded-For": f"203.0.113.{n}"})  # fmt: skip
        statuses.append(response.status)
    assert statuses == ([200] * 4 if separate else [200, 200, 429, 429])


def test_bad_limits_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"address\.serch"):
        parse_limits({"address.serch": "5/minute"})
    with pytest.raises(ValueError, match="often"):
        parse_limits({"user": "often"})


async def test_limits_off_means_no_budget_and_no_fields(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await app_with(aiohttp_client, settings, rate_limits_enabled=False)
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert "RateLimit-Policy" not in response.headers


# Redis ---------------------------------------------------------------------------------


@pytest.fixture
async def shared_redis(redis_server_url: str) -> AsyncIterator[str]:  # noqa: F811
    """The test Redis with no rate-limit keys left from other tests."""
    client = redis.from_url(redis_server_url)
    try:
        async for key in client.scan_iter("skybound:ratelimit*"):
            await client.delete(key)
        yield redis_server_url
    finally:
        await client.aclose()


async def test_two_instances_share_one_budget_through_redis(
    aiohttp_client: Any, settings: Settings, shared_redis: str
) -> None:
    changes = {"redis_url": shared_redis, "rate_limits": {"address": "4/minute"}}
    first = await app_with(aiohttp_client, settings, **changes)
    second = await app_with(aiohttp_client, settings, **changes)
    statuses = [(await client.get("/openapi.json")).status
                for client in (first, second, first, second, first, second)]  # fmt: skip
    assert statuses == [200, 200, 200, 200, 429, 429]


async def test_concurrent_hits_share_one_round_trip_and_count_exactly(
    shared_redis: str,
) -> None:
    limiter = RateLimiter(parse_limits({"address": "10/minute"}), shared_redis)
    try:
        verdicts = await asyncio.gather(*(limiter.take("address", "192.0.2.7") for _ in range(15)))
        assert limiter.batch is not None
        assert limiter.batch.round_trips == 1
        assert [v is not None and v.allowed for v in verdicts] == [True] * 10 + [False] * 5
        # The same budget as the library's own one-at-a-time counting sees.
        other = RateLimiter(parse_limits({"address": "10/minute"}), shared_redis)
        assert other._strategy is not None
        item = other.limits["address"]
        assert not await other._strategy.hit(item, "address", "192.0.2.7")
        await other.close()
    finally:
        await limiter.close()


async def test_large_budgets_taken_in_shares_never_admit_more_than_the_budget(
    shared_redis: str,
) -> None:
    limits = parse_limits({"address": "300/minute"})  # shares of 3
    first, second = RateLimiter(limits, shared_redis), RateLimiter(limits, shared_redis)
    try:
        verdicts = [await limiter.take("address", "192.0.2.8")
                    for _ in range(200) for limiter in (first, second)]  # fmt: skip
        admitted = sum(1 for v in verdicts if v is not None and v.allowed)
        # Never more than the budget; at most a share less one held back per instance.
        assert 300 - 2 * 2 <= admitted <= 300
        assert first.batch is not None
        assert second.batch is not None
        assert first.batch.round_trips + second.batch.round_trips < 400
        refused = [v for v in verdicts if v is not None and not v.allowed]
        assert refused[-1].reset_seconds >= 1
    finally:
        await first.close()
        await second.close()


async def test_large_budgets_in_memory_are_spent_in_shares_within_the_budget() -> None:
    limiter = RateLimiter(parse_limits({"address": "300/minute"}))  # shares of 3
    try:
        verdicts = [await limiter.take("address", "192.0.2.9") for _ in range(400)]
        admitted = [v is not None and v.allowed for v in verdicts]
        # Every admitted request was counted; at most a share less one held back.
        assert 300 - 2 <= sum(admitted) <= 300
        assert admitted[: sum(admitted)] == [True] * sum(admitted)
        refused = [v for v in verdicts if v is not None and not v.allowed]
        assert len(refused) == 400 - sum(admitted)
        assert refused[-1].reset_seconds >= 1
    finally:
        await limiter.close()


async def test_a_redis_outage_fails_open_with_a_warning(
    aiohttp_client: Any, settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    gone = f"unix://{tmp_path / 'no-redis.sock'}"
    client = await app_with(aiohttp_client, settings, redis_url=gone,
                            rate_limits={"address": "1/minute"})  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="adapters.rate_limits"):
        for _ in range(3):
            response = await client.get("/openapi.json")
            assert response.status == 200
            assert "RateLimit-Policy" not in response.headers
    assert any("letting requests through" in r.getMessage() for r in caplog.records)
