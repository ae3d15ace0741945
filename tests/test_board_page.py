"""The display board page in a real browser: live updates and resume after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from foundation.settings import Settings
from server.app import create_app
from tests.browser import CHROMIUM_FLAGS, find_or_install_chromium
from tests.factories import add_flight, add_world
from tests.problems import assert_problem


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path to a Chromium executable (installed from Debian's packages if needed)."""
    path, why = find_or_install_chromium()
    if path is None:
        pytest.skip(f"no Chromium for browser tests: {why}")
    return path


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """A headless Chromium driven by Playwright."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
async def flights(db: asyncpg.Connection) -> list[int]:
    """Two JFK departures on the live board, one to London and one to Paris."""
    await add_world(db)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return [
        await add_flight(db, origin="JFK", destination="LHR", number=1, departure_gate="B12",
                         departure_terminal="4", departure=now + timedelta(hours=1)),
        await add_flight(db, origin="JFK", destination="CDG", number=2, departure_gate="B20",
                         departure_terminal="4", departure=now + timedelta(hours=2)),
    ]  # fmt: skip


def _row(page: Page, flight_id: int) -> Any:
    return page.locator(f'tr[data-flight-id="{flight_id}"]')


async def test_gate_change_written_in_sql_appears_on_the_page(
    aiohttp_server: Any, settings: Settings, browser: Browser, db: asyncpg.Connection,
    flights: list[int],
) -> None:  # fmt: skip
    server = await aiohttp_server(create_app(settings))
    page = await browser.new_page()
    await page.goto(str(server.make_url("/boards/JFK")))
    await expect(page.locator("#connection")).to_have_text("Live")
    london = _row(page, flights[0])
    await expect(london.locator("td.flight")).to_have_text("SB1")
    await expect(london.locator("td.place")).to_have_text("London")
    await expect(london.locator("td.gate")).to_have_text("B12")
    # Rows are in time order.
    await expect(page.locator("td.flight")).to_have_text(["SB1", "SB2"])

    await db.execute("UPDATE flights SET departure_gate = 'B14' WHERE id = $1", flights[0])
    await expect(london.locator("td.gate")).to_have_text("B14")
    await expect(london.locator("td.gate")).to_have_class("gate changed")

    await db.execute(
        "UPDATE flights SET estimated_departure = scheduled_departure + interval '45 min'"
        " WHERE id = $1",
        flights[1],
    )
    await expect(_row(page, flights[1]).locator("td.status")).to_contain_text("Delayed")

    await db.execute("UPDATE flights SET status = 'cancelled' WHERE id = $1", flights[1])
    await expect(_row(page, flights[1])).to_have_class("cancelled")
    await page.close()


async def test_page_reconnects_and_resumes_after_a_server_restart(
    aiohttp_server: Any, settings: Settings, browser: Browser, db: asyncpg.Connection,
    flights: list[int],
) -> None:  # fmt: skip
    server = await aiohttp_server(create_app(settings))
    port = server.port
    page = await browser.new_page()
    await page.goto(str(server.make_url("/boards/JFK")))
    await expect(_row(page, flights[0]).locator("td.gate")).to_have_text("B12")

    await server.close()
    await expect(page.locator("#connection")).to_have_text("Reconnecting")
    # The gate changes while the board has no server.
    await db.execute("UPDATE flights SET departure_gate = 'C3' WHERE id = $1", flights[0])

    await aiohttp_server(create_app(settings), port=port)
    await expect(page.locator("#connection")).to_have_text("Live", timeout=15000)
    await expect(_row(page, flights[0]).locator("td.gate")).to_have_text("C3")
    await page.close()


async def test_arrivals_board_shows_origins_and_belts(
    aiohttp_server: Any, settings: Settings, browser: Browser, db: asyncpg.Connection,
    flights: list[int],
) -> None:  # fmt: skip
    server = await aiohttp_server(create_app(settings))
    page = await browser.new_page()
    await page.goto(str(server.make_url("/boards/LHR?kind=arrivals")))
    await expect(page.locator("#title")).to_have_text("Arrivals")
    row = _row(page, flights[0])
    await expect(row.locator("td.place")).to_have_text("New York")
    await db.execute("UPDATE flights SET baggage_belt = '7' WHERE id = $1", flights[0])
    await expect(row.locator("td.gate")).to_have_text("7")
    await page.close()


async def test_board_page_for_unknown_airport_is_404(client: Any) -> None:
    await assert_problem(await client.get("/boards/QQQ"), 404)


async def test_board_assets_are_served_locally(client: Any) -> None:
    for asset, kind in (("board.js", "javascript"), ("board.css", "css")):
        response = await client.get(f"/static/{asset}")
        assert response.status == 200
        assert kind in response.headers["Content-Type"]
