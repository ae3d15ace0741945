"""The peer: a bare aiohttp hello world, the ceiling Skybound's figures are compared against.

One route returning a small JSON body, no middleware, no access log, uvloop when
installed, and ``--workers N`` processes sharing one port with SO_REUSEPORT, the
same way ``skybound serve --workers N`` runs.

    python bench/peers/hello.py --port 8099 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
from collections.abc import Sequence

from aiohttp import web

BODY = b'{"message":"hello"}'


async def hello(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/json")


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/", hello)
    return app


def serve_one(host: str, port: int) -> None:
    """Run one process until SIGINT or SIGTERM."""
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - Windows
        loop = asyncio.new_event_loop()
    web.run_app(
        create_app(),
        host=host,
        port=port,
        reuse_port=True,
        access_log=None,
        print=None,
        loop=loop,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.workers == 1:
        serve_one(args.host, args.port)
        return 0

    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=serve_one, args=(args.host, args.port), name=f"hello-{n}")
        for n in range(args.workers)
    ]
    for worker in workers:
        worker.start()

    def forward(signum: int, _frame: object) -> None:
        for worker in workers:
            if worker.pid is not None and worker.is_alive():
                os.kill(worker.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for worker in workers:
        worker.join()
    return max((worker.exitcode or 0) for worker in workers)


if __name__ == "__main__":
    raise SystemExit(main())
