"""Sign-in with Google (any OpenID Connect provider) in the built-in auth, on GoTrue's
endpoints: ``GET /auth/v1/authorize`` sends the browser to the provider, and
``GET /auth/v1/callback`` brings it back to the app, signed in or with GoTrue's error
parameters. The code of a PKCE flow is redeemed at ``POST /auth/v1/token?grant_type=pkce``
(handlers.gotrue). See docs/auth.md.
"""

from __future__ import annotations

import functools
import secrets

from aiohttp import web
from pydantic import Field

from api.keys import settings_key
from api.routes import ApiRoutes
from domain.identity.accounts.errors import AuthUnavailable, BadRequest, ProviderUnavailable
from domain.identity.accounts.flow_states import FLOW_STATE_SECONDS
from handlers.gotrue import TAGS, GoTrueInput, external_sign_in, speak_gotrue

# Browsers open these themselves, with no `apikey` (Supabase's gateway leaves them open).
routes = ApiRoutes(wrap=functools.partial(speak_gotrue, api_key=False))

# The browser's binding to a flow it started: a random value in a cookie named after
# the flow (so sign-ins in two tabs do not overwrite each other), HttpOnly, and sent
# back only to the callback, a GET (SameSite=Lax lets the provider's top-level redirect
# carry it), so it never rides on a request the CSRF guard would have to judge.
BROWSER_COOKIE_PREFIX = "skybound-oauth-"
CALLBACK_PATH = "/auth/v1/callback"
# Printable ASCII only, and short: percent-encoded, the whole query must stay within the
# HTTP parser's 8,190-byte request line, which answers in plain text beyond it.
_URL = r"^[!-~]*$"
_TEXT = r"^[ -~]*$"


class AuthorizeQuery(GoTrueInput):
    provider: str = Field(max_length=40, pattern=r"^[A-Za-z0-9:_-]*$", examples=["google"])
    redirect_to: str | None = Field(
        default=None, max_length=2000, pattern=_URL,
        description="Where to return to: allowed by SKYBOUND_AUTH_REDIRECT_URLS or on "
        "SKYBOUND_SITE_URL's host, else the site URL.",
    )  # fmt: skip
    scopes: str | None = Field(
        default=None, max_length=200, pattern=_TEXT,
        description="Scopes beyond openid, email and profile.",
    )  # fmt: skip
    code_challenge: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9._~-]*$")
    code_challenge_method: str | None = Field(
        default=None, max_length=10, pattern=r"^[A-Za-z0-9]*$", examples=["s256"]
    )


class CallbackQuery(GoTrueInput):
    code: str | None = Field(default=None, max_length=1000, pattern=_URL)
    state: str | None = Field(default=None, max_length=200, pattern=_URL)
    error: str | None = Field(default=None, max_length=100, pattern=_URL)
    error_description: str | None = Field(default=None, max_length=500, pattern=_TEXT)


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _secure(request: web.Request) -> bool:
    return request.secure or request.app[settings_key].site_url.startswith("https:")


@routes.get(
    "/auth/v1/authorize",
    summary="Sign in with a provider: redirect to its sign-in page",
    query=AuthorizeQuery,
    status=302,
    responses={302: "To the provider's sign-in page"},
    errors=[BadRequest, ProviderUnavailable, AuthUnavailable],
    tags=TAGS,
)
async def authorize(request: web.Request, query: AuthorizeQuery) -> web.Response:
    """With `code_challenge`, the flow ends with a code for the token endpoint (PKCE);
    without, with the session in the redirect's fragment (implicit flow)."""
    binding = secrets.token_urlsafe(32)
    location, flow_id = await external_sign_in(request).start(
        provider_name=query.provider, redirect_to=query.redirect_to, scopes=query.scopes,
        code_challenge=query.code_challenge, code_challenge_method=query.code_challenge_method,
        browser_binding=binding,
        callback_url=str(request.url.with_path(CALLBACK_PATH).with_query(None)),
    )  # fmt: skip
    response = _redirect(location)
    response.set_cookie(f"{BROWSER_COOKIE_PREFIX}{flow_id}", binding, max_age=FLOW_STATE_SECONDS,
                        path=CALLBACK_PATH, httponly=True, samesite="Lax",
                        secure=_secure(request))  # fmt: skip
    return response


@routes.get(
    "/auth/v1/callback",
    summary="The provider's redirect back: continue to the app",
    query=CallbackQuery,
    status=302,
    responses={302: "To redirect_to (or the site URL): signed in, or with error parameters"},
    errors=[AuthUnavailable],
    tags=TAGS,
)
async def callback(request: web.Request, query: CallbackQuery) -> web.Response:
    """Refusals are redirects too, with GoTrue's `error`, `error_code` and
    `error_description` in the query and the fragment."""
    # The state names its flow before its signature is checked; the domain checks both.
    flow_part = (query.state or "").partition(".")[0]
    cookie = f"{BROWSER_COOKIE_PREFIX}{flow_part}"
    location = await external_sign_in(request).finish(
        state=query.state, code=query.code, provider_error=query.error,
        provider_error_description=query.error_description,
        browser_binding=request.cookies.get(cookie),
    )  # fmt: skip
    # The cookie is left to expire with the flow: a replay then meets "already used".
    return _redirect(location)
