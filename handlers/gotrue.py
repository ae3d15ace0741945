"""Built-in GoTrue-compatible auth under /auth/v1 (served when SUPABASE_URL is unset).

The subset the Supabase clients need for email and password accounts: sign-up,
password and refresh-token grants, the current user, sign-out, and password
recovery. Successful answers have GoTrue's JSON shapes; errors are problem
details that also carry GoTrue's ``code``, ``error_code`` and ``msg``, including
the validation and bearer-token errors the route wrapper raises before a handler
runs (see ``GoTrueRoutes``). See docs/auth.md.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from api.keys import accounts_key, api_keys_key, external_sign_in_key
from api.middleware import client_ip
from api.routes import ApiRoutes, PayloadTooLarge, UnsupportedMediaType
from domain.identity.accounts.errors import (
    AuthError,
    AuthUnavailable,
    BadCodeVerifier,
    BadJwt,
    BadRequest,
    EmailAddressInvalid,
    EmailExists,
    FlowStateExpired,
    FlowStateNotFound,
    InvalidCredentials,
    OtpExpired,
    PhoneProviderDisabled,
    RateLimited,
    RefreshTokenAlreadyUsed,
    RefreshTokenNotFound,
    SamePassword,
    SessionExpired,
    SessionNotFound,
    Unprocessable,
    UserAlreadyExists,
    UserBanned,
    UserNotFound,
    WeakPassword,
)
from domain.identity.accounts.external import ExternalSignIn
from domain.identity.accounts.passwords import MAX_LENGTH
from domain.identity.accounts.service import Accounts
from domain.identity.accounts.sessions import AuthSession
from domain.identity.accounts.users import AuthUser
from domain.identity.tokens import Claims, TokenRevoked, Unauthorized, bearer_token
from foundation.errors import MalformedBody, ValidationFailed
from handlers import examples
from handlers.gotrue_errors import (
    BadJson,
    BodyTooLarge,
    InvalidApiKey,
    NoApiKey,
    NoAuthorization,
    UnsupportedContent,
)

Bound = Callable[[web.Request], Awaitable[web.StreamResponse]]


APIKEY_HEADER = (
    "apikey",
    "The anon (or service role) key, as the Supabase clients send it; also accepted as "
    "the `apikey` query parameter.",
    True,
)


def _check_api_key(request: web.Request) -> None:
    """What Supabase's API gateway does before GoTrue sees a request."""
    keys = request.app.get(api_keys_key)
    if keys is None:
        raise AuthUnavailable()
    presented = request.headers.get("apikey") or request.query.get("apikey")
    if not presented:
        raise NoApiKey()
    if not keys.accepts(presented):
        raise InvalidApiKey()


def speak_gotrue(bound: Bound, *, api_key: bool = True) -> Bound:
    """Re-raise the route wrapper's own errors as their GoTrue equivalents, after the
    gateway's `apikey` check (``api_key=False`` for pages a browser opens itself)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            if api_key:
                _check_api_key(request)
            return await bound(request)
        except AuthError:
            raise
        except MalformedBody as exc:
            raise BadJson(errors=exc.errors) from None
        except ValidationFailed as exc:
            raise Unprocessable(exc.detail, exc.errors) from None
        except TokenRevoked:
            # GoTrue's answer to a token whose user was deleted, as an erasure does.
            raise UserNotFound() from None
        except Unauthorized as exc:
            if bearer_token(request.headers.get("Authorization")) is None:
                raise NoAuthorization() from None
            raise BadJwt(f"invalid JWT: {exc.detail}") from None
        except UnsupportedMediaType:
            raise UnsupportedContent() from None
        except PayloadTooLarge as exc:
            raise BodyTooLarge(exc.detail) from None

    handler.__name__ = bound.__name__
    return handler


# Every error, the route wrapper's own included, speaks GoTrue as well.
routes = ApiRoutes(wrap=speak_gotrue)

TAGS = ["auth"]


class GoTrueInput(BaseModel):
    """Bodies ignore unknown fields: the clients also send gotrue_meta_security,
    code_challenge and others that this server has no use for."""

    model_config = ConfigDict(extra="ignore", frozen=True)


Password = Annotated[str, Field(max_length=MAX_LENGTH)]
Email = Annotated[str, Field(max_length=320, examples=["ada@example.com"])]


class SignUpBody(GoTrueInput):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SIGN_UP_BODY]})

    email: Email | None = None
    password: Password | None = None
    data: dict[str, Any] = Field(default_factory=dict, description="Becomes user_metadata.")
    phone: str | None = Field(default=None, description="Not supported: phone sign-up.")


class TokenQuery(GoTrueInput):
    grant_type: Literal["password", "refresh_token", "pkce"]


class TokenBody(GoTrueInput):
    """`password` grant: `email` and `password`. `refresh_token` grant: `refresh_token`.
    `pkce` grant: `auth_code` (from the sign-in redirect) and `code_verifier`."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.TOKEN_BODY]})

    email: Email | None = None
    password: Password | None = None
    refresh_token: str | None = Field(default=None, max_length=200)
    auth_code: str | None = Field(default=None, max_length=200)
    code_verifier: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, description="Not supported: phone sign-in.")


