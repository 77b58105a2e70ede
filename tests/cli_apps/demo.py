"""The API of ``python -m aiohttp_cors demo``, for the page origin the demo serves by default."""

from __future__ import annotations

from aiohttp import web

from aiohttp_cors._demo import build_api_app

PAGE_ORIGIN = "http://localhost:8080"


def make_app() -> web.Application:
    return build_api_app(PAGE_ORIGIN)
