"""Caps on open streams per client address and per user (staff their own), for SSE, the
WebSocket and the Realtime socket: 429 with the RateLimit fields beyond a cap, and the
slot back however the stream ends (closed, vanished, drained), across instances in Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as redis
from aiohttp.test_utils import TestClient
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

from api.keys import phoenix_key
from foundation.settings import Settings
from server.app import create_app
from tests.factories import add_world
from tests.problems import assert_problem
from tests.test_admin_flights import staff
from tests.test_cli import _env, _free_port, _serve, _stop, _wait_ready
from tests.test_search_redis import redis_server_url  # noqa: F401 (a fixture)
from tests.tokens import access_token
from tests.waiting import eventually

BOARD = "/v1/streams/boards/JFK"


async def app_with(aiohttp_client: Any, settings: Settings, **changes: Any) -> TestClient:
    """An app whose heartbeat sweeps often: the sweep is how a stream whose client left
    without a word learns it (every 15 s by default)."""
    changes = {"stream_heartbeat_seconds": 0.2, **changes}
    client: TestClient = await aiohttp_client(create_app(settings.model_copy(update=changes)))
    return client


def bearer(user: uuid.UUID) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token(user)}"}


async def _open(client: TestClient, path: str = BOARD, **kwargs: Any) -> aiohttp.ClientResponse:
    response = await client.get(path, **kwargs)
    assert response.status == 200, await response.text()
    await response.content.readline()  # the retry hint: the stream is being served
    return response


async def _refused(response: aiohttp.ClientResponse, policy: str, cap: int) -> None:
    body = await assert_problem(response, 429)
    assert body["policy"] == policy
    assert response.headers["Retry-After"] == "5"
    assert response.headers["RateLimit-Policy"] == f'"{policy}";q={cap}'
    assert response.headers["RateLimit"] == f'"{policy}";r=0;t=5'


async def _admitted_again(client: TestClient, path: str = BOARD, **kwargs: Any) -> None:
    async def admitted() -> bool:
        response = await client.get(path, **kwargs)
        response.close()
        return response.status == 200

    await eventually(admitted, what="a freed slot")


async def test_an_address_beyond_its_cap_gets_429_until_a_stream_ends(
    aiohttp_client: Any, settings: Settings, db: Any
) -> None:
    await add_world(db)
    client = await app_with(aiohttp_client, settings, stream_cap_per_address=2)
    first, _second = await _open(client), await _open(client)
    await _refused(await client.get(BOARD), "streams.address", 2)
    metrics = await (await client.get("/metrics")).text()
    assert "skybound_stream_caps_open 2.0" in metrics
    assert "skybound_stream_caps_refused_total 1.0" in metrics
    first.close()
    await _admitted_again(client)


async def test_a_vanished_client_frees_its_slot(
    aiohttp_client: Any, settings: Settings, db: Any
) -> None:
    await add_world(db)
    client = await app_with(aiohttp_client, settings, stream_cap_per_address=1)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {BOARD} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    await _refused(await client.get(BOARD), "streams.address", 1)
    writer.transport.abort()  # gone without a goodbye (a reset, no FIN)
    await _admitted_again(client)


async def test_each_user_has_a_cap_and_staff_their_own(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await app_with(aiohttp_client, settings, stream_cap_per_user=1,
                            stream_cap_per_staff=2)  # fmt: skip
    user = uuid.uuid4()
    mine = await _open(client, "/v1/streams/me", headers=bearer(user))
    await _refused(await client.get("/v1/streams/me", headers=bearer(user)), "streams.user", 1)
    other = await _open(client, "/v1/streams/me", headers=bearer(uuid.uuid4()))
    agent_id = uuid.uuid4()
    agent = staff("agent", user=agent_id)
    streams = [await _open(client, "/v1/streams/me", headers=agent) for _ in range(2)]
    await _refused(await client.get("/v1/streams/me", headers=agent), "streams.staff", 2)
    for response in (mine, other, *streams):
        response.close()
    await _admitted_again(client, "/v1/streams/me", headers=bearer(user))


async def test_websockets_count_against_the_address_and_the_user_they_sign_in_as(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await app_with(aiohttp_client, settings, stream_cap_per_address=2,
                            stream_cap_per_user=1)  # fmt: skip
    user = uuid.uuid4()
    first = await client.ws_connect("/v1/ws")
    await first.send_json({"type": "auth", "token": access_token(user)})
    assert (await first.receive_json(timeout=5))["type"] == "authenticated"
    second = await client.ws_connect("/v1/ws")
    await second.send_json({"type": "auth", "token": access_token(user)})
    refusal = await second.receive_json(timeout=5)
    assert (refusal["type"], refusal["code"]) == ("error", "too_many_streams")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/v1/ws")
    assert refused.value.status == 429
    assert refused.value.headers is not None
    assert refused.value.headers["RateLimit-Policy"] == '"streams.address";q=2'
    await first.close()

    async def signs_in() -> bool:
        await second.send_json({"type": "auth", "token": access_token(user)})
        return (await second.receive_json(timeout=5))["type"] == "authenticated"

    await eventually(signs_in, what="the user's freed slot")
    await second.close()

    async def connects() -> bool:
        try:
            socket = await client.ws_connect("/v1/ws")
        except aiohttp.WSServerHandshakeError:
            return False
        await socket.close()
        return True

    await eventually(connects, what="a freed slot")


async def test_the_realtime_socket_counts_its_address_and_the_user_who_joins(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await app_with(aiohttp_client, settings, stream_cap_per_address=2,
                            stream_cap_per_user=1)  # fmt: skip
    url = str(client.make_url("/realtime/v1")).replace("http://", "ws://")
    anon = client.app[phoenix_key].keys.anon  # type: ignore[index]
    user = uuid.uuid4()
    sockets = [AsyncRealtimeClient(url, anon, auto_reconnect=False) for _ in range(2)]
    try:
        for socket in sockets:
            await socket.connect()
            await socket.set_auth(access_token(user))
        states = []
        for n, socket in enumerate(sockets):
            got: list[Any] = []
            await socket.channel(f"room{n}").subscribe(lambda s, e, got=got: got.append((s, e)))
            await eventually(lambda got=got: got, what="a join reply")
            states.append(got[0])
        assert states[0] == (RealtimeSubscribeStates.SUBSCRIBED, None)
        assert states[1][0] == RealtimeSubscribeStates.CHANNEL_ERROR
        assert "ConnectionRateLimitReached" in str(states[1][1])
        third = AsyncRealtimeClient(url, anon, auto_reconnect=False, max_retries=1,
                                    initial_backoff=0.01)  # fmt: skip
        with pytest.raises(Exception, match="429"):
            await third.connect()
    finally:
        for socket in sockets:
            await socket.close()


@pytest.fixture
async def shared_redis(redis_server_url: str) -> AsyncIterator[str]:  # noqa: F811
    """The test Redis with no stream slots left from other tests."""
    client = redis.from_url(redis_server_url)
    try:
        async for key in client.scan_iter("skybound:ratelimit*"):
            await client.delete(key)
        yield redis_server_url
    finally:
        await client.aclose()


async def test_instances_share_the_caps_through_redis_and_a_drain_frees_them(
    aiohttp_client: Any, settings: Settings, db: Any, shared_redis: str
) -> None:
    await add_world(db)
    changes = {"redis_url": shared_redis, "stream_cap_per_address": 2}
    first = await app_with(aiohttp_client, settings, **changes)
    second = await app_with(aiohttp_client, settings, **changes)
    await _open(first)
    await _open(second)
    await _refused(await first.get(BOARD), "streams.address", 2)
    await _refused(await second.get(BOARD), "streams.address", 2)
    await first.close()  # the server drains: its stream ends and gives its slot back
    await _admitted_again(second)


async def test_two_workers_of_skybound_serve_share_the_caps_through_redis(
    database_url: str, db: Any, shared_redis: str
) -> None:
    await add_world(db)
    port = _free_port()
    process = await _serve("--port", str(port), "--workers", "2", env=_env(
        DATABASE_URL=database_url, REDIS_URL=shared_redis,
        SKYBOUND_STREAM_CAP_PER_ADDRESS="2", SKYBOUND_STREAM_HEARTBEAT_SECONDS="0.2"))  # fmt: skip
    try:
        await _wait_ready(port)
        url = f"http://127.0.0.1:{port}{BOARD}"
        async with aiohttp.ClientSession() as session:
            # Separate connections: the kernel spreads them over both workers.
            streams = [await session.get(url, headers={"Connection": "close"}) for _ in range(2)]
            assert [s.status for s in streams] == [200, 200]
            for _ in range(6):
                refused = await session.get(url, headers={"Connection": "close"})
                await _refused(refused, "streams.address", 2)
            streams[0].close()

            async def admitted() -> bool:
                response = await session.get(url, headers={"Connection": "close"})
                response.close()
                return response.status == 200

            await eventually(admitted, what="the slot freed on the other worker")
            streams[1].close()
    finally:
        assert await _stop(process) == 0
