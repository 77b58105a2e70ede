"""The aiohttp side: preflights answered first, actual responses decorated at prepare time.

- Preflights are answered by a middleware that ``setup()`` inserts first, so
  they are answered before any application middleware (authentication
  included — browsers never send credentials on a preflight, Fetch §4.8) and
  never reach the application's own ``OPTIONS`` or ``*`` handlers. For other
  methods it returns the handler's coroutine without awaiting it: no
  coroutine frame of its own.
- ``on_response_prepare`` sees every response that is sent — streamed,
  prepared in the handler, raised ``HTTPException``s, the 500 of an unhandled
  exception — which a middleware editing headers after ``await handler()``
  would miss (CONTRACT §6). It is a plain function returning an
  already-finished awaitable on the common paths: no coroutine per response.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Generator
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from ._policy import (
    ACTUAL_RESPONSE_HEADERS,
    Grant,
    OriginPolicy,
    PredicateError,
    PreflightAnswer,
    Refusal,
    RefusalReason,
    check_preflight_origin,
    decide_preflight,
    merge_vary,
    method_refusal,
)
from ._syntax import parse_request_origin
from .urldispatcher_router_adapter import (
    DISABLED,
    ResourcesUrlDispatcherRouterAdapter,
    ViewPolicies,
)

__all__ = ["CorsLayer", "PreflightResponse"]

logger = logging.getLogger("aiohttp_cors")

_ORIGIN = hdrs.ORIGIN
_VARY = hdrs.VARY  # istr: found without case-folding again
_OPTIONS = hdrs.METH_OPTIONS
_ACRM = hdrs.ACCESS_CONTROL_REQUEST_METHOD
_ACRH = hdrs.ACCESS_CONTROL_REQUEST_HEADERS
_ACRPN = "Access-Control-Request-Private-Network"
_REFUSAL_PREFIX = "CORS preflight request failed: "
_PREFLIGHT_CACHE_SIZE = 512


class _Done:
    """An awaitable that is finished at once: the prepare hook's cheap "nothing left to do"."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        # An exhausted iterator ends the await at once; cheaper than a coroutine.
        return iter(())  # type: ignore[return-value]


_DONE = _Done()


class PreflightResponse(web.Response):
    """A response this package made for a preflight; the prepare hook leaves it alone."""


def log_refusal(code: RefusalReason, request: web.BaseRequest) -> None:
    """Log one refusal at DEBUG: its code, method and path, escaped and bounded.

    ``%r`` of a truncated string keeps request bytes from forging log lines.
    """
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "CORS refused (%s): %r %r", code.value, request.method[:32], request.path[:200]
        )


def log_predicate_failure(policy: OriginPolicy, exc: PredicateError) -> None:
    """Log an origin predicate's exception: with its traceback the first time, then briefly.

    A predicate backed by a database that is down fails on every request;
    one traceback per predicate and policy is enough.
    """
    name = str(exc)
    if name not in policy.failed_predicates:
        policy.failed_predicates.add(name)
        logger.error("CORS origin predicate %s failed; origin refused", name, exc_info=exc)
    else:
        logger.warning("CORS origin predicate %s failed again; origin refused", name)


def _refused(request: web.BaseRequest, refusal: Refusal) -> PreflightResponse:
    log_refusal(refusal.code, request)
    return PreflightResponse(status=403, text=_REFUSAL_PREFIX + refusal.message)


_ACAO, _ACAC, _ACEH = ACTUAL_RESPONSE_HEADERS


def _strip(headers: Any) -> None:
    for name in ACTUAL_RESPONSE_HEADERS:
        if name in headers:
            del headers[name]


