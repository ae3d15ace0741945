"""Travel documents at rest: saved travellers' passport numbers and expiries, sealed
like card data (domain.cards.CardVault: AES-256-GCM, bound to the owner, under the
PAYMENT_ENCRYPTION_KEY keys, so they rotate together).

Each value is sealed on its own, as ``<key version>:<base64 nonce + ciphertext>``, with
the field's name inside the ciphertext, so a number copied into the expiry column (or
another user's row) does not open. Rows written before encryption keep their plain
values until ``seal_stored`` (run by every server at start-up) seals them, so readers
take the sealed value when there is one and the plain one otherwise.
"""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import date
from typing import Any, Literal

import asyncpg

from domain.cards import CardVault, Sealed

log = logging.getLogger(__name__)

Field = Literal["passport_number", "passport_expiry"]
FIELDS: tuple[Field, ...] = ("passport_number", "passport_expiry")
_NONCE_BYTES = 12


class TravelDocuments:
    def __init__(self, vault: CardVault) -> None:
        self.vault = vault

    def seal(self, owner: uuid.UUID, field: Field, value: str | date | None) -> str | None:
        if value is None:
            return None
        text = value.isoformat() if isinstance(value, date) else value
        sealed = self.vault.seal(owner, {"field": field, "value": text})
        packed = base64.b64encode(sealed.nonce + sealed.ciphertext).decode()
        return f"{sealed.key_version}:{packed}"

    def open(self, owner: uuid.UUID, field: Field, sealed: str) -> str | date:
        version, _, packed = sealed.partition(":")
        raw = base64.b64decode(packed)
        opened = self.vault.open(owner, Sealed(version, raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]))
        if opened.get("field") != field:
            raise ValueError(f"a sealed {opened.get('field')} is stored as {field}")
        value = opened["value"]
        return date.fromisoformat(value) if field == "passport_expiry" else value

    def value(self, owner: uuid.UUID, row: asyncpg.Record | dict[str, Any], field: Field) -> Any:
        """The field of a travelers row: sealed if it is, else (not sealed yet) plain."""
        sealed = row[f"{field}_sealed"]
        return self.open(owner, field, sealed) if sealed is not None else row[field]

    def reveal(self, owner: uuid.UUID, row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
        """The row as its owner sees it: sealed columns opened under their fields' names."""
        shown = {k: v for k, v in dict(row).items() if not k.endswith("_sealed")}
        return shown | {field: self.value(owner, row, field) for field in FIELDS}

    def stale(self, sealed: str | None) -> bool:
        """Sealed under a key that is no longer the current one."""
        return sealed is not None and not sealed.startswith(self.vault.current + ":")


_UNSEALED = """
SELECT user_id, id, passport_number, passport_expiry, passport_number_sealed,
       passport_expiry_sealed
FROM travelers
WHERE passport_number IS NOT NULL OR passport_expiry IS NOT NULL
   OR split_part(passport_number_sealed, ':', 1) <> $1
   OR split_part(passport_expiry_sealed, ':', 1) <> $1
ORDER BY user_id, id
LIMIT $2
FOR UPDATE SKIP LOCKED
"""
_SEAL = """
UPDATE travelers SET passport_number = NULL, passport_expiry = NULL,
                     passport_number_sealed = $3, passport_expiry_sealed = $4
WHERE user_id = $1 AND id = $2
"""


async def seal_stored(pool: asyncpg.Pool, documents: TravelDocuments, batch: int = 200) -> int:
    """Seal every plain travel document (and re-seal those under an old key); the number
    of rows sealed. Workers starting together share the work (SKIP LOCKED), and the
    rows' versions stay as they are: no field changed."""
    done = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SET LOCAL skybound.resealing = 'on'")
            rows = await conn.fetch(_UNSEALED, documents.vault.current, batch)
            for row in rows:
                owner = row["user_id"]
                number = documents.value(owner, row, "passport_number")
                expiry = documents.value(owner, row, "passport_expiry")
                await conn.execute(
                    _SEAL, owner, row["id"],
                    documents.seal(owner, "passport_number", number),
                    documents.seal(owner, "passport_expiry", expiry),
                )  # fmt: skip
        done += len(rows)
        if len(rows) < batch:
            break
    if done:
        log.info("travel documents sealed", extra={"rows": done})
    return done
