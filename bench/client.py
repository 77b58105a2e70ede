"""A minimal HTTP/1.1 client over one keep-alive connection, plus the request kinds.

The client is deliberately tiny (a blocking socket, pre-encoded requests, one
request at a time, responses read by ``Content-Length`` or chunked framing) so
that it costs little next to the measured server, and it never runs under
valgrind.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

from server import ALLOWED_ORIGIN, glob_pattern


@dataclass(frozen=True)
class RequestKind:
    """One kind of measured request."""

    name: str
    label: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, host: str) -> bytes:
        """The request as bytes on the wire (HTTP/1.1, keep-alive, no body)."""
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @property
    def origin(self) -> str | None:
        """The request's ``Origin`` header, if any."""
        return next((v for k, v in self.headers if k.lower() == "origin"), None)


_ORIGIN = (("Origin", ALLOWED_ORIGIN),)
_PREFLIGHT = (("Access-Control-Request-Method", "POST"),)

GET_ALLOWED = RequestKind("get_allowed", "GET /api, allowed Origin", "GET", "/api", _ORIGIN)
GET_NO_ORIGIN = RequestKind("get_no_origin", "GET /api, no Origin", "GET", "/api")
PREFLIGHT = RequestKind(
    "preflight",
    "preflight OPTIONS /api",
    "OPTIONS",
    "/api",
    (*_ORIGIN, *_PREFLIGHT, ("Access-Control-Request-Headers", "x-token")),
)
PLAIN = RequestKind("plain", "GET /plain (non-CORS route), Origin", "GET", "/plain", _ORIGIN)

#: The four request kinds of the main comparison, in table order.
BASE_KINDS = (GET_ALLOWED, GET_NO_ORIGIN, PREFLIGHT, PLAIN)


def route_kind(routes: int) -> RequestKind:
    """GET with the allowed origin on the last route of the ``--routes`` scenario."""
    return RequestKind(
        "get_allowed", "GET /r{N-1}, allowed Origin", "GET", f"/r{routes - 1}", _ORIGIN
    )


def glob_kind(globs: int) -> RequestKind:
    """GET /api with an origin matched by the last pattern of the ``--globs`` scenario."""
    origin = glob_pattern(globs - 1).replace("*", "a")
    return RequestKind(
        "get_allowed", "GET /api, pattern Origin", "GET", "/api", (("Origin", origin),)
    )


def hostile_kinds() -> tuple[RequestKind, ...]:
    """Preflights built to make a CORS layer do a lot of work."""
    many = ", ".join(f"x-h{i}" for i in range(10_000))
    long_origin = "https://" + "a" * (4096 - len("https://") - len(".example")) + ".example"
    return (
        RequestKind(
            "acrh_10k",
            "ACRH with 10,000 names",
            "OPTIONS",
            "/api",
            (*_ORIGIN, *_PREFLIGHT, ("Access-Control-Request-Headers", many)),
        ),
        RequestKind(
            "acrh_commas",
            "ACRH of 64 KiB commas",
            "OPTIONS",
            "/api",
            (*_ORIGIN, *_PREFLIGHT, ("Access-Control-Request-Headers", "," * 65536)),
        ),
        RequestKind(
            "origin_4k",
            "4 KiB Origin",
            "OPTIONS",
            "/api",
            (("Origin", long_origin), *_PREFLIGHT, ("Access-Control-Request-Headers", "x-token")),
        ),
    )


@dataclass
class Response:
    """A parsed response: status, lower-cased headers, body."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def keep_alive(self) -> bool:
        """Whether the server keeps the connection open."""
        return self.headers.get("connection", "").lower() != "close"


class ConnectionClosed(Exception):
    """The server closed the connection before a full response arrived."""


class Client:
    """Sequential requests over one keep-alive TCP connection (reconnects if closed)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 600.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = bytearray()

    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """Whether a connection is open."""
        return self._sock is not None

    def connect(self) -> None:
        """Open the connection if it is not open."""
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            self._buf.clear()

    def close(self) -> None:
        """Close the connection."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _fill(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionClosed("server closed the connection")
        self._buf += chunk

    def _read_until(self, sep: bytes) -> bytes:
        while (idx := self._buf.find(sep)) < 0:
            self._fill()
        data = bytes(self._buf[:idx])
        del self._buf[: idx + len(sep)]
        return data

    def _read_exact(self, size: int) -> bytes:
        while len(self._buf) < size:
            self._fill()
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def send(self, raw: bytes) -> Response:
        """Send one pre-encoded request and read its response."""
        self.connect()
        assert self._sock is not None
        self._sock.sendall(raw)
        head = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int(self._read_until(b"\r\n").split(b";")[0], 16):
                parts.append(self._read_exact(size))
                self._read_until(b"\r\n")
            self._read_until(b"\r\n")  # no trailers expected
            body = b"".join(parts)
        else:
            body = b""
        response = Response(status, headers, body)
        if not response.keep_alive:
            self.close()
        return response

    def repeat(self, raw: bytes, count: int) -> Response:
        """Send *raw* *count* times sequentially; return the last response."""
        response = Response(0)
        for _ in range(count):
            response = self.send(raw)
        return response
