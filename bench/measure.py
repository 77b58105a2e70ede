"""Measurements: server processes, callgrind and CPU-time meters, wrk, hostile preflights.

Two meters share one protocol (``start()`` then ``stop()`` around N requests):

* :class:`CallgrindMeter` zeroes the counters of a server running under
  ``valgrind --tool=callgrind`` with ``callgrind_control -z``, then dumps them
  with ``callgrind_control --dump`` and reads the dump's ``summary:`` line
  (instructions executed, Ir).
* :class:`CpuMeter` reads the server's on-CPU time in nanoseconds from
  ``/proc/<pid>/task/*/schedstat`` (kernel scheduler accounting, ns resolution).
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from client import GET_ALLOWED, Client, ConnectionClosed, RequestKind, Response
from server import ALLOWED_ORIGIN, EXIT_UNSUPPORTED

BENCH_DIR = Path(__file__).resolve().parent
SERVER_SCRIPT = BENCH_DIR / "server.py"
CORS_VARIANTS = ("ours", "cors081", "middlewares")
#: Bytecode cache of the servers, kept out of src/ and site-packages.
PYCACHE = BENCH_DIR.parent / ".bench-venvs" / "pycache"


class ServerError(RuntimeError):
    """The server process failed to start or died."""


class UnsupportedScenario(RuntimeError):
    """The variant cannot run the requested scenario (server exit status 3)."""


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server process."""

    variant: str
    python: Path
    args: tuple[str, ...] = ()
    valgrind: bool = False

    @property
    def label(self) -> str:
        """Short human-readable name, also used in file names."""
        suffix = "".join(a.lstrip("-") for a in self.args)
        return f"{self.variant}{'-' + suffix if suffix else ''}"


class ServerProcess:
    """A running ``bench/server.py`` (optionally under callgrind); a context manager."""

    def __init__(self, spec: ServerSpec, workdir: Path, start_timeout: float = 600.0) -> None:
        self.spec = spec
        self.workdir = workdir
        self.start_timeout = start_timeout
        unique = f"{spec.label}.{uuid.uuid4().hex[:8]}"  # the same spec may run twice at once
        self.cg_out = workdir / f"cg.{unique}.out"
        self.stderr_path = workdir / f"stderr.{unique}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.info: dict[str, object] = {}

    @property
    def pid(self) -> int:
        """Pid of the server (under valgrind the client program keeps valgrind's pid)."""
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _stderr_tail(self, chars: int = 3000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self) -> None:
        """Start the server and wait for its ``ready`` line."""
        cmd = [str(self.spec.python), str(SERVER_SCRIPT), self.spec.variant, "0", *self.spec.args]
        if self.spec.valgrind:
            # Start-up runs uninstrumented (fast); instrumentation is switched on
            # once the server listens, before any warm-up request.
            cmd = [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={self.cg_out}",
                *cmd,
            ]
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPYCACHEPREFIX": str(PYCACHE)}
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # compiling src/ at each start is slow
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + self.start_timeout
        line = b""
        while not line.endswith(b"\n"):
            if not sel.select(timeout=max(deadline - time.monotonic(), 0)):
                self.stop()
                raise ServerError(f"{self.spec.label}: no ready line after {self.start_timeout}s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
        sel.close()
        try:
            info = json.loads(line.decode() or "{}")
        except ValueError:
            info = {}
        if not info.get("ready"):
            code = self.proc.wait(timeout=60)
            self.proc = None
            if code == EXIT_UNSUPPORTED and "unsupported" in info:
                raise UnsupportedScenario(str(info["unsupported"]))
            raise ServerError(f"{self.spec.label} exited with {code}:\n{self._stderr_tail()}")
        self.info = info
        self.port = int(info["port"])
        if self.spec.valgrind:
            subprocess.run(
                ["callgrind_control", "--instr=on", str(self.pid)],
                check=True,
                capture_output=True,
                timeout=300,
            )

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a grace period)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None

    def client(self) -> Client:
        """A fresh keep-alive client for this server."""
        return Client(self.port)

    def encode(self, kind: RequestKind) -> bytes:
        """*kind* encoded for this server."""
        return kind.encode(f"127.0.0.1:{self.port}")


class Meter(Protocol):
    """Measures a cost between ``start()`` and ``stop()``."""

    unit: str

    def start(self) -> None:
        """Begin a measurement."""

    def stop(self, hint: str, keep: bool = False) -> float:
        """End the measurement and return the cost (*keep*: keep the raw data, if any)."""


