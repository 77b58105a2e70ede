"""Public API of aiohttp_cors 1.x: the names and call shapes aiohttp-cors 0.8.1 users rely on.

The drop-in API of 0.8.1 and the value semantics of ``ResourceOptions``.
HTTP behaviour is tested in ``test_behaviour*.py``; configuration checking in
``test_config_checks.py``.
"""

from __future__ import annotations

import copy
import importlib
import pathlib
import pickle
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from aiohttp import web
from packaging.version import Version

import aiohttp_cors
from aiohttp_cors import (
    APP_CONFIG_KEY,
    CorsConfig,
    CorsConfigurationError,
    CorsConfigurationWarning,
    CorsSecurityWarning,
    CorsViewMixin,
    ResourceOptions,
    custom_cors,
)
from aiohttp_cors.abc import AbstractRouterAdapter
from aiohttp_cors.urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

ORIGIN = "https://app.example.com"


async def handler(request: web.Request) -> web.Response:
    return web.Response(text="ok")


class MixinView(CorsViewMixin, web.View):
    async def get(self) -> web.Response:
        return web.Response(text="get")


class PlainView(web.View):
    async def get(self) -> web.Response:
        return web.Response(text="get")


# --------------------------------------------------------------------------
# Import names, submodules, version
# --------------------------------------------------------------------------


def test_package_root_exports_the_0_8_1_names_and_the_new_ones() -> None:
    expected = {
        "APP_CONFIG_KEY",
        "CorsConfig",
        "CorsConfigurationError",
        "CorsConfigurationWarning",
        "CorsSecurityWarning",
        "CorsViewMixin",
        "RefusalReason",
        "ResourceOptions",
        "__version__",
        "custom_cors",
        "setup",
    }
    assert expected <= set(aiohttp_cors.__all__)
    for name in aiohttp_cors.__all__:
        assert hasattr(aiohttp_cors, name), name


@pytest.mark.parametrize(
    ("module", "name", "same_as"),
    [
        ("aiohttp_cors.abc", "AbstractRouterAdapter", None),
        ("aiohttp_cors.resource_options", "ResourceOptions", ResourceOptions),
        ("aiohttp_cors.cors_config", "CorsConfig", CorsConfig),
        ("aiohttp_cors.cors_config", "setup", aiohttp_cors.setup),
        ("aiohttp_cors.cors_config", "APP_CONFIG_KEY", APP_CONFIG_KEY),
        ("aiohttp_cors.mixin", "CorsViewMixin", CorsViewMixin),
        ("aiohttp_cors.mixin", "custom_cors", custom_cors),
        (
            "aiohttp_cors.urldispatcher_router_adapter",
            "ResourcesUrlDispatcherRouterAdapter",
            None,
        ),
    ],
)
def test_submodule_keeps_its_0_8_1_name(module: str, name: str, same_as: object) -> None:
    value = getattr(importlib.import_module(module), name)
    if same_as is not None:
        assert value is same_as
    else:
        assert isinstance(value, type)


def test_abstract_router_adapter_is_abstract_and_the_dispatcher_adapter_implements_it() -> None:
    with pytest.raises(TypeError):
        AbstractRouterAdapter()  # type: ignore[abstract]
    assert issubclass(ResourcesUrlDispatcherRouterAdapter, AbstractRouterAdapter)
    # The concrete adapter is instantiable with a router and defaults.
    adapter = ResourcesUrlDispatcherRouterAdapter(web.Application().router, {})
    assert isinstance(adapter, AbstractRouterAdapter)


def test_version_is_a_pep440_1x_version() -> None:
    version = Version(aiohttp_cors.__version__)
    assert version.release[0] == 1
    assert str(version) == aiohttp_cors.__version__  # already in normalised form


def test_package_ships_py_typed_marker() -> None:
    package_dir = pathlib.Path(aiohttp_cors.__file__).parent
    assert (package_dir / "py.typed").is_file()


def test_error_and_warning_classes_subclass_the_0_8_1_exception_types() -> None:
    assert issubclass(CorsConfigurationError, ValueError)
    assert issubclass(CorsSecurityWarning, UserWarning)
    assert issubclass(CorsConfigurationWarning, UserWarning)


# --------------------------------------------------------------------------
# setup() and APP_CONFIG_KEY
# --------------------------------------------------------------------------


def test_app_config_key_is_an_aiohttp_app_key() -> None:
    assert isinstance(APP_CONFIG_KEY, web.AppKey)


