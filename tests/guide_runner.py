"""Runs the HTTP exchanges of a Markdown guide against a server, in order.

A fenced ``http`` block holds a request; the ``http`` block after it, starting with a
status line, the response it must get. ``<name>`` in a request is a value: one the test
gives, or one an earlier response bound. In a response, ``"<name>"`` (or a bare
``<name>`` for a number) binds the value found there the first time and must equal it
after; ``<any ...>`` matches anything. A response shows only the fields it cares about:
objects may hold more keys, arrays more items than shown. An ``text/event-stream``
response lists the events that must arrive first, each ``event:`` with its ``data:``
(and ``id:``, which may bind a placeholder too).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from tests.sse_client import SseReader

_BLOCK = re.compile(r"^```http\n(.*?)^```", re.MULTILINE | re.DOTALL)
_VALUE = re.compile(r"<([a-z][a-z0-9 ]*)>")
_SLOT = re.compile(r'"<([a-z][a-z0-9 ]*)>"|<([a-z][a-z0-9 ]*)>')
_HOLE = "<>"  # the key of the object a placeholder becomes in a response pattern


@dataclass(frozen=True)
class Exchange:
    request: str
    response: str

    @property
    def title(self) -> str:
        return self.request.splitlines()[0]


def exchanges(markdown: str) -> list[Exchange]:
    """Each request block of ``markdown`` with the response block that follows it."""
    blocks = [match.group(1) for match in _BLOCK.finditer(markdown)]
    pairs = []
    for request, response in itertools.pairwise(blocks):
        if response.startswith("HTTP/1.1 ") and not request.startswith("HTTP/1.1 "):
            pairs.append(Exchange(request, response))
    return pairs


def _head_and_body(text: str) -> tuple[list[str], str]:
    head, _, body = text.partition("\n\n")
    return head.splitlines(), body.strip()


def _fill(text: str, values: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"<{name}> is used before the guide gives it a value"
        return str(values[name])

    return _VALUE.sub(value, text)


def _pattern(text: str) -> Any:
    """A response body as JSON, each placeholder an object ``{"<>": name}``."""
    holes = _SLOT.sub(lambda m: orjson.dumps({_HOLE: m.group(1) or m.group(2)}).decode(), text)
    return orjson.loads(holes)


def match(pattern: Any, actual: Any, values: dict[str, Any], where: str = "") -> list[str]:
    """What in ``actual`` differs from ``pattern`` (binding its placeholders in ``values``)."""
    if isinstance(pattern, dict) and set(pattern) == {_HOLE}:
        name = pattern[_HOLE]
        if name.startswith("any "):
            return []
        if name not in values:
            values[name] = actual
            return []
        ok = values[name] == actual
        return [] if ok else [f"{where or '.'}: <{name}> was {values[name]!r}, now {actual!r}"]
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return [f"{where or '.'}: expected an object, got {actual!r}"]
        found = []
        for key, expected in pattern.items():
            if key not in actual:
                found.append(f"{where}.{key}: missing")
            else:
                found += match(expected, actual[key], values, f"{where}.{key}")
        return found
    if isinstance(pattern, list):
        if not isinstance(actual, list) or len(actual) < len(pattern):
            return [f"{where or '.'}: expected at least {len(pattern)} items, got {actual!r}"]
        found = []
        for index, expected in enumerate(pattern):
            found += match(expected, actual[index], values, f"{where}[{index}]")
        return found
    return [] if pattern == actual else [f"{where or '.'}: expected {pattern!r}, got {actual!r}"]


async def run(session: aiohttp.ClientSession, base_url: str, exchange: Exchange,
              values: dict[str, Any]) -> list[str]:  # fmt: skip
    """Send the exchange's request; what in the answer differs from the guide."""
    head, body = _head_and_body(_fill(exchange.request, values))
    method, target = head[0].split(" ", 1)
    headers = dict(line.split(": ", 1) for line in head[1:])
    expected_head, expected_body = _head_and_body(exchange.response)
    status = int(expected_head[0].split()[1])
    expected_headers = dict(line.split(": ", 1) for line in expected_head[1:])
    async with session.request(method, base_url + target, headers=headers,
                               data=body.encode() if body else None) as response:  # fmt: skip
        problems = []
        if response.status != status:
            text = await response.text()
            return [f"status {response.status}, not {status}: {text[:2000]}"]
        for name, value in expected_headers.items():
            if not response.headers.get(name, "").startswith(value):
                problems.append(f"header {name}: {response.headers.get(name)!r}")
        if expected_headers.get("Content-Type") == "text/event-stream":
            return problems + await _events(SseReader(response), expected_body, values)
        if expected_body:
            problems += match(_pattern(expected_body), await response.json(), values)
        return problems


async def _events(reader: SseReader, expected: str, values: dict[str, Any]) -> list[str]:
    problems = []
    for block in expected.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        event = await reader.next()
        if event.event != fields["event"]:
            problems.append(f"event {event.event!r}, not {fields['event']!r}")
            continue
        if "id" in fields:
            slot = _SLOT.fullmatch(fields["id"])
            expected = {_HOLE: slot.group(2)} if slot else fields["id"]
            problems += match(expected, event.id, values, f"{event.event} id")
        if "data" in fields:
            problems += match(_pattern(fields["data"]), event.json(), values, event.event)
    return problems
