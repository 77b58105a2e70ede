"""An application object at module level (not a factory), for ``module:app`` targets.

The factory takes the extra command line arguments, as ``python -m aiohttp.web``
passes them, so ``module_level:make_app`` is a target too.
"""

from __future__ import annotations

from aiohttp import web

import aiohttp_cors


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_app(argv: list[str]) -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    cors.add(
        app.router.add_get("/hello", ok), {"https://app.example": aiohttp_cors.ResourceOptions()}
    )
    return app


app = make_app([])
not_an_app = 42
