"""The pure policy core: origin and header-list parsing, policy matching, refusal texts.

Everything here runs without aiohttp: ``aiohttp_cors._origins`` (origin grammar),
``aiohttp_cors._headers`` (header names and lists) and ``aiohttp_cors._policy``
(compiled policies, ``Grant``, ``Refusal``): aiohttp-cors 0.8.1's lookup by origin
through layers, its output formats and refusal texts; the fixes in docs/migration.md
that live here (1 ``Vary``, 5 malformed origins, 6 ``null``, 7 methods, 8 normalised
keys, 9 bounded parsing); the matching order of the new key syntax; and properties
checked with hypothesis.
HTTP behaviour (which layers a request gets, the preflight answer) is tested in
``test_preflight.py`` and ``test_behaviour.py``.
"""

from __future__ import annotations

import re
import warnings
from collections import ChainMap
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from aiohttp_cors import (
    CorsConfigurationWarning,
    CorsSecurityWarning,
    RefusalReason,
    ResourceOptions,
)
from aiohttp_cors._headers import (
    ACAC,
    ACAO,
    ACEH,
    MAX_REQUESTED_HEADERS,
    exposable_header_names,
    is_request_method,
    merge_vary,
    parse_requested_headers,
    refused_header_names,
)
from aiohttp_cors._origins import (
    MAX_ORIGIN_LENGTH,
    normalize_configured_origin,
    parse_request_origin,
)
from aiohttp_cors._policy import (
    Grant,
    Layer,
    OriginPolicy,
    Refusal,
    compile_policy,
    normalize_config,
)
from aiohttp_cors._predicates import PredicateFailed, PredicateRunner

ORIGIN = "https://app.example.com"
TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

A = ResourceOptions(max_age=1)
B = ResourceOptions(max_age=2)
C = ResourceOptions(max_age=3)
D = ResourceOptions(max_age=4)


def layers_of(config: Any) -> list[Layer]:
    """The checked layers of one configuration mapping (its warnings are not the point here)."""
    layers, _ = normalize_config(config)
    return layers


def policy(config: dict[Any, Any]) -> OriginPolicy:
    """Normalise and compile one configuration mapping."""
    return compile_policy(layers_of(config))


def max_age_for(compiled: OriginPolicy, origin: str) -> int | None:
    """The max_age of the options ``origin`` matches, or None when it matches nothing."""
    grant = compiled.match(origin)
    return None if grant is None else grant.options.max_age


# --------------------------------------------------------------------------
# parse_request_origin (serialized origins only; what the URL standard allows stays allowed)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example",
        "http://a.example",
        "http://127.0.0.1:8080",
        "http://[::1]:3000",
        "http://[::1]",
        "null",
        "http://localhost",
        "https://a.example:8443",
        "https://a.example:1",
        "https://a.example:65535",
        "http://a.example:443",
        "https://a.example:80",
        "https://a-b.c-d.example",
        "https://xn--bcher-kva.example",
        "chrome-extension://abcdefghijklmnop",
        "https://a.example.com",
        # A trailing-dot host and port 0 are serialized origins too (URL standard).
        "https://a.example.",
        "https://a.example.:8443",
        "https://a.example:0",
        "http://[::1]:0",
        # The URL standard applies no DNS hyphen or length rules to hosts.
        "https://-a.example",
        "https://foo-.tumblr.com",
        "https://" + "a" * 64 + ".example",
    ],
)
def test_request_origins_in_canonical_form_are_accepted(origin: str) -> None:
    assert parse_request_origin(origin) == origin


@pytest.mark.parametrize(
    "origin",
    [
        pytest.param(" https://a.example", id="leading-space"),
        pytest.param("https://a.example ", id="trailing-space"),
        pytest.param("https://a .example", id="inner-space"),
        pytest.param("https://a.example\t", id="tab"),
        pytest.param("https://a.example\r\nX-Injected: 1", id="crlf"),
        pytest.param("https://a.example\n", id="trailing-newline"),
        pytest.param("https://a.example\x00", id="nul"),
        pytest.param("https://a.exa\x7fmple", id="del"),
        pytest.param("https://a.example/", id="trailing-slash"),
        pytest.param("https://a.example/path", id="path"),
        pytest.param("https://a.example?", id="empty-query"),
        pytest.param("https://a.example?x=1", id="query"),
        pytest.param("https://a.example#", id="empty-fragment"),
        pytest.param("https://a.example#top", id="fragment"),
        pytest.param("https://user@a.example", id="userinfo"),
        pytest.param("https://user:pw@a.example", id="userinfo-password"),
        pytest.param("HTTPS://a.example", id="uppercase-scheme"),
        pytest.param("https://A.example", id="uppercase-host"),
        pytest.param("https://a.example:443", id="https-default-port"),
        pytest.param("http://a.example:80", id="http-default-port"),
        pytest.param("wss://a.example:443", id="wss-default-port"),
        pytest.param("https://a.example, https://b.example", id="list-comma"),
        pytest.param("https://a.example https://b.example", id="list-space"),
        pytest.param("https://" + "a" * 4096 + ".example", id="4kb"),
        pytest.param("https://a.example:" + "1" * 4096, id="4kb-port"),
        pytest.param("", id="empty"),
        pytest.param("https://a.example:65536", id="port-65536"),
        pytest.param("https://a.example:99999", id="port-99999"),
        pytest.param("https://a.example:08080", id="port-leading-zero"),
        pytest.param("https://a.example:00", id="port-double-zero"),
        pytest.param("https://a.example:", id="empty-port"),
        pytest.param("https://a.example:http", id="named-port"),
        pytest.param("Null", id="Null"),
        pytest.param("NULL", id="NULL"),
        pytest.param("null ", id="null-space"),
        pytest.param("https:/a.example", id="one-slash"),
        pytest.param("https//a.example", id="no-colon"),
        pytest.param("a.example", id="no-scheme"),
        pytest.param("//a.example", id="scheme-relative"),
        pytest.param("https://", id="no-host"),
        pytest.param("*", id="star"),
        pytest.param("https://*.example", id="glob"),
        pytest.param("https://a..example", id="empty-label"),
        pytest.param("https://a.example..", id="two-trailing-dots"),
        pytest.param("http://[::1", id="unclosed-ipv6"),
        pytest.param("file:///etc/passwd", id="file-url"),
        pytest.param("https://bücher.example", id="non-ascii-host"),
        pytest.param("https://a.example\u2028", id="unicode-line-separator"),
        pytest.param("1https://a.example", id="scheme-starting-with-digit"),
    ],
)
def test_malformed_request_origins_are_refused(origin: str) -> None:
    assert parse_request_origin(origin) is None


