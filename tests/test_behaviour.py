"""HTTP behaviour of actual (non-preflight) requests through real aiohttp applications.

Covers what aiohttp-cors 0.8.1 sent (kept byte for byte), ``Vary: Origin`` merged into
every response of a CORS-enabled resource, headers a handler set itself, malformed
origins (never reflected), ``"*"`` with credentials (the request's values are echoed)
and the origin keys beyond exact strings (globs, regexes, predicates).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from cors_names import (
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACEH,
    ACMA,
    ACRH,
    ACRM,
    EVIL,
    ORIGIN,
    OTHER,
    PREFIX,
    access_control_headers,
)
from multidict import CIMultiDict

import aiohttp_cors
from aiohttp_cors import ResourceOptions

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def app_with(
    config: dict[Any, Any] | None = None,
    *,
    handler: Handler = hello,
    path: str = "/r",
    methods: tuple[str, ...] = ("GET",),
    defaults: dict[Any, Any] | None = None,
) -> web.Application:
    """One resource at ``path`` serving ``methods`` with ``handler``, CORS-enabled."""
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=defaults)
    resource = app.router.add_resource(path)
    for method in methods:
        resource.add_route(method, handler)
    cors.add(resource, config)
    return app


async def raw_request(
    client: Any, method: str, target: str, headers: list[tuple[str, str]]
) -> tuple[int, CIMultiDict[str], bytes]:
    """Send bytes aiohttp's client would not produce; return status, headers and body."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {client.server.host}:{client.server.port}",
        "Connection: close",
        *(f"{name}: {value}" for name, value in headers),
        "",
        "",
    ]
    writer.write("\r\n".join(lines).encode("latin-1"))
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: CIMultiDict[str] = CIMultiDict()
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed.add(name.strip(), value.strip())
    return int(status_line.split()[1]), parsed, body


# --------------------------------------------------------------------------
# Actual requests: 0.8.1 behaviour
# --------------------------------------------------------------------------


async def test_allowed_origin_is_echoed_with_configured_expose_headers(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions(expose_headers=("X-One", "X-Two"))})
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.text() == "hello"
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers[ACEH] == "X-One,X-Two"
    assert ACAC not in resp.headers
    assert ACAM not in resp.headers
    assert ACAH not in resp.headers
    assert ACMA not in resp.headers


async def test_origin_matched_by_star_is_echoed_never_a_literal_star(aiohttp_client):
    client = await aiohttp_client(app_with({"*": ResourceOptions()}))
    resp = await client.get("/r", headers={"Origin": OTHER})
    assert resp.headers.getall(ACAO) == [OTHER]


async def test_credentials_give_allow_credentials_true(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_credentials=True)}))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACAC) == ["true"]


async def test_disallowed_origin_runs_handler_and_gets_no_cors_headers(aiohttp_client):
    calls = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.method)
        return web.Response(text="body", headers={"X-Kept": "1"})

    app = app_with({ORIGIN: ResourceOptions(allow_credentials=True)}, handler=handler)
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": EVIL})
    assert resp.status == 200
    assert await resp.text() == "body"
    assert resp.headers["X-Kept"] == "1"
    assert calls == ["GET"]
    assert access_control_headers(resp.headers) == []


async def test_request_without_origin_gets_no_cors_headers(aiohttp_client):
    client = await aiohttp_client(app_with({"*": ResourceOptions(allow_credentials=False)}))
    resp = await client.get("/r")
    assert resp.status == 200
    assert await resp.text() == "hello"
    assert access_control_headers(resp.headers) == []


async def test_origin_with_default_port_does_not_match_configured_origin(aiohttp_client):
    client = await aiohttp_client(app_with({"http://x.org": ResourceOptions()}))
    resp = await client.get("/r", headers={"Origin": "http://x.org:80"})
    assert resp.status == 200
    assert ACAO not in resp.headers
    resp = await client.get("/r", headers={"Origin": "http://x.org"})
    assert resp.headers[ACAO] == "http://x.org"


async def test_origin_with_non_default_port_is_distinct_origin(aiohttp_client):
    client = await aiohttp_client(app_with({"http://x.org:8080": ResourceOptions()}))
    assert ACAO not in (await client.get("/r", headers={"Origin": "http://x.org"})).headers
    resp = await client.get("/r", headers={"Origin": "http://x.org:8080"})
    assert resp.headers[ACAO] == "http://x.org:8080"


