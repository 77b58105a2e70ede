"""Preflight requests (OPTIONS + Origin + Access-Control-Request-Method) over HTTP.

Covers the answers and refusals aiohttp-cors 0.8.1 sent (its texts and its order of
checks: origin present, method requested, method allowed, any origin configured, origin
allowed, headers allowed), the preflight's place in front of application middleware and
handlers, the OPTIONS routes added at start-up, the Fetch rules on the requested method
and headers (byte-exact methods, GET/HEAD/POST always allowed, tokens only) and the bounds
on hostile input.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cors_names import (
    ACAC,
    ACAH,
    ACAM,
    ACAO,
    ACAPN,
    ACEH,
    ACMA,
    ACRH,
    ACRM,
    EVIL,
    METHOD_MISSING,
    NO_ORIGINS,
    ORIGIN,
    ORIGIN_MISSING,
    PREFIX,
    PREFLIGHT_VARY,
    access_control_headers,
    headers_not_allowed,
    method_not_allowed,
    origin_not_allowed,
)
from multidict import CIMultiDict

import aiohttp_cors
from aiohttp_cors import ResourceOptions

Handler = Any


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def app_with(
    config: dict[Any, Any] | None = None,
    *,
    methods: tuple[str, ...] = ("GET", "PUT"),
    path: str = "/r",
    add: str = "routes",
) -> web.Application:
    """A resource serving ``methods``, CORS-enabled route by route or as a whole.

    ``add="routes"`` passes every route to ``cors.add()`` (0.8.1's usual loop), so
    each served method passes the preflight method check; ``add="resource"`` passes
    the resource, so only GET/HEAD/POST and what ``allow_methods`` allows pass.
    """
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource(path)
    routes = [resource.add_route(method, hello) for method in methods]
    if add == "resource":
        cors.add(resource, config)
    else:
        for route in routes:
            cors.add(route, config)
    return app


async def assert_refused(resp: Any, reason: str, *, vary: str | None = "Origin") -> None:
    """A refusal: 403, text/plain, the exact reason, no Access-Control-* header at all."""
    assert resp.status == 403
    assert resp.content_type == "text/plain"
    assert await resp.text() == PREFIX + reason
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary", []) == ([] if vary is None else [vary])


async def assert_refused_bounded(resp: Any, start: str, end: str = "") -> str:
    """A refusal whose reason quotes hostile input: it starts as 0.8.1's, and stays short."""
    assert resp.status == 403
    assert resp.content_type == "text/plain"
    assert access_control_headers(resp.headers) == []
    text = await resp.text()
    assert text.startswith(PREFIX + start)
    assert text.endswith(end)
    assert len(text) < 2048
    return text


def preflight(
    client: Any, method: str = "PUT", path: str = "/r", origin: str | None = ORIGIN, **more: str
) -> Any:
    headers = {ACRM: method}
    if origin is not None:
        headers["Origin"] = origin
    for name, value in more.items():
        headers[name.replace("_", "-")] = value
    return client.options(path, headers=headers)


# --------------------------------------------------------------------------
# Successful preflights
# --------------------------------------------------------------------------


async def test_successful_preflight_exact_headers_and_empty_body(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions(allow_headers=("X-Token", "X-Other"))})
    client = await aiohttp_client(app)
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-Token, X-OTHER")
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACAM) == ["PUT"]
    assert resp.headers.getall(ACAH) == ["X-TOKEN,X-OTHER"]
    assert resp.headers.getall("Vary") == [PREFLIGHT_VARY]
    assert ACAC not in resp.headers
    assert ACMA not in resp.headers
    assert ACEH not in resp.headers
    assert ACAPN not in resp.headers


async def test_successful_preflight_headers_in_0_8_1_order(aiohttp_client):
    options = ResourceOptions(allow_credentials=True, max_age=10, allow_headers="*")
    client = await aiohttp_client(app_with({ORIGIN: options}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-A")
    assert resp.status == 200
    assert access_control_headers(resp.headers) == [ACAO, ACAC, ACMA, ACAM, ACAH]


async def test_preflight_without_request_headers_has_no_allow_headers(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers="*")}))
    resp = await preflight(client, "PUT")
    assert resp.status == 200
    assert ACAH not in resp.headers
    assert resp.headers[ACAM] == "PUT"
    assert resp.headers.getall("Vary") == [PREFLIGHT_VARY]


