"""What a real browser lets a page on another origin read, case by case.

Each test runs in Chromium, Firefox ESR and WebKitGTK (see ``conftest.py``):
it loads the probe page from ``http://page.test:<port>`` and runs ``fetch()``
against the aiohttp_cors-enabled API on ``http://api.test:<port>`` (or
``http://api.page.test:<port>`` when a cookie must arrive, see
``_servers.py``), then asserts what the page could and could not observe.
Where the engines differ, the expectation is looked up per engine in a table
that cites the engine's source or documentation.  Every request uses a URL
never used before, so no preflight cache can hide a broken preflight answer.
"""

from __future__ import annotations

import json

import pytest

from ._servers import (
    APP1_PAGE_HOST,
    APPX_PAGE_HOST,
    DEFAULTS_PAGE_HOST,
    GLOB_ORIGIN_KEY,
    LOGIN_COOKIE,
    OTHER_HOST,
    PAGE_HOST,
    REGEX_ORIGIN_PATTERN,
    SAME_SITE_API_HOST,
    SESSION_COOKIE,
    SUB_PAGE_HOST,
    Servers,
)
from .conftest import Probe

pytestmark = pytest.mark.browser

PREFLIGHT_METHODS = ("PUT", "DELETE", "PATCH")


# --------------------------------------------------------------------------
# simple requests
# --------------------------------------------------------------------------


def test_simple_get_allowed(probe: Probe) -> None:
    url, case = probe.url("/simple")
    result = probe.fetch(url)
    probe.assert_allowed(result, case)
    assert result["status"] == 200
    assert result["body"] == "simple-ok"
    assert result["type"] == "cors"


def test_simple_get_denied_for_unconfigured_origin(probe: Probe) -> None:
    url, case = probe.url("/denied")
    result = probe.fetch(url)
    probe.assert_blocked(result, case)
    # A simple request is sent anyway: only reading the answer is refused.
    assert len(probe.actual_requests(case)) == 1, probe.explain(case, result)


def test_head_request_allowed(probe: Probe) -> None:
    # add_get() also registers HEAD for the resource.
    url, case = probe.url("/simple")
    result = probe.fetch(url, method="HEAD")
    probe.assert_allowed(result, case)
    assert result["status"] == 200
    assert result["body"] == ""


def test_simple_post_allowed_without_preflight(probe: Probe) -> None:
    url, case = probe.url("/simple-post")
    result = probe.fetch(url, method="POST", body="hello")
    probe.assert_allowed(result, case)
    assert json.loads(result["body"])["body"] == "hello"
    methods = [e.method for e in probe.servers.api_state.exchanges_for(case)]
    assert methods == ["POST"], probe.explain(case, result)


def test_setup_defaults_apply_to_route_added_without_config(probe: Probe) -> None:
    probe.goto(DEFAULTS_PAGE_HOST)
    url, case = probe.url("/defaults-only")
    result = probe.fetch(url, read_headers=("X-Default",))
    probe.assert_allowed(result, case)
    assert result["body"] == "defaults-ok"
    assert result["headers"]["X-Default"] == "d1", probe.explain(case, result)


def test_setup_defaults_do_not_allow_other_origins(probe: Probe) -> None:
    url, case = probe.url("/defaults-only")  # from page.test: not in the defaults
    result = probe.fetch(url)
    probe.assert_blocked(result, case)


def test_wildcard_origin_simple_get(probe: Probe) -> None:
    url, case = probe.url("/wildcard")
    result = probe.fetch(url)
    probe.assert_allowed(result, case)
    assert result["body"] == "wild-ok"


def test_wildcard_origin_without_allow_credentials_refuses_credentialed_fetch(
    probe: Probe,
) -> None:
    url, case = probe.url("/wildcard", host=SAME_SITE_API_HOST)
    result = probe.fetch(url, credentials="include")
    probe.assert_blocked(result, case)


