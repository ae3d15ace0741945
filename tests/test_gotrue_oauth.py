"""Sign-in with Google in the built-in auth: the official supabase-auth client and a
browser (a cookie-keeping HTTP client that follows redirects) against Skybound, with
a local OpenID Connect provider playing Google."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from supabase_auth import AsyncGoTrueClient
from supabase_auth.errors import AuthApiError
from yarl import URL

from foundation.settings import Settings
from server.app import create_app
from tests.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    LocalOidcProvider,
    ProviderUser,
    running_provider,
)
from tests.tokens import ANON_KEY

APP = "http://app.example.com/welcome"
SITE = "http://site.example.org"


@pytest.fixture
async def provider() -> AsyncIterator[LocalOidcProvider]:
    """A local OpenID Connect provider playing Google."""
    async with running_provider() as running:
        yield running


@pytest.fixture
async def auth_url(aiohttp_server: Any, settings: Settings, provider: LocalOidcProvider) -> str:
    """/auth/v1 of Skybound with Google pointed at the local provider."""
    configured = settings.model_copy(update={
        "auth_google_client_id": CLIENT_ID, "auth_google_secret": CLIENT_SECRET,
        "auth_google_issuer": provider.issuer, "site_url": SITE,
        "auth_redirect_urls": ["http://app.example.com/**"],
    })  # fmt: skip
    server: TestServer = await aiohttp_server(create_app(configured))
    return str(server.make_url("/auth/v1"))


def client_for(auth_url: str, flow_type: str) -> AsyncGoTrueClient:
    return AsyncGoTrueClient(url=auth_url, headers={"apikey": ANON_KEY},
                             auto_refresh_token=False, flow_type=flow_type)  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
async def gotrue(auth_url: str) -> AsyncIterator[AsyncGoTrueClient]:
    """The supabase-auth client in PKCE mode, as a server-side app uses it."""
    client = client_for(auth_url, "pkce")
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A browser: keeps cookies (for 127.0.0.1 too) and is driven redirect by redirect."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def follow(browser: aiohttp.ClientSession, url: str, *, stop: str | None = None) -> str:
    """Follow redirects from ``url`` until one leaves Skybound and the provider (the app's
    page, not served here) or reaches ``stop``; that location."""
    for _ in range(10):
        if stop is not None and url.startswith(stop):
            return url
        async with browser.get(url, allow_redirects=False) as response:
            assert response.status == 302, await response.text()
            url = response.headers["Location"]
        host = urlsplit(url).netloc
        if not host.startswith("127.0.0.1"):
            return url
    raise AssertionError("too many redirects")


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def fragment_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).fragment, keep_blank_values=True).items()}


async def start(gotrue: AsyncGoTrueClient, redirect_to: str = APP) -> str:
    response = await gotrue.sign_in_with_oauth(
        {"provider": "google", "options": {"redirect_to": redirect_to}}
    )
    return response.url


# --- happy paths ---------------------------------------------------------------------


async def test_pkce_sign_in_with_the_official_client(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, provider: LocalOidcProvider,
    db: asyncpg.Connection,
) -> None:  # fmt: skip
    landed = await follow(browser, await start(gotrue))
    assert landed.startswith(APP + "?code=")
    session = (await gotrue.exchange_code_for_session({"auth_code": query_of(landed)["code"]})
               ).session  # fmt: skip
    assert session is not None
    assert session.user.email == "ada@example.com"
    assert session.user.app_metadata["provider"] == "google"
    assert [i.provider for i in session.user.identities or []] == ["google"]
    assert (session.user.identities or [])[0].id == "google-sub-1"
    assert session.user.user_metadata["full_name"] == "Ada Lovelace"
    current = await gotrue.get_user()
    assert current is not None
    assert current.user.id == session.user.id
    # The provider saw OpenID's scopes, a nonce and Skybound's own PKCE challenge.
    [asked] = provider.authorize_requests
    assert asked["scope"] == "openid email profile"
    assert asked["code_challenge_method"] == "S256"
    assert len(asked["nonce"]) >= 43
    # The code worked once.
    with pytest.raises(AuthApiError) as refused:
        await gotrue.exchange_code_for_session(
            {"auth_code": query_of(landed)["code"], "code_verifier": "x" * 43}
        )
    assert (refused.value.status, refused.value.code) == (404, "flow_state_not_found")
    assert await db.fetchval("SELECT count(*) FROM auth_flow_states") == 0


async def test_implicit_sign_in_puts_the_session_in_the_fragment(
    auth_url: str, browser: aiohttp.ClientSession
) -> None:
    implicit = client_for(auth_url, "implicit")
    try:
        landed = await follow(browser, await start(implicit))
        assert landed.startswith(APP + "#")
        fragment = fragment_of(landed)
        # GoTrue's keys, sorted as Go encodes them.
        assert list(fragment) == ["access_token", "expires_at", "expires_in", "provider_token",
                                  "refresh_token", "sb", "token_type"]  # fmt: skip
        assert fragment["token_type"] == "bearer"
        assert fragment["provider_token"].startswith("provider-access-")
        set_ = await implicit.set_session(fragment["access_token"], fragment["refresh_token"])
        assert set_.user is not None
        assert set_.user.email == "ada@example.com"
    finally:
        await implicit.close()


async def test_a_verified_email_links_to_the_existing_password_account(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    signed_up = await gotrue.sign_up({"email": "ada@example.com", "password": "a password"})
    assert signed_up.user is not None
    await gotrue.sign_out()
    landed = await follow(browser, await start(gotrue))
    session = (await gotrue.exchange_code_for_session({"auth_code": query_of(landed)["code"]})
               ).session  # fmt: skip
    assert session is not None
    assert session.user.id == signed_up.user.id
    assert sorted(i.provider for i in session.user.identities or []) == ["email", "google"]
    assert session.user.app_metadata["providers"] == ["email", "google"]
    # The password still works too.
    again = await gotrue.sign_in_with_password({"email": "ada@example.com",
                                                "password": "a password"})  # fmt: skip
    assert again.user is not None
    assert again.user.id == signed_up.user.id
    assert await db.fetchval("SELECT count(*) FROM auth_users") == 1


async def test_the_subject_signs_in_again_after_the_email_changes_at_the_provider(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, provider: LocalOidcProvider,
) -> None:  # fmt: skip
    first = await follow(browser, await start(gotrue))
    user = (await gotrue.exchange_code_for_session({"auth_code": query_of(first)["code"]})).user
    provider.user = ProviderUser("google-sub-1", "ada@new.example.com", email_verified=False)
    second = await follow(browser, await start(gotrue))
    again = (await gotrue.exchange_code_for_session({"auth_code": query_of(second)["code"]})).user
    assert user is not None
    assert again is not None
    assert again.id == user.id


async def test_a_key_the_provider_rotated_in_is_fetched(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, provider: LocalOidcProvider
) -> None:
    await follow(browser, await start(gotrue))
    provider.rotate_key()
    landed = await follow(browser, await start(gotrue))
    assert "code" in query_of(landed)


# --- refusals ------------------------------------------------------------------------


def assert_refused(landed: str, base: str, error_code: str, description: str) -> None:
    """GoTrue's error redirect: the error in the query and again in the fragment."""
    assert landed.startswith(base + "?")
    query, fragment = query_of(landed), fragment_of(landed)
    assert query["error_code"] == error_code
    assert query["error_description"] == description
    assert fragment == {"error": query["error"], "error_code": error_code,
                        "error_description": description, "sb": ""}  # fmt: skip
    assert "code" not in query
    assert "access_token" not in fragment


