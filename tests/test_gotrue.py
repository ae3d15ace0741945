"""Built-in auth over HTTP: GoTrue's shapes and codes, token rotation and reuse, logout,
recovery through a real SMTP server, and login throttling."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import jwt
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from domain.identity.accounts import passwords, throttle
from foundation.settings import Settings
from server.app import create_app
from tests import smtp
from tests.problems import assert_problem
from tests.smtp import Mailbox, recovery_code, with_smtp
from tests.test_gotrue_mail import delivered, nothing_more_arrives
from tests.tokens import TEST_JWT_SECRET

smtp_server = smtp.smtp_server  # the fixture, from its helper module

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its cheapest, for speed (test_gotrue_client runs the real cost)."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _sign_up(
    client: TestClient, email: str = "ada@example.com", password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/auth/v1/signup", json={"email": email, "password": password, **extra}
    )
    assert response.status == 200, await response.text()
    session: dict[str, Any] = await response.json()
    return session


async def _sign_in(client: TestClient, email: str, password: str = PASSWORD) -> ClientResponse:
    return await client.post(
        "/auth/v1/token?grant_type=password", json={"email": email, "password": password}
    )


async def _refresh(client: TestClient, refresh_token: str) -> ClientResponse:
    return await client.post(
        "/auth/v1/token?grant_type=refresh_token", json={"refresh_token": refresh_token}
    )


async def assert_gotrue_error(
    response: ClientResponse, status: int, error_code: str
) -> dict[str, Any]:
    """A problem-details body that also carries GoTrue's code, error_code and msg."""
    body = await assert_problem(response, status)
    assert body["code"] == status
    assert body["error_code"] == error_code
    assert isinstance(body["msg"], str)
    assert body["msg"]
    return body


# Sign-up and sign-in ----------------------------------------------------------------------


async def test_sign_up_answers_a_gotrue_session_with_supabase_claims(client: TestClient) -> None:
    before = int(time.time())
    session = await _sign_up(client, "Ada@Example.com", data={"name": "Ada"})
    after = int(time.time())
    assert session["token_type"] == "bearer"
    assert session["expires_in"] == 3600
    assert before + 3600 <= session["expires_at"] <= after + 3600
    assert len(session["refresh_token"]) >= 40
    user = session["user"]
    assert user["email"] == "ada@example.com"
    assert user["aud"] == "authenticated"
    assert user["role"] == "authenticated"
    assert user["email_confirmed_at"] is not None
    assert user["user_metadata"] == {"name": "Ada"}
    assert user["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert user["identities"][0]["provider"] == "email"
    claims = jwt.decode(
        session["access_token"], TEST_JWT_SECRET, algorithms=["HS256"], audience="authenticated"
    )
    assert claims["sub"] == user["id"]
    assert claims["email"] == "ada@example.com"
    assert claims["role"] == "authenticated"
    assert claims["aal"] == "aal1"
    assert claims["amr"][0]["method"] == "password"
    assert claims["app_metadata"]["provider"] == "email"
    assert claims["is_anonymous"] is False
    assert uuid.UUID(claims["session_id"])
    assert claims["exp"] - claims["iat"] == 3600


async def test_issued_access_token_works_on_v1_me(client: TestClient) -> None:
    user = (await _sign_up(client))["user"]
    signed_in = await _sign_in(client, "ada@example.com")
    assert signed_in.status == 200
    session = await signed_in.json()
    me = await client.get("/v1/me", headers=_bearer(session["access_token"]))
    assert me.status == 200
    profile = await me.json()
    assert profile["user_id"] == user["id"]
    assert profile["email"] == "ada@example.com"


async def test_issued_access_token_authenticates_a_websocket(client: TestClient) -> None:
    """A token carries the user's metadata, so it is longer than any topic name."""
    session = await _sign_up(client, data={"display_name": "Ada " * 40})
    assert len(session["access_token"]) > 256
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "auth", "token": session["access_token"]})
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "authenticated"
        assert hello["user_id"] == session["user"]["id"]


async def test_sign_in_is_case_insensitive_and_starts_a_new_session(client: TestClient) -> None:
    first = await _sign_up(client)
    response = await _sign_in(client, "  ADA@example.COM")
    assert response.status == 200
    second = await response.json()
    assert second["user"]["id"] == first["user"]["id"]
    assert second["user"]["last_sign_in_at"] is not None
    assert second["refresh_token"] != first["refresh_token"]
    sessions = [
        jwt.decode(s["access_token"], options={"verify_signature": False})["session_id"]
        for s in (first, second)
    ]
    assert sessions[0] != sessions[1]


