"""The operations dashboard in a real browser: sign-in, live charts, and flight actions
that reach the public board."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from PIL import Image
from playwright.async_api import Browser, Page, expect

from domain.identity.accounts import passwords
from foundation.settings import Settings
from server.app import create_app
from tests.factories import add_flight, add_world
from tests.test_board_page import browser, chromium  # noqa: F401  (fixtures)
from tests.tokens import ANON_KEY

PASSWORD = "correct horse battery staple"
OPS_EMAIL = "ops@example.com"
# The bookings chart's stroke (handlers/static/admin.js).
BOOKINGS_STROKE = (0x0B, 0x5C, 0xAD)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its cheapest, for speed."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


@pytest.fixture
async def server(aiohttp_server: Any, settings: Settings) -> TestServer:
    """A server whose system stream sends twice a second."""
    quick = settings.model_copy(update={"system_stream_seconds": 0.5})
    served: TestServer = await aiohttp_server(create_app(quick))
    return served


async def sign_up(server: TestServer, email: str) -> str:
    """A built-in account (the user's id); its password is PASSWORD."""
    async with aiohttp.ClientSession(headers={"apikey": ANON_KEY}) as session:
        response = await session.post(server.make_url("/auth/v1/signup"),
                                      json={"email": email, "password": PASSWORD})  # fmt: skip
        assert response.status == 200, await response.text()
        return str((await response.json())["user"]["id"])


@pytest.fixture
async def ops_user(server: TestServer, db: asyncpg.Connection) -> str:
    """An account an admin granted the ops role."""
    user_id = await sign_up(server, OPS_EMAIL)
    await db.execute("INSERT INTO user_roles (user_id, role) VALUES ($1, 'ops')", user_id)
    return user_id


@pytest.fixture
async def delayed(db: asyncpg.Connection) -> int:
    """A London departure, delayed, at gate B12 (on today's disruptions and the board)."""
    await add_world(db)
    departure = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=10)
    return await add_flight(db, origin="LHR", destination="JFK", number=7, departure=departure,
                            estimated_departure=departure + timedelta(minutes=25),
                            departure_gate="B12", departure_terminal="5")  # fmt: skip


@pytest.fixture
async def dashboard(browser: Browser, server: TestServer) -> AsyncIterator[Page]:  # noqa: F811
    """The dashboard page, not yet signed in."""
    page = await browser.new_page(viewport={"width": 1400, "height": 1100})
    await page.goto(str(server.make_url("/admin")))
    yield page
    await page.close()


async def sign_in(page: Page, email: str) -> None:
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


def stroke_pixels(path: Path, colour: tuple[int, int, int]) -> int:
    image = Image.open(path).convert("RGB")
    return sum(
        count for count, pixel in image.getcolors(maxcolors=1 << 24) or []
        if all(abs(a - b) <= 8 for a, b in zip(pixel, colour, strict=True))
    )  # fmt: skip


async def test_ops_staff_see_live_charts_and_a_gate_change_reaches_the_board(
    browser: Browser,  # noqa: F811
    server: TestServer, dashboard: Page, ops_user: str, delayed: int, tmp_path: Path,
) -> None:  # fmt: skip
    await sign_in(dashboard, OPS_EMAIL)
    await expect(dashboard.locator("#connection")).to_have_text("Live")
    assert await dashboard.evaluate("sessionStorage.getItem('skybound.admin.token')")
    row = dashboard.locator(f'tr[data-flight-id="{delayed}"]')
    await expect(row.locator(".flight")).to_have_text("SB7")
    await expect(row.locator(".gate")).to_have_text("B12")
    await expect(row.locator(".status")).to_have_text("scheduled (+25 min)")
    await expect(dashboard.locator(".chart canvas")).to_have_count(4)

    board = await browser.new_page()
    await board.goto(str(server.make_url("/boards/LHR")))
    await expect(board.locator(f'tr[data-flight-id="{delayed}"] td.gate')).to_have_text("B12")
    # The board's stream shows on the dashboard's connections chart (after earlier points).
    await expect(dashboard.locator("#chart-streams .now")).to_have_text("1")

    shot = tmp_path / "dashboard.png"
    await dashboard.screenshot(path=str(shot), full_page=True)
    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 24) or []
    assert len(colours) > 50  # text, tiles and charts, not a blank page
    chart = tmp_path / "bookings-chart.png"
    await dashboard.locator("#chart-bookings").screenshot(path=str(chart))
    assert stroke_pixels(chart, BOOKINGS_STROKE) > 50  # the line is drawn

    await row.get_by_label("New gate").fill("c7")
    await row.get_by_role("button", name="Change gate").click()
    await expect(dashboard.locator("#notice")).to_have_text("SB7: done.")
    await expect(row.locator(".gate")).to_have_text("C7")
    await expect(board.locator(f'tr[data-flight-id="{delayed}"] td.gate')).to_have_text("C7")
    await board.close()


