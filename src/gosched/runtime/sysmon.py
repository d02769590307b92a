"""sysmon: the runtime's watchdog thread (Go's ``sysmon``, ``retake``, ``schedtrace``).

sysmon runs on an M of its own with no P, so it never counts for deadlock
detection. It wakes up every 20 µs; after 50 rounds in which it had nothing
to do it doubles the pause, up to 10 ms; when every P is idle it sleeps until
an M takes a P again (``acquirep`` wakes it). Each round it:

- **retakes** Ps. A P whose goroutine has been in a system call (or a sync
  goroutine's body) for more than one sysmon tick while other work waits is
  handed to another M (``handoffp``). A P whose goroutine has run for 10 ms
  without giving its P back (the same ``schedtick``) is treated the same way,
  if anything else is waiting for it: Go would preempt the goroutine, but a
  Python coroutine cannot be stopped from outside, so the hog keeps running on
  its M without a P and the other goroutines move to another M. Under the GIL
  the OS then time-slices the two threads; without it they run in parallel;
- polls the network if nobody has for 10 ms;
- reports goroutines that held their P too long (``GOSCHED_BLOCKPROF=MS``),
  with their stack: the thing that silently freezes an asyncio loop, named;
- prints Go's ``SCHED`` lines for ``GODEBUG=schedtrace=MS[,scheddetail=1]``;
- stamps ``waitsince`` on blocked goroutines every few seconds (Go's GC does
  this), which is what makes dumps say ``[chan receive, 3 minutes]``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from . import proc
from .proc import checkdead, handoffp, incidlelocked, injectglist, netpollnow
from .runq import runqempty
from .runtime2 import (
    FORCE_PREEMPT_NS,
    M,
    P,
    _Gsyscall,
    _Gwaiting,
    _Pidle,
    _Prunning,
    _Psyscall,
    sched,
)
from .timers import nanotime

FORCE_PREEMPT = FORCE_PREEMPT_NS / 1e9  # a time slice: 10 ms
SYSCALL_GRACE = 10e-3  # retake from a syscall after this even with nothing else to do
STAMP_PERIOD = 5.0  # how often blocked goroutines get their waitsince stamped


def godebug() -> tuple[int, int]:
    """``GODEBUG=schedtrace=MS,scheddetail=1`` -> ``(schedtrace_ms, scheddetail)``."""
    schedtrace = scheddetail = 0
    for part in os.environ.get("GODEBUG", "").split(","):
        key, _, val = part.partition("=")
        if val.strip().isdigit():
            if key.strip() == "schedtrace":
                schedtrace = int(val)
            elif key.strip() == "scheddetail":
                scheddetail = int(val)
    return schedtrace, scheddetail


def blockprof_ms() -> int:
    val = os.environ.get("GOSCHED_BLOCKPROF", "").strip()
    return int(val) if val.isdigit() else 0


def sysmon(mp: M) -> None:
    """The loop (runs as the M's ``mstartfn``)."""
    schedtrace, scheddetail = godebug()
    blockprof = blockprof_ms() / 1e3
    out = sys.stderr
    idle = 0
    delay = 20e-6
    lasttrace = 0.0
    laststamp = nanotime()
    blocks: dict[M, list] = {}  # per M: [(G, its last wakeup), since, reported]
    while not sched.exiting and not mp.dead:
        if idle == 0:
            delay = 20e-6
        elif idle > 50:
            delay *= 2
        delay = min(delay, 10e-3)
        time.sleep(delay)
        now = nanotime()
        if sched.deadlockdeferred:
            with sched.lock:
                sched.deadlockdeferred = False
                checkdead()
        if now - laststamp >= STAMP_PERIOD:  # before a deep sleep too: idle programs block longest
            laststamp = now
            with sched.sysmonlock:
                stampwaitsince(now)
        allidle = sched.gcwaiting or sched.npidle == sched.gomaxprocs
        if schedtrace <= 0 and allidle and not hogging() and deepsleep(now):
            idle = 0
            delay = 20e-6
            continue
        with sched.sysmonlock:
            lastpoll = sched.lastpoll
            poller = proc.poller
            if poller is not None and poller.waiters and lastpoll and lastpoll + 10e-3 < now:
                injectglist(netpollnow())
            if retake(now):
                idle = 0
            else:
                idle += 1
            if blockprof:
                reportblocks(now, blockprof, out, blocks)
            if schedtrace > 0 and lasttrace + schedtrace / 1e3 <= now:
                lasttrace = now
                print(schedtracetext(scheddetail > 0, now), end="", file=out, flush=True)


def hogging() -> bool:
    """Is a goroutine running on an M that lost its P (a hog sysmon retook)?

    Go's sysmon sleeps deeply once every P is idle, because then no goroutine
    runs. Here a goroutine whose P was taken away keeps running on its own
    thread, and sysmon still has to watch it.
    """
    # curg read once: the M may switch goroutines between two reads.
    return any((gp := mp.curg) is not None and gp.coro is not None for mp in list(sched.allm))


def deepsleep(now: float) -> bool:
    """Every P is idle: sleep until an M takes a P or the next timer is due."""
    with sched.lock:
        if sched.exiting or not (sched.gcwaiting or sched.npidle == sched.gomaxprocs):
            return False
        with sched.sysmonwaitlock:
            sched.sysmonwait = True
    next_ = min((w for pp in sched.allp if (w := pp.timers.wakeTime())), default=0.0)
    timeout = 60.0 if not next_ else min(max(next_ - now, 0.0), 60.0)
    if sched.deadlockdeferred:
        timeout = min(timeout, 10e-3)  # poll for the foreign threads checkdead waits on
    woken = sched.sysmonnote.acquire(timeout=timeout)
    with sched.sysmonwaitlock:
        if sched.sysmonwait:  # timed out: nobody released the note
            sched.sysmonwait = False
        elif not woken:
            # Timed out just as a waker released the note (it clears sysmonwait
            # and releases in one step under this lock): consume that release,
            # or the note stays unlocked and the next waker's release fails.
            sched.sysmonnote.acquire()
    return True


def retake(now: float) -> int:
    """Take Ps from long system calls and from goroutines that hold them too long."""
    n = 0
    for pp in list(sched.allp):
        s = pp.status
        if s != _Prunning and s != _Psyscall:
            continue
        pd = pp.sysmontick
        t = pp.schedtick
        if pd[0] != t:
            pd[0] = t
            pd[1] = now
        elif pd[1] + FORCE_PREEMPT <= now:
            # The time slice is over (Go's preemptone). A runnext chain shares
            # one slice; it yields often, so asking is enough: the next
            # schedule on this P takes the queue's head instead of runnext.
            pp.preempt = True
        stuck = stucktime(pp, pd, now)
        if s == _Psyscall:
            t = pp.syscalltick
            if stuck < FORCE_PREEMPT and pd[2] != t:
                pd[2] = t
                pd[3] = now
                continue
            # Nothing else to run and someone is free to run it if it comes:
            # leave the P to its syscall for a while.
            helpers = sched.nmspinning + sched.npidle
            if runqempty(pp) and helpers > 0 and pd[3] + SYSCALL_GRACE > now:
                continue
        elif stuck < FORCE_PREEMPT or not otherwork(pp, now):
            continue
        # Count ourselves as a running M until the P is handed off: otherwise the
        # M we take it from could go idle and report a deadlock in between.
        incidlelocked(-1)
        try:
            pp.lease.pop()
        except IndexError:
            incidlelocked(1)
            continue  # its M is on g0: it will give the P up by itself if it must
        pp.status = _Pidle
        pp.m = None
        pp.syscalltick += 1
        handoffp(pp)
        incidlelocked(1)
        n += 1
    return n


def stucktime(pp: P, pd: list, now: float) -> float:
    """How long the goroutine on ``pp`` has run without giving its P back.

    "Without giving it back": the same G is current, the P has not scheduled
    (``schedtick``), and the G has not been woken from a park since (its
    ``param``, the last wakeup's sudog, is the same object). A goroutine
    ping-ponging through ``runnext`` shares its partner's time slice, but it
    yields all the time, and taking its P would only move it to another thread.
    """
    mp = pp.m
    gp = mp.curg if mp is not None else None
    if gp is None:
        pd[4] = None
        return 0.0
    mark = (gp, id(gp.param), pp.schedtick)
    if pd[4] is None or pd[4][0] != mark:
        pd[4] = [mark, now, False]
        return 0.0
    return now - pd[4][1]


def otherwork(pp: P, now: float) -> bool:
    """Is anything waiting for ``pp`` besides the goroutine that holds it?"""
    if not runqempty(pp) or sched.runq:
        return True
    w = pp.timers.wakeTime()
    return bool(w) and w <= now


def reportblocks(now: float, limit: float, out: TextIO, blocks: dict[M, list]) -> None:
    """Name each goroutine that has run ``limit`` seconds without yielding, with its stack.

    It is tracked by M, not by P: sysmon may already have taken the P away from
    it, but the goroutine still holds its thread, which is what an event loop
    would have frozen on. "Without yielding" is judged as in ``stucktime``.
    Sync goroutines, and async ones inside ``syscall``, are left alone:
    blocking is their job, and they gave their P up for it.
    """
    from .traceback import goroutinestack

    for mp in list(sched.allm):
        gp = mp.curg
        if gp is None or gp.coro is None or gp.atomicstatus == _Gsyscall:
            blocks.pop(mp, None)
            continue
        mark = (gp, id(gp.param))
        rec = blocks.get(mp)
        if rec is None or rec[0] != mark:
            blocks[mp] = [mark, now, False]
            continue
        held = now - rec[1]
        if held < limit or rec[2]:
            continue
        rec[2] = True
        print(
            f"gosched: goroutine {gp.goid} has run for {held * 1e3:.0f}ms without yielding "
            f"(on M{mp.id}; other goroutines move to other threads meanwhile)\n"
            f"{goroutinestack(gp)}\n",
            file=out,
            flush=True,
        )


def stampwaitsince(now: float) -> None:
    allgs = list(sched.allgs)
    for gp in allgs:
        s = gp.atomicstatus
        if s in (_Gwaiting, _Gsyscall):
            if not gp.waitsince:
                gp.waitsince = now
        elif gp.waitsince:
            gp.waitsince = 0.0


def _id(x: object) -> str:
    return "nil" if x is None else str(x.id if hasattr(x, "id") else x.goid)  # type: ignore[attr-defined]


def schedtracetext(detailed: bool, now: float | None = None) -> str:
    """Go's ``schedtrace`` output: the ``SCHED`` line, and with ``detailed`` every P, M and G."""
    if now is None:
        now = nanotime()
    if not sched.tracestart:
        sched.tracestart = now
    with sched.lock:
        allp = list(sched.allp)
        lines = [
            f"SCHED {int((now - sched.tracestart) * 1e3)}ms: gomaxprocs={sched.gomaxprocs}"
            f" idleprocs={sched.npidle} threads={sched.mnext - sched.nmfreed}"
            f" spinningthreads={sched.nmspinning} needspinning={sched.needspinning}"
            f" idlethreads={sched.nmidle} runqueue={len(sched.runq)}"
        ]
        if detailed:
            lines[0] += (
                f" gcwaiting={str(sched.gcwaiting).lower()} nmidlelocked={sched.nmidlelocked}"
                f" stopwait={sched.stopwait} sysmonwait={str(sched.sysmonwait).lower()}"
            )
            for pp in allp:
                lines.append(
                    f"  P{pp.id}: status={pp.status} schedtick={pp.schedtick}"
                    f" syscalltick={pp.syscalltick} m={_id(pp.m)} runqsize={len(pp.runq)}"
                    f" gfreecnt={len(pp.gFree)} timerslen={len(pp.timers.heap)}"
                )
            for mp in list(sched.allm):
                if mp.exiting:
                    continue
                lines.append(
                    f"  M{mp.id}: p={_id(mp.p)} curg={_id(mp.curg)} mallocing=0 throwing=0"
                    f" preemptoff= locks=0 dying=0 spinning={str(mp.spinning).lower()}"
                    f" blocked={str(mp.blocked).lower()} lockedg={_id(mp.lockedg)}"
                )
            from .traceback import runningon

            allgs = list(sched.allgs)
            for gp in allgs:
                if gp.atomicstatus == 6 or not gp.goid:
                    continue
                lines.append(
                    f"  G{gp.goid}: status={gp.atomicstatus}({gp.waitreason})"
                    f" m={_id(runningon(gp))} lockedm={_id(gp.lockedm)}"
                )
        else:
            lines[0] += " [" + " ".join(str(len(pp.runq)) for pp in allp) + "]"
    return "\n".join(lines) + "\n"
