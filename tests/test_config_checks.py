"""Configuration checking: done at ``setup()`` / ``add()`` time, never per request.

CONTRACT §1 (config mappings, ``ResourceOptions`` validation), §4 (normalisation,
refusals, all problems at once, ``CorsSecurityWarning``, strict mode) and the
parts of §5 that are configuration validation (regex and glob keys).
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
    CorsSecurityWarning,
    CorsViewMixin,
    ResourceOptions,
    custom_cors,
)
from aiohttp_cors._policy import normalize_config

CREDENTIALS = ResourceOptions(allow_credentials=True)


async def handler(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def security_warnings(action: Callable[[], Any]) -> tuple[Any, list[warnings.WarningMessage]]:
    """Run ``action`` and return its result and the CorsSecurityWarnings it emitted."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = action()
    return result, [w for w in record if issubclass(w.category, CorsSecurityWarning)]


def configuration_error(action: Callable[[], Any]) -> CorsConfigurationError:
    with pytest.raises(CorsConfigurationError) as excinfo:
        action()
    return excinfo.value


def app_with_route() -> tuple[web.Application, web.AbstractRoute]:
    app = web.Application()
    return app, app.router.add_get("/r", handler)


# --------------------------------------------------------------------------
# ResourceOptions validation
# --------------------------------------------------------------------------


def _generator() -> Iterator[str]:
    yield "X-A"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"allow_credentials": "yes"}, "allow_credentials='yes'"),
        ({"allow_credentials": 1}, "allow_credentials=1"),
        ({"allow_credentials": None}, "allow_credentials=None"),
        ({"allow_private_network": "true"}, "allow_private_network='true'"),
        ({"expose_headers": "X-A"}, "expose_headers='X-A'"),
        ({"expose_headers": {"X-A"}}, "expose_headers={'X-A'}"),
        ({"expose_headers": frozenset({"X-A"})}, "expose_headers=frozenset({'X-A'})"),
        ({"expose_headers": b"X-A"}, "expose_headers=b'X-A'"),
        ({"expose_headers": 5}, "expose_headers=5"),
        ({"expose_headers": None}, "expose_headers=None"),
        ({"expose_headers": ["X-A", 5]}, "5 is not a string"),
        ({"expose_headers": ["X-A", b"X-B"]}, "b'X-B' is not a string"),
        ({"expose_headers": ["X A"]}, "'X A'"),
        ({"expose_headers": ["X-A:"]}, "'X-A:'"),
        ({"expose_headers": [""]}, "''"),
        ({"expose_headers": ["X-\u00e9"]}, "'X-\u00e9'"),
        ({"allow_headers": "X-Token"}, "allow_headers='X-Token'"),
        ({"allow_headers": {"X-Token"}}, "allow_headers={'X-Token'}"),
        ({"allow_headers": ["X Token"]}, "'X Token'"),
        ({"allow_headers": ["X-Token\r\nInjected: 1"]}, "'X-Token\\r\\nInjected: 1'"),
        ({"max_age": -1}, "max_age=-1"),
        ({"max_age": 1.5}, "max_age=1.5"),
        ({"max_age": True}, "max_age=True"),
        ({"max_age": False}, "max_age=False"),
        ({"max_age": "10"}, "max_age='10'"),
        ({"allow_methods": "GET"}, "allow_methods='GET'"),
        ({"allow_methods": {"GET"}}, "allow_methods={'GET'}"),
        ({"allow_methods": ["GE T"]}, "'GE T'"),
        ({"allow_methods": [None]}, "None is not a string"),
    ],
)
def test_resource_options_refuses_a_bad_value_naming_it(
    kwargs: dict[str, Any], fragment: str
) -> None:
    error = configuration_error(lambda: ResourceOptions(**kwargs))
    assert isinstance(error, ValueError)
    assert len(error.problems) == 1
    assert fragment in str(error)


def test_resource_options_refuses_a_generator_for_a_name_list() -> None:
    error = configuration_error(lambda: ResourceOptions(expose_headers=_generator()))
    assert "expose_headers=<generator" in str(error)
    assert "generators" in str(error)  # the hint explains why


def test_resource_options_bare_string_hint_shows_the_tuple_form() -> None:
    error = configuration_error(lambda: ResourceOptions(allow_headers="X-Token"))
    assert "allow_headers=('X-Token',)" in str(error)


@pytest.mark.parametrize(
    "method", ["CONNECT", "TRACE", "TRACK", "connect", "Trace", "track", "cOnNeCt"]
)
def test_resource_options_refuses_forbidden_methods_in_any_case(method: str) -> None:
    error = configuration_error(lambda: ResourceOptions(allow_methods=("PUT", method)))
    assert len(error.problems) == 1
    assert repr(method.upper()) in str(error)
    assert "forbidden method" in str(error)


