"""Synchronization primitives: Go's ``sync`` package, and x/sync's ``semaphore`` and ``errgroup``.

Mutex, RWMutex, WaitGroup and Cond are ports of Go's, line for line where the
logic is concerned, on the runtime semaphore of ``runtime/sema.py``. Each
keeps a small state word and sleeps on a semaphore only when contended. Go
updates the word with CAS loops; here every word is guarded by the
primitive's own lock (named next to the field: a token lock from
``runtime/lock_token.py`` for Mutex and WaitGroup, whose fast paths take it
inline, a ``threading.Lock`` elsewhere), so a CAS that could fail and retry
becomes a short critical section that cannot. No
critical section ever blocks or yields: a goroutine releases the lock before
it sleeps, and a waker readies goroutines after releasing it.

Fast paths complete when called
-------------------------------
``await mu.lock()`` on a free mutex must not suspend, and should not
allocate. ``lock()`` is therefore a plain method: it takes the mutex right
away when it can and returns ``_DONE``, an exhausted generator-based
coroutine that any number of ``await``\\ s (and ``block_on``) finish at once
without allocating. Only a contended call returns a real coroutine, which
waits when awaited. The same holds for ``RWMutex.rlock``/``lock``,
``WaitGroup.wait``, ``Once.do`` and ``Semaphore.acquire``. The result of these
methods must always be awaited, as a Go call is always completed.

Mutex fairness (Go's two modes)
-------------------------------
Normal mode favours throughput: waiters sleep in FIFO order, but the one an
unlock wakes only gets a chance to take the mutex, and goroutines that are
running at that moment usually get there first. A waiter that loses goes
back to the head of the queue. Once some waiter has gone more than 1 ms
without the mutex, it flips the mutex into starvation mode.

Starvation mode favours latency: unlock passes ownership straight to the
head waiter, and newcomers queue at the tail without trying to take a mutex
that only looks free. The waiter that receives ownership returns the mutex
to normal mode if it is the last one queued or if its own wait was under
1 ms, since handing over on every unlock is much slower than letting a
running goroutine lock again.

Unlike Go, a contended ``lock`` never spins before sleeping: one spin
iteration of Python costs about as much as a park and a wakeup. And since
``unlock`` cannot yield the P, a handoff in starvation mode readies the new
owner into ``runnext`` rather than switching to it (see ``runtime/sema.py``).
A waiter's wait is measured until it is woken, not until it runs: a sync
goroutine or a thread (``block_on``) is woken by an OS thread switch, which
can take longer than the 1 ms threshold by itself, and counting it would keep
a Mutex shared with threads in starvation mode, running at the pace of thread
wakeups (see ``semacquire1``).

Panics are exceptions: misuse raises ``RuntimeError`` with Go's message and,
unlike Go (where these are fatal or leave the word corrupted), leaves the
primitive as it was.

A goroutine abandoned while it waits (its run ended with it parked) gives up
its claim as it unwinds, so that the next run that uses the primitive does not
find it there: it stops counting as a waiter (a Cond waiter gives its ticket
back), a pending writer withdraws, and a lock a release handed it meanwhile is
unlocked again. A Cond signal it already got stays spent, as in Go.

Arguments are checked before any lock is taken: a TypeError raised inside a
critical section would leave the lock held and the primitive wedged.

Semaphore and ErrGroup follow x/sync: a weighted semaphore is a lock, a
count and a FIFO of waiters, each parked on a channel of its own so that it
can also wait for a context; an ErrGroup is a WaitGroup, a first error, and
for its limit a count of running functions and a FIFO of those waiting for a
slot.
"""

from __future__ import annotations

import inspect
import operator
import threading
import types
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Generator
from typing import Any, Protocol

from .chan import Chan, ClosedChannelError, nilchan
from .context import Context, with_cancel
from .runtime.lock_token import lock2, tokenacquire, tokenlock, tokenrelease
from .runtime.proc import Goexit, go
from .runtime.runtime2 import (
    waitReasonSyncMutexLock,
    waitReasonSyncRWMutexLock,
    waitReasonSyncRWMutexRLock,
    waitReasonSyncWaitGroupWait,
)
from .runtime.sema import (
    Sema,
    notifyList,
    notifyListAbandon,
    notifyListAdd,
    notifyListNotifyAll,
    notifyListNotifyOne,
    notifyListWait,
    semacquire1,
    semrelease1,
)
from .runtime.timers import nanotime
from .select import select

__all__ = ["Cond", "ErrGroup", "Locker", "Mutex", "Once", "RWMutex", "Semaphore", "WaitGroup"]


@types.coroutine
def _ready() -> Generator[Any, Any, None]:
    yield from ()


# What a fast path returns: awaiting an exhausted generator returns None at once
# (CPython special-cases it), and it can be awaited any number of times, from any
# thread, since being finished is its only state.
_DONE = _ready()
for _ in _DONE:
    pass


