"""Sign-in through an OpenID Connect provider, as GoTrue does it.

``start`` records a flow and answers the provider URL to send the browser to;
``finish`` takes the provider's callback and answers where to send the browser next:
``redirect_to`` with a code (PKCE) or with the session in the fragment (implicit flow),
or with GoTrue's ``error``/``error_code``/``error_description``; ``redeem`` turns a PKCE
code and its verifier into a session.

Accounts are matched by the provider's subject first, then by email, and only by an
email the provider says it verified: an unverified address is never linked to an
existing account, nor used to make one.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from adapters.identity_provider import IdentityProvider, ProviderFailed
from domain.identity.accounts import flow_states, identities
from domain.identity.accounts.errors import (
    BadCodeVerifier,
    BadRequest,
    FlowStateExpired,
    FlowStateNotFound,
    ProviderUnavailable,
    UserBanned,
)
from domain.identity.accounts.redirects import redirect_target
from domain.identity.accounts.service import Accounts
from domain.identity.accounts.sessions import AuthSession, create_session
from domain.identity.accounts.users import (
    insert_external_user,
    merge_metadata,
    normalize_email,
    record_sign_in,
    set_user_metadata,
    user_by_email,
    user_by_id,
)

log = logging.getLogger(__name__)

_CHALLENGE = re.compile(r"^[a-zA-Z._~0-9-]{43,128}$")
MISSING_CODE = "OAuth callback with missing authorization code missing"
NO_PROFILE = "Error getting user profile from external provider"
PKCE_PARAMS_MISSING = "PKCE flow requires code_challenge_method and code_challenge"

# GoTrue's OAuth error for each HTTP status of its own errors.
_OAUTH_ERROR = {400: "invalid_request", 401: "unauthorized_client", 403: "access_denied",
                500: "server_error", 503: "temporarily_unavailable"}  # fmt: skip


class Refusal(Exception):
    """A callback refused: GoTrue's redirect error parameters."""

    def __init__(self, error: str, error_code: str | None, description: str) -> None:
        super().__init__(description)
        self.error, self.error_code, self.description = error, error_code, description
        # Where to send the browser, once the flow (with its redirect_to) is known.
        self.redirect_to: str | None = None

    @classmethod
    def of(cls, status: int, error_code: str, description: str) -> Refusal:
        return cls(_OAUTH_ERROR.get(status, "server_error"), error_code, description)


def _encode(pairs: Sequence[tuple[str, str]]) -> str:
    # Go's url.Values.Encode, which GoTrue answers with: keys sorted, spaces as '+'.
    return urlencode(sorted(pairs, key=lambda pair: pair[0]))


def with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=_encode([*pairs, *params.items()])))


def error_redirect(url: str, refusal: Refusal) -> str:
    """GoTrue's error redirect: the error in the query and again in the fragment."""
    params = {"error": refusal.error, "error_description": refusal.description}
    if refusal.error_code:
        params["error_code"] = refusal.error_code
    with_errors = with_query(url.split("#", 1)[0], params)
    return with_errors + "#" + _encode([*params.items(), ("sb", "")])


def session_redirect(url: str, session: AuthSession, provider_token: str,
                     provider_refresh_token: str | None) -> str:  # fmt: skip
    """The implicit flow's answer: the session in the fragment, as GoTrue sends it."""
    params = [("access_token", session.access_token), ("token_type", session.token_type),
              ("expires_in", str(session.expires_in)), ("expires_at", str(session.expires_at)),
              ("refresh_token", session.refresh_token), ("provider_token", provider_token),
              ("sb", "")]  # fmt: skip
    if provider_refresh_token:
        params.append(("provider_refresh_token", provider_refresh_token))
    return url + "#" + _encode(params)


def _challenge_method(
    code_challenge: str | None, method: str | None
) -> flow_states.ChallengeMethod | None:
    """The PKCE method, checked as GoTrue checks it (None: the implicit flow)."""
    if not code_challenge and not method:
        return None
    if not code_challenge or not method:
        raise BadRequest(PKCE_PARAMS_MISSING)
    if not _CHALLENGE.match(code_challenge):
        raise BadRequest(
            "code challenge has to be between 43 and 128 characters of letters, digits, "
            "hyphens, periods, underscores and tildes"
        )
    lowered = method.lower()
    if lowered == "s256":
        return "s256"
    if lowered == "plain":
        return "plain"
    raise BadRequest("Invalid code_challenge_method")


