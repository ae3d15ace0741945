"""What the search caches and service count, as gauges for /metrics."""

from __future__ import annotations

from collections.abc import Callable

from domain.search.cache import SearchCache, hit_ratio
from domain.search.service import SearchService

Gauges = dict[str, tuple[str, Callable[[], float]]]


def search_gauges(service: SearchService, cache: SearchCache) -> Gauges:
    """Name, help text and a reader for each figure."""
    return {
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