async def test_routes_not_passed_to_add_are_untouched(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    cors.add(app.router.add_get("/on", hello))
    app.router.add_get("/off", hello)
    client = await aiohttp_client(app)
    resp = await client.get("/off", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert access_control_headers(resp.headers) == []
    assert "Vary" not in resp.headers
    resp = await client.get("/on", headers={"Origin": ORIGIN})
    assert resp.headers[ACAO] == ORIGIN


async def test_defaults_alone_do_not_enable_any_route(aiohttp_client):
    app = web.Application()
    aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    app.router.add_get("/r", hello)
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert access_control_headers(resp.headers) == []
    assert "Vary" not in resp.headers
    pre = await client.options("/r", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert pre.status == 405
    assert access_control_headers(pre.headers) == []


async def test_every_route_of_resource_gets_cors_when_resource_added(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions()}, methods=("GET", "POST", "DELETE"))
    client = await aiohttp_client(app)
    for method in ("GET", "POST", "DELETE"):
        resp = await client.request(method, "/r", headers={"Origin": ORIGIN})
        assert resp.status == 200, method
        assert resp.headers[ACAO] == ORIGIN, method


async def test_head_request_gets_cors_headers(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, methods=("GET", "HEAD")))
    resp = await client.head("/r", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert resp.headers[ACAO] == ORIGIN


async def test_dynamic_resource_with_match_info(aiohttp_client):
    async def item(request: web.Request) -> web.Response:
        return web.Response(text=request.match_info["name"])

    app = app_with({ORIGIN: ResourceOptions()}, path="/items/{name}", handler=item)
    client = await aiohttp_client(app)
    resp = await client.get("/items/abc", headers={"Origin": ORIGIN})
    assert await resp.text() == "abc"
    assert resp.headers[ACAO] == ORIGIN


async def test_mapping_config_form_works_like_resource_options(aiohttp_client):
    app = app_with({ORIGIN: {"allow_credentials": True, "expose_headers": ("X-M",)}})
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers[ACAC] == "true"
    assert resp.headers[ACEH] == "X-M"


# --------------------------------------------------------------------------
# Precedence: route → resource → defaults; exact origin over "*"
# --------------------------------------------------------------------------


def expose(name: str) -> ResourceOptions:
    return ResourceOptions(expose_headers=(name,))


async def test_route_config_overrides_resource_config_overrides_defaults(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: expose("X-Def"), OTHER: expose("X-Def")})
    resource = app.router.add_resource("/r")
    resource.add_route("GET", hello)
    post = resource.add_route("POST", hello)
    cors.add(resource, {ORIGIN: expose("X-Res")})
    cors.add(post, {ORIGIN: expose("X-Route")})
    client = await aiohttp_client(app)
    assert (await client.get("/r", headers={"Origin": ORIGIN})).headers[ACEH] == "X-Res"
    assert (await client.post("/r", headers={"Origin": ORIGIN})).headers[ACEH] == "X-Route"
    # OTHER is only in the defaults: every layer above falls through to them.
    assert (await client.get("/r", headers={"Origin": OTHER})).headers[ACEH] == "X-Def"
    assert (await client.post("/r", headers={"Origin": OTHER})).headers[ACEH] == "X-Def"


async def test_sibling_routes_of_an_added_route_get_the_resource_config(aiohttp_client):
    # add(route, config) on a resource not configured yet makes config the resource's
    # config too: every route of the resource is CORS-enabled with it, as in 0.8.1.
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    get = resource.add_route("GET", hello)
    resource.add_route("POST", hello)
    delete = resource.add_route("DELETE", hello)
    cors.add(get, {ORIGIN: expose("X-Get")})
    cors.add(delete, {OTHER: expose("X-Del")})  # this method's config only
    client = await aiohttp_client(app)
    for method in ("GET", "POST", "DELETE"):
        resp = await client.request(method, "/r", headers={"Origin": ORIGIN})
        assert resp.headers.getall(ACAO) == [ORIGIN], method
        assert resp.headers.getall(ACEH) == ["X-Get"], method
        assert resp.headers.getall("Vary") == ["Origin"], method
    resp = await client.delete("/r", headers={"Origin": OTHER})
    assert resp.headers.getall(ACAO) == [OTHER]
    assert resp.headers.getall(ACEH) == ["X-Del"]
    for method in ("GET", "POST"):
        resp = await client.request(method, "/r", headers={"Origin": OTHER})
        assert access_control_headers(resp.headers) == [], method


async def test_route_config_of_another_resource_overrides_defaults_only_there(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: expose("X-Def")})
    cors.add(app.router.add_get("/plain", hello))
    cors.add(app.router.add_get("/own", hello), {ORIGIN: expose("X-Own")})
    client = await aiohttp_client(app)
    assert (await client.get("/plain", headers={"Origin": ORIGIN})).headers[ACEH] == "X-Def"
    assert (await client.get("/own", headers={"Origin": ORIGIN})).headers[ACEH] == "X-Own"


