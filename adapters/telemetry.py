"""Error reporting (Sentry) and tracing (OpenTelemetry), each off unless configured.

Both hook into the process (sentry-sdk's aiohttp integration and logging handler, the
OpenTelemetry instrumentors patch aiohttp and asyncpg), so the composition root starts
them once per server process, not per application.

Nothing personal leaves the process: Sentry gets no request bodies, cookies or
credential headers (``send_default_pii`` off, bodies never attached), and every event
is scrubbed before it is sent: values under sensitive keys (tokens, passwords, card and
document fields) are replaced, and credentials, card numbers and passport-like numbers
are cut out of every string, messages and stack frames' variables included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from foundation.logs import redact
from foundation.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

FILTERED = "[Filtered]"

_SENSITIVE_KEY = re.compile(
    r"(?i)(authorization|cookie|password|passwd|secret|token|apikey|api_key|ticket|"
    r"card|cvc|cvv|(?<!flight_)number|passport|document|iban|signature|code_verifier|dsn)"
)
# A payment card number (13-19 digits, spaces or dashes allowed) or a passport-like
# document number (a letter or two and 6-9 digits) inside any string.
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_DOCUMENT = re.compile(r"\b[A-Z]{1,2}\d{6,9}\b")


def _scrub_text(text: str) -> str:
    return _DOCUMENT.sub(FILTERED, _CARD.sub(FILTERED, redact(text)))


def scrub(value: Any, key: str | None = None) -> Any:
    """``value`` with everything personal or secret filtered, recursively."""
    if key is not None and _SENSITIVE_KEY.search(key):
        return FILTERED if value not in (None, "", [], {}) else value
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {k: scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def before_send(event: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)  # bodies carry passengers, cards and documents
        request.pop("cookies", None)
    event.pop("user", None)
    return dict(scrub(event))


def start_error_reporting(settings: Settings, *, transport: Any = None) -> bool:
    """Sentry for this process, when ``SENTRY_DSN`` is set; returns whether it started."""
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.aiohttp import AioHttpIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment,
        integrations=[AioHttpIntegration()],
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=True,
        before_send=before_send,  # type: ignore[arg-type]
        traces_sample_rate=0.0,  # tracing is OpenTelemetry's job
        transport=transport,
    )
    return True


def start_tracing(
    settings: Settings, *, exporter: SpanExporter | None = None
) -> Callable[[], None] | None:
    """OpenTelemetry tracing of requests and SQL, when an OTLP endpoint is configured (or a
    test passes its own exporter); returns what stops it."""
    if settings.otel_endpoint is None and exporter is None:
        return None
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=f"{settings.otel_endpoint.rstrip('/')}/v1/traces"  # type: ignore[union-attr]
        )))  # fmt: skip
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    # opentelemetry-instrumentation-asyncpg leaves its __init__ unannotated; typed here as
    # what it is when called without arguments (capture_parameters keeps its default).
    new_sql_instrumentor: Callable[[], AsyncPGInstrumentor] = AsyncPGInstrumentor
    server, sql = AioHttpServerInstrumentor(), new_sql_instrumentor()
    server.instrument(tracer_provider=provider)
    sql.instrument(tracer_provider=provider)

    def stop() -> None:
        sql.uninstrument()
        server.uninstrument()
        provider.shutdown()

    return stop
