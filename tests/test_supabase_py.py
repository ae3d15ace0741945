"""supabase-py's client (``acreate_client(url, key)``, then ``.channel(...)``) against the
compatible endpoint, as an application written for a Supabase project would use it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from realtime import RealtimeSubscribeStates
from supabase import AsyncClient, acreate_client

from foundation.settings import Settings
from tests.factories import add_flight, add_world
from tests.test_realtime_compat import SOON, anon_key, next_item, subscribed


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with flights' row changes published."""
    return settings.model_copy(update={"realtime_tables": ["flights"]})


async def _supabase(client: TestClient) -> AsyncClient:
    return await acreate_client(str(client.make_url("")).rstrip("/"), anon_key(client))


@pytest.fixture
async def supabase(client: TestClient) -> AsyncIterator[AsyncClient]:
    """supabase-py pointed at the app as at a project, with the anon key."""
    project = await _supabase(client)
    yield project
    await project.remove_all_channels()
    await project.realtime.close()


async def test_postgres_changes_with_a_filter_reach_a_supabase_py_channel(
    supabase: AsyncClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    jfk = await add_flight(db, origin="JFK", destination="LHR", number=1, departure=SOON)
    lhr = await add_flight(db, origin="LHR", destination="JFK", number=2, departure=SOON)
    changes: asyncio.Queue[Any] = asyncio.Queue()
    channel = supabase.channel("departures")
    channel.on_postgres_changes(
        "UPDATE", changes.put_nowait, schema="public", table="flights", filter="origin=eq.JFK"
    )
    assert await subscribed(channel) == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
    await db.execute("UPDATE flights SET departure_gate = 'Z9' WHERE id = $1", lhr)
    await db.execute("UPDATE flights SET departure_gate = 'A7' WHERE id = $1", jfk)
    change = await next_item(changes)
    data = change["data"]
    assert (data["schema"], data["table"], data["type"]) == ("public", "flights", "UPDATE")
    assert (data["record"]["id"], data["record"]["departure_gate"]) == (jfk, "A7")
    assert data["old_record"]["id"] == jfk
    # The LHR change matched no filter; had it arrived, it would have come first.
    assert changes.empty()


async def test_a_broadcast_round_trip_between_two_supabase_py_clients(
    client: TestClient, supabase: AsyncClient
) -> None:
    other = await _supabase(client)
    try:
        mine: asyncio.Queue[Any] = asyncio.Queue()
        theirs: asyncio.Queue[Any] = asyncio.Queue()
        sender = supabase.channel("crew", {"config": {"broadcast": {"ack": True, "self": True}}})
        sender.on_broadcast("boarding", mine.put_nowait)
        receiver = other.channel("crew")
        receiver.on_broadcast("boarding", theirs.put_nowait)
        assert await subscribed(sender) == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
        assert await subscribed(receiver) == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
        await sender.send_broadcast("boarding", {"gate": "B12", "group": 3})
        for queue in (theirs, mine):  # the other client, and the sender itself (self)
            message = await next_item(queue)
            assert message["event"] == "boarding"
            assert message["payload"] == {"gate": "B12", "group": 3}
        # And back: the receiver answers, the sender hears it.
        await receiver.send_broadcast("boarding", {"gate": "B12", "group": 4})
        answer = await next_item(mine)
        assert answer["payload"] == {"gate": "B12", "group": 4}
    finally:
        await other.remove_all_channels()
        await other.realtime.close()
