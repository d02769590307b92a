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

A channel timer (``ischan``: a Timer's or Ticker's channel, ``gotime``) holds
its channel weakly, through a ``weakref``: the user's Timer and whoever holds
``.c`` keep the channel alive, and once nobody can receive from it the timer
does nothing when it fires, a periodic one stops, and its entry leaves the
heap (popped when due, or swept when the heap has doubled since its last
sweep). Go 1.23 gets the same by garbage-collecting unreferenced timers. No
weakref callback is used: it would run on any thread at any moment, under
whatever locks that thread holds.

A channel timer also carries Go's ``seq``: ``stop`` bumps it, and the value
captured when the timer fires travels with the send, which ``gotime`` drops
if ``seq`` has moved on meanwhile, so a send already in flight when
``stop``/``reset`` ran can never land afterwards.

Lock order: the channel's lock (channel timers), then ``Timer.mu``, then
``Timers.mu``. Timer functions run on g0 (or in a receiver, see
``maybeRunChan``) with none of these locks held.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .runtime2 import SG_G, SG_SELECT

if TYPE_CHECKING:
    from .runtime2 import P

nanotime = time.monotonic

# A heap this long is swept of dead entries (zombies, and timers of channels
# that are gone) when it reaches twice its length after the last sweep.
SWEEP_MIN = 64


class Timer:
    """A runtime timer: calls ``f(arg)`` on g0 at ``when`` (and every ``period``).

    A channel timer (``ischan``) calls ``f(arg, seq, delay)`` instead, like
    Go's: ``arg`` is a weakref to the channel, ``seq`` the value of ``seq``
    when it fired, ``delay`` how late it runs (``now - when``).

    ``when`` is 0 while the timer is not armed. All fields are guarded by
    ``mu``; ``seq`` of a channel timer changes only with the channel's lock
    held too (see ``stop``), so ``gotime`` may read it under either lock.
    """

    __slots__ = ("arg", "f", "ischan", "mu", "period", "sending", "seq", "ts", "version",
                 "when")

    def __init__(self, f: Callable[..., None], arg: Any, ischan: bool = False) -> None:
        self.mu = threading.Lock()
        # Feeds the channel ``arg()`` (time.After, Timer.C, Ticker.C): for
        # checkdead it counts only while a goroutine waits on that channel.
        self.ischan = ischan
        self.when = 0.0
        self.period = 0.0
        self.f = f
        self.arg = arg
        self.version = 0
        self.seq = 0  # channel timers: bumped by stop, to drop a send in flight
        self.sending = 0  # channel timers: fired, send not yet done (Go's isSending)
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
            self.ts = ts.push(when, self, self.version)
        return pending

    def stop(self) -> bool:
        """Disarm the timer; return whether this call stopped it before it fired.

        For a channel timer the caller holds the channel's lock: ``seq`` moves
        on, so that a send already in flight (fired, not yet sent) is dropped,
        and a one-shot timer with such a send counts as stopped before it
        fired, as in Go 1.23 (its ``isSending``).
        """
        with self.mu:
            when = self.when
            pending = when > 0
            if pending:
                self.when = 0.0
                self.version += 1
                if self.ts is not None:
                    self.ts.zombie()
                    self.ts = None
            if self.ischan:
                self.seq += 1
                if self.sending and self.period == 0:
                    pending = True
        if when > 0:
            proc.timerStopped(when)
        return pending

    def maybeRunChan(self) -> None:
        """Run this channel timer now if it is due (Go's ``maybeRunChan``).

        A receive or select on a timer channel calls it first (``gotime``,
        ``select``), so an expired timer's value is there at once, even when no
        scheduler has looked at the heap since it expired. Called with no lock
        held. The heap entry becomes a zombie; a periodic timer gets a new one.
        """
        when = self.when  # a peek: decided again under mu
        if not when or when > nanotime():
            return
        self.mu.acquire()
        now = nanotime()
        if not self.when or self.when > now or self.ts is None:
            self.mu.release()
            return
        self.version += 1
        self.ts.zombie()
        unlockAndRun(self, now, self.ts)


