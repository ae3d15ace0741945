"""Clients that leave abruptly (RST) or in order (FIN) while events flow, on the real server.

A closed stream must cost no one else anything: every client that stays gets every
event, and every client that comes back with its last position gets exactly what it
missed, counted by event id against ``change_events``. Afterwards the server is still
ready and its metrics still render.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from tests.e2e.clients import (
    SseSubscriber,
    Subscriber,
    WsSubscriber,
    events_after,
    newest_event,
    start_all,
    wait_complete,
)
from tests.e2e.harness import BOARD, GateWriter, ServerProcess, World, running_server
from tests.tokens import access_token
from tests.waiting import eventually

WAVES = 3
EVENTS_PER_WAVE = 20


async def disconnect_waves(db: asyncpg.Connection, subscribers: Sequence[Subscriber]) -> None:
    """Waves of simultaneous RST and FIN disconnects; after each, events must keep reaching
    everyone still connected. Half the leavers come back at once, half after the last wave
    (so they miss many events and get them as a replay)."""
    away: list[Subscriber] = []
    for wave in range(1, WAVES + 1):
        await events_after(db, subscribers, f"before wave {wave}", ahead=EVENTS_PER_WAVE)
        running = [s for s in subscribers if s.running]
        leaving = running[wave % 3 :: 3]
        await asyncio.gather(
            *(s.drop("rst" if n % 2 == 0 else "fin") for n, s in enumerate(leaving))
        )
        for n, subscriber in enumerate(leaving):
            if (n // 2) % 2 == 0:
                subscriber.start()
            else:
                away.append(subscriber)
        await events_after(db, subscribers, f"after wave {wave}", ahead=EVENTS_PER_WAVE)
    for subscriber in away:
        subscriber.start()


async def departed_clients_are_forgotten(
    server: ServerProcess, subscribers: Sequence[Subscriber]
) -> None:
    """The stream gauges come back to the clients still connected: none that left lingers."""
    sse = sum(isinstance(s, SseSubscriber) and s.running for s in subscribers)
    ws = sum(isinstance(s, WsSubscriber) and s.running for s in subscribers)

    async def counted() -> bool:
        samples = await server.metrics()
        return (
            server.metric(samples, "skybound_stream_sse_clients") == sse
            and server.metric(samples, "skybound_stream_ws_clients") == ws
        )

    await eventually(counted, 60, what=f"{sse} SSE and {ws} WebSocket clients in /metrics")


async def run_waves(
    db: asyncpg.Connection, database_url: str, world: World, server: ServerProcess,
    subscribers: list[Subscriber],
) -> None:  # fmt: skip
    writer = GateWriter(database_url, world.flights)
    try:
        await start_all(subscribers)
        writer.start()
        await disconnect_waves(db, subscribers)
        await events_after(db, subscribers, "after the resumes")
        await writer.stop()
        await wait_complete(db, subscribers, through=await newest_event(db))
        await server.assert_sane()
        await departed_clients_are_forgotten(server, subscribers)
    finally:
        await writer.stop()
        await asyncio.gather(*(s.drop("rst") for s in subscribers))
    assert await server.terminate() == 0


async def test_sse_disconnect_waves_lose_no_event_for_anyone(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path
) -> None:
    private = {"Authorization": f"Bearer {access_token(world.traveller)}"}
    async with running_server(database_url, tmp_path / "home") as server:
        subscribers: list[Subscriber] = []
        for n in range(6):
            flight = world.flights[n % len(world.flights)]
            subscribers += [
                SseSubscriber(server.port, "/v1/streams/boards/JFK", BOARD),
                SseSubscriber(server.port, f"/v1/streams/flights/{flight}", f"flight:{flight}"),
                SseSubscriber(server.port, "/v1/streams/me", world.user_topic, private),
            ]
        await run_waves(db, database_url, world, server, subscribers)


async def test_websocket_disconnect_waves_lose_no_event_for_anyone(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path
) -> None:
    token = access_token(world.traveller)
    async with running_server(database_url, tmp_path / "home") as server:
        subscribers: list[Subscriber] = []
        for n in range(6):
            flight = f"flight:{world.flights[n % len(world.flights)]}"
            subscribers += [
                WsSubscriber(server.port, [BOARD, flight]),
                WsSubscriber(server.port, [world.user_topic, flight], token=token),
            ]
        await run_waves(db, database_url, world, server, subscribers)
