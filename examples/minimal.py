"""The smallest aiohttp application with CORS: run it and fetch it from another origin.

    python examples/minimal.py   # serves http://127.0.0.1:8080/api

Requests from https://app.example.com (with cookies) or from any http://localhost
port (without) may read /api; every other origin gets the response without CORS
headers.
"""

from __future__ import annotations

from aiohttp import web

import aiohttp_cors


async def hello(request: web.Request) -> web.Response:
    """Answer with a greeting and a header that scripts may read."""
    return web.json_response({"hello": "world"}, headers={"X-Request-Id": "42"})


def make_app() -> web.Application:
    """Build the application exactly as aiohttp-cors 0.8.1 users do."""
    app = web.Application()
    app.router.add_get("/api", hello)
    app.router.add_post("/api", hello)
    cors = aiohttp_cors.setup(
        app,
        defaults={
            "https://app.example.com": aiohttp_cors.ResourceOptions(
                allow_credentials=True, expose_headers=("X-Request-Id",), allow_headers="*"
            ),
            "http://localhost:*": aiohttp_cors.ResourceOptions(allow_headers="*"),
        },
    )
    for route in list(app.router.routes()):
        cors.add(route)
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=8080)
