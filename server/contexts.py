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

from adapters.gotrue_users import GoTrueUsers
from adapters.jwks import JwksFetcher
from adapters.mail import OUTBOX_TASK, STOP_GRACE_SECONDS, Mailer, MailOutbox
from adapters.oidc import OidcProvider
from adapters.rate_limits import RateLimiter, parse_limits
from adapters.realtime_wake import RealtimeWake
from adapters.storage_backend import open_storage
from adapters.stream_slots import MemorySlots, RedisSlots
from api import keys
from api.keys import ReadinessResult
from domain.bookings.archive import run_archiver
from domain.bookings.changes import ChangeService
from domain.bookings.payments import SimulatedProvider
from domain.bookings.service import BookingService
from domain.cards import CardVault
from domain.checkin.service import CheckInService
from domain.documents import DocumentService
from domain.identity.accounts.external import ExternalSignIn
from domain.identity.accounts.flow_states import StateSigner
from domain.identity.accounts.service import Accounts
from domain.identity.accounts.sessions import TokenSigner
from domain.identity.api_keys import load_api_keys
from domain.identity.confirmation import TokenConfirmation
from domain.identity.roles import RevocationWatch, RoleDirectory
from domain.identity.tokens import TokenVerifier
from domain.notifications.composer import Composer
from domain.notifications.enqueue import ReminderPlan, TripMail
from domain.notifications.reminders import REMINDER_JOBS, send_trip_reminder
from domain.notifications.rendering import Renderer
from domain.notifications.service import NotificationService
from domain.reference import ReferenceCache
from domain.schedules.jobs import ScheduleJobs
from domain.search.cache import MemorySearchCache, SearchCache, flights_in_topics
from domain.search.gauges import search_gauges
from domain.search.itineraries import ConnectionRules
from domain.search.redis_cache import RedisSearchCache
from domain.search.service import SearchLimits, SearchService
from domain.seating import REAP_INTERVAL_SECONDS, SeatService, hold_reaper
from domain.travel_documents import TravelDocuments, seal_stored
from foundation.database import RIDE_OUT, connect, create_pool
from foundation.embedded import embedded_postgres
from foundation.fleet_metrics import PUBLISH_SECONDS, Fleet
from foundation.metrics import CounterCollector, GaugeCollector
from foundation.migrator import migrate
from foundation.scheduler import SCHEDULER_TASK, Scheduler
from foundation.secrets import app_secret
from foundation.settings import Settings
from foundation.supervisor import Supervisor
from streams.caps import Caps, StreamCaps
from streams.events import ChangeEvent
from streams.hub import Hub
from streams.listener import ChangeListener
from streams.phoenix.bindings import load_columns, load_old_record_keys, publish_tables
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
WAKE_TASK = "wake-upstream"

Context = Callable[[web.Application], AsyncIterator[None]]

SEAT_HOLD_REAPER_TASK = "seat-hold-reaper"
SCHEDULE_IMPORT_TASK = "schedule-imports"
BOOKING_ARCHIVER_TASK = "booking-archiver"
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


METRICS_TASK = "metrics-publisher"


async def fleet_metrics(app: web.Application) -> AsyncIterator[None]:
    """A worker of a pool publishes its metrics every few seconds, so that whichever
    worker a scrape reaches answers for all of them."""
    settings = app[keys.settings_key]
    if settings.fleet_metrics_dir is None:
        yield
        return
    metrics = app[keys.metrics_key]
    fleet = Fleet(settings.fleet_metrics_dir, str(settings.worker_slot or 0))
    metrics.fleet = fleet

    async def publish() -> None:
        while True:
            # A few kilobytes to a local file: quicker done than handed to a thread, and no
            # busy thread pool can delay it.
            metrics.publish()
            await asyncio.sleep(PUBLISH_SECONDS)

    app[keys.supervisor_key].start(METRICS_TASK, publish)
    try:
        yield
    finally:
        await app[keys.supervisor_key].stop(METRICS_TASK)
        fleet.path_of(fleet.worker).unlink(missing_ok=True)
        metrics.fleet = None


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
    upstream = settings.wake_source == "supabase-realtime"
    listener = ChangeListener(
        dsn,
        hub,
        listen_for_changes=not upstream,
        # Upstream Realtime promises no delivery: a wake-up it drops would leave events
        # waiting for the next one, so the log is also read every few seconds. Reading
        # is cheap (one indexed query that finds nothing), and the cursor makes it exact.
        poll_seconds=settings.wake_poll_seconds if upstream else None,
    )
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
    wake_gauges = _upstream_wake(app, listener) if upstream else None
    try:
        yield
    finally:
        app[keys.readiness_key].pop("change_listener", None)
        app[keys.readiness_key].pop("change_listener_lag", None)
        app[keys.metrics_key].unwatch(gauges)
        streams.shutdown()
        if wake_gauges is not None:
            app[keys.readiness_key].pop("wake_upstream", None)
            app[keys.metrics_key].unwatch(wake_gauges)
            await supervisor.stop(WAKE_TASK)
        await supervisor.stop(UPKEEP_TASK)
        await supervisor.stop(LISTENER_TASK)
        await listener.stop()


