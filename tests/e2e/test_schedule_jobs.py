"""Schedule-import jobs on a real two-worker server: an upload is run by the fleet, and a
job no runner was told about (queued by a worker that died) is found by polling. The
booking archiver runs beside them, supervised."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from devtools.seed import load_reference_data
from tests.e2e.harness import running_server
from tests.test_schedule_import import RETURN
from tests.test_ssim import OVERNIGHT, ssim_file
from tests.tokens import access_token
from tests.waiting import eventually


async def test_uploaded_and_orphaned_jobs_are_run_by_the_fleet(
    db: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    await load_reference_data(db)
    ops = {"Authorization": f"Bearer {access_token(uuid.uuid4(), app_metadata={'roles': ['ops']})}"}
    outbound = ("\n".join(ssim_file(OVERNIGHT)) + "\n").encode()
    back = ("\n".join(ssim_file(OVERNIGHT, RETURN)) + "\n").encode()
    async with running_server(database_url, tmp_path / "home", workers=2) as server:
        samples = await server.metrics()
        up = {labels["task"]: value for labels, value in samples["skybound_task_up"]}
        assert up["schedule-imports"] == 1.0
        assert up["booking-archiver"] == 1.0

        # Queued as a worker that died before running it would have left it.
        orphan = await db.fetchval(
            "INSERT INTO schedule_imports (file_bytes, file, requested_by) "
            "VALUES ($1, $2, $3) RETURNING id",
            len(outbound), outbound, uuid.uuid4(),
        )  # fmt: skip

        async def orphan_done() -> bool:
            status = await db.fetchval("SELECT status FROM schedule_imports WHERE id = $1", orphan)
            return status == "succeeded"

        await eventually(orphan_done, 60, what="the orphaned job ran")
        assert await db.fetchval("SELECT count(*) FROM flights") == 7

        form = aiohttp.FormData()
        form.add_field("file", back, filename="winter.ssim")
        async with aiohttp.ClientSession() as session:
            async with session.post(
                server.url("/v1/admin/schedules"), data=form, headers=ops
            ) as response:
                assert response.status == 202
                location = response.headers["Location"]
            job: dict[str, Any] = {}

            async def uploaded_done() -> bool:
                async with session.get(server.url(location), headers=ops) as polled:
                    job.update(await polled.json())
                return job["status"] in ("succeeded", "failed")

            await eventually(uploaded_done, 60, what="the uploaded job ran")
    assert job["status"] == "succeeded", job
    assert (job["report"]["inserted"], job["report"]["unchanged"]) == (13, 7)
    assert await db.fetchval("SELECT count(*) FROM flights") == 20
