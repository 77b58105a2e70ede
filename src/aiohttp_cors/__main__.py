"""Command line of aiohttp_cors: ``python -m aiohttp_cors demo|routes|explain``.

``routes`` and ``explain`` read an application's CORS configuration and run
it in-process (see :mod:`aiohttp_cors._cli`).

The ``demo`` command starts two aiohttp servers in one process, an API using
aiohttp_cors and a page on another origin whose script runs a matrix of
cross-origin requests in your browser (see :mod:`aiohttp_cors._demo`).  It
runs until Ctrl-C or SIGTERM, then shuts both servers down and exits with 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from ._cli import add_explain_parser, add_routes_parser, discard_output, run_explain, run_routes
from ._demo import DEMO_CASES, start_demo

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m aiohttp_cors`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m aiohttp_cors", description="aiohttp-cors command line tools."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    demo = commands.add_parser(
        "demo",
        help="serve an API and a page on another origin that exercises CORS in your browser",
        description=(
            "Start an aiohttp API using aiohttp_cors and a page on a second origin; "
            "opening the page runs a matrix of cross-origin requests in your browser "
            "and shows what the browser allowed."
        ),
    )
    demo.add_argument(
        "--host",
        default="127.0.0.1",
        help="address both servers listen on; also the host of the API origin "
        "(default: %(default)s)",
    )
    demo.add_argument(
        "--api-port", type=int, default=8081, help="port of the API server (default: %(default)s)"
    )
    demo.add_argument(
        "--page-port", type=int, default=8080, help="port of the page server (default: %(default)s)"
    )
    demo.add_argument(
        "--page-host",
        default="localhost",
        help="host name of the page origin, so that it differs from the API origin "
        "(default: %(default)s)",
    )
    demo.add_argument(
        "--quiet", action="store_true", help="do not log every request the servers answer"
    )
    add_routes_parser(commands)
    add_explain_parser(commands)
    return parser


async def _serve_demo(host: str, api_port: int, page_port: int, page_host: str, quiet: bool) -> int:
    """Run the demo until SIGINT/SIGTERM; returns the exit code."""
    try:
        servers = await start_demo(
            host=host,
            api_port=api_port,
            page_port=page_port,
            page_host=page_host,
            access_log=not quiet,
        )
    except OSError as exc:
        print(f"error: cannot start the demo servers: {exc}", file=sys.stderr)
        return 1

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Not available on Windows: Ctrl-C then raises KeyboardInterrupt instead.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        print(f"API server  (aiohttp_cors): {servers.api_origin}", flush=True)
        print(f"Page server (other origin): {servers.page_origin}", flush=True)
        print(
            f"Open {servers.page_url} in your browser: it runs {len(DEMO_CASES)} "
            "cross-origin requests and shows what your browser allowed.",
            flush=True,
        )
        print("Press Ctrl-C to stop.", flush=True)
        await stop.wait()
    finally:
        await servers.close()
    print("Demo stopped.", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
        )
        try:
            return asyncio.run(
                _serve_demo(args.host, args.api_port, args.page_port, args.page_host, args.quiet)
            )
        except KeyboardInterrupt:  # pragma: no cover - only where signal handlers are unsupported
            return 0
        except BrokenPipeError:
            # Nobody reads the output any more (`| head`): the servers were shut down
            # on the way out; stop as quietly as after Ctrl-C.
            discard_output(sys.stdout)
            return 0
    if args.command == "routes":
        return run_routes(args)
    if args.command == "explain":
        return run_explain(args)
    raise AssertionError(f"unknown command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
