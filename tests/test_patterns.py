"""Origin globs: which patterns are accepted, how they are normalized, what they match."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError
from typing import Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiohttp_cors._origins import GlobIndex, OriginGlob, _split_origin, is_glob, parse_glob

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def matches(glob: OriginGlob, origin: str) -> bool:
    """Whether ``glob`` matches ``origin``: the reference, one glob at a time, written
    independently of GlobIndex (which matches many globs at once) to check it against."""
    parts = _split_origin(origin)
    if parts is None:
        return False
    scheme, host, port = parts
    if scheme != glob.scheme or (glob.port != "*" and port != glob.port):
        return False
    if not glob.subdomains:
        return host == glob.host
    # The leading '.' is essential: evil-example.com ends with example.com.
    suffix = "." + glob.host
    prefix = host[: -len(suffix)] if host.endswith(suffix) else ""
    return bool(prefix) and all(_LABEL.fullmatch(label) for label in prefix.split("."))

# --------------------------------------------------------------------------
# is_glob
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("*", False),
        ("https://example.com", False),
        ("null", False),
        ("", False),
        ("https://*.example.com", True),
        ("http://localhost:*", True),
        ("https://a*.example.com", True),  # a glob, albeit an invalid one
        ("**", True),
    ],
)
def test_only_keys_with_a_star_besides_the_bare_star_are_globs(key: str, expected: bool) -> None:
    assert is_glob(key) is expected


# --------------------------------------------------------------------------
# Accepted patterns and their normalization
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "scheme", "host", "subdomains", "port"),
    [
        ("https://*.example.com", "https", "example.com", True, None),
        ("http://*.example.com", "http", "example.com", True, None),
        ("https://*.a.b.example.com", "https", "a.b.example.com", True, None),
        ("http://localhost:*", "http", "localhost", False, "*"),
        ("https://app.example.com:*", "https", "app.example.com", False, "*"),
        ("http://127.0.0.1:*", "http", "127.0.0.1", False, "*"),
        ("http://[::1]:*", "http", "[::1]", False, "*"),
        ("http://[0:0:0:0:0:0:0:1]:*", "http", "[::1]", False, "*"),
        ("http://[2001:DB8::0:1]:*", "http", "[2001:db8::1]", False, "*"),
        ("http://[1:0:0:2:0:0:0:3]:*", "http", "[1:0:0:2::3]", False, "*"),
        ("http://[::ffff:1.2.3.4]:*", "http", "[::ffff:102:304]", False, "*"),
        ("https://*.example.com:*", "https", "example.com", True, "*"),
        ("https://*.example.com:8443", "https", "example.com", True, "8443"),
        ("https://*.example.com:65535", "https", "example.com", True, "65535"),
        ("https://*.example.com:1", "https", "example.com", True, "1"),
        # The default port never appears in an origin, so it is dropped.
        ("https://*.example.com:443", "https", "example.com", True, None),
        ("http://*.example.com:80", "http", "example.com", True, None),
        # ... but only the default port of *that* scheme.
        ("http://*.example.com:443", "http", "example.com", True, "443"),
        ("https://*.example.com:80", "https", "example.com", True, "80"),
        # Case is normalized.
        ("HTTPS://*.Example.COM", "https", "example.com", True, None),
        ("Http://LocalHost:*", "http", "localhost", False, "*"),
        # IDNA labels become punycode.
        ("https://*.bücher.example", "https", "xn--bcher-kva.example", True, None),
        ("https://*.BÜCHER.example", "https", "xn--bcher-kva.example", True, None),
        ("https://*.xn--bcher-kva.example", "https", "xn--bcher-kva.example", True, None),
        ("https://*.a-b.example.com", "https", "a-b.example.com", True, None),
        ("https://*.0a.example.com", "https", "0a.example.com", True, None),
        ("https://*.example.com1", "https", "example.com1", True, None),
    ],
)
def test_valid_glob_patterns_parse_into_their_parts(
    pattern: str, scheme: str, host: str, subdomains: bool, port: str | None
) -> None:
    glob = parse_glob(pattern)
    assert glob == OriginGlob(
        source=pattern, scheme=scheme, host=host, subdomains=subdomains, port=port
    )


def test_origin_glob_is_frozen_and_hashable() -> None:
    glob = parse_glob("https://*.example.com")
    with pytest.raises(FrozenInstanceError):
        glob.host = "evil.net"  # type: ignore[misc]
    assert hash(glob) == hash(parse_glob("https://*.example.com"))


def test_a_glob_host_of_up_to_253_characters_is_accepted_and_matches() -> None:
    labels = ["a" * 63, "b" * 63, "c" * 63, "d" * 59]  # 251 characters with the dots
    fixed = ".".join(labels)
    assert len(fixed) == 251
    glob = parse_glob(f"https://*.{fixed}")
    assert matches(glob, f"https://x.{fixed}")
    with pytest.raises(ValueError, match="253"):
        parse_glob(f"https://*.{fixed}e")


# --------------------------------------------------------------------------
# Refused patterns: the message names the pattern and carries a hint
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        # '*' in any other place
        ("https://a*.example.com", ["only allowed", "*.example.com"]),
        ("https://*example.com", ["only allowed", "*.example.com"]),
        ("https://ex*.com", ["only allowed"]),
        ("https://example.*", ["only allowed"]),
        ("https://*", ["only allowed"]),
        ("https://*:*", ["only allowed"]),
        ("https://*.*.example.com", ["only one", "deeper subdomains"]),
        ("https://*.example.*", ["only one"]),
        ("*://example.com", ["scheme", "wildcard"]),
        ("*://*.example.com", ["scheme", "wildcard"]),
        ("https://*.example.com:8*", ["port", "1-65535"]),
        ("https://*.example.com:**", ["port"]),
        ("https://*.example.com:*:*", ["port"]),
        # single-label suffixes would cover a whole top-level domain
        ("https://*.com", ["top-level domain", "own domain"]),
        ("https://*.co", ["top-level domain", "own domain"]),
        ("http://*.localhost", ["top-level domain", "own domain"]),
        # not an origin
        ("https://*.example.com/", ["path", "trailing '/'"]),
        ("https://*.example.com/app", ["path"]),
        ("https://*.example.com?x=1", ["query"]),
        ("https://*.example.com#top", ["fragment"]),
        ("https://user@*.example.com", ["user information"]),
        ("https://*.example.com@evil.net", ["user information"]),
        ("https://*.example.com\\evil.net", ["backslash"]),
        # scheme
        ("*.example.com", ["no scheme", "https://"]),
        ("//*.example.com", ["no scheme"]),
        ("://*.example.com", ["no scheme"]),
        ("ftp://*.example.com", ["http and https", "https://"]),
        ("ws://*.example.com", ["http and https"]),
        ("chrome-extension://*", ["http and https"]),
        # ports
        ("https://*.example.com:0", ["port", "1-65535"]),
        ("https://*.example.com:65536", ["port", "1-65535"]),
        ("https://*.example.com:99999", ["port"]),
        ("https://*.example.com:08", ["port", "leading zeros"]),
        ("https://*.example.com:", ["port"]),
        ("https://*.example.com:http", ["port"]),
        ("https://*.example.com:-1", ["port"]),
        ("https://*.example.com:+1", ["port"]),
        ("https://*.example.com:\u0663", ["port"]),  # ARABIC-INDIC DIGIT THREE
        # host syntax
        ("https://*.", ["empty"]),
        ("https://*..example.com", ["empty label"]),
        ("https://*.a..example.com", ["empty label"]),
        ("https://*.example.com.", ["trailing '.'"]),
        ("http://localhost.:*", ["trailing '.'"]),
        ("https://*.a_b.example.com", ["not a valid DNS label", "'_'"]),
        ("https://*.-a.example.com", ["not a valid DNS label"]),
        ("https://*.a-.example.com", ["not a valid DNS label"]),
        ("https://*.a%2eb.example.com", ["not a valid DNS label"]),
        ("https://*." + "a" * 64 + ".com", ["not a valid DNS label", "1-63"]),
        ("https://*.a b.example.com", ["whitespace"]),
        (" https://*.example.com", ["whitespace"]),
        ("https://*.example.com\n", ["whitespace"]),
        ("https://*.exa\x00mple.com", ["control"]),
        ("https://*.faß.example", ["punycode"]),
        ("https://*.a\u3002b.example", ["not a valid DNS label"]),  # ideographic full stop
        # IP addresses
        ("https://*.1.2.3.4", ["IP address", "*."]),
        ("https://*.example.123", ["IP address"]),
        ("https://*.[::1]", ["IP address", "*."]),
        ("https://*.[::1]:*", ["IP address"]),
        ("http://127.1:*", ["IPv4", "four decimal numbers"]),
        ("http://010.0.0.1:*", ["IPv4", "leading zeros"]),
        ("http://256.0.0.1:*", ["IPv4"]),
        ("http://0x7f.0.0.1:*", ["IPv4"]),
        ("http://::1:*", ["brackets"]),
        ("http://[::1:*", ["closing ']'"]),
        ("http://[::1]x:*", ["after the IPv6 address"]),
        ("http://[nope]:*", ["not a valid IPv6 address"]),
        ("http://[::1%25eth0]:*", ["zone"]),
        # not globs at all
        ("*", ["any origin"]),
        ("https://example.com", ["not a glob", "exact origin"]),
    ],
)
def test_invalid_glob_patterns_are_refused(pattern: str, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        parse_glob(pattern)
    message = str(info.value)
    assert repr(pattern) in message
    assert "Hint:" in message
    for word in words:
        assert word in message


def test_non_string_pattern_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_glob(b"https://*.example.com")  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Matching: hostile origins
# --------------------------------------------------------------------------

SUBDOMAIN_CASES = [
    # allowed
    ("https://a.example.com", True),
    ("https://a.b.example.com", True),
    ("https://xn--bcher-kva.example.com", True),
    ("https://a-b.example.com", True),
    ("https://0.example.com", True),
    ("https://" + "a" * 63 + ".example.com", True),
    # the classic bypasses
    ("https://evil-example.com", False),
    ("https://evilexample.com", False),
    ("https://example.com.evil.net", False),
    ("https://a.example.com.evil.net", False),
    ("https://a.example.com%2eevil.net", False),
    ("https://a.example.com%2e", False),
    ("https://a%2eexample.com", False),
    ("https://example.com", False),  # apex
    ("https://.example.com", False),
    ("https://a..example.com", False),
    ("https://..example.com", False),
    ("https://a.example.com.", False),
    ("http://a.example.com", False),  # scheme
    ("wss://a.example.com", False),
    ("https://a.example.com:8443", False),  # port without ':*'
    ("https://a.example.com:443", False),  # not canonical
    ("https://A.EXAMPLE.COM", False),  # not canonical
    ("https://A.example.com", False),
    ("https://a_b.example.com", False),
    ("https://-a.example.com", False),
    ("https://a-.example.com", False),
    ("https://" + "a" * 64 + ".example.com", False),
    ("https://a b.example.com", False),
    ("https://a.example.com/", False),
    ("https://a.example.com/x", False),
    ("https://user@a.example.com", False),
    ("https://evil.net@a.example.com", False),
    ("https://a.example.com@evil.net", False),
    ("https://a.example.com\n", False),
    ("https://a.example.com:", False),
    ("https://a.example.com:x", False),
    ("https://[::1].example.com", False),
    ("https://a.exámple.com", False),
    ("https://a.example.co", False),
    ("https://a.example.comm", False),
    ("https://a.example.com:*", False),
    ("a.example.com", False),
    ("//a.example.com", False),
    ("https:/a.example.com", False),
    ("", False),
    ("null", False),
    ("*", False),
]


@pytest.mark.parametrize(("origin", "expected"), SUBDOMAIN_CASES)
def test_subdomain_glob_against_hostile_origins(origin: str, expected: bool) -> None:
    glob = parse_glob("https://*.example.com")
    assert matches(glob, origin) is expected
    index = GlobIndex([(glob, "yes")])
    assert index.match(origin) == ("yes" if expected else None)


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("http://localhost", True),
        ("http://localhost:3000", True),
        ("http://localhost:1", True),
        ("http://localhost:65535", True),
        ("https://localhost:3000", False),
        ("https://localhost", False),
        ("http://localhost.evil.net:3000", False),
        ("http://evil-localhost:1", False),
        ("http://a.localhost:3000", False),
        ("http://localhost:0", True),  # port 0 is a valid URL port
        ("http://localhost:65536", False),
        ("http://localhost:03000", False),
        ("http://localhost:", False),
        ("http://localhost:3000/", False),
        ("http://LOCALHOST:3000", False),
        ("http://localhost:3000:3000", False),
    ],
)
def test_any_port_glob_matches_every_valid_port_of_its_host_only(
    origin: str, expected: bool
) -> None:
    glob = parse_glob("http://localhost:*")
    assert matches(glob, origin) is expected
    assert GlobIndex([(glob, 1)]).match(origin) == (1 if expected else None)


@pytest.mark.parametrize(
    ("pattern", "origin", "expected"),
    [
        ("http://[::1]:*", "http://[::1]", True),
        ("http://[::1]:*", "http://[::1]:3000", True),
        ("http://[::1]:*", "http://[::2]:3000", False),
        ("http://[::1]:*", "http://[::1", False),
        ("http://[::1]:*", "http://[::1]3000", False),
        ("http://[0::1]:*", "http://[::1]:8080", True),
        ("http://127.0.0.1:*", "http://127.0.0.1:8080", True),
        ("http://127.0.0.1:*", "http://127.0.0.1", True),
        ("http://127.0.0.1:*", "http://127.0.0.10:8080", False),
        ("http://127.0.0.1:*", "http://1127.0.0.1:8080", False),
        ("https://*.example.com:*", "https://a.example.com", True),
        ("https://*.example.com:*", "https://a.b.example.com:8443", True),
        ("https://*.example.com:*", "https://example.com:8443", False),
        ("https://*.example.com:*", "http://a.example.com:8443", False),
        ("https://*.example.com:8443", "https://a.example.com:8443", True),
        ("https://*.example.com:8443", "https://a.example.com", False),
        ("https://*.example.com:8443", "https://a.example.com:8444", False),
        ("https://*.example.com:443", "https://a.example.com", True),
        ("https://*.example.com:443", "https://a.example.com:443", False),  # not canonical
        ("https://*.bücher.example", "https://a.xn--bcher-kva.example", True),
        ("https://*.bücher.example", "https://a.bücher.example", False),  # not canonical
        ("https://*.Example.COM", "https://a.example.com", True),
        ("https://app.example.com:*", "https://app.example.com:4443", True),
        ("https://app.example.com:*", "https://x.app.example.com:4443", False),
    ],
)
def test_globs_match_exactly_the_origins_they_cover(
    pattern: str, origin: str, expected: bool
) -> None:
    glob = parse_glob(pattern)
    assert matches(glob, origin) is expected
    assert GlobIndex([(glob, pattern)]).match(origin) == (pattern if expected else None)


def test_overlong_hosts_are_rejected() -> None:
    glob = parse_glob("https://*.example.com")
    index = GlobIndex([(glob, True)])
    # 127 one-character labels + example.com: valid labels, but 265 characters.
    host = "a." * 127 + "example.com"
    assert len(host) > 253
    assert not matches(glob, f"https://{host}")
    assert index.match(f"https://{host}") is None
    # Exactly at the limit still matches; one more character does not.
    host = "a." * 120 + "a.example.com"
    assert len(host) == 253
    assert matches(glob, f"https://{host}")
    assert index.match(f"https://{host}") is True
    host = "a." * 120 + "ab.example.com"
    assert len(host) == 254
    assert not matches(glob, f"https://{host}")
    assert index.match(f"https://{host}") is None
    # A huge hostile input is refused cheaply and correctly.
    assert index.match("https://" + "a." * 100_000 + "example.com") is None


# --------------------------------------------------------------------------
# GlobIndex: priority, size, mixing tables
# --------------------------------------------------------------------------


def test_first_matching_entry_wins() -> None:
    entries = [
        (parse_glob("https://*.api.example.com"), "api"),
        (parse_glob("https://*.example.com"), "wide"),
        (parse_glob("https://*.example.com:*"), "wide-any-port"),
        (parse_glob("https://www.example.com:*"), "www"),
    ]
    index = GlobIndex(entries)
    assert index.match("https://v1.api.example.com") == "api"
    assert index.match("https://www.example.com") == "wide"
    assert index.match("https://www.example.com:8443") == "wide-any-port"
    assert index.match("https://api.example.com") == "wide"

    reversed_index = GlobIndex(list(reversed(entries)))
    assert reversed_index.match("https://v1.api.example.com") == "wide-any-port"
    assert reversed_index.match("https://www.example.com") == "www"
    assert reversed_index.match("https://a.example.com") == "wide-any-port"


def test_priority_across_exact_and_subdomain_entries() -> None:
    sub = parse_glob("https://*.example.com")
    exact = parse_glob("https://a.example.com:*")
    assert GlobIndex([(sub, "sub"), (exact, "exact")]).match("https://a.example.com") == "sub"
    assert GlobIndex([(exact, "exact"), (sub, "sub")]).match("https://a.example.com") == "exact"
    # Deeper vs shallower suffix: position decides, not specificity.
    deep = parse_glob("https://*.b.example.com")
    assert GlobIndex([(sub, 1), (deep, 2)]).match("https://a.b.example.com") == 1
    assert GlobIndex([(deep, 2), (sub, 1)]).match("https://a.b.example.com") == 2


def test_duplicates_keep_first_value_and_len_counts_entries() -> None:
    glob = parse_glob("https://*.example.com")
    index = GlobIndex([(glob, "first"), (glob, "second")])
    assert len(index) == 2
    assert index.match("https://a.example.com") == "first"
    assert "2" in repr(index)


def test_an_empty_glob_index_matches_nothing() -> None:
    index: GlobIndex[str] = GlobIndex([])
    assert len(index) == 0
    assert index.match("https://a.example.com") is None


def test_a_falsy_value_of_a_matching_glob_is_returned() -> None:
    index = GlobIndex([(parse_glob("https://*.example.com"), 0)])
    assert index.match("https://a.example.com") == 0
    assert index.match("https://example.com") is None


def test_a_glob_index_can_be_built_from_a_generator() -> None:
    patterns = ["https://*.example.com", "http://localhost:*"]
    index = GlobIndex((parse_glob(p), p) for p in patterns)
    assert len(index) == 2
    assert index.match("http://localhost:8000") == "http://localhost:*"


def test_a_thousand_globs_each_match_only_their_own_subdomains() -> None:
    index = GlobIndex((parse_glob(f"https://*.t{i}.example.com"), i) for i in range(1000))
    assert len(index) == 1000
    assert index.match("https://a.t999.example.com") == 999
    assert index.match("https://a.b.t0.example.com") == 0
    assert index.match("https://x.t500.example.com") == 500
    for origin in [
        "https://t999.example.com",  # apex of the pattern
        "https://a.t1000.example.com",
        "https://a.t999.example.com.evil.net",
        "https://a.t999-example.com",
        "https://a-t999.example.com",
        "http://a.t999.example.com",
        "https://a.t999.example.com:8443",
        "https://a.example.com",
    ]:
        assert index.match(origin) is None, origin


# --------------------------------------------------------------------------
# Property-based tests against an independent reference predicate
# --------------------------------------------------------------------------

_LDH = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def ref_label_ok(label: str) -> bool:
    """A valid lower-case LDH label, written out from the definition."""
    return (
        1 <= len(label) <= 63
        and all(ch in _LDH for ch in label)
        and not label.startswith("-")
        and not label.endswith("-")
    )


def ref_port_ok(port: str) -> bool:
    if port == "0":  # a valid URL port, serialized as "0"
        return True
    return (
        port.isascii() and port.isdigit() and not port.startswith("0") and 1 <= int(port) <= 65535
    )


# (scheme, fixed labels, subdomains, port spec)
Spec = tuple[str, tuple[str, ...], bool, Optional[str]]


def ref_matches(spec: Spec, origin: str) -> bool:
    """Reference predicate written from the definition (DNS hosts only)."""
    scheme, fixed_labels, subdomains, port_spec = spec
    fixed = ".".join(fixed_labels)
    origin_scheme, sep, rest = origin.partition("://")
    if not sep or origin_scheme != scheme:
        return False
    host, colon, port = rest.partition(":")
    if colon and not ref_port_ok(port):
        return False
    if port_spec == "*":
        pass  # any port, including the default one
    elif port_spec is None:
        if colon:
            return False
    elif port != port_spec:
        return False
    if len(host) > 253:
        return False
    if not subdomains:
        return host == fixed
    if not host.endswith("." + fixed):
        return False
    prefix_labels = host[: -len(fixed) - 1].split(".")
    return all(ref_label_ok(label) for label in prefix_labels)


def render(spec: Spec, upper: bool = False, default_port: bool = False) -> str:
    scheme, fixed_labels, subdomains, port_spec = spec
    host = ("*." if subdomains else "") + ".".join(fixed_labels)
    if upper:
        host = host.upper()
        scheme = scheme.upper()
    if port_spec is not None:
        host += ":" + port_spec
    elif default_port:
        host += ":" + {"http": "80", "https": "443"}[spec[0]]
    return f"{scheme}://{host}"


# A small vocabulary makes collisions between patterns and origins likely.
common_labels = st.sampled_from(
    ["a", "b", "www", "api", "example", "com", "net", "evil", "0", "a-b", "xn--bcher-kva"]
)
random_labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
labels = st.one_of(common_labels, common_labels, random_labels)
# The last label of a DNS name must not be numeric (that would be IPv4).
last_labels = st.one_of(
    st.sampled_from(["com", "net", "example", "localhost", "test"]),
    st.from_regex(r"[a-z]([a-z0-9-]{0,6}[a-z0-9])?", fullmatch=True),
)
bad_labels = st.sampled_from(
    ["", "-a", "a-", "A", "Ab", "a_b", "a%2eb", "a b", "a" * 64, "é", "*", "[::1]", "a:1"]
)
schemes = st.sampled_from(["http", "https"])
origin_schemes = st.sampled_from(["http", "https", "ws", "HTTPS", ""])
pattern_ports = st.sampled_from([None, "*", "8443", "3000"])
origin_ports = st.sampled_from([None, None, "8443", "3000", "1", "65535", "0", "08", "65536", ""])


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    subdomains = draw(st.booleans())
    min_size = 1 if subdomains else 0
    fixed = (*draw(st.lists(labels, min_size=min_size, max_size=3)), draw(last_labels))
    # A glob without '*.' needs ':*' to be a glob at all.
    port = draw(pattern_ports) if subdomains else "*"
    return (draw(schemes), fixed, subdomains, port)


def with_port(host: str, port: str | None) -> str:
    return host if port is None else f"{host}:{port}"


@st.composite
def matching_origins(draw: st.DrawFn, spec: Spec) -> str:
    """An origin that matches ``spec``, built constructively."""
    scheme, fixed_labels, subdomains, port_spec = spec
    host = ".".join(fixed_labels)
    if subdomains:
        prefix = draw(st.lists(labels, min_size=1, max_size=3))
        host = ".".join(prefix) + "." + host
    if port_spec == "*":
        port = draw(st.sampled_from([None, "1", "3000", "8443", "65535"]))
    else:
        port = port_spec
    return f"{scheme}://{with_port(host, port)}"


@st.composite
def near_miss_origins(draw: st.DrawFn, spec: Spec) -> str:
    """A matching origin with one hostile mutation (which may or may not still match)."""
    scheme, fixed_labels, subdomains, port_spec = spec
    fixed = ".".join(fixed_labels)
    prefix = ".".join(draw(st.lists(labels, min_size=1, max_size=2)))
    port = None if port_spec in (None, "*") else port_spec
    mutation = draw(
        st.sampled_from(
            [
                "scheme",
                "apex",
                "dash",
                "glued",
                "suffix",
                "bad-prefix-label",
                "bad-fixed-label",
                "port",
                "upper",
                "trailing-dot",
                "drop-fixed-label",
                "extra-fixed-label",
                "path",
                "long",
            ]
        )
    )
    host = f"{prefix}.{fixed}" if subdomains else fixed
    if mutation == "scheme":
        scheme = draw(origin_schemes)
    elif mutation == "apex":
        host = fixed
    elif mutation == "dash":
        host = f"{prefix}-{fixed}"
    elif mutation == "glued":
        host = f"{prefix}{fixed}"
    elif mutation == "suffix":
        host = f"{host}.{draw(labels)}.{draw(last_labels)}"
    elif mutation == "bad-prefix-label":
        host = f"{prefix}.{draw(bad_labels)}.{fixed}"
    elif mutation == "bad-fixed-label":
        host = f"{prefix}.{draw(bad_labels)}{fixed}"
    elif mutation == "port":
        port = draw(origin_ports)
    elif mutation == "upper":
        host = host.upper()
    elif mutation == "trailing-dot":
        host += "."
    elif mutation == "drop-fixed-label":
        host = ".".join(host.split(".")[1:])
    elif mutation == "extra-fixed-label":
        host = f"{draw(labels)}.{host}"
    elif mutation == "path":
        return f"{scheme}://{with_port(host, port)}/"
    elif mutation == "long":
        host = ".".join(["a" * 60] * 4) + "." + host
    return f"{scheme}://{with_port(host, port)}"


def origins_for(spec: Spec) -> st.SearchStrategy[str]:
    return st.one_of(matching_origins(spec), near_miss_origins(spec))


@given(spec=specs(), data=st.data())
def test_constructed_origins_match(spec: Spec, data: st.DataObject) -> None:
    origin = data.draw(matching_origins(spec))
    glob = parse_glob(render(spec))
    assert ref_matches(spec, origin)  # sanity of the generator
    assert matches(glob, origin)
    assert GlobIndex([(glob, "v")]).match(origin) == "v"


@given(
    spec=specs(),
    upper=st.booleans(),
    default_port=st.booleans(),
    data=st.data(),
)
def test_single_glob_agrees_with_reference(
    spec: Spec, upper: bool, default_port: bool, data: st.DataObject
) -> None:
    glob = parse_glob(render(spec, upper=upper, default_port=default_port))
    origin = data.draw(origins_for(spec))
    expected = ref_matches(spec, origin)
    assert matches(glob, origin) is expected
    assert GlobIndex([(glob, "v")]).match(origin) == ("v" if expected else None)


@given(
    spec_list=st.lists(specs(), min_size=1, max_size=8),
    data=st.data(),
)
def test_index_returns_first_match_of_reference(spec_list: list[Spec], data: st.DataObject) -> None:
    globs = [parse_glob(render(spec)) for spec in spec_list]
    index = GlobIndex((glob, position) for position, glob in enumerate(globs))
    target = data.draw(st.sampled_from(spec_list))
    origin = data.draw(
        st.one_of(
            origins_for(target),
            # Origins built from another random spec probe unrelated entries.
            specs().flatmap(origins_for),
        )
    )
    expected = next(
        (position for position, spec in enumerate(spec_list) if ref_matches(spec, origin)),
        None,
    )
    assert index.match(origin) == expected
    # The reference implementation on OriginGlob agrees with the index.
    assert (
        next((position for position, glob in enumerate(globs) if matches(glob, origin)), None)
        == expected
    )


@given(origin=st.text(max_size=40))
def test_arbitrary_text_never_crashes(origin: str) -> None:
    glob = parse_glob("https://*.example.com:*")
    index = GlobIndex([(glob, 1), (parse_glob("http://localhost:*"), 2)])
    result = index.match(origin)
    assert result in (None, 1, 2)
    assert (result == 1) == matches(glob, origin)


@given(key=st.text(max_size=40))
def test_parse_glob_only_raises_value_error(key: str) -> None:
    try:
        glob = parse_glob(key)
    except ValueError as exc:
        assert repr(key) in str(exc)
        return
    # Anything accepted is an http(s) glob in canonical form.
    assert glob.scheme in ("http", "https")
    assert glob.subdomains or glob.port == "*"
    assert re.fullmatch(r"[a-z0-9.\-\[\]:]+", glob.host)
