"""Configuration checking: done at ``setup()`` / ``add()`` time, never per request.

Covers the configuration forms aiohttp-cors 0.8.1 accepted (mappings, ``ResourceOptions``
validation); never refusing what 0.8.1 accepted (errors only where 0.8.1 raised and for
misused new syntax; everything else that cannot work, or is dangerous, is a
``CorsConfigurationWarning`` or ``CorsSecurityWarning`` naming the value and the fix;
``strict=True`` raises them all at once); normalised origin keys (fix 8 in
docs/migration.md) and the configuration validation of the new regex and glob keys.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import (
    APP_CONFIG_KEY,
    CorsConfigurationError,
    CorsConfigurationWarning,
    CorsSecurityWarning,
    CorsViewMixin,
    ResourceOptions,
    custom_cors,
)
from aiohttp_cors._policy import normalize_config

ORIGIN = "https://app.example"
CREDENTIALS = ResourceOptions(allow_credentials=True)
ACAO = "Access-Control-Allow-Origin"


async def handler(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def recorded(
    action: Callable[[], Any], category: type[Warning] = UserWarning
) -> tuple[Any, list[warnings.WarningMessage]]:
    """Run ``action``; return its result and the warnings of ``category`` it emitted."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = action()
    return result, [w for w in record if issubclass(w.category, category)]


def security_warnings(action: Callable[[], Any]) -> tuple[Any, list[warnings.WarningMessage]]:
    """Run ``action`` and return its result and the CorsSecurityWarnings it emitted."""
    return recorded(action, CorsSecurityWarning)


def config_warnings(action: Callable[[], Any]) -> tuple[Any, list[warnings.WarningMessage]]:
    """Run ``action`` and return its result and the CorsConfigurationWarnings it emitted."""
    return recorded(action, CorsConfigurationWarning)


def configuration_error(action: Callable[[], Any]) -> CorsConfigurationError:
    with pytest.raises(CorsConfigurationError) as excinfo:
        action()
    return excinfo.value


def setup_warnings(defaults: Mapping[Any, Any]) -> list[str]:
    """The CorsConfigurationWarning texts ``setup()`` emits for ``defaults``."""
    _, record = config_warnings(lambda: aiohttp_cors.setup(web.Application(), defaults=defaults))
    return [str(w.message) for w in record]


def strict_error(defaults: Mapping[Any, Any]) -> CorsConfigurationError:
    """The error ``setup(..., strict=True)`` raises for ``defaults``."""
    return configuration_error(
        lambda: aiohttp_cors.setup(web.Application(), defaults=defaults, strict=True)
    )


def app_with_route() -> tuple[web.Application, web.AbstractRoute]:
    app = web.Application()
    return app, app.router.add_get("/r", handler)


# --------------------------------------------------------------------------
# ResourceOptions validation: only the type errors aiohttp-cors 0.8.1 raised
# --------------------------------------------------------------------------


def _generator() -> Iterator[str]:
    yield "X-A"


@pytest.mark.parametrize(
    ("kwargs", "field", "shown"),
    [
        ({"allow_credentials": "yes"}, "allow_credentials", "'yes'"),
        ({"allow_credentials": 1}, "allow_credentials", "1"),
        ({"allow_credentials": None}, "allow_credentials", "None"),
        ({"allow_private_network": "true"}, "allow_private_network", "'true'"),
        ({"expose_headers": "X-A"}, "expose_headers", "'X-A'"),
        ({"expose_headers": {"X-A"}}, "expose_headers", "{'X-A'}"),
        ({"expose_headers": frozenset({"X-A"})}, "expose_headers", "frozenset({'X-A'})"),
        ({"expose_headers": b"X-A"}, "expose_headers", None),
        ({"expose_headers": 5}, "expose_headers", "5"),
        ({"expose_headers": None}, "expose_headers", "None"),
        ({"expose_headers": ["X-A", 5]}, "expose_headers", "5"),
        ({"expose_headers": ["X-A", b"X-B"]}, "expose_headers", "b'X-B'"),
        ({"allow_headers": "X-Token"}, "allow_headers", "'X-Token'"),
        ({"allow_headers": {"X-Token"}}, "allow_headers", "{'X-Token'}"),
        ({"max_age": -1}, "max_age", "-1"),
        ({"max_age": 1.5}, "max_age", "1.5"),
        ({"max_age": "10"}, "max_age", "'10'"),
        ({"allow_methods": "GET"}, "allow_methods", "'GET'"),
        ({"allow_methods": {"GET"}}, "allow_methods", "{'GET'}"),
        ({"allow_methods": [None]}, "allow_methods", "None"),
    ],
)
def test_resource_options_refuses_a_bad_value_naming_it(
    kwargs: dict[str, Any], field: str, shown: str | None
) -> None:
    with pytest.raises(ValueError) as excinfo:
        ResourceOptions(**kwargs)
    assert f"'{field}'" in str(excinfo.value)
    if shown is not None:
        assert shown in str(excinfo.value)


