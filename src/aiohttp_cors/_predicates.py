"""Asking origin predicates safely: timeouts, one call in flight, a short memo, quiet logs.

An origin predicate (``async def allowed(origin) -> bool``, often backed by a
database) runs for every origin that no exact or glob key matched, hostile
ones included. Left alone, one that hangs would hang every request; one that
is slow would be called once per concurrent request; one that fails would log
a traceback per request. :class:`PredicateRunner` bounds all three:

- an async predicate that has not answered within its timeout is cancelled
  and the origin refused;
- concurrent requests for the same origin share one call (single flight);
- verdicts (allowed, refused, failed) are remembered for a short time, in a
  memo bounded in entries (origins are at most 320 characters, so in bytes too);
- a failing predicate is logged with its traceback once, then at most one
  summary line per interval.

Sync predicates run inline: they cannot be interrupted, so they must be fast.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Any, Callable, Union

logger = logging.getLogger("aiohttp_cors")

#: Seconds an async predicate may take before the origin is refused.
DEFAULT_TIMEOUT = 2.0
#: Seconds a verdict is remembered.
DEFAULT_MEMO_TTL = 10.0
#: Verdicts remembered at most (least recently used first out).
MEMO_SIZE = 4096
#: Seconds between two summary lines about one failing predicate.
LOG_INTERVAL = 60.0

PredicateFunction = Callable[[str], Union[bool, Awaitable[bool]]]


class OriginPredicate:
    """An origin predicate with its own timeout or memo time, usable as an origin key.

    ``OriginPredicate(is_tenant, timeout=0.5)`` instead of ``is_tenant`` as a
    key; ``None`` keeps the configuration's default. Calling it calls the function.
    """

    __slots__ = ("function", "memo_ttl", "timeout")

    def __init__(
        self,
        function: PredicateFunction,
        *,
        timeout: float | None = None,
        memo_ttl: float | None = None,
    ) -> None:
        if not callable(function):
            raise TypeError(f"OriginPredicate needs a callable, got {function!r}")
        for name, value in (("timeout", timeout), ("memo_ttl", memo_ttl)):
            if value is not None and (isinstance(value, bool) or not value >= 0):
                raise ValueError(f"OriginPredicate {name} must be a number >= 0, got {value!r}")
        self.function = function
        self.timeout = timeout
        self.memo_ttl = memo_ttl

    def __call__(self, origin: str) -> bool | Awaitable[bool]:
        return self.function(origin)

    def __repr__(self) -> str:
        return f"OriginPredicate({qualified_name(self.function)}, timeout={self.timeout!r})"


def qualified_name(function: Any) -> str:
    """A stable name for log lines and tables: the qualified name, never an address."""
    module = getattr(function, "__module__", None) or ""
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{name}" if module else str(name)


def predicate_name(predicate: Any) -> str:
    """The name of a predicate's function (an :class:`OriginPredicate` is looked through)."""
    if isinstance(predicate, OriginPredicate):
        predicate = predicate.function
    return qualified_name(predicate)


class PredicateFailed(Exception):
    """A predicate raised or timed out; the origin is refused."""


class _Failure:
    """What the memo keeps for a call that raised or timed out."""

    __slots__ = ()


_FAILED = _Failure()
Verdict = Union[bool, _Failure]
#: (predicate, origin): the predicate object itself, so its identity is never reused.
MemoKey = tuple[Any, str]


class _LogState:
    __slots__ = ("logged_traceback", "suppressed", "window_start")

    def __init__(self) -> None:
        self.logged_traceback = False
        self.suppressed = 0
        self.window_start = 0.0


