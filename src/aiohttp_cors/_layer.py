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
from collections.abc import Awaitable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from aiohttp.web_urldispatcher import AbstractResource, MatchedSubAppResource

from ._headers import merge_vary
from ._origins import parse_request_origin
from ._policy import Grant, OriginPolicy, RefusalReason
from ._predicates import PredicateFailed
from ._routing import (
    NOT_ENABLED,
    CorsRouting,
    PreflightForbidden,
    PreflightKey,
    PreflightResponse,
)

if TYPE_CHECKING:
    from .urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

logger = logging.getLogger("aiohttp_cors")

_ORIGIN = hdrs.ORIGIN
_VARY = hdrs.VARY
_OPTIONS = hdrs.METH_OPTIONS
_ACRM = hdrs.ACCESS_CONTROL_REQUEST_METHOD


async def _ready(response: web.StreamResponse) -> web.StreamResponse:
    return response


def mounted_applications(
    app: web.Application,
) -> Iterator[tuple[AbstractResource, web.Application]]:
    """Every application mounted in ``app``, at any depth, with the resource mounting it."""
    for resource in app.router.resources():
        if isinstance(resource, (web.PrefixedSubAppResource, MatchedSubAppResource)):
            sub = resource.get_info()["app"]
            yield resource, sub
            yield from mounted_applications(sub)


class CorsLayer:
    """The middleware, the ``on_response_prepare`` receiver and the start-up hook of one config."""

    def __init__(self, adapter: ResourcesUrlDispatcherRouterAdapter) -> None:
        #: The router adapter, under the name 0.8.1's implementation object used.
        self._router_adapter = adapter
        self._routing: CorsRouting = adapter.routing
        #: Whether start-up found nothing for the middleware to pre-empt and removed it.
        self.middleware_removed = False
        # The routing's own table of decisions, read first without a method call.
        self._remembered = adapter.routing.remembered_decisions

    @web.middleware
    def middleware(self, request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
        """Answer preflights to CORS-enabled resources; pass everything else on.

        Not a coroutine: other requests get the handler's own awaitable back,
        which spares a coroutine frame on every request of an application
        that keeps this middleware (about 2,600 instructions per request, measured
        with bench/run.py under callgrind on aiohttp 3.14).
        """
        if request.method == _OPTIONS and _ORIGIN in request.headers and _ACRM in request.headers:
            remembered, key = self._routing.remembered_preflight(request)
            if remembered is not None:
                return _ready(remembered)
            return self._preflight_or_handler(request, handler, key)
        return handler(request)

    async def _preflight_or_handler(
        self, request: web.Request, handler: Handler, key: PreflightKey
    ) -> web.StreamResponse:
        response = await self._routing.preflight(request, key)
        return await handler(request) if response is None else response

    async def on_startup(self, app: web.Application) -> None:
        """Add the preflight routes now that the application's own routes are all there.

        Then the middleware is removed when it has nothing to pre-empt: aiohttp
        skips its middleware machinery for applications without any, which
        saves more than the whole CORS work on every request. Our OPTIONS
        routes then answer the preflights, with the same answers.
        """
        self._routing.on_startup(app.router.routes())
        self.middleware_removed = False
        if not self._middleware_needed(app):
            app.middlewares.remove(self.middleware)
            self.middleware_removed = self._routing.middleware_removed = True
        logger.debug(
            "CORS preflights answered by %s",
            "OPTIONS routes" if self.middleware_removed else "the preflight middleware",
        )

    def _middleware_needed(self, app: web.Application) -> bool:
        """Whether preflights must be answered before something else would see them."""
        if app.middlewares.frozen or app.frozen:
            # Not the documented moment (start-up before freezing); keep what works.
            return True
        if app.on_startup[-1] != self.on_startup:
            # A later start-up hook could still add a middleware or an OPTIONS route.
            return True
        routing = self._routing
        if routing.all_routes:
            return True  # preflights to any path, also where no route of ours exists
        if any(middleware != self.middleware for middleware in app.middlewares):
            return True  # e.g. authentication, which must not see preflights
        if any(sub.middlewares for _, sub in mounted_applications(app)):
            return True
        return any(
            route.method in (hdrs.METH_OPTIONS, hdrs.METH_ANY)
            and route not in routing.preflight_routes
            for resource in routing.entries
            for route in resource
        )  # the application's own OPTIONS or "*" handler (views included)

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Decorate an actual response (0.8.1's order and values) and merge ``Vary: Origin``."""
        # Class identity, not isinstance(): responses are MutableMappings, whose ABC
        # isinstance() check cost about 3,400 instructions per response (callgrind).
        if response.__class__ is PreflightResponse or response.__class__ is PreflightForbidden:
            return
        policy = self._remembered.get((request.match_info.route, request.method))
        if policy is None:
            policy = self._routing.actual_policy(request)
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
                    self._routing.count_refusal(RefusalReason.ORIGIN_MALFORMED, request)
                else:
                    found = policy.resolve(origin, self._routing.predicates.ask)
                    if found is None or isinstance(found, Grant):
                        self._decorate(request, headers, origin, found)
                    else:
                        await self._decorate_asking(request, headers, origin, found)
        _add_vary_origin(headers)

    async def _decorate_asking(
        self,
        request: web.Request,
        headers: MutableMapping[str, str],
        origin: str,
        pending: Awaitable[Grant | None],
    ) -> None:
        """Wait for the predicates a lookup had to ask (with their timeouts), then decorate."""
        try:
            grant = await pending
        except PredicateFailed:
            self._routing.count_refusal(RefusalReason.PREDICATE_FAILED, request)
        else:
            self._decorate(request, headers, origin, grant)

    def _decorate(
        self,
        request: web.Request,
        headers: MutableMapping[str, str],
        origin: str,
        grant: Grant | None,
    ) -> None:
        if grant is None:
            self._routing.count_refusal(RefusalReason.ORIGIN_NOT_ALLOWED, request)
        else:
            grant.decorate_actual(headers, origin)


def _add_vary_origin(headers: Any) -> None:
    """Merge ``Origin`` into ``Vary``: every line into one, ``Vary: *`` left alone."""
    if _VARY not in headers:
        headers[_VARY] = "Origin"
    else:
        merged = merge_vary(", ".join(headers.getall(_VARY)), "Origin")
        if merged is not None:
            headers[_VARY] = merged
