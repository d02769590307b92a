"""The runtime semaphore under the sync package (Go's ``runtime/sema.go``).

What sync's primitives use when they are contended: a goroutine sleeps on an
address and another wakes it, in the role a futex plays for C code. The
count is what makes it race-free: a release that comes before the matching
acquire is kept, so the acquire returns at once instead of sleeping, and
every sleep is matched by exactly one wakeup.

The semaphore word
------------------
In Go a semaphore is a ``uint32`` somewhere in the user's struct and the
runtime is handed its address. Python has no pointers into an object, so the
*address* is the object itself: ``semacquire1(addr)`` counts on ``addr._sema``
(an int), and a Mutex or a WaitGroup passes itself. ``Sema`` is a bare word
for primitives that need more than one (RWMutex). ``addr._sema`` is guarded by
the lock of the root that ``addr`` hashes to, not by anything in ``addr``:
Go's ``cansemacquire`` CAS loop and ``semrelease``'s ``Xadd`` become a few
bytecodes under that lock, which the slow paths hold anyway.

The table
---------
Waiters do not live in the primitive either, which keeps a Mutex at three
slots: as in Go they are kept in one of ``semTabSize`` (251) ``semaRoot``
buckets chosen by the address, so unrelated semaphores rarely share a lock.
Go keeps each root's waiters in a treap keyed by address, each node heading
the list of that address's waiters; here the treap is a dict from
``id(addr)`` to a deque. An entry exists only while it has waiters, and a
waiter's coroutine frame holds ``addr``, so an id is never reused while its
entry lives.

Waiting and waking
------------------
A waiter is a sudog, a small list ``[g, ticket, root, key, queued]``, pushed
at the tail of its address's queue (at the head with ``lifo``, which a
Mutex waiter that has waited before uses to keep its place). The goroutine
parks with the root lock still held; ``semparkcommit`` stores the G into the
sudog on g0 and only then releases the lock, so a waker (which needs the
lock to dequeue) never sees a sudog whose G is not parked yet. Wakeups are
FIFO. Because every sleep is paired with one release of the word, a waiter
woken without a ticket re-checks the word and may find it taken by a
goroutine that never slept (Mutex's normal mode lets newcomers barge); it
then queues again.

Handoff: ``semrelease1(addr, handoff=True)`` (a starving Mutex) consumes the
count on the waiter's behalf and sets its ticket, so ownership passes to it
and nobody can barge in. Go's ``semrelease1`` then ``goyield``\\ s so the
waiter runs at once on the releaser's P, inheriting its time slice. Our
release is called from ``Mutex.unlock``, a plain method that cannot yield
the P, so the waiter is readied into ``runnext`` and runs as soon as the
unlocker next blocks or yields. Ownership has still moved: the unlocker, if
it locks again, queues behind the waiter.

A waiter that goes away (a goroutine abandoned when its run ends) unlinks its
sudog under the root lock, so queues never hold dead entries; one that a
release had already woken takes the count it was woken for, since nobody else
will. Either way ``semacquire1`` tells the primitive through its ``abandon``
callback, which undoes the primitive's own claim (a waiter count, a pending
writer, a lock it was handed), or the next run would find it still there.

notifyList (for sync.Cond) is a ticket-based notification list: ``wait`` is
the ticket the next waiter takes, ``notify`` the next ticket to be notified.
A waiter takes a ticket before releasing the Cond's lock and parks only if its
ticket has not been notified by then, so a signal between the two is never
lost. Its waiters are a dict from ticket to sudog: ``notifyListNotifyOne``
finds the notified ticket in O(1) where Go scans a list. A ticket whose holder
will not wait after all (``Cond.wait`` whose unlock raised, a Go panic that
Python lets the caller catch) is given back with ``notifyListAbandon``: its
entry is ``abandoned``, and a notification skips it for the next ticket, so
that no signal is spent on a goroutine that is not waiting. A waiter abandoned
when its run ends gives its ticket back the same way.
"""

from __future__ import annotations

import threading
import types
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from .proc import goready, park_m, readyglist
from .runtime2 import G, waitReasonSemacquire, waitReasonSyncCondWait
from .timers import nanotime

semTabSize = 251  # Go's semTabSize: a prime, so addresses spread over the roots

