"""Waiting for something that happens in the background: a liveness bound, not a timing.

The bound only keeps a broken test from hanging; how fast things happen is measured in
bench/, never asserted here.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

Check = Callable[[], bool | Awaitable[bool]]


async def eventually(check: Check, within: float = 10.0, *, what: str = "condition") -> None:
    """Poll ``check`` (plain or async) until it holds; fail once ``within`` seconds pass."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > give_up:
            raise AssertionError(f"{what} not met in time")
        await asyncio.sleep(0.02)
