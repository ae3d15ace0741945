"""The audit log of staff actions: who did what, when, to what, and why.

Every admin write records its entry in the transaction that makes the change, so an
action without its entry (or an entry without its action) cannot be committed. The
table refuses updates and deletes (migration 0013): the log is append-only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain.admin import examples
from domain.identity.tokens import Claims
from foundation.errors import FieldError, ValidationFailed

Entity = Literal["flight", "user", "booking"]


@dataclass(frozen=True, slots=True)
class Actor:
    """The staff member acting, with the request that carried the action."""

    user_id: uuid.UUID
    roles: frozenset[str]
    request_id: str | None = None

    @classmethod
    def of(cls, claims: Claims, request_id: str | None) -> Actor:
        return cls(claims.user_id, claims.app_roles, request_id)


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: uuid.UUID
    actor_roles: list[str]
    action: str = Field(examples=["flight.delay"])
    entity: Entity
    entity_id: str
    changes: dict[str, Any] = Field(
        description="Each changed field as [old, new], or what the action did."
    )
    reason: str | None
    request_id: str | None
    batch: uuid.UUID | None = Field(description="Shared by every entry of one bulk action.")


class AuditPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.AUDIT_PAGE]})

    entries: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for older entries.")


_RECORD = """
INSERT INTO admin_audit_log (actor, actor_roles, action, entity, entity_id, changes, reason,
                             request_id, batch)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
"""


async def record(
    conn: asyncpg.Connection,
    actor: Actor,
    action: str,
    entity: Entity,
    entity_id: object,
    changes: dict[str, Any],
    reason: str | None,
    batch: uuid.UUID | None = None,
) -> None:
    """Append one entry, in the caller's transaction."""
    await conn.execute(_RECORD, actor.user_id, sorted(actor.roles), action, entity,
                       str(entity_id), changes, reason, actor.request_id, batch)  # fmt: skip


async def record_many(
    conn: asyncpg.Connection,
    actor: Actor,
    action: str,
    entity: Entity,
    changed: list[tuple[object, dict[str, Any]]],
    reason: str | None,
    batch: uuid.UUID,
) -> None:
    """One entry per changed thing of a bulk action, all in one statement."""
    await conn.execute(
        """INSERT INTO admin_audit_log (actor, actor_roles, action, entity, entity_id, changes,
                                        reason, request_id, batch)
           SELECT $1, $2, $3, $4, e.entity_id, e.changes, $5, $6, $7
             FROM unnest($8::text[], $9::jsonb[]) AS e(entity_id, changes)""",
        actor.user_id, sorted(actor.roles), action, entity, reason, actor.request_id, batch,
        [str(entity_id) for entity_id, _ in changed], [changes for _, changes in changed],
    )  # fmt: skip


_READ = """
SELECT id, at, actor, actor_roles, action, entity, entity_id, changes, reason, request_id, batch
  FROM admin_audit_log
 WHERE ($1::text IS NULL OR entity = $1)
   AND ($2::text IS NULL OR entity_id = $2)
   AND ($3::uuid IS NULL OR actor = $3)
   AND ($4::text IS NULL OR action = $4)
   AND ($5::bigint IS NULL OR id < $5)
 ORDER BY id DESC
 LIMIT $6
"""


def parse_cursor(cursor: str | None) -> int | None:
    """An audit cursor is the id of the last entry seen; anything else is refused."""
    if cursor is None:
        return None
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 18:
        raise ValidationFailed([FieldError("cursor", "Not a cursor this API gave out.", "cursor")])
    return int(cursor)


async def read_audit(
    pool: asyncpg.Pool,
    *,
    entity: Entity | None = None,
    entity_id: str | None = None,
    actor: uuid.UUID | None = None,
    action: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> AuditPage:
    """Newest first, ``limit`` at a time, filtered by any of the given fields."""
    before = parse_cursor(cursor)
    rows = await pool.fetch(_READ, entity, entity_id, actor, action, before, limit + 1)
    entries = [AuditEntry.model_validate(dict(row)) for row in rows[:limit]]
    more = len(rows) > limit
    return AuditPage(entries=entries, next_cursor=str(entries[-1].id) if more else None)