async def test_a_stale_row_gets_a_clear_message_and_is_reloaded(
    dashboard: Page, ops_user: str, delayed: int, db: asyncpg.Connection
) -> None:
    await sign_in(dashboard, OPS_EMAIL)
    row = dashboard.locator(f'tr[data-flight-id="{delayed}"]')
    await expect(row.locator(".gate")).to_have_text("B12")
    # Someone else moves the flight after the page read it.
    await db.execute("UPDATE flights SET departure_gate = 'D4' WHERE id = $1", delayed)

    await row.get_by_role("button", name="Delay").click()
    await expect(dashboard.locator("#notice")).to_contain_text("changed by someone else")
    await expect(row.locator(".gate")).to_have_text("D4")
    assert await db.fetchval(
        "SELECT estimated_departure - scheduled_departure FROM flights WHERE id = $1", delayed
    ) == timedelta(minutes=25)  # fmt: skip
    # With the fresh version, the same click goes through.
    await row.get_by_role("button", name="Delay").click()
    await expect(row.locator(".status")).to_have_text("scheduled (+55 min)")


async def test_a_passenger_is_refused(server: TestServer, dashboard: Page) -> None:
    await sign_up(server, "passenger@example.com")
    await sign_in(dashboard, "passenger@example.com")
    await expect(dashboard.locator("#refused")).to_be_visible()
    await expect(dashboard.locator("#dashboard")).to_be_hidden()


async def test_a_wrong_password_says_so(dashboard: Page, ops_user: str) -> None:
    await dashboard.get_by_label("Email").fill(OPS_EMAIL)
    await dashboard.get_by_label("Password").fill("not the password")
    await dashboard.get_by_role("button", name="Sign in").click()
    await expect(dashboard.locator("#sign-in-error")).to_contain_text("Invalid login")
    await expect(dashboard.locator("#dashboard")).to_be_hidden()


async def test_the_page_and_its_assets_are_served_locally_with_cache_headers(
    client: TestClient,
) -> None:
    page = await client.get("/admin")
    assert page.status == 200
    assert page.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert f'name="skybound-anon-key" content="{ANON_KEY}"' in await page.text()
    vendor = "/static/vendor/uplot-1.6.32/"
    for asset, kind, cache in (
        ("/static/admin.js", "javascript", "no-cache"),
        ("/static/admin.css", "css", "no-cache"),
        (vendor + "uPlot.iife.min.js", "javascript", "public, max-age=31536000, immutable"),
        (vendor + "uPlot.min.css", "css", "public, max-age=31536000, immutable"),
        (vendor + "LICENSE", "", "public, max-age=31536000, immutable"),
    ):
        response = await client.get(asset)
        assert response.status == 200, asset
        assert kind in response.headers["Content-Type"]
        assert response.headers["Cache-Control"] == cache
        assert "ETag" in response.headers or "Last-Modified" in response.headers
    licence = await (await client.get(vendor + "LICENSE")).text()
    assert "MIT License" in licence


async def test_signing_out_forgets_the_token_and_ends_the_session(
    dashboard: Page, ops_user: str, db: asyncpg.Connection
) -> None:
    await sign_in(dashboard, OPS_EMAIL)
    await expect(dashboard.locator("#connection")).to_have_text("Live")
    live = "SELECT count(*) FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL"
    assert await db.fetchval(live, ops_user) == 2  # sign-up's and the page's
    await dashboard.get_by_role("button", name="Sign out").click()
    await expect(dashboard.locator("#sign-in")).to_be_visible()
    await expect(dashboard.locator("#dashboard")).to_be_hidden()
    assert await dashboard.evaluate("sessionStorage.getItem('skybound.admin.token')") is None
    for _ in range(100):  # the page does not wait for the server's answer
        if await db.fetchval(live, ops_user) == 0:
            break
        await asyncio.sleep(0.05)
    assert await db.fetchval(live, ops_user) == 0
