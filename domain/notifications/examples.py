"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

CAMPAIGN: dict[str, Any] = {
    "id": "a33abf02-8f05-4f46-9939-95dd5e1d8af6",
    "name": "Winter sun",
    "content": {
        "en": {
            "subject": "Winter sun from $99",
            "html": "<p>Fly south, {{ given_name }}.</p>",
            "text": "Fly south, {{ given_name }}.",
        }
    },
    "home_airport": None,
    "route": None,
    "created_at": "2026-12-02T11:26:37.445250Z",
    "sent_at": None,
    "recipients": None,
}