def _int(x: Any, what: str) -> int:
    """``x`` as an int (``operator.index``), with a TypeError that names ``what``."""
    try:
        return operator.index(x)
    except TypeError:
        raise TypeError(f"{what} must be an int, not {type(x).__name__}") from None


def _gofunc(fn: Any, args: tuple) -> tuple[Callable[..., Any], tuple]:
    """What a group's ``go`` runs for ``fn(*args)``, checked at the call as ``gosched.go``
    does: a coroutine object (which ``go`` accepts) is awaited by ``_await``."""
    if callable(fn):
        return fn, args
    if fn is None:
        raise TypeError("go of nil func value")
    if not inspect.isawaitable(fn):
        raise TypeError(f"go: {fn!r} is not callable")
    if args:
        _discard(fn)
        raise TypeError("go: arguments given with a coroutine object")
    return _await, (fn,)


@types.coroutine
def _slotwait(started: Chan[None]) -> Generator[Any, Any, None]:
    """``await`` on a queued ``ErrGroup.go``: Go's ``g.sem <- token{}``, a send that
    blocks until the function holds a slot, which is when ``started`` is closed.
    A generator, not an ``async def``: a caller that does not await leaves no
    "never awaited" warning."""
    try:
        yield from started.send(None)
    except ClosedChannelError:
        pass


async def _await(aw: Awaitable[Any]) -> Any:
    return await aw


def _discard(aw: Any) -> None:
    """Close a coroutine that will never run: no "never awaited" warning."""
    if inspect.iscoroutine(aw) or isinstance(aw, types.GeneratorType):
        aw.close()


class Locker(Protocol):
    """Go's ``sync.Locker``: what ``Cond`` needs (Mutex, RWMutex, ``RWMutex.rlocker()``)."""

    def lock(self) -> Awaitable[None]: ...

    def unlock(self) -> None: ...


# ----------------------------------------------------------------------------
# Mutex
# ----------------------------------------------------------------------------

mutexLocked = 1  # mutex is locked
mutexWoken = 2  # a woken waiter is on its way: unlock need not wake another
mutexStarving = 4  # ownership goes to the head waiter; newcomers queue
mutexWaiterShift = 3  # state >> mutexWaiterShift: the number of waiters
starvationThreshold = 1e-3  # Go's starvationThresholdNs (1 ms), in seconds


