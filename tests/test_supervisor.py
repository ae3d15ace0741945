"""Supervised background tasks: a failure is logged, counted, restarted and visible."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from foundation.metrics import Metrics
from foundation.supervisor import Supervisor, end_scoped_task
from tests.waiting import eventually


def _restarts(metrics: Metrics, task: str) -> float:
    value = metrics.registry.get_sample_value("skybound_task_restarts_total", {"task": task})
    return value or 0.0


async def test_a_task_that_raises_is_logged_counted_and_restarted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    supervisor = Supervisor(metrics, min_backoff=0.01, max_backoff=0.02)
    runs = 0
    steady = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            raise RuntimeError(f"failure {runs}")
        steady.set()
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR, logger="foundation.supervisor"):
        task = supervisor.start("flaky", flaky)
        await asyncio.wait_for(steady.wait(), 10)
    assert task.restarts == 2
    assert task.alive
    assert _restarts(metrics, "flaky") == 2
    failures = [r for r in caplog.records if getattr(r, "task", None) == "flaky"]
    assert len(failures) == 2
    assert all(r.exc_info and "failure" in str(r.exc_info[1]) for r in failures)
    assert b'skybound_task_up{task="flaky"} 1.0' in metrics.render()
    await supervisor.stop_all()
    assert task.state == "stopped"


async def test_a_task_that_returns_is_restarted_too() -> None:
    supervisor = Supervisor(Metrics(), min_backoff=0.01, max_backoff=0.02)
    runs = 0

    async def quits() -> None:
        nonlocal runs
        runs += 1
        if runs > 2:
            await asyncio.Event().wait()

    task = supervisor.start("quits", quits)
    await eventually(lambda: runs == 3, what="third run")
    assert task.restarts == 2
    await supervisor.stop_all()


async def test_a_critical_task_is_reported_down_between_restarts() -> None:
    metrics = Metrics()
    supervisor = Supervisor(metrics, min_backoff=5.0, max_backoff=5.0)

    async def broken() -> None:
        raise RuntimeError("always")

    async def fine() -> None:
        await asyncio.Event().wait()

    supervisor.start("optional", broken)
    supervisor.start("vital", broken, critical=True)
    supervisor.start("healthy", fine, critical=True)
    await eventually(lambda: supervisor.down() == ["vital"], what="vital reported down")
    assert b'skybound_task_up{task="vital"} 0.0' in metrics.render()
    await supervisor.stop_all()


async def test_stopping_with_grace_lets_a_task_finish_its_work() -> None:
    supervisor = Supervisor(Metrics())
    stopping = asyncio.Event()
    finished = False

    async def worker() -> None:
        nonlocal finished
        await stopping.wait()
        await asyncio.sleep(0.01)  # the send under way
        finished = True

    task = supervisor.start("worker", worker)
    await asyncio.sleep(0)
    stopping.set()
    await supervisor.stop("worker", grace=5.0)
    assert finished
    assert task.restarts == 0
    assert task.state == "stopped"


async def test_stopping_cancels_a_task_that_outlives_its_grace() -> None:
    supervisor = Supervisor(Metrics())
    cancelled = False

    async def stubborn() -> None:
        nonlocal cancelled
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled = True
            raise

    supervisor.start("stubborn", stubborn)
    await asyncio.sleep(0)
    await supervisor.stop("stubborn", grace=0.05)
    assert cancelled


async def test_a_task_stopped_while_waiting_to_restart_stays_stopped() -> None:
    supervisor = Supervisor(Metrics(), min_backoff=0.2, max_backoff=0.2)
    runs = 0

    async def broken() -> None:
        nonlocal runs
        runs += 1
        raise RuntimeError("again")

    task = supervisor.start("broken", broken)
    await eventually(lambda: task.state == "restarting", what="waiting to restart")
    await supervisor.stop("broken")
    # stop() returns once the supervising task has ended: nothing is left to restart it.
    assert task._task is not None
    assert task._task.done()
    assert runs == 1
    assert task.state == "stopped"


async def test_a_scoped_task_that_died_is_logged_when_ended(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken() -> None:
        raise RuntimeError("reader broke")

    async def waiting() -> None:
        await asyncio.Event().wait()

    died = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="foundation.supervisor"):
        await end_scoped_task(died, "the test reader")
        await end_scoped_task(asyncio.create_task(waiting()), "a quiet task")
    assert [r.getMessage() for r in caplog.records] == ["the test reader failed"]
    assert caplog.records[0].exc_info is not None


async def test_a_task_that_ignores_cancellation_does_not_hold_the_stop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A task that swallows its cancellation would otherwise hang the process's
    shutdown forever, past any orchestrator's grace, with nothing logged."""
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    supervisor = Supervisor(Metrics(), stop_wait=0.2)
    supervisor.start("stubborn", stubborn)
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="foundation.supervisor"):
        await asyncio.wait_for(supervisor.stop("stubborn"), 5)
        scoped = asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        await asyncio.wait_for(end_scoped_task(scoped, "a stubborn reader", within=0.2), 5)
    assert supervisor.tasks["stubborn"].state == "stopped"
    assert [r.getMessage() for r in caplog.records] == [
        "background task did not stop when cancelled; going on without it",
        "a stubborn reader did not stop when cancelled; going on without it",
    ]
    release.set()
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.cancel()
