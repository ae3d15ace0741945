"""Sync cursors: where a device is in the change log, signed and bound to its user.

A cursor says "every change-log event up to id ``through`` is reflected", where
``through`` is a commit-safe position (see docs/realtime.md): every smaller id
is committed or never will be, so a transaction that took a smaller id and
commits after the pull cannot be skipped. While a full state is being paged,
the cursor also holds how far it got (collection, last id).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from domain.search.tokens import Signer, TamperedToken
from sync.protocol import COLLECTIONS


class InvalidCursor(ValueError):
    """Not a cursor this server issued to this user."""


@dataclass(frozen=True, slots=True)
class SnapshotMark:
    """How far a full state has been sent: the collection, and the last id sent in it."""

    collection: int
    after_id: str | None


@dataclass(frozen=True, slots=True)
class Cursor:
    user_id: uuid.UUID
    schema_version: int
    epoch: str
    through: int
    collections: frozenset[str]
    snapshot: SnapshotMark | None = None


def _mask(collections: frozenset[str]) -> int:
    return sum(1 << i for i, name in enumerate(COLLECTIONS) if name in collections)


def _unmask(mask: int) -> frozenset[str]:
    return frozenset(name for i, name in enumerate(COLLECTIONS) if mask & (1 << i))


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        self._signer = Signer(key, "sync-cursor")

    def encode(self, cursor: Cursor) -> str:
        payload: dict[str, Any] = {
            "u": str(cursor.user_id),
            "v": cursor.schema_version,
            "e": cursor.epoch,
            "n": cursor.through,
            "c": _mask(cursor.collections),
        }
        if cursor.snapshot is not None:
            payload["s"] = [cursor.snapshot.collection, cursor.snapshot.after_id]
        return self._signer.sign(payload)

    def decode(self, text: str, user_id: uuid.UUID) -> Cursor:
        try:
            payload = self._signer.verify(text)
        except TamperedToken:
            raise InvalidCursor("Not a cursor issued by this server.") from None
        try:
            owner = uuid.UUID(payload["u"])
            snapshot = None
            if "s" in payload:
                index, after = payload["s"]
                snapshot = SnapshotMark(int(index), None if after is None else str(after))
            cursor = Cursor(
                user_id=owner,
                schema_version=int(payload["v"]),
                epoch=str(payload["e"]),
                through=int(payload["n"]),
                collections=_unmask(int(payload["c"])),
                snapshot=snapshot,
            )
        except (KeyError, TypeError, ValueError):
            # Signed by us, so only an older cursor format can get here.
            raise InvalidCursor("Not a cursor this server understands.") from None
        if owner != user_id:
            raise InvalidCursor("This cursor was issued to another user.")
        return cursor
