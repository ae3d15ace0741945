"""Promotional campaigns: created by an admin, tried on one address, then sent to the
users whose marketing consent is on (and who match the audience), each at most once;
every message carries a signed one-click unsubscribe link (RFC 8058).

Campaign content is written by people, so it is rendered in Jinja2's sandbox: it may
use the recipient's name and the unsubscribe link, and nothing of the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from domain.notifications import examples
from foundation.errors import FieldError, NotFound, NotPermitted, ValidationFailed


class CampaignNotFound(NotFound):
    """No such campaign."""


class UnsubscribeLinkInvalid(NotPermitted):
    """The unsubscribe link is not one this server signed."""


class CampaignContent(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    html: str = Field(min_length=1, max_length=100_000)
    text: str = Field(min_length=1, max_length=100_000)


class Campaign(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CAMPAIGN]})

    id: uuid.UUID
    name: str
    content: dict[str, CampaignContent]
    home_airport: str | None = None
    route: tuple[str, str] | None = None
    created_at: datetime
    sent_at: datetime | None = None
    recipients: int | None = Field(default=None, description="Messages queued by the send.")


_SANDBOX = SandboxedEnvironment(autoescape=False)
_SANDBOX_HTML = SandboxedEnvironment(autoescape=True)


def render_content(content: CampaignContent, values: dict[str, Any]) -> CampaignContent:
    """The content with ``values`` filled in (HTML escaped, text and subject not)."""
    return CampaignContent(
        subject=_SANDBOX.from_string(content.subject).render(values).strip(),
        html=_SANDBOX_HTML.from_string(content.html).render(values),
        text=_SANDBOX.from_string(content.text).render(values),
    )


def check_content(content: dict[str, CampaignContent]) -> None:
    """Every language's content compiles and renders with sample values."""
    errors = []
    if "en" not in content:
        errors.append(FieldError("content.en", "English content is required", "missing"))
    for language, parts in content.items():
        try:
            render_content(parts, {"name": "Ada", "unsubscribe_url": "https://example.com/u"})
        except TemplateError as exc:
            errors.append(FieldError(f"content.{language}", f"not a valid template: {exc}",
                                     "invalid_template"))  # fmt: skip
    if errors:
        raise ValidationFailed(errors)


# Unsubscribe links -------------------------------------------------------------------


