"""/metrics of `skybound serve --workers 2` answers for both workers, whichever one the
kernel hands the scrape to."""

from __future__ import annotations

from pathlib import Path

import aiohttp

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
        # Requests spread over the workers by the kernel: each scrape counts them all.
        # A connection each (no keep-alive): the kernel spreads connections, not requests.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            for _ in range(40):
                async with session.get(server.url("/v1/airports/JFK")) as response:
                    await response.read()
        served = 0.0

        async def counted() -> bool:
            nonlocal served
            samples = await server.metrics()
            served = sum(
                value for labels, value in samples["skybound_http_requests_total"]
                if labels.get("route") == "/v1/airports/{iata}"
            )  # fmt: skip
            return served >= 40

        await eventually(counted, 30, what="the 40 requests counted across the workers")
        samples = await server.metrics()
        by_worker = {
            labels["worker"]
            for labels, value in samples["skybound_http_requests_total"]
            if labels.get("route") == "/v1/airports/{iata}" and value
        }
        assert by_worker == {"0", "1"}, "the kernel gave all 40 to one worker"
        await server.assert_sane()
        assert await server.terminate() == 0