@pytest.mark.parametrize(
    "name",
    [
        "Cookie",
        "cookie",
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
def test_resource_options_refuses_forbidden_request_headers_in_allow_headers(name: str) -> None:
    error = configuration_error(lambda: ResourceOptions(allow_headers=("X-Token", name)))
    assert len(error.problems) == 1
    assert repr(name) in str(error)
    assert "forbidden request header" in str(error)


@pytest.mark.parametrize("name", ["Set-Cookie", "set-cookie", "Set-Cookie2", "SET-COOKIE2"])
def test_resource_options_refuses_set_cookie_in_expose_headers(name: str) -> None:
    error = configuration_error(lambda: ResourceOptions(expose_headers=("X-Total", name)))
    assert len(error.problems) == 1
    assert repr(name) in str(error)


def test_resource_options_accepts_ordinary_names() -> None:
    options = ResourceOptions(
        allow_headers=("Authorization", "Content-Type", "X-Requested-With", "Accept"),
        expose_headers=("Content-Length", "X-Total-Count", "ETag"),
        allow_methods=("PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"),
        max_age=0,
    )
    assert options.allow_headers == ("Authorization", "Content-Type", "X-Requested-With", "Accept")
    assert options.expose_headers == ("Content-Length", "X-Total-Count", "ETag")
    assert options.allow_methods == ("PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND")
    assert options.max_age == 0


def test_resource_options_accepts_large_max_age() -> None:
    assert ResourceOptions(max_age=86400).max_age == 86400


def test_resource_options_reports_several_problems_together() -> None:
    error = configuration_error(
        lambda: ResourceOptions(
            allow_credentials="yes",  # type: ignore[arg-type]
            expose_headers="X-A",
            allow_headers=("Cookie",),
            max_age=-5,
            allow_methods=("TRACE",),
        )
    )
    assert len(error.problems) == 5
    text = str(error)
    assert text.startswith("5 problems in the CORS configuration:")
    for fragment in ("'yes'", "'X-A'", "'Cookie'", "max_age=-5", "'TRACE'"):
        assert fragment in text
    # every problem is one line of the message
    for problem in error.problems:
        assert f"  - {problem}" in text


# --------------------------------------------------------------------------
# Config mappings: shape of the mapping and of its values
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


def test_plain_mapping_value_with_bad_fields_names_the_origin_and_every_field() -> None:
    error = configuration_error(
        lambda: aiohttp_cors.setup(
            web.Application(),
            defaults={"https://a.example": {"max_age": -1, "allow_methods": "GET"}},
        )
    )
    assert len(error.problems) == 2
    assert all(p.startswith("options for 'https://a.example': ") for p in error.problems)
    assert "max_age=-1" in str(error)
    assert "allow_methods='GET'" in str(error)


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
    error = configuration_error(lambda: aiohttp_cors.setup(app, defaults=config))
    assert "must be a mapping" in str(error)
    assert type(config).__name__ in str(error)


@pytest.mark.parametrize(
    "config",
    [["https://a.example"], "https://a.example", ResourceOptions(), 5],
    ids=["list", "string", "resource-options", "int"],
)
def test_non_mapping_route_config_is_refused(config: Any) -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    error = configuration_error(lambda: cors.add(route, config))
    assert "must be a mapping" in str(error)


@pytest.mark.parametrize("config", [[], ""], ids=["empty-list", "empty-string"])
def test_empty_non_mapping_route_config_is_refused(config: Any) -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    with pytest.raises(ValueError, match="must be a mapping"):
        cors.add(route, config)


def test_empty_mapping_and_none_route_config_are_accepted() -> None:
    app = web.Application()
    first = app.router.add_get("/a", handler)
    second = app.router.add_get("/b", handler)
    cors = aiohttp_cors.setup(app)
    assert cors.add(first, {}) is first
    assert cors.add(second, None) is second


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (5, "int"),
        ("yes", "str"),
        (["allow_credentials"], "list"),
        (None, "NoneType"),
        (True, "bool"),
    ],
)
def test_option_values_that_are_neither_resource_options_nor_mappings_are_refused(
    value: Any, type_name: str
) -> None:
    error = configuration_error(
        lambda: aiohttp_cors.setup(web.Application(), defaults={"https://a.example": value})
    )
    assert str(error) == (
        "options for 'https://a.example' must be a ResourceOptions or a mapping of its fields, "
        f"not {type_name}"
    )


