"""The problems a booking request can run into, each with its own problem ``type``."""

from __future__ import annotations

from foundation.errors import (
    Conflict,
    FieldError,
    Gone,
    InvalidInput,
    NotFound,
    PaymentFailed,
    ServiceUnavailable,
    ValidationFailed,
)


class BookingNotFound(NotFound):
    slug = "booking-not-found"
    title = "Booking not found"

    def __init__(self) -> None:
        # The same answer for "no such booking" and "not yours": ids cannot be probed.
        super().__init__("No booking with this id is visible to you.")


class InvalidOffer(ValidationFailed):
    slug = "offer-invalid"
    title = "The offer id is not valid"

    def __init__(self) -> None:
        super().__init__(
            [FieldError("offer_id", "Not an offer id issued by this server.", "offer_invalid")]
        )


class OfferExpired(Gone):
    slug = "offer-expired"
    title = "The offer has expired"


class PriceChanged(Conflict):
    slug = "price-changed"
    title = "The price of the offer has changed"


class SoldOut(Conflict):
    slug = "sold-out"
    title = "Not enough seats left"


class FlightNotBookable(Conflict):
    slug = "flight-not-bookable"
    title = "A flight of the offer can no longer be booked"


class PassengersMismatch(ValidationFailed):
    slug = "passengers-mismatch"
    title = "The passengers do not match the offer"


class InvalidPassenger(ValidationFailed):
    slug = "invalid-passenger"
    title = "A passenger's details are not valid"


class IdempotencyKeyReused(InvalidInput):
    slug = "idempotency-key-reused"
    title = "The Idempotency-Key was used for a different request"


class IdempotencyKeyRequired(ValidationFailed):
    slug = "idempotency-key-required"
    title = "An Idempotency-Key header is required"

    def __init__(self) -> None:
        super().__init__(
            [
                FieldError(
                    "header.Idempotency-Key",
                    "Send a unique key (1-255 printable characters) per booking attempt.",
                    "missing",
                )
            ]
        )


class PaymentMethodNotFound(ValidationFailed):
    slug = "payment-method-unknown"
    title = "The saved payment method does not exist"

    def __init__(self) -> None:
        super().__init__(
            [FieldError("payment.payment_method_id", "No such saved card.", "not_found")]
        )


class PaymentDeclined(PaymentFailed):
    slug = "payment-declined"
    title = "The payment was declined"


class PaymentProviderUnavailable(ServiceUnavailable):
    slug = "payment-provider-unavailable"
    title = "The payment provider did not answer"


class BookingNotChangeable(Conflict):
    slug = "booking-not-changeable"
    title = "The booking cannot be changed this way"


class AlreadyCancelled(Conflict):
    slug = "booking-already-cancelled"
    title = "The booking is already cancelled"


class AlreadyFlown(Conflict):
    slug = "booking-already-flown"
    title = "The booking has already been flown"


class QuoteNotFound(NotFound):
    slug = "quote-not-found"
    title = "Quote not found"


class QuoteExpired(Gone):
    slug = "quote-expired"
    title = "The quote has expired"


class QuoteStale(Conflict):
    slug = "quote-stale"
    title = "The booking changed after the quote was made"


def field_errors(*errors: tuple[str, str, str]) -> list[FieldError]:
    return [FieldError(location, message, kind) for location, message, kind in errors]
