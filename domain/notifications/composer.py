"""Composes a caused message when the outbox sends it: reads what the message shows
and decides whether its cause still holds, then has the renderer (``rendering``) write
it in the recipient's language, HTML with a plain-text alternative, with its
attachments (e-ticket receipts, a calendar entry per flight).

This happens off the transaction that caused the message, and from the data as it is
at sending time: a delay coalesced from five updates shows the latest time, and a
message whose cause no longer holds (the delay was taken back, the booking was
cancelled) is not sent at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import asyncpg

from adapters.mail import OutgoingMail
from domain.notifications.campaigns import (
    CampaignNotFound,
    campaign_recipient,
    get_campaign,
    render_content,
    unsubscribe_token,
)
from domain.notifications.locale import Speaker, language_of
from domain.notifications.rendering import Draft, Rendered, Renderer, render_template
from domain.notifications.trips import Leg, Trip, load_trip, quote_amounts
from domain.receipts import load_receipts

# Flight news is not worth sending about a flight that has left.
_UNDERWAY = ("departed", "landed", "arrived")


_Render = Callable[[OutgoingMail, Speaker, bool], Awaitable["Rendered | None"]]

# A preview's cause: the booking's first flight and its latest quote.
_PREVIEW_CAUSE = """
SELECT (SELECT flight_id FROM booking_segments WHERE booking_id = b.id
        ORDER BY segment_no LIMIT 1) AS flight_id,
       (SELECT id FROM booking_quotes WHERE booking_id = b.id
        ORDER BY created_at DESC LIMIT 1) AS quote_id
