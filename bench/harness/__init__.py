"""What every benchmark shares, one module per concept; benchmarks import ``bench.harness.*``
and never one another.

- ``processes``: process groups stopped whole, commands run to an end within a time limit;
- ``servers``: a server under test (``skybound serve`` or a peer) started, awaited until
  ready and stopped, its environment and log; ``skybound seed``;
- ``postgres``: the bench's home and embedded PostgreSQL, and the one guard that decides
  about a PostgreSQL that outlived a run;
- ``usage``: CPU, memory and open files of processes and of the machine, from ``/proc``;
- ``load``: load generator process pools steered over stdin, rlimits, wrk;
- ``stats``: percentiles, medians, ratios;
- ``versions``: what ran (Python, packages, tools, the commit);
- ``report``: the results directory, Markdown headers and footers, writing the report;
- ``pyspy``: py-spy recording of a server and its stacks summarised;
- ``options``: argument types the benchmarks' command lines share.
"""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1]
PROJECT_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# Every server and every load goes to this address only.
HOST = "127.0.0.1"


class BenchError(RuntimeError):
    """A step failed in a way that makes the rest of the run meaningless."""
