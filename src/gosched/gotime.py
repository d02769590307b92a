"""Sleeping and timers (Go's ``time.Sleep``, ``time.After``, ``time.Timer``, ``time.Ticker``).

Durations are seconds as floats; the clock is ``time.monotonic``. Every timer
is a runtime timer on some P's heap (``runtime/timers.py``); its function runs
on g0 when it fires: ``goready`` for ``sleep``, a non-blocking send of the
time it was due for channel timers, ``newproc`` for ``after_func``.

Go 1.23 made ``Stop`` and ``Reset`` discard a value the timer already sent
but nobody received, and any send still in flight; we do the same, so after
``stop()`` or ``reset()`` no stale tick can be read, even when the timer fires
on another M at that moment. Under the channel's lock ``stop`` moves the
timer's ``seq`` on and empties the channel; ``_sendTime`` compares the ``seq``
captured when the timer fired, under that same lock, before it sends.

Also as in Go 1.23, a receive or select on a timer channel whose timer is due
runs it first (``maybeRunChan``), so an expired timer is ready at once; and a
timer whose channel nobody holds anymore goes away (the runtime timer holds its
channel weakly).
"""

from __future__ import annotations

import sys
import types
import weakref
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from .chan import Chan, nilchan, selectnbsendlocked
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
    mp = tls.m  # this runs on g0
    if mp.dead:
        # The runtime stopped as gp parked (after g0's last look at mp.dead):
        # shutdown closes gp where it is; no timer is armed.
        return True
    t = gp.timer
    if t is None:
        t = gp.timer = _RTimer(goroutineReady, gp)
    # Not _currenttimers, which raises once the runtime stops, as it may now:
    # on g0 that would kill the M. Any P's heap will do (the P may be retaken).
    pp = mp.p
    t.modify(when, 0.0, (pp if pp is not None else sched.allp[0]).timers)
    return True


@types.coroutine
def sleep(d: float) -> Generator[Any, Any, None]:
    """Pause the current goroutine for at least ``d`` seconds (``time.Sleep``)."""
    try:
        if not d > 0:
            if d != d:
                raise ValueError("sleep: duration is NaN")
            return
    except TypeError:
        raise _notduration("sleep", d) from None
    yield (park_m, resetForSleep, nanotime() + d, waitReasonSleep)


def _sendTime(ref: weakref.ref[_TimerChan], seq: int, delay: float) -> None:
    """Timer function of channel timers (Go's ``sendTime``): send the time the
    timer was due, unless a value is already waiting or ``stop``/``reset`` ran
    since it fired (``seq`` moved on)."""
    c = ref()
    if c is None:  # gone since the timer fired
        return
    t = c._timer
    lock = c._lock
    tokenacquire(lock)
    with t.mu:
        t.sending -= 1
        stale = seq != t.seq
    if stale:
        tokenrelease(lock)
        return
    selectnbsendlocked(c, nanotime() - delay)


def _stopchan(t: _RTimer, c: _TimerChan) -> bool:
    """Stop a channel timer and discard its unreceived time; True if it had not
    delivered yet (armed, sending, or sent but not received)."""
    tokenacquire(c._lock)
    pending = t.stop()  # bumps t.seq: a send in flight will be dropped
    if c._buf:
        c._buf.clear()
        pending = True
    tokenrelease(c._lock)
    return pending


class _TimerChan(Chan[float]):
    """The channel of a Timer or Ticker: one slot for the time, which ``stop``
    and ``reset`` discard if nobody received it. As in Go 1.23, where such a
    channel is unbuffered, ``len`` and ``cap`` report 0.

    A receive first runs the timer if it is due (Go's ``chanrecv`` calls
    ``maybeRunChan``); ``select`` does the same for its cases (select.py).
    ``_timer`` is Go's ``hchan.timer``; the runtime timer holds this channel
    only weakly, so a channel nobody holds dies and takes its timer with it.
    """

    __slots__ = ("_timer",)

    def __init__(self) -> None:
        super().__init__(1)
        self._timer = _RTimer(_sendTime, weakref.ref(self), ischan=True)

    @property
    def cap(self) -> int:
        return 0

    def __len__(self) -> int:
        return 0

    def recv(self, _wantok: int = 0) -> Awaitable[Any]:  # type: ignore[override]
        """``<-c``: a due timer sends first, then an ordinary receive."""
        self._timer.maybeRunChan()
        return Chan.recv(self, _wantok)

    # A plain function that returns a generator-based coroutine (see _BufChan.send).
    recv._returnsgen = True  # type: ignore[attr-defined]

    def recv_ok(self) -> Awaitable[tuple[float | None, bool]]:
        """``v, ok := <-c`` (its own function, so that select can tell a timer channel)."""
        return self.recv(1)

    recv_ok._returnsgen = True  # type: ignore[attr-defined]

    def __anext__(self) -> Awaitable[float]:
        self._timer.maybeRunChan()
        return Chan.recv(self, 2)