def _upstream_wake(app: web.Application, listener: ChangeListener) -> GaugeCollector:
    """Wake the listener from an upstream Supabase Realtime instead of LISTEN: a
    supervised subscription, with its readiness check and gauges."""
    settings = app[keys.settings_key]
    url, key = settings.effective_wake_realtime_url, settings.supabase_service_role_key
    # The settings insist on both.
    assert url is not None
    assert key is not None
    wake = RealtimeWake(url, key, listener.wake)
    task = app[keys.supervisor_key].start(WAKE_TASK, wake.run, critical=True)

    # Without the subscription events still arrive, by the poll, only later: taking every
    # instance out of the load balancer because the upstream Realtime is away would stop
    # more than it saves. Readiness says so in its details; the alert rules page on it.
    async def subscribed() -> tuple[bool, dict[str, int | bool]]:
        detail = {"subscribed": wake.subscribed, "poll_seconds": int(settings.wake_poll_seconds)}
        return task.alive, detail

    app[keys.readiness_key]["wake_upstream"] = subscribed
    return app[keys.metrics_key].watch(GaugeCollector({
        "skybound_wake_upstream_up": ("1 while subscribed to the upstream Realtime that "
                                      "wakes the change listener.",
                                      lambda: 1.0 if wake.subscribed else 0.0),
        "skybound_wake_upstream_subscriptions": ("Subscriptions made to the upstream "
                                                 "Realtime (1 + reconnects).",
                                                 lambda: wake.subscriptions),
        "skybound_wake_upstream_wakes": ("Wake-ups heard from the upstream Realtime.",
                                         lambda: wake.wakes),
    }))  # fmt: skip


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
    confirmer = None
    if settings.auth_verify_with_gotrue and settings.supabase_url:
        auth_server = GoTrueUsers(settings.supabase_url.rstrip("/") + "/auth/v1",
                                  settings.supabase_anon_key)  # fmt: skip
        confirmer = TokenConfirmation(auth_server, settings.auth_verify_cache_seconds)
    verifier = TokenVerifier(
        secret=await jwt_secret(settings, app[keys.pool_key]),
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        jwks=JwksFetcher(settings.effective_jwks_url) if settings.effective_jwks_url else None,
        confirmer=confirmer,
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
    providers: dict[str, OidcProvider] = {}
    if verifier.secret and settings.supabase_url is None:
        # Skybound is its own auth server: it signs with the secret it verifies with.
        issuer = settings.jwt_issuer or settings.site_url.rstrip("/") + "/auth/v1"
        accounts = app[keys.accounts_key] = Accounts(
            pool=app[keys.pool_key],
            signer=TokenSigner(verifier.secret, settings.jwt_audience, issuer,
                               settings.auth_access_token_seconds),
            session_lifetime=timedelta(days=settings.auth_refresh_token_days),
            site_url=settings.site_url,
            outbox=app[keys.outbox_key],
        )  # fmt: skip
        if settings.auth_google_client_id:
            providers["google"] = OidcProvider(
                "google", settings.auth_google_issuer, settings.auth_google_client_id,
                settings.auth_google_secret or "",
            )  # fmt: skip
        app[keys.api_keys_key] = await load_api_keys(settings, app[keys.pool_key],
                                                     verifier.secret)  # fmt: skip
        state_key = await app_secret(app[keys.pool_key], "oauth_state")
        app[keys.external_sign_in_key] = ExternalSignIn(
            accounts, providers, StateSigner(state_key.encode()),
            tuple(settings.auth_redirect_urls), settings.auth_google_redirect_uri,
        )  # fmt: skip
    try:
        yield
    finally:
        await supervisor.stop(REVOCATION_TASK)
        await verifier.close()
        for provider in providers.values():
            await provider.close()


# The database's own writers (the flight-news trigger) read these from mail_settings.
_MAIL_SETTINGS = """
UPDATE mail_settings SET flight_notice_window = make_interval(secs => $1::float8),
                         delay_threshold = make_interval(mins => $2::int)
"""


async def mail_outbox(app: web.Application) -> AsyncIterator[None]:
    """This worker's outbox sender, running for the app's whole life, and the composer
    that renders trip mail when it is sent."""
    settings = app[keys.settings_key]
    pool = app[keys.pool_key]
    await pool.execute(_MAIL_SETTINGS, settings.mail_flight_notice_window_seconds,
                       settings.mail_delay_threshold_minutes)  # fmt: skip
    unsubscribe_secret = (await app_secret(pool, "mail_unsubscribe")).encode()
    renderer = Renderer(processes=settings.mail_render_processes)
    composer = Composer(
        pool,
        site_url=settings.site_url,
        api_url=settings.api_url,
        delay_threshold=timedelta(minutes=settings.mail_delay_threshold_minutes),
        unsubscribe_secret=unsubscribe_secret,
        renderer=renderer,
    )
    outbox = MailOutbox(
        pool, Mailer(settings), composer=composer, max_attempts=settings.mail_max_attempts,
        lease=timedelta(seconds=settings.mail_lease_seconds),
    )  # fmt: skip
    app[keys.outbox_key] = outbox
    app[keys.notifications_key] = NotificationService(
        pool, composer, unsubscribe_secret, outbox.wake
    )
    counts = outbox.counts
    metrics = app[keys.metrics_key]
    counters = metrics.watch(CounterCollector({
        "skybound_mail_sent": ("Messages this process delivered to SMTP.", lambda: counts.sent),
        "skybound_mail_failed": ("Failed send attempts (each retry counts).",
                                 lambda: counts.failed),
        "skybound_mail_dead_lettered": ("Messages given up after repeated or permanent "
                                        "failure.", lambda: counts.dead_lettered),
        "skybound_mail_dropped": ("Messages not sent: address undeliverable, cause gone.",
                                  lambda: counts.dropped),
    }))  # fmt: skip
    gauges = metrics.watch(GaugeCollector({
        "skybound_mail_outbox_depth": ("Messages waiting in the outbox (all workers), as "
                                       "of this sender's last pass.", lambda: counts.depth),
    }))  # fmt: skip
    supervisor = app[keys.supervisor_key]
    supervisor.start(OUTBOX_TASK, outbox.run)
    try:
        yield
    finally:
        metrics.unwatch(counters)
        metrics.unwatch(gauges)
        outbox.stop()
        await supervisor.stop(OUTBOX_TASK, grace=STOP_GRACE_SECONDS)
        await asyncio.to_thread(renderer.close)


async def scheduling(app: web.Application) -> AsyncIterator[None]:
    """The durable scheduler's runner in this worker: trip reminders, which it queues in
    the outbox (so after ``mail_outbox``) and wakes its sender for."""
    outbox = app[keys.outbox_key]
    scheduler = Scheduler(
        app[keys.pool_key],
        {kind: send_trip_reminder for kind in REMINDER_JOBS},
        after_run=lambda job, outcome: outbox.wake(),
    )
    app[keys.scheduler_key] = scheduler
    supervisor = app[keys.supervisor_key]
    supervisor.start(SCHEDULER_TASK, scheduler.run)
    try:
        yield
    finally:
        scheduler.stop()
        await supervisor.stop(SCHEDULER_TASK, grace=STOP_GRACE_SECONDS)


async def user_data(app: web.Application) -> AsyncIterator[None]:
    """The card vault, travel documents (sealed with its keys) and file storage. Travel
    documents still plain, or sealed under a retired key, are sealed anew before the
    server answers."""
    settings = app[keys.settings_key]
    if settings.payment_encryption_key:
        app[keys.vault_key] = CardVault.from_setting(settings.payment_encryption_key)
    else:
        # Development only: a key kept in the same database as the ciphertext protects
        # nothing against someone holding the database. Production sets the variable.
        log.warning("PAYMENT_ENCRYPTION_KEY is not set: using a development key")
        key = await app_secret(app[keys.pool_key], "dev_card_key", form="key32")
        app[keys.vault_key] = CardVault({"dev": base64.b64decode(key)}, "dev")
    documents = app[keys.travel_documents_key] = TravelDocuments(app[keys.vault_key])
    await seal_stored(app[keys.pool_key], documents)
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
    """Booking, change, ticket-document and check-in services, and the simulated payment
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
    mail = TripMail(
        ReminderPlan(departure_reminder_before=timedelta(hours=settings.departure_reminder_hours)),
        wake=app[keys.outbox_key].wake,
        enabled=settings.mail_trip_notices,
    )
    service = BookingService(
        app[keys.pool_key], search.reference, search.offers, provider, app[keys.vault_key], mail
    )
    app[keys.bookings_key] = service
    app[keys.changes_key] = ChangeService(service)
    app[keys.documents_key] = DocumentService(app[keys.pool_key], app[keys.storage_key])
    app[keys.check_in_key] = CheckInService(app[keys.pool_key], app[keys.vault_key])
    pool, after_days = app[keys.pool_key], settings.archive_after_days

    async def archive() -> None:
        # Every worker runs one; they take turns (an advisory lock), so one archives.
        await run_archiver(pool, after_days)

    supervisor = app[keys.supervisor_key]
    supervisor.start(BOOKING_ARCHIVER_TASK, archive)
    try:
        yield
    finally:
        await supervisor.stop(BOOKING_ARCHIVER_TASK)
        await provider_pool.close()


async def sync(app: web.Application) -> AsyncIterator[None]:
    """The sync service; after bookings, whose services its commands use."""
    pool = app[keys.pool_key]
    secret = await app_secret(pool, "sync_cursor")
    commands = BookingCommands(app[keys.bookings_key], app[keys.changes_key])
    app[keys.sync_key] = SyncService(
        pool, CursorCodec(secret.encode()), commands, app[keys.travel_documents_key]
    )
    yield


async def rate_limits(app: web.Application) -> AsyncIterator[None]:
    """The request budgets: counted in Redis when there is one (every worker and
    instance shares them), else in this worker's memory."""
    settings = app[keys.settings_key]
    if not settings.rate_limits_enabled:
        yield
        return
    storage = settings.rate_limit_storage
    if storage == "redis" and not settings.redis_url:
        raise ValueError("SKYBOUND_RATE_LIMIT_STORAGE=redis needs REDIS_URL")
    shared = storage != "memory" and settings.redis_url is not None
    limiter = RateLimiter(parse_limits(settings.rate_limits),
                          settings.redis_url if shared else None)  # fmt: skip
    app[keys.rate_limiter_key] = limiter
    try:
        yield
    finally:
        await limiter.close()


STREAM_LEASES_TASK = "stream-cap-leases"


async def stream_caps(app: web.Application) -> AsyncIterator[None]:
    """Caps on open streams, counted where the request budgets are: in Redis (every
    worker and instance), renewing this worker's leases under supervision, or in memory."""
    settings = app[keys.settings_key]
    limiter = app.get(keys.rate_limiter_key)
    if limiter is None:
        yield
        return
    counter = RedisSlots(settings.redis_url) if limiter.shared and settings.redis_url else (
        MemorySlots())  # fmt: skip
    caps = StreamCaps(counter, Caps(settings.stream_cap_per_address,
                                    settings.stream_cap_per_user,
                                    settings.stream_cap_per_staff))  # fmt: skip
    app[keys.stream_caps_key] = caps
    metrics = app[keys.metrics_key]
    watched = [
        metrics.watch(GaugeCollector({"skybound_stream_caps_open": (
            "Streams of this worker holding cap slots.", lambda: len(caps.open))})),
        metrics.watch(CounterCollector({"skybound_stream_caps_refused": (
            "Streams refused at a cap (address, user or staff).",
            lambda: sum(caps.refused.values()))})),
    ]  # fmt: skip
    supervisor = app[keys.supervisor_key]
    if counter.shared:
        supervisor.start(STREAM_LEASES_TASK, caps.renew_leases)
    try:
        yield
    finally:
        if counter.shared:
            await supervisor.stop(STREAM_LEASES_TASK)
        for collector in watched:
            metrics.unwatch(collector)
        await caps.close()


async def schedule_imports(app: web.Application) -> AsyncIterator[None]:
    """The schedule-import jobs, and this worker's runner of them (the fleet's runners
    take turns, so one file is imported at a time)."""
    jobs = ScheduleJobs(app[keys.pool_key])
    app[keys.schedule_jobs_key] = jobs
    supervisor = app[keys.supervisor_key]
    supervisor.start(SCHEDULE_IMPORT_TASK, jobs.run)
    try:
        yield
    finally:
        await supervisor.stop(SCHEDULE_IMPORT_TASK)


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
        # The keys the built-in auth accepts, so one anon key serves both; with Supabase
        # Auth, the project's configured keys.
        keys=app.get(keys.api_keys_key) or await load_api_keys(settings, pool),
        columns=await load_columns(pool),
        old_record_keys=await load_old_record_keys(pool),
        max_channels=settings.realtime_max_channels,
        max_payload_bytes=settings.realtime_max_payload_bytes,
        max_events_per_second=settings.realtime_max_events_per_second,
    )
    streams.hub.on_publish(app[keys.phoenix_key].wake_feed.on_event)
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
        except RIDE_OUT as exc:
            log.warning("realtime relay could not say goodbye", extra={"error": repr(exc)})


# Start order. The roles directory (auth) registers its channel on the change
# listener's connection, and the accounts (auth) send mail, so realtime and the mail
# outbox come before auth.
CONTEXTS: Sequence[Context] = (
    supervision,
    fleet_metrics,
    rate_limits,
    stream_caps,
    database,
    realtime,
    mail_outbox,
    scheduling,
    auth,
    realtime_compat,
    user_data,
    seat_holds,
    search,
    bookings,
    sync,
    schedule_imports,
)