@pytest.mark.parametrize(
    "origin", ["http://[:]", "http://[...]", "http://[1::2::3]", "http://[12345::1]"]
)
def test_request_origins_with_malformed_ipv6_literals_are_refused(origin: str) -> None:
    assert parse_request_origin(origin) is None


def test_request_origins_longer_than_the_bound_are_refused() -> None:
    # Valid labels throughout: only the length bound refuses the longer one.
    host = ".".join(["a" * 60] * 5) + ".example"
    fits = "https://" + host
    assert len(fits) == MAX_ORIGIN_LENGTH
    assert parse_request_origin(fits) == fits
    too_long = "https://a" + host
    assert parse_request_origin(too_long) is None
    assert parse_request_origin("https://" + "a." * 500_000 + "example") is None


# --------------------------------------------------------------------------
# Refusal texts (aiohttp-cors 0.8.1's reason texts verbatim)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("refusal", "code", "message"),
    [
        (
            Refusal.origin_missing(),
            RefusalReason.ORIGIN_MISSING,
            "origin header is not specified in the request",
        ),
        (
            Refusal.method_missing(),
            RefusalReason.METHOD_MISSING,
            "'Access-Control-Request-Method' header is not specified",
        ),
        (
            Refusal.method_not_allowed("PUT", "https://a.example"),
            RefusalReason.METHOD_NOT_ALLOWED,
            "request method 'PUT' is not allowed for 'https://a.example' origin",
        ),
        (
            Refusal.no_origins(),
            RefusalReason.ORIGIN_NOT_ALLOWED,
            "no origins are allowed",
        ),
        (
            Refusal.origin_not_allowed("https://a.example", RefusalReason.ORIGIN_NOT_ALLOWED),
            RefusalReason.ORIGIN_NOT_ALLOWED,
            "origin 'https://a.example' is not allowed",
        ),
        (
            Refusal.origin_not_allowed("https://a.example/", RefusalReason.ORIGIN_MALFORMED),
            RefusalReason.ORIGIN_MALFORMED,
            "origin 'https://a.example/' is not allowed",
        ),
        (
            Refusal.headers_not_allowed(["X-A", "X-B"]),
            RefusalReason.HEADERS_NOT_ALLOWED,
            "headers are not allowed: X-A, X-B",
        ),
        (
            Refusal.private_network_not_allowed("https://a.example"),
            RefusalReason.PRIVATE_NETWORK_NOT_ALLOWED,
            "private network access is not allowed for 'https://a.example' origin",
        ),
    ],
    ids=[
        "origin-missing",
        "method-missing",
        "method-not-allowed",
        "no-origins",
        "origin-not-allowed",
        "origin-malformed",
        "headers-not-allowed",
        "private-network",
    ],
)
def test_refusal_texts_are_0_8_1s(refusal: Refusal, code: RefusalReason, message: str) -> None:
    assert refusal.code is code
    assert refusal.message == message
    assert str(refusal) == message


def test_method_refusal_quotes_values_with_repr_as_0_8_1_did() -> None:
    refusal = Refusal.method_not_allowed("it's", "https://a.example")
    assert (
        refusal.message == "request method \"it's\" is not allowed for 'https://a.example' origin"
    )


def test_refusal_texts_bound_the_request_values_they_quote() -> None:
    refusal = Refusal.method_not_allowed("M" * 500, "https://" + "a" * 500)
    assert "M" * 200 + "..." in refusal.message
    assert "M" * 201 not in refusal.message
    assert "a" * 201 not in refusal.message
    refusal = Refusal.origin_not_allowed("https://" + "b" * 500, RefusalReason.ORIGIN_MALFORMED)
    assert len(refusal.message) < 250


