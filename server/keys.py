"""Every typed key under which the application stores a resource."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp import web

if TYPE_CHECKING:
    from server.metrics import Metrics
    from server.settings import Settings

settings_key: web.AppKey[Settings] = web.AppKey("settings")
pool_key: web.AppKey[asyncpg.Pool] = web.AppKey("pool")
metrics_key: web.AppKey[Metrics] = web.AppKey("metrics")
openapi_key: web.AppKey[dict[str, Any]] = web.AppKey("openapi")

# Named readiness checks: /readyz is 200 only when every one returns True.
ReadinessCheck = Callable[[], Awaitable[bool]]
readiness_key: web.AppKey[dict[str, ReadinessCheck]] = web.AppKey("readiness_checks")