class Timer:
    """``time.Timer``: sends the time on ``c`` once, ``d`` seconds from now.

    ``after_func`` timers have no channel (``c`` is ``nilchan``, as Go's C is
    nil) and run a function in a new goroutine instead.
    """

    __slots__ = ("_t", "c")

    def __init__(self, d: float, _f: Callable[[Any], None] | None = None, _arg: Any = None):
        if _f is None:
            c = _TimerChan()
            self.c: Chan[float] = c
            self._t = c._timer
        else:
            self.c = nilchan
            self._t = _RTimer(_f, _arg)
        self._t.modify(_when(d), 0.0, _currenttimers())

    def stop(self) -> bool:
        """Prevent the timer from firing; False if it already fired or was stopped.

        As in Go 1.23, a time sent (or being sent) but not yet received is
        discarded and counts as not fired: the result is True, and nothing is
        left to receive.
        """
        return _stoptimer(self._t)

    def reset(self, d: float) -> bool:
        """Re-arm the timer for ``d`` seconds from now; return whether it was active."""
        when = _when(d)
        t = self._t
        if not t.ischan:
            return t.modify(when, 0.0, _currenttimers())
        pending = _stoptimer(t)
        t.modify(when, 0.0, _currenttimers())
        return pending


def _stoptimer(t: _RTimer) -> bool:
    """Stop ``t``; a channel timer's unreceived time goes too. Its own channel's,
    whatever ``c`` now holds: as Go's ``isChan``, that is fixed when it is made."""
    c = t.arg() if t.ischan else None
    if c is None:  # a func timer, or a channel nobody holds any more
        return t.stop()
    return _stopchan(t, c)


def _when(d: float) -> float:
    """The monotonic time ``d`` seconds from now; a negative ``d`` means now."""
    if d != d:  # a NaN in the timer heap would break its order
        raise ValueError("gosched: timer duration is NaN")
    try:
        return nanotime() + max(d, 0.0)
    except TypeError:
        raise _notduration("timer", d) from None


def _period(d: float, what: str) -> float:
    """A Ticker's period: at least 1 ns (a Go Duration counts whole nanoseconds)."""
    try:
        if d >= 1e-9:  # NaN is not
            return d
    except TypeError:
        raise _notduration(what, d) from None
    raise ValueError(f"non-positive interval for {what}")


def _notduration(what: str, d: Any) -> TypeError:
    return TypeError(f"{what}: duration must be a number of seconds, not {type(d).__name__}")


def after(d: float) -> Chan[float]:
    """``time.After``: a channel that receives the time after ``d`` seconds."""
    return Timer(d).c


def _goFunc(arg: tuple) -> None:
    fn, args = arg
    mp = tls.m
    if mp is not None and not mp.dead:
        # Created by this function, as Go's dumps say "created by time.goFunc".
        newproc(mp, fn, makecoro(fn, args, {}), args, {}, sys._getframe())


def after_func(d: float, fn: Callable[..., Any], *args: Any) -> Timer:
    """``time.AfterFunc``: run ``fn(*args)`` in its own goroutine after ``d`` seconds."""
    # Checked now, not when the timer fires: there the error would stop the
    # runtime from inside the timer code, far from the call that caused it.
    if fn is None:
        raise TypeError("go of nil func value")
    if not callable(fn):
        raise TypeError(f"after_func: {fn!r} is not callable")
    return Timer(d, _goFunc, (fn, args))


class Ticker:
    """``time.Ticker``: sends the time on ``c`` every ``d`` seconds; slow readers miss ticks."""

    __slots__ = ("_t", "c")

    def __init__(self, d: float) -> None:
        d = _period(d, "NewTicker")
        c = _TimerChan()
        self.c: Chan[float] = c
        self._t = c._timer
        self._t.modify(nanotime() + d, d, _currenttimers())

    def stop(self) -> None:
        """Turn the ticker off; no more ticks are sent (a pending or in-flight one is discarded)."""
        _stoptimer(self._t)

    def reset(self, d: float) -> None:
        """Stop the ticker and restart it with period ``d``."""
        d = _period(d, "Ticker.Reset")
        _stoptimer(self._t)
        self._t.modify(nanotime() + d, d, _currenttimers())