def test_wildcard_origin_with_allow_credentials(probe: Probe) -> None:
    probe.add_cookie("w", "1", SAME_SITE_API_HOST)
    url, case = probe.url("/wildcard-cred", host=SAME_SITE_API_HOST)
    result = probe.fetch(url, credentials="include")
    probe.assert_allowed(result, case)
    assert json.loads(result["body"])["cookies"] == {"w": "1"}


# --------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------


# Whether the engine stores a host-only cookie that a credentialed fetch's
# response from api.page.test sets while the page is on page.test (same site,
# another host):
STORES_COOKIE_FROM_OTHER_HOST = {
    "chromium": True,
    # Same site, so Total Cookie Protection keeps it in the page's jar.
    "firefox": True,
    # WebKitGTK's default cookie policy is "no third party": "Accept only
    # cookies set by the main document loaded"
    # (https://webkitgtk.org/reference/webkit2gtk/stable/enum.CookieAcceptPolicy.html),
    # and a host-only cookie for api.page.test is none of page.test's.
    "webkit": False,
}


def test_credentialed_fetch_allowed_and_cookie_arrives(probe: Probe) -> None:
    login_url, login_case = probe.url("/cred/login", host=SAME_SITE_API_HOST, value="v42")
    login = probe.fetch(login_url, credentials="include")
    probe.assert_allowed(login, login_case)
    assert login["body"] == "logged-in"

    url, case = probe.url("/cred/whoami", host=SAME_SITE_API_HOST)
    result = probe.fetch(url, credentials="include")
    probe.assert_allowed(result, case)
    seen = json.loads(result["body"])
    expected = "v42" if STORES_COOKIE_FROM_OTHER_HOST[probe.engine] else None
    assert seen["cookies"].get(LOGIN_COOKIE) == expected, probe.explain(case, result)


def test_credentialed_fetch_denied_without_allow_credentials(probe: Probe) -> None:
    url, case = probe.url("/cred/denied", host=SAME_SITE_API_HOST)
    result = probe.fetch(url, credentials="include")
    probe.assert_blocked(result, case)

    # The same resource without credentials is readable: the refusal is
    # about credentials, not about the origin.
    url, case = probe.url("/cred/denied", host=SAME_SITE_API_HOST)
    result = probe.fetch(url, credentials="omit")
    probe.assert_allowed(result, case)


# --------------------------------------------------------------------------
# preflighted requests
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", PREFLIGHT_METHODS)
def test_preflighted_request_with_custom_header_allowed(probe: Probe, method: str) -> None:
    url, case = probe.url("/pf/items")
    # A text/plain body keeps Content-Type safelisted: X-Token is the only
    # header that needs the preflight's permission.
    result = probe.fetch(
        url, method=method, headers={"X-Token": "t-1"}, body=None if method == "DELETE" else "b"
    )
    probe.assert_allowed(result, case)
    seen = json.loads(result["body"])
    assert seen["method"] == method
    assert seen["x_token"] == "t-1"
    assert seen["body"] == ("" if method == "DELETE" else "b")
    methods = [e.method for e in probe.servers.api_state.exchanges_for(case)]
    assert methods == ["OPTIONS", method], probe.explain(case, result)


def test_preflight_allow_methods_positive_counterpart(probe: Probe) -> None:
    url, case = probe.url("/pf/limited")
    result = probe.fetch(url, method="PUT", headers={"X-Token": "t-2"})
    probe.assert_allowed(result, case)
    assert json.loads(result["body"])["method"] == "PUT"


@pytest.mark.parametrize("method", PREFLIGHT_METHODS)
def test_preflight_refused_origin_not_allowed(probe: Probe, method: str) -> None:
    url, case = probe.url("/pf/locked")
    result = probe.fetch(url, method=method, headers={"X-Token": "t-3"})
    probe.assert_blocked(result, case)
    assert probe.actual_requests(case) == [], (
        "the actual request must not be sent after a refused preflight\n"
        + probe.explain(case, result)
    )


