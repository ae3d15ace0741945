"""Password recovery tokens: emailed, single-use, valid for an hour.

The token is 128 random bits, so unlike GoTrue's six-digit codes it cannot be
guessed within its lifetime and needs no attempt counter. It is emailed both as a
code (for POST /verify with ``email`` and ``token``) and inside a link to the web
app as ``token_hash`` (for POST /verify with ``token_hash``); only its SHA-256 is
stored. Redeeming it is one UPDATE, so two concurrent redemptions cannot both win.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from domain.identity.accounts import Executor
from domain.identity.accounts.sessions import token_hash

LIFETIME = timedelta(hours=1)
# At most one email per account per this interval; further requests are answered
# the same way but send nothing.
RESEND_INTERVAL = timedelta(seconds=60)


def new_token() -> str:
    return secrets.token_urlsafe(16)


# Claim the resend interval, supersede unused tokens and record the new one, all for
# the account with this address, if there is one; return where to mail the token.
# One statement: an unknown address runs the same lookup and writes nothing.
_ISSUE = """
WITH account AS (
    UPDATE auth_users SET recovery_sent_at = now()
    WHERE lower(email) = lower($1)
      AND (recovery_sent_at IS NULL OR recovery_sent_at <= now() - $2::interval)
    RETURNING id, email
), superseded AS (
    DELETE FROM auth_recovery_tokens
    WHERE user_id = (SELECT id FROM account) AND used_at IS NULL
), issued AS (
    INSERT INTO auth_recovery_tokens (token_hash, user_id, expires_at)
    SELECT $3, id, now() + $4::interval FROM account
)
SELECT email FROM account
"""


async def issue(conn: Executor, email: str, token: str) -> str | None:
    """Make ``token`` the account's recovery token (earlier unused ones stop working)
    and return the address to email it to; None when there is no such account or
    one was sent moments ago."""
    recipient: str | None = await conn.fetchval(
        _ISSUE, email, RESEND_INTERVAL, token_hash(token), LIFETIME
    )
    return recipient


_REDEEM = """
UPDATE auth_recovery_tokens SET used_at = now()
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
  AND ($2::text IS NULL OR user_id = (SELECT id FROM auth_users WHERE lower(email) = lower($2)))
RETURNING user_id
"""


async def redeem(conn: Executor, token: str, email: str | None) -> uuid.UUID | None:
    """The user whose unexpired, unused token this is (marking it used), or None."""
    user_id: uuid.UUID | None = await conn.fetchval(_REDEEM, token_hash(token), email)
    return user_id


def reset_link(site_url: str, token: str, redirect_to: str | None) -> str:
    """Where the email sends the user: ``redirect_to`` when it is on the site's own
    origin (anything else would let a stranger's request phish with our email),
    else the site itself, with ``token_hash`` and ``type`` added to the query."""
    site = urlsplit(site_url)
    base = site
    if redirect_to:
        wanted = urlsplit(redirect_to)
        if (wanted.scheme, wanted.netloc) == (site.scheme, site.netloc):
            base = wanted
    query = [*parse_qsl(base.query), ("token_hash", token), ("type", "recovery")]
    return urlunsplit(base._replace(query=urlencode(query), fragment=""))


def recovery_email(link: str, token: str) -> tuple[str, str]:
    """Subject and plain-text body of the recovery email."""
    minutes = int(LIFETIME.total_seconds() // 60)
    body = (
        "Someone, hopefully you, asked to reset the password of your Sky-Bound Journeys "
        "account.\n\n"
        f"Choose a new password here:\n{link}\n\n"
        f"Or enter this code in the app: {token}\n\n"
        f"The link and the code work once, within {minutes} minutes. If you did not ask "
        "for this, ignore this email: your password has not changed.\n"
    )
    return "Reset your Sky-Bound Journeys password", body
