"""Hostile-input memory benchmark: server RSS over time under oversized preflights.

Usage::

    python bench/hostile.py                          # ours and cors081, full counts (~1.5 min)
    python bench/hostile.py --quick                  # a tenth of the requests (~30 s)
    python bench/hostile.py --variants bare ours cors081 --out DIR --json FILE.json
    python bench/hostile.py --config app             # server.py's own config: floods refused
    python bench/hostile.py --inputs ac --scale 3    # inputs (a) and (c) only, 3x the requests

A previous version of this package let a server's resident memory grow by
hundreds of MB under floods of preflights carrying as many and as long
``Access-Control-Request-*`` header lines as aiohttp accepts.  This script
replays such floods against a fresh server process per variant and input and
watches the process's RSS (``VmRSS`` in ``/proc/PID/status``), so that a
regression shows up as growth, not only as CPU time (``run.py`` section 4
measures that).

The inputs respect aiohttp's *default* header limits (read from
``aiohttp.web_protocol.RequestHandler``: 128 header lines, values of up to 8190
bytes), because that is what an exposed server accepts:

(a) 300 preflights to ``/api``, each with 100 distinct
    ``Access-Control-Request-Headers`` lines of 7,900 bytes (one long token each);
(b) the same with 100 long ``Access-Control-Request-Method`` lines;
(c) 600 times the largest preflight aiohttp reliably accepts: all 125 header
    lines left after Host, Origin and Access-Control-Request-Method are
    ``Access-Control-Request-Headers`` whose name and value together are 8190
    bytes (8160-byte values; about 1.0 MB).  aiohttp checks 8190 against the
    value alone when a line arrives in one piece but against name + value when
    the line straddles two socket reads, so 8190-byte values are refused with
    400 in practice; a probe before the run checks this and that one more
    line is refused too;
(d) (a) spread round-robin over 33 CORS-enabled routes
    (``server.py --routes 33``).

Every request has distinct content (a per-request prefix and pseudo-random
hex), so nothing can be shared or cached between requests.  By default
(``--config allow-all``) servers run with ``server.py --allow-all``
(``allow_headers="*"``, ``allow_methods="*"``), so the CORS layer processes
each preflight as far as it goes instead of refusing it on the first unknown
header; ``--config app`` keeps ``server.py``'s ordinary configuration (two
allowed headers, no ``allow_methods``), where the same floods are refused
with 403.  ``bare`` (plain aiohttp, answers 405) is the floor.

For each variant and input: start ``bench/server.py``, warm up with ordinary
requests, take the baseline RSS, send the requests sequentially over one
keep-alive connection (reconnecting when the server closes it), sample RSS
after every 10 % of them, close the connection, sample twice more after a
pause (so that deferred frees and connection teardown are not mistaken for
growth), then once more after a full ``gc.collect()`` in the server (SIGUSR1,
see ``server.py``), which tells garbage that only waits for the cyclic
collector from memory that stays, and once more after glibc's
``malloc_trim(0)`` (SIGUSR2), which tells memory still in use from free heap
memory that the allocator keeps (RSS near the baseline after the trim: no
leak, only a high-water mark); stop the server by its PID.  Every loop has
a fixed count, each socket operation a timeout, and the whole run a time
budget (each run gets an equal share of what is left; a run whose share runs
out stops early and is marked as truncated).  ``--quick`` sends a tenth of the
requests, ``--scale X`` X times as many (to see whether growth levels off).

The report is one block of section 6 of ``benchmarks.md`` in the output
directory (``docs/`` by default, as for ``run.py``; ``--out DIR``): the block
of the same ``--config`` is replaced, the rest of the file is kept.
``bench/run.py`` runs both configurations itself (section ``memory``).  The
servers run in the venvs of the environment's aiohttp version; the raw numbers
go to a JSON file only with ``--json``.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import json
import math
import os
import random
import selectors
import shlex
import shutil
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
from aiohttp import web_protocol
from client import PREFLIGHT, Client, ConnectionClosed, RequestKind, Response
from measure import ServerProcess, ServerSpec, new_workdir
from server import ALLOWED_ORIGIN
from venvs import ensure_venv, report_dir, source_state

VARIANTS = ("bare", "ours", "cors081")
DEFAULT_VARIANTS = ("ours", "cors081")
ACRH = "Access-Control-Request-Headers"
ACRM = "Access-Control-Request-Method"
#: Samples taken during the flood: after every 1/SAMPLES of the requests.
SAMPLES = 10
#: Seconds between closing the connection and each of the two final samples.
SETTLE_PAUSE = 1.0
#: Ordinary requests per warm-up kind before the baseline is taken.
WARMUP = 20
#: ``--config`` choice -> extra ``server.py`` arguments (not for ``bare``).
CONFIGS = {"allow-all": ("--allow-all",), "app": ()}
MIB = 1 << 20


def aiohttp_header_limits() -> dict[str, int]:
    """aiohttp's default server header limits (``max_line_size``, ``max_field_size``, ...).

    Read from the signature rather than hard-coded: they are what a server that
    does not configure them accepts, and they decide what input (c) can be.
    """
    params = inspect.signature(web_protocol.RequestHandler.__init__).parameters
    return {
        name: int(params[name].default)
        for name in ("max_line_size", "max_field_size", "max_headers")
    }


@dataclass(frozen=True)
class HostileInput:
    """One flood: *count* preflights with *lines* long *header* lines of *value_len* bytes."""

    key: str
    name: str
    header: str
    lines: int
    value_len: int
    count: int
    routes: int = 0  # 0: the default app's /api; N: /r0 .. /r{N-1} round-robin

    def path(self, i: int) -> str:
        """Target of the *i*-th request."""
        return f"/r{i % self.routes}" if self.routes else "/api"

    def encode(self, i: int, host: str) -> bytes:
        """The *i*-th request: distinct tokens (prefix + pseudo-random hex) on every line."""
        rng = random.Random(f"{self.key}:{i}")
        pool = rng.randbytes(self.lines * self.value_len // 2 + 1).hex()
        head = [f"OPTIONS {self.path(i)} HTTP/1.1", f"Host: {host}", f"Origin: {ALLOWED_ORIGIN}"]
        if self.header != ACRM:
            head.append(f"{ACRM}: POST")
        for j in range(self.lines):
            prefix = f"x-{self.key}{i:05d}-{j:03d}-"
            chunk = pool[j * self.value_len : (j + 1) * self.value_len]
            head.append(f"{self.header}: {(prefix + chunk)[: self.value_len]}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")

    @property
    def header_lines(self) -> int:
        """Header lines per request (Host, Origin, ACRM and the long ones)."""
        return 2 + (0 if self.header == ACRM else 1) + self.lines


def make_inputs(limits: dict[str, int], scale: float) -> list[HostileInput]:
    """Inputs (a)-(d); *scale* multiplies the request counts (``--quick``)."""

    def n(full: int) -> int:
        return max(10, round(full * scale))

    max_lines = limits["max_headers"] - 3  # Host, Origin, Access-Control-Request-Method
    value_len = limits["max_field_size"] - len(ACRH)  # see (c) in the module docstring
    return [
        HostileInput("a", "(a) 100 ACRH lines x 7.9 KB", ACRH, 100, 7900, n(300)),
        HostileInput("b", "(b) 100 ACRM lines x 7.9 KB", ACRM, 100, 7900, n(300)),
        HostileInput(
            "c", f"(c) {max_lines} ACRH lines x {value_len} B", ACRH, max_lines, value_len, n(600)
        ),
        HostileInput("d", "(d) as (a), 33 routes", ACRH, 100, 7900, n(300), routes=33),
    ]


def read_status(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of *pid* in bytes, from ``/proc/PID/status``."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024  # reported in kB
    return values


def rss(pid: int) -> int:
    """Resident set size of *pid* in bytes."""
    return read_status(pid)["VmRSS"]


@dataclass
class RunResult:
    """What one server process of one variant did under one input."""

    variant: str
    input: str
    input_name: str
    requests_planned: int
    requests_sent: int = 0
    request_bytes: int = 0
    header_lines: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    max_response_header_bytes: int = 0
    baseline: int = 0
    samples: list[tuple[int, int]] = field(default_factory=list)  # (requests sent, RSS)
    final_first: int = 0
    final: int = 0
    after_gc: int = 0
    gc_collected: int = -1
    after_trim: int = 0
    trim_result: int = -1
    hwm: int = 0
    seconds: float = 0.0
    truncated: bool = False
    limit_probe: dict[str, str] = field(default_factory=dict)
    server: dict[str, object] = field(default_factory=dict)
    error: str = ""

    @property
    def peak(self) -> int:
        """Highest RSS sampled (baseline, flood samples, final samples)."""
        return max([self.baseline, self.final_first, self.final, *(r for _, r in self.samples)])

    @property
    def growth(self) -> int:
        """Final (settled) RSS minus baseline."""
        return self.final - self.baseline

    @property
    def growth_after_gc(self) -> int:
        """RSS after the server's full collection minus baseline."""
        return self.after_gc - self.baseline

    @property
    def growth_after_trim(self) -> int:
        """RSS after the full collection and ``malloc_trim`` minus baseline."""
        return self.after_trim - self.baseline


