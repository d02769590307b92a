"""Sleeping and timers (Go's ``time.Sleep``, ``time.After``, ``time.Timer``, ``time.Ticker``).

Durations are seconds as floats; the clock is ``time.monotonic``. Every timer
is a runtime timer on some P's heap (``runtime/timers.py``); its function runs
on g0 when it fires: ``goready`` for ``sleep``, a non-blocking send of the
current time for channel timers, ``newproc`` for ``after_func``.

Go 1.23 made ``Stop`` and ``Reset`` discard a value the timer already sent
but nobody received; we do the same, so after ``stop()`` or ``reset()`` no
stale tick can be read.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Generator
from typing import Any

from .chan import Chan, selectnbsend
from .runtime.lock_token import tokenacquire, tokenrelease
from .runtime.proc import goready, makecoro, newproc, park_m
from .runtime.runtime2 import sched, tls, waitReasonSleep
from .runtime.timers import Timer as _RTimer
from .runtime.timers import Timers, nanotime


def _currenttimers() -> Timers:
    """The timer heap of the caller's P (any P's heap works; the local one is cheapest)."""
    mp = tls.m
    if mp is not None and mp.dead:
        raise RuntimeError("gosched: the runtime has stopped")
    pp = mp.p if mp is not None else None
    if pp is None:
        if not sched.running or not sched.allp:
            raise RuntimeError("gosched timers need a running runtime (call inside gosched.run)")
        pp = sched.allp[0]
    return pp.timers


def goroutineReady(gp: Any) -> None:
    goready(gp)


def resetForSleep(gp: Any, when: float) -> bool:
    """Unlock function of ``sleep``: arm the G's timer only once the G is parked.

    Arming it earlier could let a short timer fire on another P before the G
    had finished parking (Go's ``resetForSleep``).
    """
    if gp is None:
        return True
    t = gp.timer
    if t is None:
        t = gp.timer = _RTimer(goroutineReady, gp)
    t.modify(when, 0.0, _currenttimers())
    return True


@types.coroutine
def sleep(d: float) -> Generator[Any, Any, None]:
    """Pause the current goroutine for at least ``d`` seconds (``time.Sleep``)."""
    if not d > 0:
        if d != d:
            raise ValueError("sleep: duration is NaN")
        return
    yield (park_m, resetForSleep, nanotime() + d, waitReasonSleep)


def _sendTime(c: Chan[float]) -> None:
    """Timer function of channel timers: send the time, unless a value is already waiting."""
    selectnbsend(c, nanotime())


def _drain(c: Chan[Any]) -> bool:
    """Discard a sent time nobody received; say whether there was one."""
    tokenacquire(c._lock)
    pending = bool(c._buf)
    c._buf.clear()
    tokenrelease(c._lock)
    return pending


class _TimerChan(Chan[float]):
    """The channel of a Timer or Ticker: one slot for the time, which ``stop``
    and ``reset`` discard if nobody received it. As in Go 1.23, where such a
    channel is unbuffered, ``len`` and ``cap`` report 0."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(1)

    @property
    def cap(self) -> int:
        return 0

    def __len__(self) -> int:
        return 0


class Timer:
    """``time.Timer``: sends the time on ``c`` once, ``d`` seconds from now.

    ``after_func`` timers have no channel (``c`` is None) and run a function
    in a new goroutine instead.
    """

    __slots__ = ("_t", "c")

    def __init__(self, d: float, _f: Callable[[Any], None] | None = None, _arg: Any = None):
        if _f is None:
            self.c: Chan[float] | None = _TimerChan()
            self._t = _RTimer(_sendTime, self.c, ischan=True)
        else:
            self.c = None
            self._t = _RTimer(_f, _arg)
        self._t.modify(_when(d), 0.0, _currenttimers())

    def stop(self) -> bool:
        """Prevent the timer from firing; False if it already fired or was stopped.

        As in Go 1.23, a time sent but not yet received is discarded and counts
        as not fired: the result is True, and nothing is left to receive.
        """
        active = self._t.stop()
        if self.c is not None and _drain(self.c):
            return True
        return active

    def reset(self, d: float) -> bool:
        """Re-arm the timer for ``d`` seconds from now; return whether it was active."""
        when = _when(d)
        if self.c is None:
            return self._t.modify(when, 0.0, _currenttimers())
        active = self._t.stop()
        pending = _drain(self.c)  # as in stop: an unreceived time means still active
        self._t.modify(when, 0.0, _currenttimers())
        return active or pending


def _when(d: float) -> float:
    """The monotonic time ``d`` seconds from now; a negative ``d`` means now."""
    if d != d:  # a NaN in the timer heap would break its order
        raise ValueError("gosched: timer duration is NaN")
    return nanotime() + max(d, 0.0)


def after(d: float) -> Chan[float]:
    """``time.After``: a channel that receives the time after ``d`` seconds."""
    c = Timer(d).c
    assert c is not None
    return c


def _goFunc(arg: tuple) -> None:
    fn, args = arg
    mp = tls.m
    if mp is not None and not mp.dead:
        # Created by this function, as Go's dumps say "created by time.goFunc".
        newproc(mp, fn, makecoro(fn, args, {}), args, {}, sys._getframe())


def after_func(d: float, fn: Callable[..., Any], *args: Any) -> Timer:
    """``time.AfterFunc``: run ``fn(*args)`` in its own goroutine after ``d`` seconds."""
    return Timer(d, _goFunc, (fn, args))


class Ticker:
    """``time.Ticker``: sends the time on ``c`` every ``d`` seconds; slow readers miss ticks."""

    __slots__ = ("_t", "c")

    def __init__(self, d: float) -> None:
        if not d > 0:  # NaN included
            raise ValueError("non-positive interval for NewTicker")
        self.c: Chan[float] = _TimerChan()
        self._t = _RTimer(_sendTime, self.c, ischan=True)
        self._t.modify(nanotime() + d, d, _currenttimers())

    def stop(self) -> None:
        """Turn the ticker off; no more ticks are sent (a pending one is discarded)."""
        self._t.stop()
        _drain(self.c)

    def reset(self, d: float) -> None:
        """Stop the ticker and restart it with period ``d``."""
        if not d > 0:
            raise ValueError("non-positive interval for Ticker.Reset")
        self._t.stop()
        _drain(self.c)
        self._t.modify(nanotime() + d, d, _currenttimers())
