"""An upstream Supabase Realtime as the wake-up source, through the real CLI: instance A
(LISTEN) serves the compatible endpoint; instance B, on the same database, has its change
listener woken by a subscription to A's endpoint, and still reads events from the log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from tests.e2e.clients import SseSubscriber, newest_event, start_all, wait_complete
from tests.e2e.harness import BOARD, GateWriter, ServerProcess, World, running_server
from tests.waiting import eventually

KEYS = {"SUPABASE_ANON_KEY": "e2e-anon-key", "SUPABASE_SERVICE_ROLE_KEY": "e2e-service-key"}


def _subscribers(port: int, world: World) -> list[SseSubscriber]:
    return [
        SseSubscriber(port, "/v1/streams/boards/JFK", BOARD),
        SseSubscriber(
            port, f"/v1/streams/flights/{world.flights[0]}", f"flight:{world.flights[0]}"
        ),
    ]


async def _wakes(server: ServerProcess) -> float:
    return server.metric(await server.metrics(), "skybound_wake_upstream_wakes")


async def test_events_reach_b_woken_by_a_and_survive_a_killed_and_restarted(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path
) -> None:
    upstream = ServerProcess(database_url, tmp_path / "a", env=KEYS)
    try:
        await upstream.start()
        await upstream.wait_ready()
        woken_env = {
            **KEYS,
            "SKYBOUND_WAKE_SOURCE": "supabase-realtime",
            "SKYBOUND_WAKE_REALTIME_URL": upstream.url("/realtime/v1"),
            # Longer than any wait below: events arrive because A woke B, not by polling.
            "SKYBOUND_WAKE_POLL_SECONDS": "60",
        }
        async with running_server(database_url, tmp_path / "b", env=woken_env) as woken:
            ready = await woken.wait_ready()
            assert ready["checks"]["wake_upstream"] is True
            assert ready["details"]["wake_upstream"]["subscribed"] is True
            subscribers = _subscribers(woken.port, world)
            writer = GateWriter(database_url, world.flights)
            try:
                await start_all(subscribers)
                await writer.write(8)
                await wait_complete(db, subscribers, await newest_event(db), within=45)
                # A's broadcasts reached B (B also reads the log at each keepalive).
                await eventually(lambda: _more_wakes(woken, 0), 30, what="A woke B")

                # A dies outright; B loses its wake-ups and says so, but stays ready: the
                # poll still delivers. Commits go on.
                assert upstream.process is not None
                upstream.process.kill()
                await upstream.process.wait()
                await eventually(
                    lambda: _unsubscribed(woken), 60, what="B unsubscribed without its upstream"
                )
                await writer.write(8)
                await upstream.start()
                await upstream.wait_ready()
                await woken.wait_ready()
                # B resubscribed, read what it missed, and is woken again.
                await writer.write(8)
                await wait_complete(db, subscribers, await newest_event(db), within=60)
                samples = await woken.metrics()
                assert woken.metric(samples, "skybound_wake_upstream_subscriptions") == 2
                assert woken.metric(samples, "skybound_wake_upstream_up") == 1
                wakes_before = await _wakes(woken)
                await writer.write(1)
                await eventually(
                    lambda: _more_wakes(woken, wakes_before), 30, what="A wakes B again"
                )
                # The lost upstream was the subscription's own business: no task restarted.
                await woken.assert_sane()
            finally:
                await asyncio.gather(*(s.drop("fin") for s in subscribers))
    finally:
        await upstream.cleanup()


async def _unsubscribed(server: ServerProcess) -> bool:
    answer = await server.readiness()
    if answer is None:
        return False
    status, body = answer
    return status == 200 and body["details"]["wake_upstream"]["subscribed"] is False


async def _more_wakes(server: ServerProcess, than: float) -> bool:
    return await _wakes(server) > than
