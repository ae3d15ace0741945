"""Issue 13's "done when": Supabase's own clients, given only what `skybound demo` prints,
hear the board changes its simulator writes.

The demo runs as a real process on a fresh database of its own (it migrates, seeds and
starts the simulator itself); the test writes nothing, so every change a client hears is
the simulator's. realtime-py and realtime-js under Node each join with a filtered
postgres_changes binding on public.flights, and the demo then stops cleanly on Ctrl+C,
its simulator process with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from realtime import (
    AsyncRealtimeClient,
    RealtimePostgresChangesListenEvent,
    RealtimeSubscribeStates,
)

from tests.e2e.harness import free_port
from tests.node_clients import realtime_js_modules
from tests.test_realtime_compat import subscribed
from tests.waiting import eventually

SCRIPT = Path(__file__).parent.parent / "node" / "demo_changes.cjs"
ORIGIN = "JFK"  # a hub of the demo's schedule: the simulator moves its departures all day
# Liveness bounds only: a cold demo migrates and seeds its schedule before it serves.
START_WITHIN = 120.0
CHANGE_WITHIN = 30.0
STOP_WITHIN = 30.0
ANNOUNCEMENT = re.compile(r"Supabase Realtime\s+(ws://\S+/realtime/v1)\s+\(apikey (\S+)\)")


@dataclass
class Demo:
    process: asyncio.subprocess.Process
    log: Path
    socket_url: str = ""
    anon_key: str = ""
    announced_after: tuple[str, ...] = ()  # what it printed before the Realtime line
    drain: asyncio.Task[bytes] | None = None  # reads the rest of its stdout

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def family(self) -> list[psutil.Process]:
        """The demo and every process under it (the simulator among them)."""
        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]


@pytest.fixture
async def demo(empty_database_url: str, tmp_path: Path) -> AsyncIterator[Demo]:
    """`skybound demo` on a free port with a fast simulator, up to its announcement."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SKYBOUND_", "SUPABASE_"))}
    env.update(
        DATABASE_URL=empty_database_url,
        SKYBOUND_HOME=str(tmp_path / "home"),
        SKYBOUND_LOG_FORMAT="text",
        SKYBOUND_LOG_LEVEL="WARNING",
        SKYBOUND_ACCESS_LOG="false",
    )
    log = tmp_path / "demo.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "demo",
            "--host", "127.0.0.1", "--port", str(free_port()), "--speed", "600",
            stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env,
        )  # fmt: skip
    running = Demo(process, log)
    seen: list[psutil.Process] = []
    try:
        running.socket_url, running.anon_key = await _announcement(running)
        seen = running.family()
        yield running
    finally:
        # Children first: a simulator that outlived the demo would hold its stdout open,
        # and the drain below would never see the end of it.
        seen += _family_or_none(running)
        for leftover in seen:
            with contextlib.suppress(psutil.Error):
                leftover.kill()
        if process.returncode is None:
            process.kill()
        await process.wait()
        if running.drain is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(running.drain, STOP_WITHIN)


def _family_or_none(demo: Demo) -> list[psutil.Process]:
    try:
        return demo.family()
    except psutil.Error:
        return []


async def _announcement(demo: Demo) -> tuple[str, str]:
    """The socket URL and anon key from the demo's "Supabase Realtime" line."""
    assert demo.process.stdout is not None
    printed: list[str] = []

    async def read() -> tuple[str, str]:
        assert demo.process.stdout is not None
        while line := await demo.process.stdout.readline():
            if found := ANNOUNCEMENT.search(line.decode()):
                demo.announced_after = tuple(printed)
                return found.group(1), found.group(2)
            printed.append(line.decode())
        raise AssertionError(f"the demo exited before announcing Realtime:\n{demo.tail()}")

    try:
        found = await asyncio.wait_for(read(), START_WITHIN)
    except TimeoutError:
        raise AssertionError(f"the demo did not announce Realtime:\n{demo.tail()}") from None
    # Keep its stdout drained so that it never blocks on a full pipe.
    demo.drain = asyncio.create_task(demo.process.stdout.read())
    return found


async def _first(queue: asyncio.Queue[Any], who: str, demo: Demo) -> Any:
    try:
        return await asyncio.wait_for(queue.get(), CHANGE_WITHIN)
    except TimeoutError:
        raise AssertionError(
            f"{who} heard no UPDATE of a flight from {ORIGIN} written by the demo's simulator"
            f" in {CHANGE_WITHIN:.0f} s:\n{demo.tail()}"
        ) from None


