"""Fixtures shared by the whole suite: a real PostgreSQL, fresh databases, the app."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.database import connect
from server.settings import Settings
from tests.postgres import TestPostgres, with_database
from tests.tokens import TEST_JWT_SECRET

pytest_plugins = ["tests.search_world"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[TestPostgres]:
    """The PostgreSQL server of this test session (embedded unless TEST_DATABASE_URL is set)."""
    # Not under pytest's tmp_path: pytest prunes old numbered directories, which would
    # delete the data directory of a session running concurrently.
    work_dir = Path(tempfile.mkdtemp(prefix="skybound-test-pg-"))
    server = TestPostgres.start(work_dir)
    try:
        yield server
    finally:
        server.drop_templates()
        server.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def migrated_template(postgres: TestPostgres) -> str:
    """Name of a template database with every migration applied and no rows."""
    return postgres.template("empty")


@pytest.fixture
async def database_url(postgres: TestPostgres, migrated_template: str) -> AsyncIterator[str]:
    """URL of a fresh, migrated, empty database owned by this test."""
    database = await postgres.create_database(migrated_template)
    try:
        yield with_database(postgres.admin_url, database)
    finally:
        await postgres.drop_database(database)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to this test's database, with Skybound's codecs."""
    conn = await connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for an app under test, pointing at this test's database."""
    return Settings(
        database_url=database_url,
        home=tmp_path / "home",
        log_format="text",
        log_level="WARNING",
        access_log=False,
        db_pool_min=1,
        db_pool_max=4,
        jwt_secret=TEST_JWT_SECRET,
    )


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    """An HTTP client for an app built by the real factory on this test's database."""
    return await aiohttp_client(create_app(settings))


# --- seeded data (owned by the seed generator's tests) ---


async def _seed_small_schedule(url: str) -> None:
    from datetime import date

    from server.seed import seed_database

    conn = await connect(url)
    try:
        await seed_database(conn, flights=3000, days=7, seed=42, start_date=date(2026, 12, 1))
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def seeded_template(postgres: TestPostgres) -> str:
    """Name of a template database seeded with 3,000 legs over 7 days from 2026-12-01, seed 42."""
    return postgres.template("seeded", prepare=_seed_small_schedule)


@pytest.fixture
async def seeded_database_url(postgres: TestPostgres, seeded_template: str) -> AsyncIterator[str]:
    """URL of a fresh database cloned from the seeded template, owned by this test."""
    database = await postgres.create_database(seeded_template)
    try:
        yield with_database(postgres.admin_url, database)
    finally:
        await postgres.drop_database(database)
