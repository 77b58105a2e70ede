"""The benchmarked aiohttp applications, one per variant, served on 127.0.0.1.

Usage::

    python bench/server.py VARIANT PORT [--origins N | --routes N | --globs N] [--big-headers]
                           [--with-app-middleware] [--allow-all]

``VARIANT`` is one of ``bare`` (plain aiohttp), ``ours`` (this repository's
``aiohttp_cors``, taken from ``src/``, or from the copy of it named by the
environment variable ``BENCH_OURS_SRC``, which ``run.py`` takes when it
starts so that every server of a run measures the same code), ``cors081``
(aiohttp-cors 0.8.1, must be the installed ``aiohttp_cors``) or ``middlewares``
(aiohttp-middlewares' ``cors_middleware``).  ``PORT`` 0 picks a free port.

Default app: resource ``/api`` with GET and POST (CORS-enabled) and ``/plain``
(GET, not CORS-enabled).  Scaling scenarios:

* ``--origins N``: N exact origins in the defaults; ``https://allowed.example``
  is the last one added.
* ``--routes N``: instead of ``/api`` and ``/plain``, N CORS-enabled GET routes
  ``/r0`` .. ``/r{N-1}``.
* ``--globs N``: the allowed origin plus N patterns ``https://*.t{i}.example.com``.
  Exits with status 3 (and an ``unsupported`` JSON line) when the variant does
  not accept patterns.

``--big-headers`` raises aiohttp's header limits to 1 MiB so that hostile
preflights reach the CORS layer.

``--allow-all`` configures the CORS defaults (``ours`` and ``cors081`` only)
with ``allow_headers="*"`` and ``allow_methods="*"``, so that a preflight with
any requested headers and method is processed as far as the package goes
instead of being refused early (``bench/hostile.py``).

``--with-app-middleware`` gives the app one ordinary, no-op application
middleware (:func:`app_middleware`), as real applications almost always have
(error pages, sessions, auth).  aiohttp charges a fixed cost per request for an
app's *first* middleware (it then wraps the handler chain and adds its own
current-app middleware); in a bare app a CORS package that works as a
middleware pays that cost alone, in a realistic app it is already paid.  CORS
middlewares come first (outermost), so inner middlewares' responses get CORS
headers too.

When the server listens it prints one JSON line to stdout:
``{"ready": true, "port": ..., "pid": ..., ...}``.  It stops on SIGTERM/SIGINT.
On SIGUSR1 it runs a full ``gc.collect()`` and prints ``{"gc": N}`` (N objects
collected), so that a memory benchmark can tell collectable garbage (reference
cycles, e.g. of exceptions and their tracebacks) from memory that stays; on
SIGUSR2 it calls glibc's ``malloc_trim(0)`` and prints ``{"trim": R}`` (R = 1
if memory went back to the system, -1 without glibc), which tells memory that
is still in use from free heap memory the allocator merely keeps.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import importlib
import json
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
#: Where ``ours`` is imported from: ``src/`` or the snapshot of it that run.py took.
OURS_SRC = Path(os.environ.get("BENCH_OURS_SRC") or ROOT / "src").resolve()
VARIANTS = ("bare", "ours", "cors081", "middlewares")

ALLOWED_ORIGIN = "https://allowed.example"
EXPOSE_HEADERS = ("X-Request-Id",)
ALLOW_HEADERS = ("X-Token", "Content-Type")
MAX_AGE = 600
EXIT_UNSUPPORTED = 3


class Unsupported(Exception):
    """The variant cannot be configured for the requested scenario."""


async def handler(request: web.Request) -> web.Response:
    """The measured handler: as cheap as possible."""
    return web.Response(text="ok")


@web.middleware
async def app_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A stand-in for an application's own middleware: does nothing."""
    return await handler(request)


def glob_pattern(i: int) -> str:
    """The *i*-th origin pattern of the ``--globs`` scenario."""
    return f"https://*.t{i}.example.com"


def origin_list(origins: int, globs: int) -> list[str]:
    """Configured origin keys: decoys first, the allowed origin, then patterns."""
    decoys = [f"https://o{i}.example" for i in range(max(origins - 1, 0))]
    return [*decoys, ALLOWED_ORIGIN, *(glob_pattern(i) for i in range(globs))]


def import_cors_package(variant: str) -> Any:
    """Import ``aiohttp_cors`` and check that it is the one *variant* means."""
    if variant == "ours":
        sys.path.insert(0, str(OURS_SRC))
    import aiohttp_cors

    location = Path(aiohttp_cors.__file__).resolve()
    if variant == "ours" and not location.is_relative_to(OURS_SRC):
        raise RuntimeError(f"'ours' imported aiohttp_cors from {location}, not from {OURS_SRC}")
    if variant == "cors081" and aiohttp_cors.__version__ != "0.8.1":
        raise RuntimeError(f"'cors081' found aiohttp_cors {aiohttp_cors.__version__} at {location}")
    return aiohttp_cors


def add_routes(app: web.Application, routes: int) -> list[web.AbstractRoute]:
    """Add the measured routes; return the ones that must be CORS-enabled."""
    if routes:
        return [app.router.add_route("GET", f"/r{i}", handler) for i in range(routes)]
    resource = app.router.add_resource("/api")
    resource.add_route("GET", handler)
    resource.add_route("POST", handler)
    return list(app.router.routes())


