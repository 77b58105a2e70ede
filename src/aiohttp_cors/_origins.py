"""Origins: the one grammar for request origins, configured origins and origin globs.

- :func:`parse_request_origin` accepts what browsers send (a canonical
  serialized origin, or ``null``) and nothing else: a malformed Origin is never
  looked up or reflected.
- :func:`normalize_configured_origin` turns an origin written in
  configuration into that canonical form, or says what is wrong with it.
- Globs (:func:`parse_glob`, :class:`GlobIndex`). aiohttp-cors 0.8.1 only
  knew exact origins and ``"*"``; people who needed "all my subdomains" wrote
  prefix/suffix regexes or ``origin.endswith(...)`` checks, which is how most
  CORS bypasses happen (``evil-example.com`` passes ``endswith("example.com")``;
  ``example.com.evil.net`` passes an unanchored regex). Globs are a deliberately
  tiny language instead:

  * ``https://*.example.com`` -- one or more whole DNS labels in front of
    ``.example.com`` (never the apex, never a look-alike host);
  * ``http://localhost:*`` -- that exact host on any port, including the
    scheme's default port;
  * ``https://*.example.com:*`` and ``https://*.example.com:8443`` -- both.

  Everything else containing ``*`` is refused at configuration time with a
  message that names the pattern and says what to write instead.

  All globs of one policy are compiled into a :class:`GlobIndex`, whose lookup
  cost depends on the number of labels of the request host, not on the number
  of patterns (a policy may list thousands of them).

Everything here is pure (no aiohttp) and bounded: inputs longer than the
limits below are rejected before any per-character work, so hostile headers
cost linear time at most, however large the request (aiohttp-cors 0.8.1 put
no bound on them).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, NoReturn, TypeVar

from ._errors import HintedValueError

#: Longest Origin we consider: a 253-character host, a long scheme and a port fit.
MAX_ORIGIN_LENGTH = 320

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
# RFC 1035 / RFC 1123: a host name is at most 253 characters (without the
# trailing dot), which also bounds it to 127 labels.  Checking the length
# first bounds every bit of per-label work done on a request.
MAX_HOST_LENGTH = 253
# Characters on which the stdlib 'idna' codec (IDNA 2003) and browsers
# (UTS #46, non-transitional) disagree: IDNA 2003 maps them away, browsers
# keep them, so a key using them would silently never match: refused instead.
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")  # ß, final sigma, ZWNJ, ZWJ


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
    return 0 < len(host) <= MAX_HOST_LENGTH and not host.strip(_LDH_CHARS) and _labels_ok(host)


def _split_authority(rest: str) -> tuple[str, str] | None:
    """``host[:port]`` as (host, ``""`` or ``":port"``); an IPv6 host keeps its brackets,
    so its colons are not taken for the port's. ``None`` for a ``[`` without ``]``."""
    if rest[:1] == "[":
        cut = rest.find("]") + 1
        if not cut:
            return None
    else:
        cut = rest.find(":")
        if cut < 0:
            cut = len(rest)
    return rest[:cut], rest[cut:]


# The URL standard's "ends in a number": a host whose last label is a decimal or
# 0x-hex number is parsed as an IPv4 address, never as a domain name.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


def _ends_in_number(host: str) -> bool:
    return _NUMERIC_LABEL.fullmatch(host.rpartition(".")[2].lower()) is not None


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
    authority = _split_authority(rest)
    if authority is None:
        return None
    host, tail = authority
    if host[:1] == "[":
        if _canonical_ipv6(host[1:-1]) != host[1:-1]:
            return None
    else:
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
            hint = "remove it: an origin is only scheme://host[:port]"
            raise HintedValueError(f"origin {value!r} contains {what}", hint)
    if "*" in rest:
        raise HintedValueError(
            f"origin {value!r} contains '*' that is not a supported pattern",
            "use '*' alone for every origin or a glob such as 'https://*.example.com' or "
            "'http://localhost:*'",
        )
    host, port_part = _split_authority(rest) or ("[", "")  # "[" without "]": malformed
    if host[:1] == "[":
        address = _canonical_ipv6(host[1:-1])
        if address is None:
            raise HintedValueError(
                f"origin {value!r} has a malformed IPv6 address", "write e.g. 'http://[::1]:8080'"
            )
        host = f"[{address}]"
    else:
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


def _to_ascii_host(origin: str, host: str) -> str:
    if not host:
        raise HintedValueError(f"origin {origin!r} has no host", "write e.g. 'https://example.com'")
    if _ends_in_number(host):
        # Browsers parse such hosts as IPv4 and send the dotted-quad form.
        if not _is_dotted_quad(host):
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