async def test_exact_origin_key_wins_over_star(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/r", hello), {"*": expose("X-Star"), ORIGIN: expose("X-Exact")})
    client = await aiohttp_client(app)
    assert (await client.get("/r", headers={"Origin": ORIGIN})).headers[ACEH] == "X-Exact"
    assert (await client.get("/r", headers={"Origin": OTHER})).headers[ACEH] == "X-Star"


async def test_exact_origin_in_defaults_wins_over_star_of_route(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: expose("X-Def")})
    cors.add(app.router.add_get("/r", hello), {"*": expose("X-Star")})
    client = await aiohttp_client(app)
    assert (await client.get("/r", headers={"Origin": ORIGIN})).headers[ACEH] == "X-Def"
    assert (await client.get("/r", headers={"Origin": OTHER})).headers[ACEH] == "X-Star"


async def test_configured_origin_is_normalised_before_matching(aiohttp_client):
    client = await aiohttp_client(app_with({"HTTPS://A.Example:443": ResourceOptions()}))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers[ACAO] == ORIGIN


# --------------------------------------------------------------------------
# Vary: Origin on every response of a CORS-enabled resource
# --------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [ORIGIN, EVIL, None], ids=["allowed", "disallowed", "absent"])
async def test_vary_origin_on_every_response_of_enabled_route(aiohttp_client, origin):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}))
    headers = {"Origin": origin} if origin else {}
    resp = await client.get("/r", headers=headers)
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_vary_merges_into_existing_vary_of_handler(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="x", headers={"Vary": "Accept-Encoding"})

    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    for headers in ({"Origin": ORIGIN}, {"Origin": EVIL}, {}):
        resp = await client.get("/r", headers=headers)
        assert resp.headers.getall("Vary") == ["Accept-Encoding, Origin"], headers


