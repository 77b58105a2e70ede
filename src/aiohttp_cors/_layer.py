"""The aiohttp side: a middleware that answers preflights, a hook that decorates responses.

- The middleware is inserted first in the application, so preflights are
  answered before any application middleware (authentication included —
  browsers never send credentials on a preflight, Fetch §4.8) and before the
  router's 405 reaches a handler. Non-OPTIONS requests pass straight through:
  the middleware returns the handler's coroutine without awaiting it, adding
  no coroutine frame of its own.
- ``on_response_prepare`` sees every response that is sent — streamed,
  prepared in the handler, raised ``HTTPException``s, the 500 of an unhandled
  exception — which a middleware editing headers after ``await handler()``
  would miss (CONTRACT §6). The hook is a plain function that returns an
  already-finished awaitable on the common paths, for the same reason.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Generator
from typing import Any, cast

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from aiohttp.web_urldispatcher import AbstractResource

from ._policy import (
    ACTUAL_RESPONSE_HEADERS,
    Grant,
    OriginPolicy,
    PredicateError,
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

__all__ = ["PreflightResponse", "make_middleware", "make_prepare_hook"]

logger = logging.getLogger("aiohttp_cors")

_ORIGIN = hdrs.ORIGIN
_VARY = hdrs.VARY
_OPTIONS = hdrs.METH_OPTIONS
_ACRM = hdrs.ACCESS_CONTROL_REQUEST_METHOD
_ACRH = hdrs.ACCESS_CONTROL_REQUEST_HEADERS
_ACRPN = "Access-Control-Request-Private-Network"
_REFUSAL_PREFIX = "CORS preflight request failed: "


class _Done:
    """An awaitable that is finished at once: the prepare hook's cheap "nothing left to do"."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        # An exhausted iterator ends the await at once; cheaper than a generator.
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


def _refusal_response(request: web.Request, code: RefusalReason, message: str) -> web.Response:
    log_refusal(code, request)
    return PreflightResponse(status=403, text=_REFUSAL_PREFIX + message)


def _strip(headers: Any) -> None:
    for name in ACTUAL_RESPONSE_HEADERS:
        if name in headers:
            del headers[name]


def make_prepare_hook(
    adapter: ResourcesUrlDispatcherRouterAdapter,
) -> Any:
    """Build the ``on_response_prepare`` receiver that decorates actual responses."""
    route_policies = adapter.route_policies
    policy_for_route = adapter.policy_for_route

    def on_response_prepare(request: web.Request, response: web.StreamResponse) -> Awaitable[None]:
        route = request.match_info.route
        policy = route_policies.get(route)
        if policy is None:
            policy = policy_for_route(route)
        if policy is DISABLED:
            return _DONE
        if isinstance(policy, ViewPolicies):
            policy = policy.by_method.get(request.method, policy.default)
        policy = cast(OriginPolicy, policy)
        if request.method == _OPTIONS and isinstance(response, PreflightResponse):
            return _DONE
        headers = response.headers
        vary = headers.get(_VARY)
        if vary is None:
            headers[_VARY] = _ORIGIN
        else:
            merged = merge_vary(vary, _ORIGIN)
            if merged is not None:
                headers[_VARY] = merged
        origin = request.headers.get(_ORIGIN)
        if origin is None:
            _strip(headers)
            return _DONE
        grant = policy.exact.get(origin)
        if grant is not None and len(request.headers.getall(_ORIGIN)) == 1:
            grant.decorate_actual(headers, origin)
            return _DONE
        return _slow_path(request, headers, origin, policy)

    return on_response_prepare


def _slow_path(
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
    except PredicateError:
        logger.exception("CORS origin predicate failed; origin refused")
        log_refusal(RefusalReason.PREDICATE_FAILED, request)
        _strip(headers)
        return
    _apply(request, headers, origin, grant)


def make_middleware(adapter: ResourcesUrlDispatcherRouterAdapter, router: web.UrlDispatcher) -> Any:
    """Build the middleware that answers preflights before anything else runs."""

    async def resolve_resource(request: web.Request, allowed: Any) -> AbstractResource | None:
        # The router answered 405 (no OPTIONS route): find the resource by
        # resolving the same path with a method it does serve.
        method = min(allowed) if allowed else hdrs.METH_GET
        match_info = await router.resolve(request.clone(method=method))
        if match_info.http_exception is not None:
            return None
        return match_info.route.resource

    async def answer_options(request: web.Request, handler: Handler) -> web.StreamResponse:
        match_info = request.match_info
        error = match_info.http_exception
        own_handler = error is None
        resource: AbstractResource | None
        if error is None:
            resource = match_info.route.resource
        elif error.status == 405:
            resource = await resolve_resource(request, getattr(error, "allowed_methods", ()))
        else:
            resource = None
        if not adapter.is_enabled(resource):
            return await handler(request)
        req_headers = request.headers
        origins = req_headers.getall(_ORIGIN, ())
        methods = req_headers.getall(_ACRM, ())
        if not origins or not methods:
            if own_handler:
                return await handler(request)  # a plain OPTIONS for the application
            if not origins:
                return _refusal_response(
                    request, RefusalReason.ORIGIN_MISSING, "origin header is not specified"
                )
            return _refusal_response(
                request,
                RefusalReason.METHOD_MISSING,
                "'Access-Control-Request-Method' header is not specified",
            )
        checked = check_preflight_origin(origins)
        if isinstance(checked, Refusal):
            return _refusal_response(request, checked.code, checked.message)
        origin = checked
        method = methods[0] if len(methods) == 1 else ", ".join(methods)
        found = adapter.preflight_policy(resource, method)
        if found is None:
            refusal = method_refusal(method)
            return _refusal_response(request, refusal.code, refusal.message)
        policy, served = found
        try:
            grant = (
                await policy.match_async(origin) if policy.has_callables else policy.match(origin)
            )
        except PredicateError:
            logger.exception("CORS origin predicate failed; origin refused")
            return _refusal_response(
                request, RefusalReason.PREDICATE_FAILED, f"origin '{origin}' is not allowed"
            )
        answer = decide_preflight(
            origin,
            grant,
            method,
            served,
            req_headers.getall(_ACRH, ()),
            req_headers.getall(_ACRPN, ()),
        )
        if answer.refusal is not None:
            return _refusal_response(request, answer.refusal.code, answer.refusal.message)
        return PreflightResponse(headers=answer.headers)

    @web.middleware
    def cors_middleware(request: web.Request, handler: Handler) -> Awaitable[web.StreamResponse]:
        if request.method != _OPTIONS:
            return handler(request)
        return answer_options(request, handler)

    return cors_middleware
