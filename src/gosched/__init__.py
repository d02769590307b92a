"""gosched: Go's goroutine runtime for Python.

Goroutines, channels, ``select``, ``sync``, timers and ``context``, scheduled
by a port of Go's G/M/P scheduler. See docs/api.md for the API.
"""

from __future__ import annotations

import types
from collections.abc import Generator
from typing import Any

from . import context, net, sync
from .chan import Chan, ClosedChannelError, nilchan
from .gotime import Ticker, Timer, after, after_func, sleep
from .runtime.main import run
from .runtime.proc import Deadlock, FatalError, Goexit, block_on, go, gomaxprocs, syscall
from .runtime.proc import gcount as _gcount
from .runtime.proc import gosched_m as _gosched_m
from .runtime.runtime2 import sched as _sched
from .runtime.runtime2 import tls as _tls
from .runtime.traceback import stack
from .select import default, select
from .sync import Cond, ErrGroup, Mutex, Once, RWMutex, Semaphore, WaitGroup

_GOSCHED = (_gosched_m,)


@types.coroutine
def gosched() -> Generator[Any, Any, None]:
    """``runtime.Gosched``: yield the P; this goroutine goes to the global run queue."""
    yield _GOSCHED


def goexit() -> None:
    """``runtime.Goexit``: end the calling goroutine; its ``finally`` blocks still run."""
    mp = _tls.m
    if mp is not None and mp.curg is not None and mp.curg is _sched.main_g:
        _sched.maingoexit = True
    raise Goexit()


def num_goroutine() -> int:
    """``runtime.NumGoroutine``: the number of live user goroutines."""
    from .runtime.runtime2 import sched

    return _gcount() if sched.running else 0


def goid() -> int:
    """The current goroutine's id, or 0 on a thread that runs no goroutine."""
    mp = _tls.m
    gp = mp.curg if mp is not None else None
    if gp is None or mp.dead or (mp.extra and not mp.incallback):
        return 0
    return gp.goid


__all__ = [
    "Chan",
    "ClosedChannelError",
    "Cond",
    "Deadlock",
    "ErrGroup",
    "FatalError",
    "Goexit",
    "Mutex",
    "Once",
    "RWMutex",
    "Semaphore",
    "Ticker",
    "Timer",
    "WaitGroup",
    "after",
    "after_func",
    "block_on",
    "context",
    "default",
    "go",
    "goexit",
    "goid",
    "gomaxprocs",
    "gosched",
    "net",
    "nilchan",
    "num_goroutine",
    "run",
    "select",
    "sleep",
    "stack",
    "sync",
    "syscall",
]