def build_app(
    variant: str,
    *,
    origins: int = 1,
    routes: int = 0,
    globs: int = 0,
    with_app_middleware: bool = False,
    allow_all: bool = False,
) -> web.Application:
    """Build the application of *variant* for the given scenario."""
    if globs and variant != "ours":
        raise Unsupported(f"{variant} has no origin patterns")
    if allow_all and variant not in ("ours", "cors081"):
        raise Unsupported(f"--allow-all is not implemented for {variant}")
    keys = origin_list(origins, globs)
    own_middlewares = [app_middleware] if with_app_middleware else []

    if variant == "middlewares":
        # Installed only in the middlewares venv: imported by name.
        cors_middleware = importlib.import_module("aiohttp_middlewares").cors_middleware
        urls: Iterable[Any] = [re.compile(r"^/r\d+$")] if routes else ["/api"]
        middleware = cors_middleware(
            origins=keys,
            urls=list(urls),
            allow_credentials=True,
            expose_headers=list(EXPOSE_HEADERS),
            allow_headers=list(ALLOW_HEADERS),
            max_age=MAX_AGE,
        )
        app = web.Application(middlewares=[middleware, *own_middlewares])
    else:
        # ours: aiohttp_cors.setup() inserts its middleware before these.
        app = web.Application(middlewares=own_middlewares)

    cors_routes = add_routes(app, routes)

    if variant in ("ours", "cors081"):
        aiohttp_cors = import_cors_package(variant)
        allowed: dict[str, Any] = {"allow_headers": ALLOW_HEADERS}
        if allow_all:
            allowed = {"allow_headers": "*", "allow_methods": "*"}
        options = aiohttp_cors.ResourceOptions(
            allow_credentials=True,
            expose_headers=EXPOSE_HEADERS,
            max_age=MAX_AGE,
            **allowed,
        )
        try:
            cors = aiohttp_cors.setup(app, defaults=dict.fromkeys(keys, options))
        except ValueError as exc:
            if globs:
                raise Unsupported(f"origin patterns rejected: {exc}") from exc
            raise
        for route in cors_routes:
            cors.add(route)
    elif variant not in ("bare", "middlewares"):
        raise SystemExit(f"unknown variant {variant!r}; expected one of {VARIANTS}")

    if not routes:
        app.router.add_route("GET", "/plain", handler)  # never CORS-enabled
    return app


def package_version(variant: str) -> str:
    """Version string of the CORS package used by *variant* (``-`` for bare)."""
    if variant in ("ours", "cors081"):
        return str(sys.modules["aiohttp_cors"].__version__)
    if variant == "middlewares":
        from importlib.metadata import version

        return version("aiohttp-middlewares")
    return "-"


def collect_garbage() -> None:
    """SIGUSR1: a full collection, then report how many objects it freed."""
    print(json.dumps({"gc": gc.collect()}), flush=True)


def trim_malloc() -> None:
    """SIGUSR2: return free heap memory to the system (glibc), then report."""
    try:
        result = int(ctypes.CDLL(None).malloc_trim(0))
    except (OSError, AttributeError):  # not glibc
        result = -1
    print(json.dumps({"trim": result}), flush=True)


async def serve(app: web.Application, variant: str, port: int, big_headers: bool) -> None:
    """Serve *app* on 127.0.0.1:*port* until SIGTERM or SIGINT."""
    limits: dict[str, Any] = {}
    if big_headers:
        limits = {"max_field_size": 1 << 20, "max_line_size": 1 << 20}
    runner = web.AppRunner(app, access_log=None, **limits)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    # Move the start-up heap (app, router, CORS config) out of the collector's
    # reach: otherwise when a full collection of it happens to fall inside the
    # measured requests depends on start-up details, and it dwarfs the CORS cost.
    gc.collect()
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, collect_garbage)
    loop.add_signal_handler(signal.SIGUSR2, trim_malloc)
    import aiohttp
    import multidict
    import yarl

    info = {
        "ready": True,
        "port": runner.addresses[0][1],
        "pid": os.getpid(),
        "variant": variant,
        "aiohttp": aiohttp.__version__,
        "yarl": yarl.__version__,
        "multidict": multidict.__version__,
        "package": package_version(variant),
        "source": str(OURS_SRC) if variant == "ours" else "-",
        "python": sys.version.split()[0],
    }
    print(json.dumps(info), flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line interface."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("port", type=int)
    scenario = parser.add_mutually_exclusive_group()
    scenario.add_argument("--origins", type=int, default=1, help="exact origins in defaults")
    scenario.add_argument("--routes", type=int, default=0, help="CORS-enabled /r{i} routes")
    scenario.add_argument("--globs", type=int, default=0, help="origin patterns in defaults")
    parser.add_argument("--big-headers", action="store_true", help="1 MiB header limits")
    parser.add_argument(
        "--with-app-middleware",
        action="store_true",
        help="add one no-op application middleware (a realistic app)",
    )
    parser.add_argument(
        "--allow-all",
        action="store_true",
        help='allow_headers="*" and allow_methods="*" (ours and cors081)',
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parse_args(argv)
    try:
        app = build_app(
            args.variant,
            origins=args.origins,
            routes=args.routes,
            globs=args.globs,
            with_app_middleware=args.with_app_middleware,
            allow_all=args.allow_all,
        )
    except Unsupported as exc:
        print(json.dumps({"unsupported": str(exc)}), flush=True)
        return EXIT_UNSUPPORTED
    asyncio.run(serve(app, args.variant, args.port, args.big_headers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