@dataclass(frozen=True, slots=True)
class ExternalSignIn:
    accounts: Accounts
    providers: Mapping[str, IdentityProvider]
    states: flow_states.StateSigner
    redirect_urls: Sequence[str]
    callback_url: str | None = None

    def provider(self, name: str) -> IdentityProvider:
        provider = self.providers.get(name.lower())
        if provider is None:
            raise BadRequest(f"Unsupported provider: provider {name} could not be found or "
                             "is not enabled")  # fmt: skip
        return provider

    def redirect_to(self, requested: str | None) -> str:
        return redirect_target(requested, self.accounts.site_url, self.redirect_urls)

    async def start(
        self, *, provider_name: str, redirect_to: str | None, scopes: str | None,
        code_challenge: str | None, code_challenge_method: str | None,
        browser_binding: str, callback_url: str,
    ) -> tuple[str, uuid.UUID]:  # fmt: skip
        """The provider URL for the browser, and the flow recorded for it."""
        provider = self.provider(provider_name)
        method = _challenge_method(code_challenge, code_challenge_method)
        callback = self.callback_url or callback_url
        flow = flow_states.NewFlow(
            provider=provider.name, browser_binding=browser_binding, callback_url=callback,
            redirect_to=self.redirect_to(redirect_to),
            code_challenge=code_challenge if method else None,
            code_challenge_method=method,
        )  # fmt: skip
        started = await flow_states.create_flow(self.accounts.pool, flow)
        try:
            url = await provider.authorization_url(
                redirect_uri=callback, scopes=scopes, state=self.states.sign(started.id),
                nonce=started.nonce, code_verifier=started.provider_verifier,
            )  # fmt: skip
        except ProviderFailed as exc:
            log.warning("OpenID Connect provider unusable", extra={"error": str(exc)})
            raise ProviderUnavailable() from None
        return url, started.id

    async def finish(
        self, *, state: str | None, code: str | None, provider_error: str | None,
        provider_error_description: str | None, browser_binding: str | None,
    ) -> str:  # fmt: skip
        """Where the browser goes after the provider's callback; never raises a Refusal."""
        redirect = self.accounts.site_url
        try:
            flow = await self._claim_flow(state, browser_binding)
            redirect = flow["redirect_to"]
            if provider_error:
                raise Refusal(provider_error, None, provider_error_description or "")
            if not code:
                raise Refusal.of(400, "bad_oauth_callback", MISSING_CODE)
            provider = self.provider(flow["provider"])
            try:
                tokens = await provider.exchange(
                    code=code, redirect_uri=flow["callback_url"],
                    code_verifier=flow["provider_verifier"], nonce=flow["nonce"],
                )  # fmt: skip
            except ProviderFailed as exc:
                log.warning("OpenID Connect sign-in refused", extra={"error": str(exc)})
                if exc.stage == "exchange":
                    raise Refusal.of(500, "unexpected_failure",
                                     "Unable to exchange external code") from None  # fmt: skip
                raise Refusal.of(500, "unexpected_failure", NO_PROFILE) from None
            return await self._sign_in(flow, provider.name, tokens.claims, tokens.access_token,
                                       tokens.refresh_token)  # fmt: skip
        except Refusal as refusal:
            return error_redirect(refusal.redirect_to or redirect, refusal)
        except BadRequest as exc:
            return error_redirect(redirect, Refusal.of(400, exc.error_code, exc.detail or ""))

    async def _claim_flow(self, state: str | None, browser_binding: str | None) -> asyncpg.Record:
        """The flow the state names, marked as called back: it works once."""
        if not state:
            raise Refusal.of(400, "bad_oauth_callback", "OAuth state parameter missing")
        flow_id = self.states.verify(state)
        if flow_id is None:
            raise Refusal.of(400, "bad_oauth_state", "OAuth state parameter is invalid")
        async with self.accounts.pool.acquire() as conn, conn.transaction():
            flow = await flow_states.lock_flow(conn, flow_id)
            if flow is None:
                raise Refusal.of(400, "bad_oauth_state", "OAuth state not found or expired")
            try:
                self._check_flow(flow, browser_binding)
            except Refusal as refusal:
                # The flow's redirect_to passed the allow-list when it was recorded.
                refusal.redirect_to = flow["redirect_to"]
                raise
            await flow_states.mark_called_back(conn, flow_id)
        return flow

    @staticmethod
    def _check_flow(flow: asyncpg.Record, browser_binding: str | None) -> None:
        if not flow_states.same_browser(flow, browser_binding):
            # Another browser's state: it stays usable by the browser it belongs to.
            raise Refusal.of(400, "bad_oauth_state", "OAuth state belongs to another browser")
        if flow["used"]:
            raise Refusal.of(400, "flow_state_already_used", "State has already been used")
        if flow["expired"]:
            raise Refusal.of(400, "bad_oauth_state", "OAuth state has expired")

    async def _sign_in(
        self, flow: asyncpg.Record, provider: str, claims: dict[str, Any], provider_token: str,
        provider_refresh_token: str | None,
    ) -> str:  # fmt: skip
        data = identities.identity_data(claims)
        async with self.accounts.pool.acquire() as conn, conn.transaction():
            user_id = await self._account(conn, provider, claims, data)
            row = await user_by_id(conn, user_id, lock=True)
            if row is None:  # erased while this sign-in ran
                raise Refusal.of(403, "user_not_found", "User not found")
            if row["banned"]:
                raise Refusal(_OAUTH_ERROR[403], UserBanned.error_code, UserBanned.title)
            await set_user_metadata(conn, user_id, merge_metadata(row["user_metadata"], data))
            row = await record_sign_in(conn, user_id)
            if flow["code_challenge"] is not None:
                code = await flow_states.issue_auth_code(conn, flow["id"], user_id)
                return with_query(flow["redirect_to"], {"code": code})
            issued = await create_session(conn, user_id, "oauth", self.accounts.session_lifetime)
            await flow_states.delete_flow(conn, flow["id"])
        session = self.accounts.session(row, issued)
        return session_redirect(flow["redirect_to"], session, provider_token,
                                provider_refresh_token)  # fmt: skip

    async def _account(
        self, conn: asyncpg.Connection, provider: str, claims: dict[str, Any],
        data: dict[str, Any],
    ) -> uuid.UUID:  # fmt: skip
        """The user this provider account signs in: linked before, else the account of
        the verified email, else a new one."""
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        linked = await identities.identity_by_subject(conn, provider, claims["sub"])
        # The user's row is locked before the identity's, the order in which an erasure
        # (deleting the user, and so its identities) takes them: the two never deadlock.
        if linked is not None and await user_by_id(conn, linked["user_id"], lock=True):
            await identities.record_identity_sign_in(conn, linked["id"], email, data)
            linked_user: uuid.UUID = linked["user_id"]
            return linked_user
        # No identity, or its account was erased meanwhile: as a first sign-in.
        if email is None:
            raise Refusal.of(500, "unexpected_failure",
                             "Error getting user email from external provider")  # fmt: skip
        # Google sends a boolean; some providers send the string "true".
        if str(claims.get("email_verified")).lower() != "true":
            raise Refusal(
                "access_denied",
                "provider_email_needs_verification",
                f"Unverified email with {provider}. Verify the email with {provider} in "
                "order to sign in",
            )
        email = normalize_email(email)
        # Serialise first sign-ins of one address, so two cannot both make an account.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", email)
        row = await user_by_email(conn, email)
        if row is not None:
            # Locked, so an erasure running now either finishes first or waits for this.
            row = await user_by_id(conn, row["id"], lock=True)
        if row is None:
            row = await insert_external_user(conn, email, data)
            assert row is not None  # the address is locked and was free
        await identities.insert_identity(conn, row["id"], provider, claims["sub"], email, data)
        user_id: uuid.UUID = row["id"]
        return user_id

    async def redeem(self, auth_code: str | None, code_verifier: str | None) -> AuthSession:
        """GoTrue's pkce grant: the code from the redirect and the client's verifier."""
        if not auth_code or not code_verifier:
            raise BadRequest(
                "invalid request: both auth code and code verifier should be non-empty"
            )
        async with self.accounts.pool.acquire() as conn, conn.transaction():
            flow = await flow_states.lock_auth_code(conn, auth_code)
            if flow is None:
                raise FlowStateNotFound()
            if flow["expired"]:
                raise FlowStateExpired()
            if not flow_states.verifier_matches(flow, code_verifier):
                raise BadCodeVerifier()
            row = await user_by_id(conn, flow["user_id"])
            if row is None or row["banned"]:
                raise UserBanned()
            issued = await create_session(
                conn, flow["user_id"], "oauth", self.accounts.session_lifetime
            )
            await flow_states.delete_flow(conn, flow["id"])
        return self.accounts.session(row, issued)
