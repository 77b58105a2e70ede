"""What aiohttp itself charges for the mechanisms a CORS layer can use (callgrind).

    python bench/floors.py [-n 300] [--aiohttp VERSION] [--jobs 2]

Runs small apps under callgrind and prints instructions per request (the same
``GET /api`` with an allowed Origin and the same preflight as ``run.py``'s
section 1) for:

- ``bare``: one resource ``/api`` (GET, POST), no middleware, no signal receiver;
- ``noop-middleware``: plus one middleware that only passes requests on;
- ``noop-prepare-hook``: plus one ``on_response_prepare`` receiver that does nothing;
- ``four-headers-hook``: a receiver that sets four fixed headers (the floor of a CORS reply);
- ``middleware-answers-options``: a middleware that answers every OPTIONS at once — an
  OPTIONS to ``/api`` still meets the router's 405 first (no OPTIONS route);
- ``options-route``: the same answer from an ``OPTIONS`` route (what 0.8.1 registered);
- ``options-route+noop-hook``: an ``OPTIONS`` route and one do-nothing
  ``on_response_prepare`` receiver, no middleware: the floor of a preflight answered
  by a route, which is how this package answers preflights in an app without
  middleware (it then removes its own middleware at start-up);
- ``answer-route+noop-hook`` and ``answer-route+vary+noop-hook``: as
  ``options-route+noop-hook``, but the route answers with exactly the headers of
  aiohttp-cors 0.8.1's answer to that preflight (five ``Access-Control-*`` headers),
  then the same plus this package's ``Vary``: the floor of any package that sends
  those bytes from a route;
- ``app-middleware+passthrough+hook``: one no-op application middleware (as in
  ``run.py``'s section 1b), before it a pass-through middleware that returns the
  handler's awaitable without a coroutine of its own, and one do-nothing receiver:
  the floor of this package's mechanisms in an app that has middleware.

These are the costs this package cannot remove while it answers preflights before
application middleware (browsers never send credentials on a preflight, Fetch §4.8)
and sends 0.8.1's bytes.

Each app runs in a fresh server process started under ``valgrind --tool=callgrind
--instr-atstart=no``; instrumentation is switched on once it listens.  Without
``--aiohttp`` the servers run on this interpreter; with it, in the ``bare`` venv
of that aiohttp version (see ``venvs.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from client import GET_ALLOWED, PREFLIGHT, Client, RequestKind
from measure import CallgrindMeter

#: Floor app -> what it is (rendered in the report).
VARIANTS: dict[str, str] = {
    "bare": "one resource `/api` (GET, POST), no middleware, no signal receiver",
    "noop-middleware": "+ one middleware that only passes requests on",
    "noop-prepare-hook": "+ one `on_response_prepare` receiver that does nothing",
    "four-headers-hook": "+ a receiver that sets four fixed headers (the floor of a CORS reply)",
    "middleware-answers-options": (
        "+ a middleware that answers every OPTIONS (the router's 405 is built first)"
    ),
    "options-route": "+ an `OPTIONS /api` route that answers (what 0.8.1 registered)",
    "options-route+noop-hook": (
        "+ an `OPTIONS /api` route and a do-nothing receiver, no middleware: the floor of a "
        "route-answered preflight (how `ours` answers them in an app without middleware)"
    ),
    "answer-route+noop-hook": (
        "+ an `OPTIONS /api` route that answers with 0.8.1's five preflight headers, and a "
        "do-nothing receiver: the floor of sending 0.8.1's preflight answer from a route"
    ),
    "answer-route+vary+noop-hook": (
        "+ the same with `Vary: Origin, Access-Control-Request-Method, "
        "Access-Control-Request-Headers` (what `ours` sends)"
    ),
    "app-middleware+passthrough+hook": (
        "+ a no-op application middleware (section 1b), a pass-through middleware before it "
        "that returns the handler's awaitable, and a do-nothing receiver: the floor of "
        "`ours`' mechanisms in an app with middleware"
    ),
}
#: Request kinds measured on every floor app (label -> kind).
REQUESTS: dict[str, RequestKind] = {"GET /api": GET_ALLOWED, "OPTIONS /api": PREFLIGHT}
#: Seconds a server under valgrind may take to print its ready line.
START_TIMEOUT = 300.0

SERVER = r"""
import asyncio, gc, json, os, sys
import aiohttp
from aiohttp import web

variant = sys.argv[1]


class Done:
    __slots__ = ()

    def __await__(self):
        return iter(())


DONE = Done()


async def handler(request):
    return web.Response(text="ok")


@web.middleware
async def noop(request, handler):
    return await handler(request)


@web.middleware
def passthrough(request, handler):
    return handler(request)


