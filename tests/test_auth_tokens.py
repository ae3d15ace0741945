"""Bearer tokens: HS256 and JWKS keys, every rejection the issue lists, and roles."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import asyncpg
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.keys import pool_key, roles_key, verifier_key
from domain.identity.roles import RoleDirectory
from foundation.settings import Settings
from server.app import create_app
from server.cli import main as cli_main
from tests.problems import assert_problem
from tests.tokens import TEST_JWT_SECRET, access_token
from tests.waiting import eventually


def _claims(user: uuid.UUID, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": str(user), "aud": "authenticated", "role": "authenticated", "iat": now,
            "exp": now + 600, **extra}  # fmt: skip


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_valid_hs256_token_reaches_the_profile(client: TestClient) -> None:
    user = uuid.uuid4()
    response = await client.get(
        "/v1/me", headers=_bearer(access_token(user, email="ada@example.com"))
    )
    assert response.status == 200
    profile = await response.json()
    assert profile["user_id"] == str(user)
    assert profile["email"] == "ada@example.com"
    assert profile["roles"] == ["passenger"]


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda u: access_token(u, ttl=-120), "expired"),
        (lambda u: access_token(u, nbf=int(time.time()) + 600), "not yet valid"),
        (lambda u: access_token(u, audience="anon"), "wrong audience"),
        (lambda u: jwt.encode(_claims(u), "another-secret-of-sufficient-length-0123", "HS256"),
         "bad signature"),
        (lambda u: jwt.encode(_claims(u), None, algorithm="none"), "not accepted"),
        (lambda u: jwt.encode({"aud": "authenticated", "exp": int(time.time()) + 60},
                              TEST_JWT_SECRET, "HS256"), "missing claim"),
        (lambda u: "not.a.jwt", "Malformed"),
    ],
)  # fmt: skip
async def test_bad_tokens_are_401(client: TestClient, make: Any, why: str) -> None:
    response = await client.get("/v1/me", headers=_bearer(make(uuid.uuid4())))
    body = await assert_problem(response, 401)
    assert why in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_missing_or_non_bearer_authorization_is_401(client: TestClient) -> None:
    await assert_problem(await client.get("/v1/me"), 401)
    basic = await client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwdw=="})
    await assert_problem(basic, 401)


async def test_issuer_is_checked_when_configured(aiohttp_client: Any, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"jwt_issuer": "https://auth.skybound.test"}))
    client = await aiohttp_client(app)
    user = uuid.uuid4()
    wrong = access_token(user, iss="https://evil.test")
    await assert_problem(await client.get("/v1/me", headers=_bearer(wrong)), 401)
    right = access_token(user, iss="https://auth.skybound.test")
    assert (await client.get("/v1/me", headers=_bearer(right))).status == 200


# JWKS (ES256 and RS256) -----------------------------------------------------------------


class KeyServer:
    """A real HTTP JWKS endpoint whose keys a test can rotate."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        self.gate: asyncio.Event | None = None  # when set, answers wait for it

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        if self.gate is not None:
            await self.gate.wait()
        return web.json_response({"keys": self.keys})

    def add(self, private_key: Any, kid: str, algorithm: str) -> None:
        public = private_key.public_key()
        cls = jwt.algorithms.ECAlgorithm if algorithm == "ES256" else jwt.algorithms.RSAAlgorithm
        jwk = json.loads(cls.to_jwk(public))
        self.keys.append({**jwk, "kid": kid, "alg": algorithm, "use": "sig"})


@pytest.fixture
async def jwks(aiohttp_server: Any) -> tuple[KeyServer, str]:
    """A key server and its JWKS URL."""
    keys = KeyServer()
    app = web.Application()
    app.router.add_get("/auth/v1/.well-known/jwks.json", keys.handle)
    server: TestServer = await aiohttp_server(app)
    return keys, str(server.make_url("/auth/v1/.well-known/jwks.json"))


