"""Soak benchmark: SSE and WebSocket clients that leave and resume while events stream.

A real ``skybound serve`` on an embedded PostgreSQL; load generator processes hold
thousands of SSE and WebSocket clients, of which some leave every second (an
orderly close or a RST) and come back resuming from their last id, while the
driver writes flight updates through SQL at a steady rate. Each minute: events
written, deliveries, p50/p99 latency, server RSS and open files, connects and
disconnects; at the end every client's events are counted by id against
``change_events`` (lost, duplicated, out of order). See bench/README.md, "soak".

    .venv/bin/python -m bench.soak [--minutes 10] [--sse 2000] [--ws 500] [--churn 50]
        [--rate 200] [--workers 1] [--loadgen-procs 2]
"""
