"""Channel locks: a mutex made of a one-token deque (Go's ``lock_futex.go``).

Every channel operation takes its channel's lock, so what one acquire and
release cost is paid on every send and receive. ``threading.Lock.acquire``
parses its arguments and reads the clock on each call; popping the only token
out of a ``collections.deque`` is an argument-free C call, atomic on the GIL
and on the free-threaded build alike. On CPython 3.11 a pop/append pair takes
about half the instructions of an acquire/release pair (Valgrind: 590 vs 1,090)
and a third of the time; on the free-threaded build the two cost the same,
since there every deque method takes the deque's own lock.

The lock is free while it holds its token, held while it is empty:

- acquire, inlined in the hot paths: ``try: lk.pop()`` / ``except IndexError:
  lock2(lk)``;
- release: ``lk.append(True)``, only by the holder (so the deque never holds
  two tokens).

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


class TokenLock(deque):
    """A non-reentrant mutex. ``acquire``/``release``/``with`` serve the cold paths."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__((True,))

    def acquire(self) -> None:
        try:
            self.pop()
        except IndexError:
            lock2(self)

    def release(self) -> None:
        if self:
            raise RuntimeError("release unlocked lock")
        self.append(True)

    def locked(self) -> bool:
        return not self

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<TokenLock {'locked' if not self else 'unlocked'}>"


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