async def test_vary_lines_of_handler_are_merged_into_one(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        resp = web.Response(text="x")
        resp.headers.add("Vary", "Accept-Encoding")
        resp.headers.add("Vary", "accept-language")
        return resp

    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    for headers in ({"Origin": ORIGIN}, {}):
        resp = await client.get("/r", headers=headers)
        assert resp.headers.getall("Vary") == ["Accept-Encoding, accept-language, Origin"]


async def test_vary_already_naming_origin_is_not_duplicated(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="x", headers={"Vary": "accept-encoding, origin"})

    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers.getall("Vary") == ["accept-encoding, origin"]
    assert resp.headers[ACAO] == ORIGIN


async def test_vary_star_is_left_alone(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="x", headers={"Vary": "*"})

    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    for headers in ({"Origin": ORIGIN}, {}):
        resp = await client.get("/r", headers=headers)
        assert resp.headers.getall("Vary") == ["*"]


async def test_no_vary_on_route_without_cors(aiohttp_client):
    app = web.Application()
    aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    app.router.add_get("/r", hello)
    client = await aiohttp_client(app)
    for headers in ({"Origin": ORIGIN}, {}):
        resp = await client.get("/r", headers=headers)
        assert "Vary" not in resp.headers


# --------------------------------------------------------------------------
# Authentication middleware: preflights are answered before it
# --------------------------------------------------------------------------


def auth_app() -> web.Application:
    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.cookies.get("session") != "ok":
            return web.Response(status=401, text="login first")
        return await handler(request)

    app = web.Application(middlewares=[auth])
    cors = aiohttp_cors.setup(
        app,
        defaults={
            ORIGIN: ResourceOptions(
                allow_credentials=True, allow_headers=("X-Token",), allow_methods=("PUT",)
            )
        },
    )
    resource = app.router.add_resource("/secret")
    resource.add_route("GET", hello)
    resource.add_route("PUT", hello)
    cors.add(resource)
    return app


async def test_preflight_is_answered_before_authentication_middleware(aiohttp_client):
    client = await aiohttp_client(auth_app())
    resp = await client.options("/secret", headers={"Origin": ORIGIN, ACRM: "PUT", ACRH: "X-Token"})
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers[ACAC] == "true"
    assert resp.headers[ACAM] == "PUT"
    assert resp.headers[ACAH] == "X-TOKEN"


async def test_middleware_401_without_cookie_still_carries_cors_headers(aiohttp_client):
    client = await aiohttp_client(auth_app())
    resp = await client.get("/secret", headers={"Origin": ORIGIN})
    assert resp.status == 401
    assert await resp.text() == "login first"
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers[ACAC] == "true"
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_middleware_401_for_disallowed_origin_has_no_cors_headers(aiohttp_client):
    client = await aiohttp_client(auth_app())
    resp = await client.get("/secret", headers={"Origin": EVIL})
    assert resp.status == 401
    assert access_control_headers(resp.headers) == []


async def test_authenticated_request_passes_the_middleware_with_cors_headers(aiohttp_client):
    client = await aiohttp_client(auth_app())
    resp = await client.get("/secret", headers={"Origin": ORIGIN, "Cookie": "session=ok"})
    assert resp.status == 200
    assert await resp.text() == "hello"
    assert resp.headers[ACAO] == ORIGIN


# --------------------------------------------------------------------------
# Headers the handler set itself
# --------------------------------------------------------------------------


def self_setting_handler(acao: str, **extra: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="own", headers={ACAO: acao, **extra})

    return handler


@pytest.mark.parametrize("own", ["*", OTHER])
async def test_handler_acao_is_replaced_by_echoed_origin_when_allowed(aiohttp_client, own):
    handler = self_setting_handler(own, **{ACAC: "false"})
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.text() == "own"
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert ACAC not in resp.headers


@pytest.mark.parametrize("own", ["*", OTHER])
async def test_handler_cors_headers_are_left_alone_when_origin_disallowed(aiohttp_client, own):
    # The package adds nothing for a disallowed origin and keeps what the handler
    # decided, as 0.8.1 did.
    handler = self_setting_handler(own, **{ACAC: "false", ACEH: "X-Leak"})
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    resp = await client.get("/r", headers={"Origin": EVIL})
    assert resp.status == 200
    assert await resp.text() == "own"
    assert resp.headers.getall(ACAO) == [own]
    assert resp.headers.getall(ACAC) == ["false"]
    assert resp.headers.getall(ACEH) == ["X-Leak"]
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_handler_cors_headers_are_left_alone_when_origin_absent(aiohttp_client):
    handler = self_setting_handler("*", **{ACAC: "true"})
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    resp = await client.get("/r")
    assert resp.headers.getall(ACAO) == ["*"]
    assert resp.headers.getall(ACAC) == ["true"]
    assert access_control_headers(resp.headers) == [ACAO, ACAC]


async def test_handler_cors_headers_are_left_alone_when_origin_malformed(aiohttp_client):
    handler = self_setting_handler("*")
    client = await aiohttp_client(app_with({"*": ResourceOptions()}, handler=handler))
    resp = await client.get("/r", headers={"Origin": "HTTPS://A.EXAMPLE"})
    assert resp.headers.getall(ACAO) == ["*"]


async def test_handler_acac_false_becomes_true_with_credentials(aiohttp_client):
    handler = self_setting_handler("*", **{ACAC: "false"})
    app = app_with({ORIGIN: ResourceOptions(allow_credentials=True)}, handler=handler)
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACAC) == ["true"]


async def test_handler_expose_headers_replaced_by_configured_names(aiohttp_client):
    handler = self_setting_handler("*", **{ACEH: "X-Handler"})
    app = app_with({ORIGIN: ResourceOptions(expose_headers=("X-Conf",))}, handler=handler)
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers.getall(ACEH) == ["X-Conf"]


async def test_handler_expose_headers_removed_when_none_configured(aiohttp_client):
    handler = self_setting_handler("*", **{ACEH: "X-Handler"})
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers[ACAO] == ORIGIN
    assert ACEH not in resp.headers


async def test_handler_adding_duplicate_acao_lines_ends_with_one(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        resp = web.Response(text="dup")
        resp.headers.add(ACAO, "*")
        resp.headers.add(ACAO, OTHER)
        return resp

    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, handler=handler))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers.getall(ACAO) == [ORIGIN]
    # Not allowed: the handler's lines are left as they are.
    resp = await client.get("/r", headers={"Origin": EVIL})
    assert resp.headers.getall(ACAO) == ["*", OTHER]


# --------------------------------------------------------------------------
# Malformed origins are never reflected
# --------------------------------------------------------------------------

LONG_ORIGIN = "https://" + "a" * 4096 + ".example"

