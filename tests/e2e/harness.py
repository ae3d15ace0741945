"""The server under test as real processes, and the data that makes its events flow.

``running_server`` starts ``python -m server.cli serve`` (uvloop, as in production)
and, however the test ends, stops the whole process tree: SIGTERM, then SIGKILL
for whatever outlives the bound, workers included.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from prometheus_client.parser import text_string_to_metric_families

from foundation.database import connect
from foundation.migrator import migrate
from tests.e2e.clients import SseSubscriber, Subscriber, WsSubscriber
from tests.factories import add_brands, add_flight, add_world
from tests.tokens import TEST_JWT_SECRET, access_token

BOARD = "board:JFK:departures"
READY_WITHIN = 90.0  # a cold start of two workers on a loaded 2-core machine
STOP_WITHIN = 30.0


def free_port() -> int:
    """A port nothing listens on now (bind-probed; the server binds it moments later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``skybound serve`` on 127.0.0.1, restartable on the same port."""

    def __init__(
        self,
        database_url: str,
        home: Path,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.workers = workers
        self.process: asyncio.subprocess.Process | None = None
        self._env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        self._env.update(
            DATABASE_URL=database_url,
            SKYBOUND_HOME=str(home),
            SKYBOUND_HOST="127.0.0.1",
            SKYBOUND_LOG_FORMAT="text",
            SKYBOUND_LOG_LEVEL="WARNING",
            SKYBOUND_ACCESS_LOG="false",
            SUPABASE_JWT_SECRET=TEST_JWT_SECRET,
            **(env or {}),
        )
        # Every process this server ever had: whatever is still alive at the end is killed.
        self._seen: dict[int, psutil.Process] = {}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def start(self) -> None:
        assert self.process is None or self.process.returncode is not None
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "serve",
            "--port", str(self.port), "--workers", str(self.workers),
            env=self._env,
        )  # fmt: skip
        self._remember()

    def _remember(self) -> list[psutil.Process]:
        if self.process is None or self.process.returncode is not None:
            return []
        try:
            parent = psutil.Process(self.process.pid)
            family = [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        for member in family:
            self._seen.setdefault(member.pid, member)
        return family[1:]

    def worker_pids(self) -> set[int]:
        """Pids of the serving children (multiprocessing's spawn, not its resource tracker)."""
        workers = set()
        for child in self._remember():
            with contextlib.suppress(psutil.Error):
                if child.status() != psutil.STATUS_ZOMBIE and any(
                    "spawn_main" in part for part in child.cmdline()
                ):
                    workers.add(child.pid)
        return workers

    def worker_of(self, client_port: int) -> int | None:
        """The worker holding the server side of the connection from ``client_port``."""
        for pid in self.worker_pids():
            with contextlib.suppress(psutil.Error):
                for conn in psutil.Process(pid).net_connections(kind="tcp"):
                    peer = conn.raddr.port if conn.raddr else None
                    if peer == client_port and conn.laddr.port == self.port:
                        return pid
        return None

    async def readiness(self) -> tuple[int, dict[str, Any]] | None:
        """/readyz's status and body, or None while nothing answers."""
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
                session.get(self.url("/readyz")) as response,
            ):
                return response.status, dict(await response.json())
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None

    async def is_ready(self) -> bool:
        answer = await self.readiness()
        return answer is not None and answer[0] == 200

    async def wait_ready(self, within: float = READY_WITHIN) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + within
        while True:
            assert self.process is not None
            assert self.process.returncode is None, "the server exited"
            answer = await self.readiness()
            if answer is not None and answer[0] == 200:
                return answer[1]
            assert loop.time() < give_up, f"server not ready in time: {answer}"
            await asyncio.sleep(0.2)

    async def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        """/metrics parsed: samples by name (the text must be valid exposition format)."""
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session,
            session.get(self.url("/metrics")) as response,
        ):
            assert response.status == 200
            text = await response.text()
        samples: dict[str, list[tuple[dict[str, str], float]]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((sample.labels, sample.value))
        return samples

    async def assert_sane(self) -> None:
        """Still running, ready, and its metrics render with no background task restarted."""
        assert self.process is not None
        assert self.process.returncode is None, "the server exited"
        answer = await self.readiness()
        assert answer is not None, "/readyz does not answer"
        status, body = answer
        assert status == 200, body
        assert body["status"] == "ready", body
        assert all(body["checks"].values()), body
        # Under --workers this is whichever worker answers, maybe one that just started.
        samples = await self.metrics()
        # Clients leaving or a database blip is routine: no task should have died for it,
        # and a departed client is not an error the hub had to contain.
        restarted = [labels for labels, n in samples.get("skybound_task_restarts_total", []) if n]
        assert not restarted, f"tasks restarted: {restarted}"
        down = [labels for labels, up in samples.get("skybound_task_up", []) if not up]
        assert not down, f"tasks down: {down}"
        assert self.metric(samples, "skybound_stream_contained_errors") == 0

    @staticmethod
    def metric(
        samples: dict[str, list[tuple[dict[str, str], float]]],
        name: str,
        combine: Callable[[list[float]], float] = sum,
    ) -> float:
        """The value of a metric without labels of its own (the test fails if it is not
        exposed). Under --workers every worker reports it (label ``worker``), and they are
        combined: summed by default (clients, requests), ``max`` for a figure every worker
        reports for the whole pool (worker restarts)."""
        assert name in samples, f"{name} is not in /metrics"
        values = samples[name]
        assert all(set(labels) <= {"worker"} for labels, _ in values), values
        workers = [labels.get("worker") for labels, _ in values]
        assert len(set(workers)) == len(workers), f"a worker reported {name} twice: {values}"
        return combine([value for _, value in values])

    async def terminate(self, within: float = STOP_WITHIN) -> int:
        """SIGTERM and wait for the exit code; SIGKILL if it takes longer than ``within``."""
        assert self.process is not None
        self._remember()
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.process.wait(), within)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()

    async def cleanup(self) -> None:
        """Leave no process behind, whatever state the test left the server in."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(TimeoutError):
                await self.terminate(within=15)
        survivors = [p for p in self._seen.values() if _alive(p)]
        for process in survivors:
            with contextlib.suppress(psutil.Error):
                process.kill()
        await asyncio.to_thread(psutil.wait_procs, survivors, 10)

    def leftovers(self) -> list[int]:
        return [pid for pid, process in self._seen.items() if _alive(process)]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@contextlib.asynccontextmanager
async def running_server(
    database_url: str, home: Path, *, workers: int = 1, env: Mapping[str, str] | None = None
) -> AsyncIterator[ServerProcess]:
    server = ServerProcess(database_url, home, workers=workers, env=env)
    try:
        await server.start()
        await server.wait_ready()
        yield server
    finally:
        await server.cleanup()


async def listener_pids(db: asyncpg.Connection) -> set[int]:
    """Backends of the servers' LISTEN connections on this database."""
    rows = await db.fetch(
        "SELECT pid FROM pg_stat_activity"
        " WHERE application_name = 'skybound-listener' AND datname = current_database()"
    )
    return {row["pid"] for row in rows}


