"""Stream clients for the end-to-end tests: raw sockets, every event counted by id.

A subscriber behaves like a browser's EventSource (or a WebSocket client that
subscribes again with ``since``): when the server ends its stream or cannot be
reached, it reconnects after a short pause and resumes from the last position it
got. A test ends a connection on purpose with ``drop``, abortively (RST) or in
order (FIN), and resumes it with ``start``. What a subscriber received is kept per
topic in a ``TopicLog``; ``wait_complete`` compares the logs with ``change_events``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import asyncpg

from tests.e2e.wire import (
    RawConnection,
    SseParser,
    StreamRefused,
    ws_messages,
    ws_send,
    ws_upgrade,
)
from tests.waiting import eventually

Disconnect = Literal["rst", "fin"]

# EventSource waits the server's `retry` (1-3 s); tests need not wait that long.
RETRY_SECONDS = 0.2
# Bounds the reconnect loop: 300 attempts at 0.2 s is a minute without a server.
MAX_ATTEMPTS = 300


@dataclass
class TopicLog:
    """What one subscriber got on one topic, over all of its connections."""

    topic: str
    start: int | None = None  # the id of the first snapshot's position
    position: str | None = None  # the last position got: where a resume starts
    ids: list[int] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def record(self, event: str, position: str | None) -> None:
        if position is None:
            self.unexpected.append(f"{event} without an id")
            return
        epoch, _, number = position.partition(":")
        if self.position is not None and epoch != self.position.partition(":")[0]:
            self.unexpected.append(f"{event} {position}: another epoch")
        if event == "snapshot" and self.start is None:
            self.start = int(number)
        elif event in ("snapshot", "reset"):
            # A resume within the log's retention replays; it never starts over.
            self.unexpected.append(f"{event} {position} on resume")
        else:
            self.ids.append(int(number))
        self.position = position


class Subscriber:
    """Keeps one stream connection open, reconnecting and resuming, until dropped."""

    def __init__(self, port: int, name: str) -> None:
        self.port = port
        self.name = name
        self.connects = 0  # streams the server accepted
        self.ends = 0  # accepted streams that ended without our asking
        self.failure: BaseException | None = None
        self.conn: RawConnection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def logs(self) -> list[TopicLog]:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _stream(self, conn: RawConnection) -> None:
        """Open the stream on ``conn`` and record what arrives until it ends."""
        raise NotImplementedError

    def start(self) -> None:
        """Connect (or resume from the last position got) in the background."""
        assert not self.running, f"{self.name} is already running"
        self._task = asyncio.create_task(self._run(), name=f"subscriber {self.name}")

    async def _run(self) -> None:
        for _ in range(MAX_ATTEMPTS):
            accepted = self.connects
            conn = None
            try:
                conn = self.conn = await RawConnection.open(self.port)
                await self._stream(conn)
            except StreamRefused as exc:
                if exc.status < 500:  # a client error does not go away by retrying
                    self.failure = exc
                    return
            except (OSError, EOFError):
                pass  # refused, reset, or ended by the server: resume like EventSource
            except Exception as exc:  # a bug in the client or a malformed stream
                self.failure = exc
                return
            finally:
                # Cancelled by drop(): the connection is left for it to close.
                if conn is not None and not asyncio.current_task().cancelling():  # type: ignore[union-attr]
                    conn.writer.transport.abort()
                    self.conn = None
            if self.connects > accepted:
                self.ends += 1
            await asyncio.sleep(RETRY_SECONDS)
        self.failure = AssertionError(f"{self.name} gave up reconnecting")

    async def drop(self, how: Disconnect) -> None:
        """Disconnect from the client side: abortively (RST) or in order (FIN)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        conn, self.conn = self.conn, None
        if conn is None:
            return
        if how == "rst":
            conn.reset()
        else:
            await conn.finish()


