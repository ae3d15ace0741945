"""Payment providers: the interface bookings charge and refund through, and the
built-in ``simulated`` provider.

A provider call is keyed: the same idempotency key always denotes the same
charge, so a retried booking can never charge twice. A booking transaction
that fails after a successful charge voids it by that key, so a failure leaves
no charge behind.

The simulated provider moves no money. It keeps its ledger in the
``simulated_provider_ledger`` table, written outside the booking's transaction
as a real provider's records would be, and answers deterministically by card
number (the numbers are the usual test-card numbers of payment providers):

==================  ===============================================
4000000000000002    declined: ``card_declined``
4000000000009995    declined: ``insufficient_funds``
4000000000000119    charged, then the answer is lost: a timeout
any other card      charged
==================  ===============================================
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol

import asyncpg

from domain.cards import card_brand

DECLINING_CARDS = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}
TIMEOUT_CARD = "4000000000000119"


@dataclass(frozen=True, slots=True)
class Card:
    number: str
    exp_month: int
    exp_year: int
    holder_name: str

    @property
    def brand(self) -> str:
        return card_brand(self.number)

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True, slots=True)
class Charge:
    ref: str
    amount_minor: int
    currency: str


class Declined(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ProviderTimeout(Exception):
    """The provider did not answer: the charge may or may not have happened."""


class PaymentProvider(Protocol):
    name: str

    async def charge(
        self, card: Card, amount_minor: int, currency: str, idempotency_key: str
    ) -> Charge:
        """Capture the amount; raise Declined or ProviderTimeout."""
        ...

    async def void(self, idempotency_key: str) -> None:
        """Cancel whatever charge was made under the key, if any (idempotent)."""
        ...

    async def refund(
        self, charge_ref: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> str:
        """Refund part or all of a charge; returns the refund's reference."""
        ...


def provider_key(*parts: str) -> str:
    """A provider idempotency key from the parts that identify one attempt."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


_LEDGER_ENTRY = """
SELECT ref, status, decline_code, amount_minor, currency
FROM simulated_provider_ledger WHERE idempotency_key = $1
"""


class SimulatedProvider:
    """SIMULATED payment provider: deterministic answers, no money moves."""

    name = "simulated"

    def __init__(self, pool: asyncpg.Pool, *, latency: float = 0.0) -> None:
        self.pool = pool
        self.latency = latency

    async def _answer_delay(self) -> None:
        if self.latency:
            await asyncio.sleep(self.latency)

    async def charge(
        self, card: Card, amount_minor: int, currency: str, idempotency_key: str
    ) -> Charge:
        await self._answer_delay()
        decline = DECLINING_CARDS.get(card.number)
        row = await self.pool.fetchrow(
            """WITH inserted AS (
                   INSERT INTO simulated_provider_ledger
                       (ref, idempotency_key, kind, amount_minor, currency, status, decline_code)
                   VALUES ($1, $2, 'charge', $3, $4, $5, $6)
                   ON CONFLICT (idempotency_key) DO NOTHING
                   RETURNING ref, status, decline_code, amount_minor, currency)
               SELECT * FROM inserted
               UNION ALL
               SELECT ref, status, decline_code, amount_minor, currency
                 FROM simulated_provider_ledger WHERE idempotency_key = $2
               LIMIT 1""",
            "ch_sim_" + secrets.token_hex(12),
            idempotency_key,
            amount_minor,
            currency,
            "declined" if decline else "succeeded",
            decline,
        )
        if row is None:  # a concurrent call with the same key won; read what it recorded
            row = await self.pool.fetchrow(_LEDGER_ENTRY, idempotency_key)
        if row["status"] == "declined":
            raise Declined(row["decline_code"])
        if card.number == TIMEOUT_CARD:
            raise ProviderTimeout("simulated timeout after capture")
        return Charge(row["ref"], row["amount_minor"], row["currency"])

    async def void(self, idempotency_key: str) -> None:
        await self.pool.execute(
            """UPDATE simulated_provider_ledger SET status = 'voided'
               WHERE idempotency_key = $1 AND status = 'succeeded'""",
            idempotency_key,
        )

    async def refund(
        self, charge_ref: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> str:
        await self._answer_delay()
        ref: str | None = await self.pool.fetchval(
            """WITH inserted AS (
                   INSERT INTO simulated_provider_ledger
                       (ref, idempotency_key, kind, charge_ref, amount_minor, currency, status)
                   VALUES ($1, $2, 'refund', $3, $4, $5, 'succeeded')
                   ON CONFLICT (idempotency_key) DO NOTHING
                   RETURNING ref)
               SELECT ref FROM inserted
               UNION ALL
               SELECT ref FROM simulated_provider_ledger WHERE idempotency_key = $2
               LIMIT 1""",
            "re_sim_" + secrets.token_hex(12),
            idempotency_key,
            charge_ref,
            amount_minor,
            currency,
        )
        if ref is None:
            ref = (await self.pool.fetchrow(_LEDGER_ENTRY, idempotency_key))["ref"]
        return ref