def test_header_refusal_lists_at_most_twenty_names() -> None:
    names = [f"X-{i}" for i in range(25)]
    refusal = Refusal.headers_not_allowed(names)
    assert refusal.message == "headers are not allowed: " + ", ".join(names[:20]) + ", ..."


def test_refusal_reason_codes_are_stable_strings() -> None:
    assert {reason.value for reason in RefusalReason} == {
        "origin_missing",
        "origin_malformed",
        "origin_not_allowed",
        "predicate_failed",
        "method_missing",
        "method_not_allowed",
        "headers_not_allowed",
        "private_network_not_allowed",
    }


# --------------------------------------------------------------------------
# merge_vary (Fetch, "CORS protocol and HTTP caches"; RFC 9110 §12.5.5)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, "Origin"),
        ("", "Origin"),
        ("Accept-Encoding", "Accept-Encoding, Origin"),
        ("Accept-Encoding, Accept-Language", "Accept-Encoding, Accept-Language, Origin"),
        ("origin", None),
        ("Origin", None),
        ("Accept-Encoding,ORIGIN", None),
        ("Accept-Encoding ,  origin  ", None),
        ("*", None),
        ("Accept-Encoding, *", None),
        ("X-Originator", "X-Originator, Origin"),
        ("Origins", "Origins, Origin"),
    ],
)
def test_vary_gets_origin_added_once_and_vary_star_is_left_alone(
    existing: str | None, expected: str | None
) -> None:
    assert merge_vary(existing, "Origin") == expected


def test_vary_gets_only_the_missing_names_of_a_list() -> None:
    names = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    assert merge_vary(None, names) == names
    assert merge_vary("origin, Accept", names) == (
        "origin, Accept, Access-Control-Request-Method, Access-Control-Request-Headers"
    )
    assert merge_vary("*", names) is None


# --------------------------------------------------------------------------
# exposable_header_names (expose_headers="*": 0.8.1's output format)
# --------------------------------------------------------------------------


def test_expose_star_lists_the_response_headers_but_0_8_1s_simple_set_in_order() -> None:
    names = [
        "X-B",
        "Cache-Control",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "Expires",
        "Last-Modified",
        "Pragma",
        "Set-Cookie",
        "X-A",
        "ETag",
        "X-A",
    ]
    # 0.8.1's simple set has no Content-Length and no Set-Cookie: both are listed.
    assert exposable_header_names(names) == "X-B,Content-Length,Set-Cookie,X-A,ETag"


def test_expose_star_leaves_out_the_cors_headers_being_set() -> None:
    names = ["X-A", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "X-B"]
    names.append("Access-Control-Allow-Credentials")
    assert exposable_header_names(names) == "X-A,X-B"


def test_expose_star_lists_nothing_when_only_simple_headers_are_sent() -> None:
    assert exposable_header_names(["Content-Type", "Cache-Control"]) == ""
    assert exposable_header_names([]) == ""


def test_expose_star_lists_a_repeated_header_name_once() -> None:
    headers = CIMultiDict([("X-Trace", "1"), ("Link", "<a>"), ("Link", "<b>"), ("Date", "x")])
    assert exposable_header_names(headers) == "X-Trace,Link,Date"


# --------------------------------------------------------------------------
# parse_requested_headers, refused_header_names, is_request_method
# (0.8.1's ACAH format; methods byte for byte as in Fetch §4.8; bounded parsing)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["X-A, x-b"], ["X-A", "X-B"]),
        (["X-A,X-B"], ["X-A", "X-B"]),
        (["X-A", "X-B, x-a"], ["X-A", "X-B"]),
        (["X-A", "", "X-B"], ["X-A", "X-B"]),
        ([" , X-A ,, ,X-B, "], ["X-A", "X-B"]),
        (["\tX-A\t,\tX-B"], ["X-A", "X-B"]),
        (["Authorization, X-A, AUTHORIZATION"], ["AUTHORIZATION", "X-A"]),
        (["x-requested-with"], ["X-REQUESTED-WITH"]),
        ([""], []),
        ([",,,"], []),
        (["," * 65536], []),
        (["X-A" + "," * 65536 + "X-B"], ["X-A", "X-B"]),
        ([], []),
    ],
)
def test_requested_header_lines_are_joined_empties_dropped_names_uppercased_and_deduplicated(
    lines: list[str], expected: list[str]
) -> None:
    assert parse_requested_headers(lines) == expected


def test_requested_header_names_keep_the_request_order() -> None:
    assert parse_requested_headers(["x-c, X-A", "x-b"]) == ["X-C", "X-A", "X-B"]


@pytest.mark.parametrize(
    ("names", "allowed", "refused"),
    [
        (["X-A", "X-B"], frozenset({"X-A", "X-B"}), []),
        (["X-B", "X-TOKEN", "X-A"], frozenset({"X-TOKEN"}), ["X-B", "X-A"]),
        (["X-A"], frozenset(), ["X-A"]),
        ([], frozenset(), []),
        (["X-A", "AUTHORIZATION"], "*", []),
        # "*" is never granted, even by allow_headers="*" (fix 7 in docs/migration.md)
        (["*"], "*", ["*"]),
        (["X-A", "*"], frozenset({"X-A", "*"}), ["*"]),
        # printable names that are not tokens are granted as 0.8.1 granted them
        (["X A"], "*", []),
        (["X-A", "X;B"], "*", []),
        (["X A"], frozenset({"X A"}), []),
        # characters that cannot go into a response header are never granted
        (["X-\udce9"], "*", ["X-\udce9"]),
        (["X-\x01"], "*", ["X-\x01"]),
        (["X-É"], frozenset({"X-É"}), ["X-É"]),
    ],
)
def test_requested_header_names_not_allowed_are_refused(
    names: list[str], allowed: Any, refused: list[str]
) -> None:
    assert refused_header_names(names, allowed) == refused


