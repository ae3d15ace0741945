"""Throughput benchmark: seed rate, then HTTP requests/s against a bare aiohttp peer.

One run seeds a fresh embedded PostgreSQL with ``skybound seed``, serves that
database with ``skybound serve --workers W`` for each worker count, loads
``/healthz`` and ``/v1/flights/{id}`` with wrk, and loads the peer
(``bench/peers/hello.py``) with the same settings. Absolute figures drift on a
shared machine; the ratio to the peer measured in the same run is the number to
compare across runs.

    .venv/bin/python -m bench.throughput [--seed-flights N] [--duration 10s]

Prints a Markdown report and writes it to ``bench/results/foundation.md``. (It was
``bench.foundation``; that command still runs it.)
"""
