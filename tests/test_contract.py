"""The API against its own OpenAPI document: schemathesis fuzzes every operation.

The app is built by the real factory on a seeded database and served on a real
127.0.0.1 port from a thread with its own event loop (aiohttp is neither ASGI nor
WSGI, and schemathesis calls it synchronously). Each operation gets a bounded,
derandomised number of generated requests, anonymously and with a user's token; the
checks: no 5xx, and every status, content type and body as documented.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
import uvloop
from aiohttp import web
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from adapters.rate_limits import DEFAULT_LIMITS
from api.keys import openapi_key
from domain.identity.accounts import passwords
from foundation.settings import Settings
from server.app import create_app
from tests.postgres import TestPostgres, with_database
from tests.tokens import TEST_JWT_SECRET, access_token

# Bounded for CI: the whole file takes about a minute on 2 cores (100 found nothing more).
EXAMPLES_PER_OPERATION = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Not fuzzed: the SSE streams never end a response and /v1/ws answers only an upgrade, so
# a generated request would wait for its timeout and prove nothing.
STREAMING = r"^/v1/(streams/(boards|flights|me)|ws$)"


@dataclass(frozen=True)
class LiveApi:
    base_url: str
    user: uuid.UUID


def _serve(settings: Settings, started: threading.Event, box: dict[str, Any]) -> None:
    """Run the app in this thread's own event loop until the loop is stopped."""
    loop = uvloop.new_event_loop()  # the loop production runs
    # No access log: this thread outlives the capture of the test that started it.
    runner = web.AppRunner(create_app(settings), access_log=None)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    box["port"] = runner.addresses[0][1]
    box["loop"] = loop
    started.set()
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.fixture(scope="module")
def live_api(
    postgres: TestPostgres, seeded_template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    """The real app on a seeded database, served on 127.0.0.1 from its own thread."""
    database = asyncio.run(postgres.create_database(seeded_template))
    settings = Settings(
        database_url=with_database(postgres.admin_url, database),
        home=Path(tmp_path_factory.mktemp("contract")),
        log_format="text",
        log_level="WARNING",
        access_log=False,
        db_pool_min=1,
        db_pool_max=4,
        jwt_secret=TEST_JWT_SECRET,
        # Budgets too large to spend: every fuzzed request reaches its handler (and still
        # passes through the limiter, whose headers are checked as documented).
        rate_limits=dict.fromkeys(DEFAULT_LIMITS, "1000000/minute"),
    )
    with pytest.MonkeyPatch.context() as patch:
        # Real argon2id at its cheapest: sign-ups and sign-ins are fuzzed too.
        patch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))
        started, box = threading.Event(), {}
        thread = threading.Thread(target=_serve, args=(settings, started, box), daemon=True)
        thread.start()
        assert started.wait(30), "the app did not start"
        try:
            yield LiveApi(f"http://127.0.0.1:{box['port']}", uuid.uuid4())
        finally:
            box["loop"].call_soon_threadsafe(box["loop"].stop)
            thread.join(30)
            asyncio.run(postgres.drop_database(database))


def _document() -> dict[str, Any]:
    """The OpenAPI document the real factory builds (the app is not started)."""
    app = create_app(Settings(database_url="postgresql://unused/", jwt_secret=TEST_JWT_SECRET))
    return dict(app[openapi_key])


# Loaded at import, so that each operation is a test of its own; the first test below
# proves it is the document the running app serves at /openapi.json.
DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path_regex=STREAMING)


def test_the_fuzzed_document_is_the_one_served(live_api: LiveApi) -> None:
    with urllib.request.urlopen(f"{live_api.base_url}/openapi.json", timeout=10) as response:
        assert json.loads(response.read()) == DOCUMENT


fuzzed = hypothesis.settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the same requests on every run: CI failures reproduce
    deadline=None,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@schema.parametrize()
@fuzzed
def test_anonymous_requests_get_documented_answers(case: Any, live_api: LiveApi) -> None:
    case.call_and_validate(base_url=live_api.base_url, checks=CHECKS, timeout=30)


@schema.parametrize()
@fuzzed
def test_a_users_requests_get_documented_answers(case: Any, live_api: LiveApi) -> None:
    token = access_token(live_api.user, email="fuzz@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    case.call_and_validate(base_url=live_api.base_url, checks=CHECKS, headers=headers,
                           timeout=30)  # fmt: skip