def send_one(client: Client, raw: bytes) -> tuple[str, Response | None]:
    """Send *raw*; return the status (or what went wrong) and the response.

    aiohttp closes the connection after a 400 without saying so in the
    response, so a failure on a reused connection is retried once on a fresh
    one: it is the server's earlier close, not an answer to this request.
    """
    for attempt in range(2):
        reused = client.connected
        try:
            response = client.send(raw)
        except socket.timeout:
            client.close()
            return "timeout", None
        except (ConnectionClosed, ConnectionResetError, BrokenPipeError) as exc:
            client.close()
            if reused and attempt == 0:
                continue
            return ("closed" if isinstance(exc, ConnectionClosed) else "reset"), None
        return str(response.status), response
    raise AssertionError("unreachable")


def probe_limits(server: ServerProcess, limits: dict[str, int], timeout: float) -> dict[str, str]:
    """Status of requests just over aiohttp's limits (400 expected for each).

    Shows that input (c) is the largest preflight aiohttp accepts: one more
    header line, one more byte in a value, or input (c)'s lines with values of
    ``max_field_size`` bytes are refused by aiohttp itself.
    """
    host = f"127.0.0.1:{server.port}"
    base = (("Origin", ALLOWED_ORIGIN), (ACRM, "POST"))
    too_many = tuple((ACRH, f"x-p{j}") for j in range(limits["max_headers"] - 2))
    too_long = ((ACRH, "x" * (limits["max_field_size"] + 1)),)
    field_size = limits["max_field_size"]
    full_values = HostileInput("p", "", ACRH, limits["max_headers"] - 3, field_size, 1)
    probes = {
        f"{limits['max_headers'] + 1} header lines": RequestKind(
            "probe", "", "OPTIONS", "/api", (*base, *too_many)
        ).encode(host),
        f"one {field_size + 1}-byte value": RequestKind(
            "probe", "", "OPTIONS", "/api", (*base, *too_long)
        ).encode(host),
        f"(c) with {field_size}-byte values": full_values.encode(0, host),
    }
    found: dict[str, str] = {}
    for label, raw in probes.items():
        client = Client(server.port, timeout=timeout)
        try:
            found[label], _ = send_one(client, raw)
        finally:
            client.close()
    return found


