"""One application with every way of configuring CORS that the commands must read.

Plain routes (route and resource configs), a class-based view with
``@custom_cors``, a sub-application with its own ``setup()`` and one relying
on its parent's, a glob, a regex, async predicates (one that fails), private
network access, credentials, a route never passed to ``cors.add()``, and a
configuration warning (``Cookie`` in ``allow_headers``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions as ro

ORIGIN = "https://app.example"
OTHER = "https://evil.example"
TENANT = "https://tenant.example"


async def ok(request: web.Request) -> web.Response:
    return web.Response(text=f"{request.method} ok")


async def is_tenant(origin: str) -> bool:
    """An origin predicate whose backing store is down."""
    raise RuntimeError("tenant database unreachable")


async def is_partner(origin: str) -> bool:
    return origin == "https://partner.example"


class ItemView(web.View, aiohttp_cors.CorsViewMixin):
    cors_config: ClassVar[dict[str, Any]] = {ORIGIN: ro(allow_headers=("X-Token",))}

    async def get(self) -> web.Response:
        return await ok(self.request)

    @aiohttp_cors.custom_cors({ORIGIN: ro(allow_headers=("X-Token", "X-Extra"), max_age=60)})
    async def put(self) -> web.Response:
        return await ok(self.request)


def make_app() -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"https://defaults.example": ro(max_age=600)})
    router = app.router

    cors.add(router.add_get("/hello", ok), {ORIGIN: ro(expose_headers=("X-Id",))})
    items = router.add_resource("/items")
    for method in ("PUT", "DELETE"):
        cors.add(items.add_route(method, ok), {ORIGIN: ro(allow_headers=("X-Token",))})
    items.add_route("PATCH", ok)  # served, never passed to cors.add(): its preflight fails

    limited = router.add_resource("/limited")
    cors.add(limited, {ORIGIN: ro(allow_methods=("PUT",), allow_headers=("X-Token",))})
    for method in ("GET", "PUT", "DELETE"):
        limited.add_route(method, ok)

    cors.add(router.add_get("/cred", ok), {ORIGIN: ro(allow_credentials=False)})
    cors.add(router.add_get("/cred-ok", ok), {ORIGIN: ro(allow_credentials=True)})
    cors.add(router.add_put("/pna", ok), {ORIGIN: ro()})
    cors.add(router.add_put("/pna-ok", ok), {ORIGIN: ro(allow_private_network=True)})
    cors.add(router.add_get("/glob", ok), {"https://*.example.org": ro()})
    cors.add(router.add_get("/regex", ok), {re.compile(r"https://app[0-9]\.example"): ro()})
    cors.add(router.add_get("/tenants", ok), {is_partner: ro(), is_tenant: ro()})
    cors.add(router.add_get("/cookie", ok), {ORIGIN: ro(allow_headers=("Cookie",))})
    # allow_methods="*" lets a page send OPTIONS itself; its actual OPTIONS is no preflight.
    cors.add(router.add_get("/any", ok), {ORIGIN: ro(allow_methods="*")})
    router.add_get("/not-cors", ok)
    cors.add(router.add_view("/view", ItemView))

    # A sub-application relying on the parent's setup() ...
    plain = web.Application()
    cors.add(plain.router.add_get("/ping", ok), {ORIGIN: ro()})
    app.add_subapp("/plain/", plain)
    # ... and one with its own.
    sub = web.Application()
    sub_cors = aiohttp_cors.setup(sub)
    sub_cors.add(sub.router.add_put("/thing", ok), {TENANT: ro(allow_headers="*")})
    app.add_subapp("/sub/", sub)
    return app
