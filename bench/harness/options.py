"""Argument types the benchmarks' command lines share."""

from __future__ import annotations

import argparse


def _whole(text: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from exc


def positive(text: str) -> int:
    """A whole number, 1 or more (``10_000`` allowed)."""
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def non_negative(text: str) -> int:
    """A whole number, 0 or more (``10_000`` allowed)."""
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def positive_list(text: str) -> list[int]:
    """A comma-separated list of whole numbers, each 1 or more: ``1,16`` or ``1000,10_000``."""
    try:
        values = [int(part.strip().replace("_", "")) for part in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from exc
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("every value must be 1 or more")
    return values