class UserUpdate(GoTrueInput):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.USER_UPDATE]})

    email: Email | None = None
    password: Password | None = None
    data: dict[str, Any] | None = Field(
        default=None, description="Merged into user_metadata; a null value removes its key."
    )
    phone: str | None = Field(default=None, description="Not supported.")


class LogoutQuery(GoTrueInput):
    scope: Literal["global", "local", "others"] = Field(
        default="global",
        description="global: every session of the user; local: this one; others: all but this.",
    )


class RecoverQuery(GoTrueInput):
    # A URL is printable ASCII: percent-encoded, 2,000 other characters could take 24 KB,
    # past the HTTP parser's 8,190-byte request line, which answers in plain text.
    redirect_to: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^[!-~]*$",
        description="Page the email links to (a URL, printable ASCII); used only when on "
        "SKYBOUND_SITE_URL's origin.",
    )


class RecoverBody(GoTrueInput):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.RECOVER_BODY]})

    email: Email


class VerifyBody(GoTrueInput):
    """`recovery` with `email` and `token` (the emailed code), or with `token_hash`
    (from the emailed link)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.VERIFY_BODY]})

    type: str = Field(examples=["recovery"])
    email: Email | None = None
    token: str | None = Field(default=None, max_length=200)
    token_hash: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, description="Not supported.")


class Empty(BaseModel):
    """GoTrue's `{}`."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.EMPTY]})


def _accounts(request: web.Request) -> Accounts:
    accounts = request.app.get(accounts_key)
    if accounts is None:
        raise AuthUnavailable()
    return accounts


def external_sign_in(request: web.Request) -> ExternalSignIn:
    external = request.app.get(external_sign_in_key)
    if external is None:
        raise AuthUnavailable()
    return external


def _client_ip(request: web.Request) -> str:
    return client_ip(request)


def _session_id(user: Claims) -> uuid.UUID | None:
    """The token's session, if it names one (tokens minted by `skybound token` do not)."""
    if user.session_id is None:
        return None
    try:
        return uuid.UUID(user.session_id)
    except ValueError:
        raise SessionNotFound() from None


@routes.post(
    "/auth/v1/signup",
    summary="Create an account (email and password) and sign in",
    body=SignUpBody,
    response=AuthSession,
    errors=[
        RateLimited,
        EmailAddressInvalid,
        WeakPassword,
        UserAlreadyExists,
        PhoneProviderDisabled,
    ],
    tags=TAGS,
)
async def signup(request: web.Request, body: SignUpBody) -> AuthSession:
    """The address is confirmed at once (no confirmation email), so the answer is a
    session, as GoTrue's with autoconfirm."""
    if body.email is None:
        if body.phone:
            raise PhoneProviderDisabled()
        raise Unprocessable("To signup, please provide your email")
    if body.password is None:
        raise Unprocessable("Signup requires a valid password")
    return await _accounts(request).sign_up(
        body.email, body.password, body.data, _client_ip(request)
    )