# -- globs -----------------------------------------------------------------------------

T = TypeVar("T")

# Globs are for http and https only: other schemes either have opaque ("null")
# origins or are not something a CORS policy deals with.
_GLOB_SCHEMES = ("http", "https")

# One LDH label: 1-63 of [a-z0-9-], not starting or ending with '-'.
# Lower case only: request origins arrive canonical (lower case), so an
# upper-case host is not canonical and must not match anything.
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

_EXAMPLE = "'https://*.example.com' or 'http://localhost:*'"
_AFTER_HOST = "remove everything after the host and port, including a trailing '/'"
_NO_STAR_ON_IP = "an IP address cannot take '*.'"


def is_glob(key: str) -> bool:
    """Return True when a configuration origin key is a glob.

    A glob contains ``*`` and is not exactly ``"*"`` (the lone star is the
    "any origin" key, handled by the caller).  Whether the glob is *valid*
    is decided by :func:`parse_glob`.
    """
    return "*" in key and key != "*"


@dataclass(frozen=True)
class OriginGlob:
    """One validated, normalized origin glob (build it with :func:`parse_glob`).

    * ``source`` -- the pattern exactly as configured (for messages);
    * ``scheme`` -- ``"http"`` or ``"https"``;
    * ``host`` -- the fixed part of the host, canonical: lower-case
      punycode DNS name (``"example.com"`` for ``*.example.com``), dotted
      IPv4, or bracketed RFC 5952 IPv6 (``"[::1]"``);
    * ``subdomains`` -- True for ``*.`` patterns: one or more extra labels
      are required in front of ``host``;
    * ``port`` -- ``None`` for the default port only, ``"*"`` for any port
      (including the default one), else a decimal string such as ``"8443"``.
    """

    source: str
    scheme: str
    host: str
    subdomains: bool
    port: str | None


def _split_origin(origin: str) -> tuple[str, str, str | None] | None:
    """Split a canonical origin into (scheme, host, port), or None if malformed.

    ``port`` is None when the origin has no explicit port.  Hosts longer
    than 253 characters are rejected here, before any per-label work.
    """
    scheme, sep, rest = origin.partition("://")
    authority = _split_authority(rest) if sep and scheme else None
    if authority is None:
        return None
    host, tail = authority
    if not host or len(host) > MAX_HOST_LENGTH:
        return None
    if not tail:
        return scheme, host, None
    port = tail[1:]
    if tail[0] != ":" or not (port == "0" or is_port(port)):  # port 0 is a valid URL port
        return None
    return scheme, host, port


class GlobTooBroad(HintedValueError):
    """A glob that would let every site of a top-level domain in: always an error."""


def parse_glob(key: str) -> OriginGlob:
    """Validate and normalize one origin glob (the forms in the module docstring).

    The scheme and host are lower-cased, non-ASCII labels are converted to
    punycode (``*.bücher.example`` -> ``*.xn--bcher-kva.example``), IPv6
    addresses are put in their canonical compressed form, and a default
    port (``:80`` for http, ``:443`` for https) is dropped.

    Anything else raises ValueError naming the pattern, with a hint: ``*``
    in any other place, anything after the authority, a scheme other than
    http(s), a bad port, a bad or empty label, a trailing dot, ``*.`` in
    front of an IP address or of a single label (``https://*.com``), and a
    key without ``*`` (configure it as an exact origin).
    """
    if not isinstance(key, str):
        raise TypeError(f"origin glob must be a str, not {type(key).__name__}")
    scheme, host, port, subdomains = _glob_parts(key)
    if host[:1] == "[":
        if "%" in host:
            _refuse(key, "IPv6 zone identifiers never appear in origins", "remove the '%...' part")
        address = _canonical_ipv6(host[1:-1])
        if address is None:
            _refuse(key, f"{host!r} is not a valid IPv6 address", "write e.g. 'http://[::1]:*'")
        host = f"[{address}]"
    else:
        host = _glob_host(key, host, subdomains)
    return OriginGlob(source=key, scheme=scheme, host=host, subdomains=subdomains, port=port)


def _refuse(key: str, problem: str, hint: str) -> NoReturn:
    raise HintedValueError(f"invalid origin glob {key!r}: {problem}", hint)