def unlockAndRun(t: Timer, now: float, ts: Timers) -> bool:
    """Fire ``t``, whose ``mu`` the caller holds and this releases (Go's ``unlockAndRun``).

    A periodic timer is pushed again on ``ts`` with its next ``when``. Returns
    whether a function ran (a channel timer whose channel is gone runs nothing
    and stops).
    """
    f, arg = t.f, t.arg
    if t.ischan and arg() is None:  # nobody can receive from its channel anymore
        t.when = 0.0
        t.ts = None
        t.mu.release()
        return False
    delay = now - t.when
    if t.period > 0:
        when = t.when + t.period * (1 + int(delay // t.period))
        if when <= t.when:
            # The period is below the float clock's resolution here (1 ns after
            # months of uptime): move on by one step, as Go's integer clock
            # moves by at least 1 ns, or check would run this ticker forever.
            when = math.nextafter(t.when, math.inf)
        t.when = when
        t.ts = ts.push(when, t, t.version)
    else:
        t.when = 0.0
        t.ts = None
    if t.ischan:
        t.sending += 1
        seq = t.seq
        t.mu.release()
        f(arg, seq, delay)
    else:
        t.mu.release()
        f(arg)
    return True


class Timers:
    """One P's timer heap. ``heap``, ``zombies``, ``sweepat`` and ``movedto`` are
    guarded by ``mu``.

    ``movedto`` is set when the P is destroyed (procresize) to the heap that
    took its timers. A caller may still hold the dead P's heap (it read its M's
    ``p`` without borrowing it, as ``gotime`` does): its push is forwarded,
    never dropped on a heap nobody checks.
    """

    __slots__ = ("heap", "movedto", "mu", "n", "pp", "sweepat", "zombies")

    def __init__(self, pp: P) -> None:
        self.mu = threading.Lock()
        self.heap: list[tuple[float, int, Timer, int]] = []
        self.zombies = 0
        self.n = 0
        self.sweepat = SWEEP_MIN  # heap length at which push sweeps dead entries
        self.pp = pp
        self.movedto: Timers | None = None

    def push(self, when: float, t: Timer, version: int) -> Timers:
        """Add an entry for ``t``; return the heap that holds it (see ``movedto``)."""
        with self.mu:
            moved = self.movedto
            if moved is None:
                if len(self.heap) >= self.sweepat:
                    # Entries of timers whose channel is gone are not counted as
                    # zombies (nothing tells us when a channel goes): sweeping as
                    # the heap doubles keeps it within twice its live size.
                    self.adjustLocked()
                self.n += 1
                earliest = not self.heap or when < self.heap[0][0]
                heapq.heappush(self.heap, (when, self.n, t, version))
        if moved is not None:
            return moved.push(when, t, version)
        if earliest:
            proc.wakeNetPoller(when)
        return self

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
                if version == t.version and (not t.ischan or haswaiter(t.arg())):
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
        """Fire ``t`` if its popped entry is still the live one."""
        t.mu.acquire()
        if version != t.version:
            t.mu.release()
            return False
        return unlockAndRun(t, now, self)

    def adjust(self) -> None:
        """Drop every dead entry and restore the heap property."""
        with self.mu:
            self.adjustLocked()

    def adjustLocked(self) -> None:
        """``adjust`` for a caller that holds ``mu``."""
        self.heap[:] = [e for e in self.heap if islive(e)]
        heapq.heapify(self.heap)
        self.zombies = 0
        self.sweepat = max(SWEEP_MIN, 2 * len(self.heap))

    def take(self, into: Timers) -> list[tuple[float, int, Timer, int]]:
        """Remove and return all live entries, and forward later pushes to ``into``
        (procresize moves a dead P's timers)."""
        with self.mu:
            self.movedto = into
            live = [e for e in self.heap if islive(e)]
            self.heap.clear()
            self.zombies = 0
        return live


def islive(e: tuple[float, int, Timer, int]) -> bool:
    """Whether a heap entry can still do something: not a zombie, and if it is a
    channel timer, its channel still exists. The timer's fields are read
    without its lock: a version only grows and a dead channel stays dead, so
    a racing read can only keep an entry that a later sweep drops."""
    t = e[2]
    return e[3] == t.version and not (t.ischan and t.arg() is None)


def haswaiter(c: Any) -> bool:
    """Is a goroutine blocked receiving from channel ``c`` (alone or in a select still waiting)?

    ``c`` is None when the channel is gone: nobody can wait on it.
    """
    if c is None:
        return False
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