def test_more_requested_header_names_than_the_bound_are_all_refused() -> None:
    names = [f"X-H{i}" for i in range(MAX_REQUESTED_HEADERS + 1)]
    assert MAX_REQUESTED_HEADERS == 256
    assert refused_header_names(names[:-1], "*") == []
    assert refused_header_names(names, "*") == names


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("GET", True),
        ("PUT", True),
        ("PROPFIND", True),
        ("patch", True),  # a token; whether it is allowed is decided byte for byte
        ("*", False),
        ("GET, POST", False),
        ("PU T", False),
        ("", False),
        ("PUT\r\n", False),
        ("MÉTHODE", False),
    ],
)
def test_only_a_single_token_is_a_request_method(method: str, expected: bool) -> None:
    assert is_request_method(method) is expected


# --------------------------------------------------------------------------
# normalize_configured_origin (URL standard origin serialization; warn, never refuse)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "canonical"),
    [
        ("HTTPS://Example.COM:443", "https://example.com"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("http://x.org:80", "http://x.org"),
        ("http://x.org:8080", "http://x.org:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("http://[::1]:80", "http://[::1]"),
        ("null", "null"),
        # one trailing "/" is how URLs print: normalised away (fix 8 in docs/migration.md)
        ("https://example.com/", "https://example.com"),
        ("HTTPS://Example.COM:443/", "https://example.com"),
        # port 0 and a trailing-dot host are origins of their own (URL standard)
        ("https://example.com:0", "https://example.com:0"),
        ("https://Example.com.", "https://example.com."),
    ],
)
def test_configured_origins_are_normalised_to_the_browser_serialisation(
    configured: str, canonical: str
) -> None:
    assert normalize_configured_origin(configured) == canonical
    assert parse_request_origin(canonical) == canonical


@pytest.mark.parametrize(
    "configured",
    [
        "https://example.com//",
        "https://example.com/api",
        "https://example.com/api/",
        "https://example.com?q",
        "https://example.com#f",
        "https://u@example.com",
        "https://example.com:99999",
        "https://example.com:abc",
        "https://example.com:",
        "https://exa*mple.com",
        "example.com",
        "http://[::1",
        " https://example.com",
    ],
)
def test_a_configured_origin_that_is_no_origin_is_refused_naming_it(
    configured: str,
) -> None:
    with pytest.raises(ValueError) as excinfo:
        normalize_configured_origin(configured)
    assert repr(configured) in str(excinfo.value)


@pytest.mark.parametrize(
    ("configured", "browser_form"),
    [
        ("https://straße.example", "https://xn--strae-oqa.example"),
        ("https://ς.example", "https://xn--3xa.example"),
    ],
)
def test_configured_idna_deviation_characters_normalise_as_browsers_do(
    configured: str, browser_form: str
) -> None:
    try:
        normalized = normalize_configured_origin(configured)
    except ValueError:
        return  # refusing the key at configuration time is fine too
    assert normalized == browser_form


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("http://[0:0:0:0:0:0:0:1]:3000", "http://[::1]:3000"),
        ("http://[0:0::1]", "http://[::1]"),
        ("http://[:]", None),
    ],
)
def test_configured_ipv6_origins_are_canonicalised(
    configured: str, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            normalize_configured_origin(configured)
    else:
        assert normalize_configured_origin(configured) == expected


# --------------------------------------------------------------------------
# normalize_config: layers and problems (warnings, never errors 0.8.1 did not raise)
# --------------------------------------------------------------------------


def test_a_configuration_mapping_becomes_one_layer_with_canonical_keys() -> None:
    layers, problems = normalize_config(
        {"HTTPS://A.Example:443": A, "*": B, "null": C, "https://b.example/": D}
    )
    assert layers == [{"https://a.example": A, "*": B, "null": C, "https://b.example": D}]
    assert problems == []


def test_no_configuration_gives_no_layers() -> None:
    assert normalize_config(None) == ([], [])


def test_mapping_option_values_become_resource_options() -> None:
    layers, _ = normalize_config({ORIGIN: {"max_age": 1, "allow_methods": ["put"]}})
    assert layers == [{ORIGIN: ResourceOptions(max_age=1, allow_methods=("PUT",))}]


def test_a_chain_maps_maps_become_layers_in_order() -> None:
    layers, _ = normalize_config(ChainMap({ORIGIN: A}, {"*": B}, {ORIGIN: C}))
    assert layers == [{ORIGIN: A}, {"*": B}, {ORIGIN: C}]


def test_checking_a_configuration_returns_its_problems_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers, problems = normalize_config(
            {"*": ResourceOptions(allow_credentials=True), "https://a.example/x": A}
        )
    assert layers == [{"*": ResourceOptions(allow_credentials=True), "https://a.example/x": A}]
    assert [category for category, _ in problems] == [
        CorsSecurityWarning,
        CorsConfigurationWarning,
    ]


# --------------------------------------------------------------------------
# OriginPolicy.match: order and pattern semantics
# --------------------------------------------------------------------------


def test_match_prefers_exact_over_glob_over_star() -> None:
    compiled = policy({"*": A, "https://*.example.com": B, "https://app.example.com": C, "null": D})
    assert max_age_for(compiled, "https://app.example.com") == 3
    assert max_age_for(compiled, "https://x.example.com") == 2
    assert max_age_for(compiled, "https://a.b.example.com") == 2
    assert max_age_for(compiled, "https://example.com") == 1  # the glob never matches the apex
    assert max_age_for(compiled, "https://other.org") == 1
    assert max_age_for(compiled, "null") == 4


def test_match_exact_wins_regardless_of_configuration_order() -> None:
    compiled = policy({"https://app.example.com": C, "https://*.example.com": B, "*": A})
    assert max_age_for(compiled, "https://app.example.com") == 3


def test_star_never_matches_null() -> None:
    compiled = policy({"*": A})
    assert compiled.match("null") is None
    assert max_age_for(compiled, "https://any.example") == 1


def test_explicit_null_key_matches_null_only() -> None:
    compiled = policy({"null": D})
    assert max_age_for(compiled, "null") == 4
    assert compiled.match("https://a.example") is None


def test_no_match_without_star() -> None:
    compiled = policy({"https://a.example": A})
    assert compiled.match("https://b.example") is None
    assert compiled.match("http://a.example") is None
    assert compiled.match("https://a.example:8443") is None
    assert compiled.match("https://a.example.") is None  # a different origin


def test_regex_key_is_matched_with_fullmatch() -> None:
    compiled = policy({re.compile(r"https://app\.example\.com"): A})
    assert max_age_for(compiled, "https://app.example.com") == 1
    assert compiled.match("https://app.example.com:8080") is None
    assert compiled.match("https://app.example.com.evil.net") is None
    assert compiled.match("http://https://app.example.com") is None


def test_literal_origin_with_dots_is_never_a_regex() -> None:
    compiled = policy({"https://app.example.com": A})
    assert compiled.match("https://appXexample.com") is None
    assert compiled.match("https://app-example.com") is None
    assert max_age_for(compiled, "https://app.example.com") == 1


def test_regex_and_glob_are_tried_in_configuration_order() -> None:
    regex = re.compile(r"https://x\.example\.com")
    first_regex = policy({regex: A, "https://*.example.com": B})
    first_glob = policy({"https://*.example.com": B, regex: A})
    assert max_age_for(first_regex, "https://x.example.com") == 1
    assert max_age_for(first_glob, "https://x.example.com") == 2
    # a regex that does not match falls through to the glob
    assert max_age_for(first_regex, "https://y.example.com") == 2


def test_exact_wins_over_an_earlier_regex() -> None:
    compiled = policy({re.compile(r"https://.*"): A, "https://app.example.com": C})
    assert max_age_for(compiled, "https://app.example.com") == 3
    assert max_age_for(compiled, "https://other.example") == 1


def test_normalised_config_keys_match_browser_origins() -> None:
    compiled = policy(
        {
            "HTTPS://App.Example.COM:443": A,
            "https://bücher.example": B,
            "https://trailing.example/": C,
        }
    )
    assert max_age_for(compiled, "https://app.example.com") == 1
    assert max_age_for(compiled, "https://xn--bcher-kva.example") == 2
    assert max_age_for(compiled, "https://trailing.example") == 3


def test_keys_no_browser_can_send_are_kept_and_never_match() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorsConfigurationWarning)
        compiled = policy({"https://a.example/api": A, "a.example": B})
    assert compiled.match("https://a.example") is None
    # The keys as written are no serialized origin, so no request origin is ever one of them.
    assert parse_request_origin("https://a.example/api") is None
    assert parse_request_origin("a.example") is None
    assert not compiled.empty


