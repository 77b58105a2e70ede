"""Which CORS policy applies to a request: registration, layering and preflight decisions.

Everything that depends on how an application's routes were passed to
``cors.add()`` lives here, behind two questions the aiohttp layer asks:
:meth:`CorsRouting.actual_policy` (the policy for an actual request) and
:meth:`CorsRouting.preflight` (the answer to a preflight).

Registration and layering are aiohttp-cors 0.8.1's:

- ``cors.add(resource, config)`` makes ``config`` the resource's config;
  ``cors.add(route, config)`` on a resource not yet configured also makes it
  the resource's config, then records it as the config of the route's method.
  Every route of a configured resource is CORS-enabled.
- One layering for everything, highest precedence first: the layers of the
  request's method (for a plain route, the config given with that route; for
  a class-based view, what ``get_request_config`` gives: the method's
  ``@custom_cors``, the class's ``cors_config``, then ``defaults``), then the
  resource's config, then ``defaults``.
- A preflight for method M to a plain resource passes the method check when
  M is GET, HEAD or POST (Fetch "CORS-safelisted method"), when the options
  that the resource config and ``defaults`` give the origin allow M, or when a
  route for M was passed to ``add()``. For a view, when the view implements M.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

from aiohttp import hdrs, web
from aiohttp.web_urldispatcher import AbstractResource, AbstractRoute
from multidict import CIMultiDict

from ._cache import BoundedCache
from ._errors import CorsConfigurationWarning, with_hint
from ._headers import (
    ACRPN,
    SAFELISTED_METHODS,
    header_lines,
    is_request_method,
)
from ._origins import parse_request_origin
from ._policy import (
    Grant,
    Layer,
    OriginPolicy,
    Problem,
    Problems,
    Refusal,
    RefusalReason,
    check_private_network,
    check_requested_headers,
    compile_policy,
    normalize_config,
    parse_options,
    preflight_headers,
    report_problems,
)
from ._predicates import PredicateFailed, PredicateRunner

logger = logging.getLogger("aiohttp_cors")

REFUSAL_PREFIX = "CORS preflight request failed: "
#: Policies remembered per (route, method); aiohttp's routes and methods are few.
_MAX_REMEMBERED = 4096
#: Preflight answers remembered: at most this many, pinning at most this many bytes.
_ANSWERS_MAX_ENTRIES = 1024
_ANSWERS_MAX_BYTES = 1 << 20
#: What one remembered answer costs beyond its strings (tuples, dict slot), roughly.
_ENTRY_OVERHEAD = 400
#: Longest request CORS headers (all four together) whose answer is remembered.
_MAX_KEY_CHARS = 1024
#: Why an actual request got no CORS headers, for the DEBUG refusal line.
_ACTUAL_REFUSALS = {
    RefusalReason.ORIGIN_MALFORMED: (
        "the Origin is not one serialized origin (scheme://host[:port], lower-case, one line)"
    ),
    RefusalReason.ORIGIN_NOT_ALLOWED: "no configured origin key matches this origin",
    RefusalReason.PREDICATE_FAILED: "the origin predicate raised or timed out (logged above)",
}


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: The request's resource is not CORS-enabled: its responses are left alone.
NOT_ENABLED = _Marker("NOT_ENABLED")
#: A CORS-enabled resource's response that gets no CORS headers, only ``Vary: Origin``.
VARY_ONLY = _Marker("VARY_ONLY")
ActualDecision = Union[OriginPolicy, _Marker]
#: The matched route, then every line of Origin and of the three Access-Control-Request-*
#: headers, with ``None`` after each header's lines but the last.
PreflightKey = tuple[Any, ...]


class PreflightResponse(web.Response):
    """A successful preflight answer made by this package (left alone at prepare time)."""


class PreflightForbidden(web.Response):
    """A refused preflight: 403 with 0.8.1's text (left alone at prepare time).

    The same bytes as 0.8.1's ``HTTPForbidden``, but a response to return:
    aiohttp deprecates returning exceptions, and raising one would keep the
    request alive through its traceback until the garbage collector runs.
    """

    def __init__(self, text: str, *, vary: bool) -> None:
        super().__init__(status=403, text=text, headers={hdrs.VARY: "Origin"} if vary else None)


class ResourceEntry:
    """The CORS configuration of one resource, in 0.8.1's shape and compiled.

    ``default_config`` and ``method_config`` keep the configs as given (with
    mapping-form options turned into ResourceOptions), as 0.8.1 exposed them.
    """

    __slots__ = (
        "default_config",
        "method_config",
        "method_layers",
        "resource_layers",
        "wants_preflight_route",
    )

    def __init__(self, default_config: dict[Any, Any], layers: Sequence[Layer]) -> None:
        self.default_config = default_config
        self.method_config: dict[str, dict[Any, Any]] = {}
        self.resource_layers = tuple(layers)
        self.method_layers: dict[str, tuple[Layer, ...]] = {}
        #: No OPTIONS or "*" route when it was added: 0.8.1 added its OPTIONS route then.
        self.wants_preflight_route = False


class _ViewConfig:
    """A class-based view's compiled layers: ``cors_config`` and each method's ``@custom_cors``."""

    __slots__ = ("class_layers", "method_layers")

    def __init__(self, class_layers: tuple[Layer, ...]) -> None:
        self.class_layers = class_layers
        #: Each implemented method's ``@custom_cors`` layers (empty without one).
        self.method_layers: dict[str, tuple[Layer, ...]] = {}


def view_class(handler: Any) -> type[web.View] | None:
    """The ``web.View`` subclass behind a route handler, or ``None`` for plain handlers.

    Proxies (``wrapt``, APM agents) that make ``issubclass`` raise are looked
    through via ``__wrapped__`` instead of being an error.
    """
    for candidate in (handler, getattr(handler, "__wrapped__", None)):
        try:
            if isinstance(candidate, type) and issubclass(candidate, web.View):
                return candidate
        except TypeError:
            continue
    return None


def _lenient(config: Any, what: str) -> tuple[Layer, ...]:
    """The layers of a configuration met while answering a request: bad entries are left
    out, since raising here would turn a configuration mistake into a 500."""
    return tuple(normalize_config(config, what, lenient=True)[0])


def _requested_config(view: Any, request: web.Request, method: str) -> tuple[Layer, ...] | None:
    """What the view's ``get_request_config`` gives for ``method``; ``None`` when it raises
    ``KeyError`` (0.8.1's way of saying the view has no such method)."""
    try:
        config = view.get_request_config(request, method)
    except KeyError:
        return None
    return _lenient(config, f"{view.__name__}.get_request_config()")


def _preflight_key(headers: Any, route: AbstractRoute) -> PreflightKey:
    """What a remembered preflight answer is found by: the route and every line of the
    request's CORS headers, ``None`` between the headers (no header value is ``None``).

    One flat tuple: hashing it costs a third of a tuple of tuples (callgrind).
    """
    getall = headers.getall
    return (
        route,
        *getall(hdrs.ORIGIN, ()),
        None,
        *getall(hdrs.ACCESS_CONTROL_REQUEST_METHOD, ()),
        None,
        *getall(hdrs.ACCESS_CONTROL_REQUEST_HEADERS, ()),
        None,
        *getall(ACRPN, ()),
    )


def _storable_size(key: PreflightKey) -> int | None:
    """The characters a key pins, or ``None`` when it must not be stored: not exactly
    one Origin and one Access-Control-Request-Method line, several lines of another
    header, or more than a short preflight's worth of text."""
    values = key[1:]
    ends = [index for index, value in enumerate(values) if value is None]
    if ends[:2] != [1, 3] or ends[2] > 5 or len(values) - ends[2] > 2:
        return None
    size = sum(len(value) for value in values if value is not None)
    return size if size <= _MAX_KEY_CHARS else None


class CorsRouting:
    """The registry behind ``cors.add()`` and the decisions made from it."""

    def __init__(
        self, defaults: Mapping[Any, Any] | None, *, view_base: type, strict: bool = False
    ) -> None:
        #: The base of the views whose CORS config comes from the view (``CorsViewMixin``).
        self._mixin = view_base
        self.strict = strict
        self.all_routes = False
        self._reported: set[str] = set()
        layers, problems = normalize_config(defaults, "defaults", strict=strict)
        self.report(problems)
        #: ``defaults`` as 0.8.1 kept them: keys as given, values ResourceOptions.
        self.defaults: dict[Any, Any] = parse_options(defaults or {})
        self.defaults_layers: tuple[Layer, ...] = tuple(layers)
        #: The defaults views' own configs end with (see :meth:`replace_defaults`).
        self.view_defaults_layers = self.defaults_layers
        #: The defaults as given to ``setup()`` (0.8.1's router adapter kept them).
        self.setup_defaults = self.defaults
        self.entries: dict[AbstractResource, ResourceEntry] = {}
        #: OPTIONS routes this package added, and the resources they were added to.
        self.preflight_routes: set[AbstractRoute] = set()
        self.resources_with_preflight_routes: set[AbstractResource] = set()
        self.started = False
        #: Set at start-up when preflights are left to the OPTIONS routes alone.
        self.middleware_removed = False
        self._policies: dict[tuple[int, ...], tuple[OriginPolicy, tuple[Layer, ...]]] = {}
        #: Decisions for actual requests by (route, method); never replaced, only cleared.
        self.remembered_decisions: dict[tuple[AbstractRoute, str], ActualDecision] = {}
        self._views: dict[type, _ViewConfig] = {}
        self.predicates = PredicateRunner()
        #: Successful preflight answers, by route and request CORS headers.
        self.answers: BoundedCache[PreflightKey, CIMultiDict[str]] = BoundedCache(
            _ANSWERS_MAX_ENTRIES, _ANSWERS_MAX_BYTES
        )
        self.refusals: Counter[RefusalReason] = Counter()
        self.defaults_policy = self.compile(self.defaults_layers)

    def replace_defaults(self, defaults: Mapping[Any, Any]) -> None:
        """``cors.defaults = ...`` after ``setup()``, with 0.8.1's effect: views' configs
        (``get_request_config``) end with the new defaults, while plain routes keep
        those given to ``setup()``, which 0.8.1's router adapter held on to."""
        layers, problems = normalize_config(defaults, "defaults", strict=self.strict)
        self.report(problems)
        self.defaults = parse_options(defaults)
        self.view_defaults_layers = tuple(layers)
        self.remembered_decisions.clear()
        self.answers.clear()

    def report(self, problems: Problems) -> None:
        """Warn about configuration problems (errors in strict mode), each once."""
        report_problems(problems, strict=self.strict, seen=self._reported)

    def compile(self, layers: tuple[Layer, ...]) -> OriginPolicy:
        """The policy of a stack of layers, compiled once per distinct stack."""
        key = tuple(map(id, layers))
        found = self._policies.get(key)
        if found is None:
            # The layers are kept with their policy, so no id in the key is ever reused.
            found = self._policies[key] = (compile_policy(layers), layers)
        return found[0]

    # -- registration ------------------------------------------------------------------

    def enable(self, entity: Any, config: Mapping[Any, Any]) -> None:
        """Record ``config`` for a resource or route (0.8.1's rules; see the module doc).

        Everything is checked before anything is recorded, so a refused
        configuration leaves no trace.
        """
        if isinstance(entity, web.ResourceRoute):
            resource = entity.resource
            if resource is None:
                raise ValueError(f"{entity!r} is not attached to a resource")
            self._check_views(resource)
        elif isinstance(entity, (web.Resource, web.StaticResource)):
            resource = entity
            if resource in self.entries:
                raise ValueError(
                    f"CORS is already configured for {resource!r} resource. Hint: pass each "
                    "resource to cors.add() once; to give one route its own options, pass "
                    "the route: cors.add(route, config)."
                )
            self._check_views(resource)
        else:
            raise ValueError(f"Resource or ResourceRoute expected, got {entity!r}")
        entry = self.entries.get(resource)
        if (
            isinstance(entity, web.ResourceRoute)
            and entry is not None
            and entity.method in entry.method_config
        ):
            raise ValueError(
                f"Can't setup CORS for {entity!r} route: CORS already configured on "
                f"resource {resource!r} for {entity.method} method. Hint: pass each route "
                "to cors.add() once."
            )
        layers, problems = normalize_config(config, strict=self.strict)
        parsed = parse_options(config)
        self.report(problems)
        if entry is None:
            entry = self.entries[resource] = ResourceEntry(parsed, layers)
            entry.wants_preflight_route = not any(
                route.method in (hdrs.METH_OPTIONS, hdrs.METH_ANY) for route in resource
            )
        if isinstance(entity, web.ResourceRoute):
            entry.method_config[entity.method] = parsed
            entry.method_layers[entity.method] = tuple(layers)
        self.remembered_decisions.clear()
        self.answers.clear()
        if self.started:
            self.add_preflight_route(resource)
            if self.middleware_removed and any(
                route.method in (hdrs.METH_OPTIONS, hdrs.METH_ANY)
                and route not in self.preflight_routes
                for route in resource
            ):
                self.report(
                    [
                        Problem(
                            CorsConfigurationWarning,
                            with_hint(
                                f"{resource!r} was added after start-up and has an OPTIONS or "
                                "'*' route of its own, which now sees its preflights",
                                "add it to CORS before the application starts",
                            ),
                        )
                    ]
                )

    def _check_views(self, resource: AbstractResource) -> None:
        """Refuse a ``*`` view without the mixin (as 0.8.1 did; on a method route such a
        view is a plain handler); check the mixin views' configs now, not per request."""
        for route in resource:
            view = view_class(route.handler)
            if view is None:
                continue
            if issubclass(view, self._mixin):
                self._view_config(view)
            elif route.method == hdrs.METH_ANY:
                raise ValueError(
                    f"web view should be derived from aiohttp_cors.CorsViewMixin for working "
                    f"with the library. Hint: add CorsViewMixin to the bases of {view.__name__}."
                )

    def add_preflight_route(self, resource: AbstractResource) -> None:
        """Give a CORS-enabled resource an OPTIONS route, unless the application has one.

        Done at start-up (or at ``add()`` once started), after the application
        added its own routes, so an application OPTIONS or ``*`` route added
        after ``cors.add()`` never clashes with ours.
        """
        if resource in self.resources_with_preflight_routes:
            return
        methods = {route.method for route in resource}
        if hdrs.METH_OPTIONS in methods:
            return  # the application's own OPTIONS handler gets the plain OPTIONS requests
        if isinstance(resource, web.StaticResource):
            resource.set_options_route(self.preflight_handler)
            route = next(r for r in resource if r.method == hdrs.METH_OPTIONS)
        elif isinstance(resource, web.Resource) and hdrs.METH_ANY not in methods:
            route = resource.add_route(hdrs.METH_OPTIONS, self.preflight_handler)
        elif isinstance(resource, web.Resource) and self.entries[resource].wants_preflight_route:
            # A "*" route (a view) added after cors.add(): 0.8.1's OPTIONS route came
            # first and answered the preflights, so ours goes in before it too.
            route = web.ResourceRoute(hdrs.METH_OPTIONS, self.preflight_handler, resource)
            resource.register_route(route)
        else:
            return
        self.preflight_routes.add(route)
        self.resources_with_preflight_routes.add(resource)
        self.remembered_decisions.clear()

    def on_startup(self, routes: Iterable[AbstractRoute]) -> None:
        """Add the OPTIONS routes of every CORS-enabled resource.

        In app-wide mode every view of the application (``routes``) is
        CORS-enabled: a bad ``cors_config`` fails here, not on a request.
        """
        self.started = True
        for resource in list(self.entries):
            self.add_preflight_route(resource)
        # Views added to a resource after cors.add(), and every view in app-wide mode.
        checked = [route for resource in self.entries for route in resource]
        for route in [*checked, *routes] if self.all_routes else checked:
            view = self.mixin_view(route)
            if view is not None:
                self._view_config(view)

    # -- layering ----------------------------------------------------------------------

    def _view_config(self, view: type) -> _ViewConfig:
        """A view's ``cors_config`` and ``@custom_cors`` configs, checked and compiled once."""
        found = self._views.get(view)
        if found is not None:
            return found
        layers, problems = normalize_config(
            getattr(view, "cors_config", None), f"{view.__name__}.cors_config", strict=self.strict
        )
        found = _ViewConfig(tuple(layers))
        for method in sorted(hdrs.METH_ALL):
            function = getattr(view, method.lower(), None)
            if function is None:
                continue
            custom = getattr(function, f"{method.lower()}_cors_config", None)
            own, more = normalize_config(
                custom, f"{view.__name__}.{method.lower()}", strict=self.strict
            )
            problems.extend(more)
            found.method_layers[method] = tuple(own)
        self.report(problems)
        self._views[view] = found
        return found

    def view_layers_by_source(
        self, view: type, method: str
    ) -> tuple[tuple[Layer, ...], tuple[Layer, ...]] | None:
        """A mixin view's ``@custom_cors`` layers for ``method`` and its ``cors_config``
        layers, apart (``None`` without the method): ``python -m aiohttp_cors routes``
        shows which of them each origin key comes from."""
        config = self._view_config(view)
        own = config.method_layers.get(method)
        return None if own is None else (own, config.class_layers)

    def overrides(self, view: type, name: str) -> bool:
        """Whether ``view`` replaces the mixin's method ``name``."""
        own = getattr(view, name, None)
        base = getattr(self._mixin, name)
        return getattr(own, "__func__", own) is not getattr(base, "__func__", base)

    def view_layers(
        self, view: type, request: web.Request, method: str
    ) -> tuple[tuple[Layer, ...], bool] | None:
        """A view's layers for ``method`` and whether they may be remembered; ``None``
        when the view does not implement ``method``.

        Without an override these are what ``CorsViewMixin.get_request_config``
        gives (``@custom_cors``, ``cors_config``, ``defaults``), compiled once;
        an overridden ``get_request_config`` is asked on every request, as 0.8.1 did.
        """
        if self.overrides(view, "get_request_config"):
            layers = _requested_config(view, request, method)
            return None if layers is None else (layers, False)
        config = self._view_config(view)
        own = config.method_layers.get(method)
        if own is None:
            if method != method.upper() or getattr(view, method.lower(), None) is None:
                return None
            # A method outside aiohttp's standard set (PURGE): 0.8.1 answered its
            # preflight too. Checked on first use; the view's own methods bound it.
            custom = getattr(getattr(view, method.lower()), f"{method.lower()}_cors_config", None)
            own = config.method_layers[method] = _lenient(
                custom, f"{view.__name__}.{method.lower()}"
            )
        return (*own, *config.class_layers, *self.view_defaults_layers), True

    def _entry(self, resource: AbstractResource | None) -> ResourceEntry | None:
        """The resource's entry; in app-wide mode every resource has one."""
        if resource is None:
            return None
        entry = self.entries.get(resource)
        if entry is None and self.all_routes:
            entry = ResourceEntry({}, ())
            for route in resource:
                entry.method_layers.setdefault(route.method, ())
        return entry

    def actual_policy(self, request: web.Request) -> ActualDecision:
        """The policy for an actual request's response, or a marker (see ``NOT_ENABLED``)."""
        route = request.match_info.route
        method = request.method
        remembered = self.remembered_decisions
        decision = remembered.get((route, method))
        if decision is not None:
            return decision
        resource = route.resource
        if resource is None:  # the router's own 404 or 405
            return self.defaults_policy if self.all_routes else NOT_ENABLED
        entry = self._entry(resource)
        if entry is None:
            decision, cacheable = NOT_ENABLED, True
        elif route in self.preflight_routes or (
            method == hdrs.METH_OPTIONS and self.mixin_view(route) is not None
        ):
            # 0.8.1 never decorated what answers OPTIONS for it.
            decision, cacheable = VARY_ONLY, True
        else:
            decision, cacheable = self._actual_layers(entry, route, request, method)
        if cacheable and method in hdrs.METH_ALL and len(remembered) < _MAX_REMEMBERED:
            remembered[(route, method)] = decision
        return decision

    def mixin_view(self, route: AbstractRoute) -> type | None:
        """The ``CorsViewMixin`` view behind a route, if any (other views are plain handlers)."""
        view = view_class(route.handler)
        return view if view is not None and issubclass(view, self._mixin) else None

    def _actual_layers(
        self, entry: ResourceEntry, route: AbstractRoute, request: web.Request, method: str
    ) -> tuple[ActualDecision, bool]:
        view = self.mixin_view(route)
        if view is None:
            own = entry.method_layers.get(method, ())
            return self.compile((*own, *entry.resource_layers, *self.defaults_layers)), True
        try:
            found = self.view_layers(view, request, method)
        except Exception:
            logger.exception("CORS: %s.get_request_config() failed", view.__name__)
            return VARY_ONLY, False
        if found is None:
            return VARY_ONLY, True  # the view answers 405
        layers, cacheable = found
        stack = (*layers, *entry.resource_layers, *self.defaults_layers)
        if not cacheable:
            return compile_policy(stack), False
        return self.compile(stack), True

    # -- preflights ----------------------------------------------------------------------

    async def preflight_handler(self, request: web.Request) -> web.StreamResponse:
        """The handler of the OPTIONS routes this package adds (0.8.1's preflight handler).

        A plain ``OPTIONS`` (no ``Origin`` or no ``Access-Control-Request-Method``)
        reaches it through the application's middlewares, which saw 0.8.1's
        refusal as a raised ``HTTPForbidden``: it is raised here too.
        """
        remembered, key = self.remembered_preflight(request)
        response = remembered if remembered is not None else await self.preflight(request, key)
        if response is None:  # cannot happen for our own routes; keep aiohttp's answer
            raise web.HTTPMethodNotAllowed(request.method, [])
        # Class identity: responses are MutableMappings, whose ABC isinstance() costs
        # about 3,000 instructions (callgrind).
        if response.__class__ is PreflightForbidden and not (
            hdrs.ORIGIN in request.headers and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers
        ):
            raise web.HTTPForbidden(text=response.text, headers={hdrs.VARY: "Origin"})
        return response

    def remembered_preflight(
        self, request: web.Request
    ) -> tuple[PreflightResponse | None, PreflightKey]:
        """The remembered answer to this preflight, if any, and its key: no coroutine on
        the way (a repeated preflight costs about 21,500 instructions here against
        100,000 decided afresh, callgrind)."""
        key = _preflight_key(request.headers, request.match_info.route)
        headers = self.answers.get(key)
        return (None if headers is None else PreflightResponse(headers=headers)), key

    async def preflight(
        self, request: web.Request, key: PreflightKey | None = None
    ) -> web.StreamResponse | None:
        """The answer to an OPTIONS request, or ``None`` when it is not this package's.

        A refusal is a :class:`PreflightForbidden` returned, not raised: a
        raised exception would keep the request (and its headers, however
        large) alive through its traceback until the garbage collector runs.
        Browsers repeat the same preflights, so successful
        answers that depend only on the matched route and the request's
        (single, bounded) CORS headers are remembered.
        """
        route = request.match_info.route
        if key is None:  # else the caller looked it up already
            remembered, key = self.remembered_preflight(request)
            if remembered is not None:
                return remembered
        target = await self._preflight_target(request)
        if target is None:
            return None
        entry, view = target
        try:
            response, remember = await self._answer(request, entry, view, vary=True)
        except Refusal as refusal:
            return self._refused(request, refusal, vary=True)
        size = _storable_size(key) if remember and route.resource is not None else None
        if size is not None:
            # aiohttp copies a CIMultiDict given as headers faster than a list of pairs.
            answer = CIMultiDict(response.headers)
            size += sum(len(name) + len(value) for name, value in answer.items())
            self.answers.put(key, answer, size + _ENTRY_OVERHEAD)
        return response

    async def view_preflight(self, request: web.Request, view: type) -> web.StreamResponse:
        """What a view's ``options()`` answers (0.8.1 answered preflights there)."""
        entry = self._entry(request.match_info.route.resource)
        # A view never passed to add() is not CORS-enabled: no Vary, as in 0.8.1.
        vary = entry is not None
        try:
            response, _ = await self._answer(request, entry, view, vary=vary)
        except Refusal as refusal:
            refused = self._refused(request, refusal, vary=vary)
        else:
            return response
        # 0.8.1's mixin raised HTTPForbidden from options(); code calling it expects that.
        raise web.HTTPForbidden(text=refused.text, headers=refused.headers)

    async def _preflight_target(
        self, request: web.Request
    ) -> tuple[ResourceEntry | None, type | None] | None:
        """The entry (and view) a preflight is answered for, or ``None`` if not ours."""
        route = request.match_info.route
        resource = route.resource
        if resource is None:
            resource = await self._path_resource(request)
            if resource is None:
                return (None, None) if self.all_routes else None
            view = None
        elif resource in self.resources_with_preflight_routes:
            # Our OPTIONS route answers for the resource, also where a view's "*" route
            # was added later (older aiohttp routes OPTIONS to whichever came first).
            view = None
        else:
            view = self.mixin_view(route)
        entry = self._entry(resource)
        if entry is None:
            return None
        return entry, view

    async def _path_resource(self, request: web.Request) -> AbstractResource | None:
        """The resource serving the path with another method, after the router's 405.

        Our OPTIONS routes are added at start-up; a resource enabled later, or
        an application that was never started, still gets its preflights answered.
        """
        error = request.match_info.http_exception
        allowed = sorted(getattr(error, "allowed_methods", ()) or ())
        if error is None or error.status != 405 or not allowed:
            return None
        match_info = await request.app.router.resolve(request.clone(method=allowed[0]))
        return None if match_info.http_exception is not None else match_info.route.resource

    async def _answer(
        self, request: web.Request, entry: ResourceEntry | None, view: type | None, *, vary: bool
    ) -> tuple[PreflightResponse, bool]:
        """Fetch §4.8 "CORS-preflight fetch", step by step, with 0.8.1's checks and texts.

        Also says whether the answer may be remembered: not when a predicate
        or a per-request view configuration took part.
        """
        headers = request.headers
        origins = header_lines(headers, hdrs.ORIGIN)
        if not origins:
            raise Refusal.origin_missing()
        methods = header_lines(headers, hdrs.ACCESS_CONTROL_REQUEST_METHOD)
        if not methods:
            raise Refusal.method_missing()
        raw_origin, method = origins[0], methods[0]
        # Only a serialized origin is ever looked up or echoed; several Origin
        # lines are no origin at all.
        origin = raw_origin if len(origins) == 1 and parse_request_origin(raw_origin) else None
        policy, remember = await self._method_policy(
            request, entry, view, method, origin, raw_origin
        )
        if policy.empty:
            raise Refusal.no_origins()
        origin, grant = await self._grant(policy, origin, raw_origin)
        names = check_requested_headers(
            header_lines(headers, hdrs.ACCESS_CONTROL_REQUEST_HEADERS), grant
        )
        private_network = check_private_network(header_lines(headers, ACRPN), grant, raw_origin)
        answer = preflight_headers(grant, origin, method, names, private_network, vary=vary)
        return PreflightResponse(headers=answer), remember and not policy.has_callables

    async def _method_policy(
        self,
        request: web.Request,
        entry: ResourceEntry | None,
        view: type | None,
        method: str,
        origin: str | None,
        raw_origin: str,
    ) -> tuple[OriginPolicy, bool]:
        """The policy answering a preflight for ``method`` and whether it is the same for
        every request; refuses a method it may not use."""
        if not is_request_method(method):
            raise Refusal.method_not_allowed(method, raw_origin)
        if view is not None:
            found = await self._view_request_layers(view, request, method, origin, entry)
            if found is None:
                raise Refusal.method_not_allowed(method, raw_origin)
            return found
        if entry is None:  # app-wide mode, a path no route serves
            return self.defaults_policy, True
        if method not in SAFELISTED_METHODS and method not in entry.method_layers:
            resource_policy = self.compile((*entry.resource_layers, *self.defaults_layers))
            try:
                _, grant = await self._grant(resource_policy, origin, raw_origin)
            except Refusal:
                raise Refusal.method_not_allowed(method, raw_origin) from None
            if not grant.allows_method(method):
                raise Refusal.method_not_allowed(method, raw_origin)
        own = entry.method_layers.get(method, ())
        return self.compile((*own, *entry.resource_layers, *self.defaults_layers)), True

    async def _view_request_layers(
        self,
        view: type,
        request: web.Request,
        method: str,
        origin: str | None,
        entry: ResourceEntry | None,
    ) -> tuple[OriginPolicy, bool] | None:
        if self.overrides(view, "_get_config"):
            # 0.8.1 asked the view's _get_config() for a preflight's configuration, and
            # views override it to decide per origin (aio-libs/aiohttp-cors#245).
            try:
                instance: Any = view(request)
                config = await instance._get_config(request, origin, method)
            except KeyError:
                return None
            return compile_policy(_lenient(config, f"{view.__name__}._get_config()")), False
        if entry is None:
            # A view never passed to add(): its own get_request_config alone, as in 0.8.1.
            own = _requested_config(view, request, method)
            if own is None or method not in hdrs.METH_ALL:
                return None
            return compile_policy(own), False
        found = self.view_layers(view, request, method)
        if found is None:
            return None
        layers, cacheable = found
        # Preflights to views end with the defaults views see: different from those given
        # to setup() only after ``cors.defaults`` was reassigned, which 0.8.1's view
        # preflights followed.
        stack = (*layers, *entry.resource_layers, *self.view_defaults_layers)
        return (self.compile(stack), True) if cacheable else (compile_policy(stack), False)

    async def _grant(
        self, policy: OriginPolicy, origin: str | None, raw_origin: str
    ) -> tuple[str, Grant]:
        """The valid origin and its Grant; refuses a malformed or not allowed origin."""
        if origin is None:
            raise Refusal.origin_not_allowed(raw_origin, RefusalReason.ORIGIN_MALFORMED)
        try:
            grant = await policy.lookup(origin, self.predicates.ask)
        except PredicateFailed:
            raise Refusal.origin_not_allowed(raw_origin, RefusalReason.PREDICATE_FAILED) from None
        if grant is None:
            raise Refusal.origin_not_allowed(raw_origin, RefusalReason.ORIGIN_NOT_ALLOWED)
        return origin, grant

    def _refused(self, request: web.Request, refusal: Refusal, *, vary: bool) -> PreflightForbidden:
        self.count_refusal(refusal.code, request, refusal)
        return PreflightForbidden(REFUSAL_PREFIX + refusal.message, vary=vary)

    def count_refusal(
        self, code: RefusalReason, request: web.BaseRequest, refusal: Refusal | None = None
    ) -> None:
        """Count a refusal and log it at DEBUG: its code, method, path, origin and why.

        The line is built only when DEBUG is enabled, so refusals cost a
        counter increment otherwise. ``%r`` of a bounded value keeps request
        bytes from forging log lines.
        """
        self.refusals[code] += 1
        if logger.isEnabledFor(logging.DEBUG):
            origins = header_lines(request.headers, hdrs.ORIGIN)
            origin = origins[0][:200] if len(origins) == 1 else [o[:200] for o in origins[:3]]
            logger.debug(
                "CORS refused (%s): %r %r from origin %r: %s",
                code.value,
                request.method[:32],
                request.path[:200],
                origin,
                self._refusal_detail(code, request, refusal),
            )

    def _refusal_detail(
        self, code: RefusalReason, request: web.BaseRequest, refusal: Refusal | None
    ) -> str:
        """Why a request was refused, in words a developer reading the log can act on."""
        if refusal is None:  # an actual request: its response simply gets no CORS headers
            return _ACTUAL_REFUSALS.get(code, code.value)
        detail = refusal.message
        if code is RefusalReason.METHOD_NOT_ALLOWED and isinstance(request, web.Request):
            # A sibling route of an enabled resource that was never passed to add():
            # the most common reason a PUT or DELETE preflight fails.
            method = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_METHOD, "")
            resource = request.match_info.route.resource
            entry = self.entries.get(resource) if resource is not None else None
            if (
                entry is not None
                and method not in entry.method_layers
                and any(route.method == method for route in resource or ())
            ):
                detail += (
                    f"; the resource has a {method[:32]} route that was not passed to "
                    "cors.add(): pass that route too, or list the method in allow_methods"
                )
        return detail

    def stats(self) -> dict[str, Any]:
        """Counters since start: refusals per reason, predicate calls and their memo,
        the preflight-answer cache."""
        runner = self.predicates
        return {
            "refusals": {reason.value: self.refusals[reason] for reason in RefusalReason},
            "predicates": {
                "calls": runner.calls,
                "shared_calls": runner.shared_calls,
                "memo_hits": runner.memo_hits,
                "failures": runner.failures,
                "timeouts": runner.timeouts,
                "latency_total_s": runner.latency_total,
                "latency_max_s": runner.latency_max,
                "memo_size": runner.memo_size,
            },
            "preflight_cache": {
                "entries": len(self.answers),
                "bytes": self.answers.size,
                "hits": self.answers.hits,
                "misses": self.answers.misses,
                "evictions": self.answers.evictions,
            },
        }


#: Where ``setup()`` puts the application's registry, for its views to find.
ROUTING_KEY: web.AppKey[CorsRouting] = web.AppKey("aiohttp_cors.routing", CorsRouting)
