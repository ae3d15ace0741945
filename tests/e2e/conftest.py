"""Fixtures of the end-to-end fault suite: data whose updates reach every kind of stream,
and a PostgreSQL a test may restart."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.e2e.dedicated_postgres import DedicatedPostgres
from tests.e2e.harness import World, build_world


@pytest.fixture
async def world(db: asyncpg.Connection) -> World:
    """Four legs out of JFK and a traveller booked on the first two."""
    return await build_world(db)


@pytest.fixture
def dedicated_postgres() -> Iterator[DedicatedPostgres]:
    """A PostgreSQL of this test's own, which it may stop and start (the session's is shared)."""
    # Not under pytest's tmp_path: pytest prunes old numbered directories, which could
    # delete the data directory of a session running concurrently.
    work_dir = Path(tempfile.mkdtemp(prefix="skybound-e2e-pg-"))
    cluster = DedicatedPostgres(work_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
        shutil.rmtree(work_dir, ignore_errors=True)
