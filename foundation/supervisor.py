"""One supervisor for every long-lived background task of a process.

A background task that dies takes its work with it and tells nobody: the change
listener stops delivering, the outbox stops sending, and the process still looks
healthy. Under supervision an unexpected exception is logged with its traceback,
counted (``skybound_task_restarts_total{task=...}``), and the task is started
again after a jittered, growing pause; while a task that readiness depends on is
down, ``/readyz`` names it.

A supervised coroutine function is expected to run until cancelled. Returning is
as unexpected as raising, and is treated the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from foundation.metrics import Metrics

log = logging.getLogger(__name__)

TaskState = Literal["running", "restarting", "stopping", "stopped"]

# A task that ran this long without failing starts its backoff afresh.
HEALTHY_AFTER_SECONDS = 60.0
# How long a cancelled task may take to end before shutdown goes on without it. A task
# that swallows its cancellation (or awaits something that does) would otherwise hold
# the process's stop forever, past any orchestrator's grace, with nothing in the log.
STOP_WAIT_SECONDS = 5.0


@dataclass
class SupervisedTask:
    """One named task: its current state and how often it failed."""

    name: str
    run: Callable[[], Awaitable[None]]
    critical: bool
    min_backoff: float
    max_backoff: float
    state: TaskState = "running"
    restarts: int = 0
    last_error: str | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def alive(self) -> bool:
        return self.state == "running"

    @property
    def stopping(self) -> bool:
        # Supervisor.stop() sets the state while the task runs; read through a property,
        # it is not narrowed by mypy to the "running" assigned before the await.
        return self.state == "stopping"


class Supervisor:
    """Starts, watches, restarts and stops this process's background tasks."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        min_backoff: float = 0.1,
        max_backoff: float = 30.0,
        stop_wait: float = STOP_WAIT_SECONDS,
    ) -> None:
        self._metrics = metrics
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stop_wait = stop_wait
        self.tasks: dict[str, SupervisedTask] = {}
        metrics.watch_tasks(self)

    def start(
        self, name: str, run: Callable[[], Awaitable[None]], *, critical: bool = False
    ) -> SupervisedTask:
        """Run ``run()`` under supervision; ``critical`` tasks decide readiness."""
        if name in self.tasks and self.tasks[name].state != "stopped":
            raise ValueError(f"a task named {name!r} is already supervised")
        supervised = SupervisedTask(name, run, critical, self.min_backoff, self.max_backoff)
        supervised._task = asyncio.create_task(self._keep_running(supervised), name=name)
        self.tasks[name] = supervised
        return supervised

    async def stop(self, name: str, *, grace: float = 0.0) -> None:
        """Stop a task and wait for it to finish.

        With ``grace``, the task may first end on its own (its owner has asked it to,
        say to finish a send under way); it is cancelled when the grace runs out.
        """
        supervised = self.tasks.get(name)
        if supervised is None or supervised._task is None or supervised._task.done():
            return
        supervised.state = "stopping"
        task = supervised._task
        if grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), grace)
        task.cancel()
        if not await _ended(task, self.stop_wait):
            log.error("background task did not stop when cancelled; going on without it",
                      extra={"task": name, "waited_seconds": self.stop_wait})  # fmt: skip
        supervised.state = "stopped"

    async def stop_all(self) -> None:
        for name in reversed(tuple(self.tasks)):
            await self.stop(name)

    def down(self) -> list[str]:
        """Critical tasks that are not running right now."""
        return [t.name for t in self.tasks.values() if t.critical and t.state == "restarting"]

    async def _keep_running(self, supervised: SupervisedTask) -> None:
        backoff = 0.0
        while supervised.state != "stopping":
            started = time.monotonic()
            supervised.state = "running"
            try:
                await supervised.run()
            except asyncio.CancelledError:
                supervised.state = "stopped"
                raise
            except Exception as exc:
                if supervised.stopping:
                    log.warning("background task failed while stopping",
                                extra={"task": supervised.name, "error": repr(exc)})  # fmt: skip
                    return
                supervised.last_error = repr(exc)
                log.exception("background task failed; restarting", extra={"task": supervised.name})
            else:
                if supervised.stopping:
                    return  # asked to stop, and it did
                supervised.last_error = "returned"
                log.error("background task returned; restarting", extra={"task": supervised.name})
            supervised.state = "restarting"
            supervised.restarts += 1
            self._metrics.task_restarts.labels(task=supervised.name).inc()
            if time.monotonic() - started >= HEALTHY_AFTER_SECONDS:
                backoff = 0.0
            backoff = min(supervised.max_backoff, max(supervised.min_backoff, backoff * 2))
            # Jitter: every worker of a fleet hit by the same fault must not retry in step.
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))


async def end_scoped_task(
    task: asyncio.Task[None], what: str, *, within: float = STOP_WAIT_SECONDS
) -> None:
    """End a task that lives only as long as one piece of work (a socket's reader, an
    import's progress reports): cancel it, wait for it, and log an exception it died of
    rather than drop it. Long-lived tasks belong to the Supervisor instead."""
    task.cancel()
    if not await _ended(task, within):
        log.error("%s did not stop when cancelled; going on without it", what)
        return
    if not task.cancelled() and isinstance(task.exception(), Exception):
        log.error("%s failed", what, exc_info=task.exception())


async def _ended(task: asyncio.Task[None], within: float) -> bool:
    """Wait for a cancelled task to end, at most ``within`` seconds. asyncio.wait()
    neither raises the task's exception nor cancels it on timeout; a cancellation aimed
    at the caller still reaches the caller."""
    done, _ = await asyncio.wait({task}, timeout=within)
    return bool(done)
