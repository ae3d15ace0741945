"""Settings: read once from the environment, then passed explicitly.

Nothing imports a settings singleton; ``Settings.from_env()`` is called by the
CLI (or a test builds ``Settings(...)`` directly) and the result is handed to
``create_app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The tables whose row changes the Supabase-compatible endpoint can publish.
RealtimeTable = Literal["flights", "airports", "bookings", "booking_segments"]


class Settings(BaseSettings):
    """Every knob of a Skybound process.

    Environment variables are ``SKYBOUND_<FIELD>``, except for the conventional
    unprefixed names given as aliases (``DATABASE_URL`` and friends).
    """

    model_config = SettingsConfigDict(
        env_prefix="SKYBOUND_", frozen=True, extra="ignore", populate_by_name=True
    )

    home: Path = Field(
        default=Path(".skybound"),
        description="State directory: the embedded database, uploaded files.",
    )
    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL 14+ URL. Unset: start an embedded PostgreSQL under SKYBOUND_HOME.",
    )
    listen_database_url: str | None = Field(
        default=None,
        validation_alias="LISTEN_DATABASE_URL",
        description="Direct (session-mode) URL for LISTEN, when DATABASE_URL is a pooler.",
    )
    host: str = Field(default="127.0.0.1")
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    sentry_dsn: SecretStr | None = Field(
        default=None,
        validation_alias="SENTRY_DSN",
        description="Report errors to Sentry (scrubbed of personal data).",
    )
    sentry_environment: str = Field(default="production", validation_alias="SENTRY_ENVIRONMENT")
    otel_endpoint: str | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="Trace requests and SQL to this OTLP/HTTP collector.",
    )
    otel_service: str = Field(default="skybound", validation_alias="OTEL_SERVICE_NAME")
    # Set by `serve --workers N` for each worker, not by hand: where the pool's workers
    # publish their metrics so that any one answers /metrics for all (fleet_metrics.py).
    fleet_metrics_dir: Path | None = Field(default=None, description="Internal.")
    worker_slot: int | None = Field(default=None, ge=0, description="Internal.")
    auto_migrate: bool = Field(
        default=True,
        description="Apply pending migrations when `serve` starts.",
    )
    db_pool_min: int = Field(default=2, ge=0)
    db_pool_max: int = Field(default=10, ge=1)
    statement_timeout_ms: int = Field(
        default=5000,
        ge=0,
        description="Server-side cap on any one query of the request pool (0 disables).",
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=1024,
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Comment heartbeats on SSE streams keep proxies open."
    )
    stream_buffer_bytes: int = Field(
        default=256 * 1024,
        ge=4096,
        description="Unsent bytes a stream client may fall behind by before it is disconnected.",
    )
    stream_retry_ms: int = Field(
        default=2000, ge=100, description="SSE reconnection delay hint (jittered)."
    )
    system_stream_seconds: float = Field(
        default=5.0,
        ge=0.2,
        le=300,
        description="How often `GET /v1/admin/system/stream` sends the system's figures.",
    )
    change_retention_hours: float = Field(
        default=72.0, gt=0, description="How long the change log keeps events for resume."
    )
    ready_max_lag_events: int = Field(
        default=10_000,
        ge=1,
        description="Released change events the hub may trail the log by before /readyz "
        "answers 503 (a listener that makes no progress at all fails at once).",
    )
    ws_max_topics: int = Field(default=100, ge=1, description="Topics per WebSocket connection.")
    ws_max_message_bytes: int = Field(
        default=64 * 1024, ge=1024, description="Largest WebSocket frame a client may send."
    )
    jwt_secret: str | None = Field(
        default=None,
        validation_alias="SUPABASE_JWT_SECRET",
        repr=False,
        description="HS256 secret of the auth server's JWTs (Supabase's JWT secret).",
    )
    jwt_audience: str = Field(default="authenticated", validation_alias="SUPABASE_JWT_AUDIENCE")
    jwt_issuer: str | None = Field(
        default=None,
        validation_alias="SUPABASE_JWT_ISSUER",
        description="Required `iss` claim, when set.",
    )
    supabase_url: str | None = Field(
        default=None,
        validation_alias="SUPABASE_URL",
        description="A Supabase project: its Auth is the authority for tokens.",
    )
    jwks_url: str | None = Field(
        default=None,
        validation_alias="SUPABASE_JWKS_URL",
        description="Public keys for ES256/RS256 tokens. Default: SUPABASE_URL's JWKS.",
    )
    supabase_anon_key: str | None = Field(
        default=None,
        validation_alias="SUPABASE_ANON_KEY",
        repr=False,
        description="The anon (publishable) key: the `apikey` clients present to the REST API "
        "and the Realtime-compatible endpoint, and the one Skybound sends to Supabase Auth. "
        "Unset: derived from the HS256 auth secret, or else made once in the database.",
    )
    auth_verify_with_gotrue: bool = Field(
        default=False,
        description="Strict mode (with SUPABASE_URL): also confirm each token with Supabase "
        "Auth's get_user, so a user signed out or deleted there loses access within "
        "SKYBOUND_AUTH_VERIFY_CACHE_SECONDS.",
    )
    auth_verify_cache_seconds: float = Field(
        default=30.0, ge=0, description="How long a strict-mode confirmation is trusted."
    )
    supabase_service_role_key: str | None = Field(
        default=None,
        validation_alias="SUPABASE_SERVICE_ROLE_KEY",
        repr=False,
        description="The project's service-role key, for Supabase Storage (secret: never logged).",
    )
    realtime_tables: Annotated[list[RealtimeTable], NoDecode] = Field(
        default_factory=list,
        description="Tables whose row changes the Supabase-compatible endpoint publishes "
        "(comma-separated); added at startup, like Supabase's publication. Default: none.",
    )
    realtime_max_channels: int = Field(
        default=100, ge=1, description="Channels one Realtime-compatible socket may join."
    )
    realtime_max_payload_bytes: int = Field(
        default=6000,
        ge=256,
        le=7000,
        description="Largest broadcast or presence payload (it travels in one NOTIFY).",
    )
    realtime_max_events_per_second: int = Field(
        default=100, ge=1, description="Messages one Realtime-compatible socket may send a second."
    )
    wake_source: Literal["listen", "supabase-realtime"] = Field(
        default="listen",
        description="What wakes the change listener: LISTEN/NOTIFY, or a subscription to an "
        "upstream Supabase Realtime (where only a transaction pooler is reachable). Either "
        "way events are read from the change log.",
    )
    wake_realtime_url: str | None = Field(
        default=None,
        description="The upstream Realtime for SKYBOUND_WAKE_SOURCE=supabase-realtime "
        "(http(s):// or ws(s)://, without /websocket). Default: SUPABASE_URL + /realtime/v1.",
    )
    wake_poll_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="With an upstream wake source, how often the change log is read anyway, "
        "in case a wake-up was lost.",
    )
    storage_backend: Literal["auto", "local", "supabase"] = Field(
        default="auto",
        description="Where uploaded files live. `auto`: Supabase Storage when SUPABASE_URL and "
        "SUPABASE_SERVICE_ROLE_KEY are set, else a directory under SKYBOUND_HOME.",
    )
    storage_bucket: str = Field(
        default="skybound",
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$",
        description="The (private) Supabase Storage bucket for uploaded files.",
    )
    storage_create_bucket: bool = Field(
        default=True, description="Create the bucket, private, at startup when it is missing."
    )

    @property
    def effective_jwks_url(self) -> str | None:
        if self.jwks_url:
            return self.jwks_url
        if self.supabase_url:
            return self.supabase_url.rstrip("/") + "/auth/v1/.well-known/jwks.json"
        return None

    @property
    def effective_storage_backend(self) -> Literal["local", "supabase"]:
        if self.storage_backend == "auto":
            configured = self.supabase_url and self.supabase_service_role_key
            return "supabase" if configured else "local"
        return self.storage_backend

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias="CORS_ORIGINS",
        description="Origins allowed to call the API from browsers (comma-separated).",
    )
    trusted_proxy_hops: int = Field(
        default=0,
        ge=0,
        le=5,
        description="Proxies in front of Skybound that append to X-Forwarded-For (0: none).",
    )
    site_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Public URL of the web app: links in emails (password reset) point here.",
    )
    api_url: str = Field(
        default="http://127.0.0.1:8080",
        description="Public URL of this API: links in emails that the API itself answers "
        "(one-click unsubscribe).",
    )
    smtp_host: str | None = Field(default=None, description="Mail server (SMTP).")
    mail_directory: Path | None = Field(
        default=None,
        description="Without SMTP_HOST: write each message as an .eml file here instead "
        "(development; `skybound demo` uses $SKYBOUND_HOME/mail).",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = Field(default=True, description="Upgrade to TLS with STARTTLS.")
    smtp_sender: str = Field(default="Sky-Bound Journeys <no-reply@skybound.invalid>")
    auth_redirect_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Where sign-in may send the browser back to besides SKYBOUND_SITE_URL "
        "(comma-separated; GoTrue's wildcards: `*` within a host label or path segment, "
        "`**` across them).",
    )
    auth_google_client_id: str | None = Field(
        default=None, description="Google (or OIDC provider) OAuth client id: enables Google."
    )
    auth_google_secret: str | None = Field(default=None, repr=False)
    auth_google_issuer: str = Field(
        default="https://accounts.google.com",
        description="OpenID Connect issuer; its /.well-known/openid-configuration is read.",
    )
    auth_google_redirect_uri: str | None = Field(
        default=None,
        description="The callback URL registered with the provider. Default: this "
        "server's /auth/v1/callback as the browser reached it.",
    )
    mail_trip_notices: bool = Field(
        default=True,
        description="Queue booking confirmations, change and cancellation mail and trip "
        "reminders with each booking (flight news is queued by the database either way).",
    )
    mail_render_processes: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Low-priority processes per worker that render trip mail (PDFs, "
        "templates), so rendering never competes with requests; 0 renders on a thread.",
    )
    mail_max_attempts: int = Field(
        default=9, ge=1, description="Failed sends before a message is dead-lettered."
    )
    mail_lease_seconds: float = Field(
        default=300.0,
        ge=1.0,
        description="How long a claimed message is hidden from other senders; a sender "
        "that dies mid-send leaves it due again after this long.",
    )
    mail_flight_notice_window_seconds: int = Field(
        default=600,
        ge=0,
        description="Delays (or gate changes) of one flight within this window of the first "
        "are one email, with the latest news, sent when the window ends.",
    )
    mail_delay_threshold_minutes: int = Field(
        default=15, ge=1, description="A departure this much later than scheduled is news."
    )
    departure_reminder_hours: float = Field(
        default=3.0,
        gt=0,
        description="The departure-day reminder goes out this long before departure.",
    )
    auth_access_token_seconds: int = Field(default=3600, ge=60)
    auth_refresh_token_days: int = Field(default=30, ge=1)
    payment_encryption_key: str | None = Field(
        default=None,
        validation_alias="PAYMENT_ENCRYPTION_KEY",
        repr=False,
        description="Card-data keys, `v2:<base64 32 bytes>,v1:<...>`; the first encrypts.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias="REDIS_URL",
        description="Redis for the search cache shared by all instances (redis:// or unix://).",
    )
    rate_limits_enabled: bool = Field(
        default=True, description="Budget requests per client address and per user."
    )
    rate_limits: dict[str, str] = Field(
        default_factory=dict,
        description='Limits by policy over the defaults, as JSON: {"address.search": '
        '"60/minute"} (policies and defaults: docs/admin.md).',
    )
    rate_limit_storage: Literal["auto", "memory", "redis"] = Field(
        default="auto",
        description="Where budgets are counted. `auto`: Redis (shared by every worker and "
        "instance) when REDIS_URL is set, else each worker's memory.",
    )
    stream_cap_per_address: int = Field(
        default=100,
        ge=1,
        description="Open streams (SSE, WebSocket, Realtime socket) of one "
        "client address; with rate limits off, streams are not capped either.",
    )
    stream_cap_per_user: int = Field(
        default=10, ge=1, description="Open streams of one signed-in passenger (token `sub`)."
    )
    stream_cap_per_staff: int = Field(
        default=50, ge=1, description="Open streams of one user with a staff role."
    )
    search_budget_ms: int = Field(
        default=2000, ge=50, description="Time budget of one search (503 when nothing is found)."
    )
    payment_provider: Literal["simulated"] = Field(
        default="simulated",
        description="Payment provider; `simulated` moves no money (see docs/bookings.md).",
    )
    payment_latency_ms: int = Field(
        default=0, ge=0, le=30000, description="Answer delay of the simulated payment provider."
    )
    seat_hold_seconds: int = Field(
        default=600, ge=10, le=3600, description="How long a seat hold lasts."
    )
    archive_after_days: int = Field(
        default=365,
        ge=1,
        description="Bookings whose last flight landed longer ago move to the archive.",
    )
    search_min_connection_domestic: int = Field(default=45, ge=0, description="Minutes.")
    search_min_connection_international: int = Field(default=90, ge=0, description="Minutes.")
    search_max_layover: int = Field(default=720, ge=30, description="Minutes.")
    search_cache_ttl_seconds: float = Field(default=120.0, ge=0)
    search_cache_entries: int = Field(default=20_000, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    log_format: Literal["json", "text"] = Field(default="json")
    access_log: bool = Field(default=True)

    @field_validator("database_url", "listen_database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if not value:  # None or empty
            return None
        if not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("wake_realtime_url")
    @classmethod
    def _realtime_url(cls, value: str | None) -> str | None:
        if not value:  # None or empty
            return None
        if not value.startswith(("http://", "https://", "ws://", "wss://")):
            raise ValueError("must be an http(s):// or ws(s):// URL")
        return value

    @field_validator("cors_origins", "auth_redirect_urls", "realtime_tables", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _wake_source_configured(self) -> Settings:
        if self.wake_source == "supabase-realtime":
            if self.effective_wake_realtime_url is None:
                raise ValueError(
                    "SKYBOUND_WAKE_SOURCE=supabase-realtime needs SUPABASE_URL or "
                    "SKYBOUND_WAKE_REALTIME_URL"
                )
            if not self.supabase_service_role_key:
                raise ValueError(
                    "SKYBOUND_WAKE_SOURCE=supabase-realtime needs SUPABASE_SERVICE_ROLE_KEY "
                    "(the wake-up channel is private)"
                )
        return self

    @property
    def effective_wake_realtime_url(self) -> str | None:
        """The upstream Realtime's URL, as the ``realtime`` client takes it."""
        if self.wake_realtime_url:
            return self.wake_realtime_url.rstrip("/")
        if self.supabase_url:
            return self.supabase_url.rstrip("/") + "/realtime/v1"
        return None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from the process environment, with explicit overrides on top."""
        given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        return cls(**given)

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    def with_database(self, database_url: str) -> Settings:
        return self.model_copy(update={"database_url": database_url})