class SseSubscriber(Subscriber):
    """An SSE stream (board, flight, or the private ``/v1/streams/me``)."""

    def __init__(
        self, port: int, path: str, topic: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(port, f"sse {path} {topic}")
        self.path = path
        self.headers = dict(headers or {})
        self.log = TopicLog(topic)

    @property
    def logs(self) -> list[TopicLog]:
        return [self.log]

    async def _stream(self, conn: RawConnection) -> None:
        headers = {"Accept": "text/event-stream", **self.headers}
        if self.log.position is not None:
            headers["Last-Event-ID"] = self.log.position
        status, response_headers = await conn.request(self.path, headers)
        if status != 200:
            raise StreamRefused(status)
        assert response_headers.get("transfer-encoding") == "chunked"
        self.connects += 1
        parser = SseParser()
        async for chunk in conn.chunks():
            for event, event_id in parser.feed(chunk):
                self.log.record(event, event_id)
        raise EOFError("stream ended")


class WsSubscriber(Subscriber):
    """One WebSocket connection subscribed to several topics, resuming each with ``since``."""

    def __init__(self, port: int, topics: Iterable[str], token: str | None = None) -> None:
        self.topic_logs = {topic: TopicLog(topic) for topic in topics}
        super().__init__(port, f"ws {' '.join(self.topic_logs)}")
        self.token = token
        self.subscribed: set[str] = set()

    @property
    def logs(self) -> list[TopicLog]:
        return list(self.topic_logs.values())

    async def _stream(self, conn: RawConnection) -> None:
        await ws_upgrade(conn, "/v1/ws")
        self.connects += 1
        self.subscribed = set()
        # The server handles a connection's messages in order: auth comes first.
        if self.token is not None:
            ws_send(conn, {"type": "auth", "token": self.token})
        for topic, log in self.topic_logs.items():
            ws_send(conn, {"type": "subscribe", "topic": topic, "since": log.position})
        async for message in ws_messages(conn):
            kind = message.get("type")
            if kind == "event":
                self.topic_logs[message["topic"]].record(message["event"], message["id"])
            elif kind == "subscribed":
                self.subscribed.add(message["topic"])
            elif kind not in ("authenticated", "pong"):
                log = self.topic_logs.get(message.get("topic", ""), self.logs[0])
                log.unexpected.append(f"frame {message}")


async def start_all(subscribers: Sequence[Subscriber], within: float = 60.0) -> None:
    """Start every subscriber and wait for each one's first snapshot."""
    for subscriber in subscribers:
        subscriber.start()

    def snapshots() -> bool:
        failed = [s for s in subscribers if s.failure is not None]
        assert not failed, f"{failed[0].name}: {failed[0].failure!r}"
        return all(log.start is not None for s in subscribers for log in s.logs)

    await eventually(snapshots, within, what="a snapshot for every subscriber")


async def newest_event(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT coalesce(max(id), 0) FROM change_events"))


async def events_after(
    db: asyncpg.Connection,
    subscribers: Sequence[Subscriber],
    what: str,
    *,
    ahead: int = 0,
    within: float = 45.0,
) -> None:
    """Wait until every running subscriber got an event committed after this call (and
    ``ahead`` more: while events flow, enough of them for a fault to matter)."""
    mark = await newest_event(db) + ahead
    running = [s for s in subscribers if s.running]
    await eventually(
        lambda: all(log.ids and log.ids[-1] > mark for s in running for log in s.logs),
        within,
        what=f"events after id {mark} at every running subscriber ({what})",
    )


async def expected_ids(db: asyncpg.Connection, topic: str, after: int, through: int) -> list[int]:
    rows = await db.fetch(
        "SELECT id FROM change_events WHERE $1 = ANY(topics) AND id > $2 AND id <= $3 ORDER BY id",
        topic,
        after,
        through,
    )
    return [row["id"] for row in rows]


def _gaps(got: list[int], expected: list[int]) -> str:
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    duplicates = len(got) - len(set(got))
    ordered = got == sorted(got)
    return (
        f"got {len(got)} of {len(expected)}; missing {missing[:8]} ({len(missing)} in all);"
        f" unexpected {extra[:8]}; duplicates {duplicates}; in order {ordered}"
    )


async def wait_complete(
    db: asyncpg.Connection, subscribers: Iterable[Subscriber], through: int, within: float = 60.0
) -> None:
    """Every topic log has every event of its topic after its snapshot up to ``through``:
    none lost, none twice, in id order, and nothing else (no reset, no error frame)."""
    subscribers = list(subscribers)
    expected: dict[int, list[int]] = {}
    for subscriber in subscribers:
        for log in subscriber.logs:
            assert log.start is not None, f"{subscriber.name} never got its snapshot"
            expected[id(log)] = await expected_ids(db, log.topic, log.start, through)

    def caught_up() -> bool:
        for subscriber in subscribers:
            if subscriber.failure is not None:
                return True  # reported below
            for log in subscriber.logs:
                want = expected[id(log)]
                if want and (not log.ids or log.ids[-1] < want[-1]):
                    return False
        return True

    with contextlib.suppress(AssertionError):
        await eventually(caught_up, within, what="every subscriber caught up")
    problems = []
    for subscriber in subscribers:
        if subscriber.failure is not None:
            problems.append(f"{subscriber.name}: failed with {subscriber.failure!r}")
        for log in subscriber.logs:
            got = [n for n in log.ids if n <= through]
            if got != expected[id(log)] or log.unexpected:
                problems.append(
                    f"{subscriber.name} [{log.topic}]: {_gaps(got, expected[id(log)])};"
                    f" unexpected {log.unexpected[:3]}"
                )
    assert not problems, f"{len(problems)} logs incomplete through id {through}:\n" + "\n".join(
        problems
    )
