"""The booking service and the seat-hold reaper as application resources."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from domain.bookings.changes import ChangeService
from domain.bookings.payments import SimulatedProvider
from domain.bookings.service import BookingService
from domain.seating import REAP_INTERVAL_SECONDS, hold_reaper
from server import keys
from server.database import create_pool
from server.vault import vault_key


async def bookings_context(app: web.Application) -> AsyncIterator[None]:
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
    bookings = BookingService(
        app[keys.pool_key], search.reference, search.offers, provider, app[vault_key]
    )
    app[keys.bookings_key] = bookings
    app[keys.changes_key] = ChangeService(bookings)
    try:
        yield
    finally:
        await provider_pool.close()


async def seat_hold_reaper(app: web.Application) -> AsyncIterator[None]:
    """Delete expired holds periodically, so seat-map watchers hear of seats freed by
    expiry (readers already treat an expired hold as free)."""
    pool = app[keys.pool_key]
    supervisor = app[keys.supervisor_key]

    async def reap() -> None:
        await hold_reaper(pool, REAP_INTERVAL_SECONDS)

    supervisor.start("seat-hold-reaper", reap)
    try:
        yield
    finally:
        await supervisor.stop("seat-hold-reaper")
