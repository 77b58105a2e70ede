"""App-wide mode (``all_routes=True``), Private Network Access and refusal logging."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cors_names import (
    ACAC,
    ACAM,
    ACAO,
    ACAPN,
    ACEH,
    ACRH,
    ACRM,
    ACRPN,
    EVIL,
    ORIGIN,
    ORIGIN_MISSING,
    PREFIX,
    PREFLIGHT_VARY,
    access_control_headers,
    method_not_allowed,
)
from multidict import CIMultiDict
from yarl import URL

import aiohttp_cors
from aiohttp_cors import RefusalReason, ResourceOptions


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def boom(request: web.Request) -> web.Response:
    raise RuntimeError("boom")


# --------------------------------------------------------------------------
# App-wide mode: setup(app, defaults=..., all_routes=True)
# --------------------------------------------------------------------------

WIDE = {ORIGIN: ResourceOptions(allow_credentials=True, expose_headers=("X-E",))}


@pytest.fixture
def wide_app(tmp_path: Path) -> web.Application:
    (tmp_path / "f.txt").write_bytes(b"static!")

    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/private") and request.cookies.get("session") != "ok":
            return web.Response(status=401, text="login first")
        return await handler(request)

    app = web.Application(middlewares=[auth])
    app.router.add_get("/before", hello)  # added before setup()
    cors = aiohttp_cors.setup(app, defaults=WIDE, all_routes=True)
    app.router.add_get("/after", hello)  # added after setup()
    app.router.add_get("/boom", boom)
    app.router.add_get("/private", hello)
    app.router.add_static("/static", tmp_path)
    sub = web.Application()
    sub.router.add_get("/s", hello)
    app.add_subapp("/sub", sub)
    cors.add(app.router.add_get("/override", hello), {ORIGIN: ResourceOptions(max_age=5)})
    return app


def assert_wide(headers: Any) -> None:
    assert headers.getall(ACAO) == [ORIGIN]
    assert headers.getall(ACAC) == ["true"]
    assert headers.getall(ACEH) == ["X-E"]
    assert "Origin" in [v.strip() for v in headers["Vary"].split(",")]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/before", 200),
        ("GET", "/after", 200),
        ("GET", "/nowhere", 404),
        ("POST", "/after", 405),
        ("GET", "/boom", 500),
        ("GET", "/private", 401),
        ("GET", "/sub/s", 200),
        ("GET", "/static/f.txt", 200),
        ("GET", "/static/missing.txt", 404),
    ],
)
async def test_app_wide_every_response_carries_cors_headers(
    aiohttp_client, wide_app, method, path, status
):
    client = await aiohttp_client(wide_app)
    resp = await client.request(method, path, headers={"Origin": ORIGIN})
    assert resp.status == status
    assert_wide(resp.headers)


@pytest.mark.parametrize("path", ["/after", "/nowhere", "/boom", "/static/f.txt"])
async def test_app_wide_disallowed_origin_gets_no_cors_headers(aiohttp_client, wide_app, path):
    client = await aiohttp_client(wide_app)
    resp = await client.get(path, headers={"Origin": EVIL})
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_app_wide_bodies_are_unchanged(aiohttp_client, wide_app):
    client = await aiohttp_client(wide_app)
    assert await (await client.get("/after", headers={"Origin": ORIGIN})).text() == "hello"
    assert await (await client.get("/static/f.txt", headers={"Origin": ORIGIN})).read() == (
        b"static!"
    )
    resp = await client.get("/private", headers={"Origin": ORIGIN, "Cookie": "session=ok"})
    assert resp.status == 200
    assert await resp.text() == "hello"


@pytest.mark.parametrize("path", ["/after", "/nowhere", "/private", "/sub/s", "/static/f.txt"])
async def test_app_wide_preflight_answered_on_any_path(aiohttp_client, wide_app, path):
    client = await aiohttp_client(wide_app)
    resp = await client.options(path, headers={"Origin": ORIGIN, ACRM: "GET"})
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers[ACAC] == "true"
    assert resp.headers[ACAM] == "GET"


async def test_app_wide_preflight_to_unmatched_path_for_other_method(aiohttp_client, wide_app):
    client = await aiohttp_client(wide_app)
    resp = await client.options("/nowhere", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 200
    assert resp.headers[ACAM] == "PUT"


async def test_app_wide_preflight_for_method_route_does_not_serve(aiohttp_client, wide_app):
    # The defaults do not set allow_methods: only GET/HEAD/POST and the resource's
    # own routes pass the method check.
    client = await aiohttp_client(wide_app)
    resp = await client.options("/after", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + method_not_allowed("PUT")
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_app_wide_preflight_for_unserved_method_allowed_by_defaults(aiohttp_client):
    app = web.Application()
    defaults = {ORIGIN: ResourceOptions(allow_methods=["PUT"])}
    aiohttp_cors.setup(app, defaults=defaults, all_routes=True)
    app.router.add_get("/r", hello)
    client = await aiohttp_client(app)
    resp = await client.options("/r", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 200
    assert resp.headers[ACAM] == "PUT"
    resp = await client.options("/r", headers={"Origin": ORIGIN, ACRM: "DELETE"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + method_not_allowed("DELETE")


async def test_app_wide_preflight_refused_for_disallowed_origin(aiohttp_client, wide_app):
    client = await aiohttp_client(wide_app)
    resp = await client.options("/nowhere", headers={"Origin": EVIL, ACRM: "GET"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + f"origin '{EVIL}' is not allowed"
    assert access_control_headers(resp.headers) == []


async def test_app_wide_preflight_for_unserved_method_of_added_route(aiohttp_client, wide_app):
    client = await aiohttp_client(wide_app)
    resp = await client.options("/override", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + method_not_allowed("PUT")


async def test_app_wide_add_overrides_per_route(aiohttp_client, wide_app):
    client = await aiohttp_client(wide_app)
    resp = await client.options("/override", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert resp.status == 200
    assert resp.headers["Access-Control-Max-Age"] == "5"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    actual = await client.get("/override", headers={"Origin": ORIGIN})
    assert actual.headers[ACAO] == ORIGIN
    assert ACAC not in actual.headers
    assert ACEH not in actual.headers
    other = await client.options("/after", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert "Access-Control-Max-Age" not in other.headers


async def test_app_wide_plain_options_to_unmatched_path_is_the_routers_404(
    aiohttp_client, wide_app
):
    # Not a preflight, and no resource to route it to: aiohttp's 404, which in
    # app-wide mode varies on Origin like every response.
    client = await aiohttp_client(wide_app)
    resp = await client.options("/nowhere")
    assert resp.status == 404
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_app_wide_plain_options_to_added_route_gets_0_8_1_refusal(aiohttp_client, wide_app):
    client = await aiohttp_client(wide_app)
    resp = await client.options("/override")
    assert resp.status == 403
    assert await resp.text() == PREFIX + ORIGIN_MISSING
    assert access_control_headers(resp.headers) == []


async def test_app_wide_views_with_and_without_mixin(aiohttp_client):
    class Bare(web.View):
        async def get(self) -> web.Response:
            return web.Response(text="bare")

    class Mixed(web.View, aiohttp_cors.CorsViewMixin):
        cors_config = {ORIGIN: ResourceOptions(max_age=3)}  # noqa: RUF012

        async def get(self) -> web.Response:
            return web.Response(text="mixed")

    app = web.Application()
    aiohttp_cors.setup(app, defaults=WIDE, all_routes=True)
    app.router.add_view("/bare", Bare)
    app.router.add_view("/mixed", Mixed)
    client = await aiohttp_client(app)
    resp = await client.get("/bare", headers={"Origin": ORIGIN})
    assert await resp.text() == "bare"
    assert_wide(resp.headers)
    resp = await client.get("/mixed", headers={"Origin": ORIGIN})
    assert await resp.text() == "mixed"
    assert resp.headers[ACAO] == ORIGIN
    pre = await client.options("/mixed", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert pre.status == 200
    assert pre.headers["Access-Control-Max-Age"] == "3"
    resp = await client.delete("/bare", headers={"Origin": ORIGIN})
    assert resp.status == 405
    assert resp.headers[ACAO] == ORIGIN


async def test_without_app_wide_mode_errors_are_untouched(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=WIDE)
    cors.add(app.router.add_get("/r", hello))
    client = await aiohttp_client(app)
    resp = await client.get("/nowhere", headers={"Origin": ORIGIN})
    assert resp.status == 404
    assert access_control_headers(resp.headers) == []
    assert "Vary" not in resp.headers
    pre = await client.options("/nowhere", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert pre.status == 404
    assert access_control_headers(pre.headers) == []


# --------------------------------------------------------------------------
# Private Network Access
# --------------------------------------------------------------------------


def pna_app(**options: Any) -> web.Application:
    """GET and PUT on /r, each route passed to cors.add() (so PUT passes the method check)."""
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    config = {ORIGIN: ResourceOptions(allow_headers=("X-A",), **options)}
    for method in ("GET", "PUT"):
        cors.add(resource.add_route(method, hello), config)
    return app


async def test_private_network_preflight_refused_by_default(aiohttp_client):
    client = await aiohttp_client(pna_app())
    resp = await client.options("/r", headers={"Origin": ORIGIN, ACRM: "GET", ACRPN: "true"})
    assert resp.status == 403
    assert resp.content_type == "text/plain"
    assert await resp.text() == (
        PREFIX + f"private network access is not allowed for {ORIGIN!r} origin"
    )
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_private_network_preflight_allowed_when_configured(aiohttp_client):
    client = await aiohttp_client(pna_app(allow_private_network=True))
    resp = await client.options(
        "/r", headers={"Origin": ORIGIN, ACRM: "PUT", ACRH: "X-A", ACRPN: "true"}
    )
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACAPN) == ["true"]
    assert resp.headers[ACAM] == "PUT"
    assert resp.headers.getall("Vary") == [
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
        "Access-Control-Request-Private-Network"
    ]


async def test_private_network_header_absent_when_not_requested(aiohttp_client):
    client = await aiohttp_client(pna_app(allow_private_network=True))
    resp = await client.options("/r", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 200
    assert ACAPN not in resp.headers
    assert resp.headers.getall("Vary") == [PREFLIGHT_VARY]


async def test_private_network_request_false_is_not_a_request(aiohttp_client):
    client = await aiohttp_client(pna_app())
    resp = await client.options("/r", headers={"Origin": ORIGIN, ACRM: "PUT", ACRPN: "false"})
    assert resp.status == 200
    assert ACAPN not in resp.headers


async def test_private_network_not_on_actual_responses(aiohttp_client):
    client = await aiohttp_client(pna_app(allow_private_network=True))
    resp = await client.get("/r", headers={"Origin": ORIGIN, ACRPN: "true"})
    assert resp.headers[ACAO] == ORIGIN
    assert ACAPN not in resp.headers


async def test_private_network_refused_for_disallowed_origin_as_origin(aiohttp_client):
    client = await aiohttp_client(pna_app(allow_private_network=True))
    resp = await client.options("/r", headers={"Origin": EVIL, ACRM: "GET", ACRPN: "true"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + f"origin '{EVIL}' is not allowed"


# --------------------------------------------------------------------------
# Refusal logging
# --------------------------------------------------------------------------


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "aiohttp_cors" and record.getMessage().startswith("CORS refused (")
    ]


def failing_predicate(origin: str) -> bool:
    raise RuntimeError("tenant database down")


def logging_app() -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    config = {ORIGIN: ResourceOptions(allow_headers=("X-Ok",))}
    for method in ("GET", "PUT"):  # each route added: PUT passes the method check
        cors.add(resource.add_route(method, hello), config)
    cors.add(app.router.add_get("/p", hello), {failing_predicate: ResourceOptions()})
    items = app.router.add_resource("/items/{name}")
    items.add_route("GET", hello)
    cors.add(items, {ORIGIN: ResourceOptions()})
    return app


PREFLIGHT_CASES = [
    pytest.param(RefusalReason.ORIGIN_MISSING, "/r", [(ACRM, "PUT")], id="origin_missing"),
    pytest.param(
        RefusalReason.ORIGIN_MALFORMED,
        "/r",
        [("Origin", "https://a.example/x"), (ACRM, "PUT")],
        id="origin_malformed",
    ),
    pytest.param(
        RefusalReason.ORIGIN_MALFORMED,
        "/r",
        [("Origin", ORIGIN), ("Origin", ORIGIN), (ACRM, "PUT")],
        id="origin_malformed_two_lines",
    ),
    pytest.param(
        RefusalReason.ORIGIN_NOT_ALLOWED,
        "/r",
        [("Origin", EVIL), (ACRM, "PUT")],
        id="origin_not_allowed",
    ),
    pytest.param(RefusalReason.METHOD_MISSING, "/r", [("Origin", ORIGIN)], id="method_missing"),
    pytest.param(
        RefusalReason.METHOD_NOT_ALLOWED,
        "/r",
        [("Origin", ORIGIN), (ACRM, "DELETE")],
        id="method_not_allowed",
    ),
    pytest.param(
        RefusalReason.HEADERS_NOT_ALLOWED,
        "/r",
        [("Origin", ORIGIN), (ACRM, "PUT"), (ACRH, "X-Ok, X-No")],
        id="headers_not_allowed",
    ),
    pytest.param(
        RefusalReason.PRIVATE_NETWORK_NOT_ALLOWED,
        "/r",
        [("Origin", ORIGIN), (ACRM, "PUT"), (ACRPN, "true")],
        id="private_network_not_allowed",
    ),
    pytest.param(
        RefusalReason.PREDICATE_FAILED,
        "/p",
        [("Origin", ORIGIN), (ACRM, "GET")],
        id="predicate_failed",
    ),
]


@pytest.mark.parametrize(("code", "path", "headers"), PREFLIGHT_CASES)
async def test_each_preflight_refusal_is_logged_once(aiohttp_client, caplog, code, path, headers):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    client = await aiohttp_client(logging_app())
    resp = await client.session.request(
        "OPTIONS", client.make_url(path), headers=CIMultiDict(headers)
    )
    assert resp.status == 403
    [line] = refusals(caplog)
    assert line.startswith(f"CORS refused ({code.value}): 'OPTIONS' '{path}' from origin ")


ACTUAL_CASES = [
    pytest.param(
        RefusalReason.ORIGIN_MALFORMED, "/r", [("Origin", "HTTPS://A.EXAMPLE")], id="malformed"
    ),
    pytest.param(
        RefusalReason.ORIGIN_MALFORMED,
        "/r",
        [("Origin", ORIGIN), ("Origin", ORIGIN)],
        id="malformed_two_lines",
    ),
    pytest.param(RefusalReason.ORIGIN_NOT_ALLOWED, "/r", [("Origin", EVIL)], id="not_allowed"),
    pytest.param(RefusalReason.PREDICATE_FAILED, "/p", [("Origin", ORIGIN)], id="predicate"),
]


@pytest.mark.parametrize(("code", "path", "headers"), ACTUAL_CASES)
async def test_each_actual_request_refusal_is_logged_once(
    aiohttp_client, caplog, code, path, headers
):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    client = await aiohttp_client(logging_app())
    resp = await client.session.request("GET", client.make_url(path), headers=CIMultiDict(headers))
    assert resp.status == 200
    assert ACAO not in resp.headers
    [line] = refusals(caplog)
    assert line.startswith(f"CORS refused ({code.value}): 'GET' '{path}' from origin ")


async def test_successful_and_origin_less_requests_log_no_refusal(aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    client = await aiohttp_client(logging_app())
    assert (await client.get("/r")).status == 200
    assert (await client.get("/r", headers={"Origin": ORIGIN})).status == 200
    assert (await client.options("/r", headers={"Origin": ORIGIN, ACRM: "PUT"})).status == 200
    assert refusals(caplog) == []


async def test_predicate_failure_is_logged_with_its_exception(aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    client = await aiohttp_client(logging_app())
    await client.get("/p", headers={"Origin": ORIGIN})
    errors = [r for r in caplog.records if r.name == "aiohttp_cors" and r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "tenant database down" in str(errors[0].exc_info[1])


async def test_refusals_are_logged_at_debug_level(aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    client = await aiohttp_client(logging_app())
    await client.options("/r", headers={"Origin": EVIL, ACRM: "PUT"})
    records = [r for r in caplog.records if r.getMessage().startswith("CORS refused (")]
    assert [r.levelno for r in records] == [logging.DEBUG]


async def test_refusal_not_logged_above_debug(aiohttp_client, caplog):
    caplog.set_level(logging.INFO, logger="aiohttp_cors")
    client = await aiohttp_client(logging_app())
    await client.options("/r", headers={"Origin": EVIL, ACRM: "PUT"})
    assert refusals(caplog) == []


async def test_newline_in_path_is_escaped_in_refusal_log(aiohttp_client, caplog):
    caplog.set_level(logging.DEBUG, logger="aiohttp_cors")
    client = await aiohttp_client(logging_app())
    url = URL(str(client.make_url("/items/")) + "a%0Ab%0D%0Ac", encoded=True)
    resp = await client.session.request("OPTIONS", url, headers={"Origin": EVIL, ACRM: "GET"})
    assert resp.status == 403
    messages = refusals(caplog)
    assert messages == [
        f"CORS refused (origin_not_allowed): 'OPTIONS' '/items/a\\nb\\r\\nc' from origin "
        f"{EVIL!r}: origin {EVIL!r} is not allowed"
    ]
    assert "\n" not in messages[0]
    assert "\r" not in messages[0]
    resp = await client.session.request("GET", url, headers={"Origin": EVIL})
    assert resp.status == 200
    assert refusals(caplog)[1:] == [
        f"CORS refused (origin_not_allowed): 'GET' '/items/a\\nb\\r\\nc' from origin "
        f"{EVIL!r}: no configured origin key matches this origin"
    ]
