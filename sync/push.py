"""Push: a device's mutations, applied in order, each once, each in its own transaction.

A data mutation's effect, its outcome and the device's new last id commit together:
the transaction ends by raising ``sync_clients.last_mutation_id`` to the mutation's
id only if it is still below it. A retry racing the original (both read an older
last id) waits there for the original's commit, finds the id taken, and rolls its
own work back. A mutation id at or below the device's last one is answered with the
outcome stored the first time and not applied again.

A booking command confirms a quote in the booking domain's own transaction, so
it takes three steps: quote and record the quote id as ``pending`` (holding the
device's row, so a racing retry waits and then reuses that quote); confirm; record
the outcome. A retry after a crash in between finds the pending quote and confirms
that same quote, which the booking domain answers at most once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, cast

import asyncpg
from pydantic import BaseModel, ValidationError

from domain.bookings.errors import (
    PaymentProviderUnavailable,
    QuoteExpired,
    QuoteNotFound,
    QuoteStale,
)
from domain.identity.tokens import Claims
from domain.travel_documents import TravelDocuments
from foundation.errors import FieldError
from sync import mutations
from sync.clock import Clock, capped
from sync.commands import REFUSALS, BookingCommands, Command, Rejected, rejection
from sync.errors import MutationInvalid, PushInterrupted
from sync.mutations import Outcome, Status
from sync.protocol import MUTATION_ARGS, CancellationRequest, Mutation, SeatChangeRequest
from sync.records import read_trips, tombstone

# Outcomes kept per device, for answering retries.
KEPT_OUTCOMES = 1000

_ENSURE_CLIENT = """
INSERT INTO sync_clients (user_id, client_id) VALUES ($1, $2)
ON CONFLICT (user_id, client_id) DO UPDATE SET last_push_at = now()
RETURNING last_mutation_id
"""

_LOCK_CLIENT = """
SELECT last_mutation_id FROM sync_clients WHERE user_id = $1 AND client_id = $2 FOR UPDATE
"""

_STORED = """
SELECT status, reason, quote_id FROM sync_mutations
WHERE user_id = $1 AND client_id = $2 AND mutation_id = $3
"""

_STORED_MANY = """
SELECT mutation_id, status, reason FROM sync_mutations
WHERE user_id = $1 AND client_id = $2 AND mutation_id = ANY($3::bigint[])
"""

_PENDING = """
INSERT INTO sync_mutations (user_id, client_id, mutation_id, name, status, quote_id)
VALUES ($1, $2, $3, $4, 'pending', $5)
ON CONFLICT (user_id, client_id, mutation_id) DO UPDATE SET quote_id = EXCLUDED.quote_id
"""

# The device's new last id and the outcome, in one statement; nothing when another push
# of the device processed the mutation first (then the caller rolls back). event_id: the
# newest event of what the mutation wrote, its own uncommitted one included.
_RECORD = """
WITH claimed AS (
    UPDATE sync_clients SET last_mutation_id = $3
    WHERE user_id = $1 AND client_id = $2 AND last_mutation_id < $3
    RETURNING user_id
), outcome AS (
    INSERT INTO sync_mutations (user_id, client_id, mutation_id, name, status, reason, event_id)
    SELECT $1, $2, $3, $4, $5, $6,
           (SELECT max(id) FROM change_events WHERE entity = $7 AND entity_id = ANY($8::text[]))
    FROM claimed
    ON CONFLICT (user_id, client_id, mutation_id) DO UPDATE
        SET status = EXCLUDED.status, reason = EXCLUDED.reason, event_id = EXCLUDED.event_id,
            processed_at = now()
)
SELECT count(*) FROM claimed
"""

_FORGET = """
DELETE FROM sync_mutations WHERE user_id = $1 AND client_id = $2 AND mutation_id <= $3
"""

_LAST = "SELECT last_mutation_id FROM sync_clients WHERE user_id = $1 AND client_id = $2"

Apply = Callable[[asyncpg.Connection, uuid.UUID, Any, Clock], Awaitable[Outcome]]

_DATA: dict[str, Apply] = {
    "preferences.update": mutations.update_preferences,
    "trip_notes.upsert": mutations.upsert_note,
    "trip_notes.delete": mutations.delete_note,
    "notifications.mark_read": mutations.mark_read,
}


def _location(where: str, loc: tuple[int | str, ...]) -> str:
    return where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)


def _errors(exc: ValidationError, where: str) -> list[FieldError]:
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        message = "Unknown field." if error["type"] == "extra_forbidden" else str(error["msg"])
        found.append(FieldError(_location(where, tuple(error["loc"])), message, error["type"]))
    return found


def _result(mutation_id: int, outcome: Outcome, replayed: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"id": mutation_id, "status": outcome.status}
    if outcome.reason is not None:
        result["reason"] = outcome.reason
    if outcome.detail is not None:
        result["detail"] = outcome.detail
    result["records"] = [record.change() for record in outcome.records]
    if replayed:
        result["replayed"] = True
    return result


class AlreadyProcessed(Exception):
    """Another push of the device processed this mutation first: roll back, replay."""


def _replayed(mutation_id: int, stored: asyncpg.Record | None) -> dict[str, Any]:
    if stored is None or stored["status"] == "pending":
        outcome = Outcome("applied", detail="Processed earlier; the outcome is no longer kept.")
    else:
        outcome = Outcome(cast(Status, stored["status"]), reason=stored["reason"])
    return _result(mutation_id, outcome, replayed=True)


class Push:
    """One push request of one device."""

    def __init__(
        self, conn: asyncpg.Connection, commands: BookingCommands, user: Claims, client_id: str,
        documents: TravelDocuments,
    ) -> None:  # fmt: skip
        self.conn = conn
        # Travellers carry travel documents, sealed and opened with the documents' keys.
        self._data: dict[str, Apply] = {
            **_DATA,
            "travelers.upsert": partial(mutations.upsert_traveler, documents=documents),
            "travelers.delete": partial(mutations.delete_traveler, documents=documents),
        }
        self.commands = commands
        self.user = user
        self.user_id = user.user_id
        self.client_id = client_id
        self.results: list[dict[str, Any]] = []
        self.last = 0
        # Retries answered together, in one query: result index -> mutation id.
        self._replays: dict[int, int] = {}

    async def last_mutation_id(self) -> int:
        return int(await self.conn.fetchval(_LAST, self.user_id, self.client_id) or 0)

    async def invalid(self, errors: list[FieldError]) -> MutationInvalid:
        await self._answer_replays()
        return MutationInvalid(errors, self.results, await self.last_mutation_id())

    async def run(self, raw_mutations: list[Any]) -> dict[str, Any]:
        self.last = int(await self.conn.fetchval(_ENSURE_CLIENT, self.user_id, self.client_id))
        previous: int | None = None
        for index, raw in enumerate(raw_mutations):
            where = f"body.mutations[{index}]"
            try:
                mutation = Mutation.model_validate(raw)
            except ValidationError as exc:
                raise await self.invalid(_errors(exc, where)) from None
            if previous is not None and mutation.id <= previous:
                raise await self.invalid([FieldError(
                    f"{where}.id", f"Mutation ids must increase: {mutation.id} follows {previous}.",
                    "not_increasing",
                )])  # fmt: skip
            previous = mutation.id
            if mutation.id <= self.last:
                self._replays[len(self.results)] = mutation.id
                self.results.append({})
                continue
            clock = Clock.parse(mutation.client_time)
            if clock.node != self.client_id:
                raise await self.invalid([FieldError(
                    f"{where}.client_time", "The clock's node must be your client_id.",
                    "foreign_clock",
                )])  # fmt: skip
            model = MUTATION_ARGS.get(mutation.name)
            if model is None:
                raise await self.invalid([FieldError(
                    f"{where}.name", f"Unknown mutation; one of {', '.join(MUTATION_ARGS)}.",
                    "unknown_mutation",
                )])  # fmt: skip
            await self._answer_replays()  # in order, before anything can stop the push
            self.results.append(await self.apply(mutation, model, capped(clock), where))
        await self._answer_replays()
        last = await self.last_mutation_id()
        if last > KEPT_OUTCOMES:
            await self.conn.execute(_FORGET, self.user_id, self.client_id, last - KEPT_OUTCOMES)
        return {"results": self.results, "last_mutation_id": last}

    async def _answer_replays(self) -> None:
        if not self._replays:
            return
        rows = await self.conn.fetch(_STORED_MANY, self.user_id, self.client_id,
                                     list(self._replays.values()))  # fmt: skip
        stored = {row["mutation_id"]: row for row in rows}
        for index, mutation_id in self._replays.items():
            self.results[index] = _replayed(mutation_id, stored.get(mutation_id))
        self._replays.clear()

    async def _replay(self, mutation_id: int) -> dict[str, Any]:
        self.last = max(self.last, mutation_id)
        stored = await self.conn.fetchrow(_STORED, self.user_id, self.client_id, mutation_id)
        return _replayed(mutation_id, stored)

    async def _record(self, mutation: Mutation, outcome: Outcome) -> None:
        claimed = await self.conn.fetchval(
            _RECORD, self.user_id, self.client_id, mutation.id, mutation.name, outcome.status,
            outcome.reason, outcome.entity, outcome.entity_ids,
        )  # fmt: skip
        if not claimed:
            raise AlreadyProcessed()
        self.last = mutation.id

    def _arguments(self, mutation: Mutation, model: type[BaseModel], where: str) -> Any:
        try:
            return model.model_validate(mutation.args)
        except ValidationError as exc:
            raise MutationInvalid(_errors(exc, f"{where}.args"), [], 0) from None

    async def apply(
        self, mutation: Mutation, model: type[BaseModel], clock: Clock, where: str
    ) -> dict[str, Any]:
        if mutation.name not in self._data:
            return await self.command(mutation, model, where)
        try:
            args = self._arguments(mutation, model, where)
        except MutationInvalid as exc:
            raise await self.invalid(exc.errors) from None
        for attempt in range(2):
            try:
                async with self.conn.transaction():
                    outcome = await self._data[mutation.name](self.conn, self.user_id, args, clock)
                    await self._record(mutation, outcome)
            except AlreadyProcessed:
                return await self._replay(mutation.id)
            except asyncpg.UniqueViolationError:
                # A racing retry created the same record first; once more, it is an update.
                if attempt:
                    raise
                continue
            return _result(mutation.id, outcome)
        raise AssertionError("unreachable")

    # Commands ---------------------------------------------------------------------------

    async def command(
        self, mutation: Mutation, model: type[BaseModel], where: str
    ) -> dict[str, Any]:
        try:
            args: Command = self._arguments(mutation, model, where)
        except MutationInvalid as exc:
            raise await self.invalid(exc.errors) from None
        # Holding the device's row while quoting: a racing retry waits, then finds the
        # pending quote and confirms that one instead of taking a second.
        async with self.conn.transaction():
            if mutation.id <= await self.conn.fetchval(_LOCK_CLIENT, self.user_id,
                                                       self.client_id):  # fmt: skip
                return await self._replay(mutation.id)
            stored = await self.conn.fetchrow(_STORED, self.user_id, self.client_id, mutation.id)
            quote_id = stored["quote_id"] if stored is not None else None
            if quote_id is None:
                try:
                    quote_id = await self.commands.quote(args, self.user)
                except Rejected as exc:
                    outcome = await self._refused(args, exc.reason, exc.detail)
                    await self._record(mutation, outcome)
                    return _result(mutation.id, outcome)
                except REFUSALS as exc:
                    refused = rejection(exc, where)
                    outcome = await self._refused(args, refused.reason, refused.detail)
                    await self._record(mutation, outcome)
                    return _result(mutation.id, outcome)
                await self.conn.execute(_PENDING, self.user_id, self.client_id, mutation.id,
                                        mutation.name, quote_id)  # fmt: skip
        outcome = await self._confirm(mutation, args, quote_id, where)
        try:
            async with self.conn.transaction():
                await self._record(mutation, outcome)
        except AlreadyProcessed:
            return await self._replay(mutation.id)  # a racing retry finished it first
        return _result(mutation.id, outcome)

    async def _confirm(
        self, mutation: Mutation, args: Command, quote_id: uuid.UUID | None, where: str
    ) -> Outcome:
        # Twice at most: a quote that expired or went stale (a crash between quoting and
        # confirming, a concurrent change) is replaced by a fresh one, checked again.
        for attempt in range(2):
            try:
                if quote_id is None:
                    quote_id = await self.commands.quote(args, self.user)
                    await self.conn.execute(_PENDING, self.user_id, self.client_id, mutation.id,
                                            mutation.name, quote_id)  # fmt: skip
                await self.commands.confirm(args, quote_id, self.user)
            except Rejected as exc:
                return await self._refused(args, exc.reason, exc.detail)
            except (QuoteExpired, QuoteStale, QuoteNotFound) as exc:
                if attempt == 1:
                    return await self._refused(args, "booking_changed", exc.detail or exc.title)
                quote_id = None
                continue
            except PaymentProviderUnavailable as exc:
                raise PushInterrupted(
                    f"Mutation {mutation.id}: {exc.detail or exc.title}", self.results,
                    await self.last_mutation_id(),
                ) from None  # fmt: skip
            except REFUSALS as exc:
                refused = rejection(exc, where)
                return await self._refused(args, refused.reason, refused.detail)
            booking = str(args.booking_id)
            return Outcome("applied", await self._trip(args), entity="booking",
                           entity_ids=[booking])  # fmt: skip
        raise AssertionError("unreachable")

    async def _refused(self, args: Command, reason: str, detail: str) -> Outcome:
        return Outcome("rejected", await self._trip(args), reason, detail)

    async def _trip(self, args: SeatChangeRequest | CancellationRequest) -> list[Any]:
        """The trip as the server has it now: what the device shows instead of its guess."""
        key = str(args.booking_id)
        return list((await read_trips(self.conn, self.user_id, [key])).values()) or [
            tombstone("trips", key)
        ]