# (Origin lines sent, the origin the refusal text quotes: the first line, as 0.8.1 read it)
MALFORMED = [
    pytest.param([f"{ORIGIN}, {OTHER}"], f"{ORIGIN}, {OTHER}", id="list"),
    pytest.param([ORIGIN, OTHER], ORIGIN, id="two-lines"),
    pytest.param([ORIGIN, ORIGIN], ORIGIN, id="two-equal-lines"),
    pytest.param(["https://a. example"], "https://a. example", id="inner-space"),
    pytest.param(["HTTPS://A.EXAMPLE"], "HTTPS://A.EXAMPLE", id="uppercase"),
    pytest.param(["https://a.example:443"], "https://a.example:443", id="default-port"),
    pytest.param(["https://a.example/x"], "https://a.example/x", id="path"),
    pytest.param(["https://a.example/"], "https://a.example/", id="trailing-slash"),
    pytest.param(["https://a.example?q"], "https://a.example?q", id="query"),
    pytest.param(["https://a.example#f"], "https://a.example#f", id="fragment"),
    pytest.param(["https://u@a.example"], "https://u@a.example", id="userinfo"),
    pytest.param(["*"], "*", id="star"),
]


def star_app(**options: Any) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    resource.add_route("GET", hello)
    resource.add_route("PUT", hello)
    cors.add(resource, {"*": ResourceOptions(**options), ORIGIN: ResourceOptions(**options)})
    return app


@pytest.mark.parametrize(
    "origins",
    [*(case.values[0] for case in MALFORMED), [LONG_ORIGIN]],
    ids=[
        *(case.id for case in MALFORMED),
        "4kb",
    ],
)
async def test_malformed_origin_is_never_reflected_on_actual_request(aiohttp_client, origins):
    client = await aiohttp_client(star_app(allow_methods="*"))
    status, headers, body = await raw_request(
        client, "GET", "/r", [("Origin", origin) for origin in origins]
    )
    assert status == 200
    assert body == b"hello"
    assert access_control_headers(headers) == []
    assert headers.getall("Vary") == ["Origin"]


@pytest.mark.parametrize(("origins", "shown"), MALFORMED)
async def test_malformed_origin_preflight_is_refused_at_the_origin_check(
    aiohttp_client, origins, shown
):
    # "*" would allow any origin: a malformed one is refused all the same.
    client = await aiohttp_client(star_app(allow_methods="*"))
    status, headers, body = await raw_request(
        client, "OPTIONS", "/r", [*(("Origin", o) for o in origins), (ACRM, "GET")]
    )
    assert status == 403
    assert headers["Content-Type"].startswith("text/plain")
    assert access_control_headers(headers) == []
    assert headers.getall("Vary") == ["Origin"]
    assert body.decode("utf-8") == PREFIX + f"origin '{shown}' is not allowed"


@pytest.mark.parametrize(("origins", "shown"), MALFORMED)
async def test_malformed_origin_gets_no_allow_methods_for_the_method_check(
    aiohttp_client, origins, shown
):
    # A malformed origin is never looked up, so no options allow PUT for it: the
    # method check, which comes first, refuses it.
    client = await aiohttp_client(star_app(allow_methods="*"))
    status, headers, body = await raw_request(
        client, "OPTIONS", "/r", [*(("Origin", o) for o in origins), (ACRM, "PUT")]
    )
    assert status == 403
    assert access_control_headers(headers) == []
    assert (
        body.decode("utf-8") == PREFIX + f"request method 'PUT' is not allowed for {shown!r} origin"
    )


async def test_4kb_origin_preflight_refusal_quotes_it_bounded(aiohttp_client):
    client = await aiohttp_client(star_app(allow_methods="*"))
    status, headers, body = await raw_request(
        client, "OPTIONS", "/r", [("Origin", LONG_ORIGIN), (ACRM, "GET")]
    )
    assert status == 403
    assert access_control_headers(headers) == []
    text = body.decode("utf-8")
    assert text.startswith(PREFIX + "origin 'https://aaaaaaaa")
    assert text.endswith("' is not allowed")
    assert len(text) < 1024


async def test_non_ascii_origin_byte_is_refused_at_origin_check_never_500(aiohttp_client):
    client = await aiohttp_client(star_app(allow_methods="*"))
    status, headers, body = await raw_request(
        client, "OPTIONS", "/r", [("Origin", "https://a\xe9.example"), (ACRM, "GET")]
    )
    assert status == 403
    assert access_control_headers(headers) == []
    text = body.decode("utf-8")
    assert text.startswith(PREFIX + "origin 'https://a")
    assert text.endswith(".example' is not allowed")


