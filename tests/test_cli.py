"""``python -m aiohttp_cors routes`` and ``explain`` against real applications.

The applications live in ``tests/cli_apps`` (importable as ``cli_apps.*``: this
directory is on ``sys.path`` under pytest, and is the working directory of the
subprocess tests). Every refusal reason code has a test in which ``explain``
names it and its fix.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aiohttp_cors import RefusalReason
from aiohttp_cors.__main__ import main
from aiohttp_cors._demo import DEMO_CASES

TESTS_DIR = Path(__file__).resolve().parent
SHOP = "cli_apps.shop:make_app"
TRIAL = "cli_apps.trial:make_app"
ORIGIN = "https://app.example"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``python -m aiohttp_cors ARGV`` in-process: (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as exc:  # argparse's own usage errors
        status = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return status, out, err


def explain_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    status, out, err = run(capsys, "explain", *argv, "--json")
    assert status in (0, 1), err
    return status, json.loads(out)


def route(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found = [r for r in document["routes"] if r["method"] == method and r["path"] == path]
    assert len(found) == 1, (method, path, document["routes"])
    return found[0]


def origin_entry(row: dict[str, Any], key: str) -> dict[str, Any]:
    found = [o for o in row["origins"] if o["key"] == key]
    assert len(found) == 1, (key, row)
    return found[0]


# -- routes ---------------------------------------------------------------------------------


def test_routes_json_layers_routes_resources_views_and_subapps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "routes", SHOP, "--json")
    assert status == 0, err
    document = json.loads(out)
    app_key = repr(ORIGIN)
    put = origin_entry(route(document, "PUT", "/items"), app_key)
    assert put["from"] == "route"
    assert put["allow_headers"] == ["X-TOKEN"]
    # A sibling never passed to add() gets the resource's config (the first add()).
    assert origin_entry(route(document, "PATCH", "/items"), app_key)["from"] == "resource"
    limited = origin_entry(route(document, "DELETE", "/limited"), app_key)
    assert (limited["from"], limited["allow_methods"]) == ("resource", ["PUT"])
    defaults = origin_entry(route(document, "GET", "/hello"), "'https://defaults.example'")
    assert (defaults["from"], defaults["max_age"]) == ("defaults", 600)
    # Views: one row per implemented method, @custom_cors over the class's cors_config.
    view_put = origin_entry(route(document, "PUT", "/view"), app_key)
    assert view_put["from"] == "@custom_cors ItemView.put"
    assert view_put["allow_headers"] == ["X-EXTRA", "X-TOKEN"]
    assert view_put["max_age"] == 60
    assert origin_entry(route(document, "GET", "/view"), app_key)["from"] == "ItemView.cors_config"
    assert not [r for r in document["routes"] if r["path"] == "/view" and r["method"] == "DELETE"]
    # Sub-applications: the parent's setup() or their own.
    assert route(document, "GET", "/plain/ping")["config"] == "setup() of the root application"
    thing = route(document, "PUT", "/sub/thing")
    assert thing["config"] == "setup() of the sub-application at /sub"
    assert origin_entry(thing, "'https://tenant.example'")["allow_headers"] == "*"
    # Globs, regexes and predicates are shown as written.
    assert route(document, "GET", "/glob")["origins"][0]["key"] == "'https://*.example.org'"
    assert route(document, "GET", "/regex")["origins"][0]["key"].startswith("re.compile(")
    keys = [o["key"] for o in route(document, "GET", "/tenants")["origins"]]
    assert keys[:2] == ["predicate cli_apps.shop.is_partner", "predicate cli_apps.shop.is_tenant"]
    assert route(document, "GET", "/not-cors")["cors"] == "no"
    # The package's own OPTIONS routes are not the application's.
    assert not [r for r in document["routes"] if r["method"] == "OPTIONS"]
    [warning] = document["warnings"]
    assert warning["category"] == "CorsConfigurationWarning"
    assert "'Cookie'" in warning["message"]
    assert warning["file"].endswith("shop.py")


def test_routes_table_lists_routes_options_and_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "routes", SHOP)
    assert status == 0
    lines = out.splitlines()
    put_row = next(i for i, line in enumerate(lines) if line.split()[:2] == ["PUT", "/items"])
    assert "cli_apps.shop.ok" in lines[put_row]
    assert lines[put_row + 1].split()[:2] == ["origin", "key"]
    assert lines[put_row + 2].split()[:4] == [repr(ORIGIN), "route", "no", "-"]
    assert "X-TOKEN" in lines[put_row + 2]
    not_cors = next(line for line in lines if line.split()[:2] == ["GET", "/not-cors"])
    assert not_cors.split()[2] == "no"
    assert "Configuration warnings (1):" in out
    assert "allow_headers lists 'Cookie'" in out


def test_routes_app_wide_mode_from_an_async_factory(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "routes", "cli_apps.appwide:make_app", "--json")
    assert status == 0
    document = json.loads(out)
    put_open = route(document, "PUT", "/open")
    assert put_open["cors"] == "app-wide"
    assert origin_entry(put_open, repr(ORIGIN))["from"] == "defaults"
    own = route(document, "GET", "/own")
    assert own["cors"] == "yes"
    assert [o["key"] for o in own["origins"]] == ["'https://own.example'", repr(ORIGIN)]


def test_routes_of_the_demo_app(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "routes", "cli_apps.demo:make_app", "--json")
    assert status == 0
    document = json.loads(out)
    locked = route(document, "PUT", "/locked")
    assert [o["key"] for o in locked["origins"]] == ["'https://trusted.example'"]
    bearer = origin_entry(route(document, "GET", "/bearer"), "'http://localhost:8080'")
    assert bearer["allow_headers"] == "*"
    assert document["warnings"] == []  # the demo silences its one (http + credentials)


@pytest.mark.parametrize("target", ["cli_apps.module_level:app", "cli_apps.module_level:make_app"])
def test_routes_accepts_an_application_or_a_factory_taking_argv(
    capsys: pytest.CaptureFixture[str], target: str
) -> None:
    status, out, _ = run(capsys, "routes", target, "--json")
    assert status == 0
    assert [(r["method"], r["path"]) for r in json.loads(out)["routes"]] == [
        ("HEAD", "/hello"),
        ("GET", "/hello"),
    ]


# -- explain: allowed ------------------------------------------------------------------------


def test_explain_allowed_preflighted_put_shows_both_exchanges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(
        capsys, "explain", SHOP, "PUT", "/items", "--origin", ORIGIN, "--header", "X-Token: 1"
    )
    assert status == 0
    assert "PUT is not a CORS-safelisted method" in out
    assert "x-token is not a CORS-safelisted request-header" in out
    assert (
        "  > Access-Control-Request-Method: PUT\n  > Access-Control-Request-Headers: x-token" in out
    )
    assert f"  < Access-Control-Allow-Origin: {ORIGIN}" in out
    assert "  < Access-Control-Allow-Headers: X-TOKEN" in out
    assert "Verdict: ALLOWED" in out


def test_explain_simple_request_sends_no_preflight(capsys: pytest.CaptureFixture[str]) -> None:
    status, document = explain_json(
        capsys,
        SHOP,
        "GET",
        "/hello",
        "--origin",
        ORIGIN,
        "--header",
        "Content-Type: text/plain;charset=utf-8",
        "--header",
        "Accept-Language: en-US,en;q=0.9",
    )
    assert document["preflight"] == {"required": False, "reasons": []}
    [actual] = document["exchanges"]
    assert actual["kind"] == "actual"
    assert ["Access-Control-Allow-Origin", ORIGIN] in actual["response"]["headers"]
    assert ["Access-Control-Expose-Headers", "X-Id"] in actual["response"]["headers"]
    assert (status, document["verdict"]) == (0, "allowed")


def test_explain_json_content_type_json_needs_a_preflight(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, document = explain_json(
        capsys,
        SHOP,
        "GET",
        "/hello",
        "--origin",
        ORIGIN,
        "--header",
        "Content-Type: application/json",
    )
    assert document["preflight"]["required"] is True
    preflight = document["exchanges"][0]
    assert ["Access-Control-Request-Headers", "content-type"] in preflight["request"]["headers"]
    assert document["reason"] == RefusalReason.HEADERS_NOT_ALLOWED.value
    assert status == 1


def test_explain_views_sub_apps_globs_regexes_and_app_wide(
    capsys: pytest.CaptureFixture[str],
) -> None:
    allowed = [
        (SHOP, "PUT", "/view", "https://app.example", ("X-Extra: 1",)),
        (SHOP, "PUT", "/sub/thing", "https://tenant.example", ("Authorization: Bearer t",)),
        (SHOP, "GET", "/glob", "https://a.b.example.org", ()),
        (SHOP, "GET", "/regex", "https://app7.example", ()),
        (SHOP, "GET", "/tenants", "https://partner.example", ()),
        (SHOP, "GET", "/plain/ping", ORIGIN, ()),
        ("cli_apps.appwide:make_app", "PUT", "/open", ORIGIN, ("X-Token: 1",)),
    ]
    for target, method, path, origin, headers in allowed:
        extra = [arg for header in headers for arg in ("--header", header)]
        status, document = explain_json(capsys, target, method, path, "--origin", origin, *extra)
        assert (status, document["verdict"]) == (0, "allowed"), (path, document)
    status, document = explain_json(capsys, SHOP, "GET", "/glob", "--origin", "https://example.org")
    assert (status, document["reason"]) == (1, "origin_not_allowed")  # never the apex


def test_explain_the_demo_agrees_with_every_expected_outcome(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The demo page's matrix says what a browser allows; explain must say the same."""
    for case in DEMO_CASES:
        argv = [case.method, case.path, "--origin", "http://localhost:8080"]
        for name, value in case.headers:
            argv += ["--header", f"{name}: {value}"]
        if case.credentials == "include":
            argv.append("--credentials")
        status, document = explain_json(capsys, "cli_apps.demo:make_app", *argv)
        assert document["verdict"] == ("allowed" if case.expect_allowed else "refused"), (
            case.key,
            document,
        )
        assert status == (0 if case.expect_allowed else 1)