async def test_lookup_agrees_with_match_for_policies_without_callables() -> None:
    compiled = policy({"*": A, "https://*.example.com": B, "https://app.example.com": C})
    for origin in ("https://app.example.com", "https://x.example.com", "https://o.org", "null"):
        assert await compiled.lookup(origin, PredicateRunner().ask) is compiled.match(origin)


async def test_predicates_sync_and_async_are_asked_in_order_after_exact_keys() -> None:
    asked: list[str] = []

    def tenant(origin: str) -> bool:
        asked.append("sync")
        return origin.endswith(".tenant.example")

    async def partner(origin: str) -> bool:
        asked.append("async")
        return origin == "https://partner.example"

    compiled = policy({tenant: A, partner: B, "https://exact.example": C, "*": D})
    ask = PredicateRunner().ask
    assert compiled.has_callables
    assert (await compiled.lookup(ask=ask, origin="https://exact.example")).options is C  # type: ignore[union-attr]
    assert asked == []
    assert (await compiled.lookup(ask=ask, origin="https://a.tenant.example")).options is A  # type: ignore[union-attr]
    assert (await compiled.lookup(ask=ask, origin="https://partner.example")).options is B  # type: ignore[union-attr]
    assert (await compiled.lookup(ask=ask, origin="https://other.example")).options is D  # type: ignore[union-attr]
    assert await compiled.lookup(ask=ask, origin="null") is None  # "*" never answers null