def test_resource_options_refuses_a_generator_for_a_name_list() -> None:
    with pytest.raises(ValueError) as excinfo:
        ResourceOptions(expose_headers=_generator())
    assert "'expose_headers'" in str(excinfo.value)
    assert "<generator" in str(excinfo.value)


def test_resource_options_bare_string_hint_shows_the_tuple_form() -> None:
    with pytest.raises(ValueError) as excinfo:
        ResourceOptions(allow_headers="X-Token")
    assert "allow_headers=('X-Token',)" in str(excinfo.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_age": True},
        {"max_age": False},
        {"expose_headers": ["X A"]},
        {"expose_headers": [""]},
        {"allow_headers": ["Cookie", "Origin"]},
        {"expose_headers": ["Set-Cookie"]},
        {"allow_headers": ["*"]},
        {"allow_methods": ["TRACE", "GE T"]},
    ],
    ids=lambda kwargs: "-".join(f"{k}={v!r}" for k, v in kwargs.items()),
)
def test_resource_options_accepts_what_0_8_1_accepted(kwargs: dict[str, Any]) -> None:
    # Settings that cannot work are warned about when passed to setup()/add(), never refused.
    options = ResourceOptions(**kwargs)
    for name, value in kwargs.items():
        stored = getattr(options, name)
        if isinstance(value, list):
            upper = name in ("allow_headers", "allow_methods")
            assert stored == frozenset(v.upper() if upper else v for v in value)
        else:
            assert stored == value


@pytest.mark.parametrize(
    "method", ["CONNECT", "TRACE", "TRACK", "connect", "Trace", "track", "cOnNeCt"]
)
def test_resource_options_accepts_forbidden_methods_in_any_case(method: str) -> None:
    options = ResourceOptions(allow_methods=("PUT", method))
    assert options.allow_methods == frozenset({"PUT", method.upper()})


@pytest.mark.parametrize("method", ["CONNECT", "trace", "Track"])
def test_forbidden_methods_in_allow_methods_warn_naming_them(method: str) -> None:
    texts = setup_warnings({ORIGIN: ResourceOptions(allow_methods=("PUT", method))})
    assert len(texts) == 1
    assert repr(method.upper()) in texts[0]
    assert "remove" in texts[0]


def test_non_token_method_in_allow_methods_warns_naming_it() -> None:
    texts = setup_warnings({ORIGIN: ResourceOptions(allow_methods=("PUT", "GE T"))})
    assert len(texts) == 1
    assert "'GE T'" in texts[0]


def test_resource_options_accepts_ordinary_names_without_warnings() -> None:
    options = ResourceOptions(
        allow_headers=("Authorization", "Content-Type", "X-Requested-With", "Accept"),
        expose_headers=("Content-Length", "X-Total-Count", "ETag"),
        allow_methods=("PUT", "DELETE", "patch", "OPTIONS", "PROPFIND"),
        max_age=0,
    )
    assert options.allow_headers == frozenset(
        {"AUTHORIZATION", "CONTENT-TYPE", "X-REQUESTED-WITH", "ACCEPT"}
    )
    assert options.expose_headers == frozenset({"Content-Length", "X-Total-Count", "ETag"})
    assert options.allow_methods == frozenset({"PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"})
    assert options.max_age == 0
    _, record = recorded(
        lambda: aiohttp_cors.setup(web.Application(), defaults={ORIGIN: options}, strict=True)
    )
    assert record == []


def test_resource_options_accepts_large_max_age() -> None:
    assert ResourceOptions(max_age=86400).max_age == 86400


# --------------------------------------------------------------------------
# Settings that cannot work: warnings naming the value and the fix (0.8.1 accepted them)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "Origin",
        "Content-Length",
        "Connection",
        "Referer",
        "Proxy-Authorization",
        "proxy-anything",
        "Sec-Fetch-Mode",
        "Sec-CH-UA",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
        "Access-Control-Request-Private-Network",
        "Transfer-Encoding",
        "Keep-Alive",
    ],
)
def test_forbidden_request_headers_in_allow_headers_warn(name: str) -> None:
    options = ResourceOptions(allow_headers=("X-Token", name))
    texts = setup_warnings({ORIGIN: options})
    assert len(texts) == 1
    assert repr(name.upper()) in texts[0]
    assert repr(ORIGIN) in texts[0]
    assert "forbidden request-header" in texts[0]
    assert "remove it" in texts[0]
    error = strict_error({ORIGIN: options})
    assert len(error.problems) == 1
    assert repr(name.upper()) in str(error)


@pytest.mark.parametrize("name", ["Cookie", "cookie"])
def test_cookie_in_allow_headers_warns_to_use_allow_credentials(name: str) -> None:
    options = ResourceOptions(allow_headers=(name,))
    texts = setup_warnings({ORIGIN: options})
    assert len(texts) == 1
    assert "'Cookie'" in texts[0]
    assert "use allow_credentials=True" in texts[0]
    assert "allow_credentials=True" in str(strict_error({ORIGIN: options}))


