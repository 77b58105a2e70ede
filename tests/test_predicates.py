"""Origin predicates under failure and load: timeouts, single flight, memo, quiet logs, counters.

Where time matters the runner gets a fake clock; the only real waits are the
tiny timeouts the tests configure, and no test asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import pytest
from aiohttp import web

import aiohttp_cors
from aiohttp_cors import OriginPredicate, ResourceOptions
from aiohttp_cors._predicates import (
    DEFAULT_MEMO_TTL,
    LOG_INTERVAL,
    MEMO_SIZE,
    PredicateFailed,
    PredicateRunner,
)

ACAO = "Access-Control-Allow-Origin"
TENANT = "https://t1.tenant.example"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


def app_with(predicate: Any, **setup: Any) -> tuple[web.Application, aiohttp_cors.CorsConfig]:
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={predicate: ResourceOptions()}, **setup)
    cors.add(app.router.add_get("/r", hello))
    return app, cors


# --------------------------------------------------------------------------
# timeouts
# --------------------------------------------------------------------------


async def test_a_hanging_predicate_is_cancelled_and_the_origin_refused(aiohttp_client):
    cancelled = asyncio.Event()

    async def hangs(origin: str) -> bool:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return True

    app, cors = app_with(hangs, predicate_timeout=0.05)
    client = await aiohttp_client(app)
    resp = await client.get("/r", headers={"Origin": TENANT})
    assert resp.status == 200
    assert await resp.text() == "hello"
    assert ACAO not in resp.headers
    await asyncio.wait_for(cancelled.wait(), 5)
    # No task of the predicate is left behind.
    await asyncio.sleep(0)
    assert not [t for t in asyncio.all_tasks() if "hangs" in repr(t.get_coro())]
    stats = cors.stats()["predicates"]
    assert stats["timeouts"] == 1
    assert stats["failures"] == 1


async def test_a_hanging_predicate_refuses_preflights_with_the_predicate_reason(aiohttp_client):
    async def hangs(origin: str) -> bool:
        await asyncio.Event().wait()
        return True

    app, cors = app_with(OriginPredicate(hangs, timeout=0.05))
    client = await aiohttp_client(app)
    resp = await client.options(
        "/r", headers={"Origin": TENANT, "Access-Control-Request-Method": "GET"}
    )
    assert resp.status == 403
    assert await resp.text() == f"CORS preflight request failed: origin '{TENANT}' is not allowed"
    assert cors.stats()["refusals"]["predicate_failed"] == 1


async def test_the_predicates_own_timeout_wins_over_the_configuration(aiohttp_client):
    release = asyncio.Event()

    async def slow(origin: str) -> bool:
        await release.wait()
        return True

    # The configuration's timeout would refuse at once; the predicate's own allows time.
    app, _ = app_with(OriginPredicate(slow, timeout=30), predicate_timeout=0.001)
    client = await aiohttp_client(app)
    request = asyncio.ensure_future(client.get("/r", headers={"Origin": TENANT}))
    await asyncio.sleep(0.05)
    release.set()
    resp = await request
    assert resp.headers[ACAO] == TENANT


# --------------------------------------------------------------------------
# single flight and memo
# --------------------------------------------------------------------------


async def test_concurrent_requests_from_one_origin_share_one_call(aiohttp_client):
    calls: list[str] = []
    release = asyncio.Event()

    async def tenant(origin: str) -> bool:
        calls.append(origin)
        await release.wait()
        return True

    app, cors = app_with(tenant)
    client = await aiohttp_client(app)
    requests = [
        asyncio.ensure_future(client.get("/r", headers={"Origin": TENANT})) for _ in range(100)
    ]
    for _ in range(1000):  # bounded: the assertions below say what went wrong
        if cors.stats()["predicates"]["shared_calls"] >= 99:
            break
        await asyncio.sleep(0.01)
    release.set()
    responses = await asyncio.gather(*requests)
    assert calls == [TENANT]
    assert all(resp.headers[ACAO] == TENANT for resp in responses)
    stats = cors.stats()["predicates"]
    assert stats["calls"] == 1
    assert stats["shared_calls"] == 99


async def test_verdicts_are_remembered_until_their_time_is_up() -> None:
    clock = FakeClock()
    runner = PredicateRunner(clock=clock)
    calls: list[str] = []

    async def tenant(origin: str) -> bool:
        calls.append(origin)
        return origin == TENANT

    assert await runner.ask(tenant, TENANT) is True
    assert await runner.ask(tenant, "https://evil.example") is False
    assert await runner.ask(tenant, TENANT) is True
    assert await runner.ask(tenant, "https://evil.example") is False  # refusals too
    assert calls == [TENANT, "https://evil.example"]
    assert runner.memo_hits == 2

    clock.now += DEFAULT_MEMO_TTL - 0.001
    await runner.ask(tenant, TENANT)
    assert len(calls) == 2
    clock.now += 0.002
    await runner.ask(tenant, TENANT)
    assert calls == [TENANT, "https://evil.example", TENANT]


async def test_failures_are_remembered_too_so_a_broken_predicate_is_not_hammered() -> None:
    clock = FakeClock()
    runner = PredicateRunner(clock=clock)
    calls: list[str] = []

    def broken(origin: str) -> bool:
        calls.append(origin)
        raise RuntimeError("tenant database down")

    for _ in range(5):
        with pytest.raises(PredicateFailed):
            await runner.ask(broken, TENANT)
    assert calls == [TENANT]
    clock.now += DEFAULT_MEMO_TTL
    with pytest.raises(PredicateFailed):
        await runner.ask(broken, TENANT)
    assert len(calls) == 2


async def test_a_predicate_can_opt_out_of_the_memo() -> None:
    runner = PredicateRunner(clock=FakeClock())
    calls: list[str] = []

    def tenant(origin: str) -> bool:
        calls.append(origin)
        return True

    fresh = OriginPredicate(tenant, memo_ttl=0)
    for _ in range(3):
        assert await runner.ask(fresh, TENANT) is True
    assert len(calls) == 3
    assert runner.memo_size == 0


async def test_the_memo_is_bounded_and_forgets_the_least_recently_used() -> None:
    runner = PredicateRunner(clock=FakeClock())

    def anyone(origin: str) -> bool:
        return True

    for i in range(MEMO_SIZE + 100):
        await runner.ask(anyone, f"https://h{i}.example")
    assert runner.memo_size == MEMO_SIZE
    calls = runner.calls
    await runner.ask(anyone, f"https://h{MEMO_SIZE + 99}.example")  # recent: remembered
    assert runner.calls == calls
    await runner.ask(anyone, "https://h0.example")  # oldest: forgotten
    assert runner.calls == calls + 1


# --------------------------------------------------------------------------
# logs that cannot flood
# --------------------------------------------------------------------------


async def test_a_thousand_failures_write_a_handful_of_lines(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="aiohttp_cors")
    clock = FakeClock()
    runner = PredicateRunner(clock=clock)

    def broken(origin: str) -> bool:
        raise RuntimeError("tenant database down")

    for i in range(1000):
        with pytest.raises(PredicateFailed):
            await runner.ask(broken, f"https://h{i}.example")
    records = [r for r in caplog.records if r.name == "aiohttp_cors"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    assert records[0].exc_info is not None
    assert "tenant database down" in str(records[0].exc_info[1])

    clock.now += LOG_INTERVAL
    with pytest.raises(PredicateFailed):
        await runner.ask(broken, "https://late.example")
    records = [r for r in caplog.records if r.name == "aiohttp_cors"]
    assert len(records) == 2
    summary = records[1].getMessage()
    assert "failed 1000 more times" in summary
    assert "RuntimeError" in summary
    assert runner.failures == 1001


async def test_log_lines_name_the_predicate_by_its_qualified_name(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="aiohttp_cors")
    runner = PredicateRunner()

    class Tenants:
        def __call__(self, origin: str) -> bool:
            raise KeyError(origin)

    with pytest.raises(PredicateFailed):
        await runner.ask(Tenants(), TENANT)
    message = caplog.records[0].getMessage()
    assert "Tenants" in message
    assert "0x" not in message  # no address: the same name in every worker


# --------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, True, float("nan")])
def test_predicate_timeout_must_be_positive(value: Any) -> None:
    with pytest.raises(ValueError, match="predicate_timeout"):
        aiohttp_cors.setup(web.Application(), predicate_timeout=value)


@pytest.mark.parametrize("field", ["timeout", "memo_ttl"])
def test_origin_predicate_checks_its_settings(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        OriginPredicate(lambda origin: True, **{field: -1})
    with pytest.raises(TypeError):
        OriginPredicate("not callable")  # type: ignore[arg-type]


async def test_stats_count_refusals_by_reason(aiohttp_client):
    app = web.Application()
    cors = aiohttp_cors.setup(app, defaults={"https://a.example": ResourceOptions()})
    cors.add(app.router.add_get("/r", hello))
    client = await aiohttp_client(app)
    await client.get("/r", headers={"Origin": "https://evil.example"})
    await client.get("/r", headers={"Origin": "https://a.example/"})
    await client.options("/r", headers={"Origin": "https://a.example"})
    refusals = cors.stats()["refusals"]
    assert refusals["origin_not_allowed"] == 1
    assert refusals["origin_malformed"] == 1
    assert refusals["method_missing"] == 1
    assert refusals["headers_not_allowed"] == 0


async def test_two_predicates_never_share_a_verdict() -> None:
    # Predicates made per request (a partial per tenant) come and go; a freed one's
    # identity must never hand its verdicts to the next.
    runner = PredicateRunner(clock=FakeClock())

    def member(allowed: bool, origin: str) -> bool:
        return allowed

    for i in range(50):
        predicate = functools.partial(member, i % 2 == 0)
        assert await runner.ask(predicate, TENANT) is (i % 2 == 0)
        del predicate


async def test_unhashable_predicates_are_asked_every_time() -> None:
    runner = PredicateRunner(clock=FakeClock())

    class Tenants:
        __hash__ = None  # type: ignore[assignment]

        def __init__(self) -> None:
            self.calls = 0

        def __call__(self, origin: str) -> bool:
            self.calls += 1
            return True

    tenants = Tenants()
    for _ in range(3):
        assert await runner.ask(tenants, TENANT) is True
    assert tenants.calls == 3


async def test_a_cancelled_waiter_leaves_no_call_running() -> None:
    # A client that disconnects cancels its request; the call it started still ends
    # at its deadline instead of running (and being remembered as in flight) forever.
    runner = PredicateRunner(timeout=0.05)
    cancelled = asyncio.Event()

    async def hangs(origin: str) -> bool:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return True

    waiter = asyncio.ensure_future(runner.ask(hangs, TENANT))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.wait_for(cancelled.wait(), 5)
    assert runner.timeouts == 1
    await asyncio.sleep(0)
    with pytest.raises(PredicateFailed):  # the failure is remembered
        await runner.ask(hangs, TENANT)