def _glob_parts(key: str) -> tuple[str, str, str | None, bool]:
    """Scheme, fixed host text, port (``None``, ``"*"`` or digits) and whether ``*.``
    leads the host: everything but the host's own syntax is checked here."""
    if key == "*":
        _refuse(key, "a lone '*' is the 'any origin' key, not a glob", "configure it as '*'")
    if "*" not in key:
        _refuse(
            key,
            "it contains no '*', so it is not a glob",
            "configure it as an exact origin such as 'https://example.com'",
        )
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        _refuse(key, "it contains whitespace or control characters", "remove them")
    raw_scheme, sep, rest = key.partition("://")
    if not sep or not raw_scheme:
        _refuse(key, "it has no scheme", f"write the full origin, e.g. {_EXAMPLE}")
    if "*" in raw_scheme:
        _refuse(
            key,
            "the scheme cannot be a wildcard",
            "write one pattern per scheme, e.g. 'https://*.example.com'",
        )
    scheme = raw_scheme.lower() if raw_scheme.isascii() else raw_scheme
    if scheme not in _GLOB_SCHEMES:
        _refuse(
            key,
            f"scheme {raw_scheme!r} is not supported; origin globs only make sense "
            "for http and https origins",
            "use 'http://' or 'https://'",
        )
    # Userinfo in particular is dangerous: 'https://*.example.com@evil.net' would
    # read as a pattern for example.com while naming evil.net.
    for char, what, hint in (
        ("@", "user information ('@')", "remove the 'user@' part"),
        ("/", "a path or a trailing '/'", _AFTER_HOST),
        ("?", "a query ('?')", _AFTER_HOST),
        ("#", "a fragment ('#')", _AFTER_HOST),
        ("\\", "a backslash", "remove it; browsers treat it like '/'"),
    ):
        if char in rest:
            _refuse(key, f"it contains {what}, but an origin is only scheme://host[:port]", hint)
    if rest.startswith("*.["):
        _refuse(key, _NO_STAR_ON_IP, "list the address itself, e.g. 'http://[::1]:*'")
    if not rest.startswith("[") and rest.count(":") > 1:
        _refuse(
            key,
            "it contains more than one ':', but only one may separate the host from "
            "the port (an IPv6 address must be written in brackets)",
            "write e.g. 'https://*.example.com:*' or 'http://[::1]:*'",
        )
    authority = _split_authority(rest)
    if authority is None:
        _refuse(key, "the IPv6 address has no closing ']'", "write e.g. 'http://[::1]:*'")
    host, tail = authority
    port: str | None = tail[1:] if tail else None
    if tail[:1] not in ("", ":"):
        _refuse(key, "unexpected text after the IPv6 address", "write e.g. 'http://[::1]:*'")
    if port is not None and port != "*" and not is_port(port):
        _refuse(
            key,
            f"port {port!r} is invalid",
            "use a decimal port 1-65535 without leading zeros, or ':*' for any port",
        )
    if port == DEFAULT_PORTS[scheme]:
        port = None  # the default port never appears in a serialized origin
    subdomains = host.startswith("*.")
    fixed = host[2:] if subdomains else host
    if "*" in fixed:
        if subdomains:
            _refuse(
                key,
                "only one leading '*.' is allowed, and it already matches one or more labels",
                "write 'https://*.example.com' to cover deeper subdomains as well",
            )
        _refuse(
            key,
            "'*' is only allowed as the whole first label of the host ('*.') "
            "or as the whole port (':*')",
            f"write e.g. {_EXAMPLE}",
        )
    if not fixed:
        _refuse(key, "the host is empty", f"write e.g. {_EXAMPLE}")
    return scheme, fixed, port, subdomains


def _glob_host(key: str, text: str, subdomains: bool) -> str:
    """The canonical fixed host of a glob: a lower-case punycode DNS name or a dotted quad."""
    if text.endswith("."):
        _refuse(
            key,
            "the host ends with a dot; origins are always sent without it",
            "remove the trailing '.'",
        )
    labels = text.split(".")
    if "" in labels:
        _refuse(
            key,
            "the host has an empty label (a leading dot or two dots in a row)",
            f"write e.g. {_EXAMPLE}",
        )
    host = ".".join(_ascii_label(key, label) for label in labels)
    if _ends_in_number(host):
        if subdomains:
            _refuse(key, _NO_STAR_ON_IP, "list the address itself, e.g. 'http://127.0.0.1:*'")
        if not _is_dotted_quad(host):
            _refuse(
                key,
                f"{host!r} ends in a number, so browsers read it as an IPv4 "
                "address, but it is not a plain dotted-quad address",
                "write the address as four decimal numbers 0-255 without leading zeros, "
                "e.g. 'http://127.0.0.1:*'",
            )
        return host
    if subdomains and len(labels) < 2:
        # Known limit: only single-label suffixes are refused. Public suffixes of
        # several labels ('*.co.uk', '*.github.io') need a public-suffix list.
        scheme = key.partition("://")[0].lower()
        raise GlobTooBroad(
            f"invalid origin glob {key!r}: '*.{host}' would match every site under the "
            f"top-level domain {host!r}",
            f"list the site's own domain instead, e.g. '{scheme}://*.example.{host}'",
        )
    # '*.' needs room for at least one more label and its dot.
    if len(host) > (MAX_HOST_LENGTH - 2 if subdomains else MAX_HOST_LENGTH):
        _refuse(
            key,
            f"the host is {len(host)} characters long, but a host name has at most 253",
            "check the pattern for a copy-and-paste error",
        )
    return host


