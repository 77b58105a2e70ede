"""What a new user writes first: ``defaults`` for one origin, routes added with ``cors.add()``.

``/items`` answers ``GET`` and, with a JSON body, ``POST`` (its handler reads the
body, so a request without one fails in the handler, not in CORS). ``/path``
only has a ``GET`` route: a ``PUT`` preflight to it is refused for its method
before its origin is checked. ``/previews`` has a key written as a regular
expression in a string, which never matches (a configuration warning says so).
"""

from __future__ import annotations

from aiohttp import web

import aiohttp_cors
from aiohttp_cors import ResourceOptions as ro

ORIGIN = "https://app.example.com"


async def ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def create(request: web.Request) -> web.Response:
    item = await request.json()
    return web.json_response({"created": item["name"]}, status=201)


def make_app() -> web.Application:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ro(allow_headers=("Content-Type",))})
    items = app.router.add_resource("/items")
    cors.add(items.add_route("GET", ok))
    cors.add(items.add_route("POST", create))
    cors.add(app.router.add_get("/path", ok))
    # A resource passed to cors.add() before its routes: PUT is served, not allowed.
    later = app.router.add_resource("/later")
    cors.add(later)
    later.add_route("PUT", ok)
    cors.add(
        app.router.add_get("/previews", ok),
        {r"https://.*\.preview\.example\.net": ro()},
    )
    return app
