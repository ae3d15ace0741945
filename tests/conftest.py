"""Fixtures shared by the whole suite: a real PostgreSQL, fresh databases, the app."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_runner import BaseRunner

from adapters.rate_limits import DEFAULT_LIMITS
from foundation.database import connect
from foundation.settings import Settings
from server.app import create_app
from tests.postgres import TestPostgres, with_database
from tests.tokens import ANON_KEY, TEST_JWT_SECRET

pytest_plugins = ["tests.search_world"]


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test runs on uvloop, the loop `skybound serve` runs on.

    The two loops differ where it hurts: uvloop raises on a write to a closed
    transport where asyncio's own loop only logs, and a suite on the other loop once
    hid a defect that silenced every stream in production.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - platforms without uvloop (Windows)
        return {"asyncio": asyncio.new_event_loop}
    return {"uvloop": uvloop.new_event_loop}


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
async def empty_database_url(postgres: TestPostgres) -> AsyncIterator[str]:
    """URL of a fresh database with nothing in it, not even the schema."""
    database = await postgres.create_database("template0")
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
        # The suite shares two cores with everything else on the machine: a search that
        # production finishes in milliseconds can miss the 2 s budget when a neighbour is
        # busy. Tests of the budget itself set their own.
        search_budget_ms=10_000,
    )


class ProductionTestServer(TestServer):
    """A test server that treats a departed client as `skybound serve` does.

    aiohttp's TestServer cancels a handler when its client disconnects; ``web.run_app``
    (production) does not, so a stream's handler lives on and its writes can meet a
    closed transport. Tests that let the test server tidy up for them hid exactly that.
    """

    async def _make_runner(self, **kwargs: Any) -> BaseRunner:
        kwargs["handler_cancellation"] = False
        return await super()._make_runner(**kwargs)


@pytest.fixture
def aiohttp_client(aiohttp_client: Any) -> Callable[..., Awaitable[TestClient]]:
    """pytest-aiohttp's client factory, serving applications as production does."""

    async def serve(app: web.Application | TestServer, **kwargs: Any) -> TestClient:
        if isinstance(app, web.Application):
            app = ProductionTestServer(app)
        # As the Supabase clients do: the anon key on every request (checked by /auth/v1).
        kwargs.setdefault("headers", {"apikey": ANON_KEY})
        client: TestClient = await aiohttp_client(app, **kwargs)
        return client

    return serve


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    """An HTTP client for an app built by the real factory on this test's database."""
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def crowd_client(aiohttp_client: Any, settings: Settings) -> TestClient:
    """A client of an app whose budgets hold a crowd: the test's many users and devices
    share one address, and act faster than people do."""
    crowd = dict.fromkeys(DEFAULT_LIMITS, "100000/minute")
    return await aiohttp_client(create_app(settings.model_copy(update={"rate_limits": crowd})))


# --- seeded data (owned by the seed generator's tests) ---


async def _seed_small_schedule(url: str) -> None:
    from datetime import date

    from devtools.seed import seed_database

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
