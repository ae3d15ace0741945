"""A user's standing beyond their token: roles granted in the database, and a
revocation (an erasure) that ends every token issued before it.

A token is admitted only with that standing; the directory caches it per user and
forgets a user the moment the database announces a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from domain.identity.tokens import Claims, TokenRevoked

log = logging.getLogger(__name__)

# A backstop only: a change to user_roles or token_revocations is announced (NOTIFY
# skybound_roles, by a trigger) and forgotten by every worker at once; the cache is
# used only while that announcement can arrive.
ROLE_CACHE_SECONDS = 30.0
ROLE_CACHE_ENTRIES = 100_000
ROLES_CHANNEL = "skybound_roles"

_STANDING = """
SELECT ARRAY(SELECT role FROM user_roles WHERE user_id = $1) AS roles,
       (SELECT revoked_at FROM token_revocations WHERE user_id = $1) AS revoked_at
"""


@dataclass(frozen=True, slots=True)
class Standing:
    """What the database adds to a user's token: granted roles, and a revocation."""

    roles: frozenset[str]
    # Tokens issued (iat) before this Unix second are revoked; None: none are.
    tokens_valid_from: int | None = None

    def admits(self, claims: Claims) -> bool:
        if self.tokens_valid_from is None:
            return True
        # A token that does not say when it was issued may predate the revocation.
        return claims.issued_at is not None and claims.issued_at >= self.tokens_valid_from


class Notifications(Protocol):
    """The process's LISTEN connection (the change listener), as the directory uses it."""

    def listening_on(self, name: str) -> bool: ...

    def add_channel(
        self, name: str, on_notify: Callable[[str], None], on_missed: Callable[[], None]
    ) -> None: ...


class RoleDirectory:
    """Each user's standing (roles granted in user_roles, a revocation in
    token_revocations), cached per user until it changes.

    Every change to either table, whoever makes it, notifies ``skybound_roles`` with
    the user's id, and the directory forgets that user; a revoked role or token stops
    working on every worker as soon as the notification arrives. The cache is used only
    while the LISTEN connection is up: when it drops, notifications could be missed, so
    the cache is emptied and every lookup reads the tables until the connection is back.
    A lookup that was under way when any change arrived is not cached, so a read
    from before a revocation cannot outlive it.
    """

    def __init__(self, pool: asyncpg.Pool, notifications: Notifications | None = None) -> None:
        self.pool = pool
        self._notifications = notifications
        self._cache: dict[uuid.UUID, tuple[float, Standing]] = {}
        # Long-lived streams of a user, woken to recheck whenever that user is forgotten.
        self._watchers: dict[uuid.UUID, set[asyncio.Event]] = {}
        # Bumped by every forget; a lookup stores its answer only if it is unchanged.
        self.generation = 0

    @property
    def listening(self) -> bool:
        return self._notifications is not None and self._notifications.listening_on(ROLES_CHANNEL)

    async def standing(self, user_id: uuid.UUID) -> Standing:
        cached = self._cache.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < ROLE_CACHE_SECONDS:
            return cached[1]
        generation = self.generation
        row = await self.pool.fetchrow(_STANDING, user_id)
        revoked_at = row["revoked_at"]
        standing = Standing(
            frozenset(row["roles"]),
            # iat has whole seconds: a token of the revocation's own second may predate it.
            None if revoked_at is None else int(revoked_at.timestamp()) + 1,
        )
        if self.listening and generation == self.generation:
            if len(self._cache) >= ROLE_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[user_id] = (time.monotonic(), standing)
        return standing

    async def granted(self, user_id: uuid.UUID) -> frozenset[str]:
        return (await self.standing(user_id)).roles

    def forget(self, user_id: uuid.UUID) -> None:
        self.generation += 1
        self._cache.pop(user_id, None)
        for changed in self._watchers.get(user_id, ()):
            changed.set()

    def forget_all(self) -> None:
        self.generation += 1
        self._cache.clear()
        for watchers in self._watchers.values():
            for changed in watchers:
                changed.set()

    @contextlib.contextmanager
    def watching(self, user_id: uuid.UUID) -> Iterator[asyncio.Event]:
        """An event set whenever the user's standing may have changed."""
        changed = asyncio.Event()
        watchers = self._watchers.setdefault(user_id, set())
        watchers.add(changed)
        try:
            yield changed
        finally:
            watchers.discard(changed)
            if not watchers:
                self._watchers.pop(user_id, None)

    # Listening ------------------------------------------------------------------

    def start(self) -> None:
        """Hear of changes on the process's LISTEN connection, if there is one."""
        if self._notifications is not None:
            self._notifications.add_channel(ROLES_CHANNEL, self._on_notify, self.forget_all)

    def _on_notify(self, payload: str) -> None:
        try:
            self.forget(uuid.UUID(payload))
        except ValueError:
            self.forget_all()  # '*' (TRUNCATE) or anything unexpected


async def admit(directory: RoleDirectory, claims: Claims) -> Claims:
    """``claims`` with the roles granted to the user; 401 if a revocation ended them.
    For every way in: a bearer token, a WebSocket's auth frame, a stream ticket."""
    standing = await directory.standing(claims.user_id)
    if not standing.admits(claims):
        raise TokenRevoked("This token was revoked: the account was erased.")
    if standing.roles - claims.app_roles:
        claims = dataclasses.replace(claims, app_roles=claims.app_roles | standing.roles)
    return claims


async def until_revoked(directory: RoleDirectory, claims: Claims) -> None:
    """Return once ``claims`` are revoked, for streams that outlive their request.

    Rechecked whenever the user is forgotten (a notification, this worker's own
    erasure, a reconnect of the listener), and every ROLE_CACHE_SECONDS besides,
    for a worker that cannot listen.
    """
    with directory.watching(claims.user_id) as changed:
        while True:
            try:
                if not (await directory.standing(claims.user_id)).admits(claims):
                    return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("could not recheck a stream's token", extra={"error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), ROLE_CACHE_SECONDS)
            changed.clear()