async def test_an_unverified_email_is_never_linked_to_an_existing_account(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, provider: LocalOidcProvider,
    db: asyncpg.Connection,
) -> None:  # fmt: skip
    await gotrue.sign_up({"email": "ada@example.com", "password": "a password"})
    provider.user = ProviderUser("attacker-sub", "ada@example.com", email_verified=False)
    landed = await follow(browser, await start(gotrue))
    assert_refused(landed, APP, "provider_email_needs_verification",
                   "Unverified email with google. Verify the email with google in order to "
                   "sign in")  # fmt: skip
    assert query_of(landed)["error"] == "access_denied"
    assert await db.fetchval("SELECT count(*) FROM auth_identities") == 0


async def test_an_unverified_email_makes_no_account(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, provider: LocalOidcProvider,
    db: asyncpg.Connection,
) -> None:  # fmt: skip
    provider.user = ProviderUser("sub-2", "new@example.com", email_verified=False)
    landed = await follow(browser, await start(gotrue))
    assert query_of(landed)["error_code"] == "provider_email_needs_verification"
    assert await db.fetchval("SELECT count(*) FROM auth_users") == 0


async def test_a_state_works_once(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession
) -> None:
    at_callback = await follow(browser, await start(gotrue), stop=callback_prefix(gotrue))
    landed = await follow(browser, at_callback)
    assert "code" in query_of(landed)
    replayed = await follow(browser, at_callback)
    assert_refused(replayed, APP, "flow_state_already_used", "State has already been used")


