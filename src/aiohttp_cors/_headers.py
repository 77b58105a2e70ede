"""The header side of the protocol: names, the sets Fetch defines, and small parsers.

Pure (no aiohttp): the names are multidict's case-insensitive strings so that
aiohttp's header maps find them without case-folding them again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from multidict import istr

ACAO = istr("Access-Control-Allow-Origin")
ACAC = istr("Access-Control-Allow-Credentials")
ACEH = istr("Access-Control-Expose-Headers")
ACAM = istr("Access-Control-Allow-Methods")
ACAH = istr("Access-Control-Allow-Headers")
ACMA = istr("Access-Control-Max-Age")
ACAPN = istr("Access-Control-Allow-Private-Network")
ACRPN = istr("Access-Control-Request-Private-Network")
VARY = istr("Vary")
#: The headers this package owns on actual responses.
ACTUAL_RESPONSE_HEADERS = (ACAO, ACAC, ACEH)
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
PREFLIGHT_VARY_PNA = PREFLIGHT_VARY + ", Access-Control-Request-Private-Network"

#: Fetch "CORS-safelisted method".
SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
#: Fetch "forbidden method": browsers refuse to send these.
FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
#: Fetch "forbidden request-header" (upper-cased): pages can never set these.
FORBIDDEN_REQUEST_HEADERS = frozenset(
    {
        "ACCEPT-CHARSET",
        "ACCEPT-ENCODING",
        "ACCESS-CONTROL-REQUEST-HEADERS",
        "ACCESS-CONTROL-REQUEST-METHOD",
        "CONNECTION",
        "CONTENT-LENGTH",
        "COOKIE",
        "COOKIE2",
        "DATE",
        "DNT",
        "EXPECT",
        "HOST",
        "KEEP-ALIVE",
        "ORIGIN",
        "REFERER",
        "SET-COOKIE",
        "TE",
        "TRAILER",
        "TRANSFER-ENCODING",
        "UPGRADE",
        "VIA",
    }
)
FORBIDDEN_REQUEST_PREFIXES = ("PROXY-", "SEC-", "ACCESS-CONTROL-REQUEST-")
#: Fetch "forbidden response-header name" (lower-cased): scripts can never read these.
FORBIDDEN_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
# The names aiohttp-cors 0.8.1 left out of ``expose_headers="*"`` (the old CORS
# spec's "simple response headers"), spelled as aiohttp spells them.
_SIMPLE_RESPONSE_HEADERS = frozenset(
    {"Cache-Control", "Content-Language", "Content-Type", "Expires", "Last-Modified", "Pragma"}
)

#: Most names accepted in Access-Control-Request-Headers; browsers send a few dozen at most.
MAX_REQUESTED_HEADERS = 256
#: Longest Access-Control-Request-Headers accepted, all lines together: what one
#: line can hold with aiohttp's default limits (0.8.1 read the first line only).
MAX_REQUESTED_HEADERS_LENGTH = 8190

# RFC 9110 token: 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_token(value: str) -> bool:
    """Whether ``value`` is an RFC 9110 token (a valid header name or method)."""
    return _TOKEN.fullmatch(value) is not None


def is_request_method(method: str) -> bool:
    """Whether an Access-Control-Request-Method value may be echoed: a token, not ``*``."""
    return method != "*" and is_token(method)


def header_lines(headers: Any, name: str) -> list[str]:
    """Every line of a request header (a plain mapping, as tests pass, gives one at most)."""
    getall = getattr(headers, "getall", None)
    if getall is not None:
        return list(getall(name, ()))
    value = headers.get(name)
    return [] if value is None else [value]


def parse_requested_headers(lines: Sequence[str]) -> list[str]:
    """Access-Control-Request-Headers as 0.8.1 read it: names upper-cased, empties dropped.

    Several lines are joined with commas (RFC 9110 §5.3; 0.8.1 read only the
    first). Duplicates are dropped, the request's order is kept.
    """
    joined = lines[0] if len(lines) == 1 else ",".join(lines)
    names: dict[str, None] = {}
    for item in joined.split(","):
        name = item.strip(" \t").upper()
        if name:
            names[name] = None
    return list(names)


def refused_header_names(names: Sequence[str], allowed: Any) -> list[str]:
    """The requested names a grant does not allow.

    ``*`` is never granted (echoed, it would read as a wildcard), nor a name
    with a character outside printable ASCII: it could not be copied into a
    response header. Browsers send tokens only; 0.8.1 echoed any other
    printable name, and so does this.
    """
    if len(names) > MAX_REQUESTED_HEADERS:
        return list(names)
    if allowed == "*":
        return [n for n in names if n == "*" or not _printable(n)]
    return [n for n in names if n not in allowed or n == "*" or not _printable(n)]


def _printable(name: str) -> bool:
    return name.isascii() and name.isprintable()


def merge_vary(existing: str | None, name: str) -> str | None:
    """The Vary value with ``name`` added, or ``None`` when nothing needs to change.

    Merges case-insensitively without duplicates and leaves ``Vary: *``
    alone: Vary is never overwritten (RFC 9110 §12.5.5).
    """
    if not existing:
        return name
    present = {item.strip().lower() for item in existing.split(",")}
    if "*" in present:
        return None
    missing = [part for part in name.split(", ") if part.lower() not in present]
    if not missing:
        return None
    return ", ".join([existing, *missing])


def exposable_header_names(headers: Iterable[str]) -> str:
    """The value 0.8.1 sent for ``expose_headers="*"``: the response's header names.

    Every name the response has when it is prepared, spelled as set, minus the
    old CORS spec's simple response headers (and the CORS headers being set).
    0.8.1 used a set (a random order); the response's own order is kept here.
    """
    names: dict[str, None] = {}
    for name in headers:
        if name not in _SIMPLE_RESPONSE_HEADERS and name not in ACTUAL_RESPONSE_HEADERS:
            names[name] = None
    return ",".join(names)