async def test_wrong_password_and_unknown_email_answer_alike(client: TestClient) -> None:
    await _sign_up(client)
    wrong = await assert_gotrue_error(await _sign_in(client, "ada@example.com", "nope-nope"), 400,
                                      "invalid_credentials")  # fmt: skip
    unknown = await assert_gotrue_error(await _sign_in(client, "bob@example.com"), 400,
                                        "invalid_credentials")  # fmt: skip
    assert wrong["msg"] == unknown["msg"] == "Invalid login credentials"
    assert wrong["type"] == unknown["type"]


async def test_duplicate_email_is_422_whatever_its_case(client: TestClient) -> None:
    await _sign_up(client)
    response = await client.post(
        "/auth/v1/signup", json={"email": "ADA@example.com", "password": "another-one"}
    )
    body = await assert_gotrue_error(response, 422, "user_already_exists")
    assert body["msg"] == "User already registered"


@pytest.mark.parametrize(
    ("payload", "status", "error_code"),
    [
        ({"email": "ada@example.com", "password": "12345"}, 422, "weak_password"),
        ({"email": "not-an-address", "password": PASSWORD}, 400, "email_address_invalid"),
        ({"email": "ada@example.com"}, 422, "validation_failed"),
        ({"phone": "+442071234567", "password": PASSWORD}, 400, "phone_provider_disabled"),
        ({"email": "ada@example.com", "password": 12345678}, 422, "validation_failed"),
    ],
)
async def test_bad_sign_ups_are_refused(
    client: TestClient, payload: dict[str, Any], status: int, error_code: str
) -> None:
    response = await client.post("/auth/v1/signup", json=payload)
    body = await assert_gotrue_error(response, status, error_code)
    if error_code == "weak_password":
        assert body["weak_password"] == {"reasons": ["length"]}
        assert body["msg"] == "Password should be at least 6 characters."