def _ascii_label(key: str, label: str) -> str:
    """Lower-case an ASCII label or convert a Unicode one to punycode; validate it."""
    if label.isascii():
        ascii_label = label.lower()
    elif _IDNA_DEVIATIONS.intersection(label):
        _refuse(
            key,
            f"label {label!r} contains a character that browsers and IDNA 2003 convert differently",
            "write the label in its punycode ('xn--') form as the browser sends it",
        )
    else:
        try:
            ascii_label = label.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            _refuse(
                key,
                f"label {label!r} is not a valid internationalized domain label ({exc})",
                "write the label in its punycode ('xn--') form",
            )
    if not _LABEL_RE.fullmatch(ascii_label):
        _refuse(
            key,
            f"label {label!r} is not a valid DNS label",
            "a label is 1-63 letters, digits or '-', not starting or ending with '-' "
            "(no '_', spaces or other characters)",
        )
    return ascii_label


class GlobIndex(Generic[T]):
    """All globs of one policy, compiled once for fast matching.

    ``entries`` are ``(glob, value)`` pairs; their order is their priority.
    :meth:`match` costs a few dictionary lookups per label of the request
    host, independent of how many globs were given:

    * globs without ``*.`` are keyed by ``(scheme, host, port)``, where port
      is ``None``, ``"*"`` or a decimal string;
    * ``*.`` globs are keyed the same way by their fixed suffix; at match
      time every proper suffix of the request host (after a ``.``) is looked
      up, with the origin's own port and with ``"*"``.

    Each key remembers the lowest position that produced it, so the overall
    answer is the value of the first matching entry in the given order.
    """

    __slots__ = ("_exact", "_subdomain", "_values")

    def __init__(self, entries: Iterable[tuple[OriginGlob, T]]) -> None:
        """Compile ``entries`` (``(glob, value)`` pairs, first = highest priority)."""
        self._values: list[T] = []
        self._exact: dict[tuple[str, str, str | None], int] = {}
        self._subdomain: dict[tuple[str, str, str | None], int] = {}
        for position, (glob, value) in enumerate(entries):
            self._values.append(value)
            table = self._subdomain if glob.subdomains else self._exact
            # setdefault keeps the first (highest-priority) position.
            table.setdefault((glob.scheme, glob.host, glob.port), position)

    def __len__(self) -> int:
        """Return the number of entries given (duplicates included)."""
        return len(self._values)

    def __repr__(self) -> str:
        """Return a short description (patterns are not listed)."""
        return f"<GlobIndex of {len(self._values)} globs>"

    def match(self, origin: str) -> T | None:
        """Return the value of the first entry whose glob matches ``origin``, else None.

        ``origin`` is a canonical serialized origin (``scheme://host[:port]``).
        Malformed or non-canonical input simply does not match.
        """
        parts = _split_origin(origin)  # also rejects hosts longer than 253
        if parts is None:
            return None
        scheme, host, port = parts
        best = len(self._values)
        # The lookups are written out: a helper returning the lowest of the two cost
        # about 4,200 instructions more per request for a four-label origin matched by
        # a glob (bench/run.py's scaling section under callgrind, aiohttp 3.14).
        exact = self._exact
        if exact:
            position = exact.get((scheme, host, port), best)
            if position < best:
                best = position
            position = exact.get((scheme, host, "*"), best)
            if position < best:
                best = position

        subdomain = self._subdomain
        # The prefix in front of a fixed suffix must be made of valid labels;
        # validating the whole host once (one C-level regex pass, host length
        # already bounded) covers every prefix.  Suffixes themselves need no
        # check: they are compared for equality with canonical fixed hosts.
        if subdomain and best and is_dns_host(host):
            # Only suffixes that start right after a '.' are tried: matching
            # inside a label is the evil-example.com bypass.
            dot = host.find(".")
            while dot >= 0:
                suffix = host[dot + 1 :]
                position = subdomain.get((scheme, suffix, port), best)
                if position < best:
                    best = position
                position = subdomain.get((scheme, suffix, "*"), best)
                if position < best:
                    best = position
                dot = host.find(".", dot + 1)

        if best < len(self._values):
            return self._values[best]
        return None
