"""Goroutine scheduler (Go's ``runtime/proc.go``).

The scheduler's job is to distribute ready-to-run goroutines over worker
threads. The main concepts are:

G - goroutine.
M - worker thread, or machine.
P - processor, a resource that is required to execute user code.
    An M must have an associated P to run goroutines; it has none while it is
    idle, blocked in the poller, or in a system call.

g0 and mcall
------------
Every M's thread starts in ``mstart``, whose frame calls ``schedule``: that
frame is g0. ``schedule`` is a loop. It finds a G (``findRunnable``) and runs
it (``execute`` then ``gogo``, which is ``gp.coro.send(...)``). A goroutine
never calls ``schedule``. When it must block, yield or exit it performs an
``mcall``: it *yields* a request tuple ``(fn, ...)`` to g0, so its coroutine is
suspended and ``send`` returns on g0, at the same stack depth as always; g0
then calls ``fn(mp, gp, req)`` (``park_m``, ``gosched_m``, ``goexit0``, ...),
which returns the G to resume at once or None to schedule again. Go gets the
same effect by resetting SP to ``g0.sched.sp`` on every mcall; here the
coroutine frames live on the heap and g0's frame simply never recurses, so a
million switches leave g0's Python stack exactly as deep as the first did.

When a goroutine's function returns, ``send`` raises ``StopIteration`` right
at the ``gogo`` call site on g0. That site is this port's ``goexit``: Go fakes
a return address into ``goexit`` so that returning from the goroutine's
function calls ``goexit1 -> mcall(goexit0)``; in Python the return lands on g0
by construction, and g0 runs ``goexit0`` from there. Wrapping every coroutine
in an extra ``goexit`` coroutine would cost a frame per resume and ~200 bytes
per goroutine for the same behaviour.

Owning a P while user code runs: the lease
------------------------------------------
Go takes a P away from a running goroutine by preempting it, and from a system
call with a CAS on ``_Psyscall``. A Python coroutine cannot be stopped from
outside, so we treat *every* run of user code like a system call: before
``gogo`` the M deposits a token in its P's lease (``mp.lease``, one deque per
wiring of an M to a P), and after ``send`` returns it takes the token back.
Sysmon retakes a P by taking the token first. Whoever pops the token owns the
P. User code that needs its P (``goready``, ``newproc``) borrows the token for
the few bytecodes it needs: if it is gone, the P was retaken and the work goes
to the global queue instead, so a goroutine never lands on a P that its M no
longer owns. An M that finds its token gone on return to g0 has lost its P and
follows Go's ``exitsyscall0`` rules (``lostp``).

Worker thread parking/unparking
-------------------------------
Too few running Ms leave Ps unused; too many burn CPU looking for work that
is not there. The rule is Go's: wake another M only when a P is idle and no M
is *spinning* (out of local work and searching the global queue, the poller
and the other Ps). A spinning M that finds work passes the search on to a
fresh spinning M (``resetspinning``); one that gives up lowers ``nmspinning``
before it looks everywhere one last time, so work queued while it was giving
up is still found. Spinning Ms never outnumber half the busy Ps.

Under the GIL a second thread cannot add CPU, only a GIL handoff per switch.
So with the GIL, work that a running M puts on its own P (a new goroutine, a
readied one) wakes nobody: that M runs it as soon as its current goroutine
blocks. Extra Ps still matter, for the goroutines a blocked M leaves behind:
sysmon hands a P in a long system call, or held by a hog, to another M, and
work queued where no running M will find it (the global queue, from a thread
without a P) still wakes an M as in Go.

Deadlock
--------
``checkdead`` runs whenever an M goes idle, counting Ms like Go: if no M is
running, every user goroutine is waiting, and no P has a timer, nothing can
ever make progress.
"""

from __future__ import annotations

import inspect
import os
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable
from itertools import chain, islice
from types import FunctionType, MethodType
from typing import Any, NoReturn, TypeVar

from . import trace as _trace
from .runq import (
    globrunqget,
    globrunqgetbatch,
    globrunqput,
    runqempty,
    runqget,
    runqput,
    runqputslow,
    runqsteal,
    stealOrder,
)
from .runtime2 import (
    GFREE_LOCAL_MAX,
    GFREE_LOCAL_REFILL,
    GLOBAL_FAIRNESS_TICK,
    GOID_CACHE_BATCH,
    LOCAL_RUNQ_SIZE,
    MAX_GOMAXPROCS,
    MAX_MCOUNT,
    SG_C,
    SG_G,
    STEAL_TRIES,
    G,
    M,
    P,
    _Gdead,
    _Grunnable,
    _Grunning,
    _Gsyscall,
    _Gwaiting,
    _Pdead,
    _Pgcstop,
    _Pidle,
    _Prunning,
    _Psyscall,
    sched,
    tls,
    waitReasonZero,
)
from .timers import Timer, Timers
from .trace import narrated

nanotime = time.monotonic
T = TypeVar("T")

# An async def, or a generator made awaitable by types.coroutine (Chan.send is one).
CO_COROUTINE = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE

poller: Any = None  # the runtime's netpoll.Poller: made by schedinit, closed when it stops


class Goexit(BaseException):
    """Raised by ``gosched.goexit()``: ends the goroutine after its ``finally`` blocks."""

    __module__ = "gosched"


class _Fatal(RuntimeError):
    """What ends a program with ``fatal error: ...`` in Go.

    ``dump`` holds the goroutine dump, in Go's format. (Not a note: a note
    is part of what ``pytest.raises(match=...)`` matches.)
    """

    def __init__(self, message: str, dump: str = "") -> None:
        super().__init__(message)
        self.dump = dump


class Deadlock(_Fatal):
    """The runtime found that no goroutine can ever run again."""

    __module__ = "gosched"  # as users name it, in tracebacks too


class FatalError(_Fatal):
    """An unrecoverable runtime error (Go's ``fatal``/``throw``)."""

    __module__ = "gosched"


_newobject = object.__new__
_EXIT = object()  # returned by lostp: this M must leave its g0 loop

# ----------------------------------------------------------------------------
# Goroutine creation: newproc, newproc1, gfget, gfput
# ----------------------------------------------------------------------------


