"""Parsing and validation of the protocol's small grammars: origins and tokens.

Everything here is pure and bounded: inputs longer than the limits below are
rejected before any per-character work, so hostile headers cost linear time at
most, however large the request (aiohttp-cors 0.8.1 put no bound on them).
"""

from __future__ import annotations

import ipaddress
import re

from ._errors import HintedValueError

__all__ = [
    "MAX_ORIGIN_LENGTH",
    "is_dns_host",
    "is_port",
    "is_token",
    "normalize_configured_origin",
    "parse_request_origin",
    "serialize_ipv6",
]

#: Longest Origin we consider: a 253-character host, a long scheme and a port fit.
MAX_ORIGIN_LENGTH = 320

# RFC 9110 token: 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

# Pieces of a canonical serialized origin as browsers send it (Fetch "Origin"
# ABNF, URL standard serialization): lowercase scheme and host, no default port,
# nothing after the authority. Character classes are checked with str.strip():
# a string is made only of ``chars`` exactly when stripping them leaves nothing
# (one linear C loop, much cheaper per request than a regex).
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_SCHEME_CHARS = _LOWER + _DIGITS + "+.-"
_HOST_CHARS = _LOWER + _DIGITS + "_.-"  # URL hosts may hold "_"
_LDH_CHARS = _LOWER + _DIGITS + ".-"
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def is_port(text: str) -> bool:
    """Whether ``text`` is a port as origins serialize it: 1-65535, no leading zero."""
    return 0 < len(text) <= 5 and not text.strip(_DIGITS) and text[0] != "0" and int(text) <= 65535


def _labels_ok(host: str) -> bool:
    """Dot-separated labels, none empty, none starting or ending with "-", at most 63 long."""
    return (
        host[0] not in ".-"
        and host[-1] not in ".-"
        and ".." not in host
        and ".-" not in host
        and "-." not in host
        and (len(host) <= 63 or max(map(len, host.split("."))) <= 63)
    )


def is_dns_host(host: str) -> bool:
    """Whether ``host`` is a lowercase LDH domain name (letters, digits, hyphens)."""
    return 0 < len(host) <= 253 and not host.strip(_LDH_CHARS) and _labels_ok(host)


def is_token(value: str) -> bool:
    """Whether ``value`` is an RFC 9110 token (a valid header name or method)."""
    return _TOKEN.fullmatch(value) is not None


def parse_request_origin(value: str) -> str | None:
    """Return ``value`` if it is a canonical serialized origin or ``"null"``, else ``None``.

    Browsers only ever send canonical origins, so anything else (whitespace,
    a path, userinfo, upper case, a default port, a list) is treated as hostile
    and never reflected: echoing unvalidated values is how header injection and
    cache poisoning start (Fetch, the ``Origin`` header's syntax).
    """
    if len(value) > MAX_ORIGIN_LENGTH:
        return None
    if value == "null":
        return value
    scheme, sep, rest = value.partition("://")
    if not sep or not scheme or scheme[0] not in _LOWER or scheme.strip(_SCHEME_CHARS):
        return None
    if rest[:1] == "[":
        host, bracket, tail = rest.partition("]")
        if not bracket or _canonical_ipv6(host[1:]) != host[1:]:
            return None
    else:
        host, colon, port = rest.partition(":")
        tail = colon + port
        # A fully qualified host keeps its trailing dot in the URL standard's
        # serialization ("https://a.example."): a distinct, valid origin.
        if host.endswith("."):
            host = host[:-1]
        # The URL standard's host parser does not apply DNS length or hyphen rules
        # (UTS #46 with CheckHyphens and VerifyDnsLength off): "foo-.example" and
        # long labels are hosts browsers send. Only empty labels never occur.
        if not host or host.strip(_HOST_CHARS) or "." in (host[0], host[-1]) or ".." in host:
            return None
        if host[-1].isdigit() and host.rpartition(".")[2].isdigit() and not _is_dotted_quad(host):
            return None  # browsers send such hosts as IPv4 dotted quads ("http://0" → 0.0.0.0)
    if tail:
        port = tail[1:]
        # Port 0 is a valid URL port, so it can appear in a serialized origin.
        valid = port == "0" or is_port(port)
        if tail[0] != ":" or not valid or DEFAULT_PORTS.get(scheme) == port:
            return None
    return value


def _is_dotted_quad(host: str) -> bool:
    try:
        return str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        return False


def _canonical_ipv6(text: str) -> str | None:
    """The form browsers serialize an IPv6 address in, or ``None`` if invalid."""
    try:
        return serialize_ipv6(ipaddress.IPv6Address(text).packed)
    except ValueError:
        return None