async def test_a_predicate_that_is_not_exactly_true_does_not_match() -> None:
    compiled = policy({lambda origin: "yes": A})
    assert await compiled.lookup(ORIGIN, PredicateRunner().ask) is None


async def test_a_failing_predicate_raises_predicate_failed_naming_it() -> None:
    def broken(origin: str) -> bool:
        raise RuntimeError("database down")

    compiled = policy({broken: A})
    with pytest.raises(PredicateFailed, match="broken"):
        await compiled.lookup(ORIGIN, PredicateRunner().ask)


# --------------------------------------------------------------------------
# compile_policy: layers, highest precedence first (0.8.1's ChainMap lookup)
# --------------------------------------------------------------------------


def test_first_layer_wins_for_the_same_key() -> None:
    compiled = compile_policy([{ORIGIN: B}, {ORIGIN: A}])
    assert max_age_for(compiled, ORIGIN) == 2
    compiled = compile_policy([{ORIGIN: C}, {ORIGIN: B}, {ORIGIN: A}])
    assert max_age_for(compiled, ORIGIN) == 3


def test_exact_key_of_a_lower_layer_wins_over_a_higher_layers_star() -> None:
    # 0.8.1 looked the origin up through every layer before trying "*".
    compiled = compile_policy([{"*": B}, {}, {ORIGIN: A}])
    assert max_age_for(compiled, ORIGIN) == 1
    assert max_age_for(compiled, "https://other.example") == 2


def test_higher_layer_exact_key_wins_over_a_lower_layers_star() -> None:
    compiled = compile_policy([{ORIGIN: B}, {"*": A}])
    assert max_age_for(compiled, ORIGIN) == 2
    assert max_age_for(compiled, "https://other.example") == 1


def test_higher_layer_star_replaces_a_lower_layers_star() -> None:
    compiled = compile_policy([{"*": B}, {"*": A}])
    assert max_age_for(compiled, "https://other.example") == 2


def test_exact_keys_of_every_layer_come_before_patterns_and_patterns_before_star() -> None:
    glob_over_exact = compile_policy([*layers_of({"https://*.example.com": A}), {ORIGIN: B}])
    assert max_age_for(glob_over_exact, ORIGIN) == 2
    assert max_age_for(glob_over_exact, "https://x.example.com") == 1
    star_over_glob = compile_policy([{"*": A}, *layers_of({"https://*.example.com": B})])
    assert max_age_for(star_over_glob, "https://x.example.com") == 2
    assert max_age_for(star_over_glob, "https://other.org") == 1


def test_patterns_are_tried_layer_by_layer() -> None:
    regex = re.compile(r"https://x\.example\.com")
    compiled = compile_policy([*layers_of({"https://*.example.com": B}), {regex: A}])
    assert max_age_for(compiled, "https://x.example.com") == 2
    compiled = compile_policy([{regex: A}, *layers_of({"https://*.example.com": B})])
    assert max_age_for(compiled, "https://x.example.com") == 1


def test_options_are_never_merged_field_by_field() -> None:
    route = ResourceOptions(allow_credentials=True)
    defaults = ResourceOptions(expose_headers=("X-A",), max_age=5)
    grant = compile_policy([{ORIGIN: route}, {ORIGIN: defaults}]).match(ORIGIN)
    assert grant is not None
    assert grant.options == route
    assert grant.max_age is None
    assert grant.expose_value is None


def test_empty_policy_matches_nothing() -> None:
    for compiled in (compile_policy([]), compile_policy([{}, {}])):
        assert compiled.empty
        assert compiled.match(ORIGIN) is None
        assert compiled.match("null") is None
    assert not compile_policy([{}, {ORIGIN: A}]).empty


# --------------------------------------------------------------------------
# Grant: precompiled header values (0.8.1's output formats)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow_methods", "method", "expected"),
    [
        (None, "PUT", False),
        (None, "GET", False),  # GET/HEAD/POST always pass, but in routing, not here
        ((), "PUT", False),
        ("*", "PUT", True),
        ("*", "PROPFIND", True),
        (("PUT",), "PUT", True),
        (("PUT",), "DELETE", False),
        (("PATCH",), "PATCH", True),
        (("PATCH",), "patch", False),  # byte-exact, as browsers compare (Fetch §4.8)
        (("patch",), "PATCH", True),  # configured names are upper-cased, as in 0.8.1
        (("patch",), "patch", False),
    ],
)
def test_granted_options_allow_the_configured_methods(
    allow_methods: Any, method: str, expected: bool
) -> None:
    grant = Grant(ResourceOptions(allow_methods=allow_methods))
    assert grant.allows_method(method) is expected


@pytest.mark.parametrize(("max_age", "header"), [(None, None), (0, "0"), (600, "600")])
def test_max_age_header_value_follows_the_options(max_age: int | None, header: str | None) -> None:
    assert Grant(ResourceOptions(max_age=max_age)).max_age == header


