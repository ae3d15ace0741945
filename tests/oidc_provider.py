"""A small OpenID Connect provider on 127.0.0.1 that plays Google in the tests.

Discovery, JWKS, authorize and token endpoints, with RS256 ID tokens signed by
joserfc. The authorize endpoint signs in whoever the test put in ``user`` without a
consent page, and the token endpoint checks what a real provider checks: the client's
credentials, the code (once), the redirect URI and the PKCE verifier. ``tamper``
changes the next ID tokens' claims, and ``sign_with_stranger`` signs them with a key
the JWKS does not publish, so each verification the client owes can be seen to fail.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey
from yarl import URL

CLIENT_ID = "skybound-test-client"
CLIENT_SECRET = "test client secret"


@dataclass
class ProviderUser:
    sub: str
    email: str
    email_verified: bool = True
    name: str = "Ada Lovelace"


@dataclass
class Grant:
    user: ProviderUser
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None


@dataclass
class LocalOidcProvider:
    user: ProviderUser = field(
        default_factory=lambda: ProviderUser("google-sub-1", "ada@example.com")
    )
    tamper: dict[str, Any] = field(default_factory=dict)
    sign_with_stranger: bool = False
    # Ask the user first, with a page and a button, as a real provider does.
    consent_page: bool = False
    issuer: str = ""
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0
    authorize_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1", "use": "sig"})
        self.stranger = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})

    def rotate_key(self) -> None:
        """Sign with a new key from now on, and publish only that one."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key-2", "use": "sig"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/jwks", self.jwks)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/consent", self.consent)
        app.router.add_post("/token", self.token)
        return app

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        })  # fmt: skip

    async def jwks(self, request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        self.authorize_requests.append(dict(query))
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return web.json_response({"error": "unauthorized_client"}, status=400)
        if "openid" not in query.get("scope", "").split():
            return web.json_response({"error": "invalid_scope"}, status=400)
        if self.consent_page:
            fields = "".join(f'<input type="hidden" name="{html.escape(k)}" '
                             f'value="{html.escape(v)}">' for k, v in query.items())  # fmt: skip
            return web.Response(content_type="text/html", text=(
                "<!doctype html><title>Sign in - Test Provider</title>"
                f'<form method="post" action="/consent">{fields}'
                f"<button>Continue as {html.escape(self.user.name)}</button></form>"
            ))  # fmt: skip
        return self._grant(query)

    async def consent(self, request: web.Request) -> web.Response:
        form = await request.post()
        return self._grant({k: str(v) for k, v in form.items()})

    def _grant(self, query: Mapping[str, str]) -> web.Response:
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(self.user, query["redirect_uri"], query.get("nonce"),
                                  query.get("code_challenge"))  # fmt: skip
        back = URL(query["redirect_uri"]).update_query(code=code, state=query.get("state", ""))
        raise web.HTTPFound(str(back))

    def _client_ok(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        return (client_id, secret) == (CLIENT_ID, CLIENT_SECRET)

    async def token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        if not self._client_ok(request):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self.grants.pop(str(form.get("code")), None)
        if (grant is None or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant.redirect_uri):  # fmt: skip
            return web.json_response({"error": "invalid_grant"}, status=400)
        verifier = str(form.get("code_verifier", ""))
        digest = hashlib.sha256(verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if grant.code_challenge is None or challenge != grant.code_challenge:
            return web.json_response({"error": "invalid_grant"}, status=400)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": CLIENT_ID, "azp": CLIENT_ID, "sub": grant.user.sub,
            "email": grant.user.email, "email_verified": grant.user.email_verified,
            "name": grant.user.name, "iat": now, "exp": now + 3600,
        }  # fmt: skip
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(self.tamper)
        key = self.stranger if self.sign_with_stranger else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)
        return web.json_response({"access_token": "provider-access-" + secrets.token_hex(8),
                                  "token_type": "Bearer", "expires_in": 3600,
                                  "id_token": id_token})  # fmt: skip


@asynccontextmanager
async def running_provider() -> AsyncIterator[LocalOidcProvider]:
    """The provider, served on 127.0.0.1 at a free port for the block's duration."""
    provider = LocalOidcProvider()
    runner = web.AppRunner(provider.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    provider.issuer = f"http://127.0.0.1:{port}"
    try:
        yield provider
    finally:
        await runner.cleanup()