@pytest.mark.parametrize("name", ["Set-Cookie", "set-cookie", "Set-Cookie2", "SET-COOKIE2"])
def test_set_cookie_in_expose_headers_warns(name: str) -> None:
    options = ResourceOptions(expose_headers=("X-Total", name))
    texts = setup_warnings({ORIGIN: options})
    assert len(texts) == 1
    assert repr(name) in texts[0]
    assert "remove it" in texts[0]
    assert repr(name) in str(strict_error({ORIGIN: options}))


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"expose_headers": ["X A"]}, "'X A'"),
        ({"expose_headers": ["X-A:"]}, "'X-A:'"),
        ({"expose_headers": [""]}, "''"),
        ({"expose_headers": ["X-\u00e9"]}, "'X-\u00e9'"),
        ({"allow_headers": ["X Token"]}, "'X TOKEN'"),
        ({"allow_headers": ["X-Token\r\nInjected: 1"]}, "'X-TOKEN\\r\\nINJECTED: 1'"),
    ],
)
def test_header_names_that_are_not_tokens_warn(kwargs: dict[str, Any], shown: str) -> None:
    options = ResourceOptions(**kwargs)
    texts = setup_warnings({ORIGIN: options})
    assert len(texts) == 1
    assert shown in texts[0]
    assert "not a valid header name" in texts[0]
    assert shown in str(strict_error({ORIGIN: options}))


@pytest.mark.parametrize("field", ["allow_headers", "expose_headers", "allow_methods"])
def test_star_inside_a_list_warns_to_write_star_alone(field: str) -> None:
    options = ResourceOptions(**{field: ["X-A", "*"]})
    texts = setup_warnings({ORIGIN: options})
    assert texts == [
        f"options for {ORIGIN!r}: '*' inside {field} is a literal name, not a wildcard. "
        f"Hint: write {field}='*' to allow all."
    ]
    assert f"{field}='*'" in str(strict_error({ORIGIN: options}))


def test_several_problems_warn_each_and_strict_reports_them_together() -> None:
    options = ResourceOptions(
        allow_headers=("Cookie", "X-A"),
        expose_headers=("Set-Cookie", "X A"),
        allow_methods=("PUT", "*"),
    )
    texts = setup_warnings({ORIGIN: options})
    assert len(texts) == 4
    error = strict_error({ORIGIN: options})
    assert len(error.problems) == 4
    text = str(error)
    assert text.startswith("4 problems in the CORS configuration:")
    for fragment in ("'Cookie'", "'Set-Cookie'", "'X A'", "allow_methods='*'"):
        assert fragment in text
    # every problem is one line of the message, marked as raised by strict mode
    for problem in error.problems:
        assert f"  - {problem}" in text
        assert problem.endswith("(strict mode)")


# --------------------------------------------------------------------------
# Config mappings: shape of the mapping and of its values (0.8.1's errors)
# --------------------------------------------------------------------------


def test_plain_mapping_values_are_accepted_including_allow_methods() -> None:
    cors = aiohttp_cors.setup(
        web.Application(),
        defaults={
            "https://a.example": {
                "allow_credentials": True,
                "allow_methods": ["put", "DELETE"],
                "allow_headers": ["X-Token"],
                "expose_headers": "*",
                "max_age": 5,
            },
            "https://b.example": {},
        },
    )
    assert cors.defaults == {
        "https://a.example": ResourceOptions(
            allow_credentials=True,
            allow_methods=("PUT", "DELETE"),
            allow_headers=("X-Token",),
            expose_headers="*",
            max_age=5,
        ),
        "https://b.example": ResourceOptions(),
    }


def test_read_only_mapping_types_are_accepted_as_config_and_values() -> None:
    cors = aiohttp_cors.setup(
        web.Application(),
        defaults=MappingProxyType({"https://a.example": MappingProxyType({"max_age": 3})}),
    )
    assert cors.defaults == {"https://a.example": ResourceOptions(max_age=3)}


def test_plain_mapping_values_with_bad_fields_name_their_origin_all_at_once() -> None:
    error = configuration_error(
        lambda: aiohttp_cors.setup(
            web.Application(),
            defaults={
                "https://a.example": {"max_age": -1},
                "https://b.example": {"allow_methods": "GET"},
            },
        )
    )
    assert len(error.problems) == 2
    assert error.problems[0].startswith("options for 'https://a.example': ")
    assert error.problems[1].startswith("options for 'https://b.example': ")
    assert "'max_age'" in error.problems[0]
    assert "-1" in error.problems[0]
    assert "allow_methods=('GET',)" in error.problems[1]


