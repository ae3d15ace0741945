"""Server processes ending under their clients: a deploy (SIGTERM, then a new process on
the same port) and a worker killed outright (SIGKILL) under ``serve --workers 2``.
Clients resume from their last position and lose nothing."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from tests.e2e.clients import events_after, newest_event, start_all, wait_complete
from tests.e2e.harness import GateWriter, World, listener_pids, mixed_subscribers, running_server
from tests.waiting import eventually


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_and_restart_clients_resume_without_loss(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path, workers: int
) -> None:
    async with running_server(database_url, tmp_path / "home", workers=workers) as server:
        subscribers = mixed_subscribers(server.port, world, rounds=2)
        writer = GateWriter(database_url, world.flights)
        try:
            await start_all(subscribers)
            writer.start()
            await events_after(db, subscribers, "before the stop", ahead=10)
            assert await server.terminate() == 0
            await eventually(lambda: not server.leftovers(), 20, what="every server process gone")
            # Events keep being committed while no server runs; the clients keep retrying.
            mark = await newest_event(db)

            async def written_meanwhile() -> bool:
                return await newest_event(db) >= mark + 20

            await eventually(written_meanwhile, 30, what="events committed while stopped")
            await server.start()
            await server.wait_ready()
            await events_after(db, subscribers, "after the restart", within=60)
            await writer.stop()
            await wait_complete(db, subscribers, through=await newest_event(db))
            # Every stream was ended by the shutdown and resumed on the new process.
            assert [s.name for s in subscribers if s.ends < 1] == []
            await server.assert_sane()
        finally:
            await writer.stop()
            await asyncio.gather(*(s.drop("rst") for s in subscribers))
        assert await server.terminate() == 0


async def test_killed_worker_is_replaced_and_its_clients_resume_without_loss(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path
) -> None:
    async with running_server(database_url, tmp_path / "home", workers=2) as server:

        async def both_listening() -> bool:
            return len(server.worker_pids()) == 2 and len(await listener_pids(db)) == 2

        await eventually(both_listening, 90, what="two workers, each with its LISTEN connection")
        # Separate connections: the kernel spreads them over the workers (SO_REUSEPORT).
        subscribers = mixed_subscribers(server.port, world, rounds=4)
        writer = GateWriter(database_url, world.flights)
        try:
            await start_all(subscribers)
            placement = {}
            for subscriber in subscribers:
                assert subscriber.conn is not None
                placement[subscriber.name, id(subscriber)] = server.worker_of(
                    subscriber.conn.local_port
                )
            assert None not in placement.values(), placement
            victim, _ = Counter(placement.values()).most_common(1)[0]
            writer.start()
            await events_after(db, subscribers, "before the kill", ahead=10)

            os.kill(victim, signal.SIGKILL)
            # The other worker answers on the port meanwhile (the new one takes a moment).
            await eventually(server.is_ready, 60, what="/readyz answering 200 after the kill")

            def replaced() -> bool:
                workers = server.worker_pids()
                return len(workers) == 2 and victim not in workers

            await eventually(replaced, 60, what="a new worker in place of the killed one")
            await eventually(server.is_ready, 60, what="/readyz answering 200 after the swap")
            await eventually(both_listening, 90, what="the new worker's LISTEN connection")
            await events_after(db, subscribers, "after the kill", within=60)
            await writer.stop()
            await wait_complete(db, subscribers, through=await newest_event(db))
            # The killed worker's clients were cut off and resumed; the others never noticed.
            cut_off = {s.name for s in subscribers if s.ends}
            expected = {s.name for s in subscribers if placement[s.name, id(s)] == victim}
            assert cut_off == expected
            await server.assert_sane()
            samples = await server.metrics()
            assert server.metric(samples, "skybound_worker_restarts_total", max) == 1
        finally:
            await writer.stop()
            await asyncio.gather(*(s.drop("rst") for s in subscribers))
        assert await server.terminate() == 0
        await eventually(lambda: not server.leftovers(), 20, what="every worker gone")


async def test_workers_exit_when_their_supervisor_is_killed(
    db: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    async with running_server(database_url, tmp_path / "home", workers=2) as server:
        await eventually(lambda: len(server.worker_pids()) == 2, 90, what="two workers")
        assert server.process is not None
        server.process.kill()
        await server.process.wait()
        await eventually(lambda: not server.leftovers(), 20, what="the orphaned workers gone")