def serialize_ipv6(packed: bytes) -> str:
    """Serialize an IPv6 address like the URL standard (and RFC 5952) does.

    Hex without leading zeros, the first longest run of two or more zero
    pieces compressed to '::', never a dotted IPv4 tail.  Done by hand
    because ``str(IPv6Address)`` has changed across Python versions for
    IPv4-mapped addresses.
    """
    pieces = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2)]
    best_start, best_len = -1, 1
    i = 0
    while i < 8:
        if pieces[i]:
            i += 1
            continue
        j = i
        while j < 8 and not pieces[j]:
            j += 1
        if j - i > best_len:
            best_start, best_len = i, j - i
        i = j
    if best_start < 0:
        return ":".join(f"{p:x}" for p in pieces)
    head = ":".join(f"{p:x}" for p in pieces[:best_start])
    tail = ":".join(f"{p:x}" for p in pieces[best_start + best_len :])
    return f"{head}::{tail}"


def normalize_configured_origin(value: str) -> str:
    """Canonicalise an origin from configuration, or raise ``ValueError`` with a hint.

    Lowercases scheme and host, converts international host names to punycode
    (IDNA) and removes the scheme's default port, so that configured origins
    compare equal to what browsers send.
    """
    if value == "null":
        return value
    if value != value.strip() or any(c.isspace() or ord(c) < 0x20 for c in value):
        raise HintedValueError(
            f"origin {value!r} contains white space or control characters", "remove them"
        )
    scheme, sep, rest = value.partition("://")
    if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.\-]*", scheme):
        raise HintedValueError(
            f"origin {value!r} has no scheme",
            "write it as a browser sends it, e.g. 'https://example.com'",
        )
    scheme = scheme.lower()
    if rest.endswith("/") and rest.count("/") == 1:
        rest = rest[:-1]  # "https://a.example/" is how URLs print; the origin has no "/"
    for char, what in (("/", "a path"), ("?", "a query"), ("#", "a fragment"), ("@", "userinfo")):
        if char in rest:
            hint = (
                "remove the trailing '/'"
                if rest.endswith("/") and rest.count("/") == 1
                else "remove it: an origin is only scheme://host[:port]"
            )
            raise HintedValueError(f"origin {value!r} contains {what}", hint)
    if "*" in rest:
        raise HintedValueError(
            f"origin {value!r} contains '*' that is not a supported pattern",
            "use '*' alone for every origin or a glob such as 'https://*.example.com' or "
            "'http://localhost:*'",
        )
    if rest.startswith("["):
        host, bracket, after = rest.partition("]")
        address = _canonical_ipv6(host[1:]) if bracket else None
        if address is None:
            raise HintedValueError(
                f"origin {value!r} has a malformed IPv6 address", "write e.g. 'http://[::1]:8080'"
            )
        host = f"[{address}]"
        port_part = after
    else:
        host, _, port = rest.partition(":")
        port_part = ":" + port if _ else ""
        host = _to_ascii_host(value, host)
    if port_part:
        port = port_part[1:]
        if (
            not port_part.startswith(":")
            or not port.isdigit()
            or not port.isascii()
            or not 0 <= int(port) <= 65535
        ):
            raise HintedValueError(
                f"origin {value!r} has a bad port", "use a number from 0 to 65535"
            )
        port = str(int(port))
        port_part = "" if DEFAULT_PORTS.get(scheme) == port else ":" + port
    canonical = f"{scheme}://{host}{port_part}"
    if parse_request_origin(canonical) is None:
        raise HintedValueError(f"origin {value!r} is not a valid origin")
    return canonical


# Characters that Python's IDNA 2003 codec maps differently from browsers
# (UTS #46 non-transitional processing): refuse rather than guess.
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")


def _to_ascii_host(origin: str, host: str) -> str:
    if not host:
        raise HintedValueError(f"origin {origin!r} has no host", "write e.g. 'https://example.com'")
    last = host.rpartition(".")[2].lower()
    if last.isdigit() or last.startswith("0x"):
        # Browsers parse such hosts as IPv4 and send the dotted-quad form.
        try:
            canonical = str(ipaddress.IPv4Address(host))
        except ValueError:
            canonical = ""
        if canonical != host:
            raise HintedValueError(
                f"origin {origin!r} has a host browsers read as an IPv4 address",
                "write it as four decimal numbers, e.g. 'http://127.0.0.1:8080'",
            )
        return host
    if _IDNA_DEVIATIONS.intersection(host):
        raise HintedValueError(
            f"origin {origin!r} contains a character (ß, ς or a zero-width joiner) that "
            "browsers encode differently from Python",
            "write the host in punycode (xn--...)",
        )
    # A trailing dot is kept: "https://a.example." is an origin of its own.
    body, dot = (host[:-1], ".") if host.endswith(".") else (host, "")
    try:
        ascii_host = body.encode("idna").decode("ascii") if not body.isascii() else body
        return ascii_host.lower() + dot
    except UnicodeError as exc:
        raise HintedValueError(
            f"origin {origin!r} has a host that is not a valid domain name"
        ) from exc