@pytest.fixture
async def asymmetric_client(
    aiohttp_client: Any, settings: Settings, jwks: tuple[KeyServer, str]
) -> TestClient:
    """Skybound verifying HS256 with the secret and ES256/RS256 with the JWKS."""
    app = create_app(settings.model_copy(update={"jwks_url": jwks[1]}))
    return await aiohttp_client(app)


async def test_es256_and_rs256_tokens_verify_with_cached_jwks(
    asymmetric_client: TestClient, jwks: tuple[KeyServer, str]
) -> None:
    keys, _ = jwks
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys.add(ec_key, "ec-1", "ES256")
    keys.add(rsa_key, "rsa-1", "RS256")
    user = uuid.uuid4()
    es = jwt.encode(_claims(user), ec_key, "ES256", headers={"kid": "ec-1"})
    rs = jwt.encode(_claims(user), rsa_key, "RS256", headers={"kid": "rsa-1"})
    for token in (es, rs, es, rs):
        assert (await asymmetric_client.get("/v1/me", headers=_bearer(token))).status == 200
    assert keys.fetches == 1  # cached: no network call per request


async def test_unknown_kid_refetches_once_after_rotation(
    asymmetric_client: TestClient, jwks: tuple[KeyServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys, _ = jwks
    old = ec.generate_private_key(ec.SECP256R1())
    keys.add(old, "old", "ES256")
    user = uuid.uuid4()
    token = jwt.encode(_claims(user), old, "ES256", headers={"kid": "old"})
    assert (await asymmetric_client.get("/v1/me", headers=_bearer(token))).status == 200
    new = ec.generate_private_key(ec.SECP256R1())
    keys.add(new, "new", "ES256")
    monkeypatch.setattr("domain.identity.tokens.JWKS_REFETCH_SECONDS", 0.0)
    rotated = jwt.encode(_claims(user), new, "ES256", headers={"kid": "new"})
    assert (await asymmetric_client.get("/v1/me", headers=_bearer(rotated))).status == 200
    assert keys.fetches == 2


async def test_requests_arriving_during_the_first_jwks_fetch_wait_for_it(
    asymmetric_client: TestClient, jwks: tuple[KeyServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a start, the first burst of ES256 requests must not be 401 while the keys load."""
    keys, _ = jwks
    verifier = asymmetric_client.app[verifier_key]
    refresh = verifier._refresh
    waiting = 0

    async def counted_refresh() -> None:
        nonlocal waiting
        waiting += 1
        await refresh()

    monkeypatch.setattr(verifier, "_refresh", counted_refresh)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys.add(ec_key, "ec-1", "ES256")
    keys.gate = asyncio.Event()
    token = jwt.encode(_claims(uuid.uuid4()), ec_key, "ES256", headers={"kid": "ec-1"})
    burst = [
        asyncio.ensure_future(asymmetric_client.get("/v1/me", headers=_bearer(token)))
        for _ in range(8)
    ]
    # The whole burst reaches the verifier while the fetch is held.
    await eventually(lambda: waiting == len(burst), what="every request waiting for the keys")
    keys.gate.set()
    responses = await asyncio.wait_for(asyncio.gather(*burst), 10)
    assert [r.status for r in responses] == [200] * 8
    assert keys.fetches == 1


async def test_forged_kids_do_not_hammer_the_key_server(
    asymmetric_client: TestClient, jwks: tuple[KeyServer, str]
) -> None:
    keys, _ = jwks
    attacker = ec.generate_private_key(ec.SECP256R1())
    for n in range(5):
        token = jwt.encode(_claims(uuid.uuid4()), attacker, "ES256", headers={"kid": f"x{n}"})
        await assert_problem(await asymmetric_client.get("/v1/me", headers=_bearer(token)), 401)
    assert keys.fetches <= 1


async def test_hs256_signed_with_the_public_key_is_refused(
    asymmetric_client: TestClient, jwks: tuple[KeyServer, str]
) -> None:
    """Algorithm confusion: an attacker signs HS256 with the (public) RSA key as secret."""
    keys, _ = jwks
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys.add(rsa_key, "rsa-1", "RS256")
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    forged = jwt.api_jws.PyJWS()
    forged._algorithms["HS256"].prepare_key = lambda key: key  # type: ignore[method-assign]
    token = forged.encode(json.dumps(_claims(uuid.uuid4())).encode(), public_pem, "HS256",
                          headers=header)  # fmt: skip
    await assert_problem(await asymmetric_client.get("/v1/me", headers=_bearer(token)), 401)


async def test_rs256_token_with_an_es256_key_id_is_refused(
    asymmetric_client: TestClient, jwks: tuple[KeyServer, str]
) -> None:
    keys, _ = jwks
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys.add(ec_key, "ec-1", "ES256")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(uuid.uuid4()), rsa_key, "RS256", headers={"kid": "ec-1"})
    await assert_problem(await asymmetric_client.get("/v1/me", headers=_bearer(token)), 401)


# Roles ------------------------------------------------------------------------------------


async def test_passenger_calling_an_admin_route_is_403(client: TestClient) -> None:
    target = uuid.uuid4()
    response = await client.get(
        f"/v1/admin/users/{target}/roles", headers=_bearer(access_token(uuid.uuid4()))
    )
    body = await assert_problem(response, 403)
    assert "admin" in body["detail"]


async def test_admin_from_app_metadata_grants_roles_that_take_effect(client: TestClient) -> None:
    admin = access_token(uuid.uuid4(), app_metadata={"roles": ["admin"]})
    agent_id = uuid.uuid4()
    granted = await client.put(
        f"/v1/admin/users/{agent_id}/roles", json={"roles": ["ops", "agent"]},
        headers=_bearer(admin),
    )  # fmt: skip
    assert granted.status == 200
    assert (await granted.json())["roles"] == ["agent", "ops"]
    profile = await (await client.get("/v1/me", headers=_bearer(access_token(agent_id)))).json()
    assert profile["roles"] == ["agent", "ops", "passenger"]
    # Without the admin role, the same call is refused.
    refused = await client.put(
        f"/v1/admin/users/{agent_id}/roles", json={"roles": []},
        headers=_bearer(access_token(agent_id)),
    )  # fmt: skip
    await assert_problem(refused, 403)


async def _notified(directory: RoleDirectory, since: int) -> None:
    """Wait until the directory has forgotten something since generation ``since``."""
    await eventually(lambda: directory.generation != since, what="a role change notification")


async def test_a_revoked_role_stops_working_on_every_worker_once_notified(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection
) -> None:
    """Granted roles are cached per worker; a revocation on one worker (or in SQL) is
    announced, and the other worker refuses the role from then on, long before any TTL."""
    first: TestClient = await aiohttp_client(create_app(settings))
    second: TestClient = await aiohttp_client(create_app(settings))  # another worker
    admin = access_token(uuid.uuid4(), app_metadata={"roles": ["admin"]})
    staff_id = uuid.uuid4()
    staff = _bearer(access_token(staff_id))
    await db.execute("INSERT INTO user_roles (user_id, role) VALUES ($1, 'admin')", staff_id)
    target = f"/v1/admin/users/{uuid.uuid4()}/roles"
    for _ in range(2):  # the second answer comes from the cache
        assert (await second.get(target, headers=staff)).status == 200
    directory = second.app[roles_key]
    await eventually(lambda: directory.listening, what="listening on the roles channel")

    before = directory.generation
    revoked = await first.put(f"/v1/admin/users/{staff_id}/roles", json={"roles": ["ops"]},
                              headers=_bearer(admin))  # fmt: skip
    assert (await revoked.json())["roles"] == ["ops"]
    await _notified(directory, before)
    await assert_problem(await second.get(target, headers=staff), 403)
    me = await (await second.get("/v1/me", headers=staff)).json()
    assert me["roles"] == ["ops", "passenger"]

    before = directory.generation
    await db.execute("DELETE FROM user_roles WHERE user_id = $1", staff_id)  # as psql would
    await _notified(directory, before)
    me = await (await second.get("/v1/me", headers=staff)).json()
    assert me["roles"] == ["passenger"]


async def test_without_notifications_granted_roles_are_read_every_time(
    client: TestClient, db: asyncpg.Connection
) -> None:
    directory = RoleDirectory(client.app[pool_key])  # no notifications: no cache
    directory.start()
    user = uuid.uuid4()
    await db.execute("INSERT INTO user_roles (user_id, role) VALUES ($1, 'ops')", user)
    assert await directory.granted(user) == {"ops"}
    await db.execute("DELETE FROM user_roles WHERE user_id = $1", user)
    assert await directory.granted(user) == frozenset()


async def test_roles_outside_the_known_set_are_ignored_or_refused(client: TestClient) -> None:
    sneaky = access_token(uuid.uuid4(), app_metadata={"roles": ["superuser", "admin "]})
    profile = await (await client.get("/v1/me", headers=_bearer(sneaky))).json()
    assert profile["roles"] == ["passenger"]
    admin = access_token(uuid.uuid4(), app_metadata={"roles": ["admin"]})
    response = await client.put(
        f"/v1/admin/users/{uuid.uuid4()}/roles", json={"roles": ["superuser"]},
        headers=_bearer(admin),
    )  # fmt: skip
    await assert_problem(response, 422, field="body.roles.0")


async def test_openapi_declares_bearer_security(client: TestClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    me = spec["paths"]["/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert "401" in me["responses"]
    admin = spec["paths"]["/v1/admin/users/{user_id}/roles"]["put"]
    assert "403" in admin["responses"]
    assert "security" not in spec["paths"]["/v1/airports"]["get"]


def test_token_command_mints_a_verifiable_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user = uuid.uuid4()
    monkeypatch.setenv("SUPABASE_JWT_SECRET", TEST_JWT_SECRET)
    assert cli_main(["token", "--sub", str(user), "--role", "ops", "--ttl", "1h"]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS256"], audience="authenticated")
    assert claims["sub"] == str(user)
    assert claims["app_metadata"]["roles"] == ["ops"]
    assert 3590 <= claims["exp"] - claims["iat"] <= 3600


async def test_a_cached_token_still_expires(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verified tokens are cached, but expiry is checked on every use."""
    verifier = client.app[verifier_key]
    token = access_token(uuid.uuid4(), ttl=-5)  # expired, but within the 30 s leeway
    assert (await client.get("/v1/me", headers=_bearer(token))).status == 200
    assert token in verifier._verified
    # Past exp + leeway without waiting for the clock: the leeway shrinks instead.
    monkeypatch.setattr("domain.identity.tokens.LEEWAY_SECONDS", 0)
    await assert_problem(await client.get("/v1/me", headers=_bearer(token)), 401)
    assert token not in verifier._verified


async def test_the_roles_directory_shares_the_one_listen_connection(
    client: TestClient, db: asyncpg.Connection
) -> None:
    """One LISTEN connection per process: the directory listens on the change
    listener's, and hears of changes after that connection is killed and comes back."""
    listeners = await db.fetch(
        "SELECT pid, application_name FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name LIKE 'skybound-%listener'"
    )
    assert [row["application_name"] for row in listeners] == ["skybound-listener"]
    directory = client.app[roles_key]
    await eventually(lambda: directory.listening, what="listening on the roles channel")
    user = uuid.uuid4()
    await directory.granted(user)  # cached while listening
    before = directory.generation
    await db.execute("SELECT pg_terminate_backend($1)", listeners[0]["pid"])
    await _notified(directory, before)  # the loss empties the cache
    await eventually(lambda: directory.listening, within=30, what="listening again")
    before = directory.generation
    await db.execute("INSERT INTO user_roles (user_id, role) VALUES ($1, 'agent')", user)
    await _notified(directory, before)
    assert await directory.granted(user) == {"agent"}
