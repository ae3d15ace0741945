"""A durable scheduler: jobs with a due time in PostgreSQL, run exactly once.

Any worker of any instance claims a due job with ``FOR UPDATE SKIP LOCKED`` and runs
its handler in the same transaction; the handler's writes (say, a reminder queued in
the mail outbox) and the job's ``done_at`` commit together. A worker that dies mid-run
rolls back both, and the job is due again for whoever looks next, so a job's effects
happen once, never twice and never not at all. After downtime, jobs that came due
meanwhile run at start-up; each handler decides whether it still means anything.

A handler that raises rolls its work back; the job retries with exponential backoff,
and after ``MAX_ATTEMPTS`` it is done with the error as its outcome, so one broken job
cannot hold up the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from foundation.database import RIDE_OUT

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
MAX_ATTEMPTS = 8
SCHEDULER_TASK = "scheduler"


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int


# Runs a job in the claiming transaction; returns its outcome, recorded with the job.
Handler = Callable[[asyncpg.Connection, Job], Awaitable[str]]

_CLAIM = """
SELECT id, kind, job_key AS key, payload, attempts FROM scheduled_jobs
WHERE done_at IS NULL AND due_at <= now() AND kind = ANY($1::text[])
ORDER BY due_at, id
LIMIT 1
FOR UPDATE SKIP LOCKED
"""
_DONE = """
UPDATE scheduled_jobs SET done_at = now(), outcome = $2, attempts = attempts + 1 WHERE id = $1
"""
_FAILED = """
UPDATE scheduled_jobs SET attempts = attempts + 1, last_error = $2,
    due_at = now() + make_interval(secs => $3::float8),
    done_at = CASE WHEN $4 THEN now() END,
    outcome = CASE WHEN $4 THEN 'failed' END
WHERE id = $1
"""
_NEXT_DUE = """
SELECT extract(epoch FROM min(due_at) - now())::float8 FROM scheduled_jobs
WHERE done_at IS NULL AND kind = ANY($1::text[])
"""


def retry_delay(attempts: int) -> float:
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)))


class Scheduler:
    """Runs due jobs of the kinds it has handlers for, one transaction per job."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        handlers: Mapping[str, Handler],
        *,
        after_run: Callable[[Job, str], None] | None = None,
    ) -> None:
        self.pool = pool
        self.handlers = dict(handlers)
        self.after_run = after_run
        self.ran = 0
        self._wake = asyncio.Event()
        self._stopping = False

    async def run_one(self) -> bool:
        """Claim and run one due job; whether there was one."""
        kinds = list(self.handlers)
        job: Job | None = None
        async with self.pool.acquire() as conn:
            try:
                async with conn.transaction():
                    row = await conn.fetchrow(_CLAIM, kinds)
                    if row is None:
                        return False
                    job = Job(**dict(row))
                    outcome = await self.handlers[job.kind](conn, job)
                    await conn.execute(_DONE, job.id, outcome)
            except Exception as exc:
                lost_database = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError)
                if job is None or isinstance(exc, lost_database):
                    raise
                # The handler's work is rolled back; the job waits and tries again.
                give_up = job.attempts + 1 >= MAX_ATTEMPTS
                log.exception("scheduled job failed", extra={"job": job.key})
                await conn.execute(_FAILED, job.id, repr(exc)[:500],
                                   retry_delay(job.attempts + 1), give_up)  # fmt: skip
                return True
        self.ran += 1
        if self.after_run is not None:
            self.after_run(job, outcome)
        return True

    async def run_due(self) -> int:
        """Run every job due now; how many ran."""
        count = 0
        while not self._stopping and await self.run_one():
            count += 1
        return count

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Run due jobs, then sleep until the next is due, a wake-up, or the poll."""
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_due()
                seconds = await self.pool.fetchval(_NEXT_DUE, list(self.handlers))
                sleep = POLL_SECONDS if seconds is None else min(POLL_SECONDS, max(0.0, seconds))
            except RIDE_OUT as exc:
                log.warning("scheduler pass failed", extra={"error": repr(exc)})
                sleep = POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), sleep)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