def test_setup_returns_cors_config_stored_under_app_config_key() -> None:
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    assert isinstance(cors, CorsConfig)
    assert app[APP_CONFIG_KEY] is cors


async def test_setup_config_is_reachable_from_a_request(aiohttp_client) -> None:
    seen: list[object] = []

    async def read_config(request: web.Request) -> web.Response:
        seen.append(request.app[APP_CONFIG_KEY])
        seen.append(request.config_dict[APP_CONFIG_KEY])
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", read_config)
    cors = aiohttp_cors.setup(app)
    client = await aiohttp_client(app)
    response = await client.get("/")
    assert response.status == 200
    assert seen == [cors, cors]


def test_setup_without_defaults_has_empty_defaults() -> None:
    cors = aiohttp_cors.setup(web.Application())
    assert cors.defaults == {}


def test_setup_defaults_are_public_and_hold_the_given_options() -> None:
    options = ResourceOptions(allow_headers=("X-Token",), max_age=60)
    cors = aiohttp_cors.setup(web.Application(), defaults={ORIGIN: options})
    assert cors.defaults == {ORIGIN: options}


def test_setup_twice_on_one_application_warns_and_both_configurations_apply() -> None:
    app = web.Application()
    first = aiohttp_cors.setup(app)
    with pytest.warns(CorsConfigurationWarning, match="already called") as record:
        second = aiohttp_cors.setup(app)
    assert len(record) == 1
    assert record[0].filename == __file__  # points at the second setup() line
    assert "call setup() once" in str(record[0].message)  # the fix
    assert second is not first
    assert app[APP_CONFIG_KEY] is second
    assert len(app.middlewares) == 2
    assert len(app.on_response_prepare) == 2


def test_setup_twice_under_strict_raises() -> None:
    app = web.Application()
    first = aiohttp_cors.setup(app)
    with pytest.raises(CorsConfigurationError, match="already called"):
        aiohttp_cors.setup(app, strict=True)
    assert app[APP_CONFIG_KEY] is first


async def test_private_names_that_projects_tests_touch_keep_working(aiohttp_client) -> None:
    # Private names kept because projects' tests use them: CorsConfig._router_adapter and
    # CorsConfig._cors_impl._router_adapter.is_cors_enabled_on_request(request).
    async def probe(request: web.Request) -> web.Response:
        adapter = request.app[APP_CONFIG_KEY]._cors_impl._router_adapter
        return web.json_response(adapter.is_cors_enabled_on_request(request))

    app = web.Application()
    resource = app.router.add_resource("/enabled")
    get = resource.add_route("GET", probe)
    resource.add_route("POST", probe)  # a sibling never passed to add()
    app.router.add_get("/plain", probe)
    cors = aiohttp_cors.setup(app, defaults={ORIGIN: ResourceOptions()})
    cors.add(get)
    assert isinstance(cors._router_adapter, ResourcesUrlDispatcherRouterAdapter)
    assert cors._cors_impl._router_adapter is cors._router_adapter
    client = await aiohttp_client(app)
    assert await (await client.get("/enabled")).json() is True
    assert await (await client.post("/enabled")).json() is True
    assert await (await client.get("/plain")).json() is False


def test_setup_takes_defaults_keyword_only() -> None:
    with pytest.raises(TypeError):
        aiohttp_cors.setup(web.Application(), {})  # type: ignore[misc]


def test_cors_config_can_be_built_directly_with_router_adapter_none() -> None:
    app = web.Application()
    options = ResourceOptions(max_age=5)
    cors = CorsConfig(app, defaults={"*": options}, router_adapter=None)
    assert cors.defaults == {"*": options}
    assert len(app.middlewares) == 1
    assert len(app.on_response_prepare) == 1
    route = app.router.add_get("/", handler)
    assert cors.add(route) is route


def test_setup_inserts_one_middleware_first_and_keeps_existing_ones() -> None:
    @web.middleware
    async def first(request: web.Request, handler):  # type: ignore[no-untyped-def]
        return await handler(request)

    @web.middleware
    async def second(request: web.Request, handler):  # type: ignore[no-untyped-def]
        return await handler(request)

    app = web.Application(middlewares=[first, second])
    aiohttp_cors.setup(app)
    middlewares = list(app.middlewares)
    assert len(middlewares) == 3
    assert middlewares[1:] == [first, second]
    assert middlewares[0] not in (first, second)