@routes.post(
    "/auth/v1/token",
    summary="Sign in with a password, or exchange a refresh token or a PKCE code",
    query=TokenQuery,
    body=TokenBody,
    response=AuthSession,
    errors=[RateLimited, BadRequest, InvalidCredentials, UserBanned, RefreshTokenNotFound,
            RefreshTokenAlreadyUsed, SessionExpired, PhoneProviderDisabled, FlowStateNotFound,
            FlowStateExpired, BadCodeVerifier],
    tags=TAGS,
)  # fmt: skip
async def token(request: web.Request, query: TokenQuery, body: TokenBody) -> AuthSession:
    """Failed passwords are throttled per account and per IP (429 with Retry-After).
    Each refresh token works once: presenting a used one again revokes its session.
    A PKCE code works once, within five minutes, with the verifier of its challenge."""
    accounts = _accounts(request)
    if query.grant_type == "pkce":
        return await external_sign_in(request).redeem(body.auth_code, body.code_verifier)
    if query.grant_type == "refresh_token":
        if not body.refresh_token:
            raise BadRequest("refresh_token required")
        return await accounts.refresh(body.refresh_token)
    if body.email is None:
        if body.phone:
            raise PhoneProviderDisabled()
        raise BadRequest("missing email or phone")
    if not body.password:
        raise InvalidCredentials()
    return await accounts.sign_in(body.email, body.password, _client_ip(request))


@routes.get(
    "/auth/v1/user",
    summary="The signed-in user",
    response=AuthUser,
    auth=True,
    errors=[NoAuthorization, BadJwt, SessionNotFound, UserNotFound],
    tags=TAGS,
)
async def get_user(request: web.Request, user: Claims) -> AuthUser:
    return await _accounts(request).current_user(user.user_id, _session_id(user))


@routes.put(
    "/auth/v1/user",
    summary="Change the signed-in user's email, password or metadata",
    body=UserUpdate,
    response=AuthUser,
    auth=True,
    errors=[NoAuthorization, BadJwt, SessionNotFound, UserNotFound,
            EmailAddressInvalid, EmailExists, WeakPassword, SamePassword, PhoneProviderDisabled],
    tags=TAGS,
)  # fmt: skip
async def update_user(request: web.Request, body: UserUpdate, user: Claims) -> AuthUser:
    """A new email takes effect at once. A new password signs out every other session."""
    if body.phone:
        raise PhoneProviderDisabled()
    return await _accounts(request).update_user(
        user.user_id, _session_id(user), email=body.email, password=body.password, data=body.data
    )


@routes.post(
    "/auth/v1/logout",
    summary="Sign out",
    query=LogoutQuery,
    status=204,
    auth=True,
    errors=[NoAuthorization, BadJwt, UserNotFound],
    tags=TAGS,
)
async def logout(request: web.Request, query: LogoutQuery, user: Claims) -> None:
    """Revokes sessions and so their refresh tokens. Access tokens already issued stay
    valid until they expire, as with Supabase."""
    await _accounts(request).sign_out(user.user_id, _session_id(user), query.scope)


@routes.post(
    "/auth/v1/recover",
    summary="Email a password recovery code and link",
    query=RecoverQuery,
    body=RecoverBody,
    response=Empty,
    errors=[RateLimited, EmailAddressInvalid],
    tags=TAGS,
)
async def recover(request: web.Request, query: RecoverQuery, body: RecoverBody) -> Empty:
    """Always `{}`, whether or not the address has an account. The code and link work
    once, within an hour; at most one email per account per minute."""
    await _accounts(request).recover(body.email, _client_ip(request), query.redirect_to)
    return Empty()


@routes.post(
    "/auth/v1/verify",
    summary="Redeem a recovery code for a session",
    body=VerifyBody,
    response=AuthSession,
    errors=[BadRequest, OtpExpired, UserBanned, PhoneProviderDisabled],
    tags=TAGS,
)
async def verify(request: web.Request, body: VerifyBody) -> AuthSession:
    """With the session, the client sets a new password through PUT /auth/v1/user."""
    if body.type != "recovery":
        raise BadRequest(f"Unsupported verification type {body.type!r}: only recovery is.")
    if body.token_hash:
        return await _accounts(request).verify_recovery(body.token_hash, None)
    if body.phone and not body.email:
        raise PhoneProviderDisabled()
    if not body.token or not body.email:
        raise BadRequest("Verify requires a token and an email, or a token_hash")
    return await _accounts(request).verify_recovery(body.token, body.email)


# Every operation above sits behind the gateway's check: documented once, here.
routes.operations[:] = [
    dataclasses.replace(op, headers=(*op.headers, APIKEY_HEADER),
                        errors=(*op.errors, NoApiKey, InvalidApiKey))
    for op in routes.operations
]  # fmt: skip