async def _realtime_py_change(demo: Demo) -> dict[str, Any]:
    socket = AsyncRealtimeClient(demo.socket_url, demo.anon_key, auto_reconnect=False)
    await socket.connect()
    try:
        changes: asyncio.Queue[Any] = asyncio.Queue()
        channel = socket.channel("demo-board")
        channel.on_postgres_changes(
            RealtimePostgresChangesListenEvent.Update,
            changes.put_nowait,
            schema="public",
            table="flights",
            filter=f"origin=eq.{ORIGIN}",
        )
        assert await subscribed(channel) == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
        change: dict[str, Any] = await _first(changes, "realtime-py", demo)
        return change
    finally:
        await socket.close()


async def _realtime_js_change(demo: Demo) -> dict[str, Any]:
    modules = await asyncio.to_thread(realtime_js_modules)
    node = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), demo.socket_url, demo.anon_key, ORIGIN,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(modules)},
    )  # fmt: skip
    lines: asyncio.Queue[Any] = asyncio.Queue()

    async def read() -> None:
        assert node.stdout is not None
        assert node.stderr is not None
        while line := await node.stdout.readline():
            lines.put_nowait(json.loads(line))
        lines.put_nowait({"kind": "exited", "stderr": (await node.stderr.read()).decode()[-2000:]})

    reader = asyncio.create_task(read())
    try:
        status = await _first(lines, "realtime-js (joining)", demo)
        assert (status["kind"], status["status"], status["error"]) == ("status", "SUBSCRIBED", None)
        message = await _first(lines, "realtime-js", demo)
        assert message["kind"] == "change", message
        change: dict[str, Any] = message["change"]
        return change
    finally:
        if node.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                node.kill()
        await node.wait()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
async def test_supabase_clients_hear_the_demo_simulator_with_only_the_printed_key(
    demo: Demo, stop: signal.Signals
) -> None:
    # The database was empty: the demo seeded its own schedule.
    assert any(line.startswith("Seeded ") for line in demo.announced_after), demo.announced_after
    # Serving starts just after the announcement; a client connecting earlier is refused.
    await eventually(_ready(demo), START_WITHIN, what="the demo's /readyz answering 200")
    simulator = [p for p in demo.family() if _is_simulator(p)]
    assert len(simulator) == 1, [_command(p) for p in demo.family()]

    # A group, so that one client failing stops the other (and its Node process) too.
    async with asyncio.TaskGroup() as clients:
        python_client = clients.create_task(_realtime_py_change(demo))
        node_client = clients.create_task(_realtime_js_change(demo))
    from_py, from_js = python_client.result(), node_client.result()

    data = from_py["data"]
    assert (data["schema"], data["table"], data["type"]) == ("public", "flights", "UPDATE")
    assert data["record"]["origin"] == ORIGIN
    assert isinstance(data["record"]["id"], int)
    assert data["old_record"]["id"] == data["record"]["id"]
    assert data["commit_timestamp"]
    assert {"name": "origin", "type": "bpchar"} in data["columns"]
    assert "id" in {column["name"] for column in data["columns"]}
    assert data["errors"] is None
    assert len(from_py["ids"]) == 1

    assert (from_js["schema"], from_js["table"], from_js["eventType"]) == (
        "public", "flights", "UPDATE",
    )  # fmt: skip
    assert from_js["new"]["origin"] == ORIGIN
    assert isinstance(from_js["new"]["id"], int)
    assert from_js["old"]["id"] == from_js["new"]["id"]
    assert from_js["commit_timestamp"]
    assert from_js["errors"] is None

    family = demo.family()
    demo.process.send_signal(stop)  # Ctrl+C, as the demo tells its user, or a service stop
    try:
        code = await asyncio.wait_for(demo.process.wait(), STOP_WITHIN)
    except TimeoutError:
        raise AssertionError(f"the demo did not stop on {stop.name}:\n{demo.tail()}") from None
    assert code == 0, demo.tail()
    # The demo waits for its simulator before it exits.
    assert not _alive(simulator[0]), "the simulator outlived the demo"
    await eventually(
        lambda: not any(_alive(p) for p in family), 10, what="the demo's processes gone"
    )


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _is_simulator(process: psutil.Process) -> bool:
    """The demo's one spawned child (multiprocessing's resource tracker aside)."""
    command = _command(process)
    return "spawn_main" in command and "resource_tracker" not in command


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _ready(demo: Demo) -> Any:
    readyz = demo.socket_url.replace("ws://", "http://").replace("/realtime/v1", "/readyz")

    async def check() -> bool:
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(readyz) as response,
            ):
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    return check
