"""skybound backup / restore as real processes: a restore reproduces every table and
stored file, refuses a non-empty target or a damaged archive, and starts a new epoch."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from api.keys import realtime_key
from foundation.database import connect
from foundation.settings import Settings
from server.app import create_app
from tests.test_documents import Trip, bearer, trip  # noqa: F401 - the trip fixture
from tests.test_streams_catchup import _sse_catch_up

# Every table's rows, in a stable order, as one digest.
_TABLES = "SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = 'public'"


async def skybound(home: Path, database_url: str, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SKYBOUND_HOME": str(home),
           "SKYBOUND_LOG_LEVEL": "WARNING", "SKYBOUND_LOG_FORMAT": "text"}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def table_digests(url: str) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every table."""
    conn = await connect(url)
    try:
        found = {}
        for (table,) in await conn.fetch(_TABLES):
            row = await conn.fetchrow(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "
                f"FROM {table} t"
            )
            found[table] = (row[0], row[1])
        return found
    finally:
        await conn.close()


async def test_a_restore_reproduces_every_table_and_file_under_a_new_epoch(
    client: TestClient, trip: Trip, settings: Settings, database_url: str, empty_database_url: str,  # noqa: F811
    tmp_path: Path, aiohttp_client: Any,
) -> None:  # fmt: skip
    owner = bearer(trip.owner_id)
    ticket = trip.url(trip.tickets[0])
    response = await client.get(ticket, headers=owner)
    assert response.status == 200
    receipt = await response.read()
    stored = [p for p in (settings.home / "storage").rglob("*") if p.is_file()]
    assert len(stored) == 1
    hub = client.app[realtime_key].hub
    old_position = f"{hub.epoch}:{hub.cursor}"

    archive = tmp_path / "backup.tar"
    code, out, err = await skybound(settings.home, database_url, "backup", "-o", str(archive))
    assert code == 0, err
    assert "and 1 files to" in out
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == "database.dump"
    assert names[-1] == "manifest.json"
    assert any(name.startswith("files/") for name in names)

    new_home = tmp_path / "restored-home"
    code, out, err = await skybound(new_home, empty_database_url, "restore", str(archive))
    assert code == 0, err
    assert "change log epoch now" in out

    before, after = await table_digests(database_url), await table_digests(empty_database_url)
    assert before.keys() == after.keys()
    assert {t: v for t, v in after.items() if t != "change_log_state"} == {
        t: v for t, v in before.items() if t != "change_log_state"
    }
    assert after["change_log_state"] != before["change_log_state"]

    restored = [p for p in (new_home / "storage").rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in restored] == [p.read_bytes() for p in stored]
    restored_settings = settings.model_copy(
        update={"database_url": empty_database_url, "home": new_home}
    )
    other = await aiohttp_client(create_app(restored_settings))
    response = await other.get(ticket, headers=owner)
    assert response.status == 200
    # The stored receipt itself, not one made afresh.
    assert hashlib.sha256(await response.read()).digest() == hashlib.sha256(receipt).digest()
    events = await _sse_catch_up(other, old_position)
    assert [(event, data) for event, _, data in events][:1] == [
        ("reset", {"reason": "epoch_changed"})
    ]


async def test_restore_refuses_a_non_empty_database_unless_forced(
    trip: Trip, settings: Settings, database_url: str, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    archive = tmp_path / "backup.tar"
    assert (await skybound(settings.home, database_url, "backup", "-o", str(archive)))[0] == 0
    code, _, err = await skybound(tmp_path / "other", database_url, "restore", str(archive))
    assert code == 1
    assert "not empty" in err
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM seat_assignments")
        code, _, err = await skybound(tmp_path / "other", database_url, "restore", str(archive),
                                      "--force")  # fmt: skip
        assert code == 0, err
        assert await conn.fetchval("SELECT count(*) FROM seat_assignments") == 3
    finally:
        await conn.close()


async def test_a_damaged_archive_is_refused_before_anything_is_restored(
    trip: Trip, settings: Settings, database_url: str, empty_database_url: str, tmp_path: Path,  # noqa: F811
) -> None:  # fmt: skip
    archive = tmp_path / "backup.tar"
    assert (await skybound(settings.home, database_url, "backup", "-o", str(archive)))[0] == 0
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "database.dump":
                data = data[:-1] + bytes([data[-1] ^ 1])
            target.addfile(member, io.BytesIO(data))
    code, _, err = await skybound(tmp_path / "other", empty_database_url, "restore", str(damaged))
    assert code == 1
    assert "database.dump does not match its checksum" in err
    conn = await asyncpg.connect(empty_database_url)
    try:
        assert (
            await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
        )
    finally:
        await conn.close()
