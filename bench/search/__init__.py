"""Search benchmark: a fixed mix of 1,000 searches on a 1,000,000-leg seed.

Uncached, cached and against a naive baseline (the search indexes dropped, no
cache) measured in one run, with 1 and 2 server workers; plus where a search's
time goes (in process and py-spy) and EXPLAIN of the queries.

    .venv/bin/python -m bench.search [--home DIR] [--clients 1,16] [--workers 1,2]

Prints a Markdown report and writes it to ``bench/results/search.md``.
"""
