"""Fan-out benchmark: database changes pushed over SSE to many clients.

Skybound, a Starlette + broadcaster peer and a bare asyncio writer are each
served in their own process against one embedded PostgreSQL; a separate load
generator process holds N SSE connections to a live departures board while the
driver commits gate changes through SQL. See bench/README.md, "fanout".

    .venv/bin/python -m bench.fanout [--clients 1000,10000] [--targets skybound,peer,bare]
        [--bulk 200]    # then transactions of 200 gate changes each: one NOTIFY, many events
"""