async def test_preflight_with_credentials_sends_allow_credentials_true(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_credentials=True)}))
    resp = await preflight(client, "PUT")
    assert resp.status == 200
    assert resp.headers.getall(ACAC) == ["true"]


async def test_preflight_matched_by_star_echoes_origin(aiohttp_client):
    client = await aiohttp_client(app_with({"*": ResourceOptions()}))
    resp = await preflight(client, "PUT", origin=EVIL)
    assert resp.status == 200
    assert resp.headers.getall(ACAO) == [EVIL]


@pytest.mark.parametrize(("max_age", "expected"), [(0, "0"), (3600, "3600"), (None, None)])
async def test_max_age_is_sent_only_when_configured(aiohttp_client, max_age, expected):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(max_age=max_age)}))
    resp = await preflight(client, "PUT")
    assert resp.status == 200
    if expected is None:
        assert ACMA not in resp.headers
    else:
        assert resp.headers.getall(ACMA) == [expected]


async def test_actual_response_never_carries_preflight_headers(aiohttp_client):
    options = ResourceOptions(max_age=60, allow_headers="*", allow_methods="*")
    client = await aiohttp_client(app_with({ORIGIN: options}))
    resp = await client.put("/r", headers={"Origin": ORIGIN})
    assert resp.headers[ACAO] == ORIGIN
    for name in (ACAM, ACAH, ACMA, ACAPN):
        assert name not in resp.headers


async def test_allow_headers_deduplicated_uppercased_in_request_order(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers="*")}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-B,x-a, X-B ,,X-A,  x-c")
    assert resp.status == 200
    assert resp.headers[ACAH] == "X-B,X-A,X-C"


async def test_several_request_headers_lines_are_joined(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers=("X-A", "X-B"))}))
    headers = CIMultiDict([("Origin", ORIGIN), (ACRM, "PUT"), (ACRH, "X-A"), (ACRH, "X-B")])
    resp = await client.session.request("OPTIONS", client.make_url("/r"), headers=headers)
    assert resp.status == 200
    assert resp.headers.getall(ACAH) == ["X-A,X-B"]


async def test_several_request_headers_lines_refused_by_any_name(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers=("X-A",))}))
    headers = CIMultiDict([("Origin", ORIGIN), (ACRM, "PUT"), (ACRH, "X-A"), (ACRH, "X-B")])
    resp = await client.session.request("OPTIONS", client.make_url("/r"), headers=headers)
    await assert_refused(resp, headers_not_allowed("X-B"))


async def test_preflight_for_route_added_individually(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, add="routes"))
    resp = await preflight(client, "PUT")
    assert resp.status == 200
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers[ACAM] == "PUT"


async def test_preflight_uses_config_of_route_serving_requested_method(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    # The first route added also gives the resource its config.
    cors.add(resource.add_route("GET", hello), {ORIGIN: ResourceOptions(max_age=1)})
    cors.add(resource.add_route("PUT", hello), {ORIGIN: ResourceOptions(max_age=2)})
    cors.add(resource.add_route("DELETE", hello), {EVIL: ResourceOptions(max_age=3)})
    client = await aiohttp_client(app)
    assert (await preflight(client, "GET")).headers[ACMA] == "1"
    assert (await preflight(client, "PUT")).headers[ACMA] == "2"
    assert (await preflight(client, "DELETE", origin=EVIL)).headers[ACMA] == "3"
    # DELETE's own config does not name ORIGIN: the resource's config answers it
    # (origins are looked up through the layers, never refused by the first one).
    resp = await preflight(client, "DELETE")
    assert resp.status == 200
    assert resp.headers[ACMA] == "1"
    assert resp.headers[ACAM] == "DELETE"


async def test_preflight_is_answered_although_router_would_answer_405(aiohttp_client):
    # The application has no OPTIONS route: without the package the router answers 405.
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, methods=("GET",)))
    resp = await preflight(client, "GET")
    assert resp.status == 200
    assert resp.headers[ACAM] == "GET"


async def test_preflight_for_head_of_add_get_route(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_get("/r", hello), {ORIGIN: ResourceOptions()})
    client = await aiohttp_client(app)
    resp = await preflight(client, "HEAD")
    assert resp.status == 200
    assert resp.headers[ACAM] == "HEAD"