def test_setup_appends_exactly_one_response_prepare_receiver() -> None:
    async def existing(request: web.Request, response: web.StreamResponse) -> None:
        return None

    app = web.Application()
    app.on_response_prepare.append(existing)
    aiohttp_cors.setup(app)
    receivers = list(app.on_response_prepare)
    assert len(receivers) == 2
    assert receivers[0] is existing


def test_setup_and_add_register_no_routes_of_their_own(tmp_path: pathlib.Path) -> None:
    app = web.Application()
    plain = app.router.add_resource("/plain", name="plain")
    plain.add_route("GET", handler)
    plain.add_route("POST", handler)
    dynamic_route = app.router.add_put("/items/{id}", handler, name="item")
    star_route = app.router.add_route("*", "/any", handler)
    view_route = app.router.add_view("/view", MixinView)
    static = app.router.add_static("/static", tmp_path, name="static")

    def snapshot() -> tuple[int, list[tuple[str, str, str | None]]]:
        routes = list(app.router.routes())
        described = [(r.method, r.resource.canonical, r.name) for r in routes if r.resource]
        return len(routes), described

    def resources() -> list[str]:
        return [r.canonical for r in app.router.resources()]

    before, resources_before = snapshot(), resources()
    cors = aiohttp_cors.setup(app, defaults={"*": ResourceOptions()})
    cors.add(plain)
    cors.add(dynamic_route)
    cors.add(star_route)
    cors.add(view_route)
    cors.add(static)
    assert snapshot() == before
    assert resources() == resources_before
    assert sorted(app.router.named_resources()) == ["item", "plain", "static"]
    assert not any(r.method == "OPTIONS" for r in app.router.routes())


# --------------------------------------------------------------------------
# CorsConfig.add()
# --------------------------------------------------------------------------


def test_add_returns_a_plain_resource_unchanged() -> None:
    app = web.Application()
    resource = app.router.add_resource("/r")
    resource.add_route("GET", handler)
    cors = aiohttp_cors.setup(app)
    assert cors.add(resource) is resource


def test_add_returns_a_dynamic_resource_unchanged() -> None:
    app = web.Application()
    resource = app.router.add_resource("/r/{name}")
    resource.add_route("GET", handler)
    cors = aiohttp_cors.setup(app)
    assert cors.add(resource, {ORIGIN: ResourceOptions()}) is resource


def test_add_returns_a_route_unchanged() -> None:
    app = web.Application()
    route = app.router.add_post("/r", handler)
    cors = aiohttp_cors.setup(app)
    assert cors.add(route) is route


def test_add_returns_a_static_resource_unchanged(tmp_path: pathlib.Path) -> None:
    app = web.Application()
    static = app.router.add_static("/static", tmp_path)
    assert isinstance(static, web.StaticResource)
    cors = aiohttp_cors.setup(app)
    assert cors.add(static) is static


def test_add_returns_a_mixin_view_route_unchanged() -> None:
    app = web.Application()
    route = app.router.add_view("/v", MixinView)
    cors = aiohttp_cors.setup(app)
    assert cors.add(route) is route


def test_add_accepts_config_positionally() -> None:
    app = web.Application()
    route = app.router.add_get("/r", handler)
    cors = aiohttp_cors.setup(app)
    assert cors.add(route, {ORIGIN: ResourceOptions(allow_credentials=True)}) is route


@pytest.mark.parametrize(
    "make_entity",
    [
        pytest.param(lambda app: "/path", id="string"),
        pytest.param(lambda app: None, id="none"),
        pytest.param(lambda app: 42, id="int"),
        pytest.param(lambda app: handler, id="handler-function"),
        pytest.param(lambda app: app.router, id="router"),
        pytest.param(lambda app: app.add_subapp("/sub", web.Application()), id="subapp-resource"),
        pytest.param(lambda app: MixinView, id="view-class"),
    ],
)
def test_add_of_something_that_is_not_a_resource_or_route_raises(make_entity) -> None:  # type: ignore[no-untyped-def]
    app = web.Application()
    cors = aiohttp_cors.setup(app)
    entity = make_entity(app)
    with pytest.raises(ValueError) as excinfo:
        cors.add(entity)
    assert str(excinfo.value).startswith("Resource or ResourceRoute expected, got ")
    assert repr(entity) in str(excinfo.value)


def test_add_same_route_twice_raises_already_configured() -> None:
    app = web.Application()
    route = app.router.add_get("/r", handler)
    cors = aiohttp_cors.setup(app)
    cors.add(route)
    with pytest.raises(ValueError, match="already configured"):
        cors.add(route)


