"""Class-based views (``CorsViewMixin``, ``custom_cors``) and sub-applications over HTTP.

The 0.8.1 view API (class ``cors_config``, per-method ``@custom_cors``, ``options()``
answering preflights), and what 0.8.1 got wrong there: a method the view lacks gets
aiohttp's 405, views in sub-applications find the parent's ``setup()``, proxied
handlers are not an error.
"""

from __future__ import annotations

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
    METHOD_MISSING,
    ORIGIN,
    ORIGIN_MISSING,
    OTHER,
    PREFIX,
    access_control_headers,
    method_not_allowed,
)

import aiohttp_cors
from aiohttp_cors import CorsViewMixin, ResourceOptions, custom_cors


class ItemView(web.View, CorsViewMixin):
    cors_config = {  # noqa: RUF012 - the 0.8.1 API is a plain class attribute
        ORIGIN: ResourceOptions(expose_headers=("X-Class",), allow_headers=("X-Class-H",)),
    }

    async def get(self) -> web.Response:
        return web.Response(text="view-get")

    @custom_cors(
        {
            ORIGIN: ResourceOptions(
                allow_credentials=True, expose_headers=("X-Post",), allow_headers=("X-Post-H",)
            ),
            OTHER: ResourceOptions(max_age=5),
        }
    )
    async def post(self) -> web.Response:
        return web.Response(text="view-post")

    async def put(self) -> web.Response:
        return web.Response(text="view-put")


def view_app(view: type[web.View] = ItemView, **defaults: Any) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults=defaults or None)
    cors.add(app.router.add_view("/v", view))
    return app


# --------------------------------------------------------------------------
# Views: class config, per-method overrides
# --------------------------------------------------------------------------


async def test_view_class_config_applies_to_methods_without_override(aiohttp_client):
    client = await aiohttp_client(view_app())
    for method in ("GET", "PUT"):
        resp = await client.request(method, "/v", headers={"Origin": ORIGIN})
        assert resp.status == 200
        assert await resp.text() == f"view-{method.lower()}"
        assert resp.headers.getall(ACAO) == [ORIGIN]
        assert resp.headers.getall(ACEH) == ["X-Class"]
        assert ACAC not in resp.headers


async def test_custom_cors_overrides_class_config_for_its_method(aiohttp_client):
    client = await aiohttp_client(view_app())
    resp = await client.post("/v", headers={"Origin": ORIGIN})
    assert await resp.text() == "view-post"
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACAC) == ["true"]
    assert resp.headers.getall(ACEH) == ["X-Post"]


async def test_custom_cors_origin_only_allowed_for_its_method(aiohttp_client):
    client = await aiohttp_client(view_app())
    resp = await client.post("/v", headers={"Origin": OTHER})
    assert resp.headers.getall(ACAO) == [OTHER]
    resp = await client.get("/v", headers={"Origin": OTHER})
    assert resp.status == 200
    assert ACAO not in resp.headers


async def test_view_preflight_uses_method_config(aiohttp_client):
    client = await aiohttp_client(view_app())
    resp = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "POST", ACRH: "X-Post-H"})
    assert resp.status == 200
    assert await resp.read() == b""
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers[ACAC] == "true"
    assert resp.headers[ACAM] == "POST"
    assert resp.headers[ACAH] == "X-POST-H"
    refused = await client.options(
        "/v", headers={"Origin": ORIGIN, ACRM: "POST", ACRH: "X-Class-H"}
    )
    assert refused.status == 403
    assert await refused.text() == PREFIX + "headers are not allowed: X-CLASS-H"
    assert access_control_headers(refused.headers) == []
    assert refused.headers.getall("Vary") == ["Origin"]


async def test_view_preflight_uses_class_config_for_plain_method(aiohttp_client):
    client = await aiohttp_client(view_app())
    resp = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "PUT", ACRH: "X-Class-H"})
    assert resp.status == 200
    assert resp.headers[ACAM] == "PUT"
    assert resp.headers[ACAH] == "X-CLASS-H"
    assert ACAC not in resp.headers