def test_granted_options_keep_allow_headers_upper_cased_and_their_flags() -> None:
    grant = Grant(
        ResourceOptions(
            allow_credentials=True, allow_headers=("x-token",), allow_private_network=True
        )
    )
    assert grant.headers == frozenset({"X-TOKEN"})
    assert grant.credentials is True
    assert grant.private_network is True
    assert Grant(ResourceOptions(allow_headers="*")).headers == "*"


# --------------------------------------------------------------------------
# Grant.decorate_actual (0.8.1's values; one line each, ours win: aio-libs/aiohttp-cors#271)
# --------------------------------------------------------------------------


def test_actual_response_gets_only_allow_origin_with_default_options() -> None:
    headers: dict[str, str] = {"Content-Type": "text/plain"}
    Grant(ResourceOptions()).decorate_actual(headers, ORIGIN)
    assert headers == {"Content-Type": "text/plain", ACAO: ORIGIN}


def test_actual_response_gets_credentials_and_a_sorted_expose_list() -> None:
    headers: dict[str, str] = {}
    grant = Grant(ResourceOptions(allow_credentials=True, expose_headers=("X-B", "X-A")))
    grant.decorate_actual(headers, ORIGIN)
    assert headers == {ACEH: "X-A,X-B", ACAO: ORIGIN, ACAC: "true"}


def test_actual_response_cors_headers_come_in_0_8_1s_order() -> None:
    headers = CIMultiDict([("X-Data", "1")])
    Grant(ResourceOptions(allow_credentials=True, expose_headers=("X-Data",))).decorate_actual(
        headers, ORIGIN
    )
    assert list(headers) == ["X-Data", ACEH, ACAO, ACAC]


def test_actual_response_cors_values_of_the_handler_are_replaced_with_one_line_each() -> None:
    headers = CIMultiDict(
        [
            (ACAO, "*"),
            ("access-control-allow-origin", "https://evil.example"),
            (ACAC, "false"),
            (ACEH, "X-Secret"),
            ("X-Data", "1"),
        ]
    )
    Grant(ResourceOptions(allow_credentials=True, expose_headers=("X-Data",))).decorate_actual(
        headers, ORIGIN
    )
    assert headers.getall(ACAO) == [ORIGIN]
    assert headers.getall(ACAC) == ["true"]
    assert headers.getall(ACEH) == ["X-Data"]


def test_actual_response_handler_credentials_and_expose_are_removed_when_not_configured() -> None:
    headers = CIMultiDict([(ACAC, "true"), (ACEH, "X-Secret"), ("X-Data", "1")])
    Grant(ResourceOptions()).decorate_actual(headers, ORIGIN)
    assert dict(headers) == {"X-Data": "1", ACAO: ORIGIN}


def test_actual_response_expose_star_lists_the_response_headers() -> None:
    headers = CIMultiDict(
        [
            ("Content-Type", "application/json"),
            ("X-Total", "3"),
            ("Set-Cookie", "a=1"),
            ("ETag", '"1"'),
            (ACEH, "X-Stale"),
        ]
    )
    Grant(ResourceOptions(expose_headers="*")).decorate_actual(headers, ORIGIN)
    assert headers.getall(ACEH) == ["X-Total,Set-Cookie,ETag"]
    assert headers[ACAO] == ORIGIN


def test_actual_response_expose_star_with_only_simple_headers_sends_an_empty_value() -> None:
    # 0.8.1 sent the header even when no name was left.
    headers = CIMultiDict([("Content-Type", "text/plain"), (ACEH, "X-Stale")])
    Grant(ResourceOptions(expose_headers="*")).decorate_actual(headers, ORIGIN)
    assert headers.getall(ACEH) == [""]


# --------------------------------------------------------------------------
# "*" (the request's origin is echoed, as 0.8.1 did; a requested "*" is never granted)
# --------------------------------------------------------------------------


def _values(headers: Any) -> list[str]:
    """Every comma-separated item of every header value."""
    return [item.strip() for _, value in headers for item in value.split(",")]


@pytest.mark.parametrize("credentials", [True, False])
def test_star_config_never_sends_a_literal_star(credentials: bool) -> None:
    everything = ResourceOptions(
        allow_credentials=credentials,
        allow_headers="*",
        allow_methods="*",
        expose_headers="*",
        max_age=10,
    )
    grant = policy({"*": everything}).match(ORIGIN)
    assert grant is not None
    assert grant.allows_method("PUT")
    names = parse_requested_headers(["Authorization, X-Token"])
    assert refused_header_names(names, grant.headers) == []
    assert ",".join(names) == "AUTHORIZATION,X-TOKEN"

    headers = CIMultiDict([("Content-Type", "text/plain"), ("X-Data", "1")])
    grant.decorate_actual(headers, ORIGIN)
    assert "*" not in _values(headers.items())
    assert headers[ACAO] == ORIGIN
    assert headers[ACEH] == "X-Data"
    assert (ACAC in headers) is credentials


def test_a_requested_star_method_is_never_granted_even_by_allow_methods_star() -> None:
    grant = Grant(ResourceOptions(allow_credentials=True, allow_methods="*"))
    assert grant.allows_method("*")  # the options would allow it ...
    assert not is_request_method("*")  # ... but routing refuses it before asking them