# -- explain: one test per refusal reason code ---------------------------------------------


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str, str]:
    """Explain a request that must be refused: (reason code, decided by, fix)."""
    status, out, err = run(capsys, "explain", SHOP, *argv)
    assert status == 1, out + err
    verdict = out[out.index("Verdict: REFUSED") :]
    status, document = explain_json(capsys, SHOP, *argv)
    assert status == 1
    assert f"Verdict: REFUSED ({document['reason']})" in verdict
    assert document["fix"] in verdict
    return document["reason"], document["decided_by"], document["fix"]


def test_explain_origin_not_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "GET", "/hello", "--origin", "https://evil.example")
    assert code == RefusalReason.ORIGIN_NOT_ALLOWED.value
    assert "no origin key for GET /hello matches 'https://evil.example'" in decided
    assert "'https://app.example'" in decided  # the keys that were tried
    assert fix.startswith("add the key 'https://evil.example' to the config given to cors.add()")
    assert "{'https://evil.example': ResourceOptions()}" in fix
    assert "glob" not in fix  # '*.example' would cover a top-level domain


def test_explain_origin_not_allowed_for_null_explains_the_wildcard(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, decided, _ = refused(capsys, "PUT", "/sub/thing", "--origin", "null")
    assert code == RefusalReason.ORIGIN_NOT_ALLOWED.value
    assert "'*' never matches the origin 'null'" in decided


def test_explain_origin_malformed(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "GET", "/hello", "--origin", "https://App.example:443")
    assert code == RefusalReason.ORIGIN_MALFORMED.value
    assert "is not one serialized origin" in decided
    assert "a browser would send 'https://app.example'" in fix


def test_explain_origin_missing(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "OPTIONS", "/any")
    assert code == RefusalReason.ORIGIN_MISSING.value
    assert "no Origin header" in decided
    assert "pass --origin" in fix


def test_explain_method_missing(capsys: pytest.CaptureFixture[str]) -> None:
    # A page's own OPTIONS request: its preflight passes (allow_methods="*"), the
    # request itself has Origin but no Access-Control-Request-Method.
    code, decided, fix = refused(capsys, "OPTIONS", "/any", "--origin", ORIGIN)
    assert code == RefusalReason.METHOD_MISSING.value
    assert "no Access-Control-Request-Method" in decided
    assert "add an OPTIONS handler of your own to /any" in fix


def test_explain_method_not_allowed_for_a_route_not_passed_to_add(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, decided, fix = refused(
        capsys, "PATCH", "/items", "--origin", ORIGIN, "--header", "X-Token: 1"
    )
    assert code == RefusalReason.METHOD_NOT_ALLOWED.value
    assert "the config given to cors.add() for the resource /items" in decided
    assert "no PATCH route of /items was passed to cors.add()" in decided
    assert fix.startswith("pass the PATCH route of /items to cors.add()")
    assert "add 'PATCH' to allow_methods" in fix


def test_explain_method_not_allowed_by_allow_methods(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "DELETE", "/limited", "--origin", ORIGIN)
    assert code == RefusalReason.METHOD_NOT_ALLOWED.value
    assert "allow_methods=('PUT',)" in decided
    assert "add 'DELETE' to allow_methods" in fix


def test_explain_method_not_allowed_by_a_view(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "DELETE", "/view", "--origin", ORIGIN)
    assert code == RefusalReason.METHOD_NOT_ALLOWED.value
    assert decided.startswith("ItemView does not implement delete()")
    assert fix == "add an 'async def delete(self)' method to ItemView"


def test_explain_headers_not_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(
        capsys,
        "PUT",
        "/items",
        "--origin",
        ORIGIN,
        "--header",
        "X-Token: 1",
        "--header",
        "X-Other: 2",
    )
    assert code == RefusalReason.HEADERS_NOT_ALLOWED.value
    assert decided == (
        "the options for 'https://app.example' in the config given to cors.add() for the PUT "
        "route of /items (setup() of the root application): allow_headers=('X-TOKEN',)"
    )
    assert fix.startswith("add 'X-Other' to allow_headers of those options")
    assert "ResourceOptions(allow_headers=('X-Token', 'X-Other'))" in fix


def test_explain_headers_not_allowed_by_a_views_custom_cors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, decided, _ = refused(capsys, "PUT", "/view", "--origin", ORIGIN, "--header", "X-Other: 2")
    assert code == RefusalReason.HEADERS_NOT_ALLOWED.value
    assert "in @custom_cors on ItemView.put()" in decided


def test_explain_predicate_failed(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "GET", "/tenants", "--origin", ORIGIN)
    assert code == RefusalReason.PREDICATE_FAILED.value
    assert decided.startswith("predicate cli_apps.shop.is_tenant in the config given to cors.add()")
    assert "OriginPredicate(function, timeout=...)" in fix
    status, out, err = run(capsys, "explain", SHOP, "GET", "/tenants", "--origin", ORIGIN)
    assert status == 1
    assert "server log (ERROR): CORS origin predicate cli_apps.shop.is_tenant failed" in out
    assert "(RuntimeError: tenant database unreachable)" in out
    assert err == ""


def test_explain_private_network_not_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "PUT", "/pna", "--origin", ORIGIN, "--private-network")
    assert code == RefusalReason.PRIVATE_NETWORK_NOT_ALLOWED.value
    assert decided.endswith("allow_private_network=False")
    assert fix.startswith("set allow_private_network=True")
    status, document = explain_json(
        capsys, SHOP, "PUT", "/pna-ok", "--origin", ORIGIN, "--private-network"
    )
    assert (status, document["verdict"]) == (0, "allowed")


def test_every_refusal_reason_code_has_an_explain_test() -> None:
    tested = {
        name.removeprefix("test_explain_").split("_for_")[0].split("_by_")[0]
        for name in globals()
        if name.startswith("test_explain_")
    }
    assert {reason.value for reason in RefusalReason} <= tested


# -- explain: the origin behind a method refusal, and origin fixes ------------------------


def test_explain_origin_not_allowed_behind_a_method_refusal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The server checks the method first; when no layer gives the origin any options,
    fixing the method would only lead to a refusal for the origin: explain names that."""
    argv = ["explain", TRIAL, "PUT", "/path", "--origin", "http://localhost:5173"]
    status, out, _ = run(capsys, *argv)
    assert status == 1
    assert "  server refusal code: method_not_allowed" in out  # the exchange, as sent
    verdict = out[out.index("Verdict:") :]
    assert verdict.startswith("Verdict: REFUSED (origin_not_allowed)\n")
    assert (
        "  server refusal: method_not_allowed: CORS preflight request failed: request method "
        "'PUT' is not allowed for 'http://localhost:5173' origin" in verdict
    )
    status, document = explain_json(capsys, *argv[1:])
    assert (document["reason"], document["server_reason"]) == (
        RefusalReason.ORIGIN_NOT_ALLOWED.value,
        RefusalReason.METHOD_NOT_ALLOWED.value,
    )
    assert "no origin key for PUT /path matches 'http://localhost:5173'" in document["decided_by"]
    assert document["fix"].startswith(
        "add the key 'http://localhost:5173' to the defaults of setup() (every route), or to the "
        "config you give cors.add() with a PUT route of /path, which has none yet"
    )
    # A PUT route that exists but was never passed to cors.add(): passing it with the
    # origin's key fixes both.
    _, document = explain_json(capsys, TRIAL, "PUT", "/later", "--origin", "http://localhost:5173")
    assert (document["reason"], document["server_reason"]) == (
        "origin_not_allowed",
        "method_not_allowed",
    )
    assert "with the PUT route of /later (never passed to it yet" in document["fix"]
    # The origin the defaults know: the method is the real cause.
    _, document = explain_json(
        capsys, TRIAL, "PUT", "/later", "--origin", "https://app.example.com"
    )
    assert (document["reason"], document["server_reason"]) == ("method_not_allowed", None)
    assert document["fix"].startswith("pass the PUT route of /later to cors.add()")


@pytest.mark.parametrize(
    ("origin", "glob"),
    [
        ("https://pr-12.preview.example.net", "https://*.preview.example.net"),
        ("https://shop.example.org:8443", "https://*.example.org:8443"),
        ("http://localhost:5173", "http://localhost:*"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:*"),
        ("https://example.org", None),  # '*.org' would be every .org site
        ("https://me.github.io", None),  # github.io is a public suffix
        ("https://shop.co.uk", None),  # so is co.uk
        ("http://192.168.1.20:8080", None),
        ("null", None),
    ],
)
def test_explain_origin_not_allowed_suggests_a_glob_only_where_it_matches(
    capsys: pytest.CaptureFixture[str], origin: str, glob: str | None
) -> None:
    code, _, fix = refused(capsys, "GET", "/hello", "--origin", origin)
    assert code == RefusalReason.ORIGIN_NOT_ALLOWED.value
    assert fix.startswith(f"add the key {origin!r} ")
    assert "'https://*.example.com'" not in fix
    if glob is None:
        assert "glob" not in fix
    else:
        assert f"the glob {glob!r} matches it too" in fix
        assert aiohttp_cors_glob_matches(glob, origin)


def aiohttp_cors_glob_matches(glob: str, origin: str) -> bool:
    """Whether the package, configured with ``glob``, lets ``origin`` in."""
    from aiohttp_cors._origins import GlobIndex, parse_glob

    return GlobIndex([(parse_glob(glob), True)]).match(origin) is not None


def test_explain_origin_not_allowed_names_the_warning_of_a_key_meant_to_match(
    capsys: pytest.CaptureFixture[str],
) -> None:
    origin = "https://pr-12.preview.example.net"
    status, out, _ = run(capsys, "explain", TRIAL, "GET", "/previews", "--origin", origin)
    assert status == 1
    _, document = explain_json(capsys, TRIAL, "GET", "/previews", "--origin", origin)
    assert document["reason"] == RefusalReason.ORIGIN_NOT_ALLOWED.value
    key = repr(r"https://.*\.preview\.example\.net")
    assert document["fix"].startswith(
        f"the key {key} in the config given to cors.add() for the GET route of /previews never "
        "matches, as a CorsConfigurationWarning said at start-up (origin key "
    )
    assert "looks like a regular expression" in document["fix"]
    assert "the glob 'https://*.preview.example.net' matches it too" in document["fix"]
    assert f"  fix: {document['fix']}" in out


def test_public_suffixes_without_the_systems_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp_cors import _cli

    monkeypatch.setattr(_cli, "_PSL_PATH", "/nonexistent/public_suffix_list.dat")
    _cli._public_suffix_rules.cache_clear()
    try:
        assert _cli._public_suffix_rules() is None
        for suffix in ("com", "co.uk", "com.au", "github.io", "vercel.app"):
            assert _cli.is_public_suffix(suffix), suffix
        for site in ("example.com", "example.co.uk", "preview.example.net"):
            assert not _cli.is_public_suffix(site), site
        assert _cli.suggest_glob("https://me.github.io") is None
        assert _cli.suggest_glob("https://a.b.example.com") == "https://*.b.example.com"
    finally:
        _cli._public_suffix_rules.cache_clear()


# -- explain: request bodies, handler statuses, unrouted paths ------------------------------


def test_explain_without_a_body_says_a_500_came_from_the_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["explain", TRIAL, "POST", "/items", "--origin", "https://app.example.com"]
    status, out, err = run(capsys, *argv)
    assert status == 0  # the page can read the 500: CORS is right
    assert "  < 500 Internal Server Error" in out
    assert "server log (ERROR): Error handling request" in out
    assert "(JSONDecodeError: " in out
    assert (
        "Verdict: ALLOWED: the page can read the response (status 500)\n  status: 500 came " in out
    )
    assert "the request was sent without a body" in out
    assert "--data or --data-json" in out
    assert err == ""  # aiohttp's traceback is in the report, not on stderr


def test_explain_sends_a_json_body(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [TRIAL, "POST", "/items", "--origin", "https://app.example.com"]
    status, document = explain_json(capsys, *argv, "--data-json", '{"name": "pen"}')
    assert status == 0
    # application/json is not safelisted: the browser asks first.
    assert document["preflight"]["required"] is True
    actual = document["exchanges"][-1]
    assert ["Content-Type", "application/json"] in actual["request"]["headers"]
    assert actual["request"]["body"] == '{"name": "pen"}'
    assert actual["response"]["status"] == 201
    assert document["status_note"] is None
    status, out, _ = run(capsys, "explain", *argv, "--data-json", '{"name": "pen"}')
    assert '  > (body) {"name": "pen"}\n  < 201 Created' in out


def test_explain_sends_a_text_body_as_fetch_does(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [TRIAL, "POST", "/items", "--origin", "https://app.example.com", "--data", "pen"]
    status, document = explain_json(capsys, *argv)
    # fetch() labels a string body text/plain;charset=UTF-8: no preflight.
    assert document["preflight"]["required"] is False
    [actual] = document["exchanges"]
    assert ["Content-Type", "text/plain;charset=UTF-8"] in actual["request"]["headers"]
    assert actual["request"]["body"] == "pen"
    assert actual["response"]["status"] == 500  # the handler wants JSON
    assert (status, document["verdict"]) == (0, "allowed")
    assert document["status_note"].startswith("500 came from the application")
    assert "without a body" not in document["status_note"]
    # A Content-Type of the page's own wins.
    _, document = explain_json(capsys, *argv, "--header", "Content-Type: application/json")
    headers = document["exchanges"][-1]["request"]["headers"]
    assert [h for h in headers if h[0].lower() == "content-type"] == [
        ["Content-Type", "application/json"]
    ]


def test_explain_app_wide_explains_an_unrouted_path_as_its_404(
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = "cli_apps.appwide:make_app"
    status, out, err = run(capsys, "explain", target, "GET", "/nope", "--origin", ORIGIN)
    assert status == 0, err
    assert "Route:   GET /nope (no route: aiohttp answers 404" in out
    assert f"  < 404 Not Found\n  < Access-Control-Allow-Origin: {ORIGIN}" in out
    assert "Verdict: ALLOWED: the page can read the response (status 404)" in out
    assert "whether the page can read the 404" in out
    # A preflighted request to it, from an origin the defaults do not list.
    status, document = explain_json(
        capsys, target, "PUT", "/nope", "--origin", "https://evil.example", "--header", "X-Token: 1"
    )
    assert (status, document["reason"]) == (1, "origin_not_allowed")
    assert document["fix"].startswith(
        "add the key 'https://evil.example' to the defaults of setup()"
    )


# -- explain: what the browser checks beyond the server's refusals ---------------------------


def test_explain_credentials_need_allow_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "GET", "/cred", "--origin", ORIGIN, "--credentials")
    assert code == "credentials_not_allowed"
    assert decided.endswith("allow_credentials=False")
    assert fix.startswith("set allow_credentials=True")
    # Credentials alone never need a preflight.
    status, document = explain_json(
        capsys, SHOP, "GET", "/cred-ok", "--origin", ORIGIN, "--credentials"
    )
    assert (status, document["preflight"]["required"]) == (0, False)


def test_explain_route_without_cors(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "GET", "/not-cors", "--origin", ORIGIN)
    assert code == "cors_not_enabled"
    assert "no aiohttp_cors configuration serves /not-cors" in decided
    assert "cors.add(" in fix


def test_explain_a_method_no_route_serves(capsys: pytest.CaptureFixture[str]) -> None:
    code, decided, fix = refused(capsys, "DELETE", "/hello", "--origin", ORIGIN)
    assert code == RefusalReason.METHOD_NOT_ALLOWED.value
    assert fix.startswith("no route of /hello serves DELETE: add one")
    assert "allow_methods" not in fix  # the actual request would still get a 405
    # A simple request is sent without a preflight: aiohttp's 405 has no CORS headers.
    code, decided, fix = refused(capsys, "POST", "/hello", "--origin", ORIGIN)
    assert code == "no_allow_origin"
    assert decided.startswith("no route of /hello serves POST")
    assert "all_routes=True" in fix


def test_explain_ignores_headers_pages_cannot_set(capsys: pytest.CaptureFixture[str]) -> None:
    status, document = explain_json(
        capsys, SHOP, "GET", "/hello", "--origin", ORIGIN, "--header", "Cookie: a=b"
    )
    assert status == 0
    assert document["preflight"]["required"] is False
    assert any("ignored header Cookie" in note for note in document["notes"])


# -- usage errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["routes", "cli_apps.shop"], "is not in 'package.module:name' syntax"),
        (["routes", ".shop:make_app"], "relative module names are not supported"),
        (["routes", "cli_apps.no_such_module:app"], "cannot import module 'cli_apps.no_such"),
        (["routes", "cli_apps.shop:missing"], "has no attribute 'missing'"),
        (["routes", "cli_apps.module_level:not_an_app"], "not an aiohttp.web.Application"),
        (["routes", "cli_apps.shop:ORIGIN"], "not an aiohttp.web.Application"),
        (["explain", SHOP, "GET", "/nowhere", "--origin", ORIGIN], "no route of the application"),
        (["explain", SHOP, "TRACE", "/hello", "--origin", ORIGIN], "browsers refuse to send"),
        (["explain", SHOP, "GET", "hello"], "must start with '/'"),
        (["explain", SHOP, "GET", "/hello", "--header", "X Y: 1"], "is not a header name"),
        (["explain", TRIAL, "GET", "/items", "--data", "x"], "fetch() refuses a body for GET"),
        (["explain", TRIAL, "POST", "/items", "--data-json", "{x"], "--data-json is not JSON"),
        (
            ["explain", TRIAL, "POST", "/items", "--data", "x", "--data-json", "1"],
            "not allowed with argument",
        ),
        (["explain", SHOP, "GET"], "the following arguments are required"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert message in err


def test_a_module_that_fails_to_import_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cli_broken_app.py").write_text("raise RuntimeError('no database')\n")
    monkeypatch.chdir(tmp_path)  # the current directory is importable, as for aiohttp.web
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", os.getcwd())])
    status, _, err = run(capsys, "routes", "cli_broken_app:app")
    assert status == 2
    assert "cannot import module 'cli_broken_app': RuntimeError: no database" in err


def test_an_app_without_setup_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cli_no_cors_app.py").write_text(
        "from aiohttp import web\napp = web.Application()\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    status, _, err = run(capsys, "routes", "cli_no_cors_app:app")
    assert status == 2
    assert "no application in it calls aiohttp_cors.setup()" in err


# -- as a real subprocess -----------------------------------------------------------------------


def test_python_dash_m_explain_in_a_subprocess() -> None:
    command = [sys.executable, "-m", "aiohttp_cors", "explain", SHOP]
    allowed = subprocess.run(
        [*command, "PUT", "/items", "--origin", ORIGIN, "--header", "X-Token: 1"],
        cwd=TESTS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert "Verdict: ALLOWED" in allowed.stdout
    refused_run = subprocess.run(
        [*command, "PATCH", "/items", "--origin", ORIGIN],
        cwd=TESTS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused_run.returncode == 1, refused_run.stderr
    assert "Verdict: REFUSED (method_not_allowed)" in refused_run.stdout
    usage = subprocess.run(
        [*command, "GET", "/nowhere"],
        cwd=TESTS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert usage.returncode == 2
    assert "no route of the application matches '/nowhere'" in usage.stderr


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["routes", SHOP], 0),
        (["explain", SHOP, "GET", "/hello", "--origin", "https://evil.example"], 1),
        (["demo", "--api-port", "0", "--page-port", "0", "--quiet"], 0),
    ],
)
def test_a_closed_output_pipe_stops_quietly(argv: list[str], status: int) -> None:
    """``python -m aiohttp_cors routes app:make_app | head -1``: the reader is gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # before the command writes: every write fails with EPIPE
    try:
        done = subprocess.run(
            [sys.executable, "-m", "aiohttp_cors", *argv],
            cwd=TESTS_DIR,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == status


def test_console_examples_of_the_docs_run_as_shown() -> None:
    """Every ``console`` block of docs/commands.md is a real command with its real output."""
    text = (TESTS_DIR.parent / "docs" / "commands.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 3
    for block in blocks:
        command, _, shown = block.partition("\n")
        assert command.startswith("$ python -m aiohttp_cors "), command
        argv = shlex.split(command[len("$ python") :])
        done = subprocess.run(
            [sys.executable, *argv],
            cwd=TESTS_DIR.parent,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode in (0, 1), done.stderr
        assert done.stdout == shown, command