# A sema sudog's fields, all guarded by the lock of the root (or notifyList) it waits on:
SEMA_G = 0  # the parked G; None until the park commits
SEMA_TICKET = 1  # semaRoot: ownership handed over by semrelease1; notifyList: the ticket number
SEMA_ROOT = 2  # the semaRoot (or notifyList) it waits on
SEMA_KEY = 3  # semaRoot: id(addr)
SEMA_QUEUED = 4  # semaRoot: still linked on its address's queue
SEMA_WOKEN = 5  # semaRoot: when semrelease1 readied it (see semacquire1)


class Sema:
    """A semaphore word for primitives that need more than the one on themselves."""

    __slots__ = ("_sema",)

    def __init__(self, n: int = 0) -> None:
        self._sema = n  # guarded by rootFor(self).lock


class semaRoot:
    """One bucket of the semaphore table (Go's ``semaRoot``)."""

    __slots__ = ("lock", "waiters")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # guarded by lock: id(addr) -> that address's sudogs, in wakeup order
        self.waiters: dict[int, deque[list[Any]]] = {}


semtable = tuple(semaRoot() for _ in range(semTabSize))


def rootFor(addr: object) -> semaRoot:
    # Objects are 16-byte aligned: drop the bits that are always zero.
    return semtable[(id(addr) >> 4) % semTabSize]


@types.coroutine
def semacquire1(
    addr: Any, lifo: bool, reason: str, abandon: Callable[[bool, bool], None] | None = None
) -> Generator[Any, Any, float]:
    """Wait until ``addr._sema > 0``, then decrement it (Go's ``semacquire1``).

    Returns when the last wakeup was issued (0 if it never slept). A Mutex
    measures starvation up to that moment, not up to when the waiter got to
    run: waking a thread (a sync goroutine in ``block_on``) alone can take more
    than Go's 1 ms threshold, and that delay is not other goroutines barging in.

    If the wait is abandoned (an exception is thrown in: the run ended),
    ``abandon(woken, acquired)`` is called, without the root lock, before the
    exception goes on: ``woken`` if a release had dequeued the waiter,
    ``acquired`` if the count is then its own (handed over, or still there to
    take), for the primitive to undo its claim (see the module doc).
    """
    root = rootFor(addr)
    lock = root.lock
    key = id(addr)
    woken = 0.0
    while True:
        lock.acquire()
        if addr._sema > 0:  # cansemacquire
            addr._sema -= 1
            lock.release()
            return woken
        s = [None, False, root, key, True, 0.0]
        q = root.waiters.get(key)
        if q is None:
            q = root.waiters[key] = deque()
        if lifo:
            q.appendleft(s)
        else:
            q.append(s)
        try:
            yield (park_m, semparkcommit, s, reason)
        except BaseException:
            with lock:
                if s[SEMA_QUEUED]:
                    unqueue(s)
                elif s[SEMA_WOKEN] and not s[SEMA_TICKET] and addr._sema > 0:
                    # Woken for this count: left there, it would let the next
                    # acquire (in the next run) through without a release.
                    addr._sema -= 1
                    s[SEMA_TICKET] = True
            if abandon is not None:
                abandon(s[SEMA_WOKEN] != 0, s[SEMA_TICKET])
            raise
        woken = s[SEMA_WOKEN]
        if s[SEMA_TICKET]:
            return woken  # semrelease1 consumed the count for us (handoff)
        # Woken, but a goroutine that never slept may have taken the count: try again.


def semacquire(addr: Any) -> Generator[Any, Any, None]:
    """``runtime_Semacquire``: wait with the wait reason ``semacquire``."""
    return semacquire1(addr, False, waitReasonSemacquire)


def semrelease1(addr: Any, handoff: bool) -> None:
    """Increment ``addr._sema`` and wake its first waiter, if any (Go's ``semrelease1``).

    With ``handoff`` the count goes straight to that waiter (see the module doc).
    """
    root = rootFor(addr)
    lock = root.lock
    lock.acquire()
    addr._sema += 1
    key = id(addr)
    q = root.waiters.get(key)
    if q is None:  # nobody to wake
        lock.release()
        return
    s = q.popleft()
    if not q:
        del root.waiters[key]
    s[SEMA_QUEUED] = False
    s[SEMA_WOKEN] = nanotime()
    if handoff:
        addr._sema -= 1
        s[SEMA_TICKET] = True
    lock.release()
    goready(s[SEMA_G])  # may take sched.lock: outside the root lock