def test_add_same_route_twice_raises_even_with_a_different_config() -> None:
    app = web.Application()
    route = app.router.add_get("/r", handler)
    cors = aiohttp_cors.setup(app)
    cors.add(route, {ORIGIN: ResourceOptions()})
    with pytest.raises(ValueError, match="already configured"):
        cors.add(route, {"*": ResourceOptions()})


def test_add_same_resource_twice_raises_already_configured() -> None:
    app = web.Application()
    resource = app.router.add_resource("/r")
    resource.add_route("GET", handler)
    cors = aiohttp_cors.setup(app)
    cors.add(resource)
    with pytest.raises(ValueError, match="already configured"):
        cors.add(resource)


def test_add_resource_after_one_of_its_routes_raises_already_configured() -> None:
    app = web.Application()
    resource = app.router.add_resource("/r")
    route = resource.add_route("GET", handler)
    cors = aiohttp_cors.setup(app)
    cors.add(route)
    with pytest.raises(ValueError, match="already configured"):
        cors.add(resource)


def test_add_route_after_its_resource_is_allowed() -> None:
    app = web.Application()
    resource = app.router.add_resource("/r")
    get = resource.add_route("GET", handler)
    put = resource.add_route("PUT", handler)
    cors = aiohttp_cors.setup(app)
    assert cors.add(resource, {"*": ResourceOptions()}) is resource
    assert cors.add(get, {ORIGIN: ResourceOptions(allow_credentials=True)}) is get
    assert cors.add(put) is put


def test_add_two_routes_of_one_resource_is_allowed() -> None:
    app = web.Application()
    resource = app.router.add_resource("/r")
    get = resource.add_route("GET", handler)
    post = resource.add_route("POST", handler)
    cors = aiohttp_cors.setup(app)
    assert cors.add(get) is get
    assert cors.add(post) is post


def test_add_with_webview_true_warns_deprecation_and_still_returns_the_route() -> None:
    app = web.Application()
    route = app.router.add_view("/v", MixinView)
    cors = aiohttp_cors.setup(app)
    with pytest.warns(DeprecationWarning, match="webview") as record:
        assert cors.add(route, webview=True) is route
    assert len(record) == 1
    assert record[0].filename == __file__  # points at the caller


def test_add_with_webview_false_does_not_warn() -> None:
    app = web.Application()
    route = app.router.add_view("/v", MixinView)
    cors = aiohttp_cors.setup(app)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cors.add(route, webview=False) is route


def test_add_of_a_view_without_the_mixin_raises_naming_cors_view_mixin() -> None:
    app = web.Application()
    route = app.router.add_view("/v", PlainView)
    cors = aiohttp_cors.setup(app)
    with pytest.raises(ValueError, match="CorsViewMixin") as excinfo:
        cors.add(route)
    assert "PlainView" in str(excinfo.value)


# --------------------------------------------------------------------------
# CorsViewMixin and custom_cors
# --------------------------------------------------------------------------


def test_cors_view_mixin_has_no_class_config_by_default() -> None:
    assert CorsViewMixin.cors_config is None
    assert MixinView.cors_config is None


def test_custom_cors_sets_funcname_cors_config_and_returns_the_function() -> None:
    config = {ORIGIN: ResourceOptions(max_age=7)}

    async def patch(self: web.View) -> web.Response:
        return web.Response()

    decorated = custom_cors(config)(patch)
    assert decorated is patch
    assert patch.patch_cors_config is config  # type: ignore[attr-defined]


A = ResourceOptions(max_age=1)
B = ResourceOptions(max_age=2)
C = ResourceOptions(max_age=3)
D = ResourceOptions(max_age=4)


class LayeredView(CorsViewMixin, web.View):
    cors_config: ClassVar[Mapping[Any, Any] | None] = {"*": C, "https://class.example": C}

    async def get(self) -> web.Response:
        return self._describe("GET")

    @custom_cors({"https://class.example": D, "https://method.example": D})
    async def post(self) -> web.Response:
        return self._describe("POST")

    async def put(self) -> web.Response:
        try:
            self.get_request_config(self.request, "DELETE")
        except KeyError:
            return web.Response(text="KeyError")
        return web.Response(text="no error")

    def _describe(self, method: str) -> web.Response:
        config = self.get_request_config(self.request, method)
        return web.json_response({str(key): value.max_age for key, value in config.items()})


