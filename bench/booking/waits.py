"""What the server's database sessions are doing during a pass, sampled from
``pg_stat_activity``: running, waiting (and on what), or idle inside a transaction
(the transaction is open while the application works or waits elsewhere).

A thread polls every ``interval`` seconds on its own connection; the result is the
mean number of sessions in each state, per application name.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from types import TracebackType

import asyncpg

_SAMPLE = """
SELECT application_name AS app,
       CASE WHEN state = 'active' THEN coalesce(wait_event_type || ': ' || wait_event,
                                                'running (CPU)')
            ELSE state END AS doing
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND application_name LIKE 'skybound%' AND state <> 'idle'
"""


class WaitSampler:
    def __init__(self, dsn: str, interval: float = 0.02) -> None:
        self.dsn = dsn
        self.interval = interval
        self.samples = 0
        self.counts: Counter[tuple[str, str]] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wait-sampler", daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._poll())

    async def _poll(self) -> None:
        conn = await asyncpg.connect(self.dsn, server_settings={"application_name": "bench"})
        try:
            while not self._stop.is_set():
                rows = await conn.fetch(_SAMPLE)
                self.samples += 1
                self.counts.update((row["app"], row["doing"]) for row in rows)
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    def mean_sessions(self) -> dict[tuple[str, str], float]:
        if not self.samples:
            return {}
        return {key: n / self.samples for key, n in self.counts.most_common()}


def render(sampler: WaitSampler, top: int = 12) -> list[str]:
    means = sampler.mean_sessions()
    if not means:
        return ["No samples of pg_stat_activity."]
    out = [
        f"Mean number of the server's PostgreSQL sessions in each state over {sampler.samples:,} "
        "samples of `pg_stat_activity` (idle sessions left out; on a saturated machine the "
        "sampler runs only when it gets a core, so *running* is undercounted):",
        "",
        "| application | state or wait event | sessions |",
        "|---|---|---:|",
    ]
    for (app, doing), mean in list(means.items())[:top]:
        out.append(f"| {app} | {doing} | {mean:.2f} |")
    return out