async def test_non_ascii_origin_byte_is_escaped_in_method_refusal_and_never_reflected(
    aiohttp_client,
):
    client = await aiohttp_client(star_app(allow_methods="*"))
    status, headers, body = await raw_request(
        client, "OPTIONS", "/r", [("Origin", "https://a\xe9.example"), (ACRM, "PUT")]
    )
    assert status == 403
    assert access_control_headers(headers) == []
    # aiohttp decodes the byte with surrogateescape; the reason shows its repr.
    assert (
        body
        == (
            PREFIX + "request method 'PUT' is not allowed for 'https://a\\udce9.example' origin"
        ).encode()
    )
    status, headers, body = await raw_request(
        client, "GET", "/r", [("Origin", "https://a\xe9.example")]
    )
    assert status == 200
    assert body == b"hello"
    assert access_control_headers(headers) == []


@pytest.mark.parametrize("origin", ["https://a.example.", "https://a.example:0"])
async def test_origins_the_url_standard_allows_are_reflected(aiohttp_client, origin):
    # A trailing-dot host and port 0 are valid serialized origins, as 0.8.1 saw them.
    client = await aiohttp_client(star_app())
    resp = await client.get("/r", headers={"Origin": origin})
    assert resp.headers.getall(ACAO) == [origin]
    pre = await client.options("/r", headers={"Origin": origin, ACRM: "GET"})
    assert pre.status == 200
    assert pre.headers.getall(ACAO) == [origin]


async def test_control_byte_in_origin_never_reaches_the_application(aiohttp_client):
    client = await aiohttp_client(star_app(allow_methods="*"))
    status, headers, _ = await raw_request(
        client, "GET", "/r", [("Origin", "https://a\x01.example")]
    )
    assert status == 400  # aiohttp's parser refuses it before any handler runs
    assert access_control_headers(headers) == []


async def test_null_origin_not_matched_by_star(aiohttp_client):
    client = await aiohttp_client(star_app())
    resp = await client.get("/r", headers={"Origin": "null"})
    assert resp.status == 200
    assert ACAO not in resp.headers
    pre = await client.options("/r", headers={"Origin": "null", ACRM: "GET"})
    assert pre.status == 403
    assert await pre.text() == PREFIX + "origin 'null' is not allowed"


async def test_null_origin_matched_when_listed_explicitly(aiohttp_client):
    client = await aiohttp_client(app_with({"null": ResourceOptions()}))
    resp = await client.get("/r", headers={"Origin": "null"})
    assert resp.headers.getall(ACAO) == ["null"]


# --------------------------------------------------------------------------
# Credentials never with "*"
# --------------------------------------------------------------------------


def credentials_star_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            text="x", headers={"X-Custom": "1", "X-Other": "2", "Cache-Control": "no-store"}
        )

    with pytest.warns(aiohttp_cors.CorsSecurityWarning):
        app = web.Application()
        cors = aiohttp_cors.setup(
            app,
            defaults={
                "*": ResourceOptions(
                    allow_credentials=True,
                    allow_headers="*",
                    expose_headers="*",
                    allow_methods="*",
                )
            },
        )
    resource = app.router.add_resource("/r")
    resource.add_route("GET", handler)
    resource.add_route("DELETE", handler)
    cors.add(resource)
    return app


async def test_credentials_with_star_preflight_never_sends_star(aiohttp_client):
    client = await aiohttp_client(credentials_star_app())
    resp = await client.options(
        "/r",
        headers={"Origin": OTHER, ACRM: "DELETE", ACRH: "X-Token, Authorization"},
    )
    assert resp.status == 200
    assert resp.headers.getall(ACAO) == [OTHER]
    assert resp.headers.getall(ACAC) == ["true"]
    assert resp.headers.getall(ACAM) == ["DELETE"]
    assert resp.headers.getall(ACAH) == ["X-TOKEN,AUTHORIZATION"]
    for name, value in resp.headers.items():
        assert "*" not in value, (name, value)


async def test_credentials_with_star_actual_response_lists_real_expose_names(aiohttp_client):
    client = await aiohttp_client(credentials_star_app())
    resp = await client.get("/r", headers={"Origin": OTHER})
    assert resp.status == 200
    assert resp.headers.getall(ACAO) == [OTHER]
    assert resp.headers.getall(ACAC) == ["true"]
    # The response's own headers at prepare time, in order, minus 0.8.1's simple
    # response headers (Cache-Control, Content-Type here); Vary is added afterwards.
    assert resp.headers.getall(ACEH) == ["X-Custom,X-Other,Content-Length,Date,Server"]
    for name, value in resp.headers.items():
        assert "*" not in value, (name, value)