@pytest.mark.parametrize("method", ["DELETE", "PATCH"])
def test_preflight_refused_method_not_allowed(probe: Probe, method: str) -> None:
    url, case = probe.url("/pf/limited")
    result = probe.fetch(url, method=method, headers={"X-Token": "t-4"})
    probe.assert_blocked(result, case)
    assert probe.actual_requests(case) == [], probe.explain(case, result)


@pytest.mark.parametrize("method", PREFLIGHT_METHODS)
def test_preflight_refused_header_not_allowed(probe: Probe, method: str) -> None:
    url, case = probe.url("/pf/items")
    result = probe.fetch(url, method=method, headers={"X-Token": "t-5", "X-Other": "nope"})
    probe.assert_blocked(result, case)
    assert probe.actual_requests(case) == [], probe.explain(case, result)


def test_max_age_zero_disables_preflight_cache(probe: Probe) -> None:
    # Without Access-Control-Max-Age, Fetch caches a preflight for 5 s
    # ("CORS-preflight fetch", step "max-age"); "Access-Control-Max-Age: 0"
    # must make every engine ask again.
    url, case = probe.url("/pf/max-age-0")
    for _ in range(2):
        result = probe.fetch(url, method="PUT", headers={"X-Token": "t-7"}, body="x")
        probe.assert_allowed(result, case)
    methods = [e.method for e in probe.servers.api_state.exchanges_for(case)]
    assert methods == ["OPTIONS", "PUT", "OPTIONS", "PUT"], probe.explain(case, result)


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_class_based_view_allowed(probe: Probe, method: str) -> None:
    url, case = probe.url("/view")
    result = probe.fetch(url, method=method, headers={"X-Token": "t-8"})
    probe.assert_allowed(result, case)
    assert json.loads(result["body"]) == {
        "method": method,
        "x_token": "t-8",
        "authorization": None,
        "cookies": {},
        "body": "",
    }


def test_class_based_view_custom_cors_method(probe: Probe) -> None:
    url, case = probe.url("/view")
    result = probe.fetch(url, method="PATCH", headers={"X-Token": "t-9", "X-Extra": "1"})
    probe.assert_allowed(result, case)
    # X-Extra is allowed for PATCH only (custom_cors), not for PUT.
    url, case = probe.url("/view")
    result = probe.fetch(url, method="PUT", headers={"X-Token": "t-9", "X-Extra": "1"})
    probe.assert_blocked(result, case)
    assert probe.actual_requests(case) == [], probe.explain(case, result)


def test_class_based_view_method_not_implemented_refused(probe: Probe) -> None:
    url, case = probe.url("/view")
    result = probe.fetch(url, method="DELETE", headers={"X-Token": "t-10"})
    probe.assert_blocked(result, case)
    assert probe.actual_requests(case) == [], probe.explain(case, result)


def test_resource_config_preflight_allows_get_head_post_only(probe: Probe) -> None:
    # X-Token makes the GET preflighted: GET passes the method check.
    url, case = probe.url("/pf/resource-only")
    result = probe.fetch(url, headers={"X-Token": "t-16"})
    probe.assert_allowed(result, case)
    assert json.loads(result["body"])["x_token"] == "t-16"
    # PUT is served but neither allowed by allow_methods nor passed to cors.add().
    url, case = probe.url("/pf/resource-only")
    result = probe.fetch(url, method="PUT", headers={"X-Token": "t-16"}, body="p")
    probe.assert_blocked(result, case)
    assert probe.actual_requests(case) == [], probe.explain(case, result)


def test_sibling_route_never_passed_to_add_is_readable(probe: Probe) -> None:
    url, case = probe.url("/sibling")
    result = probe.fetch(url, method="POST", body="x", read_headers=("X-Sib",))
    probe.assert_allowed(result, case)
    assert result["body"] == "sibling-post"
    assert result["headers"]["X-Sib"] == "s1", probe.explain(case, result)


def test_preflighted_json_post_allowed(probe: Probe) -> None:
    url, case = probe.url("/pf/json")
    result = probe.fetch(
        url,
        method="POST",
        headers={"Content-Type": "application/json", "X-Token": "t-11"},
        body='{"n": 1}',
    )
    probe.assert_allowed(result, case)
    assert json.loads(json.loads(result["body"])["body"]) == {"n": 1}


