"""The pure policy core: origin and header-list parsing, policy matching, preflight decisions.

Everything here runs without aiohttp: ``aiohttp_cors._syntax`` (grammars) and
``aiohttp_cors._policy`` (compiled policies, ``Grant``, ``decide_preflight``).
CONTRACT §2, §3 (.1 Vary, .6 malformed origins, .7 credentials and ``*``,
.8 methods, .9 bounded parsing), §5 (matching order) and §6.
"""

from __future__ import annotations

import re
import time
import warnings
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from aiohttp_cors import CorsSecurityWarning, RefusalReason, ResourceOptions
from aiohttp_cors._policy import (
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACAPN,
    ACEH,
    ACMA,
    Grant,
    OriginPolicy,
    Refusal,
    check_preflight_origin,
    compile_policy,
    decide_preflight,
    exposable_header_names,
    merge_vary,
    normalize_config,
)
from aiohttp_cors._syntax import (
    normalize_configured_origin,
    parse_header_name_list,
    parse_request_origin,
)

ORIGIN = "https://app.example.com"
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
PREFLIGHT_VARY_PNA = PREFLIGHT_VARY + ", Access-Control-Request-Private-Network"
TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

A = ResourceOptions(max_age=1)
B = ResourceOptions(max_age=2)
C = ResourceOptions(max_age=3)
D = ResourceOptions(max_age=4)


