"""Client connections as sinks: raw, non-blocking writes of pre-encoded bytes.

A sink never raises into its caller. The hub writes to thousands of sinks in one
pass, and a client may vanish between any two of them: uvloop raises
``RuntimeError`` on a write to a closed transport (asyncio's own loop only logs),
so a write that fails means the client departed, and the sink closes itself with
``client_gone``; its handler then unsubscribes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# A closing connection gets this long to flush its last bytes before it is cut.
CLOSE_GRACE_SECONDS = 5.0


class TransportSink:
    """Writes straight to the connection's transport; never awaits the client.

    ``farewell`` renders the last bytes a client gets when the server ends the
    stream (an SSE ``error`` event, a WebSocket close frame); ``None`` for none.
    """

    __slots__ = ("_farewell", "_transport", "closed")

    def __init__(
        self,
        transport: asyncio.Transport,
        farewell: Callable[[str], bytes | None],
    ) -> None:
        self._transport = transport
        self._farewell = farewell
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def buffered(self) -> int:
        try:
            return self._transport.get_write_buffer_size()
        except (RuntimeError, OSError):
            return 0  # a closed transport holds nothing; the next write finds it gone

    def write(self, data: bytes) -> None:
        if self.closed.done():
            return
        transport = self._transport
        if transport.is_closing():
            self._depart()
            return
        try:
            transport.write(data)
        except (RuntimeError, OSError):
            self._depart()

    def _depart(self) -> None:
        """The client went away under us: nothing more to write, nobody to say goodbye to."""
        if not self.closed.done():
            self.closed.set_result("client_gone")

    @property
    def gone(self) -> bool:
        """The client went away (its transport closed under us)."""
        return self._transport.is_closing()

    def close(self, reason: str) -> None:
        """End the stream with ``reason``; the handler waiting on ``closed`` finishes it."""
        if self.closed.done():
            return
        if not self._transport.is_closing():
            last = self._farewell(reason)
            if last:
                try:
                    self._transport.write(last)
                except (RuntimeError, OSError):
                    reason = "client_gone"
        self.closed.set_result(reason)

    def cut(self) -> None:
        """Close the connection itself (after a grace period to flush the farewell)."""
        transport = self._transport
        if transport.is_closing():
            return
        transport.close()
        asyncio.get_running_loop().call_later(CLOSE_GRACE_SECONDS, transport.abort)
