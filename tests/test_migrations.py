"""Migrations: ordered, recorded, idempotent, and safe when instances race."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from foundation.migrator import Migration, MigrationError, load_migrations, migrate
from tests.postgres import TestPostgres, with_database


@pytest.fixture
async def blank_url(postgres: TestPostgres) -> str:
    """A database with no migrations applied."""
    admin = await asyncpg.connect(postgres.admin_url)
    name = f"skybound_blank_{id(admin)}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield with_database(postgres.admin_url, name)
    await postgres.drop_database(name)


def test_migrations_are_numbered_in_order() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(versions)
    assert versions[0] == 1


async def test_migrate_applies_everything_once(blank_url: str) -> None:
    conn = await asyncpg.connect(blank_url)
    try:
        applied = await migrate(conn)
        assert applied == [m.version for m in load_migrations()]
        assert await migrate(conn) == []
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert recorded == len(applied)
    finally:
        await conn.close()


async def test_concurrent_instances_migrate_exactly_once(blank_url: str) -> None:
    conns = [await asyncpg.connect(blank_url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = sorted(v for result in results for v in result)
        assert applied == [m.version for m in load_migrations()]
    finally:
        for c in conns:
            await c.close()


async def test_edited_migration_is_refused(blank_url: str) -> None:
    conn = await asyncpg.connect(blank_url)
    try:
        await migrate(conn)
        edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in load_migrations()]
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, edited)
    finally:
        await conn.close()


async def test_failed_migration_leaves_nothing_behind(blank_url: str) -> None:
    conn = await asyncpg.connect(blank_url)
    try:
        broken = [Migration(1, "broken", "CREATE TABLE half_done (id int); SELECT 1/0;")]
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate(conn, broken)
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == 0
    finally:
        await conn.close()


async def test_change_log_rejects_updates(db: asyncpg.Connection) -> None:
    await db.execute("SELECT record_change('flight.updated', 'flight', '1', 1, '{flight:1}', '{}')")
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await db.execute("UPDATE change_events SET payload = '{\"x\": 1}'")