def policy(config: dict[Any, Any]) -> OriginPolicy:
    """Normalise and compile one configuration mapping, ignoring security warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorsSecurityWarning)
        return compile_policy(normalize_config(config))


def max_age_for(compiled: OriginPolicy, origin: str) -> int | None:
    """The max_age of the options ``origin`` matches, or None when it matches nothing."""
    grant = compiled.match(origin)
    return None if grant is None else grant.options.max_age


# --------------------------------------------------------------------------
# parse_request_origin (CONTRACT §3.6)
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
    ],
)
def test_parse_request_origin_accepts_canonical_origins(origin: str) -> None:
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
        pytest.param("https://a.example:0", id="port-0"),
        pytest.param("https://a.example:65536", id="port-65536"),
        pytest.param("https://a.example:99999", id="port-99999"),
        pytest.param("https://a.example:08080", id="port-leading-zero"),
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
        pytest.param("https://-a.example", id="leading-hyphen-label"),
        pytest.param("https://a.example.", id="trailing-dot"),
        pytest.param("http://[::1", id="unclosed-ipv6"),
        pytest.param("file:///etc/passwd", id="file-url"),
        pytest.param("https://bücher.example", id="non-ascii-host"),
        pytest.param("https://a.example\u2028", id="unicode-line-separator"),
        pytest.param("1https://a.example", id="scheme-starting-with-digit"),
    ],
)
def test_parse_request_origin_refuses_malformed_origins(origin: str) -> None:
    assert parse_request_origin(origin) is None


@pytest.mark.parametrize(
    "origin", ["http://[:]", "http://[...]", "http://[1::2::3]", "http://[12345::1]"]
)
def test_parse_request_origin_refuses_malformed_ipv6_literals(origin: str) -> None:
    assert parse_request_origin(origin) is None


def test_parse_request_origin_refuses_a_huge_value_in_bounded_time() -> None:
    hostile = "https://" + "a." * 500_000 + "example"
    start = time.perf_counter()
    for _ in range(100):
        assert parse_request_origin(hostile) is None
    assert time.perf_counter() - start < 0.5


# --------------------------------------------------------------------------
# check_preflight_origin
# --------------------------------------------------------------------------


def test_check_preflight_origin_without_origin_is_origin_missing() -> None:
    refusal = check_preflight_origin([])
    assert isinstance(refusal, Refusal)
    assert refusal.code is RefusalReason.ORIGIN_MISSING
    assert refusal.message == "origin header is not specified"


def test_check_preflight_origin_returns_a_valid_origin() -> None:
    assert check_preflight_origin([ORIGIN]) == ORIGIN
    assert check_preflight_origin(["null"]) == "null"


def test_check_preflight_origin_refuses_several_origin_lines() -> None:
    refusal = check_preflight_origin(["https://a.example", "https://b.example"])
    assert isinstance(refusal, Refusal)
    assert refusal.code is RefusalReason.ORIGIN_MALFORMED
    assert refusal.message == (
        "origin 'https://a.example, https://b.example' is not allowed (malformed)"
    )


def test_check_preflight_origin_refuses_a_malformed_origin() -> None:
    refusal = check_preflight_origin(["https://a.example/"])
    assert isinstance(refusal, Refusal)
    assert refusal.code is RefusalReason.ORIGIN_MALFORMED
    assert refusal.message == "origin 'https://a.example/' is not allowed (malformed)"


def test_check_preflight_origin_message_is_escaped_and_bounded() -> None:
    refusal = check_preflight_origin(["https://a.example\r\nX: 'y'" + "z" * 500])
    assert isinstance(refusal, Refusal)
    message = refusal.message
    assert "\r" not in message
    assert "\n" not in message
    assert "\\r\\n" in message
    assert "\\'y\\'" in message
    shown = message.removeprefix("origin '").removesuffix("' is not allowed (malformed)")
    assert shown.endswith("…")
    assert len(shown) < 130


# --------------------------------------------------------------------------
# merge_vary (CONTRACT §3.1)
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
def test_merge_vary(existing: str | None, expected: str | None) -> None:
    assert merge_vary(existing, "Origin") == expected


# --------------------------------------------------------------------------
# exposable_header_names
# --------------------------------------------------------------------------


def test_exposable_header_names_skips_safelisted_cors_and_set_cookie_keeping_order() -> None:
    names = [
        "X-B",
        "Cache-Control",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "Expires",
        "Last-Modified",
        "Pragma",
        "x-b",
        "Access-Control-Allow-Origin",
        "access-control-expose-headers",
        "Set-Cookie",
        "set-cookie2",
        "X-A",
        "ETag",
        "X-A",
    ]
    assert exposable_header_names(names) == "X-B,X-A,ETag"


def test_exposable_header_names_of_only_safelisted_headers_is_empty() -> None:
    assert exposable_header_names(["Content-Type", "Content-Length"]) == ""
    assert exposable_header_names([]) == ""


def test_exposable_header_names_reads_a_multidict_with_repeated_names() -> None:
    headers = CIMultiDict([("X-Trace", "1"), ("Link", "<a>"), ("Link", "<b>"), ("Date", "x")])
    assert exposable_header_names(headers) == "X-Trace,Link,Date"


# --------------------------------------------------------------------------
# parse_header_name_list (CONTRACT §3.9)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["X-A, x-b"], ["x-a", "x-b"]),
        (["X-A,X-B"], ["x-a", "x-b"]),
        (["X-A", "X-B, x-a"], ["x-a", "x-b"]),
        (["X-A", "", "X-B"], ["x-a", "x-b"]),
        ([" , X-A ,, ,X-B, "], ["x-a", "x-b"]),
        (["\tX-A\t,\tX-B"], ["x-a", "x-b"]),
        (["Authorization, X-A, AUTHORIZATION"], ["authorization", "x-a"]),
        ([""], []),
        ([",,,"], []),
        ([], []),
    ],
)
def test_parse_header_name_list_joins_lines_skips_empties_lowercases_dedupes(
    lines: list[str], expected: list[str]
) -> None:
    assert parse_header_name_list(lines) == expected


@pytest.mark.parametrize(
    "lines",
    [
        ["X A"],
        ["X-A, x;b"],
        ["X-A, x:b"],
        ["x-a\r\n"],
        ["x-\u00e9"],
        ["X-A", "bad name"],
        ['"x-a"'],
    ],
)
def test_parse_header_name_list_refuses_non_tokens(lines: list[str]) -> None:
    assert parse_header_name_list(lines) is None


def test_parse_header_name_list_accepts_256_names_and_refuses_257() -> None:
    names = [f"x-h{i}" for i in range(257)]
    assert parse_header_name_list([", ".join(names[:256])]) == names[:256]
    assert parse_header_name_list([", ".join(names)]) is None


def test_parse_header_name_list_counts_distinct_names() -> None:
    assert parse_header_name_list([", ".join(["X-A"] * 300)]) == ["x-a"]


def test_parse_header_name_list_refuses_64kb_of_commas() -> None:
    assert parse_header_name_list(["," * 65536]) is None
    assert parse_header_name_list(["X-A" + "," * 65536 + "X-B"]) is None


def test_parse_header_name_list_bounds_commas_across_several_lines() -> None:
    assert parse_header_name_list(["," * 600, "," * 600]) is None


def test_parse_header_name_list_refuses_hostile_input_in_bounded_time() -> None:
    hostile = ["," * 1_000_000, ", ".join(f"x-{i}" for i in range(100_000))]
    start = time.perf_counter()
    for lines in ([hostile[0]], [hostile[1]], hostile):
        assert parse_header_name_list(lines) is None
    assert time.perf_counter() - start < 1.0


# --------------------------------------------------------------------------
# normalize_configured_origin (CONTRACT §4)
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
    ],
)
def test_normalize_configured_origin(configured: str, canonical: str) -> None:
    assert normalize_configured_origin(configured) == canonical
    assert parse_request_origin(canonical) == canonical


@pytest.mark.parametrize(
    "configured",
    [
        "https://example.com/",
        "https://example.com/api",
        "https://example.com?q",
        "https://example.com#f",
        "https://u@example.com",
        "https://example.com:0",
        "https://example.com:99999",
        "https://example.com:abc",
        "https://exa*mple.com",
        "example.com",
        "https://example.com.",
        "http://[::1",
    ],
)
def test_normalize_configured_origin_refuses_with_value_error_naming_the_value(
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
def test_normalize_configured_origin_handles_idna_deviation_characters_as_browsers(
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
def test_normalize_configured_origin_canonicalises_ipv6(
    configured: str, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            normalize_configured_origin(configured)
    else:
        assert normalize_configured_origin(configured) == expected


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
    compiled = policy({"HTTPS://App.Example.COM:443": A, "https://bücher.example": B})
    assert max_age_for(compiled, "https://app.example.com") == 1
    assert max_age_for(compiled, "https://xn--bcher-kva.example") == 2


async def test_match_async_agrees_with_match_for_policies_without_callables() -> None:
    compiled = policy({"*": A, "https://*.example.com": B, "https://app.example.com": C})
    for origin in ("https://app.example.com", "https://x.example.com", "https://o.org", "null"):
        assert await compiled.match_async(origin) is compiled.match(origin)


# --------------------------------------------------------------------------
# compile_policy: layers (defaults, resource, route)
# --------------------------------------------------------------------------


def test_later_layer_wins_for_the_same_key() -> None:
    compiled = compile_policy({ORIGIN: A}, {ORIGIN: B})
    assert max_age_for(compiled, ORIGIN) == 2
    compiled = compile_policy({ORIGIN: A}, {ORIGIN: B}, {ORIGIN: C})
    assert max_age_for(compiled, ORIGIN) == 3


def test_exact_key_from_defaults_wins_over_a_route_star() -> None:
    compiled = compile_policy({ORIGIN: A}, {}, {"*": B})
    assert max_age_for(compiled, ORIGIN) == 1
    assert max_age_for(compiled, "https://other.example") == 2


def test_route_exact_key_wins_over_defaults_star() -> None:
    compiled = compile_policy({"*": A}, {ORIGIN: B})
    assert max_age_for(compiled, ORIGIN) == 2
    assert max_age_for(compiled, "https://other.example") == 1


def test_route_star_replaces_defaults_star() -> None:
    compiled = compile_policy({"*": A}, {"*": B})
    assert max_age_for(compiled, "https://other.example") == 2


def test_compiled_policy_exposes_the_merged_config() -> None:
    compiled = compile_policy({"*": A, ORIGIN: B}, {ORIGIN: C, "https://b.example": D})
    assert dict(compiled.config) == {"*": A, ORIGIN: C, "https://b.example": D}


def test_empty_policy_matches_nothing() -> None:
    compiled = compile_policy()
    assert compiled.match(ORIGIN) is None
    assert compiled.match("null") is None


# --------------------------------------------------------------------------
# Grant.method_allowed (CONTRACT §3.8)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow_methods", "method", "served", "expected"),
    [
        (None, "GET", False, True),
        (None, "HEAD", False, True),
        (None, "POST", False, True),
        ((), "GET", False, True),
        (("PUT",), "POST", False, True),
        (None, "PUT", True, True),
        (None, "PUT", False, False),
        (None, "DELETE", True, True),
        ("*", "PUT", False, True),
        ("*", "PROPFIND", False, True),
        (("PUT",), "PUT", False, True),
        (("PUT",), "DELETE", True, False),  # a list decides, whatever the route serves
        (("PATCH",), "PATCH", False, True),
        (("PATCH",), "patch", True, False),  # byte-exact
        (("patch",), "PATCH", False, True),  # configured names are upper-cased
        (("patch",), "patch", False, False),
        (None, "get", False, False),  # only the upper-case names are safelisted
        (None, "post", False, False),
    ],
)
def test_grant_method_allowed(
    allow_methods: Any, method: str, served: bool, expected: bool
) -> None:
    grant = Grant(ResourceOptions(allow_methods=allow_methods))
    assert grant.method_allowed(method, served) is expected


# --------------------------------------------------------------------------
# decide_preflight
# --------------------------------------------------------------------------


def test_preflight_minimal_success_headers() -> None:
    answer = decide_preflight(ORIGIN, Grant(ResourceOptions()), "PUT", True, [], [])
    assert answer.refusal is None
    assert answer.headers == [(ACAO, ORIGIN), (ACAM, "PUT"), ("Vary", PREFLIGHT_VARY)]


def test_preflight_full_success_headers_in_order() -> None:
    grant = Grant(
        ResourceOptions(allow_credentials=True, allow_headers=("X-Token", "X-Other"), max_age=600)
    )
    answer = decide_preflight(ORIGIN, grant, "DELETE", True, ["X-Token, x-other", "X-TOKEN"], [])
    assert answer.refusal is None
    assert answer.headers == [
        (ACAO, ORIGIN),
        (ACAC, "true"),
        (ACMA, "600"),
        (ACAM, "DELETE"),
        (ACAH, "x-token, x-other"),
        ("Vary", PREFLIGHT_VARY),
    ]


def test_preflight_max_age_zero_is_sent() -> None:
    answer = decide_preflight(ORIGIN, Grant(ResourceOptions(max_age=0)), "GET", False, [], [])
    assert answer.headers is not None
    assert (ACMA, "0") in answer.headers


def test_preflight_without_max_age_sends_no_max_age() -> None:
    answer = decide_preflight(ORIGIN, Grant(ResourceOptions()), "GET", False, [], [])
    assert answer.headers is not None
    assert ACMA not in dict(answer.headers)
    assert ACAC not in dict(answer.headers)


@pytest.mark.parametrize("request_headers", [[], [""], [" , "]])
def test_preflight_sends_allow_headers_only_when_names_were_requested(
    request_headers: list[str],
) -> None:
    grant = Grant(ResourceOptions(allow_headers="*"))
    answer = decide_preflight(ORIGIN, grant, "PUT", True, request_headers, [])
    assert answer.headers is not None
    assert ACAH not in dict(answer.headers)


def test_preflight_allow_headers_star_names_every_requested_header() -> None:
    grant = Grant(ResourceOptions(allow_headers="*"))
    answer = decide_preflight(
        ORIGIN, grant, "PUT", True, ["Authorization, X-Custom, content-type"], []
    )
    assert answer.headers is not None
    assert dict(answer.headers)[ACAH] == "authorization, x-custom, content-type"


def test_preflight_with_origin_not_allowed_is_refused_first() -> None:
    answer = decide_preflight(ORIGIN, None, "TRACE", False, ["bad name"], ["true"])
    assert answer.headers is None
    assert answer.refusal is not None
    assert answer.refusal.code is RefusalReason.ORIGIN_NOT_ALLOWED
    assert answer.refusal.message == f"origin '{ORIGIN}' is not allowed"


def test_preflight_with_method_not_allowed() -> None:
    answer = decide_preflight(ORIGIN, Grant(ResourceOptions()), "PUT", False, [], [])
    assert answer.headers is None
    assert answer.refusal is not None
    assert answer.refusal.code is RefusalReason.METHOD_NOT_ALLOWED
    assert answer.refusal.message == "request method 'PUT' is not allowed"


def test_preflight_with_lowercase_method_is_refused_byte_exact() -> None:
    grant = Grant(ResourceOptions(allow_methods=("PATCH",)))
    answer = decide_preflight(ORIGIN, grant, "patch", True, [], [])
    assert answer.refusal is not None
    assert answer.refusal.message == "request method 'patch' is not allowed"


def test_preflight_with_headers_not_allowed_lists_them_in_request_order() -> None:
    grant = Grant(ResourceOptions(allow_headers=("X-Token",)))
    answer = decide_preflight(ORIGIN, grant, "GET", False, ["X-B, x-token, X-A"], [])
    assert answer.headers is None
    assert answer.refusal is not None
    assert answer.refusal.code is RefusalReason.HEADERS_NOT_ALLOWED
    assert answer.refusal.message == "headers are not allowed: x-b, x-a"


def test_preflight_header_refusal_lists_at_most_ten_names() -> None:
    grant = Grant(ResourceOptions())
    names = [f"x-{i}" for i in range(12)]
    answer = decide_preflight(ORIGIN, grant, "GET", False, [", ".join(names)], [])
    assert answer.refusal is not None
    assert answer.refusal.message == "headers are not allowed: " + ", ".join(names[:10]) + ", …"


@pytest.mark.parametrize(
    "request_headers",
    [["x-a, bad name"], [", ".join(f"x-{i}" for i in range(257))], ["," * 65536]],
    ids=["non-token", "257-names", "64kb-commas"],
)
def test_preflight_with_malformed_header_list(request_headers: list[str]) -> None:
    grant = Grant(ResourceOptions(allow_headers="*"))
    answer = decide_preflight(ORIGIN, grant, "GET", False, request_headers, [])
    assert answer.headers is None
    assert answer.refusal is not None
    assert answer.refusal.code is RefusalReason.HEADERS_NOT_ALLOWED
    assert answer.refusal.message == "headers are not allowed: the list is malformed or too long"


def test_preflight_private_network_refused_when_off() -> None:
    answer = decide_preflight(ORIGIN, Grant(ResourceOptions()), "GET", False, [], ["true"])
    assert answer.headers is None
    assert answer.refusal is not None
    assert answer.refusal.code is RefusalReason.PRIVATE_NETWORK_NOT_ALLOWED
    assert answer.refusal.message == (
        "private network access is not allowed (set allow_private_network=True)"
    )


def test_preflight_private_network_answered_when_on() -> None:
    grant = Grant(ResourceOptions(allow_private_network=True))
    answer = decide_preflight(ORIGIN, grant, "GET", False, ["X-A"], ["true"])
    assert answer.headers is None  # X-A is not allowed: the header check comes first
    answer = decide_preflight(ORIGIN, grant, "GET", False, [], ["true"])
    assert answer.refusal is None
    assert answer.headers == [
        (ACAO, ORIGIN),
        (ACAM, "GET"),
        (ACAPN, "true"),
        ("Vary", PREFLIGHT_VARY_PNA),
    ]


@pytest.mark.parametrize("allow_private_network", [False, True])
def test_preflight_without_private_network_request_has_no_pna_header(
    allow_private_network: bool,
) -> None:
    grant = Grant(ResourceOptions(allow_private_network=allow_private_network))
    for private_network in ([], ["false"]):
        answer = decide_preflight(ORIGIN, grant, "GET", False, [], private_network)
        assert answer.headers == [(ACAO, ORIGIN), (ACAM, "GET"), ("Vary", PREFLIGHT_VARY)]


def test_preflight_for_null_origin_echoes_null() -> None:
    grant = policy({"null": A}).match("null")
    answer = decide_preflight("null", grant, "GET", False, [], [])
    assert answer.headers is not None
    assert dict(answer.headers)[ACAO] == "null"


# --------------------------------------------------------------------------
# Grant.decorate_actual
# --------------------------------------------------------------------------


def test_decorate_actual_plain_dict_minimal() -> None:
    headers: dict[str, str] = {"Content-Type": "text/plain"}
    Grant(ResourceOptions()).decorate_actual(headers, ORIGIN)
    assert headers == {"Content-Type": "text/plain", ACAO: ORIGIN}


def test_decorate_actual_with_credentials_and_expose_list() -> None:
    headers: dict[str, str] = {}
    grant = Grant(ResourceOptions(allow_credentials=True, expose_headers=("X-B", "X-A")))
    grant.decorate_actual(headers, ORIGIN)
    assert headers == {ACAO: ORIGIN, ACAC: "true", ACEH: "X-B,X-A"}


def test_decorate_actual_replaces_handler_values_with_one_line_each() -> None:
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


def test_decorate_actual_removes_handler_credentials_and_expose_when_not_configured() -> None:
    headers = CIMultiDict([(ACAC, "true"), (ACEH, "X-Secret"), ("X-Data", "1")])
    Grant(ResourceOptions()).decorate_actual(headers, ORIGIN)
    assert dict(headers) == {"X-Data": "1", ACAO: ORIGIN}


def test_decorate_actual_expose_star_lists_the_response_headers() -> None:
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
    assert headers.getall(ACEH) == ["X-Total,ETag"]
    assert headers[ACAO] == ORIGIN


def test_decorate_actual_expose_star_with_only_safelisted_headers_sends_none() -> None:
    headers = CIMultiDict([("Content-Type", "text/plain"), (ACEH, "X-Stale")])
    Grant(ResourceOptions(expose_headers="*")).decorate_actual(headers, ORIGIN)
    assert ACEH not in headers


# --------------------------------------------------------------------------
# Credentials and "*" (CONTRACT §3.7)
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

    answer = decide_preflight(ORIGIN, grant, "PUT", False, ["Authorization, X-Token"], [])
    assert answer.headers is not None
    assert "*" not in _values(answer.headers)
    assert dict(answer.headers)[ACAO] == ORIGIN
    assert dict(answer.headers)[ACAM] == "PUT"
    assert dict(answer.headers)[ACAH] == "authorization, x-token"

    headers = CIMultiDict([("Content-Type", "text/plain"), ("X-Data", "1")])
    grant.decorate_actual(headers, ORIGIN)
    assert "*" not in _values(headers.items())
    assert headers[ACAO] == ORIGIN
    assert headers[ACEH] == "X-Data"
    assert (ACAC in headers) is credentials


@pytest.mark.parametrize(
    ("method", "request_headers"),
    [("*", []), ("PUT", ["*"]), ("PUT", ["x-a, *"])],
    ids=["method-star", "header-star", "header-list-with-star"],
)
def test_credentialed_preflight_never_echoes_a_requested_literal_star(
    method: str, request_headers: list[str]
) -> None:
    grant = Grant(ResourceOptions(allow_credentials=True, allow_headers="*", allow_methods="*"))
    answer = decide_preflight(ORIGIN, grant, method, False, request_headers, [])
    if answer.headers is not None:  # refusing such a preflight is fine too
        assert "*" not in _values(answer.headers)


def test_credentialed_star_inside_expose_list_never_sends_a_literal_star() -> None:
    try:
        options = ResourceOptions(allow_credentials=True, expose_headers=["*"])
    except ValueError:
        return  # refusing the list at configuration time is fine too
    headers = CIMultiDict([("X-Data", "1")])
    Grant(options).decorate_actual(headers, ORIGIN)
    assert "*" not in _values(headers.items())


# --------------------------------------------------------------------------
# Properties (hypothesis)
# --------------------------------------------------------------------------

header_names = st.text(alphabet=TCHARS, min_size=1, max_size=20)


def _lower_dedupe(names: list[str]) -> list[str]:
    return list(dict.fromkeys(name.lower() for name in names))


@given(st.lists(header_names, max_size=80))
def test_property_header_list_parses_to_lowercased_deduped_names(names: list[str]) -> None:
    assert parse_header_name_list([", ".join(names)]) == _lower_dedupe(names)


@given(st.lists(header_names, min_size=1, max_size=80), st.data())
def test_property_header_list_over_several_lines_equals_one_line(
    names: list[str], data: st.DataObject
) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(names)))
    lines = [",".join(names[:cut]), " , ".join(names[cut:])]
    assert parse_header_name_list(lines) == _lower_dedupe(names)


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