@pytest.mark.parametrize(
    "config",
    [
        ["https://a.example"],
        [("https://a.example", ResourceOptions())],
        "https://a.example",
        ResourceOptions(),
        5,
    ],
    ids=["list", "pairs", "string", "resource-options", "int"],
)
def test_non_mapping_defaults_are_refused(config: Any) -> None:
    app = web.Application()
    with pytest.raises(ValueError, match="must be mapping"):
        aiohttp_cors.setup(app, defaults=config)
    assert APP_CONFIG_KEY not in app


@pytest.mark.parametrize(
    "config",
    [["https://a.example"], "https://a.example", ResourceOptions(), 5],
    ids=["list", "string", "resource-options", "int"],
)
def test_non_mapping_route_config_is_refused(config: Any) -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    with pytest.raises(ValueError, match="must be mapping"):
        cors.add(route, config)


@pytest.mark.parametrize("config", [[], ""], ids=["empty-list", "empty-string"])
def test_empty_non_mapping_route_config_is_refused(config: Any) -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    with pytest.raises(ValueError, match="must be mapping"):
        cors.add(route, config)


def test_empty_mapping_and_none_route_config_are_accepted() -> None:
    app = web.Application()
    first = app.router.add_get("/a", handler)
    second = app.router.add_get("/b", handler)
    cors = aiohttp_cors.setup(app)
    assert cors.add(first, {}) is first
    assert cors.add(second, None) is second


@pytest.mark.parametrize(
    "value",
    [5, "yes", ["allow_credentials"], None, True],
    ids=["int", "str", "list", "None", "bool"],
)
def test_option_values_that_are_neither_resource_options_nor_mappings_are_refused(
    value: Any,
) -> None:
    error = configuration_error(
        lambda: aiohttp_cors.setup(web.Application(), defaults={"https://a.example": value})
    )
    assert str(error) == (
        "Origin options must be either aiohttp_cors.ResourceOptions instance or mapping, "
        f"got {value!r} for origin 'https://a.example'"
    )


def test_unknown_option_keys_are_refused_naming_each() -> None:
    error = configuration_error(
        lambda: aiohttp_cors.setup(
            web.Application(),
            defaults={"https://a.example": {"allow_origin": "*", "credentials": True}},
        )
    )
    assert len(error.problems) == 1
    text = str(error)
    assert "Unexpected keywords in resource options" in text  # 0.8.1's wording
    assert "allow_origin" in text
    assert "credentials" in text
    assert "allow_credentials" in text.partition("(valid:")[2]  # the hint lists the valid names


def test_route_config_is_checked_at_add_time() -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    error = configuration_error(lambda: cors.add(route, {"https://a.example": {"max_age": "1"}}))
    assert "'max_age'" in str(error)
    assert "'1'" in str(error)


def test_user_config_mapping_is_not_mutated_and_defaults_keep_its_keys() -> None:
    config = {"HTTPS://A.Example:443": {"max_age": 1}, "*": ResourceOptions()}
    snapshot = dict(config)
    cors = aiohttp_cors.setup(web.Application(), defaults=config)
    assert config == snapshot
    # CorsConfig.defaults keeps the keys as given, as 0.8.1 did; matching uses their
    # canonical form (see the normalisation tests below).
    assert cors.defaults == {
        "HTTPS://A.Example:443": ResourceOptions(max_age=1),
        "*": ResourceOptions(),
    }


# --------------------------------------------------------------------------
# Origin keys: normalisation (the URL standard's origin serialization)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "canonical"),
    [
        ("HTTPS://Example.COM:443", "https://example.com"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://BÜCHER.example", "https://xn--bcher-kva.example"),
        ("http://x.org:80", "http://x.org"),
        ("http://x.org:443", "http://x.org:443"),
        ("https://x.org:80", "https://x.org:80"),
        ("https://example.com:8443", "https://example.com:8443"),
        ("http://EXAMPLE.com:08080", "http://example.com:8080"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("http://[::1]:80", "http://[::1]"),
        ("wss://Socket.Example:443", "wss://socket.example"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com:0", "https://example.com:0"),
        ("https://example.com.", "https://example.com."),
        ("null", "null"),
        ("*", "*"),
    ],
)
def test_configured_origins_are_normalised_for_matching_without_warnings(
    configured: str, canonical: str
) -> None:
    options = ResourceOptions(max_age=1)
    assert normalize_config({configured: options}) == ([{canonical: options}], [])
    _, record = recorded(
        lambda: aiohttp_cors.setup(web.Application(), defaults={configured: options})
    )
    assert record == []


async def test_a_normalised_key_answers_the_origin_browsers_send(aiohttp_client: Any) -> None:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"HTTPS://App.Example:443/": ResourceOptions()})
    cors.add(app.router.add_get("/r", handler))
    client = await aiohttp_client(app)
    response = await client.get("/r", headers={"Origin": ORIGIN})
    assert response.headers[ACAO] == ORIGIN


