"""The recipient's language: translated phrases, and dates, times and money as their
locale writes them (Babel), each time in its airport's zone, named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date, format_time, get_timezone_name
from babel.numbers import format_currency, get_currency_precision

from domain.notifications.phrases import PHRASES

DEFAULT_LANGUAGE = "en"
LANGUAGES = tuple(PHRASES)


def language_of(preference: str | None) -> str:
    """A supported language for a BCP 47 preference (``pt-BR`` -> ``pt``), else English."""
    if not preference:
        return DEFAULT_LANGUAGE
    primary = preference.replace("_", "-").split("-")[0].lower()
    return primary if primary in PHRASES else DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Speaker:
    """Writes phrases, dates, times and money in one language."""

    language: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    def __call__(self, key: str, **values: Any) -> str:
        phrase = PHRASES[self.language].get(key) or PHRASES[DEFAULT_LANGUAGE][key]
        return phrase.format(**values)

    def date(self, moment: datetime) -> str:
        """The local date of an aware ``moment``, in full (``Tuesday, 1 December 2026``)."""
        return format_date(moment, format="full", locale=self.language)

    def time(self, moment: datetime) -> str:
        """The wall-clock time of an aware ``moment`` in its own zone."""
        return format_time(moment, format="short", tzinfo=moment.tzinfo, locale=self.language)

    def zone_name(self, moment: datetime) -> str:
        """The zone's name as this language says it (``Eastern Standard Time``)."""
        return get_timezone_name(moment, width="long", locale=self.language)

    def when(self, moment: datetime) -> str:
        """Date, time and zone: ``Tuesday, 1 December 2026 18:00 (Eastern Standard Time)``."""
        return f"{self.date(moment)} {self.time(moment)} ({self.zone_name(moment)})"

    def money(self, amount_minor: int, currency: str) -> str:
        digits = get_currency_precision(currency)
        return format_currency(
            Decimal(amount_minor).scaleb(-digits), currency, locale=self.language
        )
