"""Money movements after the sale: extra charges and refunds, each recorded in
``payments`` with its own status, keyed so that a retry never moves money twice."""

from __future__ import annotations

import logging
import uuid

import asyncpg

from domain.bookings.payments import Card, PaymentProvider, provider_key

log = logging.getLogger(__name__)


async def record_charge(
    conn: asyncpg.Connection,
    provider: PaymentProvider,
    booking_id: uuid.UUID,
    card: Card,
    amount_minor: int,
    currency: str,
    ref: str,
    reason: str,
    payment_method_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider,
                                 provider_ref, card_brand, card_last4, reason, payment_method_id)
           VALUES ($1, 'charge', $2, $3, 'succeeded', $4, $5, $6, $7, $8, $9)""",
        booking_id, amount_minor, currency, provider.name, ref, card.brand, card.last4, reason,
        payment_method_id,
    )  # fmt: skip


async def refund(
    conn: asyncpg.Connection,
    provider: PaymentProvider,
    booking_id: uuid.UUID,
    amount_minor: int,
    currency: str,
    *,
    key: str,
    reason: str,
) -> int:
    """Refund ``amount_minor`` against the booking's charges, oldest first, each at most
    what is left of it. Returns the amount refunded successfully; a refund the provider
    fails is recorded as ``failed`` for an operator to retry, and does not undo the
    change that caused it."""
    charges = await conn.fetch(
        """SELECT c.id, c.provider_ref, c.amount_minor - coalesce(
                      (SELECT sum(r.amount_minor) FROM payments r
                        WHERE r.refund_of = c.id AND r.status <> 'failed'), 0) AS left_minor
           FROM payments c
           WHERE c.booking_id = $1 AND c.kind = 'charge' AND c.status = 'succeeded'
           ORDER BY c.created_at, c.id""",
        booking_id,
    )
    remaining = amount_minor
    refunded = 0
    for charge in charges:
        part = min(remaining, charge["left_minor"])
        if part <= 0:
            continue
        status, ref = "succeeded", None
        try:
            ref = await provider.refund(
                charge["provider_ref"], part, currency, provider_key(key, str(charge["id"]))
            )
            refunded += part
        except Exception:
            log.exception("refund failed; recorded for a retry")
            status = "failed"
        await conn.execute(
            """INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider,
                                     provider_ref, refund_of, reason)
               VALUES ($1, 'refund', $2, $3, $4, $5, $6, $7, $8)""",
            booking_id, part, currency, status, provider.name, ref, charge["id"], reason,
        )  # fmt: skip
        remaining -= part
        if remaining == 0:
            break
    return refunded
