"""Client input the database or the code cannot hold is a 4xx naming the field, never a 500."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import asyncpg
import jwt
import pytest
from aiohttp.test_utils import TestClient

from sync.protocol import SCHEMA_VERSION as SYNC_SCHEMA
from tests.booking_helpers import bearer
from tests.factories import add_world
from tests.problems import assert_problem
from tests.search_world import one_way
from tests.tokens import TEST_JWT_SECRET

# NUL characters ---------------------------------------------------------------------------


async def test_nul_in_a_query_parameter_is_422_naming_it(client: TestClient) -> None:
    response = await client.get("/v1/airports?q=lon%00don")
    await assert_problem(response, 422, field="query.q")


async def test_nul_in_a_profile_name_is_422_naming_it(client: TestClient) -> None:
    response = await client.patch(
        "/v1/me", json={"given_name": "Ada\u0000"}, headers=bearer(uuid.uuid4())
    )
    await assert_problem(response, 422, field="body.given_name")


async def test_nul_in_a_sign_up_email_is_422_naming_it(client: TestClient) -> None:
    response = await client.post(
        "/auth/v1/signup", json={"email": "ada\u0000@example.com", "password": "long enough pw"}
    )
    await assert_problem(response, 422, field="body.email")


async def test_nul_deep_in_free_form_json_is_422_naming_its_path(client: TestClient) -> None:
    # user_metadata is free-form jsonb, which cannot hold \u0000 in keys or values either.
    response = await client.post(
        "/auth/v1/signup",
        json={"email": "ada@example.com", "password": "long enough pw",
              "data": {"tags": ["ok", "n\u0000o"], "k\u0000": 1}},
    )  # fmt: skip
    body = await assert_problem(response, 422, field="body.data.tags.1")
    assert "body.data" in [error["field"] for error in body["errors"]]  # the key's object


# Search time windows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "window",
    [{"from": "10:00", "to": "11:00Z"}, {"from": "10:00+01:00", "to": "11:00"},
     {"from": "10:00Z", "to": "11:00Z"}],
)  # fmt: skip
async def test_a_time_window_with_a_zone_is_422_naming_it(
    client: TestClient, db: asyncpg.Connection, window: dict[str, str]
) -> None:
    await add_world(db)
    body = one_way("JFK", "LHR")
    body["slices"][0]["departure_window"] = window
    response = await client.post("/v1/search", json=body)
    problem = await assert_problem(response, 422)
    fields = [error["field"] for error in problem["errors"]]
    assert all(f.startswith("body.slices.0.departure_window.") for f in fields), fields


async def test_a_board_start_time_with_a_zone_is_422_naming_it(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    response = await client.get("/v1/airports/JFK/departures?from=10:00Z")
    await assert_problem(response, 422, field="query.from")


# Sync: notification ids -------------------------------------------------------------------


@pytest.mark.parametrize("too_large", [2**63, 2**64 - 1, 2**64, 10**30])
async def test_marking_a_notification_id_beyond_64_bits_rejects_only_that_mutation(
    client: TestClient, db: asyncpg.Connection, too_large: int
) -> None:
    user = uuid.uuid4()
    mutations = [
        {"id": 1, "name": "notifications.mark_read", "args": {"ids": [1, too_large]},
         "client_time": "1764077191102:0001:phone"},
        {"id": 2, "name": "preferences.update", "args": {"seat": "aisle"},
         "client_time": "1764077191102:0002:phone"},
    ]  # fmt: skip
    response = await client.post(
        "/v1/sync/push",
        json={"client_id": "phone", "schema_version": SYNC_SCHEMA, "mutations": mutations},
        headers=bearer(user),
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    rejected, applied = body["results"]
    assert (rejected["id"], rejected["status"], rejected["reason"]) == (1, "rejected", "not_found")
    assert [r["op"] for r in rejected["records"]] == ["delete"]
    assert (applied["id"], applied["status"]) == (2, "applied")
    assert body["last_mutation_id"] == 2
    seat = await db.fetchval("SELECT seat FROM user_preferences WHERE user_id = $1", user)
    assert seat == "aisle"


# NumericDate claims -----------------------------------------------------------------------


def _token(**claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": str(uuid.uuid4()), "aud": "authenticated", "role": "authenticated",
               "iat": now, "exp": now + 3600, **claims}  # fmt: skip
    return jwt.encode(payload, TEST_JWT_SECRET, algorithm="HS256")


NOW = int(time.time())
YEAR_10000 = 253_402_300_800


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": str(NOW + 3600)},
        {"exp": YEAR_10000},
        {"exp": 10**30},
        {"exp": True},
        {"nbf": str(NOW - 60)},
        {"nbf": -(10**30)},
        {"iat": str(NOW)},
        {"iat": -YEAR_10000},
        {"exp": NOW + 3600.5, "iat": math.inf},
    ],
    ids=["exp-string", "exp-year-10000", "exp-huge", "exp-bool", "nbf-string", "nbf-huge",
         "iat-string", "iat-negative", "iat-infinite"],
)  # fmt: skip
async def test_numeric_dates_that_are_not_plausible_numbers_are_401(
    client: TestClient, claims: dict[str, Any]
) -> None:
    token = _token(**claims)
    for method, path in (("GET", "/v1/me"), ("POST", "/v1/streams/tickets")):
        response = await client.request(method, path, headers={"Authorization": f"Bearer {token}"})
        await assert_problem(response, 401)