# --------------------------------------------------------------------------
# static files, the application's own OPTIONS / "*" handlers, revalidation
# --------------------------------------------------------------------------


def test_static_file_allowed(probe: Probe) -> None:
    url, case = probe.url("/static/hello.txt")
    result = probe.fetch(url)
    probe.assert_allowed(result, case)
    assert result["body"] == "static-hello\n"


def _require_configured(servers: Servers, name: str) -> None:
    error = servers.api_state.config_errors.get(name)
    if error is not None:
        pytest.fail(f"configuring the {name!r} case raised {error}")


def test_own_options_handler_kept_and_preflight_answered(probe: Probe, servers: Servers) -> None:
    _require_configured(servers, "own-options")
    url, case = probe.url("/own-options")
    result = probe.fetch(url, method="PUT", headers={"X-Token": "t-13"}, body="o")
    probe.assert_allowed(result, case)
    assert json.loads(result["body"])["x_token"] == "t-13"
    # fetch(method="OPTIONS") is preflighted too; the actual OPTIONS request
    # then reaches the application's handler and its answer is readable.
    url, case = probe.url("/own-options")
    result = probe.fetch(url, method="OPTIONS")
    probe.assert_allowed(result, case)
    assert result["body"] == "options-by-handler", probe.explain(case, result)
    assert [h.method for h in probe.servers.api_state.hits_for(case)] == ["OPTIONS"]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_any_method_route(probe: Probe, servers: Servers, method: str) -> None:
    _require_configured(servers, "any-method")
    url, case = probe.url("/any-method")
    result = probe.fetch(url, method=method, headers={"X-Token": "t-14"})
    probe.assert_allowed(result, case)
    assert json.loads(result["body"])["method"] == method


@pytest.mark.parametrize(("method", "allowed"), [("GET", True), ("PUT", False), ("DELETE", False)])
def test_any_method_route_without_allow_methods(
    probe: Probe, servers: Servers, method: str, allowed: bool
) -> None:
    _require_configured(servers, "any-method-default")
    url, case = probe.url("/any-method-default")
    result = probe.fetch(url, method=method, headers={"X-Token": "t-15"})
    if allowed:
        probe.assert_allowed(result, case)
        assert json.loads(result["body"])["method"] == method
    else:
        probe.assert_blocked(result, case)
        assert probe.actual_requests(case) == [], probe.explain(case, result)


# Whether the engine, as the suite runs it, has an HTTP cache to revalidate
# the second request from (If-None-Match, answered 304):
HAS_HTTP_CACHE = {
    "chromium": True,
    "firefox": True,
    # MiniBrowser under WebDriver uses an ephemeral website data manager
    # (Tools/MiniBrowser/gtk/main.c: "privateMode || automationMode"), and
    # WebKit opens its HTTP cache for persistent sessions only
    # (Source/WebKit/NetworkProcess/NetworkSession.cpp): both requests are full.
    "webkit": False,
}


def test_conditional_revalidation_304_keeps_response_readable(probe: Probe) -> None:
    url, case = probe.url("/etag")
    first = probe.fetch(url, read_headers=("X-Version",))
    probe.assert_allowed(first, case)
    second = probe.fetch(url, read_headers=("X-Version",))
    probe.assert_allowed(second, case)
    assert second["status"] == 200
    assert second["body"] == "cached-body"
    assert second["headers"]["X-Version"] == "v1", probe.explain(case, second)
    statuses = [e.status for e in probe.servers.api_state.exchanges_for(case)]
    expected = [200, 304] if HAS_HTTP_CACHE[probe.engine] else [200, 200]
    assert statuses == expected, probe.explain(case, second)


# --------------------------------------------------------------------------
# sub-application with its own setup()
# --------------------------------------------------------------------------


def test_subapp_simple_get_allowed(probe: Probe) -> None:
    url, case = probe.url("/sub/hello")
    result = probe.fetch(url)
    probe.assert_allowed(result, case)
    assert result["body"] == "sub-hello"


