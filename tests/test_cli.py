"""The skybound command: migrate, seed, and serve as real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from server.cli import main
from tests.factories import add_flight, add_world


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SKYBOUND_LOG_FORMAT="text", SKYBOUND_LOG_LEVEL="WARNING", **extra)
    return env


async def _wait_ready(port: int, within: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return dict(await response.json())
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not become ready")
            await asyncio.sleep(0.2)


async def _serve(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "serve", *args, env=env
    )


async def _stop(process: asyncio.subprocess.Process, within: float = 20.0) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), within)
    finally:
        if process.returncode is None:
            process.kill()


def test_migrate_reports_up_to_date(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["migrate"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_seed_loads_the_requested_schedule(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["seed", "--flights", "600", "--days", "3", "--start", "2026-12-01"]) == 0
    assert "seeded 600 flights" in capsys.readouterr().out

    async def count() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM flights"))
        finally:
            await conn.close()

    assert asyncio.run(count()) == 600


def test_invalid_configuration_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SKYBOUND_PORT", "eighty")
    assert main(["migrate"]) == 2
    assert "port" in capsys.readouterr().err


async def _first_event(response: aiohttp.ClientResponse) -> bytes:
    """Read SSE lines until the first flight event's data line."""
    seen_event = False
    while True:
        line = await asyncio.wait_for(response.content.readline(), 15)
        if line.startswith(b"event: flight."):
            seen_event = True
        elif seen_event and line.startswith(b"data: "):
            return line


async def test_every_worker_delivers_every_event(database_url: str, db: asyncpg.Connection) -> None:
    await add_world(db)
    flight = await add_flight(
        db, origin="JFK", destination="LHR", departure=datetime.now(UTC) + timedelta(hours=1)
    )
    port = _free_port()
    process = await _serve(
        "--port", str(port), "--workers", "2", env=_env(DATABASE_URL=database_url)
    )
    try:
        await _wait_ready(port)
        async with aiohttp.ClientSession() as session:
            # /readyz answered from one worker; the other may still be connecting.
            listeners = 0
            for _ in range(300):
                listeners = await db.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name ="
                    " 'skybound-listener' AND datname = current_database()"
                )
                if listeners >= 2:
                    break
                await asyncio.sleep(0.1)
            assert listeners == 2  # one LISTEN connection per worker process
            # Separate connections: the kernel spreads them over both workers.
            streams = [
                await session.get(
                    f"http://127.0.0.1:{port}/v1/streams/flights/{flight}",
                    headers={"Connection": "close"},
                )
                for _ in range(8)
            ]
            await db.execute("UPDATE flights SET departure_gate = 'W2' WHERE id = $1", flight)
            lines = await asyncio.gather(*(_first_event(s) for s in streams))
            assert all(b'"gate":"W2"' in line for line in lines)
            for stream in streams:
                stream.close()
    finally:
        assert await _stop(process) == 0


async def test_serve_with_two_workers_answers_and_stops_cleanly(database_url: str) -> None:
    port = _free_port()
    process = await _serve(
        "--port", str(port), "--workers", "2", env=_env(DATABASE_URL=database_url)
    )
    try:
        ready = await _wait_ready(port)
        assert all(ready["checks"].values())
        assert {"database", "change_listener", "change_listener_lag"} <= set(ready["checks"])
        async with aiohttp.ClientSession() as session:
            statuses = []
            for _ in range(20):
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    statuses.append(response.status)
        assert statuses == [200] * 20
    finally:
        code = await _stop(process)
    assert code == 0


async def test_serve_without_database_url_runs_and_stops_embedded_postgres(
    tmp_path: Path,
) -> None:
    port = _free_port()
    home = tmp_path / "home"
    process = await _serve("--port", str(port), env=_env(SKYBOUND_HOME=str(home)))
    try:
        await _wait_ready(port, within=60)
        assert (home / "pgdata" / "postmaster.pid").exists()
    finally:
        code = await _stop(process)
    assert code == 0
    assert not (home / "pgdata" / "postmaster.pid").exists()