# --------------------------------------------------------------------------
# Origin keys no browser can send: kept, never matching, warned about (0.8.1 accepted them)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "problem", "fix"),
    [
        ("https://example.com/api", "contains a path", "scheme://host[:port]"),
        ("https://example.com/api/", "contains a path", "scheme://host[:port]"),
        ("https://example.com//", "contains a path", "scheme://host[:port]"),
        ("https://example.com?x=1", "contains a query", "scheme://host[:port]"),
        ("https://example.com#top", "contains a fragment", "scheme://host[:port]"),
        ("https://user@example.com", "contains userinfo", "scheme://host[:port]"),
        ("https://user:secret@example.com", "contains userinfo", "scheme://host[:port]"),
        ("https://example.com:99999", "bad port", "use a number from 0 to 65535"),
        ("https://example.com:abc", "bad port", "use a number from 0 to 65535"),
        ("https://example.com:", "bad port", "use a number from 0 to 65535"),
        ("example.com", "no scheme", "'https://example.com'"),
        ("//example.com", "no scheme", "'https://example.com'"),
        ("^https://a\\.example$", "looks like a regular expression", "re.compile(r'^https:"),
        ("https://", "no host", "e.g."),
        (" https://example.com", "white space", "remove"),
        ("https://example.com\n", "white space", "remove"),
    ],
)
def test_origin_keys_no_browser_sends_warn_and_are_kept(
    configured: str, problem: str, fix: str
) -> None:
    options = ResourceOptions()
    cors, record = config_warnings(
        lambda: aiohttp_cors.setup(web.Application(), defaults={configured: options})
    )
    assert len(record) == 1
    text = str(record[0].message)
    assert repr(configured) in text
    assert problem in text
    assert "can never match" in text
    assert list(cors.defaults) == [configured]  # kept, as 0.8.1 kept it
    assert normalize_config({configured: options})[0] == [{configured: options}]
    error = strict_error({configured: options})
    assert len(error.problems) == 1
    assert repr(configured) in str(error)
    assert fix in text