# --- data -------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    flights: list[int]  # legs out of JFK, all on board:JFK:departures
    traveller: uuid.UUID  # booked on the first two: their events reach user:{traveller}

    @property
    def user_topic(self) -> str:
        return f"user:{self.traveller}"


async def build_world(db: asyncpg.Connection, legs: int = 4) -> World:
    await add_world(db)
    await add_brands(db, "SB")
    now = datetime.now(UTC).replace(microsecond=0)
    flights = [
        await add_flight(db, origin="JFK", destination="LHR", number=100 + n,
                         departure=now + timedelta(hours=1 + n), departure_gate="A1")
        for n in range(legs)
    ]  # fmt: skip
    traveller = uuid.uuid4()
    await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", traveller)
    booking = await db.fetchval(
        "INSERT INTO bookings (record_locator, user_id, total_minor, currency)"
        " VALUES ('E2E001', $1, 45000, 'USD') RETURNING id",
        traveller,
    )
    for n, flight in enumerate(flights[:2], start=1):
        await db.execute(
            "INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,"
            " fare_brand) VALUES ($1, $2, 1, $3, 'economy', 'SB_ECO_LIGHT')",
            booking, n, flight,
        )  # fmt: skip
    return World(flights, traveller)


async def migrated_world(url: str) -> World:
    """A dedicated server's database, migrated, with the test's flights and traveller."""
    setup = await connect(url)
    try:
        await migrate(setup)
        return await build_world(setup)
    finally:
        await setup.close()


def mixed_subscribers(port: int, world: World, rounds: int) -> list[Subscriber]:
    """Per round: SSE board, flight and private streams, and two WebSockets (one private)."""
    token = access_token(world.traveller)
    private = {"Authorization": f"Bearer {token}"}
    subscribers: list[Subscriber] = []
    for n in range(rounds):
        flight = world.flights[n % len(world.flights)]
        subscribers += [
            SseSubscriber(port, "/v1/streams/boards/JFK", BOARD),
            SseSubscriber(port, f"/v1/streams/flights/{flight}", f"flight:{flight}"),
            SseSubscriber(port, "/v1/streams/me", world.user_topic, private),
            WsSubscriber(port, [BOARD, f"flight:{flight}"]),
            WsSubscriber(port, [world.user_topic, f"flight:{flight}"], token=token),
        ]
    return subscribers


class GateWriter:
    """Moves the flights' gates one committed UPDATE at a time: events that flow.

    ``start`` runs it in the background (bounded in count) until ``stop``; ``write``
    commits a given number at once. Its own connection, so the test's stays free.
    """

    def __init__(self, database_url: str, flights: list[int], *, pause: float = 0.02) -> None:
        self.database_url = database_url
        self.flights = flights
        self.pause = pause
        self.written = 0
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def write(self, count: int) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            for _ in range(count):
                await self._update(conn)
        finally:
            await conn.close()

    async def _update(self, conn: asyncpg.Connection) -> None:
        n = self.written
        self.written += 1
        flight = self.flights[n % len(self.flights)]
        # A gate no earlier update used, so every UPDATE records an event.
        await conn.execute("UPDATE flights SET departure_gate = $1 WHERE id = $2", f"G{n}", flight)

    def start(self, limit: int = 5000) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(limit), name="gate writer")

    async def _run(self, limit: int) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            for _ in range(limit):
                if self._stopping.is_set():
                    return
                await self._update(conn)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.pause)
        finally:
            await conn.close()

    async def stop(self) -> None:
        """Stop writing; re-raise whatever stopped it early."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        await asyncio.wait_for(task, 30)