def cpu_ns(pid: int) -> int:
    """On-CPU time of all threads of *pid*, in nanoseconds (``schedstat``)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue  # thread exited meanwhile
    return total


class CpuMeter:
    """Server CPU time (ns) from ``/proc/<pid>/task/*/schedstat``."""

    unit = "ns"

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._start = 0

    def start(self) -> None:
        """Remember the current CPU time."""
        self._start = cpu_ns(self.pid)

    def stop(self, hint: str, keep: bool = False) -> float:
        """CPU nanoseconds since :meth:`start`."""
        return float(cpu_ns(self.pid) - self._start)


_SUMMARY = re.compile(rb"^(summary|totals):\s*(\d+)", re.MULTILINE)


def parse_callgrind_dump(path: Path) -> int:
    """Instructions (Ir) in a callgrind dump: its ``summary:`` line, else ``totals:``."""
    found: dict[str, int] = {
        key.decode(): int(value) for key, value in _SUMMARY.findall(path.read_bytes())
    }
    if "summary" in found:
        return found["summary"]
    if "totals" in found:
        return found["totals"]
    raise ValueError(f"no summary/totals line in {path}")


class CallgrindMeter:
    """Instructions executed by a server running under callgrind."""

    unit = "Ir"

    def __init__(self, server: ServerProcess, keep_dir: Path | None = None) -> None:
        self.server = server
        self.keep_dir = keep_dir

    def _control(self, *args: str) -> None:
        subprocess.run(
            ["callgrind_control", *args, str(self.server.pid)],
            check=True,
            capture_output=True,
            timeout=300,
        )

    def _dumps(self) -> set[Path]:
        prefix = self.server.cg_out.name + "."
        return {p for p in self.server.workdir.iterdir() if p.name.startswith(prefix)}

    def start(self) -> None:
        """Zero the event counters."""
        self._control("-z")

    def stop(self, hint: str, keep: bool = False) -> float:
        """Dump the counters (described by *hint*) and return the dump's Ir.

        With *keep* and a ``keep_dir``, the dump is moved there (for
        ``callgrind_annotate``/KCachegrind) instead of being deleted.
        """
        before = self._dumps()
        self._control(f"--dump={hint}")
        new: set[Path] = set()
        for _ in range(100):  # the dump is normally complete when the command returns
            new = self._dumps() - before
            if new:
                break
            time.sleep(0.1)
        if len(new) != 1:
            raise RuntimeError(f"expected one new callgrind dump, got {sorted(new)}")
        dump = new.pop()
        data = dump.read_bytes()
        if f"desc: Trigger: dump {hint}\n".encode() not in data[:4096]:
            raise RuntimeError(f"{dump} is not the dump for {hint!r}")
        value = parse_callgrind_dump(dump)
        if keep and self.keep_dir is not None:
            self.keep_dir.mkdir(parents=True, exist_ok=True)
            shutil.move(dump, self.keep_dir / (re.sub(r"[^\w.-]+", ".", hint) + ".callgrind"))
        else:
            dump.unlink()
        return float(value)


def make_meter(server: ServerProcess, keep_dir: Path | None = None) -> Meter:
    """The meter matching how *server* runs."""
    return CallgrindMeter(server, keep_dir) if server.spec.valgrind else CpuMeter(server.pid)


def check_response(variant: str, kind: RequestKind, response: Response) -> list[str]:
    """Differences between *response* and what *variant* must answer to *kind*."""
    problems: list[str] = []
    cors = variant in CORS_VARIANTS
    is_preflight = kind.method == "OPTIONS"
    expect_cors = cors and kind.origin is not None and kind.path != "/plain"
    expected_status = 200 if (cors or not is_preflight) else 405
    if response.status != expected_status:
        problems.append(f"status {response.status}, expected {expected_status}")
    acao = response.headers.get("access-control-allow-origin")
    if expect_cors and acao != kind.origin:
        problems.append(f"Access-Control-Allow-Origin {acao!r}, expected the request's Origin")
    if not expect_cors and acao is not None:
        problems.append(f"unexpected Access-Control-Allow-Origin {acao!r}")
    if expect_cors and response.headers.get("access-control-allow-credentials") != "true":
        problems.append("no Access-Control-Allow-Credentials: true")
    if expect_cors and is_preflight:
        methods = response.headers.get("access-control-allow-methods", "")
        if "POST" not in methods.upper():
            problems.append(f"Access-Control-Allow-Methods {methods!r} lacks POST")
        allowed = response.headers.get("access-control-allow-headers", "")
        if "x-token" not in allowed.lower():
            problems.append(f"Access-Control-Allow-Headers {allowed!r} lacks x-token")
    return problems


@dataclass
class KindResult:
    """Cost per request of one request kind on one server."""

    per_request: float
    unit: str
    status: int
    problems: list[str] = field(default_factory=list)
    spread: float = 0.0  # (max - min) of the per-round means, relative to per_request


def measure_kinds(
    server: ServerProcess,
    kinds: Sequence[RequestKind],
    n: int,
    warmup: int,
    rounds: int = 4,
    keep_dir: Path | None = None,
) -> dict[str, KindResult]:
    """Warm up, then measure *n* requests of each kind, each over its own keep-alive connection.

    Every kind gets *warmup* requests first (its last response is checked with
    :func:`check_response`).  The *n* measured requests of a kind are split into
    *rounds* segments, and the kinds take turns segment by segment, so that any
    drift in the server process spreads over all kinds; each segment is
    preceded by 3 unmeasured requests and measured on its own.  The result is
    total cost / *n*, plus the spread of the segment means.  Under callgrind,
    the first round's dumps are kept in *keep_dir* when given.
    """
    meter = make_meter(server, keep_dir)
    # A first zero/dump cycle: the first dump after start-up can carry stale totals.
    meter.start()
    meter.stop("prime")
    rounds = max(1, min(rounds, n))
    sizes = [n // rounds + (1 if i < n % rounds else 0) for i in range(rounds)]
    clients = {kind.name: server.client() for kind in kinds}
    raws = {kind.name: server.encode(kind) for kind in kinds}
    checks: dict[str, Response] = {}
    costs: dict[str, list[float]] = {kind.name: [] for kind in kinds}
    try:
        for kind in kinds:
            checks[kind.name] = clients[kind.name].repeat(raws[kind.name], max(warmup, 1))
        for round_no, size in enumerate(sizes):
            for kind in kinds:
                client, raw = clients[kind.name], raws[kind.name]
                client.repeat(raw, 3)
                meter.start()
                client.repeat(raw, size)
                hint = f"{server.spec.label}:{kind.name}:{round_no}"
                costs[kind.name].append(meter.stop(hint, keep=round_no == 0))
    finally:
        for client in clients.values():
            client.close()
    results: dict[str, KindResult] = {}
    for kind in kinds:
        means = [cost / size for cost, size in zip(costs[kind.name], sizes)]
        total = sum(costs[kind.name]) / n
        spread = (max(means) - min(means)) / total if total else 0.0
        last = checks[kind.name]
        problems = check_response(server.spec.variant, kind, last)
        results[kind.name] = KindResult(total, meter.unit, last.status, problems, spread)
    return results


@dataclass
class JobResult:
    """What one server process measured, and what it reported about itself."""

    info: dict[str, object]
    kinds: dict[str, KindResult]


def run_server_job(
    spec: ServerSpec,
    kinds: Sequence[RequestKind],
    n: int,
    warmup: int,
    workdir: Path,
    rounds: int = 4,
    keep_dir: Path | None = None,
) -> JobResult:
    """Start *spec*, measure *kinds*, stop it."""
    with ServerProcess(spec, workdir) as server:
        measured = measure_kinds(server, kinds, n, warmup, rounds, keep_dir)
        return JobResult(dict(server.info), measured)


@dataclass
class WrkResult:
    """One wrk run against one server."""

    rps: float
    requests: int
    cpu_us_per_request: float
    non_2xx: int


def have_wrk() -> bool:
    """Whether the ``wrk`` load generator is installed."""
    return shutil.which("wrk") is not None


def run_wrk(spec: ServerSpec, duration: int, workdir: Path, connections: int = 10) -> WrkResult:
    """``wrk -t1 -c<connections> -d<duration>s`` GET /api with the allowed Origin."""
    with ServerProcess(spec, workdir) as server:
        with server.client() as client:  # warm-up
            client.repeat(server.encode(GET_ALLOWED), 200)
        before = cpu_ns(server.pid)
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{duration}s",
                "-H",
                f"Origin: {ALLOWED_ORIGIN}",
                f"http://127.0.0.1:{server.port}/api",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 60,
        ).stdout
        cpu = cpu_ns(server.pid) - before
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
    non_2xx = int(non_2xx_match.group(1)) if non_2xx_match else 0
    return WrkResult(rps, requests, cpu / max(requests, 1) / 1000, non_2xx)


@dataclass
class HostileResult:
    """Server CPU time per hostile request (median over repetitions)."""

    median_ms: float
    max_ms: float
    status: int
    reps: int


def run_hostile(
    spec: ServerSpec, kinds: Sequence[RequestKind], reps: int, workdir: Path
) -> dict[str, HostileResult]:
    """Send each hostile kind *reps* times (after 3 warm-ups); time the server's CPU."""
    results: dict[str, HostileResult] = {}
    with ServerProcess(spec, workdir) as server:
        client = server.client()
        try:
            for kind in kinds:
                raw = server.encode(kind)
                samples: list[float] = []
                status = 0
                for i in range(reps + 3):
                    client.connect()  # reconnects outside the timed part if the server closed
                    before = cpu_ns(server.pid)
                    try:
                        status = client.send(raw).status
                    except (ConnectionClosed, ConnectionResetError, BrokenPipeError):
                        status = -1
                        client.close()
                    time.sleep(0.002)  # let the server finish any post-response work
                    elapsed = cpu_ns(server.pid) - before
                    if i >= 3:
                        samples.append(elapsed / 1e6)
                results[kind.name] = HostileResult(
                    statistics.median(samples), max(samples), status, len(samples)
                )
        finally:
            client.close()
    return results


def new_workdir() -> Path:
    """A scratch directory for dumps and server logs."""
    return Path(tempfile.mkdtemp(prefix="aiohttp-cors-bench-"))
