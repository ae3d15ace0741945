"""Server processes: one runs the app until told to stop; a pool of them shares a port,
and the pool's supervisor replaces a worker that dies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from foundation.settings import Settings

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized

log = logging.getLogger("skybound")


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel send this worker SIGTERM when its supervisor dies.

    A supervisor killed outright (SIGKILL, the OOM killer) runs no handler, and its
    workers would go on serving the port as orphans that nobody replaces or stops,
    beside whatever `skybound serve` starts next.
    """
    if not sys.platform.startswith("linux"):  # pragma: no cover - Linux runs production
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0) != 0:
        log.warning("cannot ask to be stopped with the supervisor",
                    extra={"errno": ctypes.get_errno()})  # fmt: skip
        return
    if os.getppid() != parent_pid:  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def serve_one(
    settings: Settings,
    *,
    reuse_port: bool,
    worker_restarts: Synchronized[int] | None = None,
    parent_pid: int | None = None,
) -> None:
    """Run one server process until SIGINT or SIGTERM (or, for a worker of a pool, until
    its supervisor dies)."""
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    from aiohttp import web

    from adapters.telemetry import start_error_reporting, start_tracing
    from api import keys
    from api.access_log import AccessLogger
    from foundation.logs import configure_logging
    from foundation.metrics import CounterCollector
    from server.app import create_app

    configure_logging(settings.log_level, settings.log_format)
    # Process-wide hooks, before the app exists: tracing patches aiohttp's Application.
    start_error_reporting(settings)
    stop_tracing = start_tracing(settings)
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - Windows
        loop = asyncio.new_event_loop()
    app = create_app(settings)
    if worker_restarts is not None:
        app[keys.metrics_key].watch(CounterCollector({
            "skybound_worker_restarts": ("Server processes replaced after they died.",
                                         lambda: worker_restarts.value),
        }))  # fmt: skip
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        access_log_class=AccessLogger,
        access_log=logging.getLogger("skybound.access") if settings.access_log else None,
        shutdown_timeout=10.0,
        # A deploy or a network blip makes thousands of display boards reconnect at
        # once; aiohttp's default backlog of 128 drops most of them.
        backlog=4096,
        print=None,
        loop=loop,
    )
    if stop_tracing is not None:
        stop_tracing()  # flushes the spans still batched


# A worker that dies is replaced after a pause that doubles with each death in a row
# (a worker that ran this long without dying starts afresh), jittered so that a fleet
# of instances hit by the same fault does not restart in step.
WORKER_MIN_BACKOFF_SECONDS = 0.5
WORKER_MAX_BACKOFF_SECONDS = 30.0
WORKER_HEALTHY_SECONDS = 60.0
# Workers get this long to drain their streams after SIGTERM before they are killed.
WORKER_STOP_SECONDS = 30.0


class WorkerPool:
    """N server processes on one port (SO_REUSEPORT); a worker that dies is replaced."""

    def __init__(self, settings: Settings) -> None:
        import multiprocessing

        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self.restarts: Synchronized[int] = self._context.Value("q", 0)
        self.workers: dict[int, multiprocessing.process.BaseProcess] = {}
        self.metrics_dir = Path(tempfile.mkdtemp(prefix="skybound-metrics-"))
        self._started: dict[int, float] = {}
        self._backoff: dict[int, float] = {}
        self._due: dict[int, float] = {}
        self.stopping = False

    def _spawn(self, slot: int) -> None:
        # Each worker knows its slot and the pool's metrics directory (fleet_metrics.py).
        settings = self.settings.model_copy(
            update={"fleet_metrics_dir": self.metrics_dir, "worker_slot": slot}
        )
        worker = self._context.Process(
            target=serve_one,
            args=(settings,),
            kwargs={
                "reuse_port": True,
                "worker_restarts": self.restarts,
                "parent_pid": os.getpid(),
            },
            name=f"skybound-worker-{slot}",
        )
        worker.start()
        self.workers[slot] = worker
        self._started[slot] = time.monotonic()

    def stop(self, *_: object) -> None:
        """Signal handler: stop replacing, and ask every worker to drain and exit."""
        self.stopping = True
        for worker in self.workers.values():
            if worker.pid is not None and worker.exitcode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)

    def run(self) -> int:
        from multiprocessing.connection import wait

        for slot in range(self.settings.workers):
            self._spawn(slot)
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        while not self.stopping:
            now = time.monotonic()
            timeout = min([0.5, *(at - now for at in self._due.values())])
            running = [w.sentinel for w in self.workers.values() if w.exitcode is None]
            wait(running, timeout=max(0.0, timeout))
            if self.stopping:
                break
            self._replace_the_dead()
        return self._join()

    def _replace_the_dead(self) -> None:
        now = time.monotonic()
        for slot, worker in self.workers.items():
            if worker.exitcode is None or slot in self._due:
                continue
            if now - self._started[slot] >= WORKER_HEALTHY_SECONDS:
                self._backoff[slot] = 0.0
            backoff = min(
                WORKER_MAX_BACKOFF_SECONDS,
                max(WORKER_MIN_BACKOFF_SECONDS, self._backoff.get(slot, 0.0) * 2),
            )
            self._backoff[slot] = backoff
            delay = backoff * random.uniform(0.5, 1.0)
            self._due[slot] = now + delay
            with self.restarts.get_lock():
                self.restarts.value += 1
            log.error(
                "worker died; replacing it",
                extra={"worker": worker.name, "pid": worker.pid, "exitcode": worker.exitcode,
                       "replace_in_seconds": round(delay, 2)},
            )  # fmt: skip
        for slot, at in tuple(self._due.items()):
            if at <= now:
                del self._due[slot]
                self._spawn(slot)

    def _join(self) -> int:
        deadline = time.monotonic() + WORKER_STOP_SECONDS
        for worker in self.workers.values():
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.exitcode is None:
                log.error("worker did not stop in time; killing it", extra={"pid": worker.pid})
                worker.kill()
                worker.join()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        return max((worker.exitcode or 0) for worker in self.workers.values())
