"""The sync service: pull and push for a signed-in user, and its place in the app."""

from __future__ import annotations

import asyncpg
import orjson

from domain.identity.tokens import Claims
from domain.profiles import ensure_profile
from domain.travel_documents import TravelDocuments
from foundation.errors import FieldError, ValidationFailed
from sync.commands import BookingCommands
from sync.cursors import CursorCodec, InvalidCursor
from sync.errors import SchemaMismatch, invalid_cursor
from sync.protocol import SCHEMA_VERSION, PullRequest, PushRequest
from sync.pull import encode_response, pull
from sync.push import Push

# Times as the rest of the API writes them: UTC with a Z.
_JSON_OPTIONS = orjson.OPT_UTC_Z


class SyncService:
    def __init__(
        self, pool: asyncpg.Pool, codec: CursorCodec, commands: BookingCommands,
        documents: TravelDocuments,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.codec = codec
        self.commands = commands
        self.documents = documents

    async def pull(self, user: Claims, body: PullRequest) -> bytes:
        if body.schema_version != SCHEMA_VERSION:
            raise SchemaMismatch(body.schema_version)
        collections = frozenset(body.collections)
        cursor = None
        if body.cursor is not None:
            try:
                cursor = self.codec.decode(body.cursor, user.user_id)
            except InvalidCursor as exc:
                raise invalid_cursor(str(exc)) from None
            if cursor.collections != collections:
                raise ValidationFailed([FieldError(
                    "body.collections",
                    f"The cursor is for {', '.join(sorted(cursor.collections))}: pull those, or "
                    "start again from a null cursor.", "cursor_mismatch",
                )])  # fmt: skip
        async with self.pool.acquire() as conn:
            result = await pull(conn, user.user_id, cursor, collections, body.limit, self.documents)
        return orjson.dumps(encode_response(result, self.codec), option=_JSON_OPTIONS)

    async def push(self, user: Claims, body: PushRequest) -> bytes:
        if body.schema_version != SCHEMA_VERSION:
            raise SchemaMismatch(body.schema_version)
        await ensure_profile(self.pool, user.user_id, user.email, user.app_roles)
        async with self.pool.acquire() as conn:
            response = await Push(conn, self.commands, user, body.client_id, self.documents).run(
                body.mutations
            )
        return orjson.dumps(response, option=_JSON_OPTIONS)
