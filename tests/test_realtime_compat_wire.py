"""The Supabase-compatible socket on the wire: both serializers, binary broadcasts,
replay from the change log, and bad input that leaves the socket usable."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import jwt
import orjson
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from api.keys import phoenix_key
from foundation.settings import Settings
from streams.phoenix.bindings import TABLES
from streams.phoenix.serializer import JSON_ENCODING, USER_BROADCAST, USER_BROADCAST_PUSH
from streams.positions import Position
from tests.factories import add_flight, add_world
from tests.tokens import access_token

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with every exposed table's row changes published."""
    return settings.model_copy(update={"realtime_tables": list(TABLES)})


def path(client: TestClient, vsn: str = "1.0.0", apikey: str | None = None) -> str:
    key = apikey if apikey is not None else client.app[phoenix_key].keys.anon  # type: ignore[index]
    return f"/realtime/v1/websocket?apikey={key}&vsn={vsn}"


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Any:
    message = await ws.receive(timeout=10)
    if message.type == WSMsgType.BINARY:
        return message.data
    assert message.type == WSMsgType.TEXT, message
    return orjson.loads(message.data)


async def heartbeat_v1(ws: aiohttp.ClientWebSocketResponse, ref: str) -> None:
    """A heartbeat answered with its ref: the socket is still usable."""
    await ws.send_json({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": ref})
    assert await receive(ws) == {
        "topic": "phoenix",
        "event": "phx_reply",
        "ref": ref,
        "join_ref": None,
        "payload": {"status": "ok", "response": {}},
    }


async def join_v1(
    ws: aiohttp.ClientWebSocketResponse, topic: str, config: dict[str, Any], ref: str = "1"
) -> dict[str, Any]:
    await ws.send_json(
        {
            "topic": topic,
            "event": "phx_join",
            "payload": {"config": config},
            "ref": ref,
            "join_ref": ref,
        }
    )
    reply = await receive(ws)
    assert reply["event"] == "phx_reply", reply
    return dict(reply)


async def test_vsn_2_uses_arrays_and_binary_broadcast_frames(client: TestClient) -> None:
    async with (
        client.ws_connect(path(client, "2.0.0")) as a,
        client.ws_connect(path(client, "2.0.0")) as b,
    ):
        for ws in (a, b):
            await ws.send_str(
                orjson.dumps(
                    [
                        "1",
                        "1",
                        "realtime:room",
                        "phx_join",
                        {"config": {"broadcast": {"ack": True}}},
                    ]
                ).decode()
            )
            assert await receive(ws) == [
                "1",
                "1",
                "realtime:room",
                "phx_reply",
                {"status": "ok", "response": {"postgres_changes": []}},
            ]
            state = await receive(ws)
            assert state[2:] == ["realtime:room", "presence_state", {}]
        # realtime-js 2.x sends a broadcast as kind 3: join_ref, ref, topic, event, metadata, JSON.
        topic, event, ref, payload = b"realtime:room", b"wave", b"2", b'{"hand":"left"}'
        push = bytes((USER_BROADCAST_PUSH, 1, len(ref), len(topic), len(event), 0, JSON_ENCODING))
        await a.send_bytes(push + b"1" + ref + topic + event + payload)
        assert await receive(a) == [
            "1",
            "2",
            "realtime:room",
            "phx_reply",
            {"status": "ok", "response": {}},
        ]
        frame = await receive(b)
        header = bytes((USER_BROADCAST, len(topic), len(event), 0, JSON_ENCODING))
        assert frame == header + topic + event + payload


async def test_vsn_1_broadcast_reaches_a_vsn_2_client_as_kind_4(client: TestClient) -> None:
    async with (
        client.ws_connect(path(client)) as old,
        client.ws_connect(path(client, "2.0.0")) as new,
    ):
        await join_v1(old, "realtime:mixed", {})
        await receive(old)  # presence_state
        await new.send_str(orjson.dumps(["1", "1", "realtime:mixed", "phx_join", {}]).decode())
        await receive(new)
        await receive(new)
        await old.send_json(
            {
                "topic": "realtime:mixed",
                "event": "broadcast",
                "ref": "2",
                "join_ref": "1",
                "payload": {"type": "broadcast", "event": "e", "payload": {"x": 1}},
            }
        )
        frame = await receive(new)
        assert frame[0] == USER_BROADCAST
        assert frame.endswith(b'{"x":1}')


async def test_bad_input_gets_supabases_answers_and_the_socket_stays_usable(
    client: TestClient,
) -> None:
    async with client.ws_connect(path(client)) as ws:
        await ws.send_str("{not json")
        await ws.send_str("[1, 2]")
        await ws.send_bytes(b"\x09\x01")  # an unknown binary kind
        await heartbeat_v1(ws, "h1")
        reply = await join_v1(ws, "realtime:", {})
        assert reply["payload"] == {
            "status": "error",
            "response": {"reason": "TopicNameRequired: You must provide a topic name"},
        }
        await ws.send_json(
            {
                "topic": "realtime:nowhere",
                "event": "broadcast",
                "ref": "5",
                "payload": {"event": "x", "payload": {}},
            }
        )
        assert (await receive(ws))["payload"]["response"] == {"reason": "unmatched topic"}
        await join_v1(ws, "realtime:room", {"broadcast": {"ack": True}}, ref="6")
        await receive(ws)  # presence_state
        await ws.send_json(
            {
                "topic": "realtime:room",
                "event": "whatever",
                "ref": "7",
                "join_ref": "6",
                "payload": {},
            }
        )
        big = {"type": "broadcast", "event": "big", "payload": {"blob": "x" * 10_000}}
        await ws.send_json(
            {
                "topic": "realtime:room",
                "event": "broadcast",
                "ref": "8",
                "join_ref": "6",
                "payload": big,
            }
        )
        too_big = await receive(ws)  # the unknown event got no answer, so this is next
        assert (too_big["ref"], too_big["payload"]) == (
            "8",
            {"status": "error", "response": {"reason": "Payload size exceeded"}},
        )
        await heartbeat_v1(ws, "h2")


async def test_too_many_channels_is_refused_with_supabases_reason(
    aiohttp_client: Any, settings: Any
) -> None:
    from server.app import create_app

    client = await aiohttp_client(
        create_app(settings.model_copy(update={"realtime_max_channels": 1}))
    )
    async with client.ws_connect(path(client)) as ws:
        await join_v1(ws, "realtime:one", {"presence": {"enabled": False}})
        reply = await join_v1(ws, "realtime:two", {}, ref="2")
        assert reply["payload"]["response"] == {
            "reason": "ChannelRateLimitReached: Too many channels"
        }


async def test_replay_since_a_position_gets_exactly_the_missed_changes_in_order(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR", number=3, departure=SOON)
    bindings = [{"event": "UPDATE", "schema": "public", "table": "flights"}]
    async with client.ws_connect(path(client)) as ws:
        await join_v1(
            ws, "realtime:live", {"postgres_changes": bindings, "presence": {"enabled": False}}
        )
        assert (await receive(ws))["event"] == "system"
        await db.execute("UPDATE flights SET departure_gate = 'G1' WHERE id = $1", flight)
        seen = (await receive(ws))["payload"]["data"]
    position = seen["position"]
    # Offline: three more changes; then a rejoin from the last position it saw.
    for gate in ("G2", "G3", "G4"):
        await db.execute("UPDATE flights SET departure_gate = $2 WHERE id = $1", flight, gate)
    config = {
        "postgres_changes": bindings,
        "presence": {"enabled": False},
        "broadcast": {"replay": {"since": position}},
    }
    async with client.ws_connect(path(client)) as ws:
        await join_v1(ws, "realtime:live", config)
        assert (await receive(ws))["event"] == "system"
        gates = [
            (await receive(ws))["payload"]["data"]["record"]["departure_gate"] for _ in range(3)
        ]
        assert gates == ["G2", "G3", "G4"]
        await heartbeat_v1(ws, "h")  # and nothing else came before it


async def test_skybound_topics_carry_server_broadcasts_with_their_position(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR", number=4, departure=SOON)
    async with client.ws_connect(path(client)) as ws:
        await join_v1(ws, f"realtime:flight:{flight}", {"presence": {"enabled": False}})
        await db.execute("UPDATE flights SET departure_gate = 'C3' WHERE id = $1", flight)
        message = await receive(ws)
    assert message["event"] == "broadcast"
    body = message["payload"]
    assert body["event"] == "flight.gate_changed"
    assert body["payload"]["flight"]["departure"]["gate"] == "C3"
    position = Position.parse(body["meta"]["id"])  # where a replay would resume
    assert position.event_id == await db.fetchval(
        "SELECT max(id) FROM change_events WHERE event_type = 'flight.gate_changed'"
    )


async def test_a_private_user_topic_is_its_owners_only(client: TestClient) -> None:
    import uuid

    owner, stranger = uuid.uuid4(), uuid.uuid4()
    async with client.ws_connect(path(client)) as ws:
        config = {"private": True, "presence": {"enabled": False}}
        await ws.send_json(
            {
                "topic": f"realtime:user:{owner}",
                "event": "phx_join",
                "ref": "1",
                "payload": {"config": config, "access_token": access_token(stranger)},
            }
        )
        refused = await receive(ws)
        assert refused["payload"]["status"] == "error"
        assert refused["payload"]["response"]["reason"].startswith("Unauthorized: ")
        await ws.send_json(
            {
                "topic": f"realtime:user:{owner}",
                "event": "phx_join",
                "ref": "2",
                "payload": {"config": config, "access_token": access_token(owner)},
            }
        )
        assert (await receive(ws))["payload"]["status"] == "ok"


async def test_an_expired_token_closes_its_channel_with_a_system_error(client: TestClient) -> None:
    import uuid

    token = access_token(uuid.uuid4(), ttl=1)
    async with client.ws_connect(path(client)) as ws:
        await ws.send_json(
            {
                "topic": "realtime:room",
                "event": "phx_join",
                "ref": "1",
                "join_ref": "1",
                "payload": {"config": {"presence": {"enabled": False}}, "access_token": token},
            }
        )
        assert (await receive(ws))["payload"]["status"] == "ok"
        system = await receive(ws)
        assert (system["event"], system["payload"]["status"]) == ("system", "error")
        assert system["payload"]["message"] == "Token has expired"
        closed = await receive(ws)
        assert (closed["event"], closed["topic"]) == ("phx_close", "realtime:room")
        await heartbeat_v1(ws, "h")


async def test_the_broadcast_api_needs_a_key_and_reaches_joined_channels(
    client: TestClient,
) -> None:
    anon = client.app[phoenix_key].keys.anon  # type: ignore[index]
    body = {"messages": [{"topic": "news", "event": "flash", "payload": {"n": 7}}]}
    # A session of its own: the suite's client sends the anon key with every request.
    async with (
        aiohttp.ClientSession() as bare,
        bare.post(client.make_url("/realtime/v1/api/broadcast"), json=body) as refused,
    ):
        assert refused.status == 401
        assert refused.content_type == "application/problem+json"
    async with client.ws_connect(path(client)) as ws:
        await join_v1(ws, "realtime:news", {"presence": {"enabled": False}})
        accepted = await client.post(
            "/realtime/v1/api/broadcast", json=body, headers={"apikey": anon}
        )
        assert accepted.status == 202
        message = await asyncio.wait_for(receive(ws), 10)
    assert message["payload"] == {"type": "broadcast", "event": "flash", "payload": {"n": 7}}


@pytest.mark.parametrize("where", ["/realtime/v1/websocket", "/socket/websocket"])
async def test_a_bad_apikey_is_a_403_problem_on_both_paths(client: TestClient, where: str) -> None:
    response = await client.get(f"{where}?apikey=nope&vsn=1.0.0")
    assert response.status == 403
    assert response.content_type == "application/problem+json"


async def test_postgres_changes_survive_a_killed_listener_without_loss(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR", number=5, departure=SOON)
    bindings = [{"event": "UPDATE", "schema": "public", "table": "flights",
                 "filter": f"id=eq.{flight}"}]  # fmt: skip
    async with client.ws_connect(path(client)) as ws:
        await join_v1(ws, "realtime:faults", {"postgres_changes": bindings,
                                              "presence": {"enabled": False}})  # fmt: skip
        assert (await receive(ws))["event"] == "system"
        killed = await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'skybound-listener' AND datname = current_database()"
        )
        assert killed == 1
        # Committed while the listener is down: each must still arrive, in order.
        for gate in ("K1", "K2", "K3"):
            await db.execute("UPDATE flights SET departure_gate = $2 WHERE id = $1", flight, gate)
        gates = [(await receive(ws))["payload"]["data"]["record"]["departure_gate"]
                 for _ in range(3)]  # fmt: skip
        assert gates == ["K1", "K2", "K3"]


async def test_a_fresh_access_token_keeps_the_channel_past_the_old_expiry(
    client: TestClient,
) -> None:
    import uuid

    user = uuid.uuid4()
    first = access_token(user, ttl=1)
    async with client.ws_connect(path(client)) as ws:
        await ws.send_json({"topic": "realtime:room", "event": "phx_join", "ref": "1",
                            "join_ref": "1", "payload": {"config": {"presence": {
                                "enabled": False}}, "access_token": first}})  # fmt: skip
        assert (await receive(ws))["payload"]["status"] == "ok"
        await ws.send_json({"topic": "realtime:room", "event": "access_token", "ref": "2",
                            "join_ref": "1",
                            "payload": {"access_token": access_token(user)}})  # fmt: skip
        expires = jwt.decode(first, options={"verify_signature": False})["exp"]
        # The server's timer and this test share one loop: once the old expiry has
        # passed, a heartbeat's answer is the next frame, with no system error before it.
        await asyncio.sleep(max(0.0, expires - time.time()) + 0.05)
        await heartbeat_v1(ws, "h")
        # And the channel still answers: an unknown event is ignored, a leave is OK.
        await ws.send_json({"topic": "realtime:room", "event": "phx_leave", "ref": "3",
                            "join_ref": "1", "payload": {}})  # fmt: skip
        assert (await receive(ws))["payload"] == {"status": "ok", "response": {}}