@pytest.mark.parametrize(
    "request_headers", [["*"], ["x-a, *"], ["x-a", "*"]], ids=["star", "list", "lines"]
)
def test_a_requested_star_header_is_never_granted_even_by_allow_headers_star(
    request_headers: list[str],
) -> None:
    grant = Grant(ResourceOptions(allow_credentials=True, allow_headers="*"))
    names = parse_requested_headers(request_headers)
    assert refused_header_names(names, grant.headers) == ["*"]


def test_star_inside_an_expose_list_is_a_literal_name_and_a_warning() -> None:
    options = ResourceOptions(allow_credentials=True, expose_headers=["*"])
    _, problems = normalize_config({ORIGIN: options})
    assert problems == [
        (
            CorsConfigurationWarning,
            f"options for {ORIGIN!r}: '*' inside expose_headers is a literal name, not a "
            "wildcard. Hint: write expose_headers='*' to allow all.",
        )
    ]
    headers = CIMultiDict([("X-Data", "1")])
    Grant(options).decorate_actual(headers, ORIGIN)
    assert headers[ACEH] == "*"  # what 0.8.1 sent: ",".join of the configured names


# --------------------------------------------------------------------------
# Properties (hypothesis)
# --------------------------------------------------------------------------

header_names = st.text(alphabet=TCHARS, min_size=1, max_size=20)


def _upper_dedupe(names: list[str]) -> list[str]:
    return list(dict.fromkeys(name.upper() for name in names))


@given(st.lists(header_names, max_size=80))
def test_property_header_list_parses_to_uppercased_deduped_names(names: list[str]) -> None:
    assert parse_requested_headers([", ".join(names)]) == _upper_dedupe(names)


@given(st.lists(header_names, min_size=1, max_size=80), st.data())
def test_property_header_list_over_several_lines_equals_one_line(
    names: list[str], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(names)))
    lines = [",".join(names[:cut]), " , ".join(names[cut:])]
    assert parse_requested_headers(lines) == _upper_dedupe(names)


@given(st.lists(header_names, max_size=30), st.lists(header_names, max_size=30))
def test_property_refused_names_are_the_requested_names_not_allowed(
    requested: list[str], configured: list[str]
) -> None:
    names = parse_requested_headers([",".join(requested)])
    allowed = ResourceOptions(allow_headers=configured).allow_headers
    refused = refused_header_names(names, allowed)
    assert refused == [name for name in names if name not in allowed or name == "*"]


LAYER_KEYS = ["https://a.example", "https://b.example", "null", "*"]
layer_strategy = st.dictionaries(st.sampled_from(LAYER_KEYS), st.sampled_from([A, B, C, D]))


@given(st.lists(layer_strategy, max_size=4), st.sampled_from(LAYER_KEYS[:3]))
def test_property_lookup_is_0_8_1s_chain_map_by_origin_then_star(
    layers: list[dict[str, ResourceOptions]], origin: str
) -> None:
    chain = ChainMap(*layers)
    expected = chain.get(origin, chain.get("*") if origin != "null" else None)
    grant = compile_policy(layers).match(origin)
    assert (None if grant is None else grant.options) == expected


origin_like = st.from_regex(
    r"(https?|wss?|[a-zA-Z][a-zA-Z0-9+.\-]{0,6}):(//)?[a-zA-Z0-9.\-_]{0,30}(:[0-9]{0,6})?",
    fullmatch=True,
)
any_origin_input = st.one_of(st.text(max_size=400), origin_like, st.just("null"))


def _reserialise(origin: str) -> str:
    """Rebuild ``scheme://host[:port]`` from the parts ``urlsplit`` finds."""
    parts = urlsplit(origin)
    assert parts.path == "" and parts.query == "" and parts.fragment == ""
    assert parts.username is None and parts.password is None
    rebuilt = f"{parts.scheme}://{parts.hostname}"
    if parts.port is not None:
        assert str(parts.port) != {"http": "80", "https": "443"}.get(parts.scheme, "")
        rebuilt += f":{parts.port}"
    return rebuilt


@given(any_origin_input)
def test_property_parse_request_origin_never_raises_and_accepts_only_canonical(
    value: str,
) -> None:
    parsed = parse_request_origin(value)
    if parsed is None:
        return
    assert parsed == value
    if value != "null":
        assert _reserialise(value) == value
        assert normalize_configured_origin(value) == value


@given(any_origin_input)
def test_property_configured_origin_normalises_to_an_accepted_origin_or_value_error(
    value: str,
) -> None:
    try:
        normalized = normalize_configured_origin(value)
    except ValueError:
        return
    assert parse_request_origin(normalized) == normalized
    assert normalize_configured_origin(normalized) == normalized


@pytest.mark.parametrize(
    ("configured", "ipv4"),
    [
        ("https://a.0xyz", False),  # "0xyz" is no hex number: a domain label
        ("https://a.0x1f", True),  # ends in a number: browsers parse it as IPv4
        ("https://a.31", True),
    ],
)
def test_configured_hosts_follow_the_url_standards_ends_in_a_number_rule(
    configured: str, ipv4: bool
) -> None:
    if ipv4:
        with pytest.raises(ValueError, match="IPv4"):
            normalize_configured_origin(configured)
    else:
        assert normalize_configured_origin(configured) == configured
