"""The problems a sync request can run into, each with its own problem ``type``."""

from __future__ import annotations

from typing import Any

import orjson

from foundation.errors import (
    Conflict,
    FieldError,
    ServiceUnavailable,
    ValidationFailed,
)
from sync.protocol import SCHEMA_VERSION


class SchemaMismatch(Conflict):
    """The client's records or mutations have another shape than this server's."""

    slug = "sync-schema-mismatch"
    title = "Sync schema version not supported"

    def __init__(self, client_version: int) -> None:
        super().__init__(
            f"This server speaks sync schema {SCHEMA_VERSION}, the client {client_version}. "
            "Drop the local copy and pull from a null cursor with the server's schema_version.",
            client_schema_version=client_version,
            schema_version=SCHEMA_VERSION,
            action="reset",
            reset={"cursor": None, "schema_version": SCHEMA_VERSION},
        )


def invalid_cursor(message: str) -> ValidationFailed:
    return ValidationFailed([FieldError("body.cursor", message, "invalid_cursor")])


def _plain(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results as JSON values, with times written as every sync response writes them."""
    plain: list[dict[str, Any]] = orjson.loads(orjson.dumps(results, option=orjson.OPT_UTC_Z))
    return plain


class MutationInvalid(ValidationFailed):
    """A mutation that cannot be applied as sent. Those before it were processed; their
    results are in ``results``, and ``last_mutation_id`` is the client's last one now."""

    slug = "sync-mutation-invalid"
    title = "A mutation is not valid"

    def __init__(
        self, errors: list[FieldError], results: list[dict[str, Any]], last_mutation_id: int
    ) -> None:
        super().__init__(errors)
        self.extensions = {"results": _plain(results), "last_mutation_id": last_mutation_id}


class PushInterrupted(ServiceUnavailable):
    """A mutation could not finish for a reason that will pass (the payment provider did
    not answer). Nothing of it is applied; push it again later."""

    slug = "sync-push-interrupted"
    title = "The push stopped at a mutation that can be retried"

    def __init__(self, detail: str, results: list[dict[str, Any]], last_mutation_id: int) -> None:
        super().__init__(detail, retry_after=5, results=_plain(results),
                         last_mutation_id=last_mutation_id)  # fmt: skip
