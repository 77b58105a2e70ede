"""What aiohttp itself charges for the mechanisms a CORS layer can use (callgrind).

    python bench/floors.py [-n 300]

Runs small apps under callgrind and prints instructions per request for:

- ``bare``: one resource ``/api`` (GET, POST), no middleware, no signal receiver;
- ``noop-middleware``: plus one middleware that only passes requests on;
- ``noop-prepare-hook``: plus one ``on_response_prepare`` receiver that does nothing;
- ``four-headers-hook``: a receiver that sets four fixed headers (the floor of a CORS reply);
- ``middleware-answers-options``: a middleware that answers every OPTIONS at once — an
  OPTIONS to ``/api`` still meets the router's 405 first (no OPTIONS route);
- ``options-route``: the same answer from an ``OPTIONS`` route (what 0.8.1 registered).

These are the costs this package cannot remove while it answers preflights before
application middleware (browsers never send credentials on a preflight, Fetch §4.8) and
registers no routes of its own (fix 2 in docs/migration.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from client import Client

VARIANTS = (
    "bare",
    "noop-middleware",
    "noop-prepare-hook",
    "four-headers-hook",
    "middleware-answers-options",
    "options-route",
)
REQUESTS = {
    "GET /api": b"GET /api HTTP/1.1\r\nHost: x\r\nOrigin: https://allowed.example\r\n\r\n",
    "OPTIONS /api": (
        b"OPTIONS /api HTTP/1.1\r\nHost: x\r\nOrigin: https://allowed.example\r\n"
        b"Access-Control-Request-Method: POST\r\n\r\n"
    ),
}

SERVER = r"""
import asyncio, gc, json, os, sys
from aiohttp import web

variant = sys.argv[1]


class Done:
    __slots__ = ()

    def __await__(self):
        return iter(())


DONE = Done()


async def handler(request):
    return web.Response(text="ok")


def make_app():
    middlewares = []
    if variant == "noop-middleware":
        @web.middleware
        async def passthrough(request, handler):
            return await handler(request)
        middlewares.append(passthrough)
    if variant == "middleware-answers-options":
        @web.middleware
        async def answer(request, handler):
            if request.method == "OPTIONS":
                return web.Response(headers={"Access-Control-Allow-Origin": "x"})
            return await handler(request)
        middlewares.append(answer)
    app = web.Application(middlewares=middlewares)
    app.router.add_get("/api", handler)
    app.router.add_post("/api", handler)
    if variant == "options-route":
        async def options(request):
            return web.Response(headers={"Access-Control-Allow-Origin": "x"})
        app.router.add_route("OPTIONS", "/api", options)
    if variant == "noop-prepare-hook":
        app.on_response_prepare.append(lambda request, response: DONE)
    if variant == "four-headers-hook":
        def four(request, response):
            h = response.headers
            h["Vary"] = "Origin"
            h["Access-Control-Allow-Origin"] = "https://allowed.example"
            h["Access-Control-Allow-Credentials"] = "true"
            h["Access-Control-Expose-Headers"] = "X-Request-Id"
            return DONE
        app.on_response_prepare.append(four)
    return app


async def main():
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    gc.freeze()
    port = runner.addresses[0][1]
    print(json.dumps({"port": port, "pid": os.getpid()}), flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
"""


def measure(variant: str, n: int, workdir: Path) -> dict[str, int]:
    """Instructions per request of each request kind for one variant."""
    script = workdir / "floor_server.py"
    script.write_text(SERVER)
    out = workdir / f"callgrind.{variant}"
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}.%p",
            sys.executable,
            str(script),
            variant,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        pid = str(info["pid"])
        results = {}
        with Client(info["port"]) as client:
            for label, raw in REQUESTS.items():
                client.repeat(raw, 50)
                subprocess.run(["callgrind_control", "-z", pid], check=True, capture_output=True)
                client.repeat(raw, n)
                before = set(workdir.glob(f"callgrind.{variant}.*"))
                subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
                deadline = time.monotonic() + 60
                while not (new := set(workdir.glob(f"callgrind.{variant}.*")) - before):
                    if time.monotonic() > deadline:
                        raise RuntimeError("callgrind dump did not appear")
                    time.sleep(0.1)
                time.sleep(0.3)
                text = max(new, key=lambda p: p.stat().st_mtime).read_text(errors="replace")
                match = re.search(r"^summary:\s*(\d+)", text, re.M)
                if match is None:
                    raise RuntimeError("no summary line in the callgrind dump")
                results[label] = int(match.group(1)) // n
        return results
    finally:
        server.terminate()
        server.wait()


def main() -> int:
    """Measure every variant and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="measured requests per kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = {variant: measure(variant, args.n, Path(tmp)) for variant in VARIANTS}
    base = rows["bare"]
    print("| variant | " + " | ".join(REQUESTS) + " |")
    print("|---|" + "---:|" * len(REQUESTS))
    for variant, figures in rows.items():
        cells = [
            f"{figures[k]:,}" + ("" if variant == "bare" else f" ({figures[k] - base[k]:+,})")
            for k in REQUESTS
        ]
        print(f"| {variant} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
