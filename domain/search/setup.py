"""The search service as an application resource, wired to the change stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

import redis.asyncio as redis
from aiohttp import web

from domain.reference import ReferenceCache
from domain.search.cache import MemorySearchCache, SearchCache, flights_in_topics, hit_ratio
from domain.search.itineraries import ConnectionRules
from domain.search.redis_cache import RedisSearchCache
from domain.search.service import SearchLimits, SearchService
from server import keys
from server.metrics import GaugeCollector
from streams.events import ChangeEvent

# How long a cached search may wait for the change stream to catch up with the
# database before it is computed afresh instead.
CATCH_UP_WAIT_SECONDS = 0.05


async def search_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.settings_key]
    pool = app[keys.pool_key]
    hub = app[keys.realtime_key].hub
    secret = await pool.fetchval("SELECT secret FROM app_secrets WHERE name = 'offer_signing'")
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
        if not await hub.wait_for_cursor(latest, CATCH_UP_WAIT_SECONDS):
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
    collector = app[keys.metrics_key].watch(
        GaugeCollector(
            {
                "skybound_search_cache_hit_ratio": (
                    "Search slice cache hits / lookups.",
                    lambda: hit_ratio(cache),
                ),
                "skybound_search_response_cache_hits": (
                    "Searches answered whole from the response cache.",
                    lambda: service.responses.hits,
                ),
                "skybound_search_cache_hits": ("Search slice cache hits.", lambda: cache.hits),
                "skybound_search_cache_misses": (
                    "Search slice cache misses.",
                    lambda: cache.misses,
                ),
                "skybound_search_cache_entries": (
                    "Cached search slices (this process).",
                    lambda: cache.size() or 0,
                ),
                "skybound_search_cache_invalidations": (
                    "Cached slices dropped by change events.",
                    lambda: cache.invalidations,
                ),
                "skybound_searches": ("Searches run.", lambda: service.stats.searches),
                "skybound_search_timeouts": (
                    "Searches over budget.",
                    lambda: service.stats.timeouts,
                ),
                "skybound_search_catch_ups": (
                    "Catch-up barriers run before serving a cached search.",
                    lambda: service.stats.catch_ups,
                ),
                "skybound_search_catch_up_timeouts": (
                    "Searches that read the database: the change stream was behind.",
                    lambda: service.stats.catch_up_timeouts,
                ),
            }
        )
    )
    try:
        yield
    finally:
        app[keys.metrics_key].unwatch(collector)
        await cache.close()
