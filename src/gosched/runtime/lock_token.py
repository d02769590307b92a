"""Channel locks: a mutex made of a one-token deque (Go's ``lock_futex.go``).

Every channel operation takes its channel's lock, so what one acquire and
release cost is paid on every send and receive. ``threading.Lock.acquire``
parses its arguments and reads the clock on each call; popping the only token
out of a ``collections.deque`` is an argument-free C call, atomic on the GIL
and on the free-threaded build alike. On CPython 3.11 a pop/append pair on a
plain deque takes a third of the instructions of an acquire/release pair
(Valgrind: 360 vs 1,090). On the free-threaded build the two cost about the
same, since there every deque method takes the deque's own lock.

The lock is a plain ``deque``, not a subclass: the interpreter's specialized
call of a C method wants the receiver's exact type, and an instance of a
subclass takes the generic call path plus an MRO walk, which doubles what a
pair costs (715 instructions). So the operations are functions, as Go's are.
They are not called ``lock``/``unlock``: CPython 3.11 compiles ``lock.pop()``
on a *local* ``lock`` without its method-call fast path (a bound method per
call) when the module has imported a global of that name.


- ``tokenlock()``: a new, free lock (it holds its token);
- acquire, inlined in the hot paths: ``try: lk.pop()`` / ``except IndexError:
  lock2(lk)``, or ``tokenacquire(lk)`` in the cold ones;
- release: ``lk.append(True)``, only by the holder (so the deque never holds
  two tokens), or ``tokenrelease(lk)``, which checks that.

Holders keep it for a few bytecodes (a channel's lock is also held across a
park, until g0 commits it), so contention is rare and brief. ``lock2`` waits as
Go's does: it spins first, giving up the CPU (and the GIL) between tries, and
only then sleeps, for growing intervals. There is no queue of waiters: a
waiter takes the token when it finds it, which is what Go's runtime lock does
too (it is not fair either).
"""

from __future__ import annotations

import os
import time
from collections import deque

ACTIVE_SPIN = 64  # tries with sched_yield in between, before sleeping
SLEEP_MIN = 10e-6
SLEEP_MAX = 1e-3

_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


TokenLock = deque  # holding True while free, empty while held


def tokenlock() -> TokenLock:
    """A new lock, free."""
    return deque((True,))


def tokenacquire(lk: TokenLock) -> None:
    """Acquire ``lk`` (the hot paths inline this)."""
    try:
        lk.pop()
    except IndexError:
        lock2(lk)


def tokenrelease(lk: TokenLock) -> None:
    """Release ``lk``, which the caller holds."""
    if lk:
        raise RuntimeError("unlock of unlocked lock")
    lk.append(True)


def lock2(lk: TokenLock) -> None:
    """The contended acquire: spin, yielding the CPU, then sleep and retry."""
    for _ in range(ACTIVE_SPIN):
        _yield()
        try:
            lk.pop()
            return
        except IndexError:
            pass
    delay = SLEEP_MIN
    while True:
        time.sleep(delay)
        try:
            lk.pop()
            return
        except IndexError:
            delay = min(2 * delay, SLEEP_MAX)