async def test_expose_star_without_credentials_lists_names_not_star(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"x", headers={"Cache-Control": "no-store"})

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/r", handler), {ORIGIN: ResourceOptions(expose_headers="*")})
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers.getall(ACEH) == ["Content-Length,Date,Server"]


async def test_expose_star_is_sent_even_when_no_name_is_left(aiohttp_client):
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=204, headers={"Cache-Control": "no-store"})

    async def strip(request: web.Request, response: web.StreamResponse) -> None:
        for name in ("Date", "Server"):
            response.headers.pop(name, None)

    app = web.Application()
    app.on_response_prepare.append(strip)  # runs before the package's receiver
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/r", handler), {ORIGIN: ResourceOptions(expose_headers="*")})
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.status == 204
    assert resp.headers[ACAO] == ORIGIN
    # Only Cache-Control was left, one of 0.8.1's simple response headers.
    assert resp.headers.getall(ACEH) == [""]


async def test_configured_expose_headers_are_sorted(aiohttp_client):
    options = ResourceOptions(expose_headers=["X-Zeta", "X-Alpha", "A-First"])
    client = await aiohttp_client(app_with({ORIGIN: options}))
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers.getall(ACEH) == ["A-First,X-Alpha,X-Zeta"]


# --------------------------------------------------------------------------
# Origin keys beyond exact strings
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://a.example.com", True),
        ("https://a.b.example.com", True),
        ("https://example.com", False),
        ("https://evil-example.com", False),
        ("https://example.com.evil.net", False),
        ("https://a.example.com.evil.net", False),
        ("http://a.example.com", False),
        ("https://a.example.com:8443", False),
    ],
)
async def test_glob_subdomain_origin_key(aiohttp_client, origin, allowed):
    client = await aiohttp_client(app_with({"https://*.example.com": ResourceOptions()}))
    resp = await client.get("/r", headers={"Origin": origin})
    assert resp.status == 200
    if allowed:
        assert resp.headers.getall(ACAO) == [origin]
    else:
        assert ACAO not in resp.headers
    pre = await client.options("/r", headers={"Origin": origin, ACRM: "GET"})
    if allowed:
        assert pre.status == 200
        assert pre.headers[ACAO] == origin
    else:
        assert pre.status == 403
        assert await pre.text() == PREFIX + f"origin '{origin}' is not allowed"


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("http://localhost:3000", True),
        ("http://localhost:8080", True),
        ("http://localhost", True),
        ("https://localhost:3000", False),
        ("http://localhost.evil.net:3000", False),
        ("http://127.0.0.1:3000", False),
    ],
)
async def test_glob_any_port_origin_key(aiohttp_client, origin, allowed):
    client = await aiohttp_client(app_with({"http://localhost:*": ResourceOptions()}))
    resp = await client.get("/r", headers={"Origin": origin})
    if allowed:
        assert resp.headers.getall(ACAO) == [origin]
    else:
        assert ACAO not in resp.headers


async def test_regex_origin_key_uses_fullmatch(aiohttp_client):
    pattern = re.compile(r"https://(app|admin)\.example\.org")
    client = await aiohttp_client(app_with({pattern: ResourceOptions()}))
    for origin in ("https://app.example.org", "https://admin.example.org"):
        resp = await client.get("/r", headers={"Origin": origin})
        assert resp.headers[ACAO] == origin
    for origin in ("https://app.example.org.evil.net", "https://xapp.example.org"):
        resp = await client.get("/r", headers={"Origin": origin})
        assert ACAO not in resp.headers, origin


async def test_regex_never_sees_malformed_origin(aiohttp_client):
    pattern = re.compile(r".*")
    client = await aiohttp_client(app_with({pattern: ResourceOptions()}))
    status, headers, _ = await raw_request(
        client, "GET", "/r", [("Origin", "https://a.example/path")]
    )
    assert status == 200
    assert ACAO not in headers


