"""Where a sign-in may send the browser back to: GoTrue's rule, so no one can use
Skybound to bounce a user (with their tokens) to a site of their choosing.

A URL is allowed when it is on the site URL's scheme and host (any port on a loopback
host, for native apps, RFC 8252 section 7.3), on a loopback IP address, or when it
matches a pattern of ``SKYBOUND_AUTH_REDIRECT_URLS``. Patterns are GoTrue's globs with
``.`` and ``/`` as separators: ``*`` stays within a host label or path segment, ``**``
crosses them, ``?`` is one character. Anything else falls back to the site URL.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

# GoTrue refuses hosts that no DNS name looks like, and IPs written as one number.
_HOSTNAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$")
_DECIMAL = re.compile(r"^[0-9]+$")


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    parts = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif pattern[index] == "*":
            parts.append("[^./]*")
            index += 1
        elif pattern[index] == "?":
            parts.append("[^./]")
            index += 1
        else:
            parts.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(parts), re.DOTALL)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_allowed(url: str, site_url: str, patterns: Sequence[str]) -> bool:
    if not url:
        return False
    try:
        base, target = urlsplit(site_url), urlsplit(url)
        target_port, base_port = target.port, base.port
    except ValueError:
        return False
    host = target.hostname or ""
    if (host == base.hostname and target.scheme == base.scheme
            and (target_port == base_port or _is_loopback(host))):  # fmt: skip
        return True
    if _DECIMAL.match(host):
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if target.scheme.lower() in ("http", "https") and not _HOSTNAME.match(host):
        return False
    without_fragment = url.split("#", 1)[0]
    return any(_glob(pattern).fullmatch(without_fragment) for pattern in patterns)


def redirect_target(url: str | None, site_url: str, patterns: Sequence[str]) -> str:
    """``url`` when it is allowed, else the site URL."""
    if url and redirect_allowed(url, site_url, patterns):
        return url
    return site_url