class Mutex:
    """A mutual exclusion lock (Go's ``sync.Mutex``).

    ``await mu.lock()`` / ``mu.unlock()``, or ``async with mu:``. A locked Mutex
    is not associated with a particular goroutine: one may lock it and
    another unlock it.
    """

    __slots__ = ("_lk", "_sema", "_state")

    def __init__(self) -> None:
        self._lk = tokenlock()
        self._state = 0  # guarded by _lk: mutexLocked|mutexWoken|mutexStarving|waiters<<shift
        self._sema = 0  # the semaphore word; guarded by sema.rootFor(self).lock

    def lock(self) -> Awaitable[None]:
        """Lock the mutex; if it is locked, the result waits until it is available."""
        lk = self._lk
        try:
            lk.pop()  # acquire (see runtime/lock_token)
        except IndexError:
            lock2(lk)
        if self._state == 0:  # fast path: grab unlocked mutex
            self._state = mutexLocked
            lk.append(True)  # release
            return _DONE
        lk.append(True)  # release
        return self._lockSlow()

    @types.coroutine
    def _lockSlow(self) -> Generator[Any, Any, None]:
        lk = self._lk
        waitStartTime = 0.0
        starving = False
        awoke = False
        while True:
            tokenacquire(lk)
            old = self._state
            new = old
            # In starvation mode the mutex belongs to the queue: only queue behind it.
            if not old & mutexStarving:
                new |= mutexLocked
            if old & (mutexLocked | mutexStarving):
                new += 1 << mutexWaiterShift
            # Flip to starvation mode only while the mutex is held: a starving
            # mutex promises unlock a waiter to hand over to, and an unlocked one
            # may have none.
            if starving and old & mutexLocked:
                new |= mutexStarving
            if awoke:
                # We were the woken waiter: the flag was ours, whatever happens next.
                new &= ~mutexWoken
            self._state = new
            tokenrelease(lk)
            if not old & (mutexLocked | mutexStarving):
                return  # locked the mutex
            # A waiter that lost the race after a wakeup keeps its place at the head.
            queueLifo = waitStartTime != 0
            if not queueLifo:
                waitStartTime = nanotime()
            woke = yield from semacquire1(
                self, queueLifo, waitReasonSyncMutexLock, self._abandonWait
            )
            starving = starving or (woke or nanotime()) - waitStartTime > starvationThreshold
            tokenacquire(lk)
            old = self._state
            if old & mutexStarving:
                # unlock handed us the mutex without touching the word: take the
                # lock bit and stop counting ourselves as a waiter.
                delta = mutexLocked - (1 << mutexWaiterShift)
                if not starving or old >> mutexWaiterShift == 1:
                    # Back to normal mode now, or two goroutines taking turns
                    # could keep each other in the slow handoff mode for ever.
                    delta -= mutexStarving
                self._state = old + delta
                tokenrelease(lk)
                return
            tokenrelease(lk)
            awoke = True

    def _abandonWait(self, woken: bool, acquired: bool) -> None:
        """A waiter goes away for good (its run ended): take it out of the state word,
        or the next run would count it, keep the mutex starving, or wait for it."""
        if woken and not acquired:
            # A goroutine that slept took the count we were woken for, and with it
            # our part (it clears mutexWoken): there is nothing of ours left.
            return
        lk = self._lk
        tokenacquire(lk)
        old = self._state
        if not woken:
            # Still queued: no longer a waiter. With none left there is nobody
            # for a starving mutex to hand over to.
            new = old - (1 << mutexWaiterShift)
            if new >> mutexWaiterShift == 0:
                new &= ~mutexStarving
            self._state = new
            tokenrelease(lk)
            return
        own = True
        if old & mutexStarving:
            # unlock handed us the mutex: take it as _lockSlow does, to unlock it.
            new = old + mutexLocked - (1 << mutexWaiterShift)
            if old >> mutexWaiterShift == 1:
                new &= ~mutexStarving
        elif old & mutexLocked:
            # We were the woken waiter and a runner got there first: drop the flag,
            # so that the holder's unlock wakes another waiter in our place.
            new = old & ~mutexWoken
            own = False
        else:
            # We were the woken waiter and the mutex is free: take it to unlock it,
            # which wakes the next waiter, if any, in our place.
            new = (old & ~mutexWoken) | mutexLocked
        self._state = new
        tokenrelease(lk)
        if own:
            self.unlock()

    def try_lock(self) -> bool:
        """Lock the mutex if it is free now (and not promised to a starving waiter)."""
        lk = self._lk
        tokenacquire(lk)
        old = self._state
        if old & (mutexLocked | mutexStarving):
            tokenrelease(lk)
            return False
        # Barging past sleeping waiters is allowed in normal mode.
        self._state = old | mutexLocked
        tokenrelease(lk)
        return True

    def unlock(self) -> None:
        """Unlock the mutex; ``RuntimeError`` if it is not locked."""
        lk = self._lk
        try:
            lk.pop()  # acquire (see runtime/lock_token)
        except IndexError:
            lock2(lk)
        state = self._state
        if state == mutexLocked:  # fast path: nobody waits
            self._state = 0
            lk.append(True)  # release
            return
        if not state & mutexLocked:
            lk.append(True)  # release
            raise RuntimeError("sync: unlock of unlocked mutex")
        new = state - mutexLocked
        if new & mutexStarving:
            # Ownership goes to the head waiter. The lock bit stays clear until it
            # runs; the starving bit alone keeps newcomers out meanwhile.
            self._state = new
            lk.append(True)  # release
            semrelease1(self, True)
            return
        if new >> mutexWaiterShift == 0 or new & mutexWoken:
            # Nobody to wake, or a woken waiter is already on its way.
            self._state = new
            lk.append(True)  # release
            return
        # We wake one waiter; the woken bit stops other unlocks doing the same.
        self._state = (new - (1 << mutexWaiterShift)) | mutexWoken
        lk.append(True)  # release
        semrelease1(self, False)

    __aenter__ = lock

    def __aexit__(self, *exc: object) -> Awaitable[None]:
        self.unlock()
        return _DONE


# ----------------------------------------------------------------------------
# RWMutex
# ----------------------------------------------------------------------------

rwmutexMaxReaders = 1 << 30


