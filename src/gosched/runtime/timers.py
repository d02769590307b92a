"""Per-P timer heaps (Go's ``time.go``).

Every P owns a min-heap of timers. Timers are added to the heap of the P that
arms them, checked by that P's M at the top of ``findRunnable``, and stolen
(run by another P's M) on the last pass of ``stealWork``; an M with nothing to
do sleeps in the poller exactly until the earliest ``when`` of all heaps.

Stopping or resetting a timer never searches a heap, because the timer may sit
on another P's heap: it bumps the timer's ``version`` under the timer's own
lock, which turns the old heap entry into a *zombie*. The owning P drops
zombies when they reach the top, and rebuilds its heap when more than a quarter
of it is zombies (Go's ``adjust``/``cleanHead``). ``zombies`` only drives that
rebuild; anything that must be exact (checkdead) looks at the versions. A heap entry is a tuple
``(when, n, timer, version)``; ``n`` breaks ties so that timers themselves are
never compared. The heap is ``heapq``'s binary heap rather than Go's 4-ary one:
in Python the C implementation wins over any arity we could write by hand.

Lock order: ``Timer.mu`` before ``Timers.mu``. Timer functions run on g0 with
neither lock held.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .runtime2 import SG_G, SG_SELECT

if TYPE_CHECKING:
    from .runtime2 import P

nanotime = time.monotonic


class Timer:
    """A runtime timer: calls ``f(arg)`` on g0 at ``when`` (and every ``period``).

    ``when`` is 0 while the timer is not armed. All fields are guarded by ``mu``.
    """

    __slots__ = ("arg", "f", "ischan", "mu", "period", "ts", "version", "when")

    def __init__(self, f: Callable[[Any], None], arg: Any, ischan: bool = False) -> None:
        self.mu = threading.Lock()
        # Feeds the channel ``arg`` (time.After, Timer.C, Ticker.C): for
        # checkdead it counts only while a goroutine waits on that channel.
        self.ischan = ischan
        self.when = 0.0
        self.period = 0.0
        self.f = f
        self.arg = arg
        self.version = 0
        self.ts: Timers | None = None  # the heap holding the live entry

    def modify(self, when: float, period: float, ts: Timers) -> bool:
        """Arm the timer for ``when`` on heap ``ts``; return whether it was armed before."""
        with self.mu:
            pending = self.when > 0
            if pending and self.ts is not None:
                self.ts.zombie()
            self.when = when
            self.period = period
            self.version += 1
            self.ts = ts
            ts.push(when, self, self.version)
        return pending

    def stop(self) -> bool:
        """Disarm the timer; return whether this call stopped it before it fired."""
        with self.mu:
            when = self.when
            if when > 0:
                self.when = 0.0
                self.version += 1
                if self.ts is not None:
                    self.ts.zombie()
                    self.ts = None
        if when > 0:
            proc.timerStopped(when)
        return when > 0


class Timers:
    """One P's timer heap. ``heap`` and ``zombies`` are guarded by ``mu``."""

    __slots__ = ("heap", "mu", "n", "pp", "zombies")

    def __init__(self, pp: P) -> None:
        self.mu = threading.Lock()
        self.heap: list[tuple[float, int, Timer, int]] = []
        self.zombies = 0
        self.n = 0
        self.pp = pp

    def push(self, when: float, t: Timer, version: int) -> None:
        with self.mu:
            self.n += 1
            earliest = not self.heap or when < self.heap[0][0]
            heapq.heappush(self.heap, (when, self.n, t, version))
        if earliest:
            proc.wakeNetPoller(when)

    def zombie(self) -> None:
        with self.mu:
            self.zombies += 1

    def wakeTime(self) -> float:
        """The earliest ``when`` of a live timer in the heap, or 0 (Go's ``cleanHead``)."""
        if not self.heap:
            return 0.0
        with self.mu:
            heap = self.heap
            while heap and heap[0][3] != heap[0][2].version:
                heapq.heappop(heap)
                self.zombies -= 1
            return heap[0][0] if heap else 0.0

    def haslive(self) -> bool:
        """Whether an armed timer on this heap can still wake a goroutine (for checkdead).

        As in Go 1.23, where a channel timer is in a heap only while a goroutine
        is blocked on its channel, a Timer or Ticker nobody waits on does not
        keep a deadlocked program alive. Exact only when nothing runs, as in
        checkdead: the channel's queue is read without its lock.
        """
        with self.mu:
            for _, _, t, version in self.heap:
                if version == t.version and (not t.ischan or haswaiter(t.arg)):
                    return True
        return False

    def check(self, now: float = 0.0) -> tuple[float, float, bool]:
        """Run the expired timers; return ``(now, next_when, ran)`` like Go's ``timers.check``.

        ``next_when`` is 0 when the heap is empty.
        """
        heap = self.heap
        if not heap:
            return now, 0.0, False
        if self.zombies > len(heap) // 4:
            self.adjust()
        if not now:
            now = nanotime()
        ran = False
        mu = self.mu
        while True:
            mu.acquire()
            if not heap:
                mu.release()
                return now, 0.0, ran
            when, _, t, version = heap[0]
            if when > now:
                mu.release()
                return now, when, ran
            heapq.heappop(heap)
            if version != t.version:
                self.zombies -= 1
                mu.release()
                continue
            mu.release()
            if self.run(t, version, now):
                ran = True

    def run(self, t: Timer, version: int, now: float) -> bool:
        """Fire ``t`` if its popped entry is still the live one (Go's ``unlockAndRun``)."""
        with t.mu:
            if version != t.version:
                return False
            if t.period > 0:
                delay = now - t.when
                t.when += t.period * (1 + int(delay // t.period))
                self.push(t.when, t, version)
            else:
                t.when = 0.0
                t.ts = None
            f, arg = t.f, t.arg
        f(arg)
        return True

    def adjust(self) -> None:
        """Drop every zombie and restore the heap property."""
        with self.mu:
            self.heap[:] = [e for e in self.heap if e[3] == e[2].version]
            heapq.heapify(self.heap)
            self.zombies = 0

    def take(self) -> list[tuple[float, int, Timer, int]]:
        """Remove and return all live entries (procresize moves a dead P's timers)."""
        with self.mu:
            live = [e for e in self.heap if e[3] == e[2].version]
            self.heap.clear()
            self.zombies = 0
        return live


def haswaiter(c: Any) -> bool:
    """Is a goroutine blocked receiving from channel ``c`` (alone or in a select still waiting)?"""
    for sg in list(c._recvq):
        token = sg[SG_SELECT]
        if sg[SG_G] is not None and not (token and token.locked()):
            return True
    return False


# proc imports this module for Timer and Timers, and timers call back into proc
# (to wake the M asleep in the poller). Importing it here, after both classes
# exist, works whichever of the two modules is imported first, and costs the
# timer paths nothing (a function-level import costs about a microsecond).
from . import proc  # noqa: E402

