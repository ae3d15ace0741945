"""Fan-out benchmark: database changes pushed to many clients.

Skybound (SSE, its WebSocket, and the Supabase-compatible socket with a
postgres_changes binding), a Starlette + broadcaster peer and a bare asyncio writer
are each served in their own process against one embedded PostgreSQL; load
generator processes hold N connections to a live departures board while the driver
commits gate changes through SQL. See bench/README.md, "fanout".

    .venv/bin/python -m bench.fanout [--clients 1000,10000] [--targets ws,compat,bare]
        [--bulk 200]    # then transactions of 200 gate changes each: one NOTIFY, many events
"""
