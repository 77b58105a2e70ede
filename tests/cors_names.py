"""Header names, origins and refusal texts shared by the HTTP test modules."""

from __future__ import annotations

from typing import Any

ORIGIN = "https://a.example"
OTHER = "https://b.example"
EVIL = "https://evil.example"
PREFIX = "CORS preflight request failed: "

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACEH = "Access-Control-Expose-Headers"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ACMA = "Access-Control-Max-Age"
ACAPN = "Access-Control-Allow-Private-Network"
ACRM = "Access-Control-Request-Method"
ACRH = "Access-Control-Request-Headers"
ACRPN = "Access-Control-Request-Private-Network"

#: The Vary value of a successful preflight (a refused one varies on Origin only).
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"

#: The refusal texts aiohttp-cors 0.8.1 sent, after PREFIX.
ORIGIN_MISSING = "origin header is not specified in the request"
METHOD_MISSING = "'Access-Control-Request-Method' header is not specified"
NO_ORIGINS = "no origins are allowed"


def method_not_allowed(method: str, origin: str = ORIGIN) -> str:
    """0.8.1's refusal text for a requested method (both values as Python reprs)."""
    return f"request method {method!r} is not allowed for {origin!r} origin"


def origin_not_allowed(origin: str) -> str:
    """0.8.1's refusal text for an origin no layer allows."""
    return f"origin '{origin}' is not allowed"


def headers_not_allowed(*names: str) -> str:
    """0.8.1's refusal text for requested headers (upper case, request order here)."""
    return "headers are not allowed: " + ", ".join(names)


def access_control_headers(headers: Any) -> list[str]:
    """The names of a response's Access-Control-* headers, in order."""
    return [name for name in headers if name.lower().startswith("access-control-")]