def test_unknown_option_keys_are_refused_each_by_name() -> None:
    error = configuration_error(
        lambda: aiohttp_cors.setup(
            web.Application(),
            defaults={"https://a.example": {"allow_origin": "*", "credentials": True}},
        )
    )
    assert len(error.problems) == 2
    assert "unknown option 'allow_origin'" in str(error)
    assert "unknown option 'credentials'" in str(error)
    assert "allow_credentials" in str(error)  # the hint lists the valid names


def test_route_config_is_checked_at_add_time() -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    error = configuration_error(lambda: cors.add(route, {"https://a.example": {"max_age": "1"}}))
    assert "max_age='1'" in str(error)


def test_user_config_mapping_is_not_mutated() -> None:
    config = {"HTTPS://A.Example:443": {"max_age": 1}, "*": ResourceOptions()}
    snapshot = dict(config)
    cors = aiohttp_cors.setup(web.Application(), defaults=config)
    assert config == snapshot
    assert list(cors.defaults) == ["https://a.example", "*"]


# --------------------------------------------------------------------------
# Origin keys: normalisation and refusal
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
        ("null", "null"),
        ("*", "*"),
    ],
)
def test_configured_origins_are_normalised_in_cors_defaults(
    configured: str, canonical: str
) -> None:
    options = ResourceOptions(max_age=1)
    cors = aiohttp_cors.setup(web.Application(), defaults={configured: options})
    assert cors.defaults == {canonical: options}


@pytest.mark.parametrize(
    ("configured", "fragments"),
    [
        ("https://example.com/api", ["contains a path"]),
        ("https://example.com/", ["contains a path", "trailing"]),
        ("https://example.com?x=1", ["contains a query"]),
        ("https://example.com#top", ["contains a fragment"]),
        ("https://user@example.com", ["contains userinfo"]),
        ("https://user:secret@example.com", ["contains userinfo"]),
        ("https://example.com:0", ["bad port"]),
        ("https://example.com:99999", ["bad port"]),
        ("https://example.com:abc", ["bad port"]),
        ("https://example.com:", ["bad port"]),
        ("https://exa*mple.com", ["'*'"]),
        ("https://example.*", ["'*'"]),
        ("example.com", ["no scheme"]),
        ("//example.com", ["no scheme"]),
        ("https://", ["no host"]),
        (" https://example.com", ["white space"]),
        ("https://example.com\n", ["white space"]),
        ("https://example.com.", ["'.'"]),
    ],
)
def test_bad_configured_origins_are_refused_with_a_clear_message(
    configured: str, fragments: list[str]
) -> None:
    error = configuration_error(
        lambda: aiohttp_cors.setup(web.Application(), defaults={configured: ResourceOptions()})
    )
    assert isinstance(error, ValueError)
    assert len(error.problems) == 1
    assert repr(configured) in str(error)
    for fragment in fragments:
        assert fragment in str(error)


def test_trailing_slash_hint_tells_to_remove_it() -> None:
    error = configuration_error(
        lambda: normalize_config({"https://example.com/": ResourceOptions()})
    )
    assert str(error) == "origin 'https://example.com/' contains a path; remove the trailing '/'"


def test_all_problems_of_one_mapping_are_reported_at_once() -> None:
    error = configuration_error(
        lambda: aiohttp_cors.setup(
            web.Application(),
            defaults={
                "https://a.example/": ResourceOptions(),
                "https://b.example/api": ResourceOptions(),
                "https://c.example:0": ResourceOptions(),
                "https://fine.example": ResourceOptions(),
            },
        )
    )
    assert len(error.problems) == 3
    text = str(error)
    assert text.startswith("3 problems in the CORS configuration:")
    for key in ("'https://a.example/'", "'https://b.example/api'", "'https://c.example:0'"):
        assert key in text
    assert "fine.example" not in text


def test_problems_of_keys_and_values_are_reported_together() -> None:
    error = configuration_error(
        lambda: normalize_config(
            {
                "https://a.example/": ResourceOptions(),  # bad key
                "https://b.example": 5,  # bad value type
                "https://c.example": {"bogus": 1},  # unknown option
                "https://d.example": {"max_age": -1},  # bad field value
                "https://e.example?q": {"max_age": -2},  # bad key and bad value
            }
        )
    )
    assert len(error.problems) == 6
    text = str(error)
    for fragment in (
        "'https://a.example/'",
        "options for 'https://b.example'",
        "unknown option 'bogus'",
        "max_age=-1",
        "'https://e.example?q'",
        "max_age=-2",
    ):
        assert fragment in text