class RWMutex:
    """A reader/writer mutual exclusion lock (Go's ``sync.RWMutex``).

    Any number of readers or one writer. A writer that calls ``lock`` blocks
    new readers until it has had the lock, so a stream of readers cannot
    starve it. ``async with rw:`` holds the write lock, ``async with
    rw.rlocker():`` a read lock.
    """

    __slots__ = ("_lk", "_readerCount", "_readerSem", "_readerWait", "_w", "_writerSem")

    def __init__(self) -> None:
        self._w = Mutex()  # held if there are pending writers
        self._writerSem = Sema()  # the writer waits here for departing readers
        self._readerSem = Sema()  # readers wait here for the writer to finish
        self._lk = threading.Lock()
        # guarded by _lk: readers holding or waiting for the lock, minus
        # rwmutexMaxReaders while a writer is pending
        self._readerCount = 0
        self._readerWait = 0  # guarded by _lk: departing readers a pending writer waits for

    def rlock(self) -> Awaitable[None]:
        """Lock for reading; waits while a writer holds or waits for the lock."""
        lk = self._lk
        lk.acquire()
        r = self._readerCount + 1
        self._readerCount = r
        lk.release()
        if r > 0:
            return _DONE
        # The count went negative: a writer holds or wants the lock.
        return semacquire1(
            self._readerSem, False, waitReasonSyncRWMutexRLock, self._abandonRLock
        )

    def _abandonRLock(self, woken: bool, acquired: bool) -> None:
        """A reader waiting for a writer goes away for good (its run ended)."""
        if acquired:
            # The writer's unlock let us in: the read lock is ours to give back.
            self.runlock()
            return
        # Still waiting (woken only to lose the count to another reader): stop
        # counting as a reader, or the next writer would wait for us for ever.
        with self._lk:
            self._readerCount -= 1

    def try_rlock(self) -> bool:
        """Lock for reading if no writer holds or waits for the lock."""
        with self._lk:
            c = self._readerCount
            if c < 0:
                return False
            self._readerCount = c + 1
            return True

    def runlock(self) -> None:
        """Undo one ``rlock``; ``RuntimeError`` if not read-locked."""
        lk = self._lk
        lk.acquire()
        r = self._readerCount - 1
        if r >= 0:
            self._readerCount = r
            lk.release()
            return
        if r + 1 == 0 or r + 1 == -rwmutexMaxReaders:
            lk.release()
            raise RuntimeError("sync: RUnlock of unlocked RWMutex")
        # Leaving while a writer waits for the readers ahead of it.
        self._readerCount = r
        self._readerWait -= 1
        last = self._readerWait == 0
        lk.release()
        if last:  # the last reader unblocks the writer
            semrelease1(self._writerSem, False)

    def lock(self) -> Awaitable[None]:
        """Lock for writing: waits for other writers, then for the active readers."""
        # Writers queue on the inner Mutex; the winner then waits out the readers.
        aw = self._w.lock()
        if aw is _DONE:
            return self._waitReaders()
        return self._lockSlow(aw)

    @types.coroutine
    def _lockSlow(self, aw: Any) -> Generator[Any, Any, None]:
        yield from aw
        yield from self._waitReaders()

    def _waitReaders(self) -> Any:
        """Announce to readers there is a pending writer, then wait for the active ones."""
        lk = self._lk
        lk.acquire()
        r = self._readerCount
        self._readerCount = r - rwmutexMaxReaders
        wait = False
        if r != 0:
            self._readerWait += r
            wait = self._readerWait != 0
        lk.release()
        if wait:
            return semacquire1(
                self._writerSem, False, waitReasonSyncRWMutexLock, self._abandonLock
            )
        return _DONE

    def _abandonLock(self, woken: bool, acquired: bool) -> None:
        """A pending writer waiting for the readers goes away for good (its run ended)."""
        if acquired:
            # The last reader left and handed us the lock: give it back.
            self.unlock()
            return
        # Withdraw the announcement. The readers that queued behind us meanwhile
        # are those counted that are not departing ones: let them in, as unlock does.
        lk = self._lk
        lk.acquire()
        r = self._readerCount + rwmutexMaxReaders
        self._readerCount = r
        queued = r - self._readerWait
        self._readerWait = 0
        lk.release()
        for _ in range(queued):
            semrelease1(self._readerSem, False)
        # And the next writer.
        self._w.unlock()

    def try_lock(self) -> bool:
        """Lock for writing if nobody holds the lock."""
        if not self._w.try_lock():
            return False
        with self._lk:
            ok = self._readerCount == 0
            if ok:
                self._readerCount = -rwmutexMaxReaders
        if not ok:
            self._w.unlock()
        return ok

    def unlock(self) -> None:
        """Unlock for writing; ``RuntimeError`` if not write-locked."""
        lk = self._lk
        lk.acquire()
        # Lift the writer's offset so that readers count up from zero again.
        r = self._readerCount + rwmutexMaxReaders
        if r >= rwmutexMaxReaders:
            lk.release()
            raise RuntimeError("sync: Unlock of unlocked RWMutex")
        self._readerCount = r
        lk.release()
        # Release the readers that queued behind the writer.
        for _ in range(r):
            semrelease1(self._readerSem, False)
        # And the next writer.
        self._w.unlock()

    def rlocker(self) -> _RLocker:
        """A Locker whose ``lock``/``unlock`` are this RWMutex's ``rlock``/``runlock``."""
        return _RLocker(self)

    __aenter__ = lock

    def __aexit__(self, *exc: object) -> Awaitable[None]:
        self.unlock()
        return _DONE