async def test_get_request_config_merges_defaults_class_and_method_configs_in_a_subapp(
    aiohttp_client,
) -> None:
    parent = web.Application()
    sub = web.Application()
    sub.router.add_view("/view", LayeredView)
    parent.add_subapp("/sub", sub)
    aiohttp_cors.setup(parent, defaults={"https://defaults.example": A, "*": B})
    client = await aiohttp_client(parent)

    response = await client.get("/sub/view")
    assert response.status == 200
    assert await response.json() == {
        "https://defaults.example": 1,
        "*": 3,
        "https://class.example": 3,
    }

    response = await client.post("/sub/view")
    assert response.status == 200
    assert await response.json() == {
        "https://defaults.example": 1,
        "*": 3,
        "https://class.example": 4,
        "https://method.example": 4,
    }


async def test_get_request_config_raises_key_error_for_a_method_the_view_lacks(
    aiohttp_client,
) -> None:
    app = web.Application()
    app.router.add_view("/view", LayeredView)
    aiohttp_cors.setup(app)
    client = await aiohttp_client(app)
    response = await client.put("/view")
    assert await response.text() == "KeyError"


async def test_get_request_config_without_setup_raises_value_error(aiohttp_client) -> None:
    class Probe(CorsViewMixin, web.View):
        async def get(self) -> web.Response:
            try:
                self.get_request_config(self.request, "GET")
            except ValueError as exc:
                return web.Response(text=f"ValueError: {exc}")
            return web.Response(text="no error")

    app = web.Application()
    app.router.add_view("/view", Probe)
    client = await aiohttp_client(app)
    response = await client.get("/view")
    text = await response.text()
    assert text.startswith("ValueError: ")
    assert "not configured" in text


# --------------------------------------------------------------------------
# ResourceOptions: value semantics
# --------------------------------------------------------------------------


def test_resource_options_default_to_granting_nothing_beyond_the_origin() -> None:
    options = ResourceOptions()
    assert options.allow_credentials is False
    assert options.expose_headers == frozenset()
    assert options.allow_headers == frozenset()
    assert isinstance(options.expose_headers, frozenset)
    assert isinstance(options.allow_headers, frozenset)
    assert options.max_age is None
    assert options.allow_methods is None
    assert options.allow_private_network is False


def test_resource_options_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        ResourceOptions(True)  # type: ignore[misc]
    with pytest.raises(TypeError):
        ResourceOptions(False, (), (), None, None)  # type: ignore[misc]


def test_resource_options_rejects_unknown_keywords() -> None:
    with pytest.raises(TypeError):
        ResourceOptions(allow_origin="*")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("allow_credentials", True),
        ("expose_headers", ("X-A",)),
        ("allow_headers", "*"),
        ("max_age", 10),
        ("allow_methods", ("PUT",)),
        ("allow_private_network", True),
        ("something_new", 1),
    ],
)
def test_resource_options_is_immutable(name: str, value: object) -> None:
    options = ResourceOptions()
    before = repr(options)
    with pytest.raises(AttributeError):
        setattr(options, name, value)
    with pytest.raises(AttributeError):
        delattr(options, "max_age")
    assert repr(options) == before


def test_resource_options_equal_by_value_and_hash_alike() -> None:
    first = ResourceOptions(
        allow_credentials=True,
        expose_headers=["X-A", "X-B"],
        allow_headers=("X-C",),
        max_age=30,
        allow_methods=["put"],
    )
    second = ResourceOptions(
        allow_credentials=True,
        expose_headers=("X-A", "X-B"),
        allow_headers=["X-C"],
        max_age=30,
        allow_methods=("PUT",),
    )
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    assert {first: "x"}[second] == "x"


@pytest.mark.parametrize(
    "changes",
    [
        {"allow_credentials": True},
        {"expose_headers": ("X-A",)},
        {"expose_headers": "*"},
        {"allow_headers": ("X-A",)},
        {"allow_headers": "*"},
        {"max_age": 0},
        {"allow_methods": ()},
        {"allow_methods": "*"},
        {"allow_methods": ("PUT",)},
        {"allow_private_network": True},
    ],
    ids=lambda changes: "-".join(f"{k}={v!r}" for k, v in changes.items()),
)
def test_resource_options_differing_in_one_field_are_unequal(changes: dict[str, object]) -> None:
    base = ResourceOptions()
    other = ResourceOptions(**changes)  # type: ignore[arg-type]
    assert base != other
    assert other != base
    assert len({base, other}) == 2


