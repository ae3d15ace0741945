"""Conditional writes: the ``ETag`` of a versioned resource and the ``If-Match`` that
names the versions a write was made against (RFC 9110, section 13.1.1)."""

from __future__ import annotations

import re

from aiohttp import web

from foundation.errors import FieldError, PreconditionRequired, ValidationFailed

IF_MATCH = (
    "If-Match",
    'The ETag of the version this change was made against, e.g. "7" (from GET '
    "/v1/flights/{flight_id} or the last write). A stale one is refused with 412.",
    True,
)
ETAG = ("ETag", "The resource's version, to send back as If-Match with a change.")

# A strong entity-tag holding a version number; weak tags never match a write.
_ENTITY_TAG = re.compile(r'^"([0-9]{1,9})"$')


class IfMatchRequired(PreconditionRequired):
    slug = "if-match-required"
    title = "Say which version you are changing"

    def __init__(self) -> None:
        super().__init__(
            'Send If-Match with the ETag you read (e.g. If-Match: "7"), so a change made '
            "meanwhile is not overwritten."
        )


def etag(version: int) -> str:
    return f'"{version}"'


def expected_versions(request: web.Request) -> list[int]:
    """The versions ``If-Match`` names (428 without it; 422 for anything unreadable).
    ``*`` is refused: it says the resource exists, not which version was read."""
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise IfMatchRequired()
    versions = []
    for tag in header.split(","):
        match = _ENTITY_TAG.match(tag.strip())
        if match is None:
            raise ValidationFailed([FieldError(
                "header.If-Match", 'Give the ETag as sent, a quoted version such as "7".',
                "if_match")])  # fmt: skip
        versions.append(int(match[1]))
    return versions