class _RLocker:
    """``rw.rlocker()``: the read side of an RWMutex as a Locker."""

    __slots__ = ("_rw",)

    def __init__(self, rw: RWMutex) -> None:
        self._rw = rw

    def lock(self) -> Awaitable[None]:
        return self._rw.rlock()

    def unlock(self) -> None:
        self._rw.runlock()

    __aenter__ = lock

    def __aexit__(self, *exc: object) -> Awaitable[None]:
        self._rw.runlock()
        return _DONE


# ----------------------------------------------------------------------------
# WaitGroup
# ----------------------------------------------------------------------------


class WaitGroup:
    """Waits for a collection of goroutines to finish (Go's ``sync.WaitGroup``)."""

    __slots__ = ("_counter", "_lk", "_sema", "_waiters")

    def __init__(self) -> None:
        self._lk = tokenlock()
        self._counter = 0  # guarded by _lk
        self._waiters = 0  # guarded by _lk: goroutines in wait(); 0 whenever _counter is 0
        self._sema = 0  # the semaphore word; guarded by sema.rootFor(self).lock

    def add(self, delta: int) -> None:
        """Add ``delta`` (may be negative) to the counter; at zero, release the waiters."""
        if type(delta) is not int:
            delta = _int(delta, "WaitGroup.add: delta")
        lk = self._lk
        try:
            lk.pop()  # acquire (see runtime/lock_token)
        except IndexError:
            lock2(lk)
        v = self._counter + delta
        if v < 0:
            lk.append(True)  # release
            raise RuntimeError("sync: negative WaitGroup counter")
        w = self._waiters
        if v > 0 or w == 0:
            self._counter = v
            lk.append(True)  # release
            return
        # The counter reached 0 with waiters: reset them, and wake each one.
        self._counter = 0
        self._waiters = 0
        lk.append(True)  # release
        for _ in range(w):
            semrelease1(self, False)

    def done(self) -> None:
        """Decrement the counter by one."""
        lk = self._lk
        try:
            lk.pop()  # acquire (see runtime/lock_token)
        except IndexError:
            lock2(lk)
        v = self._counter - 1
        if v > 0 or (v == 0 and self._waiters == 0):  # add's common case, inlined
            self._counter = v
            lk.append(True)  # release
            return
        lk.append(True)  # release: add(-1) does the rest, as one step under the lock
        self.add(-1)

    def wait(self) -> Awaitable[None]:
        """Wait until the counter is zero."""
        lk = self._lk
        try:
            lk.pop()  # acquire (see runtime/lock_token)
        except IndexError:
            lock2(lk)
        if self._counter == 0:
            lk.append(True)  # release
            return _DONE
        self._waiters += 1
        lk.append(True)  # release
        return self._waitSlow()

    @types.coroutine
    def _waitSlow(self) -> Generator[Any, Any, None]:
        yield from semacquire1(self, False, waitReasonSyncWaitGroupWait, self._abandonWait)
        tokenacquire(self._lk)
        reused = self._counter != 0 or self._waiters != 0
        tokenrelease(self._lk)
        if reused:
            raise RuntimeError("sync: WaitGroup is reused before previous Wait has returned")

    def _abandonWait(self, woken: bool, acquired: bool) -> None:
        """A waiter goes away for good (its run ended). Once woken, add has already
        stopped counting it (and its wakeup is taken, by semacquire1 if nobody else
        did); until then it must stop counting itself, or the next wait would find
        the group "reused"."""
        if woken:
            return
        tokenacquire(self._lk)
        if self._waiters > 0:
            self._waiters -= 1
        tokenrelease(self._lk)

    def go(self, fn: Callable[..., Any], *args: Any) -> None:
        """Go's ``WaitGroup.Go``: ``add(1)``, then run ``fn(*args)`` in a goroutine that calls
        ``done()`` when it returns or calls ``goexit``, but not when it raises: the panic
        ends the program, and ``wait`` must not let it end first. ``fn`` may be async,
        plain, or a coroutine object, like ``gosched.go``'s."""
        fn, args = _gofunc(fn, args)
        self.add(1)
        if _isasync(fn):
            go(_wgAsync, self, fn, args)
        else:
            go(_wgSync, self, fn, args)


def _isasync(fn: Any) -> bool:
    """Whether ``fn`` makes an async goroutine: an async function, or an object whose
    ``__call__`` is one. Other callables run as sync goroutines."""
    return inspect.iscoroutinefunction(fn) or (
        callable(fn) and inspect.iscoroutinefunction(type(fn).__call__)
    )


async def _wgAsync(wg: WaitGroup, fn: Callable[..., Any], args: tuple) -> None:
    try:
        await fn(*args)
    except Goexit:
        wg.done()
        raise
    wg.done()


