"""``setup(..., all_routes=True)`` from an async factory: defaults apply to every route."""

from __future__ import annotations

from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions as ro

ORIGIN = "https://app.example"


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/open", ok)
    app.router.add_put("/open", ok)
    cors = aiohttp_cors.setup(
        app, defaults={ORIGIN: ro(allow_headers=("X-Token",))}, all_routes=True
    )
    cors.add(app.router.add_get("/own", ok), {"https://own.example": ro()})
    return app