async def test_view_preflight_origin_allowed_only_by_method_override(aiohttp_client):
    client = await aiohttp_client(view_app())
    resp = await client.options("/v", headers={"Origin": OTHER, ACRM: "POST"})
    assert resp.status == 200
    assert resp.headers[ACMA] == "5"
    refused = await client.options("/v", headers={"Origin": OTHER, ACRM: "PUT"})
    assert refused.status == 403
    assert await refused.text() == PREFIX + f"origin '{OTHER}' is not allowed"


async def test_view_method_not_implemented_gives_aiohttp_405(aiohttp_client):
    client = await aiohttp_client(view_app())
    resp = await client.delete("/v", headers={"Origin": ORIGIN})
    assert resp.status == 405
    assert await resp.text() == "405: Method Not Allowed"
    assert set(resp.headers["Allow"].split(",")) == {
        "GET",
        "OPTIONS",
        "POST",
        "PUT",
    }  # the mixin has options(), as in 0.8.1
    # The view has no config for a method it lacks: no CORS headers, Vary only.
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_view_preflight_for_unimplemented_method_is_refused(aiohttp_client):
    client = await aiohttp_client(view_app())
    resp = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "DELETE"})
    assert resp.status == 403
    assert resp.content_type == "text/plain"
    assert await resp.text() == PREFIX + method_not_allowed("DELETE")
    assert access_control_headers(resp.headers) == []
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_view_preflight_method_check_uses_implemented_methods_not_allow_methods(
    aiohttp_client,
):
    class Limited(web.View, CorsViewMixin):
        cors_config = {ORIGIN: ResourceOptions(allow_methods=["DELETE"])}  # noqa: RUF012

        async def get(self) -> web.Response:
            return web.Response(text="g")

        async def put(self) -> web.Response:
            return web.Response(text="p")

    client = await aiohttp_client(view_app(Limited))
    resp = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 200
    assert resp.headers[ACAM] == "PUT"
    resp = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "DELETE"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + method_not_allowed("DELETE")


async def test_view_preflight_method_check_comes_before_origin_check(aiohttp_client):
    client = await aiohttp_client(view_app())
    resp = await client.options("/v", headers={"Origin": EVIL, ACRM: "DELETE"})
    assert resp.status == 403
    assert await resp.text() == PREFIX + method_not_allowed("DELETE", EVIL)


async def test_view_plain_options_gets_the_mixin_403_as_in_0_8_1(aiohttp_client):
    # CorsViewMixin.options() existed in 0.8.1: a plain OPTIONS (not a preflight,
    # which never reaches the view) gets its 403 with the reason.
    client = await aiohttp_client(view_app())
    resp = await client.options("/v")
    assert resp.status == 403
    assert await resp.text() == PREFIX + ORIGIN_MISSING
    assert access_control_headers(resp.headers) == []
    resp = await client.options("/v", headers={"Origin": ORIGIN})
    assert resp.status == 403
    assert await resp.text() == PREFIX + METHOD_MISSING
    assert access_control_headers(resp.headers) == []


async def test_view_never_passed_to_add_answers_preflights_in_its_options(aiohttp_client):
    # As in 0.8.1: options() answers from get_request_config alone (the method's
    # custom_cors, the class's cors_config, defaults); the view is not CORS-enabled,
    # so nothing varies and actual responses are left alone.
    app = web.Application()
    aiohttp_cors.setup(app, defaults={EVIL: ResourceOptions(max_age=4)})
    app.router.add_view("/v", ItemView)
    client = await aiohttp_client(app)
    resp = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "PUT", ACRH: "x-class-h"})
    assert resp.status == 200
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACAH) == ["X-CLASS-H"]
    assert "Vary" not in resp.headers
    resp = await client.options("/v", headers={"Origin": EVIL, ACRM: "PUT"})
    assert resp.status == 200
    assert resp.headers[ACMA] == "4"
    refused = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "DELETE"})
    assert refused.status == 403
    assert await refused.text() == PREFIX + method_not_allowed("DELETE")
    assert access_control_headers(refused.headers) == []
    assert "Vary" not in refused.headers
    actual = await client.get("/v", headers={"Origin": ORIGIN})
    assert await actual.text() == "view-get"
    assert access_control_headers(actual.headers) == []
    assert "Vary" not in actual.headers


