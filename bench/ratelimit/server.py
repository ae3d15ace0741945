"""The benchmark's server: Skybound's app, its settings from the environment (rate limits
on or off, memory or Redis), on uvloop."""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

from foundation.settings import Settings
from server.app import create_app


def main() -> None:
    port = int(sys.argv[1])
    settings = Settings.from_env(port=port, access_log=False, log_level="WARNING")
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        loop = asyncio.new_event_loop()
    web.run_app(create_app(settings), host="127.0.0.1", port=port, print=None, access_log=None,
                loop=loop)  # fmt: skip


if __name__ == "__main__":
    main()
