"""skybound import ssim / export ssim|csv|jsonl, run as real processes."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from pathlib import Path

import asyncpg
import orjson

from tests.test_schedule_import import RETURN
from tests.test_ssim import OVERNIGHT, ssim_file


async def skybound(database_url: str, *args: str) -> tuple[int, str, str]:
    """Run the CLI against this test's database: exit code, stdout, stderr."""
    env = {**os.environ, "DATABASE_URL": database_url, "SKYBOUND_LOG_LEVEL": "WARNING",
           "SKYBOUND_LOG_FORMAT": "text"}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_import_and_export_through_the_command_line(
    database_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    schedule = tmp_path / "winter.ssim"
    schedule.write_text("\n".join(ssim_file(OVERNIGHT, RETURN)) + "\n")
    assert (await skybound(database_url, "seed", "--reference-only"))[0] == 0

    code, out, _ = await skybound(database_url, "import", "ssim", str(schedule), "--dry-run")
    assert code == 0
    assert out.startswith("would apply (dry run): 5 records, 20 legs: 20 new")
    assert await db.fetchval("SELECT count(*) FROM flights") == 0

    code, out, err = await skybound(database_url, "import", "ssim", str(schedule))
    assert code == 0, err
    assert out.startswith("applied: 5 records, 20 legs: 20 new, 0 changed, 0 unchanged")
    assert await db.fetchval("SELECT count(*) FROM flights") == 20

    code, out, _ = await skybound(database_url, "export", "ssim", "--carrier", "SB",
                                  "--from", "2026-12-01", "--to", "2026-12-31")  # fmt: skip
    assert code == 0
    records = out.splitlines()
    assert [r[0] for r in records] == ["1", "2", "3", "3", "5"]
    assert records[2][2:9] + records[2][14:35] == "SB 000101DEC2607DEC261234567"
    assert records[3][2:9] + records[3][14:35] == "SB 000202DEC2630DEC261 3 5  "

    code, out, _ = await skybound(database_url, "export", "csv", "--from", "2026-12-07",
                                  "--to", "2026-12-07")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [(r["carrier"], r["flight_number"], r["origin"], r["scheduled_departure"])
            for r in rows] == [("SB", "1", "JFK", "2026-12-08T00:00:00Z"),
                               ("SB", "2", "LHR", "2026-12-07T09:00:00Z")]  # fmt: skip

    output = tmp_path / "flights.jsonl"
    code, _, _ = await skybound(database_url, "export", "jsonl", "--from", "2026-12-01",
                                "--to", "2026-12-31", "--output", str(output))  # fmt: skip
    lines = [orjson.loads(line) for line in output.read_text().splitlines()]
    assert code == 0
    assert len(lines) == 20
    assert lines[0]["service_date"] == "2026-12-01"
    assert lines[0]["aircraft_type"] == "77W"


async def test_a_rejected_file_exits_1_naming_records_and_fields(
    database_url: str, db: asyncpg.Connection, tmp_path: Path
) -> None:
    lines = ssim_file(OVERNIGHT, RETURN)
    lines[3] = lines[3][:72] + "XYZ" + lines[3][75:]
    schedule = tmp_path / "bad.ssim"
    schedule.write_text("\n".join(lines) + "\n")
    assert (await skybound(database_url, "seed", "--reference-only"))[0] == 0
    code, out, err = await skybound(database_url, "import", "ssim", str(schedule))
    assert code == 1
    assert out == ""
    assert "record 4: aircraft_type: unknown aircraft type 'XYZ': no seat layout" in err
    assert await db.fetchval("SELECT count(*) FROM flights") == 0