def test_resource_options_header_order_and_duplicates_do_not_matter_for_equality() -> None:
    # Fields are frozensets, as in 0.8.1.
    first = ResourceOptions(expose_headers=("X-A", "X-B"), allow_methods=("PUT", "POST"))
    second = ResourceOptions(expose_headers=("X-B", "X-A", "X-B"), allow_methods=("post", "PUT"))
    assert first == second
    assert hash(first) == hash(second)


def test_resource_options_fields_compare_equal_to_sets() -> None:
    # Projects' tests compare the fields with sets, as 0.8.1's frozensets allowed.
    options = ResourceOptions(
        expose_headers=("X-A",), allow_headers=("x-requested-with",), allow_methods=("put",)
    )
    assert options.expose_headers == {"X-A"}
    assert options.allow_headers == {"X-REQUESTED-WITH"}
    assert options.allow_methods == {"PUT"}


def test_resource_options_is_not_equal_to_other_types() -> None:
    assert ResourceOptions() != {}
    assert ResourceOptions() != ()
    assert ResourceOptions() != None  # noqa: E711 (the comparison is what is tested)
    assert ResourceOptions() != "ResourceOptions()"


def test_resource_options_repr_shows_every_field() -> None:
    options = ResourceOptions(
        allow_credentials=True,
        expose_headers=("X-Exposed",),
        allow_headers="*",
        max_age=42,
        allow_methods=("PATCH",),
        allow_private_network=True,
    )
    assert repr(options) == (
        "ResourceOptions(allow_credentials=True, expose_headers=frozenset({'X-Exposed'}), "
        "allow_headers='*', max_age=42, allow_methods=frozenset({'PATCH'}), "
        "allow_private_network=True)"
    )


def test_resource_options_normalises_sequences_to_frozensets_upper_casing_as_0_8_1() -> None:
    options = ResourceOptions(
        expose_headers=["X-B", "x-a", "X-B"],
        allow_headers=["X-Token", "x-token"],
        allow_methods=["put", "patch", "PUT"],
    )
    assert options.expose_headers == frozenset({"X-B", "x-a"})  # spelled as given
    assert options.allow_headers == frozenset({"X-TOKEN"})
    assert options.allow_methods == frozenset({"PUT", "PATCH"})


def test_resource_options_is_a_namedtuple_like_0_8_1s() -> None:
    options = ResourceOptions(allow_credentials=True, max_age=5)
    assert isinstance(options, tuple)
    assert ResourceOptions._fields[:5] == (
        "allow_credentials",
        "expose_headers",
        "allow_headers",
        "max_age",
        "allow_methods",
    )
    assert list(options)[:5] == [True, frozenset(), frozenset(), 5, None]
    assert options._asdict()["max_age"] == 5
    allow_credentials, *_ = options
    assert allow_credentials is True


def test_resource_options_star_is_kept_as_star() -> None:
    options = ResourceOptions(expose_headers="*", allow_headers="*", allow_methods="*")
    assert options.expose_headers == "*"
    assert options.allow_headers == "*"
    assert options.allow_methods == "*"


@pytest.mark.parametrize(
    "options",
    [
        ResourceOptions(),
        ResourceOptions(
            allow_credentials=True,
            expose_headers=("X-A",),
            allow_headers=("X-B", "X-C"),
            max_age=0,
            allow_methods=("PUT", "DELETE"),
            allow_private_network=True,
        ),
        ResourceOptions(expose_headers="*", allow_headers="*", allow_methods="*"),
    ],
    ids=["defaults", "everything", "stars"],
)
def test_resource_options_pickle_round_trip(options: ResourceOptions) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(options, protocol=protocol))
        assert type(restored) is ResourceOptions
        assert restored == options
        assert restored._asdict() == options._asdict()
        assert restored is not options
    assert copy.copy(options) == options
    assert copy.deepcopy(options) == options


@pytest.mark.parametrize(
    ("allow_methods", "method", "expected"),
    [
        (None, "GET", False),
        (None, "PUT", False),
        ("*", "PUT", True),
        ("*", "anything", True),
        (("PUT",), "PUT", True),
        (("PUT",), "DELETE", False),
        (("put",), "PUT", True),  # configured names are upper-cased
        # 0.8.1 upper-cased the argument; kept for drop-in use. (The preflight
        # method check itself is byte-exact, see test_preflight.py.)
        (("PATCH",), "patch", True),
        ((), "GET", False),
    ],
)
def test_resource_options_is_method_allowed(
    allow_methods: object, method: str, expected: bool
) -> None:
    options = ResourceOptions(allow_methods=allow_methods)  # type: ignore[arg-type]
    assert options.is_method_allowed(method) is expected