def go(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Start ``fn(*args, **kwargs)`` in a new goroutine (Go's ``go`` statement)."""
    mp = tls.m
    if mp is None or mp.dead:
        if mp is not None and not mp.extra:
            raise RuntimeError("go: the gosched runtime has stopped")
        mp = needm("go")
    if kwargs or type(fn) is not FunctionType or not fn.__code__.co_flags & CO_COROUTINE:
        if fn is None:
            fatal("go of nil func value")
        coro = makecoro(fn, args, kwargs)
    else:
        coro = fn(*args)  # makecoro's common case: an async def function
    lease = mp.lease
    gp = mp.curg
    if gp is None or not lease or _trace.sink is not None:
        newproc(mp, fn, coro, args, kwargs, sys._getframe(1))
        return
    # newproc's common case, inlined: a goroutine that holds its P borrows it.
    try:
        tok = lease.pop()
    except IndexError:  # retaken just now
        newproc(mp, fn, coro, args, kwargs, sys._getframe(1))
        return
    pp = mp.p
    # newproc1's common case, inlined: an async goroutine on a G from the P's
    # free list, or a new one when both free lists are empty (a loop of go
    # statements), numbered from the P's goid cache.
    free = pp.gFree
    fresh = None
    if free:
        newg = free.pop()
    elif sched.gFree:
        newg = gfget(pp) or malg()
    else:
        # malg without G.__init__ (a type call and a Python frame): the fields
        # set below are not set twice. Every other field of G.__init__ is set
        # here; test_go_makes_gs_as_complete_as_G_does keeps the two in step.
        fresh = newg = _newobject(G)
        newg.param = newg.lockedm = newg.timer = None
        newg.waitreason = waitReasonZero
        newg.waitsince = 0.0
        newg.sysg = False
    newg.fn = fn
    if coro is None:
        newg.coro = None
        newg.args = (args, kwargs)
    else:
        newg.coro = coro
        newg.args = None
    goid = pp.goidcache
    if goid == pp.goidcacheend:
        goid = goidrefill(pp)
    pp.goidcache = goid + 1
    newg.goid = goid
    newg.parentGoid = gp.goid
    frame = sys._getframe(1)
    newg.gopc = frame.f_code
    newg.gopcoff = frame.f_lasti
    newg.atomicstatus = _Grunnable
    if fresh is not None:  # published complete: dumps read allgs from other threads
        sched.allgs.append(fresh)
    # runqput(pp, newg, True), inlined for a loop of go statements: each new G
    # takes runnext and kicks the previous one to the tail of the queue.
    rn = pp.runnext
    try:
        old = rn.pop()
    except IndexError:
        rn.append(newg)
    else:
        rn.append(newg)
        if len(pp.runq) < LOCAL_RUNQ_SIZE:
            pp.runq.append(old)
        else:
            runqputslow(pp, old)
    lease.append(tok)
    if sched.npidle and not sched.nmspinning and sched.mainStarted and not sched.gil:
        wakep()


@narrated
def newproc(mp: M, fn: Any, coro: Any, args: tuple, kwargs: dict, frame: Any) -> G:
    """Create a G running ``fn`` (its ``coro``, made by ``makecoro``) and put it
    in ``runnext`` of the current P.

    The coroutine is made before the P is borrowed: bad arguments raise in
    the caller and leave the lease alone.
    """
    callergp = mp.curg
    pp, tok = borrowp(mp)
    newg = newproc1(fn, coro, args, kwargs, callergp, pp, mp if pp is None else pp, frame)
    if pp is None:  # numbered from the M's goid cache: no sched.lock on this path
        if not globrunqputnop(mp, newg):
            raise RuntimeError("go: the gosched runtime has stopped")
        if sched.mainStarted:
            wakep()
        return newg
    runqput(pp, newg, True)
    if tok is not None:
        mp.lease.append(tok)
    if sched.npidle and not sched.nmspinning and sched.mainStarted and not sched.gil:
        wakep()
    return newg


def globrunqputnop(mp: M | None, gp: G) -> bool:
    """Put ``gp`` on the global queue from ``mp``, which has no P; False if its runtime stopped.

    Without sched.lock: under the GIL a P-less hog that takes the lock for
    every goroutine it starts or wakes, and the M running on its old P, fall
    into a lock convoy (each wakes the other through the lock and then waits
    for the GIL; spawn ran 1.5 times slower). The append is one atomic deque
    operation; only takers hold the lock. An M that gives up its P looks at
    the global queue after it raised npidle (findRunnable, handoffp), and the
    caller reads npidle after the append (wakep): one of the two sees the other.
    """
    runq = sched.runq  # before the check: a later run has a queue of its own
    if mp is not None and mp.dead:
        if wakerstopped(mp):
            return False
        runq = sched.runq
    runq.append(gp)
    return True


def wakerstopped(mp: M) -> bool:
    """Is dead ``mp`` waking a goroutine of its own stopped run (to be dropped)?

    While its run is stopping, what it wakes belongs to that run too. Once a
    later run is going, ``mp`` runs code the stop could not interrupt (user
    code on its own thread) and what it wakes belongs to the new run, since
    the old run's goroutines were all closed: that goes on the new run's
    queue, as from any thread outside the runtime.
    """
    return sched.exiting or not sched.running


def borrowp(mp: M) -> tuple[P | None, Any]:
    """The P that runtime code called from a goroutine may queue work on, and the
    lease token it took to hold it (put it back with ``mp.lease.append``).

    On g0 the P is the M's outright (token None). From user code the P is
    borrowed (see goready); with no lease, sysmon retook it while the goroutine
    ran, and it may take an idle one back. ``(None, None)``: no P.
    """
    if mp.curg is None:
        return mp.p, None
    if mp.lease or (sched.npidle and exitsyscallfast_pidle(mp)):
        try:
            return mp.p, mp.lease.pop()
        except IndexError:  # retaken just now
            pass
    return None, None


@narrated
def newproc1(fn: Any, coro: Any, args: tuple, kwargs: dict, callergp: G | None,
             pp: P | None, ids: P | M, frame: Any) -> G:
    """Allocate (or reuse) a G for ``fn``; it comes out ``_Grunnable``.

    ``go`` inlines the common case (an async goroutine from a goroutine that
    holds its P): keep the two in step.

    ``pp`` is the caller's P (None if it has none): its free Gs are used
    without a lock because only the P's owner touches them. ``ids`` numbers
    the G from its goid cache: the P, or without one the M (owner-only too).
    """
    free = pp.gFree if pp is not None else None
    if _trace.sink is not None:  # a trace always shows gfget
        newg = gfget(pp) or malg()
    elif free:
        newg = free.pop()
    elif sched.gFree:
        newg = gfget(pp) or malg()
    else:
        # Both free lists are empty, as for a loop of go statements: gfget
        # could only come back empty-handed. The read is racy; at worst a G
        # freed just now is missed and a new G made.
        newg = malg()
    newg.fn = fn
    if coro is None:
        newg.args = (args, kwargs)
    else:
        newg.coro = coro
    goid = ids.goidcache
    if goid == ids.goidcacheend:
        goid = goidrefill(ids)
    ids.goidcache = goid + 1
    newg.goid = goid
    newg.parentGoid = callergp.goid if callergp is not None else 0
    if frame is not None:
        newg.gopc = frame.f_code
        newg.gopcoff = frame.f_lasti
    newg.atomicstatus = _Grunnable
    return newg


def goidrefill(ids: P | M) -> int:
    """Refill an exhausted goid cache from the global generator, a batch at a
    time (so main is goroutine 1); return the first id of the batch."""
    goid = goidreserve(GOID_CACHE_BATCH)
    ids.goidcacheend = goid + GOID_CACHE_BATCH
    return goid


def goidreserve(n: int) -> int:
    """Reserve ``n`` goroutine ids; return the first (Go: an atomic add on ``sched.goidgen``).

    The lock is a leaf of its own, not sched.lock: a P-less ``go`` takes it
    every 16 goroutines and must not queue behind the scheduler (globrunqputnop).
    """
    with sched.goidlock:
        goid = sched.goidgen + 1
        sched.goidgen += n
    return goid


def malg() -> G:
    """A brand-new G, published in ``allgs`` (Go's ``malg`` + ``allgadd``)."""
    newg = G()
    sched.allgs.append(newg)
    return newg


def makecoro(fn: Any, args: tuple, kwargs: dict) -> Any:
    """The coroutine an async goroutine will run, or None for a sync goroutine."""
    if fn is None:
        raise TypeError("go of nil func value")
    tp = type(fn)
    if tp is FunctionType:
        if fn.__code__.co_flags & CO_COROUTINE:
            return fn(*args, **kwargs)
        return None
    if inspect.iscoroutine(fn) or isinstance(fn, types.GeneratorType):
        if args or kwargs:
            fn.close()  # it will never run: no "never awaited" warning on top of the error
            raise TypeError("go: arguments given with a coroutine object")
        return fn
    if tp is MethodType:
        func = fn.__func__
        code = getattr(func, "__code__", None)
        if code is not None and code.co_flags & CO_COROUTINE:
            return fn(*args, **kwargs)
        if getattr(func, "_returnsgen", False):  # a buffered channel's send
            return startlater(fn, args, kwargs)
        return None
    if not callable(fn):
        raise TypeError(f"go: {fn!r} is not callable")
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__):
        return fn(*args, **kwargs)
    return None


@types.coroutine
def startlater(fn: Any, args: tuple, kwargs: dict) -> Any:
    """The body of ``go(ch.send, v)`` where ``send`` is a plain function (a
    buffered channel's sends at once when it fits): called when the goroutine
    first runs, as ``go func() { ch <- v }()`` sends then, not at ``go``."""
    return (yield from fn(*args, **kwargs))


@narrated
def gfget(pp: P | None) -> G | None:
    """Get a dead G from ``pp``'s free list, refilling it from the global list."""
    if pp is None:
        # Without a P (a hog sysmon retook, a foreign thread) only if the global
        # list's lock is free: waiting behind the Ps costs more than a malg.
        if not sched.gFree or not sched.gFreeLock.acquire(False):
            return None
        try:
            return sched.gFree.pop() if sched.gFree else None
        finally:
            sched.gFreeLock.release()
    free = pp.gFree
    if not free:
        if not sched.gFree:
            return None
        with sched.gFreeLock:
            glob = sched.gFree
            while glob and len(free) < GFREE_LOCAL_REFILL:
                free.append(glob.pop())
        if not free:
            return None
    return free.pop()


@narrated
def gfput(pp: P | None, gp: G) -> None:
    """Put dead ``gp`` on ``pp``'s free list; move half to the global list when too long."""
    if pp is None:
        with sched.gFreeLock:
            sched.gFree.append(gp)
        return
    free = pp.gFree
    free.append(gp)
    if len(free) >= GFREE_LOCAL_MAX:
        with sched.gFreeLock:
            n = len(free) - GFREE_LOCAL_REFILL
            sched.gFree.extend(free[:n])
            del free[:n]


def gdestroy(mp: M, gp: G) -> None:
    """Drop the references a dead G holds (Go's ``gdestroy``), then ``gfput`` it.

    ``timer`` stays: the next goroutine on this G reuses it.
    """
    gp.atomicstatus = _Gdead
    gp.coro = gp.fn = gp.args = gp.param = gp.lockedm = gp.gopc = None
    gp.waitreason = waitReasonZero
    if mp.lockedg is gp:
        mp.lockedg = None
    gfput(mp.p, gp)


# ----------------------------------------------------------------------------
# g0: mstart, schedule, findRunnable, execute, gogo
# ----------------------------------------------------------------------------


def mstart(mp: M) -> None:
    """The bottom frame of every M's thread (Go's ``mstart0``/``mstart1``/``mexit``)."""
    tls.m = mp
    mp.ident = threading.get_ident()
    mp.g0depth = _trace.stackdepth()
    try:
        if mp.mstartfn is not None:
            mp.mstartfn(mp)
        else:
            if mp.nextp is not None:
                acquirep(mp, mp.nextp)
                mp.nextp = None
            schedule(mp)
    except BaseException as e:  # a bug in the runtime itself: stop, never hang
        if not mp.dead:
            exitRuntime(("fatal", e, None))
        if mp is not sched.m0:
            raise
    finally:
        if mp is not sched.m0:
            mexit(mp)


def mexit(mp: M) -> None:
    """The M's thread ends. An M of a stopped runtime must not touch the next one's counts."""
    tls.m = None
    with sched.lock:  # dead is checked under the lock that the runtime's exit sets it under
        if mp.dead:
            mp.exiting = True
            return
        sched.nmfreed += 1
        mp.exiting = True
        if not sched.exiting:
            checkdead()


@narrated
def schedule(mp: M) -> None:
    """g0's loop: find a runnable goroutine and run it, forever.

    Everything below runs at one fixed stack depth. ``execute`` and ``gogo``
    are inlined because they run on every switch; ``tryWakeP`` is gone because
    it only serves Go's GC workers and trace reader.
    """
    from ..chan import chanparkcommit  # a local: it is compared on every park

    s = _trace.sink  # fixed for this M's life; None unless tracing
    while True:
        pp = mp.p
        # findRunnable's first answer, inlined: the G in runnext, else the head
        # of the local queue, when nothing else asks for attention. Tracing
        # always takes the full path.
        if (pp is not None and s is None and (pp.runnext or pp.runq) and not pp.preempt
                and not pp.timers.heap and (pp.schedtick % GLOBAL_FAIRNESS_TICK or not sched.runq)):
            try:
                if pp.runnext:
                    gp = pp.runnext.pop()  # inherits the time slice
                else:
                    gp = pp.runq.popleft()
                    pp.schedtick += 1
            except IndexError:  # a thief took it
                continue
        else:
            gp, inheritTime = findRunnable(mp)
            if gp is None:
                return
            if mp.spinning:
                resetspinning(mp)
            pp = mp.p
            if pp is not None and not inheritTime:
                pp.schedtick += 1
        while True:
            # execute(gp): the G is ours until it mcalls back.
            mp.curg = gp
            if s is not None:
                s.event("execute", f"(G{gp.goid})", _trace.stackdepth(), ong0=True)
                s.event("gogo", f"(G{gp.goid}): coro.send", _trace.stackdepth(), g=gp, ong0=True)
            coro = gp.coro
            lease = mp.lease
            if coro is not None:
                gp.atomicstatus = _Grunning
                gp.waitsince = 0.0  # a block sysmon stamped is over
                lease.append(mp)  # from here until we pop it back, the P may be retaken
                try:
                    req = coro.send(gp.param)  # gogo
                except StopIteration as e:  # the goroutine returned: this is goexit
                    req = (goexit0, e.value) if e.value is not None else _GOEXIT
                except BaseException as e:
                    req = (gopanic_m, e)
            else:
                req = syncgogo(mp, pp, gp, lease)
                if req is None:
                    break
            try:
                lease.pop()
            except IndexError:
                if s is not None:
                    mcallnarrate(s, req[0], gp, req)
                gp = lostp(mp, gp, req, lease)
                if gp is _EXIT:
                    return
                if gp is None:
                    break
                pp = mp.p
                continue
            # Back on g0 for good: curg is set exactly while user code may run,
            # which is what lets the runtime's exit tell the two apart.
            mp.curg = None
            if mp.dead:  # the runtime stopped while gp ran: never resume it
                mp.p = None
                closeg(gp, req)
                return
            if coro is None and pp is not None:
                exitsyscall_g0(mp, pp, gp)
            try:
                fn = req[0]
            except (TypeError, LookupError):  # not a request of ours: see foreignawait_m
                fn = foreignawait_m
            if s is not None:
                mcallnarrate(s, fn, gp, req)
            elif fn is park_m:
                # park_m inlined: every blocking channel operation comes here.
                gp.waitreason = req[3]
                gp.atomicstatus = _Gwaiting
                unlockf = req[1]
                if unlockf is chanparkcommit:  # inlined too: publish the G, unlock the channel
                    sg = req[2]
                    sg[SG_G] = gp
                    sg[SG_C]._lock.append(True)
                    break
                if unlockf is None or unlockf(gp, req[2]):
                    break
                gp.atomicstatus = _Grunnable
                continue
            elif fn is goexit0 and coro is not None and gp is not sched.main_g:
                # goexit0 inlined for an async goroutine that returned (gdestroy
                # without the fields only a sync G sets), then gfput's common case.
                gp.atomicstatus = _Gdead
                gp.coro = gp.fn = gp.param = gp.gopc = None
                gp.waitreason = waitReasonZero
                if len(pp.gFree) < GFREE_LOCAL_MAX - 1:
                    pp.gFree.append(gp)
                else:  # this one fills the list: gfput moves half of it out
                    gfput(pp, gp)
                break
            if type(fn) is not FunctionType:  # a tuple, but not one of ours
                fn = foreignawait_m
            gp = fn(mp, gp, req)  # mcall(fn): the G to resume at once, or None
            if gp is None:
                break


def mcallnarrate(s: Any, fn: Any, gp: G, req: tuple) -> None:
    """Tracing only: say what brought ``gp`` back to g0, by Go's names."""
    depth = _trace.stackdepth() - 1
    if fn is goexit0:
        s.event("goexit1", f"G{gp.goid}'s function returned into goexit", depth, ong0=True)
    elif fn is park_m:
        s.event("gopark", f"G{gp.goid} [{req[3] or 'waiting'}]", depth, ong0=True)
    name = fn.__name__ if type(fn) is FunctionType else foreignawait_m.__name__
    s.event(f"mcall({name})", f"(G{gp.goid})", depth, ong0=True)


def syncgogo(mp: M, pp: P | None, gp: G, lease: deque) -> tuple | None:
    """gogo for a sync goroutine: its body runs here, as one long system call."""
    if mp is sched.m0 and gp is not sched.main_g:
        handoffsyncg(mp, gp)
        return None
    entersyscall_g0(mp, pp, gp)
    if pp is not None:  # only an M that holds a P has a lease to put up
        lease.append(mp)
    return runsync(gp)


@narrated
def findRunnable(mp: M) -> tuple[G | None, bool]:
    """Find a runnable goroutine to execute, in Go's order; block if there is none.

    Returns ``(gp, inheritTime)``; ``gp`` is None when this M must leave its
    loop (the runtime is stopping). Everything that is rarely true (this M is
    dead or has a handed-over G, there is no P, the world is stopping, sysmon
    asked for preemption) sets ``pp.preempt`` or leaves ``mp.p`` empty, so the
    common case pays for one test.
    """
    while True:  # top
        pp = mp.p
        sliceover = False
        if pp is None or pp.preempt:
            if mp.dead:
                return None, False
            if mp.nextg is not None:
                gp = mp.nextg
                mp.nextg = None
                return gp, False
            if pp is None:
                if not getp(mp):
                    return None, False
                continue
            if sched.gcwaiting:
                if not gcstopm(mp):
                    return None, False
                continue
            # sysmon says the time slice is over: the global queue goes first,
            # then (below) the head of the local one.
            pp.preempt = False
            sliceover = True
            if sched.runq:
                with sched.lock:
                    gp = globrunqget()
                if gp is not None:
                    return gp, False
        now = pollUntil = 0.0
        if pp.timers.heap:
            now, pollUntil, _ = pp.timers.check()
        if sliceover and pp.runnext:
            # The G in runnext would inherit the slice that is over: it goes to
            # the tail, even one a timer has just readied there. (Goroutines that
            # keep sleeping a microsecond are always due again in Python, and
            # would take runnext in turn for ever, starving the queue.)
            try:
                runqput(pp, pp.runnext.pop(), False)
            except IndexError:
                pass

        # Fairness: a G on the global queue must not wait forever behind a
        # pair of goroutines that keep respawning each other locally.
        if not pp.schedtick % GLOBAL_FAIRNESS_TICK and sched.runq:
            with sched.lock:
                gp = globrunqget()
            if gp is not None:
                return gp, False

        # runqget(pp), inlined: runnext first (it inherits the time slice).
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

        if sched.runq:
            with sched.lock:
                gp = globrunqgetbatch(pp, LOCAL_RUNQ_SIZE // 2)
            if gp is not None:
                return gp, False

        # Poll the network without blocking, if anyone waits on it.
        if poller is not None and poller.waiters and sched.lastpoll != 0:
            ready = netpollnow()
            if ready:
                gp = ready.pop()
                gp.atomicstatus = _Grunnable
                injectglist(ready)
                return gp, False

        # Spinning Ms: steal from other Ps. Limit the number of spinning Ms to
        # half the number of busy Ps, so idle CPUs are not burnt on searching.
        if mp.spinning or 2 * sched.nmspinning < sched.gomaxprocs - sched.npidle:
            if not mp.spinning:
                becomeSpinning(mp)
            gp, inheritTime, tnow, w, newWork = stealWork(mp, pp, now)
            if gp is not None:
                return gp, inheritTime
            if newWork:
                continue
            now = tnow
            if w and (pollUntil == 0 or w < pollUntil):
                pollUntil = w

        # Nothing to do: give up the P.
        sched.lock.acquire()
        if sched.gcwaiting or mp.nextg is not None:
            sched.lock.release()
            continue
        if sched.runq:
            gp = globrunqgetbatch(pp, LOCAL_RUNQ_SIZE // 2)
            sched.lock.release()
            return gp, False
        if not runqempty(pp):
            sched.lock.release()
            continue
        if not mp.spinning and sched.needspinning:
            sched.needspinning = 0
            mp.spinning = True
            sched.nmspinning += 1
            sched.lock.release()
            continue
        releasep(mp)
        pidleput(pp)
        # A P-less M may have appended after we looked, without the lock, and
        # read npidle before we raised it: look once more (see globrunqputnop).
        if sched.runq:
            pidleget()  # pp again: the idle list is a stack
            acquirep(mp, pp)
            gp = globrunqgetbatch(pp, LOCAL_RUNQ_SIZE // 2)
            sched.lock.release()
            return gp, False
        sched.lock.release()

        # The delicate dance: we dropped nmspinning, so a submitter may have
        # decided not to wake anybody; re-check every source of work.
        wasSpinning = mp.spinning
        if mp.spinning:
            with sched.lock:
                mp.spinning = False
                sched.nmspinning -= 1
                if sched.runq:
                    pp2 = pidlegetSpinning()
                    if pp2 is not None:
                        acquirep(mp, pp2)
                        mp.spinning = True
                        sched.nmspinning += 1
                        gp = globrunqgetbatch(pp2, LOCAL_RUNQ_SIZE // 2)
                        return gp, False
            pp2 = checkRunqsNoP()
            if pp2 is not None:
                acquirep(mp, pp2)
                becomeSpinning(mp)
                continue
            pollUntil = checkTimersNoP(pollUntil)

        # Block in the poller until the next timer (or forever if fds are
        # waited on), unless another M already does.
        if poller is not None and (poller.waiters or pollUntil) and takepoll():
            now = nanotime()
            sched.pollUntil = pollUntil
            delay = -1.0 if not pollUntil else max(pollUntil - now, 0.0)
            ready = poller.netpoll(delay)
            sched.pollUntil = 0.0
            sched.lastpoll = nanotime()
            with sched.lock:
                pp2 = None if sched.gcwaiting else pidleget()
                if pp2 is None and ready:
                    for gp in ready:
                        gp.atomicstatus = _Grunnable
                        globrunqput(gp)
                    startIdle(len(ready))
            if pp2 is None:
                continue  # getp at the top parks us until a P is free
            acquirep(mp, pp2)
            if ready:
                gp = ready.pop()
                gp.atomicstatus = _Grunnable
                injectglist(ready)
                return gp, False
            if wasSpinning:
                becomeSpinning(mp)
            continue
        if pollUntil and poller is not None:
            pollerUntil = sched.pollUntil
            if sched.lastpoll == 0 and (pollerUntil == 0 or pollerUntil > pollUntil):
                poller.netpollBreak()
        if not stopm(mp):
            return None, False


def takepoll() -> bool:
    """Become the M blocked in the poller (Go's ``sched.lastpoll.Swap(0) != 0``).

    An M that sleeps there for timers alone counts as idle for checkdead, so
    it checks for deadlock as it goes, as a stopping M does: the timers it
    would sleep for may have been stopped since it looked, or be Timer and
    Ticker channels nobody waits on (which Go 1.23 keeps out of its heaps).
    """
    with sched.lock:
        if sched.lastpoll == 0 or sched.gcwaiting:
            return False
        sched.lastpoll = 0
        if poller is not None and not poller.waiters:
            checkdead()
        return True


def netpollnow() -> list[G]:
    """A non-blocking poll, from one M at a time."""
    assert poller is not None
    if not poller.pollingNet.acquire(False):
        return []
    try:
        return poller.netpoll(0)
    finally:
        poller.pollingNet.release()


def stealWork(mp: M, pp: P, now: float) -> tuple[G | None, bool, float, float, bool]:
    """Steal a G or run another P's timers; ``newWork`` asks the caller to start over."""
    pollUntil = 0.0
    ranTimer = False
    allp = sched.allp
    for i in range(STEAL_TRIES):
        stealTimersOrRunNextG = i == STEAL_TRIES - 1
        for idx in stealOrder.start():
            if sched.gcwaiting:
                return None, False, now, pollUntil, True
            p2 = allp[idx]
            if p2 is pp:
                continue
            # Timers and runnext only on the last pass: they are the owner's
            # to handle if it is about to anyway.
            if stealTimersOrRunNextG and p2.timers.heap:
                tnow, w, ran = p2.timers.check(now)
                now = tnow
                if w and (pollUntil == 0 or w < pollUntil):
                    pollUntil = w
                if ran:
                    gp, inheritTime = runqget(pp)
                    if gp is not None:
                        return gp, inheritTime, now, pollUntil, False
                    ranTimer = True
            if p2.status != _Pidle:
                gp = runqsteal(pp, p2, stealTimersOrRunNextG)
                if gp is not None:
                    return gp, False, now, pollUntil, False
    return None, False, now, pollUntil, ranTimer


def checkRunqsNoP() -> P | None:
    """After dropping our P: is there work on some P? Then take an idle P to steal it."""
    for p2 in sched.allp:
        if p2.status != _Pidle and not runqempty(p2):
            with sched.lock:
                pp = pidlegetSpinning()
            return pp
    return None


def checkTimersNoP(pollUntil: float) -> float:
    for p2 in sched.allp:
        w = p2.timers.wakeTime()
        if w and (pollUntil == 0 or w < pollUntil):
            pollUntil = w
    return pollUntil


def getp(mp: M) -> bool:
    """A P-less M wants a P: take an idle one, or park until given one."""
    with sched.lock:
        if mp.dead:
            return False
        pp = None if sched.gcwaiting or gilbusy() else pidleget()
    if pp is not None:
        acquirep(mp, pp)
        return True
    return stopm(mp)


def gilbusy() -> bool:
    """Under the GIL, whether another M runs goroutines already. Requires ``sched.lock``.

    A P-less M (its P was retaken, or it comes back from a system call) that
    took an idle P then would only share the GIL with that M, and both would
    run slower for it (releasing a million parked goroutines: 2.5 times).
    It leaves the P idle instead: whoever queues work no running M will take
    starts an M for it, as ever.
    """
    return sched.gil and any(pp.status == _Prunning for pp in sched.allp)


# ----------------------------------------------------------------------------
# Blocking and waking: gopark/park_m, goready, gosched_m, goexit0
# ----------------------------------------------------------------------------


def park_m(mp: M, gp: G, req: tuple) -> G | None:
    """Park ``gp`` (``req = (park_m, unlockf, lock, reason)``); g0's half of ``gopark``.

    ``unlockf(gp, lock)`` runs after the G is marked waiting: it is what makes
    the G findable by its wakers (and releases their lock). If it returns
    False, the G is resumed at once.
    """
    _, unlockf, lock, reason = req
    gp.waitreason = reason
    gp.atomicstatus = _Gwaiting
    if unlockf is not None and not unlockf(gp, lock):
        gp.atomicstatus = _Grunnable
        return gp
    return None


@narrated
def goready(gp: G) -> None:
    """Make waiting ``gp`` runnable: into ``runnext`` of the current P (Go's ``ready``).

    From user code the P is borrowed through its lease; if the lease is gone
    the P was retaken while this goroutine ran, and ``gp`` goes to the global
    queue instead of a P this M no longer owns.
    """
    if gp.lockedm is not None:
        readylocked(gp)
        return
    gp.atomicstatus = _Grunnable
    mp = tls.m
    if mp is not None:
        if mp.curg is not None:
            lease = mp.lease
            try:
                tok = lease.pop()
            except IndexError:
                tok = None
                if sched.npidle and exitsyscallfast_pidle(mp):
                    lease = mp.lease
                    try:
                        tok = lease.pop()
                    except IndexError:  # retaken again at once
                        pass
            if tok is not None:
                rn = mp.p.runnext
                if not rn:
                    rn.append(gp)  # runqput's common case, inlined
                else:
                    runqput(mp.p, gp, True)
                lease.append(tok)
                if sched.npidle and not sched.nmspinning and not sched.gil:
                    wakep()
                return
        elif mp.p is not None:  # on g0, which owns its P outright
            runqput(mp.p, gp, True)
            if sched.npidle and not sched.nmspinning and not sched.gil:
                wakep()
            return
    # No P. If the runtime stopped, a goroutine of it woke another: both are gone.
    if globrunqputnop(mp, gp):
        wakep()


def readyglist(glist: list[G]) -> None:
    """``goready`` for every G of ``glist``, in order, in one step (``close`` wakes them all).

    The end state is exactly that of a goready loop: the last G in
    ``runnext``; each earlier one (and the G it displaced from ``runnext``)
    kicked to the tail of the local queue; and whenever that queue is full,
    its first half and the kicked G moved to the global queue (runqputslow).
    What it saves is the per-G borrow of the P and a sched.lock per overflow
    instead of per G. The list may be huge (a million parked goroutines): it
    is not copied.
    """
    locked = []
    for gp in glist:
        if gp.lockedm is None:
            gp.atomicstatus = _Grunnable
        else:
            locked.append(gp)
    if locked:  # those wait on their own M: wake them there
        # Split first: a woken sync goroutine may exit at once, and its dead G
        # (lockedm None again) must not end up in a run queue.
        glist = [gp for gp in glist if gp.lockedm is None]
        for gp in locked:
            readylocked(gp)
    if not glist:
        return
    mp = tls.m
    pp, tok = (None, None) if mp is None else borrowp(mp)
    if pp is None:  # no P: all of them to the global queue, in order
        for i in range(0, len(glist), LOCAL_RUNQ_SIZE):
            if not globrunqputbatch(mp, glist[i:i + LOCAL_RUNQ_SIZE]):
                return
        wakep()
        return
    rn = pp.runnext
    try:
        kicked = (rn.pop(),)  # kicked out by the first G of the list
    except IndexError:
        kicked = ()
    rn.append(glist[-1])
    rest = chain(kicked, islice(glist, len(glist) - 1))
    q = pp.runq
    overflow = []
    while True:
        q.extend(islice(rest, LOCAL_RUNQ_SIZE - len(q)))
        gp = next(rest, None)
        if gp is None:
            break
        # runqputslow: the queue is full; half of it and gp go global.
        for _ in range(len(q) // 2):
            try:
                overflow.append(q.popleft())
            except IndexError:  # a thief took the rest
                break
        overflow.append(gp)
        if len(overflow) >= LOCAL_RUNQ_SIZE:  # sched.lock is never held for long
            if not globrunqputbatch(mp, overflow):
                break
            overflow = []
    if tok is not None:
        mp.lease.append(tok)
    if overflow:
        globrunqputbatch(mp, overflow)
    if sched.npidle and not sched.nmspinning and not sched.gil:
        wakep()


def globrunqputbatch(mp: M | None, batch: list[G]) -> bool:
    """Append ``batch`` to the global queue; False if ``mp``'s runtime stopped."""
    with sched.lock:
        if mp is not None and mp.dead and wakerstopped(mp):
            return False
        sched.runq.extend(batch)
    return True


def readylocked(gp: G) -> None:
    """Wake a G that waits on its own M (a sync goroutine or a foreign thread in block_on)."""
    mp = gp.lockedm
    assert mp is not None
    with sched.lock:
        if not mp.blocked:
            return
        mp.blocked = False
        gp.atomicstatus = _Grunnable
        if mp.idlelocked:
            mp.idlelocked = False
            sched.nmidlelocked -= 1
    mp.park.release()


def gosched_m(mp: M, gp: G, req: tuple) -> None:
    """``runtime.Gosched``: to the tail of the global queue, then schedule."""
    gp.atomicstatus = _Grunnable
    with sched.lock:
        globrunqput(gp)
    wakep()
    return None


def goexit0(mp: M, gp: G, req: tuple) -> None:
    """The goroutine returned: destroy it, recycle the G, schedule."""
    if gp is sched.main_g:
        if sched.maingoexit:  # its Goexit was caught, but it is one all the same (Schedt)
            sched.main_g = None
        else:
            exitRuntime(("return", req[1], None))
        gdestroy(mp, gp)
        return None
    gdestroy(mp, gp)
    return None


_GOEXIT = (goexit0, None)  # schedule's request for a goroutine that returned None, made once


def foreignawait(req: Any) -> TypeError:
    return TypeError(
        f"gosched: await of something that is not a gosched operation (it yielded {req!r:.60}); "
        "awaitables of asyncio, trio and other event loops need their own loop")


def foreignawait_m(mp: M, gp: G, req: Any) -> None:
    """The goroutine awaited something that yielded what no gosched operation does
    (an asyncio future, say): raise a TypeError at that ``await``. Catching it and
    awaiting on is not supported: the goroutine then panics with it all the same."""
    err = foreignawait(req)
    coro = gp.coro
    mp.curg = gp  # its handlers run as the goroutine: goid, stack and go see it
    gp.atomicstatus = _Grunning
    try:
        coro.throw(err)
    except StopIteration as e:
        req = (goexit0, e.value)
    except BaseException as e:
        req = (gopanic_m, e)
    else:
        coro.close()
        req = (gopanic_m, err)
    mp.curg = None  # back on g0 for good
    return req[0](mp, gp, req)


def gopanic_m(mp: M, gp: G, req: tuple) -> None:
    """An exception left the goroutine: Goexit ends it cleanly, anything else is a panic."""
    exc = req[1]
    if isinstance(exc, Goexit):
        if gp is sched.main_g:
            sched.main_g = None  # the program now ends when checkdead says so
        gdestroy(mp, gp)
        return None
    from .traceback import addpanicnote

    addpanicnote(gp, exc)
    gp.atomicstatus = _Gdead
    exitRuntime(("panic", exc, gp))
    return None


def exitsyscall0_m(mp: M, gp: G, req: tuple) -> G:
    """The goroutine's syscall ended without its P: keep running it if a P is found."""
    return gp


# ----------------------------------------------------------------------------
# Ms and Ps: acquirep, releasep, startm, stopm, wakep, handoffp
# ----------------------------------------------------------------------------


def acquirep(mp: M, pp: P) -> None:
    """Wire ``pp`` to ``mp`` with a fresh lease (Go's ``acquirep``/``wirep``)."""
    pp.m = mp
    pp.status = _Prunning
    mp.p = pp
    pp.lease = mp.lease = deque()
    if sched.sysmonwait:
        wakesysmon()


def releasep(mp: M) -> P:
    pp = mp.p
    assert pp is not None
    mp.p = None
    pp.m = None
    pp.status = _Pidle
    return pp


def pidleput(pp: P) -> None:
    """Put ``pp`` on the idle list. Requires ``sched.lock``."""
    pp.status = _Pidle
    pp.m = None
    sched.pidle.append(pp)
    sched.npidle += 1


def pidleget() -> P | None:
    """Take an idle P. Requires ``sched.lock``."""
    if not sched.pidle:
        return None
    pp = sched.pidle.pop()
    sched.npidle -= 1
    return pp


def pidlegetSpinning() -> P | None:
    """``pidleget`` for a would-be spinning M; if none, ask a busy M to spin instead."""
    pp = pidleget()
    if pp is None:
        sched.needspinning = 1
    return pp


def mput(mp: M) -> None:
    """Put ``mp`` on the idle list and look for a deadlock. Requires ``sched.lock``."""
    sched.midle.append(mp)
    sched.nmidle += 1
    checkdead()


def mget() -> M | None:
    """Take an idle M. Requires ``sched.lock``."""
    if not sched.midle:
        return None
    mp = sched.midle.pop()
    sched.nmidle -= 1
    return mp


def mReserveID() -> int:
    """Reserve an M id, counting the M as running until it exists. Requires ``sched.lock``.

    The reservation belongs to the current run: pass ``sched.epoch``, read under
    the same lock, to ``newm``.
    """
    if sched.mnext - sched.nmfreed > MAX_MCOUNT:
        print(f"runtime: program exceeds {MAX_MCOUNT}-thread limit", file=sys.stderr)
        throw("thread exhaustion")
    mid = sched.mnext
    sched.mnext += 1
    return mid


@narrated
def newm(fn: Callable[[M], None] | None, pp: P | None, id: int, epoch: int,
         spinning: bool = False, nextg: G | None = None) -> M | None:
    """Start a new OS thread for an M that will run ``fn`` or schedule on ``pp``.

    The thread is not started if the run that reserved the M (``epoch``) is
    stopping or over: a late M must never join the next run.
    """
    mp = M(id)
    mp.mstartfn = fn
    mp.nextp = pp
    mp.nextg = nextg
    mp.spinning = spinning
    name = "gosched-sysmon" if fn is not None else f"gosched-M{id}"
    mp.thread = threading.Thread(target=mstart, args=(mp,), name=name, daemon=True)
    with sched.lock:
        if sched.epoch != epoch or sched.exiting:
            return None
        sched.allm.append(mp)
    mp.thread.start()
    return mp


@narrated
def startm(pp: P | None, spinning: bool, lockheld: bool = False) -> None:
    """Schedule some M to run ``pp`` (or any idle P); create an M if none is idle."""
    if not lockheld:
        sched.lock.acquire()
    try:
        if pp is None:
            if spinning:
                throw("startm: P required for spinning=true")
            pp = pidleget()
            if pp is None:
                return
        nmp = mget()
        if nmp is None:
            mid = mReserveID()
            epoch = sched.epoch
            sched.lock.release()
            try:
                newm(None, pp, mid, epoch, spinning)
            finally:
                sched.lock.acquire()
            return
    finally:
        if not lockheld:
            sched.lock.release()
    nmp.spinning = spinning
    nmp.nextp = pp
    nmp.park.release()  # notewakeup


def startIdle(n: int) -> None:
    """Start up to ``n`` idle Ps for freshly queued work. Requires ``sched.lock``."""
    for _ in range(n):
        pp = pidlegetSpinning()
        if pp is None:
            break
        startm(pp, False, True)


@narrated
def stopm(mp: M) -> bool:
    """Park ``mp`` on the idle list until it is given a P. False: the M must exit."""
    with sched.lock:
        if mp.exiting or mp.dead or sched.exiting:
            return False
        mput(mp)
    mp.park.acquire()  # notesleep
    if mp.exiting:
        return False
    if mp.nextg is not None:
        return True
    pp = mp.nextp
    mp.nextp = None
    assert pp is not None
    acquirep(mp, pp)
    return True


@narrated
def wakep() -> None:
    """Try to add one more P to execute Gs: start a spinning M if nobody spins."""
    if sched.nmspinning or not sched.npidle:
        return
    with sched.lock:
        if sched.nmspinning:
            return
        pp = pidlegetSpinning()
        if pp is None:
            return
        sched.nmspinning += 1
        startm(pp, True, True)


def becomeSpinning(mp: M) -> None:
    mp.spinning = True
    with sched.lock:
        sched.nmspinning += 1
        sched.needspinning = 0


def resetspinning(mp: M) -> None:
    """A spinning M found work: it stops spinning and wakes another spinner if useful."""
    mp.spinning = False
    with sched.lock:
        sched.nmspinning -= 1
        if sched.nmspinning < 0:
            throw("findRunnable: negative nmspinning")
    wakep()


@narrated
def handoffp(pp: P) -> None:
    """Hand off ``pp`` (from a syscall or a retaken hog): start an M if there is work."""
    if not runqempty(pp) or sched.runq:
        startm(pp, False)
        return
    sched.lock.acquire()
    if sched.nmspinning + sched.npidle == 0:
        # No local work and nobody spinning or idle: our help is required.
        sched.nmspinning += 1
        sched.needspinning = 0
        startm(pp, True, True)
        sched.lock.release()
        return
    if sched.gcwaiting:
        pp.status = _Pgcstop
        pp.m = None
        sched.stopwait -= 1
        if sched.stopwait == 0:
            sched.stopnote.release()
        sched.lock.release()
        return
    if sched.runq:
        startm(pp, False, True)
        sched.lock.release()
        return
    # The last running P with nobody polling: somebody must sleep in the
    # poller until the next timer.
    if sched.npidle == sched.gomaxprocs - 1 and sched.lastpoll != 0:
        startm(pp, False, True)
        sched.lock.release()
        return
    when = pp.timers.wakeTime()
    pidleput(pp)
    if sched.runq:  # a P-less M appended since we looked (see globrunqputnop)
        startm(None, False, True)
        sched.lock.release()
        return
    sched.lock.release()
    if when:
        wakeNetPoller(when)


def wakeNetPoller(when: float) -> None:
    """A timer at ``when`` was added: make sure some M wakes up for it."""
    if sched.lastpoll == 0:
        pollerUntil = sched.pollUntil
        if (pollerUntil == 0 or pollerUntil > when) and poller is not None:
            poller.netpollBreak()
    elif sched.mainStarted:
        wakep()


def timerStopped(when: float) -> None:
    """A timer due at ``when`` was stopped: an M asleep in the poller for it must recompute.

    Go lets that M sleep until the dead timer's time. Waking it keeps a stopped
    timer from hiding a deadlock for that long.
    """
    if sched.lastpoll == 0 and sched.pollUntil == when and poller is not None:
        poller.netpollBreak()


def injectglist(glist: list[G]) -> None:
    """Make a batch of Gs (from the poller) runnable, starting idle Ps for them."""
    if not glist:
        return
    for gp in glist:
        gp.atomicstatus = _Grunnable
    mp = tls.m
    pp = mp.p if mp is not None and mp.curg is None else None
    if pp is None:
        with sched.lock:
            sched.runq.extend(glist)
            startIdle(len(glist))
        return
    n = min(len(glist), sched.npidle)
    if n:
        with sched.lock:
            sched.runq.extend(glist[:n])
            startIdle(n)
    for gp in glist[n:]:
        runqput(pp, gp, False)
    wakep()


def gcstopm(mp: M) -> bool:
    """Stop for a stop-the-world (or the runtime's exit). False: the M must exit."""
    if mp.spinning:
        mp.spinning = False
        with sched.lock:
            sched.nmspinning -= 1
    pp = releasep(mp)
    with sched.lock:
        if sched.exiting:
            pp.status = _Pdead
            return False
        pp.status = _Pgcstop
        sched.stopwait -= 1
        if sched.stopwait == 0:
            sched.stopnote.release()
    return stopm(mp)


# ----------------------------------------------------------------------------
# System calls and sync goroutines
# ----------------------------------------------------------------------------


def entersyscall_g0(mp: M, pp: P | None, gp: G) -> None:
    """A sync goroutine's body is one long system call: its P may be retaken."""
    gp.atomicstatus = _Gsyscall
    gp.lockedm = mp
    mp.lockedg = gp
    if pp is not None:
        pp.status = _Psyscall
        pp.syscalltick += 1
        mp.syscalltick = pp.syscalltick
        if sched.sysmonwait:
            wakesysmon()


def exitsyscall_g0(mp: M, pp: P, gp: G) -> None:
    """The sync goroutine's body returned and we still hold its P."""
    pp.status = _Prunning
    pp.syscalltick += 1
    gp.atomicstatus = _Grunning
    gp.waitsince = 0.0


def runsync(gp: G) -> tuple:
    """Run a sync goroutine's body; return the request g0 must act on afterwards."""
    fn = gp.fn
    args, kwargs = gp.args
    try:
        r = fn(*args, **kwargs)
    except BaseException as e:
        return (gopanic_m, e)
    if inspect.isawaitable(r):
        return (becomeasync_m, r if inspect.iscoroutine(r) or inspect.isgenerator(r)
                else r.__await__())
    return (goexit0, r)


def becomeasync_m(mp: M, gp: G, req: tuple) -> G | None:
    """A sync goroutine's callable returned a coroutine: the G goes on running it."""
    gp.coro = req[1]
    gp.args = None
    gp.lockedm = None
    mp.lockedg = None
    gp.param = None
    if mp.p is not None:
        return gp
    gp.atomicstatus = _Grunnable  # an async goroutine needs a P
    with sched.lock:
        globrunqput(gp)
    wakep()
    return None


@narrated
def handoffsyncg(mp: M, gp: G) -> G | None:
    """M0 does not run sync goroutines (other than main): it must stay free to end ``run``.

    The G goes to an M of its own, which runs it without a P, as if it had
    entered a blocking system call. Returns the next G for M0 (none).
    """
    mp.curg = None
    gp.atomicstatus = _Gsyscall
    with sched.lock:
        nmp = mget()
        mid = mReserveID() if nmp is None else 0
        epoch = sched.epoch
    if nmp is None:
        newm(None, None, mid, epoch, nextg=gp)
    else:
        nmp.nextg = gp
        nmp.park.release()
    return None


def entersyscall(mp: M, gp: G) -> P | None:
    """Go's ``entersyscall`` from an async goroutine; returns the P to reclaim, if any."""
    lease = mp.lease
    try:
        tok = lease.pop()
    except IndexError:
        return None  # already retaken: the call runs P-less
    pp = mp.p
    assert pp is not None
    pp.status = _Psyscall
    pp.syscalltick += 1
    mp.syscalltick = pp.syscalltick
    gp.atomicstatus = _Gsyscall
    lease.append(tok)
    if sched.sysmonwait:
        wakesysmon()
    return pp


def exitsyscall(mp: M, gp: G, pp: P | None) -> bool:
    """Go's ``exitsyscallfast``: reclaim the P we entered with, if sysmon left it to us."""
    gp.waitsince = 0.0
    if pp is None:
        return False
    lease = mp.lease
    try:
        tok = lease.pop()
    except IndexError:
        return False
    pp.status = _Prunning
    pp.syscalltick += 1
    gp.atomicstatus = _Grunning
    lease.append(tok)
    return True


def exitsyscallfast_pidle(mp: M) -> bool:
    """The running goroutine lost its P to sysmon: take an idle one back.

    Go's ``exitsyscallfast_pidle``. A hog that sysmon moved off its P keeps
    running on its M. When it next enters the runtime (``go``, ``goready``)
    and a P is idle, everyone else has been served, so it takes that P, as a
    goroutine leaving a system call would; otherwise every goroutine it starts
    or wakes would go through the global queue and another thread for as long
    as it runs. Sysmon retakes the P again if it hogs it while other work
    waits. Returns True with the P wired to ``mp`` and its lease up;
    ``schedule`` notices the new lease (``lostp``) when the goroutine comes
    back to g0.
    """
    gp = mp.curg
    if gp is None or gp.coro is None:
        return False  # on g0, or a sync goroutine: it runs P-less by design
    with sched.lock:
        if mp.dead or sched.gcwaiting or sched.exiting or gilbusy():
            return False
        pp = pidleget()
    if pp is None:
        return False
    acquirep(mp, pp)
    mp.lease.append(mp)
    return True


def lostp(mp: M, gp: G, req: tuple, lease: deque) -> Any:
    """``gp`` came back to g0 and its P's lease was gone (Go's ``exitsyscall0`` path).

    Sysmon (or stop-the-world, or the runtime's exit) took the P while the
    goroutine ran. The request is carried out without a P; if the G wants to
    go on running, it needs a P again: an idle one, else the global queue.
    """
    mp.curg = None
    pp = mp.p
    if pp is not None and mp.lease is not lease and not mp.dead:
        # The goroutine itself re-wired this M (stop-the-world from user code).
        try:
            mp.lease.pop()
        except IndexError:
            pass
        else:
            if gp.coro is None:
                exitsyscall_g0(mp, pp, gp)
            return req[0](mp, gp, req)
    if pp is not None:
        mp.p = None
        if gp.coro is None:
            gp.atomicstatus = _Grunning
    if mp.dead or sched.exiting:
        closeg(gp, req)
        return _EXIT
    nxt = req[0](mp, gp, req)
    if nxt is None:
        return None
    nxt.atomicstatus = _Grunnable
    with sched.lock:
        if mp.dead:
            return _EXIT
        pp = None if sched.gcwaiting else pidleget()
        if pp is None:
            globrunqput(nxt)
    if pp is None:
        return None
    acquirep(mp, pp)
    return nxt


def entersyscallblock(mp: M) -> None:
    """The goroutine is about to block its thread: hand its P off at once."""
    pp = mp.p
    if pp is None:
        return
    try:
        mp.lease.pop()
    except IndexError:
        # Already retaken: the P is not ours any more (it may even be
        # destroyed by now), and nothing may read it as ours (gotime arms
        # timers on mp.p).
        mp.p = None
        return
    mp.p = None
    pp.m = None
    pp.status = _Pidle
    pp.syscalltick += 1
    handoffp(pp)


@types.coroutine
def syscall(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run blocking ``fn`` on this M with Go's ``entersyscall``/``exitsyscall`` protocol.

    The P stays with the M: a fast call costs two lease swaps and wakes no
    thread. If the call outlasts a sysmon tick while other work waits, sysmon
    hands the P to another M; on return the goroutine then needs a P again
    (``exitsyscall0``), and may wait on the global queue for one.
    """
    mp = tls.m
    gp = mp.curg if mp is not None else None
    if gp is None or gp.coro is None:
        raise RuntimeError("syscall: must be awaited from an async goroutine")
    pp = entersyscall(mp, gp)
    try:
        return fn(*args, **kwargs)
    finally:
        if not exitsyscall(mp, gp, pp):
            yield (exitsyscall0_m,)


def block_on(aw: Any) -> Any:
    """Run an awaitable of gosched operations to completion, blocking this thread.

    For sync goroutines (their P is handed off first: Go's
    ``entersyscallblock``) and for threads that run no goroutine.
    """
    coro = aw if inspect.iscoroutine(aw) or isinstance(aw, types.GeneratorType) else None
    try:
        mp = tls.m
        if mp is None or (mp.dead and mp.extra):
            mp = needm("block_on")
        gp = mp.curg
        if gp is None:
            raise RuntimeError("block_on: called from inside the scheduler")
        if gp.coro is not None:
            raise RuntimeError("block_on: called from an async goroutine; use await")
        if mp.dead:
            raise RuntimeError("block_on: the gosched runtime has stopped")
    except BaseException:
        if coro is not None:
            coro.close()  # it will never run: no "never awaited" warning on top of the error
        raise
    if coro is None:
        if not hasattr(aw, "__await__"):
            raise TypeError(f"block_on: {aw!r} is not awaitable")
        coro = aw.__await__()
    entersyscallblock(mp)
    if not mp.extra:
        return drive(mp, gp, coro)
    # A foreign thread runs its G only inside block_on: goid() is 0 outside.
    mp.incallback += 1
    try:
        return drive(mp, gp, coro)
    finally:
        mp.incallback -= 1


def drive(mp: M, gp: G, coro: Any) -> Any:
    """g0's loop in miniature, for one G locked to its thread: park on the M's note."""
    value: Any = None
    exc: BaseException | None = None
    while True:
        try:
            req = coro.throw(exc) if exc is not None else coro.send(value)
        except StopIteration as e:
            return e.value
        value = exc = None
        try:
            fn = req[0]
        except (TypeError, LookupError):
            fn = None
        if fn is park_m:
            _, unlockf, lock, reason = req
            gp.waitreason = reason
            with sched.lock:
                stopping = sched.exiting or mp.dead
                if not stopping:
                    gp.atomicstatus = _Gwaiting
                    mp.blocked = True  # from here on readylocked may wake us
            if stopping:  # nobody would ever wake us: abandon the park
                if unlockf is not None:
                    unlockf(None, lock)
                exc = RuntimeError("block_on: the gosched runtime has stopped")
                continue
            if unlockf is not None and not unlockf(gp, lock):
                with sched.lock:
                    if mp.blocked:
                        mp.blocked = False
                        gp.atomicstatus = _Gsyscall
                        continue
            else:
                # Parked for good. Only now, with the G published and its timer
                # (if any) armed, does the M count as idle (Go's incidlelocked(1)
                # in stoplockedm, after park_m's unlockf): counted any earlier,
                # an M going idle meanwhile could find no runner and no timer.
                with sched.lock:
                    if mp.blocked:
                        mp.idlelocked = True
                        sched.nmidlelocked += 1
                        if (poller is not None and poller.waiters and sched.lastpoll != 0
                                and sched.npidle == sched.gomaxprocs):
                            # Every P idle and nobody in the poller, which this G
                            # may have just joined: an M must sleep there (as
                            # handoffp does for the last running P).
                            startm(None, False, True)
                        checkdead()
            mp.park.acquire()  # notesleep, until readylocked or the runtime stops
            if mp.dead:
                exc = RuntimeError("block_on: the gosched runtime has stopped")
                continue
            gp.atomicstatus = _Gsyscall
            gp.waitsince = 0.0
            value = gp.param
        elif fn is gosched_m:
            time.sleep(0)
        elif type(fn) is not FunctionType:
            exc = foreignawait(req)
        elif fn is not exitsyscall0_m:
            raise RuntimeError(f"block_on: cannot run {fn.__name__} on a thread")


def needm(what: str) -> M:
    """A thread that runs no goroutine joins the running runtime (Go's ``needm``).

    It gets an M and a G of its own, locked together, for as long as the
    thread lives; while the thread is not blocked in ``block_on`` the M counts
    as running, so a goroutine it may still wake is never declared deadlocked.
    """
    if not sched.running or sched.exiting:
        if what == "go":
            raise RuntimeError("go: called outside gosched.run")
        raise RuntimeError(f"{what}: no gosched runtime is running")
    with sched.lock:
        mp = M(mReserveID())
        mp.extra = True
        mp.ident = threading.get_ident()
        mp.thread = threading.current_thread()
        sched.allm.append(mp)
        sched.nextra += 1
        gp = G()
        gp.goid = goidreserve(1)
    gp.sysg = True
    gp.atomicstatus = _Gsyscall
    gp.lockedm = mp
    mp.lockedg = gp
    mp.curg = gp
    sched.allgs.append(gp)
    tls.m = mp
    tls.dropm = _DropM(mp, sched.epoch)
    return mp


class _DropM:
    """Lives in a foreign thread's TLS; when the thread ends, its M stops counting."""

    def __init__(self, mp: M, epoch: int) -> None:
        self.mp = mp
        self.epoch = epoch

    def __del__(self) -> None:
        mp = self.mp
        with sched.lock:
            if sched.epoch != self.epoch or mp.dead:
                return
            mp.dead = True
            sched.nmfreed += 1
            sched.nextra -= 1
            if mp.lockedg is not None:
                mp.lockedg.atomicstatus = _Gdead
                sched.ngdead += 1  # still in allgs, on no free list; nextra no longer covers it
            checkdead()


# ----------------------------------------------------------------------------
# Deadlock detection and fatal errors
# ----------------------------------------------------------------------------


def checkdead() -> None:
    """Check for deadlock: no M running, every goroutine waiting, no timer. Requires sched.lock.

    Go scans every G first; we count live goroutines from the free lists
    instead and scan only when about to report, so that an M going idle in a
    program with a million parked goroutines and a pending timer stays cheap.
    An M that sleeps in the poller for timers alone (no fd is waited on)
    counts as idle: the timers are judged below, and it may be sleeping for
    one that was stopped after it looked (see takepoll).
    """
    if sched.exiting or not sched.running:
        return
    run = (sched.mnext - sched.nmfreed) - sched.nmidle - sched.nmidlelocked - sched.nmsys
    if sched.lastpoll == 0 and poller is not None and not poller.waiters:
        run -= 1
    if run > 0:
        return
    if run < 0:
        fatal_locked("checkdead: inconsistent counts")
        return
    if foreignwakers():
        sched.deadlockdeferred = True  # sysmon looks again when those threads are gone
        return
    if gcount() == 0:
        fatal_locked("no goroutines (main called runtime.Goexit) - deadlock!", Deadlock)
        return
    # There are no goroutines running, so we can look at the Ps.
    for pp in sched.allp:
        if pp.timers.haslive():
            return
    allgs = list(sched.allgs)
    for gp in allgs:
        if not gp.sysg and gp.atomicstatus in (_Grunnable, _Grunning, _Gsyscall):
            fatal_locked(f"checkdead: runnable g (goroutine {gp.goid})")
            return
    fatal_locked("all goroutines are asleep - deadlock!", Deadlock)


def incidlelocked(v: int) -> None:
    """Count an M as idle (+1) or running (-1) without parking it (Go's ``incidlelocked``)."""
    with sched.lock:
        sched.nmidlelocked += v
        if v > 0:
            checkdead()


def foreignwakers() -> bool:
    """Is a thread alive that might still call ``block_on`` (or ``close``)?

    Go never has to ask: only Go code can wake a goroutine. Here any Python
    thread holding a channel can, through ``block_on``. Counted: every thread
    this run started, and the non-daemon threads that were there before it
    (a producer thread started first, say). Not counted: daemon threads from
    before the run, which are background machinery (a notebook kernel's, a
    library's), so that they do not switch deadlock detection off for good;
    the runtime's own Ms; and a foreign thread parked in ``block_on``, which
    is an idle M like any other.
    """
    ours = {id(mp.thread) for mp in sched.allm}
    pre = sched.prethreads
    for t in threading.enumerate():
        if id(t) in ours or t is threading.main_thread() or not t.is_alive():
            continue
        if t not in pre or not t.daemon:
            return True
    return False


def gcount() -> int:
    """Live user goroutines: every G ever made, minus the free ones and the foreign ones."""
    free = len(sched.gFree) + sum(len(pp.gFree) for pp in sched.allp)
    return len(sched.allgs) - free - sched.nextra - sched.ngdead


# Set by the gosched command, which ends the process itself, as Go's exit
# does: ``exitprocess(reason)`` prints what Go prints for an exit reason and
# exits. A panic or a fatal error calls it at once, where it happens (Go's
# fatalpanic): no goroutine runs again and no finally block of another
# goroutine runs, sync goroutines parked in block_on included. When main
# returns, the runtime stops as under gosched.run, unless M0 (which run
# returns on) is stuck in user code (main.exitwatch).
exitprocess: Callable[[tuple], NoReturn] | None = None


def closeg(gp: G, req: tuple | None = None) -> None:
    """Close an abandoned goroutine's coroutine where it stands, so its ``finally`` blocks run.

    ``req`` is a request the goroutine yielded that g0 has not carried out; a
    park is abandoned (``unlockf(None, lock)`` releases the wait queue's lock
    and leaves a dead sudog) instead of committed. A goroutine that tries to
    block again while unwinding gets a RuntimeError at that point.
    """
    coro = gp.coro
    gp.atomicstatus = _Gdead
    gp.coro = gp.fn = gp.args = gp.param = None  # as gdestroy: a dead G holds nothing
    if coro is None:
        return
    exc: BaseException | None = GeneratorExit()
    for _ in range(1000):
        if req is not None:
            fn = req[0]
            if fn is park_m:
                if req[1] is not None:
                    req[1](None, req[2])
            elif fn is goexit0 or fn is gopanic_m:
                return
        try:
            req = coro.throw(exc) if exc is not None else coro.send(None)
        except BaseException:
            return
        exc = None
        if req[0] is park_m:
            exc = RuntimeError("gosched: cannot block: the runtime has stopped")
    try:
        coro.close()
    except BaseException:
        pass


def fatal_locked(msg: str, kind: type[RuntimeError] = FatalError) -> None:
    """Go's ``fatal``/``throw`` with ``sched.lock`` held: stop the runtime with ``msg``."""
    from .traceback import goroutinedump

    exc = kind(msg, goroutinedump())
    exitRuntime(("fatal", exc, None), lockheld=True)


def fatal(msg: str) -> NoReturn:
    """Go's ``fatal``: a user error that no ``recover`` catches ends the program
    (``fatal error: msg``). The runtime stops; a goroutine unwinds as by Goexit."""
    with sched.lock:
        fatal_locked(msg)
    mp = tls.m
    if mp is not None and mp.curg is not None:
        raise Goexit()
    raise FatalError(msg)


def throw(msg: str) -> None:
    """A runtime invariant broke: stop everything and report it."""
    from .traceback import goroutinedump

    raise FatalError(msg, goroutinedump())


def exitRuntime(reason: tuple, lockheld: bool = False) -> None:
    """Begin stopping the runtime: main returned, a goroutine panicked, or a fatal error.

    The first reason wins. Every M leaves its loop at its next visit to g0; M0
    returns into ``run``, which finishes the job (``shutdown``).
    """
    if not lockheld:
        sched.lock.acquire()
    try:
        if sched.exiting:
            return
        crashing = exitprocess is not None and reason[0] != "return"
        sched.exiting = True
        sched.exitreason = reason
        sched.gcwaiting = True
        for pp in sched.allp:
            pp.preempt = True  # findRunnable's one test for anything unusual
        for mp in sched.midle:
            mp.exiting = True
            mp.park.release()
        sched.midle.clear()
        sched.nmidle = 0
        for mp in sched.allm:
            if mp.blocked and not crashing:  # a crash leaves it blocked: see exitprocess
                mp.blocked = False
                mp.dead = True
                if not mp.extra and mp.thread is not None:
                    sched.unwinding.append(mp.thread)
                if mp.idlelocked:
                    mp.idlelocked = False
                    sched.nmidlelocked -= 1
                mp.park.release()
        if sched.stopwait > 0:
            sched.stopwait = 0
            sched.stopnote.release()
    finally:
        if not lockheld:
            sched.lock.release()
    if crashing:
        exitprocess(reason)  # type: ignore[misc]
    wakesysmon()
    if poller is not None:
        poller.netpollBreak()
    if exitprocess is not None and tls.m is not sched.m0:
        from .main import exitwatch

        exitwatch()


def wakesysmon() -> None:
    """Wake sysmon from its deep sleep, if it is in one. Any lock may be held."""
    with sched.sysmonwaitlock:
        if sched.sysmonwait:
            sched.sysmonwait = False
            sched.sysmonnote.release()


# ----------------------------------------------------------------------------
# Stop the world and procresize
# ----------------------------------------------------------------------------


def stopTheWorld(mp: M | None) -> P | None:
    """Stop every P; return the caller's own P (stopped too), if it had one.

    Called from user code. Idle Ps and Ps whose goroutine runs user code (lease
    available) are taken directly; Ms on g0 stop themselves in findRunnable.
    """
    own = None
    with sched.lock:
        sched.gcwaiting = True
        sched.stopwait = sched.gomaxprocs
        for pp in sched.allp:
            pp.preempt = True
        if mp is not None and mp.p is not None:
            try:
                mp.lease.pop()
            except IndexError:
                pass
            else:
                own = mp.p
                own.status = _Pgcstop
                sched.stopwait -= 1
        for pp in sched.pidle:
            pp.status = _Pgcstop
            sched.stopwait -= 1
        sched.pidle.clear()
        sched.npidle = 0
    while True:
        with sched.lock:
            if sched.exiting:
                return own
            for pp in sched.allp:
                if pp is own or pp.status in (_Pgcstop, _Pdead):
                    continue
                try:
                    pp.lease.pop()
                except IndexError:
                    continue
                pp.status = _Pgcstop
                pp.m = None
                sched.stopwait -= 1
            if sched.stopwait <= 0:
                return own
        if poller is not None:
            poller.netpollBreak()
        if sched.stopnote.acquire(timeout=100e-6):
            with sched.lock:
                if sched.stopwait <= 0:
                    return own


def startTheWorld(mp: M | None, own: P | None) -> None:
    """Restart the Ps after ``procresize``; wire the caller to a P again if it had one."""
    with sched.lock:
        sched.gcwaiting = False
        sched.stopnote.acquire(False)  # re-arm the note if a stopping M released it
        runnable = []
        mine = None
        if own is not None:
            mine = own if own.status != _Pdead else None
            if mine is None:
                for pp in sched.allp:
                    if pp.status == _Pgcstop:
                        mine = pp
                        break
        for pp in sched.allp:
            # The stop's preemption request is served: left set, it would send
            # runnext to the back of the queue as if a time slice had ended.
            pp.preempt = False
            if pp is mine or pp.status != _Pgcstop:
                continue
            pp.m = None
            if runqempty(pp) and not pp.timers.heap:
                pidleput(pp)
            else:
                pp.status = _Pidle
                runnable.append(pp)
    if mine is not None and mp is not None:
        acquirep(mp, mine)
        mp.lease.append(mp)  # back to user code
    for pp in runnable:
        startm(pp, False)
    wakep()
    wakesysmon()


def procresize(nprocs: int) -> None:
    """Change the number of Ps; the world is stopped. Requires nothing else to run."""
    allp = sched.allp
    while len(allp) < nprocs:
        pp = P(len(allp))
        pp.status = _Pgcstop
        allp.append(pp)
    for pp in allp[nprocs:]:
        # Destroy: its goroutines and timers move to survivors.
        moved = list(pp.runnext) + list(pp.runq)
        pp.runnext.clear()
        pp.runq.clear()
        sched.runq.extend(moved)
        for when, _, t, version in pp.timers.take(allp[0].timers):
            with t.mu:
                if t.version == version:
                    t.ts = allp[0].timers.push(when, t, version)
        sched.gFree.extend(pp.gFree)
        pp.gFree.clear()
        pp.status = _Pdead
    del allp[nprocs:]
    sched.gomaxprocs = nprocs
    stealOrder.reset(nprocs)


def gomaxprocs(n: int = 0) -> int:
    """``runtime.GOMAXPROCS``: return the previous setting; ``n > 0`` changes it.

    Outside a run, ``gomaxprocs()`` answers what the next ``run`` would use by
    default (not what the last one had).
    """
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"gomaxprocs: n must be an int, not {type(n).__name__}")
    if not sched.running:
        if n <= 0:
            return default_gomaxprocs()
        raise RuntimeError("gomaxprocs: called outside gosched.run")
    prev = sched.gomaxprocs
    if n <= 0 or n == prev:
        return prev
    if n > MAX_GOMAXPROCS:
        raise ValueError(f"gomaxprocs: {n} Ps is more than the limit of {MAX_GOMAXPROCS}")
    mp = tls.m
    if not sched.running or (mp is not None and mp.dead):
        raise RuntimeError("gomaxprocs: called outside gosched.run")
    with sched.worldsema:  # two resizes at once waited for each other's P forever
        prev = sched.gomaxprocs
        if n == prev:
            return prev
        own = stopTheWorld(mp if mp is not None and mp.curg is not None else None)
        if sched.exiting:
            return prev
        procresize(n)
        startTheWorld(mp, own)
    return prev


def withWorldStopped(fn: Callable[[], T]) -> T:
    """``fn()`` with every P stopped, for reading other goroutines' coroutines
    (Go's ``runtime.Stack(all=true)`` stops the world too).

    A stopped world resumes no suspended goroutine, so its coroutine frames
    hold still while they are read. Without the GIL they must: reading
    another thread's running coroutine (its ``cr_await``) crashed 3.13t.
    Under the GIL the reader holds the lock while it reads, so the world is
    left running there.
    """
    mp = tls.m
    if sched.gil or not sched.running or sched.exiting or (mp is not None and mp.dead):
        return fn()
    with sched.worldsema:
        own = stopTheWorld(mp if mp is not None and mp.curg is not None else None)
        try:
            return fn()
        finally:
            if not sched.exiting:
                startTheWorld(mp, own)


# ----------------------------------------------------------------------------
# Bootstrap: schedinit and the main goroutine
# ----------------------------------------------------------------------------


def atoi32(s: str) -> int | None:
    """Go's runtime ``atoi32``, for environment variables: an optional ``-`` and
    ASCII digits, nothing else (no spaces, ``+`` or ``_``), within int32."""
    digits = s[1:] if s.startswith("-") else s
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    n = int(s)
    return n if -(1 << 31) <= n < (1 << 31) else None


def default_gomaxprocs() -> int:
    n = atoi32(os.environ.get("GOMAXPROCS", ""))
    if n is not None and n > 0:
        return min(n, MAX_GOMAXPROCS)
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return (os.cpu_count() or 1) if not gil else 1


def schedinit(procs: int) -> M:
    """Make a fresh runtime: Ps, M0 (the calling thread), the poller."""
    global poller
    from .netpoll import Poller

    sched.reset(procs)
    sched.gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    sched.running = True
    sched.starttime = nanotime()
    poller = Poller()
    # The Thread objects, not their idents: a thread started during this run may
    # reuse the ident of one that was exiting when it began (an M of the last run).
    sched.prethreads = set(threading.enumerate())
    m0 = M(mReserveID())
    m0.thread = threading.current_thread()
    sched.allm.append(m0)
    sched.m0 = m0
    sched.gomaxprocs = 0
    procresize(procs)
    for pp in sched.allp[1:]:
        pidleput(pp)
    acquirep(m0, sched.allp[0])
    return m0


def closepoller() -> None:
    global poller
    if poller is not None:
        poller.close()
        poller = None


__all__ = [
    "Deadlock",
    "FatalError",
    "Goexit",
    "Timer",
    "Timers",
    "go",
    "gomaxprocs",
]