def _wgSync(wg: WaitGroup, fn: Callable[..., Any], args: tuple) -> Any:
    try:
        r = fn(*args)
    except Goexit:
        wg.done()
        raise
    if inspect.isawaitable(r):
        # A plain callable that returned an awaitable (a lambda around an async
        # call, a method like Mutex.lock): returning a coroutine makes this
        # goroutine async, and the runtime runs it.
        return _wgAsync(wg, _identity, (r,))
    wg.done()
    return None


def _identity(x: Any) -> Any:
    return x


# ----------------------------------------------------------------------------
# Once
# ----------------------------------------------------------------------------


class Once:
    """Performs exactly one action (Go's ``sync.Once``).

    ``await once.do(fn)`` calls ``fn()`` (plain or async; or awaits ``fn``
    when it is a coroutine object, as ``go`` accepts one) if no ``do`` of this
    Once has called it before; concurrent callers wait until it has returned.
    A function that raises still counts as done: later calls do nothing.
    """

    __slots__ = ("_done", "_m")

    def __init__(self) -> None:
        self._m = Mutex()
        # Written under _m, once, after fn returned. Read without it by do()'s fast
        # path as Go does with an atomic load: reads and writes of a slot are
        # atomic on every build, and True is final.
        self._done = False

    def do(self, fn: Callable[[], Any]) -> Awaitable[None]:
        """Call ``fn`` unless this Once already has."""
        if self._done:
            if not callable(fn):
                _discard(fn)  # a coroutine object that will never run
            return _DONE
        return self._doSlow(fn)

    async def _doSlow(self, fn: Callable[[], Any]) -> None:
        await self._m.lock()
        try:
            if not self._done:
                try:
                    r = fn() if callable(fn) or not inspect.isawaitable(fn) else fn
                    if inspect.isawaitable(r):
                        await r
                finally:
                    self._done = True
        finally:
            self._m.unlock()


# ----------------------------------------------------------------------------
# Cond
# ----------------------------------------------------------------------------


class Cond:
    """A condition variable (Go's ``sync.Cond``): a rendezvous point for goroutines
    waiting for or announcing an event. ``L`` is held while the condition is
    checked or changed."""

    __slots__ = ("L", "_notify")

    def __init__(self, locker: Locker) -> None:
        self.L = locker
        self._notify = notifyList()

    async def wait(self) -> None:
        """Unlock ``L``, sleep until woken by ``signal``/``broadcast``, lock ``L`` again.

        Wakeups can come for other reasons too: check the condition in a loop.
        """
        # The ticket comes first, so that a signal between unlock and the wait
        # is not lost.
        t = notifyListAdd(self._notify)
        try:
            self.L.unlock()
        except BaseException:
            # Not waiting after all (L was not held): no signal may be spent on us.
            notifyListAbandon(self._notify, t)
            raise
        await notifyListWait(self._notify, t)
        await self.L.lock()

    def signal(self) -> None:
        """Wake one goroutine waiting on the Cond, if there is any."""
        notifyListNotifyOne(self._notify)

    def broadcast(self) -> None:
        """Wake every goroutine waiting on the Cond."""
        notifyListNotifyAll(self._notify)


# ----------------------------------------------------------------------------
# Semaphore (x/sync/semaphore.Weighted)
# ----------------------------------------------------------------------------