def test_route_config_reports_all_problems_at_once() -> None:
    app, route = app_with_route()
    cors = aiohttp_cors.setup(app)
    error = configuration_error(
        lambda: cors.add(
            route,
            {"a.example": ResourceOptions(), "https://b.example/": {}, "https://c.example": 1},
        )
    )
    assert len(error.problems) == 3


def test_a_failing_setup_leaves_the_application_untouched() -> None:
    app = web.Application()
    with pytest.raises(ValueError):
        aiohttp_cors.setup(app, defaults={"https://a.example/": ResourceOptions()})
    assert APP_CONFIG_KEY not in app
    assert len(app.middlewares) == 0
    assert len(app.on_response_prepare) == 0


def test_same_origin_twice_after_normalisation_with_different_options_is_refused() -> None:
    error = configuration_error(
        lambda: normalize_config(
            {"https://a.example": ResourceOptions(), "HTTPS://A.EXAMPLE:443": CREDENTIALS}
        )
    )
    assert "configured twice" in str(error)
    assert "'HTTPS://A.EXAMPLE:443'" in str(error)


def test_same_origin_twice_after_normalisation_with_equal_options_is_merged() -> None:
    options = ResourceOptions(max_age=1)
    config = normalize_config({"https://a.example": options, "HTTPS://A.example:443": options})
    assert config == {"https://a.example": options}


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        (5, "origin key 5 must be an origin string"),
        (b"https://a.example", "origin key b'https://a.example'"),
        (("https://a.example",), "origin key ('https://a.example',)"),
        (re.compile(r"example\.com"), "can never match an origin"),
        (re.compile(rb"https://a\.example"), "must be a str pattern"),
        ("https://*.com", "https://*.com"),
    ],
    ids=["int", "bytes", "tuple", "regex-without-scheme", "bytes-regex", "glob-single-label"],
)
def test_unsupported_origin_keys_are_refused(key: Any, fragment: str) -> None:
    error = configuration_error(lambda: normalize_config({key: ResourceOptions()}))
    assert len(error.problems) == 1
    assert fragment in str(error)


def test_regex_and_callable_keys_are_kept_as_given() -> None:
    pattern = re.compile(r"https://[a-z]+\.example\.com")

    def predicate(origin: str) -> bool:
        return origin.endswith(".example.org")

    options = ResourceOptions()
    assert normalize_config({pattern: options, predicate: options}) == {
        pattern: options,
        predicate: options,
    }


def test_view_class_config_is_checked_when_the_view_is_added() -> None:
    class BadClassConfig(CorsViewMixin, web.View):
        cors_config: ClassVar[Mapping[Any, Any] | None] = {"https://a.example/": ResourceOptions()}

        async def get(self) -> web.Response:
            return web.Response()

    app = web.Application()
    route = app.router.add_view("/v", BadClassConfig)
    cors = aiohttp_cors.setup(app)
    error = configuration_error(lambda: cors.add(route))
    assert "'https://a.example/'" in str(error)


def test_view_method_config_is_checked_when_the_view_is_added() -> None:
    class BadMethodConfig(CorsViewMixin, web.View):
        @custom_cors({"https://a.example": {"max_age": -1}})
        async def get(self) -> web.Response:
            return web.Response()

    app = web.Application()
    route = app.router.add_view("/v", BadMethodConfig)
    cors = aiohttp_cors.setup(app)
    error = configuration_error(lambda: cors.add(route))
    assert "max_age=-1" in str(error)


# --------------------------------------------------------------------------
# CorsSecurityWarning and strict mode
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
    _, record = security_warnings(
        lambda: normalize_config(
            {
                "*": CREDENTIALS,
                "http://a.example": CREDENTIALS,
                "https://b.example": CREDENTIALS,
            }
        )
    )
    assert len(record) == 2


def test_strict_setup_raises_instead_of_warning() -> None:
    app = web.Application()
    error, record = security_warnings(
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
    cors, record = security_warnings(
        lambda: aiohttp_cors.setup(
            web.Application(), strict=True, defaults={"https://a.example": options}
        )
    )
    assert record == []
    assert cors.defaults == {"https://a.example": options}


def test_strict_mode_problems_are_reported_with_other_problems() -> None:
    error = configuration_error(
        lambda: normalize_config(
            {"*": CREDENTIALS, "https://a.example/": ResourceOptions()}, strict=True
        )
    )
    assert len(error.problems) == 2


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


def test_cors_security_warning_can_be_turned_into_an_error_by_warning_filters() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CorsSecurityWarning)
        with pytest.raises(CorsSecurityWarning):
            aiohttp_cors.setup(web.Application(), defaults={"*": CREDENTIALS})
