"""Regressions found in review: each test pins a fixed bug or a kept 0.8.1 behaviour."""

from __future__ import annotations

import numbers
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import aiohttp_cors
from aiohttp_cors import CorsConfigurationError, CorsViewMixin, ResourceOptions
from aiohttp_cors._origins import normalize_configured_origin, parse_request_origin
from aiohttp_cors._policy import Grant

ORIGIN = "https://spa.example"


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def test_bad_view_config_in_app_wide_mode_fails_at_start_up_not_per_request() -> None:
    class BadView(web.View, CorsViewMixin):
        cors_config = {"https://a.example": 5}  # noqa: RUF012

        async def get(self) -> web.Response:
            return web.Response(text="v")

    app = web.Application()
    aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()}, all_routes=True)
    app.router.add_view("/v", BadView)
    with pytest.raises(CorsConfigurationError, match="got 5 for origin"):
        async with TestClient(TestServer(app)):
            pass


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Accept", "Accept-Encoding"], ["Accept, Accept-Encoding, Origin"]),
        (["Accept", "*"], ["Accept", "*"]),
        (["Accept", "origin"], ["Accept", "origin"]),
    ],
)
async def test_every_vary_line_is_merged_and_vary_star_kept(
    aiohttp_client: Any, lines: list[str], expected: list[str]
) -> None:
    async def handler(request: web.Request) -> web.Response:
        response = web.Response(text="ok")
        for line in lines:
            response.headers.add("Vary", line)
        return response

    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(app.router.add_get("/r", handler))
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": ORIGIN})
    assert resp.headers.getall("Vary") == expected
    assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_overridden_get_request_config_is_called_per_request(aiohttp_client: Any) -> None:
    calls: list[str] = []

    class TenantView(web.View, CorsViewMixin):
        @classmethod
        def get_request_config(cls, request: web.Request, request_method: str) -> dict[Any, Any]:
            calls.append(request_method)
            tenant = request.headers.get("Origin", "")
            if tenant == "https://tenant.example":
                return {tenant: ResourceOptions(allow_methods=["PUT"])}
            return {}

        async def get(self) -> web.Response:
            return web.Response(text="g")

        async def put(self) -> web.Response:
            return web.Response(text="p")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(app.router.add_view("/t", TenantView))
    client = await aiohttp_client(app)
    resp = await client.get("/t", headers={"Origin": "https://tenant.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://tenant.example"
    resp = await client.get("/t", headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    pre = await client.options(
        "/t", headers={"Origin": "https://tenant.example", "Access-Control-Request-Method": "PUT"}
    )
    assert pre.status == 200
    pre = await client.options(
        "/t", headers={"Origin": "https://other.example", "Access-Control-Request-Method": "PUT"}
    )
    assert pre.status == 403  # asked again, not answered from a remembered preflight target
    assert calls == ["GET", "GET", "PUT", "PUT"]


async def test_resource_config_of_one_domain_does_not_answer_another_domain(
    aiohttp_client: Any,
) -> None:
    app = web.Application()
    api = web.Application()
    admin = web.Application()
    cors = aiohttp_cors.setup(app)
    resource = api.router.add_resource("/x")
    resource.add_route("GET", ok)
    admin.router.add_get("/x", ok)
    app.add_domain("api.example", api)
    app.add_domain("admin.example", admin)
    cors.add(
        resource,
        {ORIGIN: ResourceOptions(allow_credentials=True, allow_methods=["PUT", "DELETE"])},
    )
    client = await aiohttp_client(app)
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"}
    on_api = await client.options("/x", headers={**headers, "Host": "api.example"})
    assert on_api.status == 200
    on_admin = await client.options("/x", headers={**headers, "Host": "admin.example"})
    assert on_admin.status == 405
    assert "Access-Control-Allow-Origin" not in on_admin.headers


async def test_a_refused_add_of_a_route_leaves_no_trace(aiohttp_client: Any) -> None:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    route = app.router.add_get("/r", ok)
    with pytest.raises(CorsConfigurationError):
        cors.add(route, {ORIGIN: {"max_age": -1}})
    # Not "already configured": the refused config was never recorded.
    assert cors.add(route, {ORIGIN: ResourceOptions(max_age=5)}) is route
    client = await aiohttp_client(app)
    resp = await client.options(
        "/r", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert resp.status == 200
    assert resp.headers["Access-Control-Max-Age"] == "5"


async def test_a_refused_add_of_a_view_leaves_no_trace() -> None:
    class View(web.View, CorsViewMixin):
        cors_config: Any = {"https://a.example": 5}  # noqa: RUF012

        async def get(self) -> web.Response:
            return web.Response(text="v")

    app = web.Application()
    cors = aiohttp_cors.setup(app)
    route = app.router.add_view("/v", View)
    with pytest.raises(CorsConfigurationError):
        cors.add(route)
    View.cors_config = {"https://a.example": ResourceOptions()}
    assert cors.add(route) is route


def test_resource_options_keeps_the_0_8_1_namedtuple_helpers() -> None:
    options = ResourceOptions(allow_credentials=True, max_age=10)
    changed = options._replace(max_age=20)
    assert changed == ResourceOptions(allow_credentials=True, max_age=20)
    assert options._asdict()["allow_credentials"] is True
    assert "max_age" in ResourceOptions._fields
    with pytest.raises(ValueError, match="max_age"):
        options._replace(max_age=-1)


def test_max_age_accepts_any_integral_number() -> None:
    class Seconds(int):
        pass

    numbers.Integral.register(Seconds)
    seconds = Seconds(30)
    options = ResourceOptions(max_age=seconds)
    assert options.max_age is seconds  # kept as given, as 0.8.1 kept it
    assert Grant(options).max_age == "30"  # the Access-Control-Max-Age value


@pytest.mark.parametrize(
    ("configured", "canonical"),
    [("http://[::ffff:127.0.0.1]", "http://[::ffff:7f00:1]"), ("http://[0:0::1]", "http://[::1]")],
)
def test_ipv6_origins_take_the_browser_serialisation(configured: str, canonical: str) -> None:
    assert normalize_configured_origin(configured) == canonical
    assert parse_request_origin(canonical) == canonical
    assert parse_request_origin(configured) is None


@pytest.mark.parametrize("host", ["127.1", "0x7f.0.0.1", "2130706433", "010.0.0.1", "0"])
def test_hosts_browsers_read_as_ipv4_must_be_dotted_quads(host: str) -> None:
    with pytest.raises(ValueError, match="IPv4"):
        normalize_configured_origin(f"http://{host}")
    assert parse_request_origin(f"http://{host}") is None


async def test_routes_made_per_request_by_a_custom_resource_are_answered_each_time(
    aiohttp_client: Any,
) -> None:
    class FreshRoutes(web.PlainResource):
        async def resolve(self, request: web.Request) -> Any:
            if request.rel_url.path != "/fresh":
                return None, set()
            route = web.ResourceRoute("GET", ok, self)
            return web.UrlMappingMatchInfo({}, route), {"GET"}

    app = web.Application()
    aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()}, all_routes=True)
    app.router.register_resource(FreshRoutes("/fresh"))
    client = await aiohttp_client(app)
    for _ in range(20):
        resp = await client.get("/fresh", headers={"Origin": ORIGIN})
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert resp.headers["Vary"] == "Origin"
        resp = await client.get("/fresh", headers={"Origin": "https://other.example"})
        assert "Access-Control-Allow-Origin" not in resp.headers