class CorsLayer:
    """The middleware and the ``on_response_prepare`` receiver of one ``CorsConfig``."""

    def __init__(self, adapter: ResourcesUrlDispatcherRouterAdapter) -> None:
        self._adapter = adapter
        self.middleware = self._make_middleware()
        self.on_response_prepare = self._make_prepare_hook()

    # -- preflights ----------------------------------------------------------------------

    async def answer(self, request: web.Request) -> PreflightResponse | None:
        """The answer to an ``OPTIONS`` request, or ``None`` when it is the application's.

        Preflights for CORS-enabled targets are always answered here; a plain
        ``OPTIONS`` is answered (with a 403) only when it is for a CORS-enabled
        resource the application has no ``OPTIONS`` handler for, as in 0.8.1.
        """
        req_headers = request.headers
        origins = req_headers.getall(_ORIGIN, ())
        methods = req_headers.getall(_ACRM, ())
        if not origins or not methods:
            error = request.match_info.http_exception
            if error is None:
                return None  # a plain OPTIONS, and the application has a handler for it
            if not self._adapter.is_enabled(await self._adapter.path_resource(request, error)):
                return None
            if not origins:
                return _refused(
                    request, Refusal(RefusalReason.ORIGIN_MISSING, "origin header is not specified")
                )
            return _refused(
                request,
                Refusal(
                    RefusalReason.METHOD_MISSING,
                    "'Access-Control-Request-Method' header is not specified",
                ),
            )
        method = methods[0] if len(methods) == 1 else ", ".join(methods)
        ours, found = await self._adapter.preflight_target(request, method)
        if not ours:
            return None
        decision: PreflightAnswer | None
        if found is None or found[0].has_callables:
            checked = check_preflight_origin(origins)
            if isinstance(checked, Refusal):
                return _refused(request, checked)
            if found is None:
                return _refused(request, method_refusal(method))
            policy, served = found
            try:
                grant = await policy.match_async(checked)
            except PredicateError as exc:
                log_predicate_failure(policy, exc)
                return _refused(
                    request,
                    Refusal(RefusalReason.PREDICATE_FAILED, f"origin '{checked}' is not allowed"),
                )
            decision = decide_preflight(
                checked,
                grant,
                method,
                served,
                req_headers.getall(_ACRH, ()),
                req_headers.getall(_ACRPN, ()),
            )
        else:
            # Browsers repeat the same preflights: remember a bounded number of
            # decisions per policy (they depend on nothing else), so a repeat
            # costs one lookup — origin validation included.
            policy, served = found
            request_headers = tuple(req_headers.getall(_ACRH, ()))
            private_network = tuple(req_headers.getall(_ACRPN, ()))
            key = (tuple(origins), method, served, request_headers, private_network)
            cache = policy.preflight_cache
            decision = cache.get(key)
            if decision is None:
                checked = check_preflight_origin(origins)
                if isinstance(checked, Refusal):
                    decision = PreflightAnswer(None, checked)
                else:
                    decision = decide_preflight(
                        checked,
                        policy.match(checked),
                        method,
                        served,
                        request_headers,
                        private_network,
                    )
                if len(cache) >= _PREFLIGHT_CACHE_SIZE:
                    cache.clear()
                cache[key] = decision
        if decision.refusal is not None:
            return _refused(request, decision.refusal)
        return PreflightResponse(headers=decision.headers)

    async def on_startup(self, app: web.Application) -> None:
        """Compile the policy of every route before the first request.

        In app-wide mode, and for routes added to an enabled resource after
        ``cors.add()``, policies are otherwise compiled on first use; a view's
        bad ``cors_config`` then surfaces here, as a start-up error.
        """
        self._adapter.compile_all(app.router.routes())

    def _make_middleware(self) -> Any:
        answer = self.answer

        async def answer_options(request: web.Request, handler: Handler) -> web.StreamResponse:
            found = await answer(request)
            if found is None:
                return await handler(request)
            return found

        @web.middleware
        def cors_middleware(
            request: web.Request, handler: Handler
        ) -> Awaitable[web.StreamResponse]:
            if request.method != _OPTIONS:
                return handler(request)
            return answer_options(request, handler)

        return cors_middleware

    # -- actual responses ------------------------------------------------------------------

    def _make_prepare_hook(self) -> Any:
        route_policies = self._adapter.route_policies
        policy_for_route = self._adapter.policy_for_route

        def unlisted(request: web.Request, response: web.StreamResponse) -> Awaitable[None]:
            # Not in the table yet: the router's own 404/405, routes added to an
            # enabled resource later, or any route in app-wide mode.
            policy = policy_for_route(request.match_info.route)
            if policy is DISABLED or response.__class__ is PreflightResponse:
                return _DONE
            return decorate(request, response, policy)

        def decorate(
            request: web.Request, response: web.StreamResponse, policy: Any
        ) -> Awaitable[None]:
            if policy.__class__ is ViewPolicies:
                policy = policy.lookup(request.method, request)[0]
            headers = response.headers
            if _VARY not in headers:
                headers[_VARY] = _ORIGIN
            else:
                # Merge every Vary line into one; leave "Vary: *" alone (CONTRACT §3.1).
                merged = merge_vary(", ".join(headers.getall(_VARY)), _ORIGIN)
                if merged is not None:
                    headers[_VARY] = merged
            req_headers = request.headers
            origin = req_headers.get(_ORIGIN)
            if origin is None:
                # No CORS headers then, not even ones the handler set (CONTRACT §3.3).
                if _ACAO in headers or _ACAC in headers or _ACEH in headers:
                    _strip(headers)
                return _DONE
            grant = policy.exact.get(origin)
            if grant is not None and len(req_headers.getall(_ORIGIN)) == 1:
                # Exact keys are canonical origins: an exact hit needs no validation.
                grant.decorate_actual(headers, origin)
                return _DONE
            return _decorate_other(request, headers, origin, policy)

        def on_response_prepare(
            request: web.Request, response: web.StreamResponse
        ) -> Awaitable[None]:
            policy = route_policies.get(request.match_info.route)
            if policy is None:
                return unlisted(request, response)
            if policy is DISABLED or response.__class__ is PreflightResponse:
                return _DONE
            return decorate(request, response, policy)

        return on_response_prepare


def _decorate_other(
    request: web.Request, headers: Any, origin: str, policy: OriginPolicy
) -> Awaitable[None]:
    """Origins that are not exact keys: validate, then patterns, regexes, predicates, ``*``."""
    if len(request.headers.getall(_ORIGIN)) != 1 or parse_request_origin(origin) is None:
        log_refusal(RefusalReason.ORIGIN_MALFORMED, request)
        _strip(headers)
        return _DONE
    if policy.has_callables:
        return _decorate_async(request, headers, origin, policy)
    _apply(request, headers, origin, policy.match(origin))
    return _DONE


def _apply(request: web.Request, headers: Any, origin: str, grant: Grant | None) -> None:
    if grant is None:
        log_refusal(RefusalReason.ORIGIN_NOT_ALLOWED, request)
        _strip(headers)
    else:
        grant.decorate_actual(headers, origin)


async def _decorate_async(
    request: web.Request, headers: Any, origin: str, policy: OriginPolicy
) -> None:
    try:
        grant = await policy.match_async(origin)
    except PredicateError as exc:
        log_predicate_failure(policy, exc)
        log_refusal(RefusalReason.PREDICATE_FAILED, request)
        _strip(headers)
        return
    _apply(request, headers, origin, grant)