FROM bookings b WHERE b.id = $1
"""

# The trip templates, each previewable for a booking.
TEMPLATES = (
    "booking_confirmation", "booking_changed", "booking_cancelled",
    "flight_delay", "flight_gate", "flight_cancelled", "flight_diverted",
    "checkin_open", "departure_reminder",
)  # fmt: skip


class Composer:
    """Turns an outbox row's template and cause into a message (see ``adapters.mail``)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        site_url: str,
        api_url: str,
        delay_threshold: timedelta,
        unsubscribe_secret: bytes,
        renderer: Renderer | None = None,
    ) -> None:
        self.pool = pool
        self.renderer = renderer or Renderer(processes=0)
        self.site_url = site_url.rstrip("/")
        self.api_url = api_url.rstrip("/")
        self.delay_threshold = delay_threshold
        self.unsubscribe_secret = unsubscribe_secret
        self._by_template: dict[str, _Render] = {
            "campaign": self._campaign,
            "booking_confirmation": self._booking_confirmation,
            "booking_changed": self._booking_update,
            "booking_cancelled": self._booking_update,
            "checkin_open": self._reminder,
            "departure_reminder": self._reminder,
            **{name: self._flight_news for name in TEMPLATES if name.startswith("flight_")},
        }

    async def __call__(self, mail: OutgoingMail) -> EmailMessage | None:
        if mail.template not in self._by_template:
            raise LookupError(f"unknown mail template {mail.template!r}")
        speaker = Speaker(language_of(mail.language))
        rendered = await self._by_template[mail.template](mail, speaker, False)
        return None if rendered is None else rendered.message()

    async def preview(self, template: str, booking_id: uuid.UUID, language: str) -> Rendered | None:
        """``template`` rendered for a booking (its first flight, its latest quote) as
        its email would be, whether or not its cause holds now; None for no booking."""
        row = await self.pool.fetchrow(_PREVIEW_CAUSE, booking_id)
        if row is None or row["flight_id"] is None:
            return None
        kind = template.removeprefix("flight_")
        cause = {"booking_id": str(booking_id), "flight_id": row["flight_id"], "kind": kind,
                 "quote_id": str(row["quote_id"] or uuid.UUID(int=0))}  # fmt: skip
        mail = OutgoingMail(0, "preview@skybound.invalid", None, None, 0, template, cause,
                            language)  # fmt: skip
        return await self._by_template[template](mail, Speaker(language_of(language)), True)

    def booking_link(self, booking_id: uuid.UUID, path: str = "") -> str:
        return f"{self.site_url}/bookings/{booking_id}{path}"

    # Messages ------------------------------------------------------------------------

    async def _booking_confirmation(
        self, mail: OutgoingMail, t: Speaker, preview: bool
    ) -> Rendered | None:
        trip = await load_trip(self.pool, uuid.UUID(mail.cause["booking_id"]))
        if trip is None or (trip.status != "confirmed" and not preview):
            return None
        receipts = await load_receipts(self.pool, trip.booking_id)
        return await self._render(mail, t, trip, receipts=tuple(receipts),
                                  calendar_legs=trip.legs)  # fmt: skip

    async def _booking_update(
        self, mail: OutgoingMail, t: Speaker, preview: bool
    ) -> Rendered | None:
        trip = await load_trip(self.pool, uuid.UUID(mail.cause["booking_id"]))
        if trip is None:
            return None
        quote = await self.pool.fetchrow(
            "SELECT details, currency FROM booking_quotes WHERE id = $1",
            uuid.UUID(mail.cause["quote_id"]),
        )
        charged, refunded = quote_amounts(quote["details"] if quote else None)
        currency = quote["currency"] if quote else trip.currency
        changed = mail.template == "booking_changed"
        return await self._render(
            mail, t, trip, calendar_legs=trip.legs if changed else (),
            context={"charged": charged, "refunded": refunded, "currency": currency},
        )  # fmt: skip

    async def _flight_news(self, mail: OutgoingMail, t: Speaker, preview: bool) -> Rendered | None:
        found = await self._trip_leg(mail, preview)
        if found is None:
            return None
        trip, leg = found
        kind = mail.cause["kind"]
        still_news = {
            "delay": leg.delay >= self.delay_threshold and leg.status not in _UNDERWAY,
            "gate": leg.departure_gate is not None and leg.status not in _UNDERWAY,
            "cancelled": leg.status == "cancelled",
            "diverted": leg.status == "diverted",
        }
        if not (still_news.get(kind, False) or preview):
            return None
        return await self._render(mail, t, trip, leg=leg)

    async def _reminder(self, mail: OutgoingMail, t: Speaker, preview: bool) -> Rendered | None:
        found = await self._trip_leg(mail, preview)
        if found is None:
            return None
        trip, leg = found
        upcoming = leg.status in ("scheduled", "boarding") and leg.departure > datetime.now(UTC)
        if not (upcoming or preview):
            return None
        checkin = mail.template == "checkin_open"
        return await self._render(
            mail, t, trip, leg=leg, calendar_legs=(leg,),
            link=self.booking_link(trip.booking_id, "/check-in" if checkin else ""),
            context={"action": "checkin_open.action" if checkin else None},
        )  # fmt: skip

    # Parts ---------------------------------------------------------------------------

    async def _campaign(self, mail: OutgoingMail, t: Speaker, preview: bool) -> Rendered | None:
        """A promotion, only while its recipient's consent is on (a test message goes to
        whoever the admin named), with the one-click unsubscribe headers of RFC 8058."""
        try:
            campaign = await get_campaign(self.pool, uuid.UUID(mail.cause["campaign_id"]))
        except CampaignNotFound:
            return None
        user_id = uuid.UUID(mail.cause["user_id"])
        recipient = await campaign_recipient(self.pool, user_id)
        if recipient is None:
            return None
        name, consent = recipient
        if not consent and not mail.cause.get("test"):
            return None
        token = unsubscribe_token(self.unsubscribe_secret, user_id)
        url = f"{self.api_url}/v1/unsubscribe?token={token}"
        language = t.language if t.language in campaign.content else "en"
        content = render_content(campaign.content[language],
                                 {"name": name, "unsubscribe_url": url})  # fmt: skip
        values = {"t": Speaker(language), "subject": content.subject, "content": content,
                  "unsubscribe_url": url}  # fmt: skip
        text, html = render_template("campaign", values)
        headers = (("List-Unsubscribe", f"<{url}>"),
                   ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                   ("Precedence", "bulk"))  # fmt: skip
        return Rendered(content.subject, text, html, language, headers=headers)

    async def _trip_leg(self, mail: OutgoingMail, preview: bool) -> tuple[Trip, Leg] | None:
        trip = await load_trip(self.pool, uuid.UUID(mail.cause["booking_id"]))
        if trip is None or (trip.status != "confirmed" and not preview):
            return None
        leg = trip.leg(int(mail.cause["flight_id"]))
        return None if leg is None else (trip, leg)

    async def _render(
        self,
        mail: OutgoingMail,
        t: Speaker,
        trip: Trip,
        *,
        leg: Leg | None = None,
        receipts: tuple[Any, ...] = (),
        calendar_legs: tuple[Leg, ...] = (),
        link: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> Rendered:
        draft = Draft(
            template=str(mail.template), language=t.language, trip=trip,
            link=link or self.booking_link(trip.booking_id), leg=leg, receipts=receipts,
            calendar_legs=calendar_legs, context=context or {},
        )  # fmt: skip
        return await self.renderer(draft)
