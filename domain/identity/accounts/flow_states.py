"""Flow states (auth_flow_states): one sign-in through a provider, from /authorize to
the client's code exchange.

The ``state`` handed to the provider is the flow's id with an HMAC, so a forged or
altered one is refused before any lookup. It works once (the callback marks the flow),
for FLOW_STATE_SECONDS, and only in the browser that started it: that browser holds a
random binding in a cookie whose SHA-256 the flow keeps. A PKCE flow then waits, with
the user and the hash of the code given to the client, until the client redeems the
code with the verifier of its ``code_challenge``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

import asyncpg
from authlib.oauth2.rfc7636.challenge import (
    compare_plain_code_challenge,
    compare_s256_code_challenge,
)

from domain.identity.accounts import Executor

# GoTrue's default flow state lifetime: the user has five minutes at the provider,
# and the client five minutes to redeem the code.
FLOW_STATE_SECONDS = 300
ChallengeMethod = Literal["s256", "plain"]


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class StateSigner:
    key: bytes

    def _mac(self, flow_id: uuid.UUID) -> str:
        mac = hmac.new(self.key, b"oauth-state:" + flow_id.bytes, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def sign(self, flow_id: uuid.UUID) -> str:
        return f"{flow_id}.{self._mac(flow_id)}"

    def verify(self, state: str) -> uuid.UUID | None:
        """The flow the state names, or None when it is not one this server signed."""
        flow_part, _, mac = state.partition(".")
        try:
            flow_id = uuid.UUID(flow_part)
        except ValueError:
            return None
        return flow_id if hmac.compare_digest(mac, self._mac(flow_id)) else None


@dataclass(frozen=True, slots=True)
class NewFlow:
    provider: str
    browser_binding: str
    callback_url: str
    redirect_to: str
    code_challenge: str | None
    code_challenge_method: ChallengeMethod | None


@dataclass(frozen=True, slots=True)
class StartedFlow:
    id: uuid.UUID
    nonce: str
    provider_verifier: str


_CREATE = """
INSERT INTO auth_flow_states (provider, browser_hash, nonce, provider_verifier, callback_url,
                              redirect_to, code_challenge, code_challenge_method, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now() + make_interval(secs => $9))
RETURNING id
"""


async def create_flow(conn: Executor, flow: NewFlow) -> StartedFlow:
    nonce, verifier = new_secret(), new_secret()
    flow_id: uuid.UUID = await conn.fetchval(
        _CREATE, flow.provider, digest(flow.browser_binding), nonce, verifier,
        flow.callback_url, flow.redirect_to, flow.code_challenge, flow.code_challenge_method,
        FLOW_STATE_SECONDS,
    )  # fmt: skip
    # Flows nobody finished are deleted by about one new flow in fifty.
    if secrets.randbelow(50) == 0:
        await conn.execute(
            "DELETE FROM auth_flow_states WHERE expires_at < now() - interval '1 day'"
        )
    return StartedFlow(flow_id, nonce, verifier)


_LOCK = """
SELECT id, provider, browser_hash, nonce, provider_verifier, callback_url, redirect_to,
       code_challenge, callback_at IS NOT NULL AS used, expires_at <= now() AS expired
FROM auth_flow_states WHERE id = $1 FOR UPDATE
"""


async def lock_flow(conn: asyncpg.Connection, flow_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(_LOCK, flow_id)
    return row


def same_browser(row: asyncpg.Record, browser_binding: str | None) -> bool:
    return browser_binding is not None and hmac.compare_digest(
        bytes(row["browser_hash"]), digest(browser_binding)
    )


async def mark_called_back(conn: Executor, flow_id: uuid.UUID) -> None:
    await conn.execute("UPDATE auth_flow_states SET callback_at = now() WHERE id = $1", flow_id)


async def issue_auth_code(conn: Executor, flow_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The code the client redeems (with its verifier) for a session; kept as a hash."""
    code = new_secret()
    await conn.execute(
        """UPDATE auth_flow_states SET user_id = $2, auth_code_hash = $3,
               auth_code_expires_at = now() + make_interval(secs => $4)
           WHERE id = $1""",
        flow_id, user_id, digest(code), FLOW_STATE_SECONDS,
    )  # fmt: skip
    return code


async def delete_flow(conn: Executor, flow_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM auth_flow_states WHERE id = $1", flow_id)


_REDEEM = """
SELECT id, user_id, code_challenge, code_challenge_method,
       auth_code_expires_at <= now() AS expired
FROM auth_flow_states WHERE auth_code_hash = $1 AND user_id IS NOT NULL FOR UPDATE
"""


async def lock_auth_code(conn: asyncpg.Connection, code: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(_REDEEM, digest(code))
    return row


def verifier_matches(row: asyncpg.Record, verifier: str) -> bool:
    challenge = row["code_challenge"]
    if row["code_challenge_method"] == "plain":
        return bool(compare_plain_code_challenge(verifier, challenge))
    return bool(compare_s256_code_challenge(verifier, challenge))