def make_app():
    middlewares = []
    if variant == "noop-middleware":
        middlewares.append(noop)
    if variant == "app-middleware+passthrough+hook":
        middlewares += [passthrough, noop]
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
    if variant.startswith("answer-route"):
        # The exact answer to run.py's preflight (Origin https://allowed.example, POST,
        # x-token) under the benchmark's configuration.
        answer = {
            "Access-Control-Allow-Origin": "https://allowed.example",
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Max-Age": "600",
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "X-TOKEN",
        }
        if "vary" in variant:
            answer["Vary"] = (
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
            )

        async def answer_preflight(request):
            return web.Response(headers=answer)

        app.router.add_route("OPTIONS", "/api", answer_preflight)
        app.on_response_prepare.append(lambda request, response: DONE)
    if variant in ("options-route", "options-route+noop-hook"):
        async def options(request):
            return web.Response(headers={"Access-Control-Allow-Origin": "x"})
        app.router.add_route("OPTIONS", "/api", options)
    if variant in (
        "noop-prepare-hook", "options-route+noop-hook", "app-middleware+passthrough+hook"
    ):
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
    gc.collect()
    gc.freeze()
    port = runner.addresses[0][1]
    info = {"port": port, "pid": os.getpid(), "aiohttp": aiohttp.__version__}
    print(json.dumps(info), flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
"""


@dataclass
class Floors:
    """Instructions per request of every floor app and request kind, or why not."""

    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    aiohttp: set[str] = field(default_factory=set)  # as reported by the server processes
    n: int = 0

    def get(self, variant: str, request: str) -> float | None:
        """Ir per request of *request* on floor app *variant*, if measured."""
        return self.rows.get(variant, {}).get(request)


@dataclass
class _FloorServer:
    """What :class:`measure.CallgrindMeter` needs to know about a server."""

    pid: int
    workdir: Path
    cg_out: Path


def _ready_line(server: subprocess.Popen[bytes], timeout: float) -> bytes:
    """The server's first stdout line, or ``b""`` at EOF or after *timeout* seconds."""
    assert server.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    with selectors.DefaultSelector() as sel:
        sel.register(server.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(timeout=remaining):
                return b""
            chunk = os.read(server.stdout.fileno(), 4096)
            if not chunk:
                return b""
            line += chunk
    return line


def measure(
    variant: str, python: Path, n: int, warmup: int, workdir: Path
) -> tuple[str, dict[str, float]]:
    """Aiohttp version and instructions per request of each request kind for one floor app."""
    script = workdir / "floor_server.py"
    cg_out = workdir / f"cg.floor.{variant}.out"
    server = subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={cg_out}",
            str(python),
            str(script),
            variant,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    try:
        line = _ready_line(server, START_TIMEOUT)
        if not line:
            server.kill()
            raise RuntimeError(f"floor server {variant}: no ready line ({server.wait()})")
        info = json.loads(line)
        subprocess.run(
            ["callgrind_control", "--instr=on", str(server.pid)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        meter = CallgrindMeter(_FloorServer(server.pid, workdir, cg_out))  # type: ignore[arg-type]
        meter.start()
        meter.stop(f"floor:{variant}:prime")
        results: dict[str, float] = {}
        with Client(int(info["port"])) as client:
            for label, kind in REQUESTS.items():
                raw = kind.encode(f"127.0.0.1:{info['port']}")
                client.repeat(raw, max(warmup, 1))
                meter.start()
                client.repeat(raw, n)
                results[label] = meter.stop(f"floor:{variant}:{kind.name}") / n
        return str(info["aiohttp"]), results
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


def measure_floors(python: Path, n: int, warmup: int, jobs: int, workdir: Path) -> Floors:
    """Every floor app, *jobs* servers at a time; failures are recorded per app."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "floor_server.py").write_text(SERVER)

    def one(variant: str) -> tuple[str, str | None, dict[str, float]]:
        try:
            version, rows = measure(variant, python, n, warmup, workdir)
        except Exception as exc:
            return variant, f"{type(exc).__name__}: {exc}", {}
        return variant, version, rows

    floors = Floors(n=n)
    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        for variant, version, rows in pool.map(one, VARIANTS):
            if rows:
                floors.rows[variant] = rows
                floors.aiohttp.add(str(version))
            else:
                floors.errors[variant] = str(version)
    return floors


def floors_table(floors: Floors) -> list[str]:
    """Markdown table: Ir per request, in parentheses the difference to ``bare``."""
    lines = [
        "| floor app | " + " | ".join(REQUESTS) + " | what |",
        "|---|" + "---:|" * len(REQUESTS) + "---|",
    ]
    base = floors.rows.get("bare", {})
    for variant, what in VARIANTS.items():
        figures = floors.rows.get(variant)
        if figures is None:
            error = floors.errors.get(variant, "not measured")
            lines.append(f"| {variant} | " + " | ".join(["n/a"] * len(REQUESTS)) + f" | {error} |")
            continue
        cells = []
        for label in REQUESTS:
            cell = f"{figures[label]:,.0f}"
            if variant != "bare" and label in base:
                cell += f" ({figures[label] - base[label]:+,.0f})"
            cells.append(cell)
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {what} |")
    return lines


def main() -> int:
    """Measure every floor app and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="measured requests per kind")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up requests per kind")
    parser.add_argument("--jobs", type=int, default=2, help="servers measured in parallel")
    parser.add_argument(
        "--aiohttp", metavar="VERSION", help="run in the bare venv of this aiohttp version"
    )
    args = parser.parse_args()
    python = Path(sys.executable)
    if args.aiohttp:
        from venvs import ensure_venv

        python = ensure_venv("bare", aiohttp=args.aiohttp)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aiohttp-cors-floors-") as tmp:
        floors = measure_floors(python, args.n, args.warmup, args.jobs, Path(tmp))
    print(
        f"aiohttp {', '.join(sorted(floors.aiohttp)) or '?'}, callgrind Ir per request, "
        f"N={args.n:,} ({time.monotonic() - started:.0f} s)\n"
    )
    print("\n".join(floors_table(floors)))
    return 1 if floors.errors else 0


if __name__ == "__main__":
    sys.exit(main())
