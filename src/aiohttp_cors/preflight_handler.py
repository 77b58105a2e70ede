"""``_PreflightHandler``, kept for code that subclassed aiohttp-cors 0.8.1's.

Preflights are answered by the package itself; a subclass says which layered
configuration answers a preflight by overriding :meth:`_get_config`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

__all__ = ["_PreflightHandler"]


class _PreflightHandler:
    """The base of objects that give the configuration answering a preflight."""

    async def _get_config(
        self, request: web.Request, origin: str, request_method: str
    ) -> Mapping[Any, Any]:
        """The layered configuration for a preflight; subclasses provide it."""
        raise NotImplementedError()