def semrelease(addr: Any) -> None:
    """``runtime_Semrelease`` without handoff."""
    semrelease1(addr, False)


def semparkcommit(gp: G | None, s: list[Any]) -> bool:
    """Unlock function of a semaphore park: publish the G, release the root.

    ``gp`` is None when the park is abandoned (the runtime stopped): the sudog
    is unlinked instead.
    """
    root = s[SEMA_ROOT]
    if gp is None:
        unqueue(s)
    else:
        s[SEMA_G] = gp
    root.lock.release()
    return True


def unqueue(s: list[Any]) -> None:
    """Unlink a sudog that is still queued. Requires its root's lock."""
    root = s[SEMA_ROOT]
    key = s[SEMA_KEY]
    q = root.waiters[key]
    for i, x in enumerate(q):
        if x is s:  # by identity: two sudogs can compare equal as lists
            del q[i]
            break
    if not q:
        del root.waiters[key]
    s[SEMA_QUEUED] = False


# The waiters entry of a ticket given back by notifyListAbandon.
abandoned: list[Any] = [None]


class notifyList:
    """Go's ``notifyList``: the waiters of a sync.Cond. All fields are guarded by ``lock``."""

    __slots__ = ("lock", "notify", "wait", "waiters")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wait = 0  # ticket of the next waiter
        self.notify = 0  # ticket of the next waiter to be notified
        self.waiters: dict[int, list[Any]] = {}  # ticket -> parked sudog, or abandoned


def notifyListAdd(l: notifyList) -> int:
    """Take a ticket; the caller must then call ``notifyListWait`` with it."""
    with l.lock:
        t = l.wait
        l.wait = t + 1
    return t


def notifyListAbandon(l: notifyList, t: int) -> None:
    """Give back ticket ``t``, which its holder will not wait on after all."""
    with l.lock:
        if t >= l.notify:
            l.waiters[t] = abandoned  # notifyListNotifyOne passes over it
            return
    # Already notified: pass that on, or the signal would be lost. If it was a
    # broadcast, the next waiter is woken for nothing, which Cond allows.
    notifyListNotifyOne(l)


@types.coroutine
def notifyListWait(l: notifyList, t: int) -> Generator[Any, Any, None]:
    """Wait for ticket ``t`` to be notified; return at once if it already was."""
    lock = l.lock
    lock.acquire()
    if t < l.notify:
        lock.release()
        return
    s = [None, t, l]
    l.waiters[t] = s
    try:
        yield (park_m, notifyparkcommit, s, waitReasonSyncCondWait)
    except BaseException:
        # Abandoned (the run ended): give the ticket back as notifyListAbandon
        # does, or the next run's first signal would be spent on it and its own
        # waiter never woken. A notification that came already stays spent, as
        # Go counts it delivered: passing it on would only ready another
        # goroutine of the ended run.
        with lock:
            if l.waiters.get(t) is s:
                l.waiters[t] = abandoned
        raise


def notifyparkcommit(gp: G | None, s: list[Any]) -> bool:
    """Unlock function of a notifyList park (``gp`` is None: abandoned, give the ticket back)."""
    l = s[SEMA_ROOT]
    if gp is None:
        l.waiters[s[SEMA_TICKET]] = abandoned  # not notified: we held the lock since the check
    else:
        s[SEMA_G] = gp
    l.lock.release()
    return True


def notifyListNotifyAll(l: notifyList) -> None:
    """Notify every ticket taken so far."""
    with l.lock:
        if l.wait == l.notify:
            return
        waiters = l.waiters
        l.waiters = {}
        l.notify = l.wait
    # In ticket order: dicts keep it.
    readyglist([s[SEMA_G] for s in waiters.values() if s is not abandoned])


def notifyListNotifyOne(l: notifyList) -> None:
    """Notify the oldest ticket not notified yet.

    If its goroutine has not parked yet it will not find it here, but it won't
    park itself once it sees the new notify number.
    """
    with l.lock:
        while True:
            t = l.notify
            if t == l.wait:
                return
            l.notify = t + 1
            s = l.waiters.pop(t, None)
            if s is not abandoned:
                break
    if s is not None:
        goready(s[SEMA_G])
