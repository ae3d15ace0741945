"""A user's standing beyond their token: roles granted in the database, a revocation
(an erasure, a ban) that ends every token issued before it, and a ban that refuses
every token while it lasts.

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from domain.identity.tokens import Claims, TokenRevoked
from foundation.database import RIDE_OUT

log = logging.getLogger(__name__)

# A backstop only: a change to user_roles or token_revocations is announced (NOTIFY
# skybound_roles, by a trigger) and forgotten by every worker at once; the cache is
# used only while that announcement can arrive.
ROLE_CACHE_SECONDS = 30.0
ROLE_CACHE_ENTRIES = 100_000
ROLES_CHANNEL = "skybound_roles"

_STANDING = """
SELECT ARRAY(SELECT role FROM user_roles WHERE user_id = $1) AS roles,
       (SELECT revoked_at FROM token_revocations WHERE user_id = $1) AS revoked_at,
       (SELECT until FROM user_bans WHERE user_id = $1 AND until > now()) AS banned_until
"""


class AccountBanned(TokenRevoked):
    slug = "account-banned"
    title = "The account is banned"


@dataclass(frozen=True, slots=True)
class Standing:
    """What the database adds to a user's token: granted roles, a revocation, a ban."""

    roles: frozenset[str]
    # Tokens issued (iat) before this Unix second are revoked; None: none are.
    tokens_valid_from: int | None = None
    # No token of the user counts until this Unix time (a ban); None: not banned.
    banned_until: float | None = None

    def banned(self) -> bool:
        return self.banned_until is not None and time.time() < self.banned_until

    def admits(self, claims: Claims) -> bool:
        if self.banned():
            return False
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
    token_revocations, a ban in user_bans), cached per user until it changes.

    Every change to any of these tables, whoever makes it, notifies ``skybound_roles`` with
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
        # Told of every forget: a user's id, or None for everyone.
        self._on_forget: list[Callable[[uuid.UUID | None], None]] = []
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
        revoked_at, banned_until = row["revoked_at"], row["banned_until"]
        standing = Standing(
            frozenset(row["roles"]),
            # iat has whole seconds: a token of the revocation's own second may predate it.
            None if revoked_at is None else int(revoked_at.timestamp()) + 1,
            None if banned_until is None else banned_until.timestamp(),
        )
        if self.listening and generation == self.generation:
            if len(self._cache) >= ROLE_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[user_id] = (time.monotonic(), standing)
        return standing

    async def granted(self, user_id: uuid.UUID) -> frozenset[str]:
        return (await self.standing(user_id)).roles

    def on_forget(self, listener: Callable[[uuid.UUID | None], None]) -> None:
        """Call ``listener`` (synchronously) whenever a user, or everyone, is forgotten."""
        self._on_forget.append(listener)

    def forget(self, user_id: uuid.UUID) -> None:
        self.generation += 1
        self._cache.pop(user_id, None)
        for listener in self._on_forget:
            listener(user_id)

    def forget_all(self) -> None:
        self.generation += 1
        self._cache.clear()
        for listener in self._on_forget:
            listener(None)

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
    if standing.banned():
        raise AccountBanned("This account is banned; its tokens are refused until the ban ends.")
    if not standing.admits(claims):
        raise TokenRevoked("This token was revoked: the account was erased or signed out.")
    if standing.roles - claims.app_roles:
        claims = dataclasses.replace(claims, app_roles=claims.app_roles | standing.roles)
    return claims


class RevocationWatch:
    """Ends the sessions that outlive a request (private streams) once a revocation
    ends their token.

    One task per process, run under the supervisor: it rechecks the users the
    directory forgot (a notification, this worker's own erasure, a reconnect of the
    listener) and, every ROLE_CACHE_SECONDS, everyone watched, for a worker that
    cannot listen. A session registers with a callback that ends it; nothing runs per
    session while no one's standing changes.
    """

    def __init__(self, directory: RoleDirectory) -> None:
        self._directory = directory
        self._sessions: dict[uuid.UUID, dict[int, tuple[Claims, Callable[[], None]]]] = {}
        self._changed: set[uuid.UUID] = set()
        self._everyone = False
        self._wake = asyncio.Event()
        directory.on_forget(self._forgotten)

    def watch(self, claims: Claims, on_revoked: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_revoked`` once ``claims`` are revoked; returns what unwatches."""
        sessions = self._sessions.setdefault(claims.user_id, {})
        key = id(on_revoked)
        sessions[key] = (claims, on_revoked)

        def unwatch() -> None:
            left = self._sessions.get(claims.user_id)
            if left is not None:
                left.pop(key, None)
                if not left:
                    del self._sessions[claims.user_id]

        return unwatch

    def watched(self) -> int:
        return sum(len(sessions) for sessions in self._sessions.values())

    def _forgotten(self, user_id: uuid.UUID | None) -> None:
        if user_id is None:
            self._everyone = True
        elif user_id in self._sessions:
            self._changed.add(user_id)
        else:
            return
        self._wake.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), ROLE_CACHE_SECONDS)
            self._wake.clear()
            if self._everyone or not self._changed:  # a broadcast, or the backstop
                users, self._everyone = set(self._sessions), False
            else:
                users = self._changed
            self._changed = set()
            for user_id in users:
                try:
                    await self._recheck(user_id)
                except RIDE_OUT as exc:  # rechecked on the next pass
                    log.warning("could not recheck a session's token", extra={"error": repr(exc)})
                    self._changed.add(user_id)  # with the next pass

    async def _recheck(self, user_id: uuid.UUID) -> None:
        if user_id not in self._sessions:
            return
        standing = await self._directory.standing(user_id)
        for key, (claims, on_revoked) in tuple(self._sessions.get(user_id, {}).items()):
            if not standing.admits(claims):
                self._sessions[user_id].pop(key, None)
                on_revoked()
        if not self._sessions.get(user_id, True):
            del self._sessions[user_id]
