"""Every resource of a Skybound process, each owned by one cleanup context.

``CONTEXTS`` lists them in start order; aiohttp tears them down in reverse, so a
resource outlives everything set up after it. Each context sets its resource up,
stores it under its key (``api.keys``), registers its readiness checks, metrics and
supervised tasks, yields, and undoes all of that.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import ExitStack
from datetime import timedelta

import asyncpg
import redis.asyncio as redis
from aiohttp import web

from adapters.jwks import JwksFetcher
from adapters.mail import OUTBOX_TASK, STOP_GRACE_SECONDS, Mailer, MailOutbox
from adapters.storage_backend import open_storage
from api import keys
from api.keys import ReadinessResult
from domain.bookings.changes import ChangeService
from domain.bookings.payments import SimulatedProvider
from domain.bookings.service import BookingService
from domain.cards import CardVault
from domain.documents import DocumentService
from domain.identity.accounts.service import Accounts
from domain.identity.accounts.sessions import TokenSigner
from domain.identity.api_keys import load_api_keys
from domain.identity.roles import RevocationWatch, RoleDirectory
from domain.identity.tokens import TokenVerifier
from domain.reference import ReferenceCache
from domain.search.cache import MemorySearchCache, SearchCache, flights_in_topics
from domain.search.gauges import search_gauges
from domain.search.itineraries import ConnectionRules
from domain.search.redis_cache import RedisSearchCache
from domain.search.service import SearchLimits, SearchService
from domain.seating import REAP_INTERVAL_SECONDS, SeatService, hold_reaper
from foundation.database import connect, create_pool
from foundation.embedded import embedded_postgres
from foundation.metrics import GaugeCollector
from foundation.migrator import migrate
from foundation.secrets import app_secret
from foundation.settings import Settings
from foundation.supervisor import Supervisor
from streams.events import ChangeEvent
from streams.hub import Hub
from streams.listener import ChangeListener
from streams.phoenix.bindings import load_columns, publish_tables
from streams.phoenix.relay import Relay
from streams.phoenix.server import PhoenixServer
from streams.realtime import (
    LAG_GRACE_SECONDS,
    LISTENER_TASK,
    UPKEEP_TASK,
    Realtime,
    hub_gauges,
    listener_lag,
    upkeep,
)
from streams.snapshots import SnapshotCache
from sync.commands import BookingCommands
from sync.cursors import CursorCodec
from sync.service import SyncService

log = logging.getLogger(__name__)

REVOCATION_TASK = "revocation-watch"
REALTIME_RELAY_TASK = "realtime-relay"

Context = Callable[[web.Application], AsyncIterator[None]]

SEAT_HOLD_REAPER_TASK = "seat-hold-reaper"
# How long a cached search may wait for the change stream to catch up with the
# database before it is computed afresh instead.
SEARCH_CATCH_UP_WAIT_SECONDS = 0.05


async def supervision(app: web.Application) -> AsyncIterator[None]:
    """The supervisor of every background task; first up and last down, so each owner
    stops its own tasks before the resources they use go."""
    supervisor = Supervisor(app[keys.metrics_key])
    app[keys.supervisor_key] = supervisor

    async def background_tasks() -> ReadinessResult:
        down = supervisor.down()
        return (False, {"down": down}) if down else True

    app[keys.readiness_key]["background_tasks"] = background_tasks
    try:
        yield
    finally:
        app[keys.readiness_key].pop("background_tasks", None)
        await supervisor.stop_all()


async def database(app: web.Application) -> AsyncIterator[None]:
    """The request pool; an embedded PostgreSQL first when no DATABASE_URL is set."""
    settings = app[keys.settings_key]
    with ExitStack() as stack:
        url = settings.database_url
        if url is None:
            url = await asyncio.to_thread(stack.enter_context, embedded_postgres(settings.home))
        if settings.auto_migrate:
            conn = await connect(url, application_name="skybound-migrate")
            try:
                await migrate(conn)
            finally:
                await conn.close()
        pool = await create_pool(
            url,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            statement_timeout_ms=settings.statement_timeout_ms,
        )
        app[keys.pool_key] = pool
        app[keys.database_url_key] = url
        collector = app[keys.metrics_key].watch_pool(pool)

        async def database_answers() -> bool:
            return bool(await pool.fetchval("SELECT 1"))

        app[keys.readiness_key]["database"] = database_answers
        try:
            yield
        finally:
            app[keys.readiness_key].pop("database", None)
            app[keys.metrics_key].unwatch(collector)
            await pool.close()
    # Leaving the ExitStack stops the embedded server, if this app started one.


async def realtime(app: web.Application) -> AsyncIterator[None]:
    """The hub, the process's one LISTEN connection (the change listener), the snapshot
    cache and stream upkeep: they live exactly as long as the app."""
    settings = app[keys.settings_key]
    supervisor = app[keys.supervisor_key]
    pool = app[keys.pool_key]
    dsn = settings.listen_database_url or app[keys.database_url_key]
    hub = Hub(max_buffer_bytes=settings.stream_buffer_bytes)
    listener = ChangeListener(dsn, hub)
    snapshots = SnapshotCache()
    hub.on_publish(snapshots.invalidate)
    streams = Realtime(hub, listener, snapshots, retry_ms=settings.stream_retry_ms)
    await listener.start()
    app[keys.realtime_key] = streams
    listening_task = supervisor.start(LISTENER_TASK, listener.run, critical=True)

    async def listening() -> bool:
        return listening_task.alive and listener.listening

    async def lag() -> tuple[bool, dict[str, int | bool]]:
        return await listener_lag(
            streams, pool, grace=LAG_GRACE_SECONDS, max_events=settings.ready_max_lag_events
        )

    async def keep_up() -> None:
        retention = settings.change_retention_hours * 3600
        await upkeep(streams, pool, settings.stream_heartbeat_seconds, retention)

    app[keys.readiness_key]["change_listener"] = listening
    app[keys.readiness_key]["change_listener_lag"] = lag
    gauges = app[keys.metrics_key].watch(hub_gauges(streams))
    supervisor.start(UPKEEP_TASK, keep_up)
    try:
        yield
    finally:
        app[keys.readiness_key].pop("change_listener", None)
        app[keys.readiness_key].pop("change_listener_lag", None)
        app[keys.metrics_key].unwatch(gauges)
        streams.shutdown()
        await supervisor.stop(UPKEEP_TASK)
        await supervisor.stop(LISTENER_TASK)
        await listener.stop()


async def jwt_secret(settings: Settings, pool: asyncpg.Pool) -> str | None:
    """The HS256 secret: configured, or (running on our own, without Supabase) one the
    database made once, so every worker and restart signs and verifies alike."""
    if settings.jwt_secret or settings.supabase_url:
        return settings.jwt_secret
    return await app_secret(pool, "jwt_secret")


async def auth(app: web.Application) -> AsyncIterator[None]:
    """Token verification, the roles directory (its channel rides on the change
    listener's connection, so this comes after ``realtime``), and the built-in auth
    server's accounts (which send mail, so after ``mail_outbox``)."""
    settings = app[keys.settings_key]
    verifier = TokenVerifier(
        secret=await jwt_secret(settings, app[keys.pool_key]),
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        jwks=JwksFetcher(settings.effective_jwks_url) if settings.effective_jwks_url else None,
    )
    app[keys.verifier_key] = verifier
    directory = RoleDirectory(app[keys.pool_key], app[keys.realtime_key].listener)
    directory.start()
    app[keys.roles_key] = directory
    revocations = RevocationWatch(directory)
    app[keys.revocations_key] = revocations
    supervisor = app[keys.supervisor_key]
    # Critical: while it is down, a private stream of an erased account would go on.
    supervisor.start(REVOCATION_TASK, revocations.run, critical=True)
    if verifier.secret and settings.supabase_url is None:
        # Skybound is its own auth server: it signs with the secret it verifies with.
        issuer = settings.jwt_issuer or settings.site_url.rstrip("/") + "/auth/v1"
        app[keys.accounts_key] = Accounts(
            pool=app[keys.pool_key],
            signer=TokenSigner(verifier.secret, settings.jwt_audience, issuer,
                               settings.auth_access_token_seconds),
            session_lifetime=timedelta(days=settings.auth_refresh_token_days),
            site_url=settings.site_url,
            outbox=app[keys.outbox_key],
        )  # fmt: skip
    try:
        yield
    finally:
        await supervisor.stop(REVOCATION_TASK)
        await verifier.close()


async def mail_outbox(app: web.Application) -> AsyncIterator[None]:
    """This worker's outbox sender, running for the app's whole life."""
    outbox = MailOutbox(app[keys.pool_key], Mailer(app[keys.settings_key]))
    app[keys.outbox_key] = outbox
    supervisor = app[keys.supervisor_key]
    supervisor.start(OUTBOX_TASK, outbox.run)
    try:
        yield
    finally:
        outbox.stop()
        await supervisor.stop(OUTBOX_TASK, grace=STOP_GRACE_SECONDS)


async def user_data(app: web.Application) -> AsyncIterator[None]:
    """The card vault and file storage."""
    settings = app[keys.settings_key]
    if settings.payment_encryption_key:
        app[keys.vault_key] = CardVault.from_setting(settings.payment_encryption_key)
    else:
        # Development only: a key kept in the same database as the ciphertext protects
        # nothing against someone holding the database. Production sets the variable.
        log.warning("PAYMENT_ENCRYPTION_KEY is not set: using a development key")
        key = await app_secret(app[keys.pool_key], "dev_card_key", form="key32")
        app[keys.vault_key] = CardVault({"dev": base64.b64decode(key)}, "dev")
    async with open_storage(settings) as storage:
        app[keys.storage_key] = storage
        yield


async def seat_holds(app: web.Application) -> AsyncIterator[None]:
    """The seat service, and the reaper that deletes expired holds periodically, so
    seat-map watchers hear of seats freed by expiry (readers already treat an expired
    hold as free)."""
    pool = app[keys.pool_key]
    supervisor = app[keys.supervisor_key]
    app[keys.seats_key] = SeatService(pool, app[keys.settings_key].seat_hold_seconds)

    async def reap() -> None:
        await hold_reaper(pool, REAP_INTERVAL_SECONDS)

    supervisor.start(SEAT_HOLD_REAPER_TASK, reap)
    try:
        yield
    finally:
        await supervisor.stop(SEAT_HOLD_REAPER_TASK)


async def search(app: web.Application) -> AsyncIterator[None]:
    """The search service and its caches, invalidated by the change stream."""
    settings = app[keys.settings_key]
    pool = app[keys.pool_key]
    hub = app[keys.realtime_key].hub
    secret = await app_secret(pool, "offer_signing")
    cache: SearchCache
    if settings.redis_url:
        client = redis.from_url(settings.redis_url)
        cache = RedisSearchCache(client, ttl_seconds=settings.search_cache_ttl_seconds)
    else:
        cache = MemorySearchCache(
            max_entries=settings.search_cache_entries,
            ttl_seconds=settings.search_cache_ttl_seconds,
        )

    def on_event(event: ChangeEvent) -> None:
        for flight_id in flights_in_topics(event.topics):
            cache.flight_changed(flight_id, event.id)
            service.responses.flight_changed(flight_id, event.id)

    hub.on_publish(on_event)

    async def caught_up() -> bool:
        latest = await pool.fetchval("SELECT coalesce(max(id), 0) FROM change_events")
        if not await hub.wait_for_cursor(latest, SEARCH_CATCH_UP_WAIT_SECONDS):
            return False
        await cache.settle()
        return True

    service = SearchService(
        pool,
        ReferenceCache(pool),
        cache,
        secret.encode(),
        rules=ConnectionRules(
            domestic_minutes=settings.search_min_connection_domestic,
            international_minutes=settings.search_min_connection_international,
            max_layover_minutes=settings.search_max_layover,
        ),
        limits=SearchLimits(budget_seconds=settings.search_budget_ms / 1000),
        position=lambda: hub.cursor,
        caught_up=caught_up,
        response_cache_entries=settings.search_cache_entries,
    )
    app[keys.search_key] = service
    collector = app[keys.metrics_key].watch(GaugeCollector(search_gauges(service, cache)))
    try:
        yield
    finally:
        app[keys.metrics_key].unwatch(collector)
        await cache.close()


async def bookings(app: web.Application) -> AsyncIterator[None]:
    """Booking, change and ticket-document services, and the simulated payment
    provider."""
    settings = app[keys.settings_key]
    search = app[keys.search_key]
    # The simulated provider stands in for an outside system, so it gets its own
    # connections: charging from the request pool would deadlock once every pooled
    # connection is a booking transaction waiting for its charge.
    provider_pool = await create_pool(
        app[keys.database_url_key],
        min_size=1,
        max_size=4,
        statement_timeout_ms=settings.statement_timeout_ms,
        application_name="skybound-simulated-payments",
        # A stand-in for an outside system: its ledger need not wait for the disk, and
        # each booking would otherwise pay for two flushed commits.
        extra_settings={"synchronous_commit": "off"},
    )
    provider = SimulatedProvider(provider_pool, latency=settings.payment_latency_ms / 1000)
    service = BookingService(
        app[keys.pool_key], search.reference, search.offers, provider, app[keys.vault_key]
    )
    app[keys.bookings_key] = service
    app[keys.changes_key] = ChangeService(service)
    app[keys.documents_key] = DocumentService(app[keys.pool_key], app[keys.storage_key])
    try:
        yield
    finally:
        await provider_pool.close()


async def sync(app: web.Application) -> AsyncIterator[None]:
    """The sync service; after bookings, whose services its commands use."""
    pool = app[keys.pool_key]
    secret = await app_secret(pool, "sync_cursor")
    commands = BookingCommands(app[keys.bookings_key], app[keys.changes_key])
    app[keys.sync_key] = SyncService(pool, CursorCodec(secret.encode()), commands)
    yield


async def realtime_compat(app: web.Application) -> AsyncIterator[None]:
    """The Supabase-compatible realtime: its API keys, the relay of broadcast and presence
    (a channel on the change listener's connection) and the exposed tables' columns."""
    settings = app[keys.settings_key]
    pool = app[keys.pool_key]
    streams = app[keys.realtime_key]
    await publish_tables(pool, settings.realtime_tables)
    relay = Relay(pool)
    relay.start(streams.listener)
    supervisor = app[keys.supervisor_key]
    supervisor.start(REALTIME_RELAY_TASK, relay.run)
    app[keys.phoenix_key] = PhoenixServer(
        realtime=streams,
        pool=pool,
        relay=relay,
        keys=await load_api_keys(settings, pool),
        columns=await load_columns(pool),
        max_channels=settings.realtime_max_channels,
        max_payload_bytes=settings.realtime_max_payload_bytes,
        max_events_per_second=settings.realtime_max_events_per_second,
    )
    gauges = app[keys.metrics_key].watch(GaugeCollector({
        "skybound_realtime_compat_sockets": ("Connected Supabase-compatible sockets.",
                                             lambda: app[keys.phoenix_key].sockets),
        "skybound_realtime_compat_channels": ("Joined Supabase-compatible channels.",
                                              relay.member_count),
    }))  # fmt: skip
    try:
        yield
    finally:
        app[keys.metrics_key].unwatch(gauges)
        await supervisor.stop(REALTIME_RELAY_TASK)
        try:
            await relay.bye()  # other workers drop this one's presences
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("realtime relay could not say goodbye", extra={"error": repr(exc)})


# Start order. The roles directory (auth) registers its channel on the change
# listener's connection, and the accounts (auth) send mail, so realtime and the mail
# outbox come before auth.
CONTEXTS: Sequence[Context] = (
    supervision,
    database,
    realtime,
    mail_outbox,
    auth,
    realtime_compat,
    user_data,
    seat_holds,
    search,
    bookings,
    sync,
)
