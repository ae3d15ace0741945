"""The shipped nginx configuration, run for real: Debian's nginx on loopback (a rendered
copy of server/deploy/nginx/skybound.conf with test ports, its own prefix, no root) in
front of `skybound serve --workers 2`, with real SSE and WebSocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

from api.keys import openapi_key
from foundation.settings import Settings
from server.app import create_app
from tests.deploy_tools import find_or_install_nginx
from tests.e2e.harness import BOARD, World, build_world, free_port, running_server
from tests.sse_client import SseReader
from tests.waiting import eventually

ROOT = Path(__file__).parents[1]
CONFIG = ROOT / "server" / "deploy" / "nginx" / "skybound.conf"
ANON_KEY = "proxy-anon-key"
SEARCH_BUDGET = 3
STOP_WITHIN = 10.0

MAIN_CONFIG = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/skybound.conf;
}}
"""


def render(config: str, *, listen: int, upstream: int) -> str:
    """The shipped config with loopback ports: nginx on ``listen``, both upstream entries
    on the one port of `serve --workers 2`."""
    rendered, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{listen};", config)
    assert listens == 1, "the config should have one plain-HTTP server"
    rendered, upstreams = re.subn(r"server skybound-\d:8080", f"server 127.0.0.1:{upstream}",
                                  rendered)  # fmt: skip
    assert upstreams == 2, "the config should name the compose stack's two instances"
    return rendered


@dataclass
class Nginx:
    port: int
    process: subprocess.Popen[bytes]
    prefix: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def errors(self) -> str:
        log = self.prefix / "error.log"
        return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


@contextlib.contextmanager
def nginx_in_front(upstream: int, prefix: Path) -> Iterator[Nginx]:
    binary = find_or_install_nginx()
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (prefix / "skybound.conf").write_text(render(CONFIG.read_text(), listen=port,
                                                 upstream=upstream))  # fmt: skip
    (prefix / "nginx.conf").write_text(MAIN_CONFIG.format(prefix=prefix))
    command = [str(binary), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
               "-e", str(prefix / "error.log")]  # fmt: skip
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([*command, "-g", "daemon off;"])
    try:
        yield Nginx(port, process, prefix)
    finally:
        process.terminate()
        try:
            process.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
async def world(db: asyncpg.Connection) -> World:
    """Four legs out of JFK and a traveller booked on the first two."""
    return await build_world(db)


@pytest.fixture
async def stack(database_url: str, world: World, tmp_path: Path) -> AsyncIterator[Nginx]:
    """nginx on loopback in front of `skybound serve --workers 2`, both answering."""
    env = {
        "SKYBOUND_TRUSTED_PROXY_HOPS": "1",
        "SKYBOUND_RATE_LIMITS": f'{{"address.search": "{SEARCH_BUDGET}/minute"}}',
        "SUPABASE_ANON_KEY": ANON_KEY,
        "SKYBOUND_REALTIME_TABLES": "flights",
    }
    async with running_server(database_url, tmp_path / "home", workers=2, env=env) as server:
        with nginx_in_front(server.port, tmp_path / "nginx") as nginx:
            await eventually(lambda: _answers(nginx), 30, what="nginx in front of skybound")
            yield nginx
            assert nginx.process.poll() is None, nginx.errors()


async def _answers(nginx: Nginx) -> bool:
    with contextlib.suppress(aiohttp.ClientError):
        async with aiohttp.ClientSession() as session, session.get(nginx.url("/healthz")) as r:
            return r.status == 200
    return False


async def _gate(db: asyncpg.Connection, flight: int, gate: str) -> None:
    await db.execute("UPDATE flights SET departure_gate = $1 WHERE id = $2", gate, flight)


async def test_sse_events_pass_unbuffered_in_order_and_resume_with_last_event_id(
    stack: Nginx, db: asyncpg.Connection, world: World
) -> None:
    async with aiohttp.ClientSession() as session:
        response = await session.get(stack.url("/v1/streams/boards/JFK"))
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/event-stream"
        board = SseReader(response)
        assert (await board.next()).event == "snapshot"
        # One change at a time: each must arrive on its own, before the next is written
        # (a buffering proxy would hold a lone small event back).
        seen = []
        for n, gate in enumerate(("P1", "P2", "P3")):
            await _gate(db, world.flights[n], gate)
            event = await board.next()
            assert event.event == "flight.gate_changed"
            assert event.json()["flight"]["departure"]["gate"] == gate
            seen.append(event)
        positions = [int(event.id.rpartition(":")[2]) for event in seen if event.id]
        assert positions == sorted(positions)
        assert len(positions) == 3
        response.close()
        # Written while no one listens, replayed on resume through the proxy.
        await _gate(db, world.flights[0], "R1")
        await _gate(db, world.flights[1], "R2")
        resumed = await session.get(
            stack.url("/v1/streams/boards/JFK"), headers={"Last-Event-ID": seen[-1].id or ""}
        )
        assert resumed.status == 200
        replay = SseReader(resumed)
        gates = []
        for _ in range(2):
            event = await replay.next()
            assert event.event == "flight.gate_changed", event
            gates.append(event.json()["flight"]["departure"]["gate"])
        assert gates == ["R1", "R2"]
        resumed.close()


