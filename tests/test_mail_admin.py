# ruff: noqa: RUF001  (French typography writes its apostrophe as U+2019, on purpose)
"""Admin mail: template previews (each opened in Chromium and photographed, so a broken
layout is seen), promotional campaigns to consenting users only, at most once each,
with a signed one-click unsubscribe (RFC 8058) that withdraws consent."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from playwright.async_api import Browser, async_playwright

from foundation.settings import Settings
from server.app import create_app
from tests.booking_helpers import bearer
from tests.browser import CHROMIUM_FLAGS, find_or_install_chromium
from tests.mail_helpers import (
    ControlledSmtp,
    a_flight,
    arrived,
    book_in_sql,
    controlled_smtp,
    outbox_settled,
    parts,
)
from tests.problems import assert_problem
from tests.smtp import Mailbox, with_smtp

_ = controlled_smtp  # the fixture, from its helper module

TEMPLATES = (
    "booking_confirmation", "booking_changed", "booking_cancelled",
    "flight_delay", "flight_gate", "flight_cancelled", "flight_diverted",
    "checkin_open", "departure_reminder",
)  # fmt: skip
ADMIN = uuid.uuid4()


def _admin() -> dict[str, str]:
    return bearer(ADMIN, app_metadata={"roles": ["admin"]})


@pytest.fixture
async def mail_client(
    aiohttp_client: Any, settings: Settings, controlled_smtp: tuple[Mailbox, ControlledSmtp]
) -> TestClient:
    """Skybound sending to the test SMTP server, its API at http://api.test."""
    mailbox, _server = controlled_smtp
    app_settings = with_smtp(settings, mailbox).model_copy(update={"api_url": "http://api.test"})
    client: TestClient = await aiohttp_client(create_app(app_settings))
    return client


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path to a Chromium executable (installed from Debian's packages if needed)."""
    path, why = find_or_install_chromium()
    assert path is not None, f"no Chromium for the template screenshots: {why}"
    return path


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """A headless Chromium driven by Playwright."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


async def _preview(client: TestClient, template: str, booking: uuid.UUID, language: str) -> Any:
    response = await client.get(
        f"/v1/admin/mail/templates/{template}/preview",
        params={"booking_id": str(booking), "language": language}, headers=_admin(),
    )  # fmt: skip
    assert response.status == 200, await response.text()
    return await response.json()


async def test_every_template_renders_and_lays_out_in_chromium(
    client: TestClient, db: asyncpg.Connection, browser: Browser, tmp_path: Path
) -> None:
    flight = await a_flight(db)
    booked = await book_in_sql(db, flight, locator="PRV001", passengers=[
        ("Ada", "ada@example.com"), ("Bob", None),
    ])  # fmt: skip
    page = await browser.new_page(viewport={"width": 375, "height": 800})
    for template in TEMPLATES:
        for language in ("en", "fr", "es"):
            preview = await _preview(client, template, booked.booking, language)
            assert preview["subject"]
            assert "PRV001" in preview["text"]
            await page.set_content(preview["html"])
            # The subject is the visible heading; nothing spills off a phone's screen.
            assert (await page.inner_text("h1")).strip() == preview["subject"]
            assert await page.evaluate("document.documentElement.scrollWidth") <= 375
            shot = await page.screenshot(full_page=True)
            (tmp_path / f"{template}.{language}.png").write_bytes(shot)
            image = Image.open(io.BytesIO(shot)).convert("RGB")
            colours = image.getcolors(maxcolors=1 << 16)
            assert colours is None or len(colours) > 20, f"{template}/{language} looks blank"
            assert image.height > 300
    await page.close()


async def test_previews_are_for_admins_and_need_a_booking(
    client: TestClient, db: asyncpg.Connection
) -> None:
    flight = await a_flight(db)
    booked = await book_in_sql(db, flight, locator="PRV002", passengers=[("Ada", None)])
    url = f"/v1/admin/mail/templates/flight_delay/preview?booking_id={booked.booking}"
    await assert_problem(await client.get(url, headers=bearer(uuid.uuid4())), 403)
    missing = f"/v1/admin/mail/templates/flight_delay/preview?booking_id={uuid.uuid4()}"
    await assert_problem(await client.get(missing, headers=_admin()), 404)
    unknown = f"/v1/admin/mail/templates/nonsense/preview?booking_id={booked.booking}"
    await assert_problem(await client.get(unknown, headers=_admin()), 422)
    # Attachments as the real message carries them.
    preview = await _preview(client, "booking_confirmation", booked.booking, "en")
    assert preview["attachments"] == ["SB100-JFK-LHR.ics"]  # no tickets issued in SQL


async def _user(
    db: asyncpg.Connection, email: str | None, *, consent: bool, language: str = "en"
) -> uuid.UUID:
    user = uuid.uuid4()
    await db.execute(
        "INSERT INTO profiles (user_id, email, given_name, family_name)"
        " VALUES ($1, $2, 'Pat', 'Doe')",
        user, email,
    )  # fmt: skip
    await db.execute(
        "INSERT INTO user_preferences (user_id, language, marketing_consent,"
        " marketing_consent_at) VALUES ($1, $2, $3, now() - interval '1 day')",
        user, language, consent,
    )  # fmt: skip
    return user


CONTENT = {
    "en": {"subject": "Winter sale, {{ name }}", "html": "<p>Hello {{ name }}: 20% off.</p>",
           "text": "Hello {{ name }}: 20% off."},
    "fr": {"subject": "Soldes d’hiver, {{ name }}", "html": "<p>Bonjour {{ name }} : -20 %.</p>",
           "text": "Bonjour {{ name }} : -20 %."},
}  # fmt: skip


async def _campaign(client: TestClient, **extra: Any) -> dict[str, Any]:
    response = await client.post("/v1/admin/campaigns", headers=_admin(),
                                 json={"name": "Winter", "content": CONTENT, **extra})  # fmt: skip
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _send(client: TestClient, campaign: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/v1/admin/campaigns/{campaign['id']}/send", headers=_admin())
    assert response.status == 200, await response.text()
    return dict(await response.json())


async def test_a_campaign_reaches_consenting_users_once_and_unsubscribes_in_one_click(
    mail_client: TestClient, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    ada = await _user(db, "ada@example.com", consent=True)
    await _user(db, "Bea@Example.com", consent=True, language="fr")
    await _user(db, "cy@example.com", consent=False)
    await _user(db, None, consent=True)  # no address
    campaign = await _campaign(mail_client)

    sent = await _send(mail_client, campaign)
    assert sent["recipients"] == 2
    messages = await arrived(mailbox, 2)
    by_to = {str(m["To"]): m for m in messages}
    assert set(by_to) == {"ada@example.com", "bea@example.com"}
    assert by_to["bea@example.com"]["Subject"] == "Soldes d’hiver, Pat Doe"
    english = by_to["ada@example.com"]
    assert english["Subject"] == "Winter sale, Pat Doe"
    body = parts(english)
    assert "<p>Hello Pat Doe: 20% off.</p>" in body["html"]
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(english["List-Unsubscribe"]).strip("<>")
    assert link.startswith("http://api.test/v1/unsubscribe?token=")
    assert link in body["text"]

    # Sending again queues nobody new; a user who consents since gets it, once.
    await _user(db, "dee@example.com", consent=True)
    again = await _send(mail_client, campaign)
    assert again["recipients"] == 3
    [*_, late] = await arrived(mailbox, 3)
    assert late["To"] == "dee@example.com"

    # Following the link as a mail client does (RFC 8058) withdraws consent.
    target = urlsplit(link)
    response = await mail_client.post(
        f"{target.path}?{target.query}", data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert (response.status, await response.json()) == (200, {"unsubscribed": True})
    consent = await db.fetchrow(
        "SELECT marketing_consent, marketing_consent_at > now() - interval '1 minute' AS recent"
        " FROM user_preferences WHERE user_id = $1",
        ada,
    )
    assert (consent["marketing_consent"], consent["recent"]) == (False, True)
    # The page behind the link changes nothing by itself (link scanners open it).
    page = await mail_client.get(f"{target.path}?{target.query}")
    assert page.status == 200
    assert "<form method='post'" in await page.text()

    second = await _send(mail_client, await _campaign(mail_client))
    assert second["recipients"] == 2  # bea and dee; ada withdrew
    await arrived(mailbox, 5)
    await outbox_settled(db)
    assert "ada@example.com" not in {str(m["To"]) for m in mailbox.messages[3:]}


async def test_a_tampered_unsubscribe_link_is_refused(
    mail_client: TestClient, db: asyncpg.Connection
) -> None:
    user = await _user(db, "ada@example.com", consent=True)
    forged = f"/v1/unsubscribe?token={user}.AAAAAAAAAAAAAAAAAAAAAAAA"
    await assert_problem(await mail_client.post(forged), 403)
    assert await db.fetchval(
        "SELECT marketing_consent FROM user_preferences WHERE user_id = $1", user
    )


async def test_a_test_message_and_an_audience_by_home_airport(
    mail_client: TestClient, db: asyncpg.Connection,
    controlled_smtp: tuple[Mailbox, ControlledSmtp],
) -> None:  # fmt: skip
    mailbox, _server = controlled_smtp
    flight = await a_flight(db)  # out of JFK
    flyer = await _user(db, "flyer@example.com", consent=True)
    await _user(db, "stay@example.com", consent=True)
    booked = await book_in_sql(db, flight, locator="CMP001", passengers=[("Ada", None)])
    await db.execute("UPDATE bookings SET user_id = $2 WHERE id = $1", booked.booking, flyer)
    await db.execute("INSERT INTO profiles (user_id, given_name) VALUES ($1, 'Sam')", ADMIN)
    campaign = await _campaign(mail_client, audience={"home_airport": "jfk"})
    assert campaign["home_airport"] == "JFK"

    tried = await mail_client.post(
        f"/v1/admin/campaigns/{campaign['id']}/test", headers=_admin(),
        json={"email": "admin@example.com", "language": "fr"},
    )  # fmt: skip
    assert tried.status == 202
    [test_message] = await arrived(mailbox, 1)
    assert test_message["To"] == "admin@example.com"
    assert test_message["Subject"] == "Soldes d’hiver, Sam"  # the admin's own name and link
    sent = await _send(mail_client, campaign)
    assert sent["recipients"] == 1
    [_, message] = await arrived(mailbox, 2)
    assert message["To"] == "flyer@example.com"
    bad = await mail_client.post("/v1/admin/campaigns", headers=_admin(), json={
        "name": "Broken", "content": {"en": {**CONTENT["en"], "html": "{{ name "}},
    })  # fmt: skip
    problem = await assert_problem(bad, 422)
    assert "content.en" in str(problem)