async def test_view_own_options_method_receives_plain_options(aiohttp_client):
    seen: list[str] = []

    class OptionsView(web.View, CorsViewMixin):
        cors_config = {ORIGIN: ResourceOptions()}  # noqa: RUF012

        async def get(self) -> web.Response:
            return web.Response(text="g")

        async def options(self) -> web.Response:
            seen.append("options")
            return web.Response(text="own-options")

    client = await aiohttp_client(view_app(OptionsView))
    resp = await client.options("/v")
    assert await resp.text() == "own-options"
    assert seen == ["options"]
    pre = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert pre.status == 200
    assert await pre.read() == b""
    assert seen == ["options"]


async def test_view_defaults_apply_below_class_config(aiohttp_client):
    app = view_app(**{EVIL: ResourceOptions(expose_headers=("X-Def",))})
    client = await aiohttp_client(app)
    resp = await client.get("/v", headers={"Origin": EVIL})
    assert resp.headers[ACAO] == EVIL
    assert resp.headers[ACEH] == "X-Def"


async def test_view_add_config_applies_below_class_config(aiohttp_client):
    class PlainView(web.View, CorsViewMixin):
        async def get(self) -> web.Response:
            return web.Response(text="g")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_view("/v", PlainView), {ORIGIN: ResourceOptions(max_age=7)})
    client = await aiohttp_client(app)
    resp = await client.options("/v", headers={"Origin": ORIGIN, ACRM: "GET"})
    assert resp.status == 200
    assert resp.headers[ACMA] == "7"
    # ... and on actual requests too.
    actual = await client.get("/v", headers={"Origin": ORIGIN})
    assert await actual.text() == "g"
    assert actual.headers.getall(ACAO) == [ORIGIN]


async def test_view_without_mixin_is_refused_at_add(aiohttp_client):
    class Bare(web.View):
        async def get(self) -> web.Response:
            return web.Response(text="g")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    with pytest.raises(ValueError, match="CorsViewMixin"):
        cors.add(app.router.add_view("/v", Bare))


async def test_view_get_request_config_merges_layers(aiohttp_client):
    captured: dict[str, Any] = {}

    class Introspect(web.View, CorsViewMixin):
        cors_config = {ORIGIN: ResourceOptions(max_age=1)}  # noqa: RUF012

        async def get(self) -> web.Response:
            captured["get"] = self.get_request_config(self.request, "GET")
            captured["post"] = self.get_request_config(self.request, "POST")
            return web.Response(text="ok")

        @custom_cors({ORIGIN: ResourceOptions(max_age=2)})
        async def post(self) -> web.Response:
            return web.Response(text="p")

    app = view_app(Introspect, **{OTHER: ResourceOptions(max_age=3)})
    client = await aiohttp_client(app)
    assert (await client.get("/v")).status == 200
    assert captured["get"][ORIGIN].max_age == 1
    assert captured["post"][ORIGIN].max_age == 2
    assert captured["get"][OTHER].max_age == 3


async def test_handler_wrapped_in_wrapt_proxy_is_not_an_error(aiohttp_client):
    wrapt = pytest.importorskip("wrapt")

    @wrapt.decorator
    async def traced(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        return await wrapped(*args, **kwargs)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="traced")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    route = app.router.add_put("/t", traced(handler))
    proxied = app.router.add_get("/p", wrapt.CallableObjectProxy(handler))
    cors.add(route, {ORIGIN: ResourceOptions()})
    cors.add(proxied, {ORIGIN: ResourceOptions()})
    client = await aiohttp_client(app)
    resp = await client.put("/t", headers={"Origin": ORIGIN})
    assert await resp.text() == "traced"
    assert resp.headers[ACAO] == ORIGIN
    resp = await client.get("/p", headers={"Origin": ORIGIN})
    assert await resp.text() == "traced"
    assert resp.headers[ACAO] == ORIGIN
    pre = await client.options("/t", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert pre.status == 200
    assert pre.headers[ACAM] == "PUT"


# --------------------------------------------------------------------------
# Sub-applications
# --------------------------------------------------------------------------


async def sub_hello(request: web.Request) -> web.Response:
    return web.Response(text="sub-hello")


def subapp_app() -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(expose_headers=("X-D",))})
    sub = web.Application()
    view_route = sub.router.add_view("/v", ItemView)
    plain_route = sub.router.add_get("/plain", sub_hello)
    put_route = sub.router.add_put("/plain", sub_hello)
    sub.router.add_get("/off", sub_hello)
    app.add_subapp("/sub", sub)
    cors.add(view_route)
    cors.add(plain_route)
    cors.add(put_route)
    return app


