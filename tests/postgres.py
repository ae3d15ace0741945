"""The test database server: embedded PostgreSQL, or the one in TEST_DATABASE_URL.

Each test gets a fresh database cloned from a migrated template, which costs a
file copy instead of running the migrations again, and keeps tests from seeing
each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from foundation.embedded import EmbeddedPostgres
from foundation.migrator import migrate

# Test databases are disposable: trade durability for speed.
_FAST_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


class TestPostgres:
    """Creates template and per-test databases on one PostgreSQL server."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, admin_url: str, embedded: EmbeddedPostgres | None = None) -> None:
        self.admin_url = admin_url
        self.embedded = embedded
        self._templates: dict[str, str] = {}

    @classmethod
    def start(cls, work_dir: Path) -> TestPostgres:
        external = os.environ.get("TEST_DATABASE_URL")
        if external:
            return cls(external)
        embedded = EmbeddedPostgres(work_dir / "pgdata")
        embedded.start()
        for name in _FAST_SETTINGS:
            embedded.psql(f"ALTER SYSTEM SET {name} = off;")
        embedded.psql("SELECT pg_reload_conf();")
        return cls(embedded.url("postgres"), embedded)

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()

    def template(self, name: str, prepare: Callable[[str], Awaitable[None]] | None = None) -> str:
        """A migrated template database (built once per session), optionally prepared further."""
        if name not in self._templates:
            database = f"skybound_tmpl_{name}_{os.getpid()}"
            asyncio.run(self._build_template(database, prepare))
            self._templates[name] = database
        return self._templates[name]

    async def _build_template(
        self, database: str, prepare: Callable[[str], Awaitable[None]] | None
    ) -> None:
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()
        url = with_database(self.admin_url, database)
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        if prepare is not None:
            await prepare(url)

    async def create_database(self, template: str) -> str:
        database = f"skybound_test_{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        finally:
            await admin.close()
        return database

    async def drop_database(self, database: str) -> None:
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await admin.close()

    def drop_templates(self) -> None:
        async def drop_all() -> None:
            for database in self._templates.values():
                await self.drop_database(database)

        asyncio.run(drop_all())