class Semaphore:
    """A weighted semaphore (Go's ``x/sync/semaphore.Weighted``) of size ``n``.

    Waiters are served in FIFO order: a large request at the head is not
    overtaken by smaller ones that would fit, so it is never starved.
    """

    __slots__ = ("_cur", "_mu", "_size", "_waiters")

    def __init__(self, n: int) -> None:
        self._size = _int(n, "Semaphore: n")
        self._mu = threading.Lock()
        self._cur = 0  # guarded by _mu: the weight held
        # guarded by _mu: a waiter's ready channel -> its weight, in arrival order
        self._waiters: OrderedDict[Chan[None], int] = OrderedDict()

    def acquire(self, k: int = 1, ctx: Context | None = None) -> Awaitable[None]:
        """Acquire weight ``k``, waiting until it is available or ``ctx`` is done.

        On success nothing is held back; if ``ctx`` is done first, ``ctx.err()``
        is raised and nothing is acquired. A request larger than the size
        waits for ``ctx`` (forever without one), as in Go.
        """
        if type(k) is not int:
            k = _int(k, "Semaphore.acquire: k")
        if ctx is None:
            mu = self._mu
            mu.acquire()
            if self._size - self._cur >= k and not self._waiters:
                self._cur += k
                mu.release()
                return _DONE
            mu.release()
        return self._acquireSlow(k, ctx)

    async def _acquireSlow(self, n: int, ctx: Context | None) -> None:
        done = nilchan if ctx is None else ctx.done()
        mu = self._mu
        mu.acquire()
        if ctx is not None:
            err = ctx.err()
            if err is not None:
                # A context that is already done wins over a free semaphore.
                mu.release()
                raise err
        if self._size - self._cur >= n and not self._waiters:
            self._cur += n
            mu.release()
            return
        if n > self._size:
            # Can never be granted: wait for the context without joining the
            # queue, where it would block every request behind it.
            mu.release()
            await done.recv()
            raise _err(ctx)
        ready: Chan[None] = Chan()
        self._waiters[ready] = n
        mu.release()

        try:
            i, _ = await select(ready.recv, done.recv)
        except BaseException:
            # Abandoned (the run ended) or interrupted: a dead waiter must not
            # keep its place, or take weight, in the next run.
            self._withdraw(ready, n)
            raise
        if i == 0:
            # Granted; a context done meanwhile still makes the call fail.
            if ctx is not None:
                err = ctx.err()
                if err is not None:
                    self.release(n)
                    raise err
            return
        self._withdraw(ready, n)
        raise _err(ctx)

    def _withdraw(self, ready: Chan[None], n: int) -> None:
        """Take back the request of weight ``n`` waiting on ``ready``, or the weight
        if it was granted meanwhile."""
        mu = self._mu
        mu.acquire()
        if ready in self._waiters:
            isFront = next(iter(self._waiters)) is ready
            del self._waiters[ready]
            # Leaving the head of the queue may let the requests behind us fit.
            woken = self._notifyWaiters() if isFront and self._size > self._cur else []
        else:
            # Granted just as we gave up: give the weight back.
            self._cur -= n
            woken = self._notifyWaiters()
        mu.release()
        for c in woken:
            c.close()

    def try_acquire(self, k: int = 1) -> bool:
        """Acquire weight ``k`` without waiting; False (nothing acquired) if it can't."""
        if type(k) is not int:
            k = _int(k, "Semaphore.try_acquire: k")
        with self._mu:
            ok = self._size - self._cur >= k and not self._waiters
            if ok:
                self._cur += k
            return ok

    def release(self, k: int = 1) -> None:
        """Release weight ``k``; ``RuntimeError`` if that is more than is held."""
        if type(k) is not int:
            k = _int(k, "Semaphore.release: k")
        mu = self._mu
        mu.acquire()
        cur = self._cur - k
        if cur < 0:
            mu.release()
            raise RuntimeError("semaphore: released more than held")
        self._cur = cur
        woken = self._notifyWaiters() if self._waiters else []
        mu.release()
        for c in woken:
            c.close()  # readies a goroutine: outside _mu

    def _notifyWaiters(self) -> list[Chan[None]]:
        """Grant the head waiters whatever fits; return their channels to close. Requires _mu."""
        woken = []
        waiters = self._waiters
        while waiters:
            ready = next(iter(waiters))
            if self._size - self._cur < waiters[ready]:
                # Strict FIFO: smaller requests further back must not overtake
                # a large one at the head, or it could wait for ever.
                break
            self._cur += waiters.pop(ready)
            woken.append(ready)
        return woken

def _err(ctx: Context | None) -> BaseException:
    """The error of a done ``ctx`` (only reached with a ctx: nilchan never wakes)."""
    assert ctx is not None
    err = ctx.err()
    assert err is not None
    return err


# ----------------------------------------------------------------------------
# ErrGroup (x/sync/errgroup.Group)
# ----------------------------------------------------------------------------


