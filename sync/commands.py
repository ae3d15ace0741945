"""Booking commands from devices: through the same quotes and rules as the REST API.

A command is quoted, checked against the limit the device sent (the most a seat
may cost, the least a cancellation must refund), and confirmed. A command the
rules refuse (the seat was taken meanwhile, the booking has flown) is rejected
with a reason, never retried by the server.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from domain.bookings.changes import ChangeConfirmation, ChangeService, SeatChange
from domain.bookings.errors import (
    AlreadyCancelled,
    AlreadyFlown,
    BookingNotChangeable,
    BookingNotFound,
    PaymentDeclined,
    PaymentMethodNotFound,
)
from domain.bookings.models import SavedCardPayment, SeatRequest
from domain.bookings.service import BookingService
from domain.identity.tokens import Claims
from domain.seating import (
    ExitRowRestricted,
    PassengerAlreadySeated,
    SeatMapUnavailable,
    SeatUnavailable,
    UnknownSeat,
)
from foundation.errors import SkyboundError, ValidationFailed
from sync.protocol import CancellationRequest, SeatChangeRequest

Command = SeatChangeRequest | CancellationRequest

# A device acts for its user only: staff roles that reach other people's bookings over
# REST do not apply to their own sync.
_OWNER_ONLY: frozenset[str] = frozenset()

# First match wins: subclasses before their bases.
_REASONS: tuple[tuple[type[SkyboundError], str], ...] = (
    (BookingNotFound, "booking_not_found"),
    (AlreadyCancelled, "already_cancelled"),
    (AlreadyFlown, "already_flown"),
    (BookingNotChangeable, "not_changeable"),
    (SeatUnavailable, "seat_unavailable"),
    (PassengerAlreadySeated, "seat_unavailable"),
    (SeatMapUnavailable, "seat_map_unavailable"),
    (UnknownSeat, "unknown_seat"),
    (ExitRowRestricted, "exit_row_restricted"),
    (PaymentMethodNotFound, "payment_method_not_found"),
    (PaymentDeclined, "payment_declined"),
    (ValidationFailed, "invalid_request"),
)
REFUSALS = tuple(kind for kind, _ in _REASONS)

# The REST change request's field names, as the mutation's arguments call them.
_REST_FIELD = re.compile(r"^(?:change\.seats\[0\]|payment)\.?")


class Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def rejection(exc: SkyboundError, where: str) -> Rejected:
    """The domain's refusal as a command result: a reason and a readable detail."""
    reason = next(r for kind, r in _REASONS if isinstance(exc, kind))
    detail = exc.detail or exc.title
    if isinstance(exc, ValidationFailed) and exc.errors:
        detail = "; ".join(
            f"{_REST_FIELD.sub(f'{where}.args.', e.field)}: {e.message}" for e in exc.errors
        )
    return Rejected(reason, detail)


@dataclass(frozen=True, slots=True)
class BookingCommands:
    bookings: BookingService
    changes: ChangeService

    async def quote(self, command: Command, user: Claims) -> uuid.UUID:
        """A quote for the command, within the device's limits; else Rejected."""
        if isinstance(command, SeatChangeRequest):
            seat = SeatRequest(flight_id=command.flight_id, passenger=command.passenger,
                               seat=command.seat)  # fmt: skip
            quote = await self.changes.quote(
                command.booking_id, SeatChange(type="seats", seats=[seat]), user.user_id,
                _OWNER_ONLY,
            )  # fmt: skip
            charge = quote.charge.amount_minor
            if charge > command.max_charge_minor:
                raise Rejected(
                    "price_exceeds_limit",
                    f"The seat costs {charge} {quote.charge.currency} (minor units), more than "
                    f"max_charge_minor {command.max_charge_minor}.",
                )
            if charge > 0 and command.payment_method_id is None:
                raise Rejected("payment_required",
                               "The seat costs money: send payment_method_id.")  # fmt: skip
            return quote.id
        quote = await self.bookings.quote_cancellation(
            command.booking_id, user.user_id, _OWNER_ONLY
        )
        refund = quote.refund.amount_minor
        if refund < command.min_refund_minor:
            raise Rejected(
                "refund_below_minimum",
                f"Cancelling now refunds {refund} {quote.refund.currency} (minor units), less "
                f"than min_refund_minor {command.min_refund_minor}.",
            )
        return quote.id

    async def confirm(self, command: Command, quote_id: uuid.UUID, user: Claims) -> None:
        if isinstance(command, SeatChangeRequest):
            payment = None
            if command.payment_method_id is not None:
                payment = SavedCardPayment(type="saved_card",
                                           payment_method_id=command.payment_method_id)  # fmt: skip
            await self.changes.confirm(
                command.booking_id, ChangeConfirmation(quote_id=quote_id, payment=payment),
                user.user_id, _OWNER_ONLY,
            )  # fmt: skip
            return
        await self.bookings.cancel(command.booking_id, quote_id, user.user_id, _OWNER_ONLY)