async def test_a_key_no_browser_sends_never_matches_a_request(aiohttp_client: Any) -> None:
    app = web.Application()
    with pytest.warns(CorsConfigurationWarning, match="contains a path"):
        cors = aiohttp_cors.setup(app, defaults={f"{ORIGIN}/api": ResourceOptions()})
    cors.add(app.router.add_get("/r", handler))
    client = await aiohttp_client(app)
    response = await client.get("/r", headers={"Origin": ORIGIN})
    assert response.status == 200
    assert ACAO not in response.headers
    assert response.headers["Vary"] == "Origin"
    response = await client.options(
        "/r", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert response.status == 403
    assert await response.text() == (
        f"CORS preflight request failed: origin '{ORIGIN}' is not allowed"
    )


@pytest.mark.parametrize(
    "key",
    [f"{ORIGIN}/api", f"{ORIGIN}, https://evil.example", "HTTPS://APP.EXAMPLE/x", "app.example"],
    ids=["path", "list", "uppercase-path", "no-scheme"],
)
async def test_a_malformed_origin_spelled_like_a_kept_key_is_never_reflected(
    aiohttp_client: Any, key: str
) -> None:
    app = web.Application()
    with pytest.warns(CorsConfigurationWarning):
        cors = aiohttp_cors.setup(app, defaults={key: ResourceOptions(allow_credentials=True)})
    cors.add(app.router.add_get("/r", handler))
    client = await aiohttp_client(app)
    response = await client.get("/r", headers={"Origin": key})
    assert response.status == 200
    assert ACAO not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    response = await client.options(
        "/r", headers={"Origin": key, "Access-Control-Request-Method": "GET"}
    )
    assert response.status == 403


@pytest.mark.parametrize("configured", ["https://exa*mple.com", "https://example.*"])
async def test_a_star_inside_an_origin_key_that_is_no_glob_warns_and_never_matches(
    aiohttp_client, configured: str
) -> None:
    # 0.8.1 read such a key literally (it never matched): kept, with a warning.
    with pytest.warns(CorsConfigurationWarning) as record:
        app = web.Application()
        cors = aiohttp_cors.setup(app, defaults={configured: ResourceOptions()})
    assert len(record) == 1
    assert repr(configured) in str(record[0].message)
    assert "Hint:" in str(record[0].message)
    cors.add(app.router.add_get("/r", handler))
    client = await aiohttp_client(app)
    response = await client.get("/r", headers={"Origin": "https://example.com"})
    assert ACAO not in response.headers
    with pytest.raises(CorsConfigurationError, match="strict"):
        aiohttp_cors.setup(web.Application(), defaults={configured: ResourceOptions()}, strict=True)


def test_a_path_key_hint_says_what_an_origin_is() -> None:
    _, problems = normalize_config({"https://example.com/api": ResourceOptions()})
    assert problems == [
        (
            CorsConfigurationWarning,
            "origin 'https://example.com/api' contains a path; this key can never match a "
            "request. Hint: remove it: an origin is only scheme://host[:port].",
        )
    ]


def test_all_problems_of_one_mapping_are_reported_at_once() -> None:
    defaults = {
        "https://a.example/api": ResourceOptions(),
        "b.example": ResourceOptions(),
        "https://c.example:99999": ResourceOptions(),
        "https://fine.example": ResourceOptions(),
    }
    texts = setup_warnings(defaults)
    assert len(texts) == 3
    error = strict_error(defaults)
    assert len(error.problems) == 3
    text = str(error)
    assert text.startswith("3 problems in the CORS configuration:")
    for key in ("'https://a.example/api'", "'b.example'", "'https://c.example:99999'"):
        assert key in text
    assert "fine.example" not in text


def test_errors_of_keys_and_values_are_reported_together() -> None:
    error = configuration_error(
        lambda: normalize_config(
            {
                "https://a.example/api": ResourceOptions(),  # a warning, not an error
                "https://b.example": 5,  # bad value type
                "https://c.example": {"bogus": 1},  # unknown option
                "https://d.example": {"max_age": -1},  # bad field value
                5: ResourceOptions(),  # bad key type
                "https://e.example?q": {"max_age": -2},  # a warning and an error
            }
        )
    )
    assert len(error.problems) == 5
    text = str(error)
    for fragment in (
        "origin 'https://b.example'",
        "'https://c.example'",
        "bogus",
        "'https://d.example'",
        "Origin must be string, got 5",
        "'https://e.example?q'",
        "-2",
    ):
        assert fragment in text
    assert "https://a.example/api" not in text


def test_route_config_reports_all_errors_at_once() -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    error = configuration_error(
        lambda: cors.add(
            route,
            {
                "https://a.example": 1,
                "https://b.example": {"max_age": -1},
                "https://c.example": {"bogus": True},
            },
        )
    )
    assert len(error.problems) == 3


def test_a_failing_setup_leaves_the_application_untouched() -> None:
    app = web.Application()
    startup = len(app.on_startup)
    with pytest.raises(ValueError):
        aiohttp_cors.setup(app, defaults={"https://a.example": {"max_age": -1}})
    assert APP_CONFIG_KEY not in app
    assert len(app.middlewares) == 0
    assert len(app.on_response_prepare) == 0
    assert len(app.on_startup) == startup


def test_a_failing_strict_setup_leaves_the_application_untouched() -> None:
    app = web.Application()
    with pytest.raises(CorsConfigurationError):
        aiohttp_cors.setup(app, defaults={"https://a.example/api": ResourceOptions()}, strict=True)
    assert APP_CONFIG_KEY not in app
    assert len(app.middlewares) == 0
    assert len(app.on_response_prepare) == 0


@pytest.mark.parametrize(
    "config",
    [
        {"https://a.example": ResourceOptions(), "HTTPS://A.EXAMPLE:443": CREDENTIALS},
        {"HTTPS://A.EXAMPLE:443": CREDENTIALS, "https://a.example": ResourceOptions()},
    ],
    ids=["canonical-first", "canonical-last"],
)
def test_same_origin_twice_after_normalisation_warns_and_the_browser_spelling_wins(
    config: dict[str, ResourceOptions],
) -> None:
    texts = setup_warnings(config)
    assert len(texts) == 1
    assert "'https://a.example'" in texts[0]
    assert "'HTTPS://A.EXAMPLE:443'" in texts[0]
    assert "keep one" in texts[0]
    layers, _ = normalize_config(config)
    # 0.8.1 never matched the second spelling: the key spelled as browsers send it is used.
    assert layers == [{"https://a.example": ResourceOptions()}]
    assert "'HTTPS://A.EXAMPLE:443'" in str(strict_error(config))


def test_same_origin_twice_with_equal_options_still_warns() -> None:
    options = ResourceOptions(max_age=1)
    config = {"https://a.example": options, "HTTPS://A.example:443": options}
    layers, problems = normalize_config(config)
    assert layers == [{"https://a.example": options}]
    assert [category for category, _ in problems] == [CorsConfigurationWarning]
    assert len(setup_warnings(config)) == 1


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        (5, "Origin must be string, got 5"),
        (b"https://a.example", "Origin must be string, got b'https://a.example'"),
        (("https://a.example",), "Origin must be string, got ('https://a.example',)"),
        (re.compile(rb"https://a\.example"), "must be a str pattern"),
        ("https://*.com", "https://*.com"),
    ],
    ids=["int", "bytes", "tuple", "bytes-regex", "glob-single-label"],
)
def test_unsupported_origin_keys_are_refused(key: Any, fragment: str) -> None:
    error = configuration_error(lambda: normalize_config({key: ResourceOptions()}))
    assert len(error.problems) == 1
    assert fragment in str(error)
    with pytest.raises(ValueError):
        aiohttp_cors.setup(web.Application(), defaults={key: ResourceOptions()})