async def test_websocket_upgrades_pass_the_proxy(
    stack: Nginx, db: asyncpg.Connection, world: World
) -> None:
    url = stack.url("/v1/ws").replace("http://", "ws://")
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"type": "subscribe", "topic": BOARD})
        kinds = []
        while "snapshot" not in kinds:
            message = await asyncio.wait_for(ws.receive_json(), 10)
            kinds.append(message.get("event") or message["type"])
        await _gate(db, world.flights[2], "W9")
        while True:
            message = await asyncio.wait_for(ws.receive_json(), 10)
            if message.get("type") == "event":
                break
        assert message["event"] == "flight.gate_changed"
        assert message["data"]["flight"]["departure"]["gate"] == "W9"


async def test_the_supabase_realtime_socket_passes_the_proxy(
    stack: Nginx, db: asyncpg.Connection, world: World
) -> None:
    client = AsyncRealtimeClient(
        stack.url("/realtime/v1").replace("http://", "ws://"), ANON_KEY, auto_reconnect=False
    )
    await client.connect()
    try:
        changes: asyncio.Queue[Any] = asyncio.Queue()
        channel = client.channel("proxy-watch", {"config": {"private": False}})
        channel.on_postgres_changes(
            "UPDATE", changes.put_nowait, table="flights", filter=f"id=eq.{world.flights[3]}"
        )
        states: list[Any] = []
        await channel.subscribe(lambda state, error: states.append((state, error)))
        await eventually(lambda: bool(states), 30, what="the channel's join answered")
        assert states == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
        await _gate(db, world.flights[3], "S5")
        change = await asyncio.wait_for(changes.get(), 30)
        assert change["data"]["record"]["departure_gate"] == "S5"
    finally:
        await client.close()


async def _search_statuses(nginx: Nginx, source: str, spoofed: list[str]) -> list[int]:
    """Searches from local address ``source``, each claiming another X-Forwarded-For."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0), force_close=True)
    statuses = []
    async with aiohttp.ClientSession(connector=connector) as session:
        for claim in spoofed:
            async with session.get(
                nginx.url("/v1/airports/JFK"), headers={"X-Forwarded-For": claim}
            ) as response:
                statuses.append(response.status)
    return statuses


async def test_each_client_address_behind_the_proxy_has_its_own_budget(stack: Nginx) -> None:
    # Two clients (two loopback addresses), each rotating what it claims to be: nginx
    # appends the address it saw, and with one trusted hop that is what is counted.
    first = await _search_statuses(stack, "127.0.0.2", [f"203.0.113.{n}" for n in range(5)])
    assert first == [200] * SEARCH_BUDGET + [429] * (5 - SEARCH_BUDGET)
    second = await _search_statuses(stack, "127.0.0.3", [f"198.51.100.{n}" for n in range(2)])
    assert second == [200, 200]


def test_the_rendered_config_differs_only_in_addresses() -> None:
    shipped = CONFIG.read_text()
    rendered = render(shipped, listen=18080, upstream=18081)
    strip = re.compile(r"(listen|server) \S+")
    assert strip.sub("", rendered) == strip.sub("", shipped)


def _long_lived_paths(spec: dict[str, Any]) -> list[str]:
    """Every path the API documents as an SSE stream or a WebSocket upgrade."""
    return sorted(
        path
        for path, item in spec["paths"].items()
        for op in item.values()
        if "101" in op["responses"]
        or any("text/event-stream" in r.get("content", {}) for r in op["responses"].values())
    )


def _location_for(path: str, config: str) -> str:
    """The block of the location nginx picks for ``path``: an exact match, else the
    longest prefix (the file uses no regular-expression locations)."""
    blocks = dict(re.findall(r"location (= \S+|\S+) \{(.*?)\}", config, re.DOTALL))
    if f"= {path}" in blocks:
        return blocks[f"= {path}"]
    prefixes = [p for p in blocks if not p.startswith("=") and path.startswith(p)]
    return blocks[max(prefixes, key=len)]


def test_stream_locations_neither_buffer_nor_time_out_early(tmp_path: Path) -> None:
    """Every stream and socket the API serves, found in its OpenAPI document, goes
    through a location without buffering and with long timeouts. (Skybound also sends
    X-Accel-Buffering: no; the proxy must not depend on it.)"""
    settings = Settings(database_url="postgresql://127.0.0.1/unused", home=tmp_path)
    paths = _long_lived_paths(create_app(settings)[openapi_key])
    assert "/socket/websocket" in paths
    assert "/v1/streams/me" in paths
    shipped = CONFIG.read_text()
    for path in paths:
        block = _location_for(path, shipped)
        assert "proxy_buffering off;" in block, path
        assert "proxy_read_timeout 1h;" in block, path


async def test_request_ids_pass_the_proxy_or_are_given_by_it(stack: Nginx) -> None:
    async with aiohttp.ClientSession() as session:
        kept = await session.get(stack.url("/v1/flights/999999"),
                                 headers={"X-Request-ID": "trace-7f3a"})  # fmt: skip
        assert kept.status == 404
        assert (await kept.json())["request_id"] == "trace-7f3a"
        given = await session.get(stack.url("/v1/flights/999999"))
        assert given.status == 404
        assert re.fullmatch(r"[0-9a-f]{32}", (await given.json())["request_id"])
