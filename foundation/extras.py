"""Settings that need an optional extra: refused at start, with the fix, when it is missing.

Without this check the first import of, say, storage3 happens in each worker's cleanup
context, and `serve --workers N` replaces the dying workers forever.
"""

from __future__ import annotations

import importlib

from foundation.settings import Settings


def _needs(settings: Settings) -> list[tuple[str, str, str]]:
    """(setting, module, extra) for every configured feature with an optional dependency."""
    needs = []
    if settings.effective_storage_backend == "supabase":
        needs.append(("SKYBOUND_STORAGE_BACKEND=supabase", "storage3", "supabase"))
    if settings.auth_verify_with_gotrue and settings.supabase_url:
        needs.append(("SKYBOUND_AUTH_VERIFY_WITH_GOTRUE", "supabase_auth", "supabase"))
    if settings.sentry_dsn is not None:
        needs.append(("SENTRY_DSN", "sentry_sdk", "observability"))
    if settings.otel_endpoint:
        needs.append(("OTEL_EXPORTER_OTLP_ENDPOINT", "opentelemetry.sdk", "observability"))
    return needs


def missing_extras(settings: Settings) -> list[str]:
    """One line per configured setting whose optional dependency is not installed."""
    problems = []
    for setting, module, extra in _needs(settings):
        try:
            importlib.import_module(module)
        except ImportError:
            problems.append(
                f"{setting} needs the '{extra}' extra ({module} is not installed): "
                f"pip install 'skybound[{extra}]'"
            )
    return problems
