"""Who is calling: the verified token of a request, and the roles it carries.

Handlers declare ``auth=True`` or ``roles=(...)`` on their route; the route
wrapper calls ``authenticate`` and passes the claims as ``user``. A token must
also be admitted by the user's standing in the database: roles granted there,
and a revocation (an erasure) that ends every token issued before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

import asyncpg
from aiohttp import web

from server import keys
from server.auth import Claims, Forbidden, TokenRevoked, TokenVerifier, Unauthorized, bearer_token
from server.database import connect
from server.settings import Settings

log = logging.getLogger(__name__)

# A backstop only: a change to user_roles or token_revocations is announced (NOTIFY
# skybound_roles, by a trigger) and forgotten by every worker at once; the cache is
# used only while that announcement can arrive.
ROLE_CACHE_SECONDS = 30.0
ROLE_CACHE_ENTRIES = 100_000
ROLES_CHANNEL = "skybound_roles"
ROLES_TASK = "roles-listener"
LISTEN_KEEPALIVE_SECONDS = 10.0
LISTEN_MAX_BACKOFF_SECONDS = 10.0
claims_key: web.RequestKey[Claims] = web.RequestKey("claims")

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

    def __init__(self, pool: asyncpg.Pool, listen_dsn: str | None = None) -> None:
        self.pool = pool
        self.listen_dsn = listen_dsn
        self._cache: dict[uuid.UUID, tuple[float, Standing]] = {}
        # Long-lived streams of a user, woken to recheck whenever that user is forgotten.
        self._watchers: dict[uuid.UUID, set[asyncio.Event]] = {}
        # Bumped by every forget; a lookup stores its answer only if it is unchanged.
        self.generation = 0
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

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

    async def start(self) -> None:
        """Listen for role changes, if there is a connection to listen on; ``watch``
        (run under the process's supervisor) keeps listening from then on."""
        if self.listen_dsn is None:
            return  # no notifications: no cache
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await self._listen()  # else watch keeps trying; lookups read meanwhile

    async def stop(self) -> None:
        """Close the connection (stop ``watch`` first)."""
        await self._close()

    async def _listen(self) -> None:
        assert self.listen_dsn is not None
        conn = await connect(self.listen_dsn, application_name="skybound-roles-listener")
        conn.add_termination_listener(self._on_terminated)
        await conn.add_listener(ROLES_CHANNEL, self._on_notify)
        self._lost.clear()
        self._conn = conn
        # Changes made while nobody listened: forget everything cached before.
        self.forget_all()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.forget_all()
        if conn is not None and not conn.is_closed():
            conn.remove_termination_listener(self._on_terminated)
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                conn.terminate()

    def _on_notify(self, _conn: object, _pid: object, _channel: object, payload: object) -> None:
        try:
            self.forget(uuid.UUID(str(payload)))
        except ValueError:
            self.forget_all()  # '*' (TRUNCATE) or anything unexpected

    def _on_terminated(self, *_: object) -> None:
        self.forget_all()
        self._lost.set()

    async def watch(self) -> None:
        """Keep the LISTEN connection alive (a half-open one only shows when used) and
        reconnect with jittered backoff when it is lost. On any other failure the
        connection is closed (so nothing cached outlives it) and the failure propagates
        to the supervisor, which starts ``watch`` again."""
        try:
            await self._watch()
        except BaseException:
            await asyncio.shield(self._close())
            raise

    async def _watch(self) -> None:
        retry_in = 0.0
        while True:
            try:
                if not self.listening:
                    await self._listen()
                    retry_in = 0.0
                assert self._conn is not None
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), LISTEN_KEEPALIVE_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), LISTEN_KEEPALIVE_SECONDS)
                if not self._lost.is_set():
                    continue
                raise ConnectionError("listen connection terminated")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("role listener lost its connection", extra={"error": repr(exc)})
            await self._close()
            retry_in = min(LISTEN_MAX_BACKOFF_SECONDS, max(0.1, retry_in * 2))
            await asyncio.sleep(retry_in * random.uniform(0.5, 1.0))


roles_key: web.AppKey[RoleDirectory] = web.AppKey("role_directory")


async def admit(app: web.Application, claims: Claims) -> Claims:
    """``claims`` with the roles granted to the user; 401 if a revocation ended them.
    For every way in: a bearer token, a WebSocket's auth frame, a stream ticket."""
    standing = await app[roles_key].standing(claims.user_id)
    if not standing.admits(claims):
        raise TokenRevoked("This token was revoked: the account was erased.")
    if standing.roles - claims.app_roles:
        claims = dataclasses.replace(claims, app_roles=claims.app_roles | standing.roles)
    return claims


async def until_revoked(app: web.Application, claims: Claims) -> None:
    """Return once ``claims`` are revoked, for streams that outlive their request.

    Rechecked whenever the user is forgotten (a notification, this worker's own
    erasure, a reconnect of the listener), and every ROLE_CACHE_SECONDS besides,
    for a worker that cannot listen.
    """
    directory = app[roles_key]
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


async def authenticate(request: web.Request, roles: Sequence[str] = ()) -> Claims:
    """The caller's claims (401 without a valid token; 403 without one of ``roles``)."""
    claims = request.get(claims_key)
    if claims is None:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise Unauthorized("Send Authorization: Bearer <access token>.")
        claims = await admit(request.app, await request.app[keys.verifier_key].verify(token))
        request[claims_key] = claims
    if roles and not set(roles) & claims.app_roles:
        raise Forbidden(f"Needs one of the roles: {', '.join(roles)}.")
    return claims


async def jwt_secret(settings: Settings, pool: asyncpg.Pool) -> str | None:
    """The HS256 secret: configured, or (running on our own, without Supabase) one the
    database generated once, so every worker and restart signs and verifies alike."""
    if settings.jwt_secret or settings.supabase_url:
        return settings.jwt_secret
    await pool.execute(
        """INSERT INTO app_secrets (name, secret)
           VALUES ('jwt_secret', replace(gen_random_uuid()::text || gen_random_uuid()::text,
                                         '-', ''))
           ON CONFLICT (name) DO NOTHING"""
    )
    secret: str = await pool.fetchval("SELECT secret FROM app_secrets WHERE name = 'jwt_secret'")
    return secret


async def auth_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.settings_key]
    verifier = TokenVerifier(
        secret=await jwt_secret(settings, app[keys.pool_key]),
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        jwks_url=settings.effective_jwks_url,
    )
    app[keys.verifier_key] = verifier
    directory = RoleDirectory(
        app[keys.pool_key], settings.listen_database_url or app[keys.database_url_key]
    )
    await directory.start()
    app[roles_key] = directory
    supervisor = app[keys.supervisor_key]
    supervisor.start(ROLES_TASK, directory.watch)
    try:
        yield
    finally:
        await supervisor.stop(ROLES_TASK)
        await directory.stop()
        await verifier.close()
