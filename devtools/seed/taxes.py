"""Tax rules: taxes, airport charges and carrier surcharges of the order airlines collect.

Amounts are of the order published for 2025-2026 (rounded; an airline's real figures vary
with the date of issue and the exact airport). They make the demo's prices look like real
tickets: a New York to London economy fare carries the US international transportation
tax and the customs, immigration and agriculture fees into the US, the September 11
security fee and a passenger facility charge out of it, the UK's air passenger duty and
Heathrow's passenger service charge out of London, and the carrier's surcharges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from domain.reference import LeviedOn, TaxKind, TaxRoute


@dataclass(frozen=True, slots=True)
class TaxRuleSeed:
    code: str
    name: str
    kind: TaxKind
    levied_on: LeviedOn = "departure"
    country: str | None = None
    airport: str | None = None
    carrier: str | None = None
    route: TaxRoute = "any"
    premium: bool | None = None  # None: every cabin; False: economy; True: above economy
    amount_minor: int | None = None
    currency: str | None = None
    percent_bp: int | None = None
    children: bool = True
    infants: bool = False
    max_per_slice: int | None = None


class _FixedAmount(TypedDict):
    amount_minor: int
    currency: str


def _usd(amount_minor: int) -> _FixedAmount:
    return {"amount_minor": amount_minor, "currency": "USD"}


_US_INTL = "US International Transportation Tax"
_APD = "UK Air Passenger Duty"

TAX_RULES: tuple[TaxRuleSeed, ...] = (
    # United States
    TaxRuleSeed(
        "US", "US Transportation Tax", "government", country="US", route="domestic", percent_bp=750
    ),
    TaxRuleSeed(
        "US",
        _US_INTL,
        "government",
        country="US",
        route="international",
        infants=True,
        **_usd(2290),
    ),
    TaxRuleSeed(
        "US", _US_INTL, "government", levied_on="arrival", country="US", infants=True, **_usd(2290)
    ),
    TaxRuleSeed(
        "YC",
        "US Customs User Fee",
        "government",
        levied_on="arrival",
        country="US",
        infants=True,
        **_usd(693),
    ),
    TaxRuleSeed(
        "XY",
        "US Immigration User Fee",
        "government",
        levied_on="arrival",
        country="US",
        infants=True,
        **_usd(700),
    ),
    TaxRuleSeed(
        "XA",
        "US APHIS User Fee",
        "government",
        levied_on="arrival",
        country="US",
        infants=True,
        **_usd(393),
    ),
    TaxRuleSeed(
        "AY",
        "US September 11th Security Fee",
        "government",
        country="US",
        max_per_slice=2,
        **_usd(560),
    ),
    TaxRuleSeed(
        "ZP", "US Flight Segment Tax", "government", country="US", route="domestic", **_usd(530)
    ),
    TaxRuleSeed(
        "XF", "US Passenger Facility Charge", "airport", country="US", max_per_slice=4, **_usd(450)
    ),
    # United Kingdom: duty by distance band and cabin; children under 16 pay none in
    # economy. Heathrow and Gatwick passenger service charges.
    TaxRuleSeed(
        "GB",
        _APD,
        "government",
        country="GB",
        route="short_haul",
        premium=False,
        children=False,
        amount_minor=1500,
        currency="GBP",
    ),
    TaxRuleSeed(
        "GB",
        _APD,
        "government",
        country="GB",
        route="long_haul",
        premium=False,
        children=False,
        amount_minor=10200,
        currency="GBP",
    ),
    TaxRuleSeed(
        "GB",
        _APD,
        "government",
        country="GB",
        route="short_haul",
        premium=True,
        amount_minor=3200,
        currency="GBP",
    ),
    TaxRuleSeed(
        "GB",
        _APD,
        "government",
        country="GB",
        route="long_haul",
        premium=True,
        amount_minor=24400,
        currency="GBP",
    ),
    TaxRuleSeed(
        "UB",
        "Heathrow Passenger Service Charge",
        "airport",
        airport="LHR",
        amount_minor=5595,
        currency="GBP",
    ),
    TaxRuleSeed(
        "UB",
        "Gatwick Passenger Service Charge",
        "airport",
        airport="LGW",
        amount_minor=2181,
        currency="GBP",
    ),
    # France: civil aviation and solidarity taxes; Paris airport charge.
    TaxRuleSeed(
        "FR",
        "French Civil Aviation and Solidarity Tax",
        "government",
        country="FR",
        route="short_haul",
        premium=False,
        amount_minor=1206,
        currency="EUR",
    ),
    TaxRuleSeed(
        "FR",
        "French Civil Aviation and Solidarity Tax",
        "government",
        country="FR",
        route="long_haul",
        premium=False,
        amount_minor=2339,
        currency="EUR",
    ),
    TaxRuleSeed(
        "FR",
        "French Civil Aviation and Solidarity Tax",
        "government",
        country="FR",
        premium=True,
        amount_minor=8839,
        currency="EUR",
    ),
    TaxRuleSeed(
        "QX", "Paris Airport Tax", "airport", airport="CDG", amount_minor=1326, currency="EUR"
    ),
    # Germany: air transport tax by distance band.
    TaxRuleSeed(
        "DE",
        "German Air Transport Tax",
        "government",
        country="DE",
        route="short_haul",
        amount_minor=1553,
        currency="EUR",
    ),
    TaxRuleSeed(
        "DE",
        "German Air Transport Tax",
        "government",
        country="DE",
        route="long_haul",
        amount_minor=7083,
        currency="EUR",
    ),
    # Canada, Australia, Japan: security charge, passenger movement charge, departure tax.
    TaxRuleSeed(
        "CA",
        "Air Travellers Security Charge",
        "government",
        country="CA",
        route="international",
        amount_minor=2591,
        currency="CAD",
    ),
    TaxRuleSeed(
        "AU",
        "Passenger Movement Charge",
        "government",
        country="AU",
        route="international",
        amount_minor=7000,
        currency="AUD",
    ),
    TaxRuleSeed(
        "OI",
        "International Tourist Tax",
        "government",
        country="JP",
        route="international",
        amount_minor=1000,
        currency="JPY",
    ),
)


def carrier_surcharges(carriers: tuple[str, ...]) -> tuple[TaxRuleSeed, ...]:
    """Every carrier's fuel (YQ) surcharge by haul and its carrier-imposed (YR) fee."""
    rules = []
    for code in carriers:
        rules += [
            TaxRuleSeed("YQ", "Carrier Fuel Surcharge", "carrier", carrier=code,
                        route="short_haul", children=True, **_usd(1800)),
            TaxRuleSeed("YQ", "Carrier Fuel Surcharge", "carrier", carrier=code,
                        route="long_haul", children=True, **_usd(8500)),
            TaxRuleSeed("YR", "Carrier-Imposed Fee", "carrier", carrier=code, **_usd(500)),
        ]  # fmt: skip
    return tuple(rules)