def split_resources_app(**options: Any) -> web.Application:
    """GET /a, GET /b, PUT /a: aiohttp makes two resources for /a (routes not adjacent)."""
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(**options)})
    app.router.add_get("/a", hello, allow_head=False)
    app.router.add_get("/b", hello, allow_head=False)
    app.router.add_put("/a", hello)
    for route in list(app.router.routes()):
        cors.add(route)
    return app


async def test_actual_request_to_second_resource_with_same_path(aiohttp_client):
    client = await aiohttp_client(split_resources_app())
    assert len([r for r in client.app.router.resources() if r.canonical == "/a"]) == 2
    resp = await client.put("/a", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert resp.headers[ACAO] == ORIGIN


async def test_preflight_to_path_of_two_resources_is_answered_by_the_first(aiohttp_client):
    # OPTIONS /a routes to the first /a resource (GET); its PUT is not one of its
    # routes, so PUT passes only if the options allow it, as in 0.8.1.
    client = await aiohttp_client(split_resources_app())
    await assert_refused(await preflight(client, "PUT", path="/a"), method_not_allowed("PUT"))
    resp = await preflight(client, "GET", path="/a")
    assert resp.status == 200
    assert resp.headers[ACAM] == "GET"


async def test_preflight_to_path_of_two_resources_with_allow_methods(aiohttp_client):
    client = await aiohttp_client(split_resources_app(allow_methods=["PUT"]))
    resp = await preflight(client, "PUT", path="/a")
    assert resp.status == 200
    assert resp.headers[ACAM] == "PUT"


async def test_preflight_to_dynamic_resource(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, path="/items/{id}"))
    resp = await preflight(client, "PUT", path="/items/42")
    assert resp.status == 200
    assert resp.headers[ACAO] == ORIGIN


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/", "/"),
        ("/r/", "/r/"),
        ("/{name}", "/abc"),
        ("/v{version}/items", "/v2/items"),
        ("/files/{tail:.*}", "/files/a/b/c.txt"),
        ("/items/{id}/parts/{part}", "/items/1/parts/2"),
        ("/items/{id}", "/items/a%2Fb"),
        ("/deep/er/path", "/deep/er/path"),
    ],
)
async def test_preflight_found_for_resource_shapes(aiohttp_client, pattern, path):
    app = app_with({ORIGIN: ResourceOptions()}, path=pattern)
    client = await aiohttp_client(app)
    resp = await preflight(client, "PUT", path=path)
    assert resp.status == 200
    assert resp.headers[ACAM] == "PUT"
    await assert_refused(await preflight(client, "DELETE", path=path), method_not_allowed("DELETE"))


def sibling_app() -> web.Application:
    """PUT /items/special (no CORS) registered before PUT /items/{id} (CORS-enabled)."""

    async def special(request: web.Request) -> web.Response:
        return web.Response(text="special")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    app.router.add_put("/items/special", special)
    cors.add(app.router.add_put("/items/{id}", hello), {ORIGIN: ResourceOptions()})
    return app


async def test_preflight_to_enabled_resource_next_to_disabled_sibling(aiohttp_client):
    client = await aiohttp_client(sibling_app())
    resp = await preflight(client, "PUT", path="/items/42")
    assert resp.status == 200
    actual = await client.put("/items/special", headers={"Origin": ORIGIN})
    assert await actual.text() == "special"
    assert access_control_headers(actual.headers) == []
    assert "Vary" not in actual.headers


async def test_preflight_to_path_of_disabled_sibling_is_answered_by_resource_it_routes_to(
    aiohttp_client,
):
    # /items/special has no OPTIONS route: OPTIONS /items/special routes to the
    # OPTIONS route of /items/{id}, which answers with its config, as in 0.8.1.
    client = await aiohttp_client(sibling_app())
    resp = await preflight(client, "PUT", path="/items/special")
    assert resp.status == 200
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers[ACAM] == "PUT"
    await assert_refused(
        await preflight(client, "PUT", path="/items/special", origin=EVIL), origin_not_allowed(EVIL)
    )


