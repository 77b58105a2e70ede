"""Which path answers preflights after start-up, and the preflight-answer cache.

At start-up the package adds OPTIONS routes to the CORS-enabled resources and
removes its preflight middleware when nothing needs pre-empting; both paths
must give the same answers. These tests run on every aiohttp version the
project supports (the CI runs them on the oldest and the newest).
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import CorsViewMixin, ResourceOptions
from aiohttp_cors._cache import BoundedCache

ORIGIN = "https://app.example"
ACRM = "Access-Control-Request-Method"
ACRH = "Access-Control-Request-Headers"
ALLOW = {ORIGIN: ResourceOptions(allow_headers=("X-Token",), allow_methods="*", max_age=60)}
EXPECTED = {
    "Access-Control-Allow-Origin": ORIGIN,
    "Access-Control-Max-Age": "60",
    "Access-Control-Allow-Methods": "PUT",
    "Access-Control-Allow-Headers": "X-TOKEN",
    "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
}


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


@web.middleware
async def requires_token(request: web.Request, handler: Any) -> web.StreamResponse:
    if "Authorization" not in request.headers:
        return web.Response(status=401, text="who are you?")
    return await handler(request)


def cors_headers(resp: Any) -> dict[str, str]:
    return {
        name: value
        for name, value in resp.headers.items()
        if name.startswith("Access-Control-") or name == "Vary"
    }


async def preflight(client: Any, path: str = "/r", **headers: str) -> Any:
    return await client.options(
        path, headers={"Origin": ORIGIN, ACRM: "PUT", ACRH: "x-token", **headers}
    )


def setup_cors(app: web.Application, **options: Any) -> tuple[aiohttp_cors.CorsConfig, Any]:
    """``setup()``, and the preflight middleware it inserted (documented as the first one)."""
    cors = aiohttp_cors.setup(app, **options)
    return cors, app.middlewares[0]


async def test_a_plain_app_loses_the_middleware_and_routes_answer(aiohttp_client):
    app = web.Application()
    cors, cors_middleware = setup_cors(app, defaults=ALLOW)
    cors.add(app.router.add_put("/r", hello))
    assert cors_middleware in app.middlewares
    client = await aiohttp_client(app)
    assert list(app.middlewares) == []
    resp = await preflight(client)
    assert resp.status == 200
    assert cors_headers(resp) == EXPECTED
    plain = await client.options("/r")
    assert plain.status == 403
    assert await plain.text() == (
        "CORS preflight request failed: origin header is not specified in the request"
    )


async def test_an_app_middleware_keeps_ours_in_front_of_it(aiohttp_client):
    app = web.Application(middlewares=[requires_token])
    cors, cors_middleware = setup_cors(app, defaults=ALLOW)
    cors.add(app.router.add_put("/r", hello))
    client = await aiohttp_client(app)
    assert cors_middleware in app.middlewares
    assert app.middlewares[0] == cors_middleware
    resp = await preflight(client)
    assert resp.status == 200
    assert cors_headers(resp) == EXPECTED
    # A plain OPTIONS is no preflight: the application's middleware sees it.
    assert (await client.options("/r")).status == 401


async def test_an_application_options_route_keeps_the_middleware(aiohttp_client):
    async def own_options(request: web.Request) -> web.Response:
        return web.Response(text="the application's own OPTIONS")

    app = web.Application()
    cors, cors_middleware = setup_cors(app, defaults=ALLOW)
    resource = app.router.add_resource("/r")
    cors.add(resource.add_route("PUT", hello))
    resource.add_route("OPTIONS", own_options)  # after add(): no clash
    client = await aiohttp_client(app)
    assert cors_middleware in app.middlewares
    resp = await preflight(client)
    assert cors_headers(resp) == EXPECTED
    plain = await client.options("/r")
    assert await plain.text() == "the application's own OPTIONS"


async def test_a_view_keeps_the_middleware(aiohttp_client):
    class View(web.View, CorsViewMixin):
        async def put(self) -> web.Response:
            return web.Response(text="put")

    app = web.Application()
    cors, cors_middleware = setup_cors(app, defaults=ALLOW)
    cors.add(app.router.add_view("/r", View))
    client = await aiohttp_client(app)
    assert cors_middleware in app.middlewares
    resp = await preflight(client)
    assert cors_headers(resp) == EXPECTED


async def test_app_wide_mode_keeps_the_middleware(aiohttp_client):
    app = web.Application()
    _, cors_middleware = setup_cors(app, defaults=ALLOW, all_routes=True)
    app.router.add_put("/r", hello)
    client = await aiohttp_client(app)
    assert cors_middleware in app.middlewares
    resp = await preflight(client, "/nowhere")
    assert resp.status == 200


async def test_a_sub_application_middleware_keeps_ours(aiohttp_client):
    sub = web.Application(middlewares=[requires_token])
    route = sub.router.add_put("/r", hello)
    app = web.Application()
    cors, cors_middleware = setup_cors(app, defaults=ALLOW)
    cors.add(route)
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    assert cors_middleware in app.middlewares
    resp = await preflight(client, "/sub/r")
    assert resp.status == 200
    assert cors_headers(resp) == EXPECTED


async def test_setup_on_a_mounted_sub_application_keeps_its_middleware(aiohttp_client):
    # A sub-application's middlewares are frozen when it is mounted: nothing to decide.
    sub = web.Application()
    sub_cors, sub_cors_middleware = setup_cors(sub, defaults=ALLOW)
    sub_cors.add(sub.router.add_put("/r", hello))
    app = web.Application()
    app.add_subapp("/sub", sub)
    client = await aiohttp_client(app)
    assert sub_cors_middleware in sub.middlewares
    resp = await preflight(client, "/sub/r")
    assert cors_headers(resp) == EXPECTED


async def test_add_after_start_up_gets_its_route_at_once(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=ALLOW)
    cors.add(app.router.add_put("/r", hello))
    late = app.router.add_put("/late", hello)
    client = await aiohttp_client(app)
    cors.add(late)
    resp = await preflight(client, "/late")
    assert cors_headers(resp) == EXPECTED


# --------------------------------------------------------------------------
# remembered preflight answers
# --------------------------------------------------------------------------


async def test_a_repeated_preflight_is_answered_from_the_cache(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=ALLOW)
    cors.add(app.router.add_put("/r", hello))
    client = await aiohttp_client(app)
    first = await preflight(client)
    second = await preflight(client)
    assert cors_headers(first) == cors_headers(second) == EXPECTED
    stats = cors.stats()["preflight_cache"]
    assert stats["entries"] == 1
    assert stats["hits"] == 1
    assert 0 < stats["bytes"] < 2048


async def test_refusals_and_multi_line_headers_are_never_remembered(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=ALLOW)
    cors.add(app.router.add_put("/r", hello))
    client = await aiohttp_client(app)
    for _ in range(2):
        assert (await preflight(client, Origin="https://evil.example")).status == 403
    headers = [("Origin", ORIGIN), (ACRM, "PUT"), (ACRH, "x-token"), (ACRH, "x-token")]
    for _ in range(2):
        resp = await client.options("/r", headers=headers)
        assert resp.status == 200
    assert cors.stats()["preflight_cache"]["entries"] == 0


async def test_answers_that_asked_a_predicate_are_never_remembered(aiohttp_client):
    calls: list[str] = []

    def tenant(origin: str) -> bool:
        calls.append(origin)
        return True

    app = web.Application()
    cors = aiohttp_cors.setup(
        app, defaults={aiohttp_cors.OriginPredicate(tenant, memo_ttl=0): ALLOW[ORIGIN]}
    )
    cors.add(app.router.add_put("/r", hello))
    client = await aiohttp_client(app)
    for _ in range(2):
        assert (await preflight(client)).status == 200
    assert cors.stats()["preflight_cache"]["entries"] == 0
    assert len(calls) == 2  # asked afresh on each preflight


def test_the_cache_is_bounded_in_entries_and_bytes_least_recently_used_first() -> None:
    cache: BoundedCache[str, str] = BoundedCache(max_entries=3, max_bytes=1000)
    for key in "abc":
        cache.put(key, key.upper(), 10)
    assert cache.get("a") == "A"  # "a" is now the most recently used
    cache.put("d", "D", 10)
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == ["A", "C", "D"]
    assert cache.evictions == 1
    cache.put("big", "X", 90)
    cache.put("bigger", "Y", 95)
    assert cache.size <= 1000
    cache.put("too-big", "Z", 101)  # more than a tenth of the budget: not stored
    assert cache.get("too-big") is None
    for i in range(100):
        cache.put(f"k{i}", "v", 99)
    assert cache.size <= 1000
    assert len(cache) <= 3


async def test_a_later_start_up_hook_keeps_the_middleware(aiohttp_client):
    # A hook after ours could still add a middleware (here an authentication one).
    app = web.Application()
    cors, cors_middleware = setup_cors(app, defaults=ALLOW)
    cors.add(app.router.add_put("/r", hello))

    async def add_auth(app: web.Application) -> None:
        app.middlewares.append(requires_token)

    app.on_startup.append(add_auth)
    client = await aiohttp_client(app)
    assert cors_middleware in app.middlewares
    resp = await preflight(client)
    assert resp.status == 200
    assert cors_headers(resp) == EXPECTED


async def test_adding_a_resource_with_its_own_options_route_after_start_up_warns(aiohttp_client):
    async def own_options(request: web.Request) -> web.Response:
        return web.Response(text="own")

    app = web.Application()
    cors, cors_middleware = setup_cors(app, defaults=ALLOW)
    cors.add(app.router.add_put("/r", hello))
    late = app.router.add_resource("/late")
    late.add_route("PUT", hello)
    late.add_route("OPTIONS", own_options)
    await aiohttp_client(app)
    assert cors_middleware not in app.middlewares
    with pytest.warns(aiohttp_cors.CorsConfigurationWarning, match="after start-up"):
        cors.add(late)


async def test_a_view_added_after_its_resource_answers_preflights_as_the_resource(
    aiohttp_client,
):
    # 0.8.1 added its OPTIONS route when the resource was added, before the view's
    # "*" route: preflights got the resource's rules, actual requests the view's.
    class View(web.View, CorsViewMixin):
        cors_config = {"https://view.example": ResourceOptions()}  # noqa: RUF012

        async def put(self) -> web.Response:
            return web.Response(text="put")

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    resource = cors.add(app.router.add_resource("/r"))
    resource.add_route("*", View)
    client = await aiohttp_client(app)
    resp = await preflight(client)
    assert resp.status == 403
    assert await resp.text() == (
        f"CORS preflight request failed: request method 'PUT' is not allowed for {ORIGIN!r} origin"
    )
    resp = await client.put("/r", headers={"Origin": "https://view.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://view.example"
