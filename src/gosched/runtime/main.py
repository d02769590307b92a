"""Starting and stopping a runtime: ``gosched.run`` (Go's ``runtime.main`` and ``exit``).

``run`` makes a fresh runtime (``schedinit``), turns the calling thread into
M0, creates the main goroutine, starts sysmon, and enters g0's loop. The loop
returns when the runtime stops: main returned, a goroutine panicked, or a
fatal error (deadlock) was found. Go would now exit the process; we must
instead leave the process as we found it:

1. every M is marked dead; those on g0 leave their loop, and ``run`` waits
   for them, and (up to ``SHUTDOWN_GRACE``) for those in the middle of an
   async goroutine's step, which close their goroutine at its next await.
   An M that is still inside user code after that (a long system call, a
   sync goroutine, a hog) cannot be stopped: it is abandoned, and when its
   goroutine next comes back to g0 the M closes it and exits;
2. every goroutine that is parked or runnable is closed where it stands
   (``closeg``), so its ``finally`` blocks run now and never later;
3. the poller is closed, sysmon is joined, and the GC settings are restored;
4. the run's Gs and pending timers are let go rather than kept until the
   next ``run`` (after skynet's million goroutines, 67,000 Gs stayed alive).

Then ``run`` returns main's result or raises what stopped the runtime.

GC policy (Go's ``GOGC``): CPython's generational collector starts a
generation-0 pass every 700 net allocations, which with a million goroutines
alive means scanning them over and over. While a runtime runs, gosched raises
the generation-0 threshold to ``500 * GOGC`` (50,000 with the default
``GOGC=100``); ``GOGC=off``, or a negative value, disables the collector for
the run. The previous settings come back when ``run`` returns.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Generator
from typing import Any

from . import proc
from . import trace as _trace
from .proc import (
    Deadlock,
    FatalError,
    closeg,
    closepoller,
    default_gomaxprocs,
    exitRuntime,
    makecoro,
    mReserveID,
    mstart,
    newm,
    newproc,
    park_m,
    schedinit,
)
from .runtime2 import (
    MAX_GOMAXPROCS,
    G,
    P,
    _Grunnable,
    _Grunning,
    _Gwaiting,
    sched,
    tls,
    waitReasonFinalizerWait,
)
from .timers import nanotime

_runlock = threading.Lock()
# The file `gosched run` is loading (its top level runs), else None: a run
# started there would run main twice.
loading: str | None = None
# How long shutdown waits for goroutines on other Ms to reach their next await
# (see _stepping): far beyond a healthy step (sysmon reports any over 10 ms).
SHUTDOWN_GRACE = 1.0
GO_MAIN_SCHEDTICK = 4  # main's P's schedtick when Go's main.main starts (runtimemain)
FING_GOID = 5  # the finalizer goroutine's id in Go (runtimemain)


def run(main: Callable[..., Any], *args: Any, gomaxprocs: int | None = None,
        lifecycle: bool = False, trace: str | os.PathLike[str] | None = None) -> Any:
    """Run ``main(*args)`` as goroutine 1 on a fresh runtime; return its result."""
    cur = tls.m
    if cur is not None and not cur.dead:
        raise RuntimeError("gosched.run: a runtime is already running on this thread")
    if loading is not None:
        raise RuntimeError(f"gosched.run: called while `gosched run` loads {loading}, which then "
                           "runs its main itself: guard the call with "
                           "if __name__ == \"__main__\":")
    procs = default_gomaxprocs() if gomaxprocs is None else gomaxprocs
    if not isinstance(procs, int) or isinstance(procs, bool) or not 1 <= procs <= MAX_GOMAXPROCS:
        raise ValueError(f"gosched.run: gomaxprocs must be an int from 1 to {MAX_GOMAXPROCS}, "
                         f"got {gomaxprocs!r}")
    with _runlock:
        if sched.running:
            raise RuntimeError("gosched.run: a runtime is already running in this process")
        sinks = _maketracers(lifecycle, trace)  # a bad trace path raises here, before the run
        m0 = schedinit(procs)
    _installtracers(sinks)
    gcstate = _gcenter()
    sigstate = _siginstall()
    try:
        tls.m = m0
        sched.main_g = newproc(m0, main, makecoro(main, args, {}), args, {}, sys._getframe(1))
        runtimemain(m0.p)
        sched.mainStarted = True
        _startsysmon()
        mstart(m0)
    except BaseException as e:
        exitRuntime(("fatal", e, None))
    finally:
        shutdown(m0)
        _sigrestore(sigstate)
        _gcexit(gcstate)
        _stoptracers(sinks)
        tls.m = None
        with _runlock:  # no new run resets sched in between
            sched.running = False
            releaserun()
    return _result(sched.exitreason)


def releaserun() -> None:
    """Let go of what the stopped run still holds (its Gs, its pending timers and
    what they reference) now, rather than at the next run's reset.

    An abandoned M may still append to ``allgs`` (to the old list), free a G
    (under gFreeLock) or stop a timer (under the heap's lock). Each P's free
    list is its owner's and stays: at most GFREE_LOCAL_MAX Gs.
    """
    sched.allgs = []
    with sched.gFreeLock:
        sched.gFree.clear()
    for pp in sched.allp:
        ts = pp.timers
        with ts.mu:
            ts.heap.clear()
            ts.zombies = 0


def _result(reason: tuple) -> Any:
    kind, value, _ = reason
    sched.exitreason = None
    if kind == "return":
        return value
    raise value


def _startsysmon() -> None:
    from .sysmon import sysmon

    with sched.lock:
        mid = mReserveID()
        sched.nmsys += 1
        epoch = sched.epoch
    newm(sysmon, None, mid, epoch)


def runtimemain(pp: P) -> None:
    """Leave main's P as Go's runtime.main leaves it for main.main.

    By then it has started and waited for its helpers (forcegchelper,
    bgsweep, bgscavenge) on this P, which took it to schedtick 4, and the
    init of os (which fmt imports) has started the finalizer goroutine, which
    sits in runnext, not run yet. Both show in a one-P program's order: the
    tick decides where the every-61st look at the global queue falls, and the
    finalizer goroutine takes a slot of the local queue (kicked there by
    main's first go statement) and one schedule (when it runs and parks for
    good). Modelled so, programs that cross those points (a Gosched loop,
    more than 256 goroutines readied at once) run in the order Go 1.19
    printed for them under GOMAXPROCS=1. Without it, main's first Gosched
    ran main again, ahead of the goroutine it had just started.

    Like Go's, the finalizer goroutine is a system goroutine: it is in no
    dump, no count and no deadlock check (it is not in ``allgs``). Goroutine
    ids follow Go's too: the helpers took 2 to 4, the finalizer goroutine 5,
    and the program's own goroutines start at 6.
    """
    pp.schedtick = GO_MAIN_SCHEDTICK
    fing = G()
    fing.goid = FING_GOID
    assert pp.goidcache < FING_GOID < pp.goidcacheend  # main took the first of a fresh batch
    pp.goidcache = FING_GOID + 1
    fing.coro = runfinq()
    fing.atomicstatus = _Grunnable
    # runnext holds main, which schedule takes first (pop: from the right),
    # then fing alone, as Go's does while main.main runs.
    pp.runnext.appendleft(fing)


@types.coroutine
def runfinq() -> Generator[Any, Any, None]:
    """Go's finalizer goroutine, with no finalizers to run: it parks for good."""
    yield (park_m, None, None, waitReasonFinalizerWait)


def shutdown(m0: Any) -> None:
    """Stop every M we can, close every goroutine that is not running. See the module doc."""
    exitRuntime(("return", None, None))
    with sched.lock:  # from here no M can be added (newm checks sched.exiting)
        ms = [mp for mp in sched.allm if mp is not m0]
        for mp in sched.allm:
            mp.dead = True
    m0.dead = True
    for mp in ms:
        try:
            mp.lease.pop()  # it runs user code: it will find out when it returns
        except IndexError:
            pass
    grace = nanotime() + SHUTDOWN_GRACE
    while True:
        stepping = nanotime() < grace
        waiting = [mp for mp in ms if _ong0(mp) or (stepping and _stepping(mp))]
        if not waiting:
            break
        if proc.poller is not None:
            proc.poller.netpollBreak()
        for mp in waiting:
            mp.thread.join(0.0005)
    # Sync goroutines that were parked in block_on are unwinding now (their
    # block_on raised): their finally blocks belong to this run, so let them
    # finish before run returns. A sync goroutine that was running user code
    # cannot be waited for: it may never return, as Go would not wait either.
    with sched.lock:
        unwinding = list(sched.unwinding)
    for t in unwinding:
        if t is not threading.current_thread():
            t.join()
    allgs = list(sched.allgs)
    for gp in allgs:
        if gp.atomicstatus in (_Grunnable, _Gwaiting) and gp.lockedm is None:
            closeg(gp)
    closepoller()


def exitwatch() -> None:
    """Under the gosched command, the runtime began to stop on an M other than
    M0 (main returned there): end the process if M0 does not come back from
    user code within ``SHUTDOWN_GRACE``.

    ``run`` returns on M0, and M0 may be inside a goroutine that never yields
    (Python cannot stop it): the program would never end. Go's exit after
    main returns waits for no goroutine; this waits a grace, then ends the
    process without the rest of shutdown (``proc.exitprocess``).
    """
    m0, epoch = sched.m0, sched.epoch

    def watch() -> None:
        deadline = nanotime() + SHUTDOWN_GRACE
        while nanotime() < deadline:
            if sched.epoch != epoch or m0.curg is None:  # M0 is on its way out of run
                return
            time.sleep(0.01)
        end = proc.exitprocess
        if end is not None:
            end(sched.exitreason)

    threading.Thread(target=watch, name="gosched-exitwatch", daemon=True).start()


def _stepping(mp: Any) -> bool:
    """An M of the stopped runtime in the middle of an async goroutine's step.

    The step ends at the goroutine's next ``await`` of a gosched operation;
    its M then finds the runtime stopped and closes the goroutine itself, so
    its ``finally`` blocks run before ``run`` returns. Shutdown waits for that
    up to ``SHUTDOWN_GRACE``: a goroutine that computes longer without
    awaiting is left to finish on its own thread. A goroutine in a system
    call (``syscall``, a sync goroutine) is not waited for: it may block for
    ever.
    """
    if mp.extra or mp.thread is None or not mp.thread.is_alive() or mp.exiting:
        return False
    gp = mp.curg
    return gp is not None and gp.coro is not None and gp.atomicstatus == _Grunning


def _ong0(mp: Any) -> bool:
    """An M of the stopped runtime that is still in scheduler code (so it will exit soon).

    An M with a ``curg`` is in user code (or about to enter it): it is not
    waited for. Whatever it does next goes through a check of ``mp.dead``
    that is ordered after ours, and it closes its goroutine and exits.
    """
    if mp.extra or mp.thread is None or not mp.thread.is_alive() or mp.exiting:
        return False
    return mp.curg is None


def _maketracers(lifecycle: bool, path: Any) -> list[_trace.Sink]:
    sinks: list[_trace.Sink] = []
    if lifecycle:
        sinks.append(_trace.Lifecycle())
    if path is not None:
        sinks.append(_trace.ExecTrace(path))
    return sinks


def _installtracers(sinks: list[_trace.Sink]) -> None:
    if len(sinks) == 1:
        _trace.install(sinks[0])
    elif sinks:
        _trace.install(_Tee(sinks))


class _Tee(_trace.Sink):
    def __init__(self, sinks: list[_trace.Sink]) -> None:
        self.sinks = sinks

    def event(self, name: str, detail: str = "", depth: int = 0, **kw: Any) -> None:
        for s in self.sinks:
            s.event(name, detail, depth, **kw)

    def call(self, name: str, args: tuple, depth: int, argnames: tuple = ()) -> None:
        for s in self.sinks:
            s.call(name, args, depth, argnames)


def _stoptracers(sinks: list[_trace.Sink]) -> None:
    """Turn tracing off and write the trace file. A failed write is reported on
    stderr, not raised: it must not hide how the program ended, nor keep ``run``
    from finishing its cleanup."""
    if not sinks:
        return
    _trace.uninstall()
    for s in sinks:
        if isinstance(s, _trace.ExecTrace):
            try:
                s.write()
            except Exception as e:
                print(f"gosched: writing the execution trace failed: {e}", file=sys.stderr)


def stoptracing() -> None:
    """Turn tracing off and write the trace file now: the gosched command is
    ending the process before ``run`` returns (``proc.exitprocess``)."""
    s = _trace.sink
    if s is not None:
        _stoptracers(s.sinks if isinstance(s, _Tee) else [s])


def _gcenter() -> tuple:
    saved = (gc.get_threshold(), gc.isenabled())
    # Go's readGOGC: "off" or a negative number turns the collector off; what
    # does not parse counts as the default.
    gogc = os.environ.get("GOGC", "100")
    pct = -1 if gogc == "off" else proc.atoi32(gogc)
    if pct is None:
        pct = 100
    if pct < 0:
        gc.disable()
    else:
        t0, t1, t2 = saved[0]
        gc.set_threshold(max(t0, 500 * max(pct, 1)), t1, t2)
    return saved


def _gcexit(saved: tuple) -> None:
    gc.set_threshold(*saved[0])
    if saved[1]:
        gc.enable()


def _siginstall() -> Any:
    """Ctrl-C stops the runtime and makes ``run`` raise KeyboardInterrupt (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        prev = signal.getsignal(signal.SIGINT)
        if prev is not signal.default_int_handler:
            return None
        signal.signal(signal.SIGINT, _onsigint)
        return prev
    except (ValueError, OSError):
        return None


def _onsigint(signum: int, frame: Any) -> None:
    mp = tls.m
    if mp is not None and mp.curg is not None:
        raise KeyboardInterrupt  # inside a goroutine: it panics with it
    exitRuntime(("fatal", KeyboardInterrupt(), None))


def _sigrestore(prev: Any) -> None:
    if prev is not None:
        signal.signal(signal.SIGINT, prev)


__all__ = ["Deadlock", "FatalError", "run"]