class PredicateRunner:
    """Runs origin predicates for one application; holds their memo and counters."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        memo_ttl: float = DEFAULT_MEMO_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.memo_ttl = memo_ttl
        self._clock = clock
        self._memo: OrderedDict[MemoKey, tuple[Verdict, float]] = OrderedDict()
        self._in_flight: dict[MemoKey, asyncio.Task[bool]] = {}
        self._logs: dict[str, _LogState] = {}
        self.calls = 0
        self.failures = 0
        self.timeouts = 0
        self.memo_hits = 0
        self.shared_calls = 0
        self.latency_total = 0.0
        self.latency_max = 0.0

    async def ask(self, predicate: Any, origin: str) -> bool:
        """Whether ``predicate`` allows ``origin``; raises :class:`PredicateFailed`.

        Memo and single flight are keyed on the predicate itself (held, so its
        identity is never reused by another object); an unhashable predicate
        is simply asked every time.
        """
        try:
            key = (predicate, origin)
            hash(key)
        except TypeError:
            return await self._call(predicate, origin, None)
        now = self._clock()
        remembered = self._memo.get(key)
        if remembered is not None:
            verdict, expires = remembered
            if now < expires:
                self.memo_hits += 1
                self._memo.move_to_end(key)
                if isinstance(verdict, _Failure):
                    raise PredicateFailed(predicate_name(predicate))
                return verdict
            del self._memo[key]
        task = self._in_flight.get(key)
        if task is not None:
            self.shared_calls += 1
            return await self._wait(predicate, task)
        return await self._call(predicate, origin, key)

    async def _call(self, predicate: Any, origin: str, key: MemoKey | None) -> bool:
        self.calls += 1
        started = self._clock()
        try:
            result = predicate(origin)
        except Exception as exc:
            self._failed(predicate, key, exc)
            raise PredicateFailed(predicate_name(predicate)) from exc
        if not inspect.isawaitable(result):
            self._finished(predicate, key, result is True, started)
            return result is True
        task = asyncio.ensure_future(result)
        # The deadline belongs to the call, not to a waiter: a waiter that goes
        # away (a client that disconnects) must not leave the call running.
        timeout = predicate.timeout if isinstance(predicate, OriginPredicate) else None
        timer = asyncio.get_running_loop().call_later(
            self.timeout if timeout is None else timeout,
            self._expire,
            predicate,
            origin,
            key,
            task,
        )
        if key is not None:
            self._in_flight[key] = task
        task.add_done_callback(functools.partial(self._settle, predicate, key, started, timer))
        return await self._wait(predicate, task)

    def _expire(
        self, predicate: Any, origin: str, key: MemoKey | None, task: asyncio.Task[bool]
    ) -> None:
        if task.cancel():
            self.timeouts += 1
            self._failed(predicate, key, TimeoutError(f"no answer for {origin!r} in time"))

    def _settle(
        self,
        predicate: Any,
        key: MemoKey | None,
        started: float,
        timer: asyncio.TimerHandle,
        task: asyncio.Task[bool],
    ) -> None:
        """Record a finished call once, whoever waited for it."""
        timer.cancel()
        if key is not None:
            self._in_flight.pop(key, None)
        if task.cancelled():
            return  # timed out: recorded when it was cancelled
        exc = task.exception()
        if exc is not None:
            self._failed(predicate, key, exc)
        else:
            self._finished(predicate, key, task.result() is True, started)

    async def _wait(self, predicate: Any, task: asyncio.Task[bool]) -> bool:
        try:
            # shield(): cancelling this waiter must not cancel a call others share.
            verdict = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():  # the call timed out
                raise PredicateFailed(predicate_name(predicate)) from None
            raise  # this waiter was cancelled
        except Exception as exc:
            raise PredicateFailed(predicate_name(predicate)) from exc
        return verdict is True

    def _remember(self, predicate: Any, key: MemoKey | None, verdict: Verdict) -> None:
        if key is None:
            return
        ttl = predicate.memo_ttl if isinstance(predicate, OriginPredicate) else None
        ttl = self.memo_ttl if ttl is None else ttl
        if ttl <= 0:
            return
        self._memo[key] = (verdict, self._clock() + ttl)
        self._memo.move_to_end(key)
        while len(self._memo) > MEMO_SIZE:
            self._memo.popitem(last=False)

    def _finished(self, predicate: Any, key: MemoKey | None, verdict: bool, started: float) -> None:
        latency = max(0.0, self._clock() - started)
        self.latency_total += latency
        self.latency_max = max(self.latency_max, latency)
        self._remember(predicate, key, verdict)

    def _failed(self, predicate: Any, key: MemoKey | None, exc: BaseException) -> None:
        self.failures += 1
        self._remember(predicate, key, _FAILED)
        self._log_failure(predicate_name(predicate), exc)

    def _log_failure(self, name: str, exc: BaseException) -> None:
        """The first failure with its traceback; then one summary line per interval."""
        state = self._logs.get(name)
        now = self._clock()
        if state is None:
            state = self._logs[name] = _LogState()
        if not state.logged_traceback:
            state.logged_traceback = True
            state.window_start = now
            logger.error("CORS origin predicate %s failed; origin refused", name, exc_info=exc)
            return
        state.suppressed += 1
        if now - state.window_start >= LOG_INTERVAL:
            logger.warning(
                "CORS origin predicate %s failed %d more times in the last %.0f s "
                "(last: %s); origins refused",
                name,
                state.suppressed,
                now - state.window_start,
                type(exc).__name__,
            )
            state.suppressed = 0
            state.window_start = now

    @property
    def memo_size(self) -> int:
        """Verdicts remembered now."""
        return len(self._memo)