async def test_view_in_subapp_gets_cors_headers(aiohttp_client):
    client = await aiohttp_client(subapp_app())
    resp = await client.get("/sub/v", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.text() == "view-get"
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACEH) == ["X-Class"]
    resp = await client.post("/sub/v", headers={"Origin": ORIGIN})
    assert resp.headers.getall(ACEH) == ["X-Post"]
    assert resp.headers.getall(ACAC) == ["true"]


async def test_view_in_subapp_preflight(aiohttp_client):
    client = await aiohttp_client(subapp_app())
    resp = await client.options(
        "/sub/v", headers={"Origin": ORIGIN, ACRM: "POST", ACRH: "X-Post-H"}
    )
    assert resp.status == 200
    assert resp.headers[ACAO] == ORIGIN
    assert resp.headers[ACAH] == "X-POST-H"
    refused = await client.options("/sub/v", headers={"Origin": ORIGIN, ACRM: "DELETE"})
    assert refused.status == 403
    assert await refused.text() == PREFIX + method_not_allowed("DELETE")


async def test_view_in_subapp_unimplemented_method_gives_405(aiohttp_client):
    client = await aiohttp_client(subapp_app())
    resp = await client.delete("/sub/v", headers={"Origin": ORIGIN})
    assert resp.status == 405
    assert await resp.text() == "405: Method Not Allowed"


async def test_view_in_subapp_get_request_config_finds_parent_setup(aiohttp_client):
    captured: dict[str, Any] = {}

    class Introspect(web.View, CorsViewMixin):
        async def get(self) -> web.Response:
            captured["config"] = self.get_request_config(self.request, "GET")
            return web.Response(text="ok")

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(max_age=9)})
    sub = web.Application()
    route = sub.router.add_view("/v", Introspect)
    app.add_subapp("/sub", sub)
    cors.add(route)
    client = await aiohttp_client(app)
    resp = await client.get("/sub/v", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert resp.headers[ACAO] == ORIGIN
    assert captured["config"][ORIGIN].max_age == 9


async def test_plain_route_in_subapp_gets_cors_headers(aiohttp_client):
    client = await aiohttp_client(subapp_app())
    resp = await client.get("/sub/plain", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert await resp.text() == "sub-hello"
    assert resp.headers.getall(ACAO) == [ORIGIN]
    assert resp.headers.getall(ACEH) == ["X-D"]
    assert resp.headers.getall("Vary") == ["Origin"]


async def test_plain_route_in_subapp_preflight(aiohttp_client):
    client = await aiohttp_client(subapp_app())
    resp = await client.options("/sub/plain", headers={"Origin": ORIGIN, ACRM: "PUT"})
    assert resp.status == 200
    assert resp.headers[ACAM] == "PUT"
    refused = await client.options("/sub/plain", headers={"Origin": EVIL, ACRM: "PUT"})
    assert refused.status == 403
    assert await refused.text() == PREFIX + f"origin '{EVIL}' is not allowed"


async def test_subapp_route_not_added_is_untouched(aiohttp_client):
    client = await aiohttp_client(subapp_app())
    resp = await client.get("/sub/off", headers={"Origin": ORIGIN})
    assert resp.status == 200
    assert access_control_headers(resp.headers) == []
    assert "Vary" not in resp.headers


async def test_subapp_with_its_own_middleware_preflight_answered_first(aiohttp_client):
    @web.middleware
    async def deny(request: web.Request, handler: Any) -> web.StreamResponse:
        if "X-Key" not in request.headers:
            raise web.HTTPUnauthorized(text="key required")
        return await handler(request)

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions(allow_headers=("X-Key",))})
    sub = web.Application(middlewares=[deny])
    route = sub.router.add_put("/p", sub_hello)
    app.add_subapp("/sub", sub)
    cors.add(route)
    client = await aiohttp_client(app)
    pre = await client.options("/sub/p", headers={"Origin": ORIGIN, ACRM: "PUT", ACRH: "X-Key"})
    assert pre.status == 200
    assert pre.headers[ACAH] == "X-KEY"
    resp = await client.put("/sub/p", headers={"Origin": ORIGIN})
    assert resp.status == 401
    assert await resp.text() == "key required"
    assert resp.headers.getall(ACAO) == [ORIGIN]