def signal_server(server: ServerProcess, sig: int, key: str, timeout: float) -> int:
    """Send *sig* to the server (by PID) and return the *key* of the JSON line it answers.

    SIGUSR1: ``gc.collect()``, answers ``{"gc": N}``; SIGUSR2: ``malloc_trim``,
    answers ``{"trim": R}`` (see ``server.py``).  Waits at most *timeout*
    seconds; -1 when no answer comes.
    """
    assert server.proc is not None and server.proc.stdout is not None
    fd = server.proc.stdout.fileno()
    os.kill(server.pid, sig)
    deadline = time.monotonic() + timeout
    line = b""
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sel.select(timeout=remaining):
                return -1
            chunk = os.read(fd, 4096)
            if not chunk:
                return -1
            line += chunk
    try:
        return int(json.loads(line.decode().splitlines()[-1])[key])
    except (ValueError, KeyError, IndexError):
        return -1


def warm_up(server: ServerProcess, hostile: HostileInput, timeout: float) -> None:
    """Ordinary preflights and GETs on the input's routes, so that lazy set-up is done."""
    host = f"127.0.0.1:{server.port}"
    paths = [hostile.path(i) for i in range(max(hostile.routes, 1))]
    client = Client(server.port, timeout=timeout)
    try:
        for i in range(WARMUP):
            path = paths[i % len(paths)]
            preflight = RequestKind("w", "", "OPTIONS", path, PREFLIGHT.headers)
            get = RequestKind("w", "", "GET", path, (("Origin", ALLOWED_ORIGIN),))
            for kind in (preflight, get):
                send_one(client, kind.encode(host))
    finally:
        client.close()


