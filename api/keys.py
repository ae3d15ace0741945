"""Every typed key under which the application stores a resource.

The types are imported for annotations only: this module sits below the transports
and the composition root, and names their resources without depending on them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import asyncpg
from aiohttp import web

if TYPE_CHECKING:
    from adapters.mail import MailOutbox
    from adapters.rate_limits import RateLimiter
    from adapters.storage import Storage
    from domain.bookings.changes import ChangeService
    from domain.bookings.service import BookingService
    from domain.cards import CardVault
    from domain.checkin.service import CheckInService
    from domain.documents import DocumentService
    from domain.identity.accounts.external import ExternalSignIn
    from domain.identity.accounts.service import Accounts
    from domain.identity.api_keys import ApiKeys
    from domain.identity.roles import RevocationWatch, RoleDirectory
    from domain.identity.tokens import TokenVerifier
    from domain.notifications.service import NotificationService
    from domain.schedules.jobs import ScheduleJobs
    from domain.search.service import SearchService
    from domain.seating import SeatService
    from domain.travel_documents import TravelDocuments
    from foundation.metrics import Metrics
    from foundation.scheduler import Scheduler
    from foundation.settings import Settings
    from foundation.supervisor import Supervisor
    from streams.caps import StreamCaps
    from streams.phoenix.server import PhoenixServer
    from streams.realtime import Realtime
    from sync.service import SyncService

settings_key: web.AppKey[Settings] = web.AppKey("settings")
pool_key: web.AppKey[asyncpg.Pool] = web.AppKey("pool")
# The URL the pool connected to (an embedded server's, when DATABASE_URL is unset).
database_url_key: web.AppKey[str] = web.AppKey("database_url")
realtime_key: web.AppKey[Realtime] = web.AppKey("realtime")
# The Supabase-compatible realtime (Phoenix channels) of this process.
phoenix_key: web.AppKey[PhoenixServer] = web.AppKey("phoenix")
search_key: web.AppKey[SearchService] = web.AppKey("search")
seats_key: web.AppKey[SeatService] = web.AppKey("seats")
bookings_key: web.AppKey[BookingService] = web.AppKey("bookings")
changes_key: web.AppKey[ChangeService] = web.AppKey("booking_changes")
documents_key: web.AppKey[DocumentService] = web.AppKey("ticket_documents")
check_in_key: web.AppKey[CheckInService] = web.AppKey("check_in")
sync_key: web.AppKey[SyncService] = web.AppKey("sync")
verifier_key: web.AppKey[TokenVerifier] = web.AppKey("token_verifier")
roles_key: web.AppKey[RoleDirectory] = web.AppKey("role_directory")
revocations_key: web.AppKey[RevocationWatch] = web.AppKey("revocation_watch")
# The built-in auth server's accounts; absent without a signing secret (or with Supabase).
accounts_key: web.AppKey[Accounts] = web.AppKey("accounts")
# The `apikey` values the built-in auth accepts; present with accounts_key.
api_keys_key: web.AppKey[ApiKeys] = web.AppKey("auth_api_keys")
# Sign-in through providers (and the PKCE code exchange); present with accounts_key.
external_sign_in_key: web.AppKey[ExternalSignIn] = web.AppKey("external_sign_in")
outbox_key: web.AppKey[MailOutbox] = web.AppKey("mail_outbox")
scheduler_key: web.AppKey[Scheduler] = web.AppKey("scheduler")
notifications_key: web.AppKey[NotificationService] = web.AppKey("notifications")
vault_key: web.AppKey[CardVault] = web.AppKey("card_vault")
travel_documents_key: web.AppKey[TravelDocuments] = web.AppKey("travel_documents")
storage_key: web.AppKey[Storage] = web.AppKey("storage")
# Absent when rate limits are off.
rate_limiter_key: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
# Absent when rate limits are off: streams are not capped either.
stream_caps_key: web.AppKey[StreamCaps] = web.AppKey("stream_caps")
metrics_key: web.AppKey[Metrics] = web.AppKey("metrics")
openapi_key: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
supervisor_key: web.AppKey[Supervisor] = web.AppKey("supervisor")
schedule_jobs_key: web.AppKey[ScheduleJobs] = web.AppKey("schedule_jobs")

# Named readiness checks: /readyz is 200 only when every one passes. A check answers
# True or False, or a (passed, details) pair whose details /readyz shows.
ReadinessResult = bool | tuple[bool, dict[str, Any]]
ReadinessCheck = Callable[[], Awaitable[ReadinessResult]]
readiness_key: web.AppKey[dict[str, ReadinessCheck]] = web.AppKey("readiness_checks")