async def test_preflight_to_route_without_cors_is_not_answered(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    cors.add(app.router.add_get("/on", hello))
    app.router.add_put("/off", hello)
    client = await aiohttp_client(app)
    resp = await preflight(client, "PUT", path="/off")
    assert resp.status == 405
    assert access_control_headers(resp.headers) == []


async def test_preflight_to_unknown_path_is_a_plain_404(aiohttp_client):
    client = await aiohttp_client(app_with({"*": ResourceOptions()}))
    resp = await preflight(client, "PUT", path="/nowhere")
    assert resp.status == 404
    assert access_control_headers(resp.headers) == []


# --------------------------------------------------------------------------
# Refusals: 0.8.1's reasons, in 0.8.1's order
# --------------------------------------------------------------------------


async def test_refusal_origin_missing(aiohttp_client):
    client = await aiohttp_client(app_with({"*": ResourceOptions()}))
    resp = await preflight(client, "PUT", origin=None)
    await assert_refused(resp, ORIGIN_MISSING)


async def test_refusal_request_method_missing(aiohttp_client):
    client = await aiohttp_client(app_with({"*": ResourceOptions()}))
    resp = await client.options("/r", headers={"Origin": ORIGIN})
    await assert_refused(resp, METHOD_MISSING)


async def test_plain_options_without_origin_to_enabled_resource(aiohttp_client):
    client = await aiohttp_client(app_with({"*": ResourceOptions()}))
    resp = await client.options("/r")
    await assert_refused(resp, ORIGIN_MISSING)


async def test_refusal_origin_not_allowed(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_credentials=True)}))
    resp = await preflight(client, "PUT", origin=EVIL)
    await assert_refused(resp, origin_not_allowed(EVIL))


async def test_refusal_no_origins_are_allowed(aiohttp_client):
    client = await aiohttp_client(app_with(None))
    await assert_refused(await preflight(client, "GET"), NO_ORIGINS)
    await assert_refused(await preflight(client, "PUT"), NO_ORIGINS)


async def test_refusal_method_not_allowed(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, methods=("GET",)))
    resp = await preflight(client, "DELETE")
    await assert_refused(resp, method_not_allowed("DELETE"))


async def test_refusal_headers_not_allowed_names_them_in_request_order(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers=("X-Ok",))}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-Bad, X-Ok, X-Worse")
    await assert_refused(resp, headers_not_allowed("X-BAD", "X-WORSE"))


async def test_refusal_headers_not_allowed_lists_every_refused_name(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}))
    names = [f"x-h{i}" for i in range(12)]
    resp = await preflight(client, "PUT", Access_Control_Request_Headers=", ".join(names))
    await assert_refused(resp, headers_not_allowed(*(name.upper() for name in names)))


async def test_header_name_that_is_not_a_token_is_echoed_as_0_8_1_did(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers="*")}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-A, x(b)")
    assert resp.status == 200
    assert resp.headers[ACAH] == "X-A,X(B)"


async def test_refusal_star_in_requested_headers(aiohttp_client):
    # "*" echoed in Access-Control-Allow-Headers would read as a wildcard.
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers="*")}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-A, *")
    await assert_refused(resp, headers_not_allowed("*"))


async def test_refusal_checks_method_before_origin_and_headers(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, methods=("GET",)))
    resp = await preflight(client, "DELETE", origin=EVIL, Access_Control_Request_Headers="X-No")
    await assert_refused(resp, method_not_allowed("DELETE", EVIL))


async def test_refusal_checks_origin_before_headers(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}))
    resp = await preflight(client, "PUT", origin=EVIL, Access_Control_Request_Headers="X-No")
    await assert_refused(resp, origin_not_allowed(EVIL))


async def test_refusal_checks_method_before_headers(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, methods=("GET",)))
    resp = await preflight(client, "DELETE", Access_Control_Request_Headers="X-No")
    await assert_refused(resp, method_not_allowed("DELETE"))


async def test_method_of_unknown_origin_passes_when_its_route_was_added(aiohttp_client):
    # The method check comes first; a route passed to add() passes it for any
    # origin, and the origin check then refuses the unknown origin.
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, add="routes"))
    await assert_refused(await preflight(client, "PUT", origin=EVIL), origin_not_allowed(EVIL))
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, add="resource"))
    await assert_refused(
        await preflight(client, "PUT", origin=EVIL), method_not_allowed("PUT", EVIL)
    )


@pytest.mark.parametrize(
    "method", ["PUT DELETE", "PU(T", "PUT,DELETE", "*"], ids=["space", "paren", "comma", "star"]
)
async def test_request_method_that_is_not_a_token_is_refused_not_echoed(aiohttp_client, method):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_methods="*")}))
    resp = await client.options("/r", headers={"Origin": ORIGIN, ACRM: method})
    await assert_refused(resp, method_not_allowed(method))