def test_regex_and_callable_keys_are_kept_as_given() -> None:
    pattern = re.compile(r"https://[a-z]+\.example\.com")

    def predicate(origin: str) -> bool:
        return origin.endswith(".example.org")

    options = ResourceOptions()
    assert normalize_config({pattern: options, predicate: options}) == (
        [{pattern: options, predicate: options}],
        [],
    )


def test_view_class_config_is_checked_when_the_view_is_added() -> None:
    class BadClassConfig(CorsViewMixin, web.View):
        cors_config: ClassVar[Mapping[Any, Any] | None] = {"https://a.example": 5}

        async def get(self) -> web.Response:
            return web.Response()

    app = web.Application()
    route = app.router.add_view("/v", BadClassConfig)
    cors = aiohttp_cors.setup(app)
    error = configuration_error(lambda: cors.add(route))
    assert "'https://a.example'" in str(error)


def test_view_method_config_is_checked_when_the_view_is_added() -> None:
    class BadMethodConfig(CorsViewMixin, web.View):
        @custom_cors({"https://a.example": {"max_age": -1}})
        async def get(self) -> web.Response:
            return web.Response()

    app = web.Application()
    route = app.router.add_view("/v", BadMethodConfig)
    cors = aiohttp_cors.setup(app)
    error = configuration_error(lambda: cors.add(route))
    assert "'max_age'" in str(error)


def test_view_class_config_warnings_point_at_the_add_line() -> None:
    class PathKey(CorsViewMixin, web.View):
        cors_config: ClassVar[Mapping[Any, Any] | None] = {
            "https://a.example/api": ResourceOptions()
        }

        async def get(self) -> web.Response:
            return web.Response()

    app = web.Application()
    route = app.router.add_view("/v", PathKey)
    cors = aiohttp_cors.setup(app)
    _, record = config_warnings(lambda: cors.add(route))
    assert len(record) == 1
    assert "'https://a.example/api'" in str(record[0].message)
    assert record[0].filename == __file__


# --------------------------------------------------------------------------
# Warnings: where and how often (warned, not refused, since 0.8.1 accepted these settings)
# --------------------------------------------------------------------------


def test_configuration_warning_at_setup_points_at_the_callers_line() -> None:
    _, record = config_warnings(
        lambda: aiohttp_cors.setup(
            web.Application(), defaults={ORIGIN: ResourceOptions(allow_headers=("Cookie",))}
        )
    )
    assert len(record) == 1
    assert record[0].filename == __file__


def test_configuration_warning_at_add_points_at_the_callers_line() -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    result, record = config_warnings(lambda: cors.add(route, {"https://a.example/api": {}}))
    assert result is route
    assert len(record) == 1
    assert record[0].filename == __file__


def test_the_same_problem_is_warned_once_per_configuration() -> None:
    app = web.Application()
    config = {ORIGIN: ResourceOptions(allow_headers=("Origin",))}
    first = app.router.add_get("/a", handler)
    second = app.router.add_get("/b", handler)
    cors = aiohttp_cors.setup(app)

    def add_both() -> None:
        cors.add(first, config)
        cors.add(second, config)

    _, record = config_warnings(add_both)
    assert len(record) == 1


def test_warning_categories_are_user_warnings_exported_from_the_root() -> None:
    assert issubclass(aiohttp_cors.CorsConfigurationWarning, UserWarning)
    assert issubclass(aiohttp_cors.CorsSecurityWarning, UserWarning)
    assert not issubclass(CorsSecurityWarning, CorsConfigurationWarning)
    assert not issubclass(CorsConfigurationWarning, CorsSecurityWarning)


# --------------------------------------------------------------------------
# CorsSecurityWarning (fix 11 in docs/migration.md) and strict mode
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"*": CREDENTIALS}, "origin '*' with allow_credentials=True"),
        ({"http://evil.example": CREDENTIALS}, "'http://evil.example' uses http://"),
        ({"HTTP://Evil.Example:80": CREDENTIALS}, "'http://evil.example' uses http://"),
        ({"http://evil.example:8080": CREDENTIALS}, "'http://evil.example:8080'"),
        ({"http://*.example.com": CREDENTIALS}, "'http://*.example.com' uses http://"),
        ({"http://192.168.1.10": CREDENTIALS}, "'http://192.168.1.10'"),
    ],
    ids=["star", "http", "http-normalised", "http-port", "http-glob", "http-lan-ip"],
)
def test_dangerous_config_warns_cors_security_warning(
    config: dict[Any, Any], fragment: str
) -> None:
    cors, record = security_warnings(lambda: aiohttp_cors.setup(web.Application(), defaults=config))
    assert len(record) == 1
    assert fragment in str(record[0].message)
    assert len(cors.defaults) == 1  # a warning, not a refusal


