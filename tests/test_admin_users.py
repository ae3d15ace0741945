"""User administration: search, detail, bans that end tokens and streams on every worker,
revoking sessions, erasure; and booking lookup for agents."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from domain.identity.accounts import passwords
from foundation.settings import Settings
from server.app import create_app
from tests.booking_helpers import adult, book, booking_body, offer_for
from tests.problems import assert_problem
from tests.sse_client import SseReader
from tests.test_admin_flights import staff
from tests.test_gotrue import assert_gotrue_error
from tests.tokens import access_token
from tests.waiting import eventually

PASSWORD = "correct horse battery"
ADMIN_ID = uuid.uuid4()
ADMIN = staff("admin", user=ADMIN_ID)
AGENT = staff("agent")


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its cheapest, for speed."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up(client: TestClient, email: str) -> dict[str, Any]:
    response = await client.post("/auth/v1/signup", json={"email": email, "password": PASSWORD})
    assert response.status == 200, await response.text()
    session: dict[str, Any] = await response.json()
    return session


async def sign_in(client: TestClient, email: str) -> Any:
    return await client.post("/auth/v1/token?grant_type=password",
                             json={"email": email, "password": PASSWORD})  # fmt: skip


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


async def test_a_ban_ends_tokens_and_streams_on_every_worker_until_lifted(
    aiohttp_client: Any, settings: Settings, client: TestClient, db: asyncpg.Connection
) -> None:
    other: TestClient = await aiohttp_client(create_app(settings))  # another worker
    session = await sign_up(client, "mallory@example.com")
    token, user_id = session["access_token"], session["user"]["id"]
    assert (await other.get("/v1/me", headers=bearer(token))).status == 200
    stream = SseReader(await other.get("/v1/streams/me", headers=bearer(token)))
    assert (await stream.next()).event == "snapshot"

    banned = await client.put(f"/v1/admin/users/{user_id}/ban", headers=ADMIN,
                              json={"until": in_an_hour(), "reason": "card testing"})  # fmt: skip
    assert banned.status == 200, await banned.text()
    assert (await banned.json())["banned_by"] == str(ADMIN_ID)

    async def refused() -> bool:
        response = await other.get("/v1/me", headers=bearer(token))
        if response.status != 401:
            response.release()
            return False
        body = await assert_problem(response, 401)
        assert body["type"].endswith("/account-banned")
        return True

    await eventually(refused, what="the other worker refusing the banned user's token")
    ended = await stream.next(wait=10)
    assert ended.event == "error"
    assert ended.json()["code"] == "token_revoked"
    await assert_gotrue_error(await sign_in(client, "mallory@example.com"), 400, "user_banned")

    detail = await (await client.get(f"/v1/admin/users/{user_id}", headers=ADMIN)).json()
    assert detail["ban"]["reason"] == "card testing"
    assert [s["revoked_reason"] for s in detail["sessions"]] == ["banned"]

    lifted = await client.delete(f"/v1/admin/users/{user_id}/ban", headers=ADMIN,
                                 json={"reason": "appeal upheld"})  # fmt: skip
    assert lifted.status == 204
    again = await sign_in(client, "mallory@example.com")
    assert again.status == 200
    assert (
        await client.get("/v1/me", headers=bearer((await again.json())["access_token"]))
    ).status == 200
    # A token from before the ban stays revoked.
    await assert_problem(await client.get("/v1/me", headers=bearer(token)), 401)
    actions = await db.fetch("SELECT action, reason FROM admin_audit_log ORDER BY id")
    assert [(a["action"], a["reason"]) for a in actions] == [
        ("user.ban", "card testing"), ("user.unban", "appeal upheld")]  # fmt: skip


async def test_a_ban_refuses_tokens_issued_during_it_by_an_outside_auth_server(
    client: TestClient,
) -> None:
    user = uuid.uuid4()
    assert (await client.get("/v1/me", headers=bearer(access_token(user)))).status == 200
    banned = await client.put(f"/v1/admin/users/{user}/ban", headers=ADMIN,
                              json={"until": in_an_hour(), "reason": "abuse"})  # fmt: skip
    assert banned.status == 200
    # Supabase would go on issuing tokens; each one is refused while the ban lasts.
    fresh = access_token(user, iat=int(datetime.now(UTC).timestamp()) + 5)
    await assert_problem(await client.get("/v1/me", headers=bearer(fresh)), 401)


async def test_revoking_sessions_ends_tokens_and_refresh_but_not_the_account(
    client: TestClient,
) -> None:
    session = await sign_up(client, "eve@example.com")
    user_id = session["user"]["id"]
    response = await client.post(f"/v1/admin/users/{user_id}/sessions/revoke", headers=ADMIN,
                                 json={"reason": "lost phone"})  # fmt: skip
    assert response.status == 200, await response.text()
    assert (await response.json())["sessions_revoked"] == 1
    await assert_problem(await client.get("/v1/me", headers=bearer(session["access_token"])), 401)
    refreshed = await client.post("/auth/v1/token?grant_type=refresh_token",
                                  json={"refresh_token": session["refresh_token"]})  # fmt: skip
    assert refreshed.status == 400
    assert (await sign_in(client, "eve@example.com")).status == 200


async def test_admins_find_users_by_email_name_or_id_a_page_at_a_time(
    client: TestClient,
) -> None:
    ids = []
    for email in ("ann@example.com", "anna@example.com", "bob@example.com"):
        ids.append((await sign_up(client, email))["user"]["id"])
    named = uuid.uuid4()
    await client.patch("/v1/me", json={"family_name": "Annan"},
                       headers=bearer(access_token(named, email="kofi@example.org")))  # fmt: skip

    async def found(**params: str) -> dict[str, Any]:
        response = await client.get("/v1/admin/users", params=params, headers=ADMIN)
        assert response.status == 200, await response.text()
        return dict(await response.json())

    by_prefix = await found(q="AN")
    assert sorted(u["id"] for u in by_prefix["users"]) == sorted([ids[0], ids[1], str(named)])
    assert [u["id"] for u in (await found(q=ids[2]))["users"]] == [ids[2]]
    assert (await found(q="100%"))["users"] == []
    first = await found(q="an", limit="2")
    rest = await found(q="an", limit="2", cursor=first["next_cursor"])
    assert len(first["users"]) == 2
    assert len(rest["users"]) == 1
    assert rest["next_cursor"] is None
    await assert_problem(await client.get("/v1/admin/users", params={"cursor": "nope"},
                                          headers=ADMIN), 422, field="query.cursor")  # fmt: skip


@pytest.mark.parametrize(
    ("headers", "status"), [({}, 401), (staff(), 403), (staff("ops"), 403), (AGENT, 403)]
)
async def test_user_admin_needs_the_admin_role(
    client: TestClient, headers: dict[str, str], status: int
) -> None:
    await assert_problem(await client.get("/v1/admin/users", headers=headers), status)
    ban = await client.put(f"/v1/admin/users/{uuid.uuid4()}/ban", headers=headers,
                           json={"until": in_an_hour(), "reason": "abuse"})  # fmt: skip
    await assert_problem(ban, status)


async def test_unknown_users_are_404_and_admins_cannot_ban_themselves(
    client: TestClient,
) -> None:
    await assert_problem(await client.get(f"/v1/admin/users/{uuid.uuid4()}", headers=ADMIN), 404)
    await client.get("/v1/me", headers=ADMIN)
    own = await client.put(f"/v1/admin/users/{ADMIN_ID}/ban", headers=ADMIN,
                           json={"until": in_an_hour(), "reason": "oops"})  # fmt: skip
    await assert_problem(own, 409)
    past = await client.put(f"/v1/admin/users/{ADMIN_ID}/ban", headers=staff("admin"),
                            json={"until": "2020-01-01T00:00:00Z", "reason": "past"})  # fmt: skip
    await assert_problem(past, 422, field="body.until")


async def test_admin_erasure_is_the_erasure_of_delete_me(
    client: TestClient, db: asyncpg.Connection
) -> None:
    session = await sign_up(client, "gone@example.com")
    user_id = session["user"]["id"]
    await client.patch("/v1/me", json={"given_name": "Gone"},
                       headers=bearer(session["access_token"]))  # fmt: skip
    response = await client.post(f"/v1/admin/users/{user_id}/erase", headers=ADMIN,
                                 json={"reason": "GDPR request by email"})  # fmt: skip
    assert response.status == 204, await response.text()
    assert await db.fetchval("SELECT count(*) FROM auth_users") == 0
    assert await db.fetchval("SELECT given_name FROM profiles WHERE user_id = $1",
                             uuid.UUID(user_id)) is None  # fmt: skip
    await assert_problem(await client.get("/v1/me", headers=bearer(session["access_token"])), 401)
    entry = await db.fetchrow("SELECT action, entity_id, changes FROM admin_audit_log")
    assert (entry["action"], entry["entity_id"], entry["changes"]) == ("user.erase", user_id, {})


# Bookings for agents -------------------------------------------------------------------


async def test_agents_find_bookings_by_locator_passenger_flight_and_date(
    client: TestClient, search_world: dict[str, int]
) -> None:
    traveller = uuid.uuid4()
    first = await book(client, traveller, booking_body(await offer_for(client)))
    second = await book(client, traveller, booking_body(
        await offer_for(client), passengers=[adult("Grace", "Hopper", "1970-01-01")]))  # fmt: skip

    async def found(**params: str) -> list[str]:
        response = await client.get("/v1/admin/bookings", params=params, headers=AGENT)
        assert response.status == 200, await response.text()
        return [b["record_locator"] for b in (await response.json())["bookings"]]

    locators = [first["record_locator"], second["record_locator"]]
    assert await found(locator=locators[0].lower()) == [locators[0]]
    assert await found(passenger="hop") == [locators[1]]
    assert await found(flight_id=str(search_world["jfk_lhr"])) == locators[::-1]
    assert await found(flight_id=str(search_world["lhr_jfk"])) == []
    travel_date = await client.get(f"/v1/flights/{search_world['jfk_lhr']}")
    day = (await travel_date.json())["service_date"]
    assert await found(travel_date=day, user_id=str(traveller)) == locators[::-1]
    assert await found(limit="1") == [locators[1]]

    page = await (await client.get("/v1/admin/bookings", params={"limit": "1"},
                                   headers=AGENT)).json()  # fmt: skip
    older = await client.get("/v1/admin/bookings", headers=AGENT,
                             params={"limit": "1", "cursor": page["next_cursor"]})  # fmt: skip
    assert [b["record_locator"] for b in (await older.json())["bookings"]] == [locators[0]]

    whole = await client.get(f"/v1/admin/bookings/{first['id']}", headers=AGENT)
    assert whole.status == 200
    assert (await whole.json())["record_locator"] == locators[0]
    await assert_problem(await client.get(f"/v1/admin/bookings/{uuid.uuid4()}",
                                          headers=AGENT), 404)  # fmt: skip
    await assert_problem(await client.get("/v1/admin/bookings", headers=staff("ops")), 403)
    detail = await client.get(f"/v1/admin/users/{traveller}", headers=ADMIN)
    assert [b["record_locator"] for b in (await detail.json())["bookings"]] == locators[::-1]