async def test_first_of_several_request_method_lines_counts(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}, methods=("GET", "PUT")))
    headers = CIMultiDict([("Origin", ORIGIN), (ACRM, "PUT"), (ACRM, "DELETE")])
    resp = await client.session.request("OPTIONS", client.make_url("/r"), headers=headers)
    assert resp.status == 200
    assert resp.headers.getall(ACAM) == ["PUT"]
    headers = CIMultiDict([("Origin", ORIGIN), (ACRM, "DELETE"), (ACRM, "PUT")])
    resp = await client.session.request("OPTIONS", client.make_url("/r"), headers=headers)
    await assert_refused(resp, method_not_allowed("DELETE"))


async def test_empty_request_method_is_refused(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_methods="*")}))
    resp = await client.options("/r", headers={"Origin": ORIGIN, ACRM: ""})
    await assert_refused(resp, method_not_allowed(""))


async def test_empty_request_method_refused_without_star(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}))
    resp = await client.options("/r", headers={"Origin": ORIGIN, ACRM: ""})
    await assert_refused(resp, method_not_allowed(""))


# --------------------------------------------------------------------------
# The OPTIONS routes the package adds; application OPTIONS handlers and "*" routes
# --------------------------------------------------------------------------


def recording_app(seen: list[str]) -> web.Application:
    """A resource (GET, PUT) added to CORS behind a middleware that records requests."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        seen.append(f"{request.method} {request.headers.get(ACRM, '-')}")
        return await handler(request)

    app = web.Application(middlewares=[record])
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    resource.add_route("GET", hello)
    resource.add_route("PUT", hello)
    cors.add(resource, {ORIGIN: ResourceOptions(allow_methods=["PUT"])})
    return app


async def test_plain_options_reaches_added_route_through_application_middleware(aiohttp_client):
    seen: list[str] = []
    client = await aiohttp_client(recording_app(seen))
    await assert_refused(await client.options("/r"), ORIGIN_MISSING)
    await assert_refused(await client.options("/r", headers={"Origin": ORIGIN}), METHOD_MISSING)
    assert seen == ["OPTIONS -", "OPTIONS -"]


async def test_preflight_is_answered_before_application_middleware(aiohttp_client):
    seen: list[str] = []
    client = await aiohttp_client(recording_app(seen))
    assert (await preflight(client, "PUT")).status == 200
    await assert_refused(await preflight(client, "GET", origin=EVIL), origin_not_allowed(EVIL))
    assert seen == []


async def test_options_route_is_added_at_start_up_only(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    resource.add_route("GET", hello)
    cors.add(resource, {ORIGIN: ResourceOptions()})
    assert [route.method for route in resource] == ["GET"]
    client = await aiohttp_client(app)
    assert sorted(route.method for route in resource) == ["GET", "OPTIONS"]
    resp = await client.delete("/r")
    assert resp.status == 405
    assert set(resp.headers["Allow"].split(",")) == {"GET", "OPTIONS"}


def own_options_app(*, options_first: bool = True) -> tuple[web.Application, list[str]]:
    seen: list[str] = []

    async def options(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Origin", "-"))
        return web.Response(status=204, headers={"Allow": "GET, OPTIONS", "X-Own": "yes"})

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    resource.add_route("GET", hello)
    if options_first:
        resource.add_route("OPTIONS", options)
    cors.add(resource, {ORIGIN: ResourceOptions(allow_headers=("X-Token",))})
    if not options_first:
        resource.add_route("OPTIONS", options)  # after add(): no clash either
    return app, seen


@pytest.mark.parametrize("options_first", [True, False], ids=["before-add", "after-add"])
async def test_plain_options_reaches_application_options_handler(aiohttp_client, options_first):
    app, seen = own_options_app(options_first=options_first)
    client = await aiohttp_client(app)
    resp = await client.options("/r")
    assert resp.status == 204
    assert resp.headers["Allow"] == "GET, OPTIONS"
    assert resp.headers["X-Own"] == "yes"
    assert seen == ["-"]


async def test_options_with_origin_but_no_request_method_reaches_handler(aiohttp_client):
    app, seen = own_options_app()
    client = await aiohttp_client(app)
    resp = await client.options("/r", headers={"Origin": ORIGIN})
    assert resp.status == 204
    assert resp.headers["X-Own"] == "yes"
    # An actual OPTIONS request to an enabled resource: decorated like any response.
    assert resp.headers[ACAO] == ORIGIN
    assert seen == [ORIGIN]


@pytest.mark.parametrize("options_first", [True, False], ids=["before-add", "after-add"])
async def test_preflight_never_reaches_application_options_handler(aiohttp_client, options_first):
    app, seen = own_options_app(options_first=options_first)
    client = await aiohttp_client(app)
    resp = await preflight(client, "GET", Access_Control_Request_Headers="X-Token")
    assert resp.status == 200
    assert await resp.read() == b""
    assert "X-Own" not in resp.headers
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers[ACAH] == "X-TOKEN"
    assert seen == []
    await assert_refused(await preflight(client, "GET", origin=EVIL), origin_not_allowed(EVIL))
    assert seen == []


def star_route_app(**options: Any) -> web.Application:
    async def any_method(request: web.Request) -> web.Response:
        return web.Response(text=f"any:{request.method}")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_route("*", "/any", any_method), {ORIGIN: ResourceOptions(**options)})
    return app


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_star_route_actual_requests_get_cors_headers(aiohttp_client, method):
    client = await aiohttp_client(star_route_app())
    resp = await client.request(method, "/any", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.text() == f"any:{method}"
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_star_route_preflight_is_answered(aiohttp_client):
    client = await aiohttp_client(star_route_app(allow_methods="*"))
    resp = await preflight(client, "PUT", path="/any")
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers[ACAM] == "PUT"
    # allow_methods is ORIGIN's: an unknown origin is refused at the method check,
    # and at the origin check for GET.
    await assert_refused(
        await preflight(client, "PUT", path="/any", origin=EVIL), method_not_allowed("PUT", EVIL)
    )
    await assert_refused(
        await preflight(client, "GET", path="/any", origin=EVIL), origin_not_allowed(EVIL)
    )


async def test_star_route_is_not_a_route_for_each_method_in_the_method_check(aiohttp_client):
    # A "*" route is recorded under "*": other than GET/HEAD/POST, a method passes
    # the preflight only if allow_methods allows it.
    client = await aiohttp_client(star_route_app())
    assert (await preflight(client, "GET", path="/any")).status == 200
    await assert_refused(await preflight(client, "PUT", path="/any"), method_not_allowed("PUT"))


async def test_star_route_plain_options_reaches_handler(aiohttp_client):
    client = await aiohttp_client(star_route_app())
    resp = await client.options("/any")
    assert resp.status == 200
    assert await resp.text() == "any:OPTIONS"


# --------------------------------------------------------------------------
# Method check: GET/HEAD/POST always, then allow_methods or routes passed to add()
# --------------------------------------------------------------------------


@pytest.mark.parametrize("add", ["resource", "routes"])
async def test_lowercase_request_method_does_not_match_uppercase_allow_method(aiohttp_client, add):
    app = app_with({ORIGIN: ResourceOptions(allow_methods=["PATCH"])}, methods=("PATCH",), add=add)
    client = await aiohttp_client(app)
    await assert_refused(await preflight(client, "patch"), method_not_allowed("patch"))
    resp = await preflight(client, "PATCH")
    assert resp.status == 200
    assert resp.headers[ACAM] == "PATCH"


async def test_lowercase_configured_method_is_uppercased(aiohttp_client):
    app = app_with(
        {ORIGIN: ResourceOptions(allow_methods=["patch"])}, methods=("GET",), add="resource"
    )
    client = await aiohttp_client(app)
    assert (await preflight(client, "PATCH")).status == 200
    await assert_refused(await preflight(client, "patch"), method_not_allowed("patch"))


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
@pytest.mark.parametrize("add", ["resource", "routes"])
async def test_safelisted_methods_always_pass_method_check(aiohttp_client, method, add):
    app = app_with({ORIGIN: ResourceOptions(allow_methods=["PUT"])}, methods=("PUT",), add=add)
    client = await aiohttp_client(app)
    resp = await preflight(client, method)
    assert resp.status == 200
    assert resp.headers[ACAM] == method


async def test_method_outside_allow_methods_is_refused_even_if_served(aiohttp_client):
    app = app_with(
        {ORIGIN: ResourceOptions(allow_methods=["PUT"])}, methods=("PUT", "DELETE"), add="resource"
    )
    client = await aiohttp_client(app)
    assert (await preflight(client, "PUT")).status == 200
    await assert_refused(await preflight(client, "DELETE"), method_not_allowed("DELETE"))


async def test_method_whose_route_was_added_passes_outside_allow_methods(aiohttp_client):
    app = app_with(
        {ORIGIN: ResourceOptions(allow_methods=["PUT"])}, methods=("PUT", "DELETE"), add="routes"
    )
    client = await aiohttp_client(app)
    resp = await preflight(client, "DELETE")
    assert resp.status == 200
    assert resp.headers[ACAM] == "DELETE"


async def test_allow_methods_none_with_resource_added_allows_only_get_head_post(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions()}, methods=("GET", "PUT", "PATCH"), add="resource")
    client = await aiohttp_client(app)
    for method in ("GET", "HEAD", "POST"):
        resp = await preflight(client, method)
        assert resp.status == 200, method
    for method in ("PUT", "PATCH", "DELETE"):
        await assert_refused(await preflight(client, method), method_not_allowed(method))


async def test_allow_methods_none_with_routes_added_allows_their_methods(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions()}, methods=("GET", "PUT", "PATCH"), add="routes")
    client = await aiohttp_client(app)
    for method in ("PUT", "PATCH"):
        resp = await preflight(client, method)
        assert resp.status == 200, method
        assert resp.headers[ACAM] == method
    await assert_refused(await preflight(client, "DELETE"), method_not_allowed("DELETE"))
    await assert_refused(await preflight(client, "patch"), method_not_allowed("patch"))


async def test_sibling_route_not_passed_to_add_needs_allow_methods(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    cors.add(resource.add_route("GET", hello), {ORIGIN: ResourceOptions()})
    resource.add_route("PUT", hello)
    client = await aiohttp_client(app)
    await assert_refused(await preflight(client, "PUT"), method_not_allowed("PUT"))
    # The sibling itself is CORS-enabled with the resource's config.
    actual = await client.put("/r", headers={"Origin": ORIGIN})
    assert actual.headers.getall(ACAO) == [ORIGIN]


async def test_allow_methods_from_defaults_count_for_the_method_check(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_methods=["PUT"])})
    resource = app.router.add_resource("/r")
    resource.add_route("PUT", hello)
    cors.add(resource)
    client = await aiohttp_client(app)
    assert (await preflight(client, "PUT")).status == 200
    await assert_refused(await preflight(client, "DELETE"), method_not_allowed("DELETE"))


async def test_allow_methods_of_a_routes_own_config_do_not_count(aiohttp_client):
    # The method check asks the resource's config and the defaults only, as 0.8.1
    # did: the first route added gave the resource its config (no allow_methods).
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = app.router.add_resource("/r")
    cors.add(resource.add_route("GET", hello), {ORIGIN: ResourceOptions()})
    put = resource.add_route("PUT", hello)
    cors.add(put, {ORIGIN: ResourceOptions(allow_methods=["DELETE"])})
    client = await aiohttp_client(app)
    assert (await preflight(client, "PUT")).status == 200
    await assert_refused(await preflight(client, "DELETE"), method_not_allowed("DELETE"))


async def test_allow_methods_star_allows_any_method(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions(allow_methods="*")}, methods=("GET",), add="resource")
    client = await aiohttp_client(app)
    for method in ("DELETE", "PATCH", "X-CUSTOM"):
        resp = await preflight(client, method)
        assert resp.status == 200, method
        assert resp.headers.getall(ACAM) == [method]


async def test_allow_methods_list_beyond_served_methods_on_resource(aiohttp_client):
    app = app_with(
        {ORIGIN: ResourceOptions(allow_methods=["DELETE"])}, methods=("GET",), add="resource"
    )
    client = await aiohttp_client(app)
    resp = await preflight(client, "DELETE")
    assert resp.status == 200
    assert resp.headers[ACAM] == "DELETE"


# --------------------------------------------------------------------------
# Header check and Authorization
# --------------------------------------------------------------------------


async def test_authorization_named_in_allow_headers_with_star(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers="*")}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="Authorization")
    assert resp.status == 200
    assert resp.headers.getall(ACAH) == ["AUTHORIZATION"]


async def test_authorization_refused_when_not_listed(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers=("X-Token",))}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-Token, Authorization")
    await assert_refused(resp, headers_not_allowed("AUTHORIZATION"))


async def test_allow_headers_list_is_case_insensitive(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers=("x-TOKEN",))}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-Token")
    assert resp.status == 200
    assert resp.headers[ACAH] == "X-TOKEN"


async def test_star_allow_headers_without_credentials_still_names_headers(aiohttp_client):
    client = await aiohttp_client(app_with({"*": ResourceOptions(allow_headers="*")}))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="X-A, Authorization")
    assert resp.headers.getall(ACAH) == ["X-A,AUTHORIZATION"]


# --------------------------------------------------------------------------
# Hostile input
# --------------------------------------------------------------------------


async def big_header_client(aiohttp_client: Any, app: web.Application) -> Any:
    server = TestServer(app)
    await server.start_server(max_field_size=1 << 20, max_line_size=1 << 20)
    return await aiohttp_client(server)


async def test_ten_thousand_request_header_names_are_refused(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions(allow_headers="*")})
    client = await big_header_client(aiohttp_client, app)
    names = ",".join(f"x-h{i}" for i in range(10_000))
    assert len(names) > 8190  # beyond aiohttp's default field limit: the server was widened
    resp = await preflight(client, "PUT", Access_Control_Request_Headers=names)
    await assert_refused_bounded(resp, "headers are not allowed: X-H0, X-H1, ")


async def test_more_request_headers_than_one_line_holds_are_refused(aiohttp_client):
    # 64 KB of commas: more than one header line holds with aiohttp's default
    # limits (the server was widened); refused without being parsed or echoed.
    app = app_with({ORIGIN: ResourceOptions(allow_headers="*")})
    client = await big_header_client(aiohttp_client, app)
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="x-a" + "," * 65536)
    await assert_refused_bounded(resp, "headers are not allowed: X-A, ...")


async def test_empty_items_in_request_headers_are_dropped(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions(allow_headers="*")})
    client = await aiohttp_client(app)
    resp = await preflight(client, "PUT", Access_Control_Request_Headers="x-a" + "," * 4000)
    assert resp.status == 200
    assert resp.headers.getall(ACAH) == ["X-A"]


async def test_many_request_header_lines_joined_then_bounded(aiohttp_client):
    app = app_with({ORIGIN: ResourceOptions(allow_headers="*")})
    client = await aiohttp_client(app)
    headers = CIMultiDict([("Origin", ORIGIN), (ACRM, "PUT")])
    for i in range(100):
        headers.add(ACRH, ",".join(f"x-{i}-{j}" for j in range(3)))
    resp = await client.session.request("OPTIONS", client.make_url("/r"), headers=headers)
    await assert_refused_bounded(resp, "headers are not allowed: X-0-0, X-0-1, X-0-2, X-1-0")


async def test_256_request_header_names_are_accepted(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers="*")}))
    names = [f"x-h{i}" for i in range(256)]
    resp = await preflight(client, "PUT", Access_Control_Request_Headers=",".join(names))
    assert resp.status == 200
    assert resp.headers[ACAH] == ",".join(name.upper() for name in names)


async def test_257_request_header_names_are_refused(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers="*")}))
    names = ",".join(f"x-h{i}" for i in range(257))
    resp = await preflight(client, "PUT", Access_Control_Request_Headers=names)
    await assert_refused_bounded(resp, "headers are not allowed: X-H0, X-H1, ")


async def test_long_request_method_is_cut_in_refusal(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions()}))
    method = "X" * 500
    resp = await preflight(client, method)
    text = await assert_refused_bounded(
        resp, "request method 'XXXXXXXX", f" is not allowed for {ORIGIN!r} origin"
    )
    assert method not in text


async def raw_preflight(client: Any, headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes]:
    """Send an OPTIONS request with bytes aiohttp's client would not send; return head, body."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    lines = [b"OPTIONS /r HTTP/1.1", b"Host: localhost", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    writer.write(b"\r\n".join([*lines, b"", b""]))
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


async def test_non_ascii_request_header_name_is_refused_not_500(aiohttp_client):
    client = await aiohttp_client(app_with({ORIGIN: ResourceOptions(allow_headers="*")}))
    head, body = await raw_preflight(
        client, [(b"Origin", ORIGIN.encode()), (ACRM.encode(), b"PUT"), (ACRH.encode(), b"X-\xe9")]
    )
    assert head.startswith(b"HTTP/1.1 403 ")
    assert b"\r\nAccess-Control-" not in head
    text = body.decode("utf-8")
    assert text.startswith(PREFIX + "headers are not allowed: X-")
    assert "\xe9" not in text
