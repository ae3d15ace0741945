"""Rate limits on every endpoint: a budget per client address, checked before any work,
and one per user, checked once the bearer token says who is calling.

Endpoints fall into classes (auth, search, bookings, sync, admin, the rest) with a
budget each; the limits themselves are settings (adapters.rate_limits). A request
beyond a budget is a 429 problem with ``Retry-After`` and the IETF ``RateLimit-Policy``
and ``RateLimit`` fields; every limited answer carries ``RateLimit-Policy``. (What is
left of a budget is not sent on every answer: reading it costs a second round trip to
the storage, which would halve the throughput with Redis.)

Not limited: health, readiness and metrics (probes and scrapers poll them from a few
fixed addresses, and a refused probe would take a healthy worker out of service), and
the streams and the board pages. A board is one long-lived connection that reconnects
with a jittered delay; every board of an airport may sit behind one address and
reconnect at once after a deploy, and refusing them would blank the screens. A
stream's cost is bounded instead by its send buffer and topic count.
"""

from __future__ import annotations

import functools
import re

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.rate_limits import Verdict
from api import keys
from api.middleware import client_ip
from api.problems import rate_limit_policy
from domain.identity.tokens import Claims
from foundation.errors import RateLimitExceeded

STAFF_ROLES = frozenset({"agent", "ops", "admin"})

# (class, pattern of the paths in it), first match wins; None: not limited.
_CLASSES: tuple[tuple[str | None, re.Pattern[str]], ...] = (
    (None, re.compile(r"^/(healthz|readyz|metrics)$|^/boards/|^/static/|^/docs(/|$)|^/v1/ws$")),
    ("auth", re.compile(r"^/auth/")),
    ("search", re.compile(r"^/v1/(search|airports)(/|$)")),
    (
        "bookings",
        re.compile(
            r"^/v1/(bookings|me/bookings|me/seat-holds)(/|$)"
            r"|^/v1/flights/[^/]+/seat-holds(/|$)"
        ),
    ),
    ("sync", re.compile(r"^/v1/sync/")),
    ("admin", re.compile(r"^/v1/admin/")),
)
_STREAM = re.compile(r"^/v1/streams/(boards|flights|me)(/|$)")

# Classes of the paths of static routes (bounded by the routes), as classifying costs
# a few regular expressions per request.
_static_classes: dict[tuple[str, str], str | None] = {}
MAX_STATIC_CLASSES = 1000

verdicts_key: web.RequestKey[list[Verdict]] = web.RequestKey("rate_limit_verdicts")
endpoint_class_key: web.RequestKey[str] = web.RequestKey("rate_limit_class")


def endpoint_class(method: str, path: str) -> str | None:
    """The budget class of a request; None for the endpoints that are not limited."""
    if method == "OPTIONS" or (method in ("GET", "HEAD") and _STREAM.match(path)):
        return None
    for name, pattern in _CLASSES:
        if pattern.match(path):
            return name
    return "default"


def _class_of(request: web.Request) -> str | None:
    key = (request.method, request.path)
    if key in _static_classes:
        return _static_classes[key]
    kind = endpoint_class(*key)
    if (isinstance(request.match_info.route.resource, web.PlainResource)
            and len(_static_classes) < MAX_STATIC_CLASSES):  # fmt: skip
        _static_classes[key] = kind
    return kind


@functools.lru_cache(maxsize=256)
def _policy_fields(verdicts: tuple[Verdict, ...]) -> dict[str, str]:
    """The RateLimit-Policy of an allowed request's verdicts (one per policy, so few)."""
    return rate_limit_policy([(v.policy, v.limit, v.window_seconds) for v in verdicts])


def _enforce(verdicts: list[Verdict], verdict: Verdict | None) -> None:
    if verdict is None:  # the storage failed: let it through
        return
    verdicts.append(verdict)
    if not verdict.allowed:
        raise RateLimitExceeded(verdict.policy, verdict.limit, verdict.window_seconds,
                                verdict.reset_seconds)  # fmt: skip


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The client address's budget for the endpoint's class; the budgets spent, in
    RateLimit-Policy, on the answer (the user's, if any, is taken by ``limit_user``)."""
    limiter = request.app.get(keys.rate_limiter_key)
    kind = _class_of(request) if limiter is not None else None
    if limiter is None or kind is None:
        return await handler(request)
    request[endpoint_class_key] = kind
    verdicts: list[Verdict] = []
    request[verdicts_key] = verdicts
    _enforce(verdicts, await limiter.take(limiter.policy_of("address", kind), client_ip(request)))
    response = await handler(request)
    if verdicts and not response.prepared:  # a refusal was raised: all of them allowed
        response.headers.update(_policy_fields(tuple(verdicts)))
    return response


async def limit_user(request: web.Request, claims: Claims) -> None:
    """The caller's own budget: one for staff, else the passenger's overall budget and
    that of the endpoint's class. Once per request."""
    limiter = request.app.get(keys.rate_limiter_key)
    kind = request.get(endpoint_class_key)
    if limiter is None or kind is None:
        return
    del request[endpoint_class_key]  # taken
    verdicts = request[verdicts_key]
    user = str(claims.user_id)
    if claims.app_roles & STAFF_ROLES:
        _enforce(verdicts, await limiter.take("staff", user))
        return
    _enforce(verdicts, await limiter.take("user", user))
    classed = limiter.policy_of("user", kind)
    if classed != "user":
        _enforce(verdicts, await limiter.take(classed, user))
