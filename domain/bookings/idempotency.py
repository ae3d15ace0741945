"""Idempotent requests: the same Idempotency-Key replays the first result.

The key's row is inserted first, inside the request's own transaction. A retry
racing the first attempt blocks on the row's primary key until that attempt
ends: if it committed, the retry replays its stored response; if it rolled
back, the row is gone and the retry runs as if it were first. So there is
never a second booking or a second charge, without a lock table or a lease.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from domain.bookings.errors import IdempotencyKeyRequired, IdempotencyKeyReused

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def check_key(key: str | None) -> str:
    if key is None or not _KEY.match(key):
        raise IdempotencyKeyRequired()
    return key


def request_hash(operation: str, body: Any) -> bytes:
    return hashlib.sha256(
        operation.encode() + b"\x00" + orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    ).digest()


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    response: Any


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    user_id: uuid.UUID
    operation: str
    key: str
    digest: bytes

    @property
    def provider_key(self) -> str:
        """The key for the payment provider: one per distinct request, so a new body under
        a key whose first attempt failed is a new charge, and a retry is the same one."""
        return f"{self.operation}:{self.user_id}:{self.key}:{self.digest.hex()[:16]}"

    async def claim(self, conn: asyncpg.Connection) -> Replay | None:
        """Claim the key in ``conn``'s transaction; a Replay if it was already used."""
        inserted = await conn.fetchval(
            """INSERT INTO idempotency_keys (user_id, operation, key, request_hash)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT DO NOTHING RETURNING true""",
            self.user_id, self.operation, self.key, self.digest,
        )  # fmt: skip
        if inserted:
            return None
        row = await conn.fetchrow(
            """SELECT request_hash, response_status, response FROM idempotency_keys
               WHERE user_id = $1 AND operation = $2 AND key = $3""",
            self.user_id, self.operation, self.key,
        )  # fmt: skip
        if row is None or row["response_status"] is None:
            # Only a committed, completed attempt leaves a row another transaction sees.
            raise RuntimeError("idempotency row without a response")
        if bytes(row["request_hash"]) != self.digest:
            raise IdempotencyKeyReused(
                "This key was first used with a different request body; use a new key."
            )
        return Replay(row["response_status"], row["response"])

    async def complete(self, conn: asyncpg.Connection, status: int, response: bytes) -> None:
        """Store the response (JSON, serialised once) for replays."""
        await conn.execute(
            """UPDATE idempotency_keys SET response_status = $4, response = $5::text::jsonb
               WHERE user_id = $1 AND operation = $2 AND key = $3""",
            self.user_id, self.operation, self.key, status, response.decode(),
        )  # fmt: skip


def idempotent_request(
    user_id: uuid.UUID, operation: str, key: str | None, body: Any
) -> IdempotentRequest:
    return IdempotentRequest(user_id, operation, check_key(key), request_hash(operation, body))
