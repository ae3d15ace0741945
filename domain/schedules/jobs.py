"""Schedule imports as jobs: queued by an upload, run by whichever worker is free.

The uploaded file waits in ``schedule_imports`` with the job. Every worker runs
one supervised runner; runners take turns through a session advisory lock, so
the fleet imports one file at a time, oldest first. A runner wakes at once for
an upload it received and otherwise polls, so a job queued on a worker that
then died is still run. A job left ``running`` by a runner that died is run
again by the next one: the import is idempotent, and a half-done one was
rolled back with its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain.schedules import examples
from domain.schedules.importer import ScheduleRejected, import_schedule
from foundation.database import RIDE_OUT
from foundation.errors import NotFound
from foundation.supervisor import end_scoped_task

log = logging.getLogger(__name__)

# An airline's full-season SSIM file is tens of megabytes.
MAX_FILE_BYTES = 64 << 20
POLL_SECONDS = 5.0
PROGRESS_SECONDS = 1.0
# Held (session lock) by the runner that is importing; distinct from the import's own lock.
RUNNER_LOCK = 0x53494D52  # "SIMR"

JobStatus = Literal["queued", "running", "succeeded", "failed"]


class ScheduleJobNotFound(NotFound):
    slug = "schedule-import-not-found"
    title = "Schedule import not found"

    def __init__(self) -> None:
        super().__init__("No schedule import with this id.")


class JobError(BaseModel):
    field: str = Field(examples=["records.17.departure_station"])
    message: str = Field(examples=["record 17: departure_station: unknown airport 'ZZZ'"])
    code: str = Field(examples=["unknown_airport"])


class ScheduleJob(BaseModel):
    """An SSIM import: where it is, and how it ended."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.SCHEDULE_JOB]})

    id: uuid.UUID
    status: JobStatus
    stage: str | None = Field(
        description="While running: parsing, staging, checking or applying.",
        examples=["staging"],
    )
    legs_done: int = Field(description="Legs expanded and staged so far.", examples=[350000])
    dry_run: bool
    cancel_missing: bool
    file_name: str | None
    file_bytes: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    report: dict[str, Any] | None = Field(
        description="When succeeded: legs new, changed, unchanged, missing, cancelled, "
        "UTC-variation mismatches."
    )
    errors: list[JobError] | None = Field(
        description="When failed: every problem, by record number and SSIM field."
    )


_COLUMNS = """id, status, stage, legs_done, dry_run, cancel_missing, file_name, file_bytes,
              created_at, started_at, finished_at, report, errors"""

_SUBMIT = f"""
INSERT INTO schedule_imports (dry_run, cancel_missing, file_name, file_bytes, file, requested_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING {_COLUMNS}
"""

_GET = f"SELECT {_COLUMNS} FROM schedule_imports WHERE id = $1"

# Under the runner lock, a 'running' job belongs to no live runner.
_CLAIM = """
UPDATE schedule_imports
   SET status = 'running', stage = 'parsing', legs_done = 0, started_at = now()
 WHERE id = (SELECT id FROM schedule_imports WHERE status IN ('queued', 'running')
              ORDER BY created_at LIMIT 1)
RETURNING id, file, dry_run, cancel_missing
"""

_PROGRESS = "UPDATE schedule_imports SET stage = $2, legs_done = $3 WHERE id = $1"

_FINISH = """
UPDATE schedule_imports
   SET status = $2, stage = NULL, report = $3, errors = $4, file = NULL, finished_at = now()
 WHERE id = $1
"""

# What a job that failed for a reason of ours (not of the file) says.
_INTERNAL = [{"field": "file", "message": "The import failed unexpectedly; nothing was "
              "applied. Try again, or see the server log.", "code": "internal"}]  # fmt: skip


class ScheduleJobs:
    """Queue, look up and run schedule imports."""

    def __init__(self, pool: asyncpg.Pool, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.pool = pool
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    async def submit(
        self,
        data: bytes,
        *,
        file_name: str | None,
        requested_by: uuid.UUID,
        dry_run: bool = False,
        cancel_missing: bool = False,
    ) -> ScheduleJob:
        row = await self.pool.fetchrow(
            _SUBMIT, dry_run, cancel_missing, file_name, len(data), data, requested_by
        )
        self._wake.set()
        return ScheduleJob.model_validate(dict(row))

    async def get(self, job_id: uuid.UUID) -> ScheduleJob:
        row = await self.pool.fetchrow(_GET, job_id)
        if row is None:
            raise ScheduleJobNotFound()
        return ScheduleJob.model_validate(dict(row))

    async def run(self) -> None:
        """The runner: until cancelled, run queued jobs when woken or every poll."""
        while True:
            self._wake.clear()  # before the pass: an upload during it is not missed
            try:
                await self.run_pending()
            except RIDE_OUT as exc:
                # The database is away: the job stays queued (or running, and is run again).
                log.warning("schedule import pass failed", extra={"error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_pending(self) -> int:
        """Run every unfinished job, unless another runner is at it; how many ran."""
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RUNNER_LOCK):
                return 0
            try:
                done = 0
                while (job := await conn.fetchrow(_CLAIM)) is not None:
                    await self._run_job(conn, job)
                    done += 1
                return done
            finally:
                # Pool connections keep no session state: the lock must not outlive the run.
                await conn.execute("SELECT pg_advisory_unlock($1)", RUNNER_LOCK)

    async def _run_job(self, conn: asyncpg.Connection, job: asyncpg.Record) -> None:
        job_id = job["id"]
        progress = {"stage": "parsing", "legs": 0}

        def on_progress(stage: str, legs: int) -> None:
            progress.update(stage=stage, legs=legs)

        async def publish_progress() -> None:
            shown = dict(progress)
            while True:
                await asyncio.sleep(PROGRESS_SECONDS)
                if progress != shown:
                    shown = dict(progress)
                    try:
                        await self.pool.execute(_PROGRESS, job_id, shown["stage"], shown["legs"])
                    except RIDE_OUT:
                        # Progress is a courtesy: a missed update must not fail the import.
                        log.warning("schedule import progress not saved", exc_info=True)

        publisher = asyncio.create_task(publish_progress())
        status, report, errors = "failed", None, None
        try:
            lines = bytes(job["file"]).decode("latin-1").splitlines()
            result = await import_schedule(
                conn, lines, dry_run=job["dry_run"], cancel_missing=job["cancel_missing"],
                on_progress=on_progress,
            )  # fmt: skip
            status, report = "succeeded", result.as_dict()
        except ScheduleRejected as exc:
            errors = [e.as_dict() for e in exc.errors]
        except Exception:
            log.exception("schedule import failed", extra={"job": str(job_id)})
            errors = _INTERNAL
        finally:
            await end_scoped_task(publisher, "schedule import progress")
        await self.pool.execute(_FINISH, job_id, status, report, errors)
        log.info("schedule import finished", extra={"job": str(job_id), "status": status})