def test_subapp_preflighted_put_allowed(probe: Probe) -> None:
    url, case = probe.url("/sub/thing")
    result = probe.fetch(url, method="PUT", headers={"X-Token": "t-12"}, body="s")
    probe.assert_allowed(result, case)
    assert json.loads(result["body"])["x_token"] == "t-12"


# --------------------------------------------------------------------------
# the opaque "null" origin
# --------------------------------------------------------------------------


def test_null_origin_allowed_only_where_listed(probe: Probe) -> None:
    frame = probe.sandboxed_frame()
    url, case = probe.url("/null-listed")
    result = probe.fetch(url, frame=frame)
    probe.assert_allowed(result, case)
    assert result["body"] == "null-ok"
    origins = [e.request_headers.get("Origin") for e in probe.servers.api_state.exchanges_for(case)]
    assert origins == ["null"], probe.explain(case, result)

    url, case = probe.url("/simple")  # configured for the page origin only
    result = probe.fetch(url, frame=frame)
    probe.assert_blocked(result, case)


# --------------------------------------------------------------------------
# exposed response headers
# --------------------------------------------------------------------------


def test_exposed_header_readable_unexposed_hidden(probe: Probe) -> None:
    url, case = probe.url("/expose")
    result = probe.fetch(url, read_headers=("X-Exposed", "X-Hidden", "Content-Type"))
    probe.assert_allowed(result, case)
    assert result["headers"]["X-Exposed"] == "e1", probe.explain(case, result)
    assert result["headers"]["X-Hidden"] is None, probe.explain(case, result)
    # CORS-safelisted response headers are always readable.
    assert result["headers"]["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("path", "credentials"),
    [("/expose-star", "omit"), ("/expose-star-cred", "include")],
    ids=["without-credentials", "with-credentials"],
)
def test_expose_headers_star(probe: Probe, path: str, credentials: str) -> None:
    url, case = probe.url(path)
    result = probe.fetch(url, credentials=credentials, read_headers=("X-Custom", "X-Other-Custom"))
    probe.assert_allowed(result, case)
    assert result["headers"] == {"X-Custom": "c1", "X-Other-Custom": "c2"}, probe.explain(
        case, result
    )


# --------------------------------------------------------------------------
# error responses
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "body_part"),
    [
        ("/err/404", 404, "no such item (handler returned 404)"),
        ("/err/403", 403, "forbidden: raised HTTPForbidden"),
        ("/err/500", 500, "Internal Server Error"),
    ],
    ids=["returned-404", "raised-HTTPForbidden", "unhandled-RuntimeError-500"],
)
def test_error_response_readable(probe: Probe, path: str, status: int, body_part: str) -> None:
    url, case = probe.url(path)
    result = probe.fetch(url)
    probe.assert_allowed(result, case)
    assert result["status"] == status, probe.explain(case, result)
    assert body_part in result["body"], probe.explain(case, result)


# --------------------------------------------------------------------------
# redirect and streaming
# --------------------------------------------------------------------------


def test_redirect_followed_final_body_readable(probe: Probe) -> None:
    url, case = probe.url("/redirect/start")
    result = probe.fetch(url)
    probe.assert_allowed(result, case)
    assert result["status"] == 200
    assert result["body"] == "landed"
    assert result["redirected"] is True
    assert result["url"].split("?")[0].endswith("/redirect/target")
    statuses = [e.status for e in probe.servers.api_state.exchanges_for(case)]
    assert statuses == [302, 200], probe.explain(case, result)


def test_streamed_response_readable(probe: Probe) -> None:
    url, case = probe.url("/stream")
    result = probe.fetch(url, read_headers=("X-Stream",))
    probe.assert_allowed(result, case)
    assert result["body"] == "chunk0\nchunk1\nchunk2\nchunk3\n"
    assert result["headers"]["X-Stream"] == "s1", probe.explain(case, result)