class ErrGroup:
    """A group of goroutines working on subtasks of a common task (Go's ``errgroup.Group``).

    ``g.go(fn, *args)`` runs ``fn`` in a goroutine; ``await g.wait()`` waits for
    all of them and returns the first exception one raised (or None): a
    failing function does not panic the program. ``set_limit(n)`` caps the
    number of functions running at once.

    At the limit, Go's ``Go`` blocks its caller until a slot is free. Ours
    queues ``fn`` and returns an awaitable: ``await g.go(fn)`` is Go's
    blocking call (it returns once ``fn`` holds a slot; the caller waits in
    ``[chan send]``, as on Go's ``g.sem``), which is what throttles a
    producer loop; a plain ``g.go(fn)`` leaves ``fn`` queued and goes on.
    Each function that finishes hands its slot to the oldest queued one,
    which starts then in a new goroutine. Functions therefore start in
    ``go`` order, as Go's blocked callers would, and no goroutine exists for
    a function until it has a slot. ``wait`` waits for the queued functions
    too. ``try_go`` starts nothing while the running and queued functions
    fill the limit, as in Go.
    """

    __slots__ = ("_active", "_cancel", "_err", "_gen", "_limit", "_mu", "_queue", "_wg")

    def __init__(self) -> None:
        self._wg = WaitGroup()  # counts queued functions as well as running ones
        self._mu = threading.Lock()
        self._err: Exception | None = None  # guarded by _mu: the first exception
        self._limit = -1  # guarded by _mu: functions allowed to run at once; -1: no limit
        self._active = 0  # guarded by _mu: functions holding a slot (Go's len(g.sem))
        # guarded by _mu: functions waiting for a slot, in go order, each with the
        # channel its go's awaitable waits on (closed once it starts); not empty
        # only while the slots are all taken
        self._queue: deque[tuple[Callable[..., Any], tuple, Chan[None]]] = deque()
        # guarded by _mu: bumped by set_limit, so that a function frees a slot
        # only of the limit it took it under
        self._gen = 0
        self._cancel: Callable[[], None] | None = None  # set before any go, then read-only

    @classmethod
    def with_context(cls, parent: Context) -> tuple[ErrGroup, Context]:
        """A new group and a context derived from ``parent``, canceled the first
        time a function fails or ``wait`` returns, whichever comes first."""
        ctx, cancel = with_cancel(parent)
        g = cls()
        g._cancel = cancel
        return g, ctx

    async def wait(self) -> Exception | None:
        """Wait for every function started or queued by ``go``; return the first exception."""
        await self._wg.wait()
        if self._cancel is not None:
            self._cancel()
        with self._mu:
            return self._err

    def go(self, fn: Callable[..., Any], *args: Any) -> Awaitable[None]:
        """Run ``fn(*args)`` (async, plain or a coroutine object) in a new goroutine of the
        group, now if the limit allows it, else once a slot is free. Awaiting the
        result waits until then (Go's ``Go`` at the limit)."""
        fn, args = _gofunc(fn, args)
        # Before the function is queued: a goroutine may start it and finish at once.
        self._wg.add(1)
        mu = self._mu
        mu.acquire()
        limit = self._limit
        if limit < 0:
            gen = None
        elif self._active < limit:
            self._active += 1
            gen = self._gen
        else:
            started: Chan[None] = Chan()
            self._queue.append((fn, args, started))
            mu.release()
            return _slotwait(started)
        mu.release()
        self._start(fn, args, gen)
        return _DONE

    def try_go(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Like ``go``, but only if the limit allows it to start now; returns whether it did."""
        fn, args = _gofunc(fn, args)
        with self._mu:
            limit = self._limit
            full = 0 <= limit <= self._active  # a queue means the slots are all taken
            if limit < 0:
                gen = None
            elif not full:
                self._active += 1
                gen = self._gen
        if full:
            if fn is _await:
                _discard(args[0])
            return False
        self._wg.add(1)
        self._start(fn, args, gen)
        return True

    def set_limit(self, n: int) -> None:
        """Limit the group to ``n`` functions running at once (``n < 0``: no limit).

        Queued functions start as far as the new limit allows. Go forbids a new
        limit while functions hold slots of the old one, but not removing it.
        """
        n = _int(n, "ErrGroup.set_limit: n")
        with self._mu:
            if n >= 0 and self._active:
                raise RuntimeError(
                    f"errgroup: modify limit while {self._active} goroutines in the group "
                    "are still active"
                )
            # Functions still running keep their old slots, which count for nothing now.
            self._gen += 1
            self._limit = n
            q = self._queue
            k = len(q) if n < 0 else min(n, len(q))
            start = [q.popleft() for _ in range(k)]
            self._active = 0 if n < 0 else k
            gen = None if n < 0 else self._gen
        for fn, args, started in start:
            self._start(fn, args, gen)
            started.close()

    def _start(self, fn: Callable[..., Any], args: tuple, gen: int | None) -> None:
        """Start ``fn(*args)``, holding a slot of generation ``gen`` (None: no limit)."""
        if _isasync(fn):
            go(self._runAsync, fn, args, gen)
        else:
            go(self._runSync, fn, args, gen)

    async def _runAsync(self, fn: Callable[..., Any], args: tuple, gen: int | None) -> None:
        try:
            await fn(*args)
        except Exception as e:
            self._error(e)
        finally:
            self._done(gen)

    def _runSync(self, fn: Callable[..., Any], args: tuple, gen: int | None) -> Any:
        try:
            r = fn(*args)
        except Exception as e:
            self._error(e)
            r = None
        except BaseException:
            self._done(gen)
            raise
        if inspect.isawaitable(r):
            # Returning a coroutine turns this goroutine async (see _wgSync).
            return self._runAsync(_identity, (r,), gen)
        self._done(gen)
        return None

    def _error(self, e: Exception) -> None:
        with self._mu:
            first = self._err is None
            if first:
                self._err = e
        if first and self._cancel is not None:
            self._cancel()

    def _done(self, gen: int | None) -> None:
        if gen is not None:
            mu = self._mu
            mu.acquire()
            if gen == self._gen:
                if self._queue:
                    # The slot goes straight to the oldest queued function.
                    fn, args, started = self._queue.popleft()
                    mu.release()
                    self._start(fn, args, gen)
                    started.close()
                else:
                    self._active -= 1
                    mu.release()
            else:
                mu.release()
        self._wg.done()
