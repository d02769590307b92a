"""Run queues: each P's local queue and ``runnext`` slot, the global queue, stealing.

Go's local run queue is a lock-free ring of 256 slots that only its owner
writes; thieves CAS its head. Ours is a ``collections.deque`` capped at 256,
whose ``append``/``popleft``/``pop`` are atomic on both the GIL and the
free-threaded builds: the owner appends at the tail, and the owner and thieves
take from the head, one atomic pop at a time. ``runnext`` is a deque holding at
most one G (the owner swaps it with pop+append; a thief pops it on the last
steal pass). A batch steal is therefore not one atomic step as in Go, which
only means a thief may get fewer Gs than it asked for, never the same G twice.

The global run queue ``sched.runq`` is guarded by ``sched.lock``, as in Go,
with one exception: a goroutine without a P appends to it without the lock
(globrunqputnop in proc.py explains why). Every taker holds the lock, so a taker that measured
the queue finds at least that much in it.

Behaviour kept from Go because users can see it:
- a new or readied G goes to ``runnext`` and kicks the previous one to the tail;
- a full local queue moves half of itself plus the new G to the global queue;
- thieves take half (rounded up) and take ``runnext`` only on the last pass,
  after a 3 µs pause that lets the owner run it first (``runqgrab``);
- a batch from the global queue is ``min(n, size, size/gomaxprocs + 1)``.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from .runtime2 import LOCAL_RUNQ_SIZE, _Prunning, sched
from .trace import narrated

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .runtime2 import G, P


@narrated
def runqput(pp: P, gp: G, next: bool) -> None:
    """Put ``gp`` on ``pp``'s local queue; into ``runnext`` if ``next``."""
    if next:
        rn = pp.runnext
        if not rn:
            rn.append(gp)
            return
        try:
            old = rn.pop()
        except IndexError:
            rn.append(gp)
            return
        rn.append(gp)
        gp = old  # kicked out of runnext to the regular queue
    q = pp.runq
    if len(q) < LOCAL_RUNQ_SIZE:
        q.append(gp)
        return
    runqputslow(pp, gp)


def runqputslow(pp: P, gp: G) -> None:
    """The local queue is full: move half of it and ``gp`` to the global queue."""
    q = pp.runq
    batch = []
    for _ in range(len(q) // 2):
        try:
            batch.append(q.popleft())
        except IndexError:
            break
    batch.append(gp)
    with sched.lock:
        sched.runq.extend(batch)


@narrated
def runqget(pp: P) -> tuple[G | None, bool]:
    """Take a G from ``pp``: ``runnext`` first (inheriting the time slice), then the head."""
    rn = pp.runnext
    if rn:
        try:
            return rn.pop(), True
        except IndexError:
            pass
    q = pp.runq
    if q:
        try:
            return q.popleft(), False
        except IndexError:
            pass
    return None, False


def runqempty(pp: P) -> bool:
    return not pp.runq and not pp.runnext


def runqsteal(pp: P, p2: P, stealRunNextG: bool) -> G | None:
    """Steal half of ``p2``'s queue into ``pp``'s; return one stolen G to run now."""
    q2 = p2.runq
    n = len(q2)
    n -= n // 2
    if n == 0:
        if not stealRunNextG or not p2.runnext:
            return None
        if p2.status == _Prunning:
            # p2's M most likely readied this G a moment ago and is about to
            # block and run it itself; give it that chance (Go's usleep(3)).
            time.sleep(3e-6)
        try:
            return p2.runnext.pop()
        except IndexError:
            return None
    batch = []
    for _ in range(n):
        try:
            batch.append(q2.popleft())
        except IndexError:
            break
    if not batch:
        return None
    gp = batch.pop()
    pp.runq.extend(batch)
    return gp


@narrated
def globrunqput(gp: G) -> None:
    """Put ``gp`` at the tail of the global queue. Requires ``sched.lock``.

    A goroutine without a P appends without it instead (proc.globrunqputnop).
    """
    sched.runq.append(gp)


def globrunqget() -> G | None:
    """Take one G from the global queue. Requires ``sched.lock``."""
    q = sched.runq
    return q.popleft() if q else None


def globrunqgetbatch(pp: P, n: int) -> G | None:
    """Take a fair share of the global queue: one G to run, the rest to ``pp``.

    Requires ``sched.lock``.
    """
    q = sched.runq
    size = len(q)
    n = min(n, size, size // max(sched.gomaxprocs, 1) + 1)
    if n <= 0:
        return None
    gp = q.popleft()
    local = pp.runq
    if len(local) + n - 1 <= LOCAL_RUNQ_SIZE:  # the usual case: the local queue is empty
        local.extend([q.popleft() for _ in range(n - 1)])
    else:
        for _ in range(n - 1):
            runqput(pp, q.popleft(), False)
    return gp


class RandomOrder:
    """Visit every P exactly once, from a random start with a random coprime stride.

    Go's ``randomOrder``: cheaper than a shuffle and as good for spreading thieves.
    """

    def __init__(self) -> None:
        self.count = 0
        self.coprimes: list[int] = []

    def reset(self, count: int) -> None:
        self.count = count
        self.coprimes = [i for i in range(1, count + 1) if _gcd(i, count) == 1]

    def start(self) -> Iterator[int]:
        count = self.count
        r = random.getrandbits(32)
        pos = r % count
        inc = self.coprimes[(r // count) % len(self.coprimes)]
        for _ in range(count):
            yield pos
            pos = (pos + inc) % count


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


stealOrder = RandomOrder()