# --------------------------------------------------------------------------
# behind an authentication middleware
# --------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/auth", "/auth-raise"], ids=["returns-401", "raises-401"])
def test_preflight_passes_auth_middleware_and_request_carries_cookie(
    probe: Probe, prefix: str
) -> None:
    probe.add_cookie(SESSION_COOKIE, "ok", SAME_SITE_API_HOST)
    url, case = probe.url(f"{prefix}/profile", host=SAME_SITE_API_HOST)
    result = probe.fetch(
        url, method="PUT", credentials="include", headers={"X-Token": "t-auth"}, body="x"
    )
    probe.assert_allowed(result, case)
    assert result["status"] == 200, probe.explain(case, result)
    seen = json.loads(result["body"])
    assert seen["cookies"].get(SESSION_COOKIE) == "ok"
    assert seen["x_token"] == "t-auth"
    preflights = [e for e in probe.servers.api_state.exchanges_for(case) if e.method == "OPTIONS"]
    assert preflights, probe.explain(case, result)
    assert "Cookie" not in preflights[0].request_headers, "browsers send no cookies on preflights"


@pytest.mark.parametrize("prefix", ["/auth", "/auth-raise"], ids=["returns-401", "raises-401"])
def test_auth_middleware_401_readable_by_allowed_origin(probe: Probe, prefix: str) -> None:
    # No session cookie: the middleware answers 401 itself.  The page should
    # still be able to read that status (to send the user to a login page).
    url, case = probe.url(f"{prefix}/me", host=SAME_SITE_API_HOST)
    result = probe.fetch(url, credentials="include")
    probe.assert_allowed(result, case)
    assert result["status"] == 401, probe.explain(case, result)
    assert json.loads(result["body"]) == {"error": "login required"}


# --------------------------------------------------------------------------
# Authorization with allow_headers="*"
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "credentials"),
    [("/authz", "omit"), ("/authz-cred", "include")],
    ids=["without-credentials", "with-credentials"],
)
def test_authorization_header_with_allow_headers_star(
    probe: Probe, path: str, credentials: str
) -> None:
    url, case = probe.url(path)
    result = probe.fetch(
        url,
        credentials=credentials,
        headers={"Authorization": "Bearer secret-token", "X-Token": "t-6"},
    )
    probe.assert_allowed(result, case)
    seen = json.loads(result["body"])
    assert seen["authorization"] == "Bearer secret-token"
    assert seen["x_token"] == "t-6"


# --------------------------------------------------------------------------
# origin patterns (glob / regex keys)
# --------------------------------------------------------------------------


def _require_feature(servers: Servers, feature: str, key: str) -> None:
    error = servers.api_state.unsupported.get(feature)
    if error is not None:
        pytest.skip(f"{feature} origin keys not supported yet: configuring {key!r} raised {error}")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [(SUB_PAGE_HOST, True), (OTHER_HOST, False), (PAGE_HOST, False)],
    ids=["subdomain-allowed", "other-site-denied", "apex-not-a-subdomain-denied"],
)
def test_glob_origin(probe: Probe, servers: Servers, host: str, allowed: bool) -> None:
    _require_feature(servers, "glob", GLOB_ORIGIN_KEY)
    probe.goto(host)
    url, case = probe.url("/pattern/glob")
    result = probe.fetch(url)
    if allowed:
        probe.assert_allowed(result, case)
        assert result["body"] == "glob-ok"
    else:
        probe.assert_blocked(result, case)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [(APP1_PAGE_HOST, True), (APPX_PAGE_HOST, False), (PAGE_HOST, False)],
    ids=["app1-allowed", "appx-denied", "page-denied"],
)
def test_regex_origin(probe: Probe, servers: Servers, host: str, allowed: bool) -> None:
    _require_feature(servers, "regex", REGEX_ORIGIN_PATTERN)
    probe.goto(host)
    url, case = probe.url("/pattern/regex")
    result = probe.fetch(url)
    if allowed:
        probe.assert_allowed(result, case)
        assert result["body"] == "regex-ok"
    else:
        probe.assert_blocked(result, case)
