"""The runtime's data structures: G, M, P, the global ``sched``, and their states.

This is Go's ``runtime2.go`` in Python. Field names follow Go where a field has a
Go twin; each field's comment says who may write it, because without a GIL there
is no implicit atomicity (see DESIGN.md, "Threads, locks, and free-threaded
CPython"). Three kinds of ownership appear below:

* **owner-only**: written by exactly one thread at a time, the owner changing
  hands only through a locked structure (a G is owned by whoever took it off a
  run queue or a wait queue; a P by the M it is wired to).
* **atomic container**: ``collections.deque`` ``append``/``pop``/``popleft`` are
  atomic on both builds. Run queues, ``runnext``, free lists and the P lease use
  them so that the owner and thieves never need a lock on the hot path.
* **named lock**: everything else, with the lock written next to the field.

Hints (counters read without their lock to decide whether to take it) are read
racily on purpose and are always re-checked under the lock before acting,
exactly as Go re-checks its atomics.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

# --- G status (runtime2.go, iota order) ---------------------------------------
_Gidle = 0
_Grunnable = 1  # on a run queue; not executing user code
_Grunning = 2  # executing user code; has an M
_Gsyscall = 3  # executing a system call or a sync goroutine's body; has an M, no P it owns
_Gwaiting = 4  # blocked in the runtime, recorded somewhere (a wait queue) that can ready it
_Gdead = 6  # unused: just exited or on a free list

gStatusStrings = {
    _Gidle: "idle",
    _Grunnable: "runnable",
    _Grunning: "running",
    _Gsyscall: "syscall",
    _Gwaiting: "waiting",
    _Gdead: "dead",
}

# --- P status ----------------------------------------------------------------
_Pidle = 0
_Prunning = 1
_Psyscall = 2
_Pgcstop = 3
_Pdead = 4

# --- wait reasons: the exact strings of Go's waitReasonStrings -----------------
waitReasonZero = ""
waitReasonIOWait = "IO wait"
waitReasonSemacquire = "semacquire"
waitReasonSleep = "sleep"
waitReasonChanReceiveNilChan = "chan receive (nil chan)"
waitReasonChanSendNilChan = "chan send (nil chan)"
waitReasonSelectNoCases = "select (no cases)"
waitReasonSelect = "select"
waitReasonChanReceive = "chan receive"
waitReasonChanSend = "chan send"
waitReasonSyncCondWait = "sync.Cond.Wait"
waitReasonSyncMutexLock = "sync.Mutex.Lock"
waitReasonSyncRWMutexRLock = "sync.RWMutex.RLock"
waitReasonSyncRWMutexLock = "sync.RWMutex.Lock"
waitReasonSyncWaitGroupWait = "sync.WaitGroup.Wait"
waitReasonPreempted = "preempted"
waitReasonFinalizerWait = "finalizer wait"

# --- constants (reference notes, section 13) ----------------------------------
LOCAL_RUNQ_SIZE = 256  # len(p.runq)
GOID_CACHE_BATCH = 16  # _GoidCacheBatch
GFREE_LOCAL_MAX = 64  # gfput moves half the local free list to sched when it reaches this
GFREE_LOCAL_REFILL = 32  # gfget refills the local free list up to this
STEAL_TRIES = 4  # stealWork passes; runnext and timers only on the last
GLOBAL_FAIRNESS_TICK = 61  # every 61st schedule takes one G from the global queue
FORCE_PREEMPT_NS = 10_000_000  # forcePreemptNS: a time slice
MAX_MCOUNT = 10000  # sched.maxmcount
# Not Go's (it has had no limit since 1.10): a P runs only on an M, and Ms are
# capped at MAX_MCOUNT; a bound also keeps gomaxprocs(1 << 40) from building Ps forever.
MAX_GOMAXPROCS = MAX_MCOUNT


class G:
    """A goroutine.

    An *async* G runs a coroutine: its stack is the chain of suspended coroutine
    frames, which lives on the heap, so any M can resume it. A *sync* G runs a
    plain callable (``fn``) on an M as one long system call. Fields are
    owner-only: the owner is the M running the G, or whoever holds it on a
    queue (a run queue, a wait queue); ownership moves with the G through those
    queues' locks or atomic containers.
    """

    __slots__ = (
        "args",  # sync G: (args, kwargs)
        "atomicstatus",  # _G* constant
        "coro",  # async G: its coroutine; None for a sync G
        "fn",  # the goroutine's function (sync G: the callable to run)
        "goid",
        "gopc",  # code object of the go statement, for "created by" (Go: a PC)
        "gopcoff",  # and the instruction offset in it
        "lockedm",  # the M this G is locked to (sync G, foreign thread), or None
        "param",  # passed to the G when it is resumed: the sudog that woke it
        "parentGoid",
        "sysg",  # a foreign thread's G: not counted by num_goroutine nor checkdead
        "timer",  # the timer used by sleep, reused
        "waitreason",
        "waitsince",  # monotonic seconds when observed blocked (stamped by sysmon)
    )

    def __init__(self) -> None:
        self.goid = self.parentGoid = self.gopcoff = 0
        self.atomicstatus = _Gidle
        self.coro = self.fn = self.args = self.param = self.lockedm = self.gopc = None
        self.timer: Any = None
        self.waitreason = waitReasonZero
        self.waitsince = 0.0
        self.sysg = False

    def __repr__(self) -> str:
        return f"<G{self.goid} {gStatusStrings.get(self.atomicstatus, '?')}>"


# A sudog ("pseudo-G") is a G waiting on a wait queue: a channel's sendq or
# recvq, or a semaphore. Goroutines make one on every blocking operation, so it
# is a plain list (a list literal costs a third of an instance's __init__).
# Its fields, all guarded by the lock of the queue it is on:
SG_G = 0  # the waiting G. None until the park commits; None again once dead
SG_ELEM = 1  # the value to send, or the value received
SG_SUCCESS = 2  # True if a value was delivered, False if woken by close
SG_C = 3  # the channel (or semaphore) it waits on
SG_QUEUED = 4  # still linked on that queue
SG_SELECT = 5  # False, or the token of the select it belongs to (see select.py)
# A dead sudog (SG_G None: its goroutine was abandoned when the runtime stopped,
# or interrupted by an exception) and a stale one (a losing case of a select
# that is over: its token is taken) stay linked until a dequeuer skips them or
# the queue is purged.
Sudog = list


class M:
    """An OS thread. Its base Python frame runs ``schedule`` (g0).

    Owner-only fields are written by the M's own thread; the exceptions are
    ``nextp``/``nextg``/``spinning`` set by the waker while the M is parked on
    the idle list (handed over with ``sched.lock`` and the ``park`` note).
    """

    __slots__ = (
        "blocked",  # parked on its note (or about to be): readylocked may wake it
        "curg",  # the G running on this M, or None while on g0
        "dead",  # the runtime that owned this M has stopped
        "exiting",  # told to leave its g0 loop
        "extra",  # a foreign thread that joined through block_on
        "g0depth",  # Python stack depth of g0's frame (schedule), recorded at mstart
        "goidcache",  # goroutine ids for goroutines started without a P (owner-only)
        "goidcacheend",
        "id",
        "ident",
        "idlelocked",  # blocked and counted in sched.nmidlelocked; guarded by sched.lock
        "incallback",  # extra M: block_on calls in progress on its thread; owner-only
        "lease",  # the lease of the current wiring to p (see P.lease); owner-only
        "lockedg",  # sync G or foreign-thread G bound to this M
        "mstartfn",
        "nextg",  # a sync G to run on wakeup without a P (handed over by M0)
        "nextp",  # the P to acquire on wakeup (set by startm under sched.lock)
        "p",  # the P wired to this M, or None. See P.lease for how it may be taken away
        "park",  # note: a Lock used as a binary semaphore
        "spinning",
        "syscalltick",
        "thread",
    )

    def __init__(self, id: int) -> None:
        self.id = id
        self.p: P | None = None
        self.nextp: P | None = None
        self.nextg: G | None = None
        self.lease: deque[M] = deque()
        self.curg: G | None = None
        self.spinning = False
        self.blocked = False
        self.idlelocked = False
        self.park = threading.Lock()
        self.park.acquire()  # cleared note: the next notesleep blocks
        self.syscalltick = 0
        self.thread: threading.Thread | None = None
        self.ident = 0
        self.g0depth = 0
        self.goidcache = self.goidcacheend = 0
        self.lockedg: G | None = None
        self.extra = False
        self.incallback = 0
        self.dead = False
        self.exiting = False
        self.mstartfn: Any = None

    def __repr__(self) -> str:
        return f"<M{self.id}>"


class P:
    """A processor: the right to run goroutines, and the local scheduling state.

    The owner is the M wired to it (``m``). Fields touched only on g0 by the
    owner are owner-only. The containers an M may still touch from user code
    after losing the P (a retaken hog keeps running and may ready or spawn
    goroutines) are atomic containers, so a stale user is harmless: its
    goroutines simply land on this P's queues.

    ``lease`` arbitrates who owns the P while its M runs user code. Go uses a
    CAS on ``status`` (``_Psyscall``) for this; we generalise it: before
    resuming a goroutine the M puts one token in ``lease`` ("this P may be
    retaken while I run Python code I do not control"), and on returning to g0
    it takes the token back. Whoever pops the token owns the P: the M itself,
    or sysmon / stop-the-world retaking it. An M that finds the token gone has
    lost its P and follows the exitsyscall rules.
    """

    __slots__ = (
        "gFree",  # dead Gs (owner-only)
        "goidcache",  # next goroutine id of this P's batch (owner-only)
        "goidcacheend",
        "id",
        "lease",  # deque holding one token while the owner runs user code
        "link",
        "m",  # back link to the owning M, or None
        "preempt",
        "runnext",  # deque of at most one G; owner sets, anyone pops
        "runq",  # deque, at most LOCAL_RUNQ_SIZE; owner appends, anyone pops left
        "schedtick",  # incremented on every non-inherited execute (owner-only)
        "status",  # _P*; written by the owner (or the lease winner)
        "syscalltick",  # incremented on every syscall enter/retake (owner-only / lease winner)
        "sysmontick",  # sysmon's view: [schedtick, schedwhen, syscalltick, syscallwhen, hog]
        "timers",  # timers.Timers (own lock)
    )

    def __init__(self, id: int) -> None:
        from .timers import Timers

        self.id = id
        self.status = _Pgcstop
        self.schedtick = 0
        self.syscalltick = 0
        self.sysmontick: list[Any] = [-1, 0.0, -1, 0.0, None]
        self.runq: deque[G] = deque()
        self.runnext: deque[G] = deque()
        self.gFree: list[G] = []
        self.goidcache = self.goidcacheend = 0
        self.timers = Timers(self)
        self.lease: deque[P] = deque()
        self.preempt = False
        self.link: P | None = None

    def __repr__(self) -> str:
        return f"<P{self.id}>"


class Schedt:
    """The global scheduler state (Go's ``schedt``), one per process.

    A fresh runtime is made by ``reset`` at the start of every ``gosched.run``.
    Unless marked otherwise, fields are guarded by ``lock`` (Go's sched.lock).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gFreeLock = threading.Lock()
        self.goidlock = threading.Lock()  # a leaf: nothing is taken while it is held
        # Go's worldsema: one stop-the-world at a time, held from stop to start.
        # A caller waiting for it holds no lock the stopper needs, and its P
        # stays takeable (its lease is up while it runs user code).
        self.worldsema = threading.Lock()
        self.epoch = 0  # bumped by every run; guarded by the module-level run lock
        self.reset(0)

    def reset(self, gomaxprocs: int) -> None:
        self.epoch += 1
        self.running = False
        self.goidgen = 0  # last goroutine id handed out; guarded by goidlock
        self.midle: list[M] = []  # idle Ms
        self.nmidle = 0
        self.nmidlelocked = 0  # Ms parked with a locked G (block_on)
        self.mnext = 0  # Ms created so far, and next M id
        self.nmfreed = 0  # Ms that exited
        self.nmsys = 0  # Ms not counted for deadlock (sysmon)
        self.nextra = 0  # foreign threads that joined, not counted by mcount
        self.ngsys = 0
        self.ngdead = 0  # dead Gs on no free list (closed at exit); counted out of gcount
        self.pidle: list[P] = []  # idle Ps
        self.npidle = 0  # hint when read without lock
        self.nmspinning = 0  # hint when read without lock
        self.needspinning = 0
        self.runq: deque[G] = deque()  # the global run queue
        self.gFree: deque[G] = deque()  # global dead Gs; guarded by gFreeLock for batches
        self.gomaxprocs = gomaxprocs
        self.allp: list[P] = []
        self.allm: list[M] = []
        # Every G ever made; never shrinks (Gs are recycled). Append-only, and a
        # list's append and copy are atomic on both builds (the free-threaded
        # list has a lock of its own), so writers just append and readers
        # iterate over a copy.
        self.allgs: list[G] = []
        self.lastpoll = 1  # 0 while an M blocks in netpoll; else time of the last poll
        self.pollUntil = 0.0
        self.gcwaiting = False  # stop-the-world or exit in progress: Ms stop in findRunnable
        self.stopwait = 0
        self.stopnote = threading.Lock()
        self.stopnote.acquire()
        self.sysmonwaitlock = threading.Lock()  # guards sysmonwait (taken after lock)
        self.sysmonwait = False
        self.sysmonnote = threading.Lock()
        self.sysmonnote.acquire()
        self.sysmonlock = threading.Lock()
        self.exiting = False  # main returned, panicked, or deadlocked
        self.exitreason: Any = None  # ("return", value) | ("panic", exc, gp) | ("fatal", exc)
        # Threads of sync goroutines that were parked in block_on when the runtime
        # began to stop: woken with an error, they unwind, and run waits for them.
        self.unwinding: list[threading.Thread] = []  # guarded by lock
        self.mainStarted = False
        self.m0: M | None = None
        self.main_g: G | None = None
        # main called goexit: written by main only, read when main ends. Go's
        # Goexit cannot be stopped (a panic recovered during it resumes it), so
        # main returning after one still ends in goexit, not in the exit.
        self.maingoexit = False
        self.extram: list[Any] = []  # foreign-thread Ms (weak liveness), guarded by lock
        self.starttime = 0.0
        self.tracestart = 0.0  # time of the first schedtrace line
        self.prethreads: set[threading.Thread] = set()  # threads alive when run started
        self.deadlockdeferred = False  # checkdead waits for a foreign thread to finish
        self.gil = True  # the interpreter has a GIL: see "Worker thread parking" in proc.py


sched = Schedt()


class _TLS(threading.local):
    """Per-thread state: the M running on this thread (``getg().m`` in Go)."""

    m: M | None = None


tls = _TLS()