async def test_literal_origin_is_not_a_regex(aiohttp_client):
    client = await aiohttp_client(app_with({"https://a.example": ResourceOptions()}))
    resp = await client.get("/r", headers={"Origin": "https://aXexample"})
    assert ACAO not in resp.headers


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_callable_origin_key_called_once_per_request(aiohttp_client, kind):
    calls: list[str] = []

    def sync_check(origin: str) -> bool:
        calls.append(origin)
        return origin.endswith(".tenant.example")

    async def async_check(origin: str) -> bool:
        await asyncio.sleep(0)
        return sync_check(origin)

    check = sync_check if kind == "sync" else async_check
    app = app_with({check: ResourceOptions(allow_methods=("PUT",))}, methods=("GET", "PUT"))
    client = await aiohttp_client(app)

    resp = await client.get("/r", headers={"Origin": "https://t1.tenant.example"})
    assert resp.headers[ACAO] == "https://t1.tenant.example"
    assert calls == ["https://t1.tenant.example"]

    calls.clear()
    resp = await client.get("/r", headers={"Origin": EVIL})
    assert ACAO not in resp.headers
    assert calls == [EVIL]

    calls.clear()
    resp = await client.options("/r", headers={"Origin": "https://t2.tenant.example", ACRM: "GET"})
    assert resp.status == 200
    assert resp.headers[ACAO] == "https://t2.tenant.example"
    assert calls == ["https://t2.tenant.example"]

    # PUT needs the predicate's allow_methods (method check) and then its origin
    # check: the verdict is remembered, so the predicate is asked once.
    calls.clear()
    resp = await client.options("/r", headers={"Origin": "https://t3.tenant.example", ACRM: "PUT"})
    assert resp.status == 200
    assert resp.headers[ACAO] == "https://t3.tenant.example"
    assert calls == ["https://t3.tenant.example"]

    # Verdicts, refusals included, are remembered for a short time: no new call.
    calls.clear()
    resp = await client.options("/r", headers={"Origin": EVIL, ACRM: "GET"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + f"origin '{EVIL}' is not allowed"
    assert calls == []

    other = "https://other.example"
    resp = await client.options("/r", headers={"Origin": other, ACRM: "PUT"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + f"request method 'PUT' is not allowed for {other!r} origin"
    assert calls == [other]

    calls.clear()
    await client.get("/r")
    assert calls == []


async def test_callable_not_consulted_for_exact_origin(aiohttp_client):
    calls: list[str] = []

    def check(origin: str) -> bool:
        calls.append(origin)
        return False

    app = app_with({ORIGIN: ResourceOptions(), check: ResourceOptions()})
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers[ACAO] == ORIGIN
    assert calls == []


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_raising_predicate_refuses_and_never_500s(aiohttp_client, kind):
    def sync_boom(origin: str) -> bool:
        raise RuntimeError("database down")

    async def async_boom(origin: str) -> bool:
        raise RuntimeError("database down")

    boom = sync_boom if kind == "sync" else async_boom
    app = app_with({boom: ResourceOptions(allow_methods=("PUT",))}, methods=("GET", "PUT"))
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.text() == "hello"
    assert access_control_headers(resp.headers) == []
    pre = await client.options("/r", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert pre.status == 403
    assert await pre.text() == PREFIX + f"origin '{ORIGIN}' is not allowed"
    assert access_control_headers(pre.headers) == []
    # For PUT the failing predicate gives no allow_methods: refused at the method check.
    pre = await client.options("/r", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert pre.status == 403
    assert await pre.text() == PREFIX + f"request method 'PUT' is not allowed for {ORIGIN!r} origin"
    assert access_control_headers(pre.headers) == []


async def test_head_route_registered_by_add_get_follows_the_get_config(aiohttp_client):
    """add_get() also registers HEAD; enabling the GET route covers it (as in 0.8.1)."""
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(
        app.router.add_get("/simple", _ok_handler_for_head),
        {"https://a.example": aiohttp_cors.ResourceOptions(expose_headers=("X-A",))},
    )
    client = await aiohttp_client(app)
    resp = await client.head("/simple", headers={"Origin": "https://a.example"})
    assert resp.status == 200
    assert resp.headers.getall("Access-Control-Allow-Origin") == ["https://a.example"]
    assert resp.headers["Access-Control-Expose-Headers"] == "X-A"
    assert resp.headers["Vary"] == "Origin"
    pre = await client.options(
        "/simple",
        headers={"Origin": "https://a.example", "Access-Control-Request-Method": "HEAD"},
    )
    assert pre.status == 200
    assert pre.headers["Access-Control-Allow-Methods"] == "HEAD"


async def _ok_handler_for_head(request: web.Request) -> web.Response:
    return web.Response(text="ok")
