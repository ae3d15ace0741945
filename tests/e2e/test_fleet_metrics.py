"""/metrics of `skybound serve --workers 2` answers for both workers, whichever one the
kernel hands the scrape to."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from foundation.fleet_metrics import PUBLISH_SECONDS
from tests.e2e.harness import running_server
from tests.waiting import eventually


async def test_one_scrape_reports_every_worker_of_the_pool(
    database_url: str, tmp_path: Path
) -> None:
    async with running_server(database_url, tmp_path / "home", workers=2) as server:
        await eventually(lambda: len(server.worker_pids()) == 2, 90, what="two workers")

        async def both_published() -> bool:
            samples = await server.metrics()
            workers = {labels.get("worker") for labels, _ in samples["skybound_task_up"]}
            return workers == {"0", "1"}

        await eventually(both_published, 30, what="both workers in one scrape")
        # The kernel spreads new connections over the workers that accept on the port (a
        # worker publishes metrics a moment before it listens), so requests go out, a
        # connection each, until both workers have served some: every scrape, whichever
        # worker answers it, must then show both workers' counts.
        connector = aiohttp.TCPConnector(force_close=True)
        sent = 0

        async def served() -> dict[str, float]:
            """Requests to the route per worker, as one scrape reports them."""
            counts: dict[str, float] = {}
            for labels, value in (await server.metrics())["skybound_http_requests_total"]:
                if labels.get("route") == "/v1/airports/{iata}":
                    counts[labels["worker"]] = counts.get(labels["worker"], 0.0) + value
            return counts

        async with aiohttp.ClientSession(connector=connector) as session:

            async def both_served() -> bool:
                nonlocal sent
                for _ in range(20):
                    async with session.get(server.url("/v1/airports/JFK")) as response:
                        await response.read()
                    sent += 1
                await asyncio.sleep(2 * PUBLISH_SECONDS)  # every worker has published
                return set(await served()) == {"0", "1"}

            await eventually(both_served, 60, what="requests served by both workers")

        async def all_counted() -> bool:
            return sum((await served()).values()) == sent

        await eventually(all_counted, 30, what="every request counted in one scrape")
        for _ in range(5):  # whichever worker answers, the figures are the fleet's
            assert sum((await served()).values()) == sent
        await server.assert_sane()
        assert await server.terminate() == 0
