"""The process's Supabase-compatible realtime: keys, relay, row columns, shared encoders."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import asyncpg

from domain.identity.api_keys import ApiKeys
from streams.hub import Encoder
from streams.phoenix.bindings import Columns, OldRecordKeys
from streams.phoenix.relay import Relay
from streams.phoenix.wake import WakeFeed
from streams.realtime import Realtime

# Encoders shared by sockets with the same channel, bindings and serializer, so the hub
# encodes a batch once for all of them; bounded, as channel names are the clients'.
MAX_SHARED_ENCODERS = 10_000


@dataclass
class PhoenixServer:
    realtime: Realtime
    pool: asyncpg.Pool
    relay: Relay
    keys: ApiKeys
    columns: Columns
    old_record_keys: OldRecordKeys
    max_channels: int
    max_payload_bytes: int
    max_events_per_second: int
    sockets: int = 0
    wake_feed: WakeFeed = field(default_factory=WakeFeed)
    _encoders: OrderedDict[Hashable, Encoder] = field(default_factory=OrderedDict)

    def shared_encoder(self, key: Hashable, make: Callable[[], Encoder]) -> Encoder:
        encoder = self._encoders.get(key)
        if encoder is None:
            encoder = self._encoders[key] = make()
            if len(self._encoders) > MAX_SHARED_ENCODERS:
                self._encoders.popitem(last=False)
        else:
            self._encoders.move_to_end(key)
        return encoder