async def test_an_expired_state_is_refused(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    at_callback = await follow(browser, await start(gotrue), stop=callback_prefix(gotrue))
    await db.execute("UPDATE auth_flow_states SET expires_at = now() - interval '1 second'")
    landed = await follow(browser, at_callback)
    assert_refused(landed, APP, "bad_oauth_state", "OAuth state has expired")


async def test_a_state_from_another_browser_is_refused(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession
) -> None:
    at_callback = await follow(browser, await start(gotrue), stop=callback_prefix(gotrue))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        landed = await follow(other, at_callback)
    assert_refused(landed, APP, "bad_oauth_state", "OAuth state belongs to another browser")
    # The browser it belongs to can still finish.
    assert "code" in query_of(await follow(browser, at_callback))


async def test_sign_ins_started_in_two_tabs_both_finish(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession
) -> None:
    first = await follow(browser, await start(gotrue), stop=callback_prefix(gotrue))
    second = await follow(browser, await start(gotrue), stop=callback_prefix(gotrue))
    assert "code" in query_of(await follow(browser, second))
    assert "code" in query_of(await follow(browser, first))
    # The bindings go to the callback only: no cookie rides on the auth API's writes.
    assert len(browser.cookie_jar.filter_cookies(URL(second))) == 2
    assert not browser.cookie_jar.filter_cookies(URL(f"{gotrue._url}/token"))


async def test_unknown_and_forged_states_are_refused_to_the_site_url(
    auth_url: str, browser: aiohttp.ClientSession
) -> None:
    forged = "0b8f3ef8-7f4e-4a8e-9d38-d36b9a6f7b43.bm90LXRoZS1zaWduYXR1cmU"
    landed = await follow(browser, f"{auth_url}/callback?code=abc&state={forged}")
    assert_refused(landed, SITE, "bad_oauth_state", "OAuth state parameter is invalid")
    landed = await follow(browser, f"{auth_url}/callback?code=abc")
    assert_refused(landed, SITE, "bad_oauth_callback", "OAuth state parameter missing")


def callback_prefix(gotrue: AsyncGoTrueClient) -> str:
    return f"{gotrue._url}/callback?"


@pytest.mark.parametrize(
    ("tamper", "stranger"),
    [
        pytest.param({"nonce": "another nonce"}, False, id="bad-nonce"),
        pytest.param({"aud": "someone-else"}, False, id="wrong-audience"),
        pytest.param({"iss": "https://accounts.example.net"}, False, id="wrong-issuer"),
        pytest.param({"exp": int(time.time()) - 3600}, False, id="expired"),
        pytest.param({}, True, id="bad-signature"),
    ],
)
async def test_an_id_token_that_does_not_verify_signs_no_one_in(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, provider: LocalOidcProvider,
    db: asyncpg.Connection, tamper: dict[str, Any], stranger: bool,
) -> None:  # fmt: skip
    provider.tamper, provider.sign_with_stranger = tamper, stranger
    landed = await follow(browser, await start(gotrue))
    assert_refused(landed, APP, "unexpected_failure",
                   "Error getting user profile from external provider")  # fmt: skip
    assert query_of(landed)["error"] == "server_error"
    assert provider.token_requests == 1
    assert await db.fetchval("SELECT count(*) FROM auth_users") == 0


async def test_a_redirect_to_another_site_goes_to_the_site_url(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession
) -> None:
    landed = await follow(browser, await start(gotrue, "https://evil.example.net/steal"))
    assert landed.startswith(SITE + "?code=")
    landed = await follow(browser, await start(gotrue, "http://app.example.com.evil.net/"))
    assert landed.startswith(SITE + "?code=")


async def test_a_wrong_code_verifier_is_refused(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession
) -> None:
    landed = await follow(browser, await start(gotrue))
    with pytest.raises(AuthApiError) as refused:
        await gotrue.exchange_code_for_session(
            {"auth_code": query_of(landed)["code"], "code_verifier": "w" * 50}
        )
    assert (refused.value.status, refused.value.code) == (400, "bad_code_verifier")


async def test_an_unknown_provider_is_a_gotrue_error(auth_url: str) -> None:
    url = f"{auth_url}/authorize?provider=github"
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False) as response:
        body = await response.json()
    assert response.status == 400
    assert body["error_code"] == "validation_failed"
    assert body["msg"].startswith("Unsupported provider")