async def test_a_view_without_the_mixin_on_a_method_route_is_a_plain_handler(aiohttp_client):
    # 0.8.1 refused such a view only on a "*" route.
    class Plain(web.View):
        async def get(self) -> web.Response:
            return web.Response(text="plain view")

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"https://a.example": ResourceOptions()})
    cors.add(app.router.add_route("GET", "/v", Plain))
    client = await aiohttp_client(app)
    resp = await client.get("/v", headers={"Origin": "https://a.example"})
    assert await resp.text() == "plain view"
    assert resp.headers["Access-Control-Allow-Origin"] == "https://a.example"


async def test_a_views_own_get_config_answers_its_preflights(aiohttp_client):
    # Views overrode 0.8.1's _get_config() to decide per origin (aio-libs/aiohttp-cors#245).
    asked: list[tuple[str, str]] = []

    class Tenants(web.View, aiohttp_cors.CorsViewMixin):
        async def _get_config(self, request: web.Request, origin: str, method: str) -> Any:
            asked.append((origin, method))
            if origin.endswith(".tenant.example"):
                return {origin: ResourceOptions(allow_headers=("X-Token",))}
            return {}

        async def put(self) -> web.Response:
            return web.Response(text="put")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_view("/t", Tenants))
    client = await aiohttp_client(app)
    headers = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-token"}
    resp = await client.options("/t", headers={"Origin": "https://a.tenant.example", **headers})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "https://a.tenant.example"
    resp = await client.options("/t", headers={"Origin": "https://evil.example", **headers})
    assert resp.status == 403
    assert asked == [("https://a.tenant.example", "PUT"), ("https://evil.example", "PUT")]


async def test_a_view_method_outside_the_standard_set_answers_its_preflight(aiohttp_client):
    # 0.8.1 looked the method up on the view; byte-exact: "purge" is not "PURGE".
    class Cache(web.View, aiohttp_cors.CorsViewMixin):
        async def purge(self) -> web.Response:
            return web.Response(text="purged")

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    cors.add(app.router.add_view("/c", Cache))
    client = await aiohttp_client(app)
    origin = {"Origin": "https://a.example"}
    resp = await client.options("/c", headers={**origin, "Access-Control-Request-Method": "PURGE"})
    assert resp.status == 200
    assert resp.headers["Access-Control-Allow-Methods"] == "PURGE"
    resp = await client.options("/c", headers={**origin, "Access-Control-Request-Method": "purge"})
    assert resp.status == 403


class _PutView(web.View, CorsViewMixin):
    async def put(self) -> web.Response:
        return web.Response(text="view")


async def test_reassigned_defaults_reach_views_but_not_plain_routes_as_in_0_8_1(
    aiohttp_client: Any,
) -> None:
    # 0.8.1's views read cors.defaults on every request (get_request_config), while
    # its router adapter kept the defaults given to setup() for plain routes.
    first, second = "https://a.example", "https://b.example"

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text="plain")

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={first: ResourceOptions(allow_methods="*")})
    cors.add(app.router.add_view("/v", _PutView))
    cors.add(app.router.add_put("/p", plain))
    cors.defaults = {second: ResourceOptions(allow_methods="*")}
    client = await aiohttp_client(app)
    answers = {}
    for path in ("/v", "/p"):
        for origin in (first, second):
            preflight = await client.options(
                path, headers={"Origin": origin, "Access-Control-Request-Method": "PUT"}
            )
            actual = await client.put(path, headers={"Origin": origin})
            answers[path, origin] = (
                preflight.status,
                actual.headers.get("Access-Control-Allow-Origin"),
            )
    assert answers == {
        ("/v", first): (403, first),
        ("/v", second): (200, second),
        ("/p", first): (200, first),
        ("/p", second): (403, None),
    }