def _mac(secret: bytes, user_id: uuid.UUID) -> str:
    digest = hmac.new(secret, b"unsubscribe:" + user_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def unsubscribe_token(secret: bytes, user_id: uuid.UUID) -> str:
    """A token that names the user and proves this server made it; it does not expire
    (a link in an old newsletter must still work)."""
    return f"{user_id}.{_mac(secret, user_id)}"


def token_user(secret: bytes, token: str) -> uuid.UUID:
    """The user a token names, or UnsubscribeLinkInvalid."""
    user_part, _, mac = token.partition(".")
    try:
        user_id = uuid.UUID(user_part)
    except ValueError:
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.") from None
    if not hmac.compare_digest(mac, _mac(secret, user_id)):
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.")
    return user_id


# Whoever follows the link: consent off, and when it went off (the record a
# regulator asks for). Idempotent: a second click changes nothing, not even the time.
_WITHDRAW = """
INSERT INTO user_preferences (user_id, marketing_consent, marketing_consent_at)
SELECT $1, false, now() FROM profiles WHERE user_id = $1
ON CONFLICT (user_id) DO UPDATE SET marketing_consent = false, marketing_consent_at = now()
WHERE user_preferences.marketing_consent
"""


async def withdraw_consent(conn: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID) -> None:
    await conn.execute(_WITHDRAW, user_id)


# Campaigns ----------------------------------------------------------------------------

_INSERT = """
INSERT INTO mail_campaigns (name, content, home_airport, route_origin, route_destination,
                            created_by)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *
"""
_GET = "SELECT * FROM mail_campaigns WHERE id = $1"
# Consenting users with an address who match the audience, once each (the key).
_SEND = """
WITH campaign AS (
    SELECT * FROM mail_campaigns WHERE id = $1 FOR UPDATE
), audience AS (
    SELECT p.user_id, lower(p.email) AS address, coalesce(up.language, 'en') AS language
    FROM profiles p
    JOIN user_preferences up ON up.user_id = p.user_id AND up.marketing_consent
    CROSS JOIN campaign c
    WHERE p.email IS NOT NULL AND p.erased_at IS NULL
      AND (c.home_airport IS NULL OR EXISTS (
            SELECT 1 FROM bookings b
            JOIN booking_segments s ON s.booking_id = b.id AND s.segment_no = 1
            JOIN flights f ON f.id = s.flight_id
            WHERE b.user_id = p.user_id AND f.origin = c.home_airport))
      AND (c.route_origin IS NULL OR EXISTS (
            SELECT 1 FROM bookings b
            JOIN booking_segments s ON s.booking_id = b.id
            JOIN flights f ON f.id = s.flight_id
            WHERE b.user_id = p.user_id AND f.origin = c.route_origin
              AND f.destination = c.route_destination))
), queued AS (
    INSERT INTO mail_outbox (idempotency_key, recipient, template, cause, language)
    SELECT 'campaign:' || $1 || ':' || a.user_id, a.address, 'campaign',
           jsonb_build_object('campaign_id', $1::uuid, 'user_id', a.user_id), a.language
    FROM audience a
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING 1
)
UPDATE mail_campaigns SET sent_at = coalesce(sent_at, now()),
                          recipients = coalesce(recipients, 0) + (SELECT count(*) FROM queued)
WHERE id = $1
RETURNING *
"""
_TEST = """
INSERT INTO mail_outbox (idempotency_key, recipient, template, cause, language)
VALUES ($1, lower($2), 'campaign', $3, $4)
"""


def _campaign(row: asyncpg.Record) -> Campaign:
    route = (row["route_origin"], row["route_destination"]) if row["route_origin"] else None
    return Campaign(
        id=row["id"], name=row["name"],
        content={k: CampaignContent(**v) for k, v in row["content"].items()},
        home_airport=row["home_airport"], route=route, created_at=row["created_at"],
        sent_at=row["sent_at"], recipients=row["recipients"],
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Audience:
    home_airport: str | None = None
    route: tuple[str, str] | None = None


async def create_campaign(
    pool: asyncpg.Pool,
    name: str,
    content: dict[str, CampaignContent],
    audience: Audience,
    created_by: uuid.UUID,
) -> Campaign:
    check_content(content)
    origin, destination = audience.route or (None, None)
    try:
        row = await pool.fetchrow(
            _INSERT, name, {k: v.model_dump() for k, v in content.items()},
            audience.home_airport, origin, destination, created_by,
        )  # fmt: skip
    except asyncpg.ForeignKeyViolationError:
        field = "audience.home_airport" if audience.home_airport else "audience.route"
        raise ValidationFailed([FieldError(field, "unknown airport", "unknown_airport")]) from None
    return _campaign(row)


async def get_campaign(conn: asyncpg.Connection | asyncpg.Pool, campaign_id: uuid.UUID) -> Campaign:
    row = await conn.fetchrow(_GET, campaign_id)
    if row is None:
        raise CampaignNotFound()
    return _campaign(row)


async def send_test(
    pool: asyncpg.Pool, campaign_id: uuid.UUID, address: str, language: str, sender: uuid.UUID
) -> None:
    """One message to ``address``, as the sender's own (its unsubscribe link is theirs)."""
    await get_campaign(pool, campaign_id)
    cause = {"campaign_id": str(campaign_id), "user_id": str(sender), "test": True}
    await pool.execute(_TEST, f"campaign-test:{campaign_id}:{uuid.uuid4()}", address, cause,
                       language)  # fmt: skip


async def send_campaign(pool: asyncpg.Pool, campaign_id: uuid.UUID) -> Campaign:
    """Queue the campaign for its audience; sending again reaches only users who
    consented since (nobody gets it twice)."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(_SEND, campaign_id)
    if row is None:
        raise CampaignNotFound()
    return _campaign(row)


_RECIPIENT = """
SELECT p.given_name, p.family_name, coalesce(up.marketing_consent, false) AS consent
FROM profiles p LEFT JOIN user_preferences up ON up.user_id = p.user_id
WHERE p.user_id = $1
"""


async def campaign_recipient(
    conn: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID
) -> tuple[str, bool] | None:
    """(name to greet, consent now) of a user, or None once the profile is gone."""
    row = await conn.fetchrow(_RECIPIENT, user_id)
    if row is None:
        return None
    name = " ".join(part for part in (row["given_name"], row["family_name"]) if part)
    return name, row["consent"]