def test_security_warnings_give_a_fix() -> None:
    _, record = security_warnings(
        lambda: aiohttp_cors.setup(
            web.Application(), defaults={"*": CREDENTIALS, "http://evil.example": CREDENTIALS}
        )
    )
    star, http = (str(w.message) for w in record)
    assert "'*'" in star
    assert "list the trusted origins instead" in star
    assert "'http://evil.example'" in http
    assert "prefer https://" in http


def test_setup_security_warning_is_attributed_to_the_callers_line() -> None:
    _, record = security_warnings(
        lambda: aiohttp_cors.setup(web.Application(), defaults={"*": CREDENTIALS})
    )
    assert len(record) == 1
    assert record[0].filename == __file__


@pytest.mark.parametrize(
    "config",
    [
        {"http://localhost:3000": CREDENTIALS},
        {"http://localhost": CREDENTIALS},
        {"http://127.0.0.1:8080": CREDENTIALS},
        {"http://[::1]:3000": CREDENTIALS},
        {"http://localhost:*": CREDENTIALS},
        {"https://app.example.com": CREDENTIALS},
        {"https://*.example.com": CREDENTIALS},
        {"*": ResourceOptions()},
        {"*": ResourceOptions(allow_headers="*", expose_headers="*", allow_methods="*")},
        {"http://evil.example": ResourceOptions()},
        {"null": ResourceOptions()},
    ],
    ids=[
        "localhost-port",
        "localhost",
        "ipv4-loopback",
        "ipv6-loopback",
        "localhost-any-port",
        "https-credentials",
        "https-glob-credentials",
        "star-without-credentials",
        "star-everything-without-credentials",
        "http-without-credentials",
        "null-without-credentials",
    ],
)
def test_safe_config_emits_no_security_warning(config: dict[Any, Any]) -> None:
    _, record = security_warnings(lambda: aiohttp_cors.setup(web.Application(), defaults=config))
    assert record == []


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example",
        "http://localhostevil.example",
    ],
)
def test_lookalike_loopback_http_origin_with_credentials_warns(origin: str) -> None:
    _, record = security_warnings(
        lambda: aiohttp_cors.setup(web.Application(), defaults={origin: CREDENTIALS})
    )
    assert len(record) == 1
    assert repr(origin) in str(record[0].message)


def test_one_warning_per_dangerous_key() -> None:
    config = {
        "*": CREDENTIALS,
        "http://a.example": CREDENTIALS,
        "https://b.example": CREDENTIALS,
    }
    _, problems = normalize_config(config)
    assert [category for category, _ in problems] == [CorsSecurityWarning, CorsSecurityWarning]
    _, record = security_warnings(lambda: aiohttp_cors.setup(web.Application(), defaults=config))
    assert len(record) == 2


def test_strict_setup_raises_instead_of_warning() -> None:
    app = web.Application()
    error, record = recorded(
        lambda: configuration_error(
            lambda: aiohttp_cors.setup(
                app,
                strict=True,
                defaults={"*": CREDENTIALS, "http://evil.example": CREDENTIALS},
            )
        )
    )
    assert record == []
    assert len(error.problems) == 2
    assert all(p.endswith("(strict mode)") for p in error.problems)
    assert APP_CONFIG_KEY not in app


def test_strict_setup_accepts_safe_config_silently() -> None:
    options = ResourceOptions(allow_credentials=True)
    cors, record = recorded(
        lambda: aiohttp_cors.setup(
            web.Application(), strict=True, defaults={"https://a.example": options}
        )
    )
    assert record == []
    assert cors.defaults == {"https://a.example": options}


def test_strict_mode_problems_are_reported_with_other_problems() -> None:
    error = strict_error({"*": CREDENTIALS, "https://a.example": 5})
    assert len(error.problems) == 2
    assert "origin '*' with allow_credentials=True" in str(error)
    assert "got 5 for origin 'https://a.example'" in str(error)


def test_add_with_dangerous_config_warns_at_the_callers_line() -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    result, record = security_warnings(lambda: cors.add(route, {"*": CREDENTIALS}))
    assert result is route
    assert len(record) == 1
    assert "origin '*' with allow_credentials=True" in str(record[0].message)
    assert record[0].filename == __file__


def test_add_with_dangerous_config_raises_under_strict_setup() -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app, strict=True)
    error = configuration_error(lambda: cors.add(route, {"http://evil.example": CREDENTIALS}))
    assert "(strict mode)" in str(error)
    assert "'http://evil.example'" in str(error)


def test_add_with_config_that_cannot_work_raises_under_strict_setup() -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app, strict=True)
    error = configuration_error(
        lambda: cors.add(route, {ORIGIN: ResourceOptions(allow_headers=("Cookie",))})
    )
    assert "(strict mode)" in str(error)
    assert "allow_credentials=True" in str(error)


def test_cors_security_warning_can_be_turned_into_an_error_by_warning_filters() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorsSecurityWarning)
        with pytest.raises(CorsSecurityWarning):
            aiohttp_cors.setup(web.Application(), defaults={"*": CREDENTIALS})
