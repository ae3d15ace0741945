"""An OpenID Connect provider (Google, or any issuer that publishes discovery) as the
built-in auth's sign-in partner.

The protocol is Authlib's: the authorization URL and its PKCE challenge, the token
request and client authentication, and the ID token's claim rules (issuer, audience,
authorized party, nonce, expiry, at_hash), with the signature checked by joserfc
against the provider's published keys. This module only carries the HTTP.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from adapters.identity_provider import ProviderFailed, ProviderTokens

log = logging.getLogger(__name__)

HTTP_TIMEOUT_SECONDS = 10.0
# Discovery rarely changes; keys rotate, and an unknown `kid` refetches them at once.
METADATA_TTL_SECONDS = 3600.0
# Clocks of two servers differ a little.
CLOCK_LEEWAY_SECONDS = 60
DEFAULT_SCOPES = ("openid", "email", "profile")


def scope_list(extra: str | None) -> str:
    """OpenID's scopes plus the client's own (GoTrue's `scopes`, space or comma separated)."""
    scopes = list(DEFAULT_SCOPES)
    for scope in (extra or "").replace(",", " ").split():
        if scope not in scopes:
            scopes.append(scope)
    return " ".join(scopes)


class OidcProvider:
    """One configured provider (an adapters.identity_provider.IdentityProvider); one HTTP
    session for the process's life."""

    def __init__(self, name: str, issuer: str, client_id: str, client_secret: str) -> None:
        self.name = name
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._auth = ClientAuth(client_id, client_secret, "client_secret_basic")
        self._session: aiohttp.ClientSession | None = None
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def _get_json(self, stage: str, url: str) -> dict[str, Any]:
        try:
            async with self._http().get(url) as response:
                response.raise_for_status()
                document = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProviderFailed(stage, f"GET {url}: {exc!r}") from None
        if not isinstance(document, dict):
            raise ProviderFailed(stage, f"GET {url}: not a JSON object")
        return document

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, read from the issuer and cached."""
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_SECONDS:
            url = self.issuer + "/.well-known/openid-configuration"
            document = await self._get_json("discovery", url)
            # OpenID Connect Discovery 1.0, 4.3: the document names the issuer it was read from.
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise ProviderFailed("discovery", "the document names another issuer")
            for needed in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(document.get(needed), str):
                    raise ProviderFailed("discovery", f"no {needed}")
            self._metadata, self._metadata_at = document, time.monotonic()
        return self._metadata

    async def authorization_url(
        self, *, redirect_uri: str, scopes: str | None, state: str, nonce: str,
        code_verifier: str,
    ) -> str:  # fmt: skip
        """Where to send the browser: the provider's consent screen."""
        metadata = await self.metadata()
        url = prepare_grant_uri(
            metadata["authorization_endpoint"], self.client_id, "code",
            redirect_uri=redirect_uri, scope=scope_list(scopes), state=state, nonce=nonce,
            code_challenge=create_s256_code_challenge(code_verifier),
            code_challenge_method="S256",
        )  # fmt: skip
        return str(url)

    async def exchange(
        self, *, code: str, redirect_uri: str, code_verifier: str, nonce: str
    ) -> ProviderTokens:
        """Redeem the authorization code and verify the ID token that comes with it."""
        metadata = await self.metadata()
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=redirect_uri,
            code_verifier=code_verifier,
        )  # fmt: skip
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "Accept": "application/json"}  # fmt: skip
        url, headers, body = self._auth.prepare("POST", metadata["token_endpoint"], headers, body)
        try:
            async with self._http().post(url, data=body, headers=headers) as response:
                answer = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ProviderFailed("exchange", repr(exc)) from None
        if status != 200 or not isinstance(answer, dict):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise ProviderFailed("exchange", f"status {status}, error {error!r}")
        access_token, id_token = answer.get("access_token"), answer.get("id_token")
        if not isinstance(access_token, str) or not isinstance(id_token, str):
            raise ProviderFailed("exchange", "no access_token or id_token")
        claims = await self.verify_id_token(id_token, nonce=nonce, access_token=access_token)
        refresh_token = answer.get("refresh_token")
        return ProviderTokens(
            access_token, refresh_token if isinstance(refresh_token, str) else None, claims
        )

    async def _key_set(self, *, fresh: bool) -> KeySet:
        if self._keys is None or fresh:
            metadata = await self.metadata()
            document = await self._get_json("id_token", metadata["jwks_uri"])
            try:
                self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as exc:
                raise ProviderFailed("id_token", f"unusable JWKS: {exc!r}") from None
        return self._keys

    async def verify_id_token(
        self, id_token: str, *, nonce: str, access_token: str | None = None
    ) -> dict[str, Any]:
        """The ID token's claims, once its signature, issuer, audience, nonce and times
        hold; ProviderFailed otherwise."""
        metadata = await self.metadata()
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        # Never "none", nor a MAC keyed by a secret the provider does not hold alone.
        algorithms = [alg for alg in algorithms if alg != "none" and not alg.startswith("HS")]
        registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(fresh=False), registry=registry)
            except JoseError:
                # Perhaps a key the provider rotated in since the keys were read.
                token = jwt.decode(id_token, await self._key_set(fresh=True), registry=registry)
            claims = CodeIDToken(
                token.claims, token.header,
                {"iss": {"essential": True, "value": metadata["issuer"]},
                 "aud": {"essential": True, "value": self.client_id}},
                {"nonce": nonce, "client_id": self.client_id, "access_token": access_token},
            )  # fmt: skip
            claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
        except (JoseError, ValueError) as exc:
            raise ProviderFailed("id_token", repr(exc)) from None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise ProviderFailed("id_token", "no subject")
        return dict(claims)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
