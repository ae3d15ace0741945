"""Sign-in with Google clicked through in a real Chromium: an app's page with a
"Sign in with Google" link, the provider's consent page, and back to the app signed in
(the implicit flow, whose session arrives in the fragment)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright, expect

from foundation.settings import Settings
from server.app import create_app
from tests.browser import CHROMIUM_FLAGS
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, LocalOidcProvider, running_provider
from tests.test_board_page import chromium
from tests.tokens import ANON_KEY

__all__ = ["chromium"]  # the fixture, from its module

APP_PAGE = """<!doctype html>
<title>Skybound app</title>
<a id="google" href="{authorize}">Sign in with Google</a>
<p id="status">Signed out</p>
<script>
  const answer = new URLSearchParams(location.hash.slice(1));
  const status = document.getElementById("status");
  if (answer.get("access_token")) status.textContent = "Signed in";
  else if (answer.get("error")) status.textContent = "Refused: " + answer.get("error_code");
</script>
"""


@pytest.fixture
async def chromium_browser(chromium: str) -> AsyncIterator[Browser]:
    """A headless Chromium driven by Playwright."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
async def provider() -> AsyncIterator[LocalOidcProvider]:
    """The local OpenID Connect provider, asking for consent with a button."""
    async with running_provider() as running:
        running.consent_page = True
        yield running


async def test_a_user_clicks_through_sign_in_with_google(
    aiohttp_server: Any, settings: Settings, provider: LocalOidcProvider,
    chromium_browser: Browser,
) -> None:  # fmt: skip
    configured = settings.model_copy(update={
        "auth_google_client_id": CLIENT_ID, "auth_google_secret": CLIENT_SECRET,
        "auth_google_issuer": provider.issuer,
    })  # fmt: skip
    skybound: TestServer = await aiohttp_server(create_app(configured))

    async def app_page(request: web.Request) -> web.Response:
        # Back to this very page (on a loopback address, so allowed without a pattern).
        back = quote(str(request.url.with_query(None)), safe="")
        authorize = f"{skybound.make_url('/auth/v1/authorize')}?provider=google&redirect_to={back}"
        return web.Response(text=APP_PAGE.format(authorize=authorize), content_type="text/html")

    app = web.Application()
    app.router.add_get("/app", app_page)
    app_server: TestServer = await aiohttp_server(app)
    page_url = str(app_server.make_url("/app"))

    page = await chromium_browser.new_page()
    await page.goto(page_url)
    await page.get_by_text("Sign in with Google").click()
    await page.get_by_role("button", name="Continue as Ada Lovelace").click()
    await expect(page.locator("#status")).to_have_text("Signed in")

    [binding] = [c for c in await page.context.cookies() if c["name"].startswith("skybound-oauth-")]
    assert (binding["httpOnly"], binding["sameSite"]) == (True, "Lax")
    assert binding["path"] == "/auth/v1/callback"
    fragment = parse_qs(urlsplit(page.url).fragment)
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            str(skybound.make_url("/auth/v1/user")),
            headers={"Authorization": f"Bearer {fragment['access_token'][0]}", "apikey": ANON_KEY},
        ) as response,
    ):
        assert response.status == 200
        assert (await response.json())["email"] == "ada@example.com"