def run_one(
    variant: str,
    python: Path,
    config: str,
    hostile: HostileInput,
    limits: dict[str, int],
    deadline: float,
    timeout: float,
    workdir: Path,
) -> RunResult:
    """Flood a fresh server of *variant* with *hostile*; stop at *deadline* (monotonic)."""
    args = ["--routes", str(hostile.routes)] if hostile.routes else []
    if variant != "bare":
        args += CONFIGS[config]
    result = RunResult(variant, hostile.key, hostile.name, hostile.count)
    result.header_lines = hostile.header_lines
    statuses: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    server = ServerProcess(ServerSpec(variant, python, tuple(args)), workdir, start_timeout=120)
    try:
        server.start()
        result.server = dict(server.info)
        pid, host = server.pid, f"127.0.0.1:{server.port}"
        result.request_bytes = len(hostile.encode(0, host))
        if hostile.key == "c":
            result.limit_probe = probe_limits(server, limits, timeout)
        warm_up(server, hostile, timeout)
        time.sleep(SETTLE_PAUSE / 2)
        result.baseline = rss(pid)
        checkpoints = {math.ceil(k * hostile.count / SAMPLES) for k in range(1, SAMPLES + 1)}
        client = Client(server.port, timeout=timeout)
        try:
            for i in range(hostile.count):
                if time.monotonic() > deadline:
                    result.truncated = True
                    break
                status, response = send_one(client, hostile.encode(i, host))
                statuses[status] += 1
                result.requests_sent += 1
                if response is not None:
                    size = sum(len(k) + len(v) for k, v in response.headers.items())
                    result.max_response_header_bytes = max(result.max_response_header_bytes, size)
                if i + 1 in checkpoints:
                    result.samples.append((i + 1, rss(pid)))
        finally:
            client.close()
        time.sleep(SETTLE_PAUSE)
        result.final_first = rss(pid)
        time.sleep(SETTLE_PAUSE)
        status_now = read_status(pid)
        result.final, result.hwm = status_now["VmRSS"], status_now["VmHWM"]
        result.gc_collected = signal_server(server, signal.SIGUSR1, "gc", timeout)
        time.sleep(SETTLE_PAUSE / 2)
        result.after_gc = rss(pid)
        result.trim_result = signal_server(server, signal.SIGUSR2, "trim", timeout)
        time.sleep(SETTLE_PAUSE / 2)
        result.after_trim = rss(pid)
    except Exception as exc:  # reported in the table; the other runs go on
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        server.stop()
        result.statuses = dict(sorted(statuses.items()))
        result.seconds = time.monotonic() - started
    return result


