"""Header names and origins shared by the HTTP test modules."""

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


def access_control_headers(headers: Any) -> list[str]:
    """The names of a response's Access-Control-* headers, in order."""
    return [name for name in headers if name.lower().startswith("access-control-")]