async def test_invalid_json_is_400_bad_json(client: TestClient) -> None:
    response = await client.post(
        "/auth/v1/signup", data=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    await assert_gotrue_error(response, 400, "bad_json")


async def test_unknown_grant_type_names_the_parameter(client: TestClient) -> None:
    response = await client.post("/auth/v1/token?grant_type=magic", json={})
    body = await assert_gotrue_error(response, 422, "validation_failed")
    assert [error["field"] for error in body["errors"]] == ["query.grant_type"]


# Refresh tokens ---------------------------------------------------------------------------


async def test_refresh_rotates_the_token_within_the_session(client: TestClient) -> None:
    first = await _sign_up(client)
    response = await _refresh(client, first["refresh_token"])
    assert response.status == 200
    second = await response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["user"]["id"] == first["user"]["id"]

    def session_of(s: dict[str, Any]) -> str:
        claims = jwt.decode(s["access_token"], options={"verify_signature": False})
        return str(claims["session_id"])

    assert session_of(second) == session_of(first)
    third = await _refresh(client, second["refresh_token"])
    assert third.status == 200


async def test_refresh_token_reuse_revokes_the_whole_family(client: TestClient) -> None:
    stolen = await _sign_up(client)
    other_device = await (await _sign_in(client, "ada@example.com")).json()
    rotated = await (await _refresh(client, stolen["refresh_token"])).json()

    reuse = await _refresh(client, stolen["refresh_token"])
    await assert_gotrue_error(reuse, 400, "refresh_token_already_used")
    # The legitimate successor dies with its family, and so does its session.
    await assert_gotrue_error(
        await _refresh(client, rotated["refresh_token"]), 400, "refresh_token_not_found"
    )
    user = await client.get("/auth/v1/user", headers=_bearer(rotated["access_token"]))
    await assert_gotrue_error(user, 403, "session_not_found")
    # Another session of the same user is not part of the family.
    assert (await _refresh(client, other_device["refresh_token"])).status == 200


async def test_unknown_refresh_token_is_400(client: TestClient) -> None:
    await assert_gotrue_error(await _refresh(client, "made-up"), 400, "refresh_token_not_found")
    missing = await client.post("/auth/v1/token?grant_type=refresh_token", json={})
    await assert_gotrue_error(missing, 400, "validation_failed")


async def test_sessions_end_at_not_after_and_banned_users_are_refused(
    client: TestClient, db: asyncpg.Connection
) -> None:
    expiring = await _sign_up(client)
    await db.execute("UPDATE auth_sessions SET not_after = now()")
    await assert_gotrue_error(
        await _refresh(client, expiring["refresh_token"]), 400, "session_expired"
    )
    live = await (await _sign_in(client, "ada@example.com")).json()
    await db.execute("UPDATE auth_users SET banned_until = now() + interval '1 day'")
    await assert_gotrue_error(await _sign_in(client, "ada@example.com"), 400, "user_banned")
    await assert_gotrue_error(await _refresh(client, live["refresh_token"]), 400, "user_banned")
    # A wrong password still says only that, whether or not the account is banned.
    await assert_gotrue_error(await _sign_in(client, "ada@example.com", "x" * 8), 400,
                              "invalid_credentials")  # fmt: skip


async def test_roles_set_by_operators_travel_in_the_token(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await _sign_up(client)
    await db.execute("""UPDATE auth_users SET app_metadata = '{"roles": ["ops"]}'""")
    session = await (await _sign_in(client, "ada@example.com")).json()
    assert session["user"]["app_metadata"]["roles"] == ["ops"]
    profile = await (await client.get("/v1/me", headers=_bearer(session["access_token"]))).json()
    assert profile["roles"] == ["ops", "passenger"]


# User and logout ----------------------------------------------------------------------------


async def test_get_user_answers_the_gotrue_user(client: TestClient) -> None:
    session = await _sign_up(client, data={"seat": "aisle"})
    response = await client.get("/auth/v1/user", headers=_bearer(session["access_token"]))
    assert response.status == 200
    user = await response.json()
    assert user["id"] == session["user"]["id"]
    assert user["email"] == "ada@example.com"
    assert user["user_metadata"] == {"seat": "aisle"}


async def test_user_endpoints_need_a_valid_bearer(client: TestClient) -> None:
    await assert_gotrue_error(await client.get("/auth/v1/user"), 401, "no_authorization")
    claims = {"sub": str(uuid.uuid4()), "aud": "authenticated", "exp": int(time.time()) + 60}
    forged = jwt.encode(claims, "another-secret-of-sufficient-length-0123", "HS256")
    await assert_gotrue_error(
        await client.get("/auth/v1/user", headers=_bearer(forged)), 403, "bad_jwt"
    )


async def test_put_user_merges_metadata_and_changes_email(client: TestClient) -> None:
    session = await _sign_up(client, data={"seat": "aisle", "meal": "vegan"})
    await _sign_up(client, "bob@example.com")
    headers = _bearer(session["access_token"])
    response = await client.put(
        "/auth/v1/user", json={"data": {"meal": None, "lang": "fr"}}, headers=headers
    )
    assert response.status == 200
    assert (await response.json())["user_metadata"] == {"seat": "aisle", "lang": "fr"}

    taken = await client.put("/auth/v1/user", json={"email": "BOB@example.com"}, headers=headers)
    await assert_gotrue_error(taken, 422, "email_exists")
    moved = await client.put("/auth/v1/user", json={"email": "ada@skybound.test"}, headers=headers)
    assert (await moved.json())["email"] == "ada@skybound.test"
    assert (await _sign_in(client, "ada@skybound.test")).status == 200
    await assert_gotrue_error(await _sign_in(client, "ada@example.com"), 400, "invalid_credentials")


async def test_new_password_signs_out_other_sessions(client: TestClient) -> None:
    here = await _sign_up(client)
    elsewhere = await (await _sign_in(client, "ada@example.com")).json()
    headers = _bearer(here["access_token"])
    same = await client.put("/auth/v1/user", json={"password": PASSWORD}, headers=headers)
    await assert_gotrue_error(same, 422, "same_password")
    weak = await client.put("/auth/v1/user", json={"password": "123"}, headers=headers)
    await assert_gotrue_error(weak, 422, "weak_password")

    changed = await client.put("/auth/v1/user", json={"password": "new secret 42"}, headers=headers)
    assert changed.status == 200
    await assert_gotrue_error(
        await _refresh(client, elsewhere["refresh_token"]), 400, "refresh_token_not_found"
    )
    assert (await _refresh(client, here["refresh_token"])).status == 200
    await assert_gotrue_error(await _sign_in(client, "ada@example.com"), 400, "invalid_credentials")
    assert (await _sign_in(client, "ada@example.com", "new secret 42")).status == 200


async def test_logout_revokes_the_session_and_its_refresh_token(client: TestClient) -> None:
    session = await _sign_up(client)
    headers = _bearer(session["access_token"])
    response = await client.post("/auth/v1/logout", headers=headers)
    assert response.status == 204
    await assert_gotrue_error(
        await _refresh(client, session["refresh_token"]), 400, "refresh_token_not_found"
    )
    await assert_gotrue_error(
        await client.get("/auth/v1/user", headers=headers), 403, "session_not_found"
    )


async def test_logout_others_keeps_only_the_current_session(client: TestClient) -> None:
    here = await _sign_up(client)
    elsewhere = await (await _sign_in(client, "ada@example.com")).json()
    response = await client.post(
        "/auth/v1/logout?scope=others", headers=_bearer(here["access_token"])
    )
    assert response.status == 204
    assert (await _refresh(client, here["refresh_token"])).status == 200
    await assert_gotrue_error(
        await _refresh(client, elsewhere["refresh_token"]), 400, "refresh_token_not_found"
    )


# Recovery -----------------------------------------------------------------------------------


@pytest.fixture
async def mail_client(aiohttp_client: Any, settings: Settings, smtp_server: Mailbox) -> TestClient:
    """Skybound sending its mail to the test SMTP server."""
    app = create_app(with_smtp(settings, smtp_server).model_copy(
        update={"site_url": "https://app.skybound.test"}))  # fmt: skip
    client: TestClient = await aiohttp_client(app)
    return client


async def test_recovery_email_arrives_and_its_code_works_once(
    mail_client: TestClient, smtp_server: Mailbox
) -> None:
    await _sign_up(mail_client)
    response = await mail_client.post("/auth/v1/recover", json={"email": "Ada@example.com"})
    assert response.status == 200
    assert await response.json() == {}
    [message] = await delivered(smtp_server)
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Reset your Sky-Bound Journeys password"
    assert "no-reply@skybound.invalid" in message["From"]
    code = recovery_code(message)

    verify = {"type": "recovery", "email": "ada@example.com", "token": code}
    redeemed = await mail_client.post("/auth/v1/verify", json=verify)
    assert redeemed.status == 200
    session = await redeemed.json()
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    assert claims["amr"][0]["method"] == "recovery"
    replay = await mail_client.post("/auth/v1/verify", json=verify)
    await assert_gotrue_error(replay, 403, "otp_expired")

    reset = await mail_client.put("/auth/v1/user", json={"password": "brand new pass"},
                                  headers=_bearer(session["access_token"]))  # fmt: skip
    assert reset.status == 200
    assert (await _sign_in(mail_client, "ada@example.com", "brand new pass")).status == 200


async def test_recovery_link_carries_a_single_use_token_hash(
    mail_client: TestClient, smtp_server: Mailbox
) -> None:
    await _sign_up(mail_client)
    await mail_client.post(
        "/auth/v1/recover?redirect_to=https://evil.test/steal", json={"email": "ada@example.com"}
    )
    body = (await delivered(smtp_server))[0].get_content()
    link = next(word for word in body.split() if word.startswith("http"))
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc) == ("https", "app.skybound.test")  # not evil.test
    query = parse_qs(parts.query)
    assert query["type"] == ["recovery"]
    verify = {"type": "recovery", "token_hash": query["token_hash"][0]}
    assert (await mail_client.post("/auth/v1/verify", json=verify)).status == 200
    await assert_gotrue_error(
        await mail_client.post("/auth/v1/verify", json=verify), 403, "otp_expired"
    )


async def test_expired_recovery_code_is_refused(
    mail_client: TestClient, smtp_server: Mailbox, db: asyncpg.Connection
) -> None:
    await _sign_up(mail_client)
    await mail_client.post("/auth/v1/recover", json={"email": "ada@example.com"})
    [message] = await delivered(smtp_server)
    await db.execute("UPDATE auth_recovery_tokens SET expires_at = now()")
    verify = {"type": "recovery", "email": "ada@example.com",
              "token": recovery_code(message)}  # fmt: skip
    await assert_gotrue_error(
        await mail_client.post("/auth/v1/verify", json=verify), 403, "otp_expired"
    )


async def test_recover_answers_alike_and_sends_nothing_for_unknown_or_repeated(
    mail_client: TestClient, smtp_server: Mailbox, db: asyncpg.Connection
) -> None:
    await _sign_up(mail_client)
    unknown = await mail_client.post("/auth/v1/recover", json={"email": "bob@example.com"})
    assert (unknown.status, await unknown.json()) == (200, {})
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 0
    for _ in range(2):
        again = await mail_client.post("/auth/v1/recover", json={"email": "ada@example.com"})
        assert (again.status, await again.json()) == (200, {})
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 1
    await delivered(smtp_server)
    await nothing_more_arrives(smtp_server, 1)  # one email per account per minute


async def test_wrong_code_or_email_does_not_verify(
    mail_client: TestClient, smtp_server: Mailbox
) -> None:
    await _sign_up(mail_client)
    await _sign_up(mail_client, "bob@example.com")
    await mail_client.post("/auth/v1/recover", json={"email": "ada@example.com"})
    code = recovery_code((await delivered(smtp_server))[0])
    for attempt in ({"email": "bob@example.com", "token": code},
                    {"email": "ada@example.com", "token": code + "x"}):  # fmt: skip
        response = await mail_client.post("/auth/v1/verify", json={"type": "recovery", **attempt})
        await assert_gotrue_error(response, 403, "otp_expired")
    signup_type = {"type": "signup", "email": "ada@example.com", "token": code}
    await assert_gotrue_error(
        await mail_client.post("/auth/v1/verify", json=signup_type), 400, "validation_failed"
    )
    # The failed attempts did not use the code up.
    ok = {"type": "recovery", "email": "ada@example.com", "token": code}
    assert (await mail_client.post("/auth/v1/verify", json=ok)).status == 200


# Throttling ---------------------------------------------------------------------------------


async def test_failed_logins_are_throttled_per_account_across_instances(
    aiohttp_client: Any, settings: Settings
) -> None:
    first: TestClient = await aiohttp_client(create_app(settings))
    second: TestClient = await aiohttp_client(create_app(settings))  # another worker
    await _sign_up(first)
    await _sign_up(first, "bob@example.com")
    for n in range(5):
        client = (first, second)[n % 2]
        response = await _sign_in(client, "ada@example.com", f"guess-{n}")
        await assert_gotrue_error(response, 400, "invalid_credentials")
    blocked = await _sign_in(second, "ada@example.com")  # even the right password
    await assert_gotrue_error(blocked, 429, "over_request_rate_limit")
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    # Another account from the same address is not affected.
    assert (await _sign_in(first, "bob@example.com")).status == 200


async def test_failed_logins_are_throttled_per_ip(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        throttle, "LIMITS", throttle.Limits(login_per_ip=throttle.Limit(2, timedelta(minutes=15)))
    )
    await _sign_up(client)
    await assert_gotrue_error(await _sign_in(client, "x1@example.com"), 400, "invalid_credentials")
    for _ in range(3):  # successes are forgiven: they do not count towards the limit
        assert (await _sign_in(client, "ada@example.com")).status == 200
    await assert_gotrue_error(await _sign_in(client, "x2@example.com"), 400, "invalid_credentials")
    blocked = await _sign_in(client, "ada@example.com")
    await assert_gotrue_error(blocked, 429, "over_request_rate_limit")
    assert int(blocked.headers["Retry-After"]) > 0


# Documentation -----------------------------------------------------------------------------


async def test_openapi_documents_the_auth_routes(client: TestClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    token = spec["paths"]["/auth/v1/token"]["post"]
    [grant] = [p for p in token["parameters"] if p["name"] == "grant_type"]
    assert grant["required"] is True
    assert grant["schema"]["enum"] == ["password", "refresh_token", "pkce"]
    assert "429" in token["responses"]
    assert spec["paths"]["/auth/v1/user"]["put"]["security"] == [{"bearerAuth": []}]
    assert "302" in spec["paths"]["/auth/v1/authorize"]["get"]["responses"]
    assert "302" in spec["paths"]["/auth/v1/callback"]["get"]["responses"]
    for path in ("/auth/v1/signup", "/auth/v1/logout", "/auth/v1/recover", "/auth/v1/verify"):
        assert path in spec["paths"]
