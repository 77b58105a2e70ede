"""The aiohttp side: preflights answered first, actual responses decorated at prepare time.

- Preflights (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
  to CORS-enabled resources are answered by a middleware that ``setup()``
  inserts first: before any application middleware (authentication included:
  browsers never send credentials on a preflight, Fetch §4.8) and before the
  application's own ``OPTIONS`` or ``*`` handlers, which still get the plain
  ``OPTIONS`` requests.
- ``on_response_prepare`` sees every response that is sent (streamed,
  prepared in the handler, raised ``HTTPException``s), which a middleware
  editing headers after ``await handler()`` would miss.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from ._policy import OriginPolicy, RefusalReason, merge_vary
from ._predicates import PredicateFailed
from ._routing import (
    NOT_ENABLED,
    CorsRouting,
    PreflightForbidden,
    PreflightResponse,
)
from ._syntax import parse_request_origin

if TYPE_CHECKING:
    from .urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

__all__ = ["CorsLayer"]

logger = logging.getLogger("aiohttp_cors")

_ORIGIN = hdrs.ORIGIN
_VARY = hdrs.VARY
_OPTIONS = hdrs.METH_OPTIONS
_ACRM = hdrs.ACCESS_CONTROL_REQUEST_METHOD
_OUR_RESPONSES = (PreflightResponse, PreflightForbidden)


class CorsLayer:
    """The middleware, the ``on_response_prepare`` receiver and the start-up hook of one config."""

    def __init__(self, adapter: ResourcesUrlDispatcherRouterAdapter) -> None:
        #: The router adapter, under the name 0.8.1's implementation object used.
        self._router_adapter = adapter
        self._routing: CorsRouting = adapter.routing

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer preflights to CORS-enabled resources; pass everything else on."""
        if (
            request.method == _OPTIONS
            and _ORIGIN in request.headers
            and _ACRM in request.headers
        ):
            response = await self._routing.preflight(request)
            if response is not None:
                return response
        return await handler(request)

    async def on_startup(self, app: web.Application) -> None:
        """Add the preflight routes now that the application's own routes are all there."""
        self._routing.on_startup(app.router.routes())

    async def on_response_prepare(
        self, request: web.Request, response: web.StreamResponse
    ) -> None:
        """Decorate an actual response (0.8.1's order and values) and merge ``Vary: Origin``."""
        if isinstance(response, _OUR_RESPONSES):
            return
        routing = self._routing
        policy = routing.actual_policy(request)
        if policy is NOT_ENABLED:
            return
        headers = response.headers
        if isinstance(policy, OriginPolicy):  # else VARY_ONLY
            origins = request.headers.getall(_ORIGIN, ())
            if origins:
                origin = origins[0]
                exact = policy.exact.get(origin) if len(origins) == 1 else None
                if exact is not None:
                    # Exact keys are canonical origins: an exact hit needs no validation.
                    exact.decorate_actual(headers, origin)
                elif len(origins) != 1 or parse_request_origin(origin) is None:
                    routing.count_refusal(RefusalReason.ORIGIN_MALFORMED, request)
                else:
                    await self._decorate_other(request, headers, origin, policy)
        merged = merge_vary(", ".join(headers.getall(_VARY, ())), "Origin")
        if merged is not None:
            headers[_VARY] = merged

    async def _decorate_other(
        self,
        request: web.Request,
        headers: MutableMapping[str, str],
        origin: str,
        policy: OriginPolicy,
    ) -> None:
        """Origins that are not exact keys: patterns, regexes, predicates, then ``*``."""
        routing = self._routing
        try:
            grant = await policy.lookup(origin, routing.predicates.ask)
        except PredicateFailed:
            routing.count_refusal(RefusalReason.PREDICATE_FAILED, request)
            return
        if grant is None:
            routing.count_refusal(RefusalReason.ORIGIN_NOT_ALLOWED, request)
        else:
            grant.decorate_actual(headers, origin)
