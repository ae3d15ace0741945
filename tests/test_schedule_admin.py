"""POST /v1/admin/schedules (an SSIM upload run as a job) and the streamed export."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from devtools.seed import load_reference_data
from domain.schedules.jobs import ScheduleJobs
from foundation.database import create_pool
from tests.booking_helpers import bearer
from tests.problems import assert_problem
from tests.test_schedule_import import RETURN
from tests.test_ssim import OVERNIGHT, ssim_file
from tests.waiting import eventually

OPS = bearer(uuid.uuid4(), app_metadata={"roles": ["ops"]})


@pytest.fixture
async def reference(db: asyncpg.Connection) -> asyncpg.Connection:
    """This test's database with reference data and no flights."""
    await load_reference_data(db)
    return db


def _upload(lines: list[str], name: str = "winter.ssim") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", ("\n".join(lines) + "\n").encode(), filename=name,
                   content_type="text/plain")  # fmt: skip
    return form


async def _finished(client: TestClient, location: str) -> dict[str, Any]:
    job: dict[str, Any] = {}

    async def done() -> bool:
        response = await client.get(location, headers=OPS)
        assert response.status == 200
        job.update(await response.json())
        return job["status"] in ("succeeded", "failed")

    await eventually(done, 60, what="schedule import finished")
    return job


async def test_an_uploaded_schedule_is_imported_as_a_job(
    client: TestClient, reference: asyncpg.Connection
) -> None:
    response = await client.post(
        "/v1/admin/schedules", data=_upload(ssim_file(OVERNIGHT, RETURN)), headers=OPS
    )
    assert response.status == 202
    job = await response.json()
    assert job["status"] == "queued"
    assert (job["file_name"], job["dry_run"]) == ("winter.ssim", False)
    assert response.headers["Location"] == f"/v1/admin/schedules/{job['id']}"
    job = await _finished(client, response.headers["Location"])
    assert job["status"] == "succeeded", job
    assert (job["report"]["legs"], job["report"]["inserted"]) == (20, 20)
    assert job["errors"] is None
    assert await reference.fetchval("SELECT count(*) FROM flights") == 20
    assert await reference.fetchval("SELECT file FROM schedule_imports") is None


async def test_a_bad_file_fails_its_job_with_errors_by_record_and_field(
    client: TestClient, reference: asyncpg.Connection
) -> None:
    lines = ssim_file(OVERNIGHT, RETURN)
    lines[3] = lines[3][:54] + "ZZZ" + lines[3][57:]
    response = await client.post(
        "/v1/admin/schedules?dry_run=true", data=_upload(lines), headers=OPS
    )
    job = await _finished(client, response.headers["Location"])
    assert job["status"] == "failed"
    assert job["errors"] == [{
        "field": "records.4.arrival_station",
        "message": "record 4: arrival_station: unknown airport 'ZZZ'",
        "code": "unknown_airport",
    }]  # fmt: skip
    assert await reference.fetchval("SELECT count(*) FROM flights") == 0


async def test_uploads_need_the_ops_role_a_multipart_body_and_a_file(client: TestClient) -> None:
    form = _upload(ssim_file(OVERNIGHT))
    await assert_problem(await client.post("/v1/admin/schedules", data=form), 401)
    traveller = bearer(uuid.uuid4())
    response = await client.post("/v1/admin/schedules", data=_upload([]), headers=traveller)
    await assert_problem(response, 403)
    response = await client.post("/v1/admin/schedules", json={"file": "x"}, headers=OPS)
    await assert_problem(response, 415, field="header.Content-Type")
    empty = aiohttp.FormData()
    empty.add_field("other", b"x", filename="x.txt")
    response = await client.post("/v1/admin/schedules", data=empty, headers=OPS)
    await assert_problem(response, 422, field="body.file")
    response = await client.get(f"/v1/admin/schedules/{uuid.uuid4()}", headers=OPS)
    await assert_problem(response, 404)


async def test_the_export_streams_ssim_csv_and_json_lines(
    client: TestClient, reference: asyncpg.Connection
) -> None:
    response = await client.post(
        "/v1/admin/schedules", data=_upload(ssim_file(OVERNIGHT, RETURN)), headers=OPS
    )
    await _finished(client, response.headers["Location"])

    query = "carrier=SB&from=2026-12-01&to=2026-12-31"
    response = await client.get(f"/v1/admin/schedules/export?{query}", headers=OPS)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=us-ascii"
    records = (await response.text()).splitlines()
    assert [r[0] for r in records] == ["1", "2", "3", "3", "5"]
    assert {len(r) for r in records} == {200}

    response = await client.get(f"/v1/admin/schedules/export?{query}&format=csv", headers=OPS)
    lines = (await response.text()).splitlines()
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert lines[0].startswith("id,carrier,flight_number,service_date,origin,destination")
    assert len(lines) == 21

    response = await client.get(f"/v1/admin/schedules/export?{query}&format=jsonl", headers=OPS)
    assert len((await response.text()).splitlines()) == 20

    bad = "/v1/admin/schedules/export?from=2026-12-31&to=2026-12-01"
    await assert_problem(await client.get(bad, headers=OPS), 422, field="query.to")
    await assert_problem(await client.get(f"/v1/admin/schedules/export?{query}"), 401)


async def test_the_runner_outlives_a_database_that_is_away(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    jobs = ScheduleJobs(pool, poll_seconds=0.05)
    await pool.close()
    runner = asyncio.create_task(jobs.run())
    try:
        await eventually(
            lambda: any(r.message == "schedule import pass failed" for r in caplog.records),
            what="a failed pass logged",
        )
        assert not runner.done()
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