def short_error(error: str) -> str:
    """The last line of *error* (for a server that died: its exception), for the table."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def mib(value: int) -> str:
    """*value* bytes as MiB with one decimal."""
    return f"{value / MIB:.1f}"


@dataclass
class MemoryRun:
    """One run of this benchmark: one configuration, its variants and inputs."""

    config: str
    results: list[RunResult]
    inputs: list[HostileInput]
    meta: dict[str, object]

    @property
    def failed(self) -> bool:
        """Whether any server run ended in an error."""
        return any(r.error for r in self.results)


def run_memory(
    config: str,
    variants: Sequence[str],
    *,
    scale: float = 1.0,
    inputs: str = "abcd",
    budget: float = 540.0,
    timeout: float = 30.0,
    rebuild_venvs: bool = False,
    command: str = "python bench/hostile.py",
    source: str | None = None,
) -> MemoryRun:
    """Flood a fresh server of every variant with every input (in that order).

    The servers run in the venvs of the environment's aiohttp version (see
    ``venvs.py``); the inputs follow that aiohttp's default header limits.
    Server logs are kept (and their directory logged) when a run fails.
    *source* describes the measured ``src/`` (default: its current ``source_state()``).
    """
    started = time.monotonic()
    limits = aiohttp_header_limits()
    chosen = [h for h in make_inputs(limits, scale) if h.key in inputs]
    pythons = {v: ensure_venv(v, rebuild=rebuild_venvs) for v in variants}
    deadline = time.monotonic() + budget
    workdir = new_workdir()
    runs = [(v, h) for v in variants for h in chosen]
    results: list[RunResult] = []
    for done, (variant, hostile) in enumerate(runs):
        # Each run may use an equal share of what is left, so one slow run
        # cannot starve the others.
        share = (deadline - time.monotonic()) / (len(runs) - done)
        log(f"{variant} {hostile.name}: {hostile.count} requests (budget {share:.0f} s)")
        result = run_one(
            variant,
            pythons[variant],
            config,
            hostile,
            limits,
            time.monotonic() + share,
            timeout,
            workdir,
        )
        log(
            f"  sent {result.requests_sent}, {result.statuses}, RSS {mib(result.baseline)} -> "
            f"{mib(result.final)} MiB (peak {mib(result.peak)}, after gc {mib(result.after_gc)},"
            f" after trim {mib(result.after_trim)})"
            f" in {result.seconds:.1f} s"
            + (f"; {short_error(result.error)}" if result.error else "")
        )
        results.append(result)
    packages = sorted({f"{r.variant}={r.server['package']}" for r in results if r.server})
    reported = sorted({str(r.server["aiohttp"]) for r in results if r.server})
    meta: dict[str, object] = {
        "command": command,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "elapsed_s": time.monotonic() - started,
        "git": source or source_state(),
        "aiohttp": ", ".join(reported) or aiohttp.__version__,
        "python": sys.version.split()[0],
        "packages": ", ".join(packages),
        "aiohttp_limits": limits,
        "config": config,
        "config_note": (
            'allow_headers="*", allow_methods="*"'
            if config == "allow-all"
            else "allow_headers X-Token and Content-Type, allow_methods None"
        ),
    }
    run = MemoryRun(config, results, chosen, meta)
    if run.failed:
        log(f"server logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return run


#: Heading of the section of ``benchmarks.md`` that holds this benchmark's blocks.
MEMORY_HEADING = "## 6. Memory under hostile preflights (`bench/hostile.py`)"
#: Block title per ``--config``.
CONFIG_TITLES = {
    "allow-all": 'Preflights processed as far as the package goes (`--config allow-all`: `"*"`)',
    "app": "Preflights refused (`--config app`: `server.py`'s ordinary configuration)",
}


def memory_intro() -> list[str]:
    """The section heading and the paragraph before the blocks."""
    return [
        MEMORY_HEADING,
        "",
        "Resident memory (`VmRSS`) of a fresh server process per variant and input while it "
        "answers floods of oversized preflights that aiohttp's *default* header limits still "
        "accept (inputs below; every request has distinct content), sampled during the flood, "
        "2 s after it, after a full `gc.collect()` in the server and after glibc's "
        "`malloc_trim(0)`. Each block below is one `bench/hostile.py` run (`run.py` runs both, "
        "`hostile.py` alone replaces its own block in this file); see `bench/README.md`.",
    ]


def _markers(config: str) -> tuple[str, str]:
    return f"<!-- hostile.py --config {config} -->", f"<!-- /hostile.py --config {config} -->"


def summary_line(run: MemoryRun) -> str:
    """One line: the largest RSS growth per variant, settled, after gc, after the trim."""
    parts: list[str] = []
    answers: list[str] = []
    for variant in dict.fromkeys(r.variant for r in run.results):
        mine = [r for r in run.results if r.variant == variant and r.requests_sent]
        if not mine:
            parts.append(f"{variant} n/a")
            continue
        growth = max(r.growth for r in mine) / MIB
        after_gc = max(r.growth_after_gc for r in mine) / MIB
        after_trim = max(r.growth_after_trim for r in mine) / MIB
        parts.append(f"{variant} {growth:+.1f} / {after_gc:+.1f} / {after_trim:+.1f}")
        codes = sorted({code for r in mine for code in r.statuses})
        answers.append(f"{variant} {', '.join(codes)}")
    inputs = "".join(h.key for h in run.inputs)
    flags = ""
    if any(r.truncated for r in run.results):
        flags += " Some runs were cut short by the time budget."
    if run.failed:
        flags += " Some runs failed (see the table)."
    return (
        f"**Summary:** largest RSS growth over inputs ({', '.join(inputs)}), 2 s after the flood"
        f" / after `gc.collect()` / after `malloc_trim(0)`, in MiB: {'; '.join(parts)}."
        f" Answers: {'; '.join(answers)}.{flags}"
    )


def render_markdown(run: MemoryRun) -> str:
    """One block of ``benchmarks.md``: summary, inputs, the RSS table, RSS over time, notes."""
    results, inputs, meta = run.results, run.inputs, run.meta
    start, end = _markers(run.config)
    limits = meta["aiohttp_limits"]
    lines = [
        start,
        f"### {CONFIG_TITLES.get(run.config, run.config)}",
        "",
        summary_line(run),
        "",
        f"- command: `{meta['command']}`",
        f"- date: {meta['date']}; run time {meta['elapsed_s']:.0f} s; git {meta['git']}",
        f"- aiohttp {meta['aiohttp']} (reported by the servers), Python {meta['python']};"
        f" packages: {meta['packages']}",
        f"- aiohttp default header limits: {limits}",
        "",
        "| input | requests | header lines / request | bytes / request | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    sizes = {r.input: r.request_bytes for r in results if r.request_bytes}
    for h in inputs:
        target = f"/r0 .. /r{h.routes - 1} round-robin" if h.routes else "/api"
        lines.append(
            f"| {h.name} | {h.count} | {h.header_lines} | {sizes.get(h.key, 0):,} | {target} |"
        )
    lines += [
        "",
        f"Server configuration: `--config {meta['config']}` ({meta['config_note']}).",
        "",
        "RSS in MiB. *peak*: highest sample; *VmHWM*: the kernel's peak RSS (includes"
        " start-up and in-flight buffers); *final*: 1 s and 2 s after the connection"
        " closed; *growth* = final (2 s) - baseline; *after gc*: RSS after a full"
        " `gc.collect()` in the server (it then freed *objects* objects); *after trim*:"
        " RSS after that and glibc's `malloc_trim(0)` (what is still in use); *sent* counts"
        " requests, *status codes* their answers (*closed*/*reset*: the connection"
        " ended without an answer).",
        "",
        "| variant | input | sent | status codes | max response header bytes | baseline"
        " | peak | VmHWM | final +1 s | final +2 s | growth | after gc | objects | after trim"
        " | growth after trim | time s |",
        "| --- | --- | ---: | --- | ---: |" + " ---: |" * 11,
    ]
    for r in results:
        codes = ", ".join(f"{k}: {v}" for k, v in r.statuses.items()) or "-"
        if r.truncated:
            codes += " (time budget: truncated)"
        if r.error:
            codes += f" **error: {short_error(r.error)}**"
        lines.append(
            f"| {r.variant} | {r.input_name} | {r.requests_sent} | {codes}"
            f" | {r.max_response_header_bytes:,} | {mib(r.baseline)} | {mib(r.peak)}"
            f" | {mib(r.hwm)} | {mib(r.final_first)} | {mib(r.final)} | {r.growth / MIB:+.1f}"
            f" | {mib(r.after_gc)} | {r.gc_collected:,} | {mib(r.after_trim)}"
            f" | {r.growth_after_trim / MIB:+.1f} | {r.seconds:.1f} |"
        )
    header = " | ".join(f"{10 * k}%" for k in range(1, SAMPLES + 1))
    lines += [
        "",
        "RSS over time (MiB): baseline, then after every 10 % of the requests.",
        "",
        f"| variant | input | base | {header} |",
        "| --- | --- | " + " | ".join(["---:"] * (SAMPLES + 1)) + " |",
    ]
    for r in results:
        cells = [mib(v) for _, v in r.samples] + ["-"] * (SAMPLES - len(r.samples))
        lines.append(f"| {r.variant} | {r.input} | {mib(r.baseline)} | {' | '.join(cells)} |")
    probes = [r for r in results if r.limit_probe]
    if probes:
        lines += ["", "aiohttp's own limits, probed before input (c) (status per request):", ""]
        for r in probes:
            found = "; ".join(f"{label}: {status}" for label, status in r.limit_probe.items())
            lines.append(f"- {r.variant}: {found}")
    lines.append(end)
    return "\n".join(lines) + "\n"


def existing_blocks(text: str) -> dict[str, str]:
    """The blocks of this benchmark found in a ``benchmarks.md`` text, by ``--config``."""
    found: dict[str, str] = {}
    for config in CONFIGS:
        start, end = _markers(config)
        i = text.find(start)
        j = text.find(end, i + 1) if i >= 0 else -1
        if i >= 0 and j >= 0:
            found[config] = text[i : j + len(end)] + "\n"
    return found


def update_document(path: Path, run: MemoryRun) -> None:
    """Put *run*'s block into the report at *path*: replace its own, else add it to section 6.

    The section is appended (before any ``## Targets`` section) when the
    report has none; a missing report is created with the section alone.
    """
    block = render_markdown(run)
    text = path.read_text() if path.exists() else ""
    start, end = _markers(run.config)
    i = text.find(start)
    j = text.find(end, i + 1) if i >= 0 else -1
    if i >= 0 and j >= 0:
        text = text[:i] + block.rstrip("\n") + text[j + len(end) :]
    else:
        heading = text.find(MEMORY_HEADING)
        if heading < 0:
            section = "\n".join(["", *memory_intro(), "", block])
            targets = text.find("\n## Targets")
            at = targets + 1 if targets >= 0 else len(text)
            text = text[:at].rstrip("\n") + "\n" + section + "\n" + text[at:]
        else:
            after = text.find("\n## ", heading + len(MEMORY_HEADING))
            at = after + 1 if after >= 0 else len(text)
            text = text[:at].rstrip("\n") + "\n\n" + block + "\n" + text[at:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.lstrip("\n"))


def write_json(path: Path, run: MemoryRun) -> None:
    """The raw numbers of *run* (bytes) as JSON."""
    payload = {
        "meta": run.meta,
        "inputs": [asdict(h) for h in run.inputs],
        "results": [
            {
                **asdict(r),
                "peak": r.peak,
                "growth": r.growth,
                "growth_after_gc": r.growth_after_gc,
                "growth_after_trim": r.growth_after_trim,
                "unit": "bytes",
            }
            for r in run.results
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line interface."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=list(DEFAULT_VARIANTS),
        help=f"variants to run (of {', '.join(VARIANTS)}; default: %(default)s)",
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the requests")
    parser.add_argument(
        "--scale", type=float, help="multiply the request counts (default 1, quick 0.1)"
    )
    parser.add_argument("--inputs", default="abcd", help="subset of the inputs a-d to run")
    parser.add_argument(
        "--config",
        choices=sorted(CONFIGS),
        default="allow-all",
        help='CORS configuration: allow_headers/methods="*" (default), or server.py\'s own',
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="directory whose benchmarks.md gets this run's block (default: docs/, or a temp dir"
        " with --quick), as bench/run.py writes it",
    )
    parser.add_argument("--json", type=Path, help="write the raw results as JSON to this file")
    parser.add_argument(
        "--budget", type=float, help="time budget of the floods in seconds (default 540, quick 120)"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="per socket operation (default %(default)s s)"
    )
    parser.add_argument("--rebuild-venvs", action="store_true", help="recreate .bench-venvs/*")
    args = parser.parse_args(argv)
    args.variants = [v for item in args.variants for v in item.split(",") if v]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {unknown}; expected some of {VARIANTS}")
    if set(args.inputs) - set("abcd"):
        parser.error("--inputs takes letters among a, b, c, d")
    return args


def log(message: str) -> None:
    """Progress message on stderr (stdout carries the report)."""
    print(f"[hostile {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every variant against every input and report."""
    args = parse_args(argv)
    argv_list = list(sys.argv[1:] if argv is None else argv)
    out = report_dir(args.out, quick=args.quick)
    run = run_memory(
        args.config,
        args.variants,
        scale=args.scale or (0.1 if args.quick else 1.0),
        inputs=args.inputs,
        budget=args.budget or (120.0 if args.quick else 540.0),
        timeout=args.timeout,
        rebuild_venvs=args.rebuild_venvs,
        command=shlex.join(["python", "bench/hostile.py", *argv_list]),
    )
    print(render_markdown(run))
    update_document(out / "benchmarks.md", run)
    log(f"report: {out / 'benchmarks.md'} (section 6, --config {args.config} block)")
    if args.json is not None:
        write_json(args.json, run)
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
