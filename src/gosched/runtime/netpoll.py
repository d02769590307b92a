"""The network poller (Go's ``netpoll.go`` and ``netpoll_epoll.go``).

The poller does two jobs. It is where goroutines blocked on sockets wait
("IO wait"), and it is how an M with nothing to run sleeps until the next
timer: ``findRunnable``'s last step blocks in ``netpoll(delay)`` with the
earliest timer as the deadline, and anyone who adds an earlier timer or needs
that M back calls ``netpollBreak``, which writes a byte to a self-pipe.

A file descriptor's state lives in a ``PollDesc`` with two one-goroutine
semaphores, ``rg`` and ``wg``: None (Go's pdNil), ``pdReady``, or the G
parked waiting (Go's pdWait is the short moment before the park commits,
which here is covered by ``pd.lock``). A goroutine that finds its fd not
ready calls ``netpollblock``, which parks it with the wait reason
``IO wait``; the poller, a deadline timer, or ``pollclose`` readies it.
Python's selectors are level-triggered, so interest in an fd is registered
only while a goroutine waits on it, and dropped when the poller wakes it.

Deadlines are absolute times on the monotonic clock, one timer per direction
(Go's ``rd``/``wd`` and ``netpolldeadlineimpl``). A deadline in the past makes
every wait fail at once with ``TimeoutError("i/o timeout")``.
"""

from __future__ import annotations

import os
import selectors
import threading
import types
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from ..gotime import _currenttimers
from . import proc
from .proc import goready, park_m
from .runtime2 import waitReasonIOWait
from .timers import Timer, nanotime

if TYPE_CHECKING:
    from .runtime2 import G

pdReady = "ready"  # the fd became ready while nobody waited; the next wait returns at once
EVENT = {"r": selectors.EVENT_READ, "w": selectors.EVENT_WRITE}


# The longest a poll blocks, in seconds: Go's netpoll caps it at 1e9 ms too.
# A timer further away (a sleep of years, or of float("inf")) is waited for
# in steps of this.
MAXPOLLDELAY = 1e6


class ErrClosed(OSError):
    """Go's ``net.ErrClosed``: the operation was on a closed connection."""

    __module__ = "gosched.net"

    def __init__(self) -> None:
        super().__init__("use of closed network connection")


class PollDesc:
    """One fd's poll state. Fields are guarded by ``lock``."""

    __slots__ = ("closing", "events", "fd", "lock", "poller", "rd", "rg", "rtimer", "wd", "wg",
                 "wtimer")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lock = threading.Lock()
        self.rg: Any = None  # None (pdNil), pdReady, or the waiting G
        self.wg: Any = None
        self.closing = False
        self.events = 0  # selector interest currently registered
        self.poller: Poller | None = None  # the poller it is registered with
        self.rtimer: Any = None
        self.wtimer: Any = None
        self.rd = 0.0  # read deadline (monotonic seconds); 0 none, < 0 passed
        self.wd = 0.0


class Poller:
    """The runtime's poller; selector registration is guarded by ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.selector = selectors.DefaultSelector()
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.selector.register(self.rfd, selectors.EVENT_READ, None)
        self.waiters = 0  # goroutines parked in netpollblock (netpollWaiters); guarded by lock
        self.wakeSig = threading.Lock()  # held while a break byte is in flight
        self.pollingNet = threading.Lock()  # one non-blocking poller at a time
        self.closed = False

    def netpollBreak(self) -> None:
        """Interrupt a blocking ``netpoll``; several calls in a row send one byte."""
        if self.wakeSig.acquire(False):
            try:
                os.write(self.wfd, b"\0")
            except OSError:
                self.wakeSig.release()

    def netpoll(self, delay: float) -> list[G]:
        """Poll; ``delay`` < 0 blocks until woken, 0 does not block, > 0 blocks that long.

        Returns the goroutines whose fds became ready, already detached from
        their ``PollDesc`` (the caller makes them runnable).
        """
        if delay > MAXPOLLDELAY:  # the OS would refuse it (OverflowError); wake and look again
            delay = MAXPOLLDELAY
        try:
            events = self.selector.select(None if delay < 0 else delay)
        except (OSError, ValueError):
            return []
        ready: list[G] = []
        for key, mask in events:
            pd = key.data
            if pd is None:
                try:
                    while os.read(self.rfd, 64):
                        pass
                except OSError:
                    pass
                try:
                    self.wakeSig.release()  # Go's netpollWakeSig.Store(0)
                except RuntimeError:  # another M polled at once and drained it first
                    pass
                continue
            with pd.lock:
                if mask & selectors.EVENT_READ:
                    netpollunblock(pd, "r", True, ready)
                if mask & selectors.EVENT_WRITE:
                    netpollunblock(pd, "w", True, ready)
        if any(gp.lockedm is not None for gp in ready):
            # A G locked to its thread (a sync goroutine, or a thread, in
            # block_on) is woken there, as goready does: queued, another M
            # would run its function again from the top. Split first: once
            # woken, it may exit and lose its lockedm before we look again.
            locked = [gp for gp in ready if gp.lockedm is not None]
            ready = [gp for gp in ready if gp.lockedm is None]
            for gp in locked:
                proc.readylocked(gp)
        return ready

    def interest(self, pd: PollDesc) -> None:
        """Register exactly the events somebody waits for. Requires ``pd.lock``."""
        want = 0
        if pd.rg is not None and pd.rg is not pdReady:
            want |= selectors.EVENT_READ
        if pd.wg is not None and pd.wg is not pdReady:
            want |= selectors.EVENT_WRITE
        if pd.poller is not self:  # registered with a stopped runtime's poller, or never
            pd.poller, pd.events = self, 0
        if want == pd.events:
            return
        with self.lock:
            if self.closed:
                return
            try:
                if pd.events == 0:
                    try:
                        self.selector.register(pd.fd, want, pd)
                    except KeyError:  # a socket closed while registered left its fd number
                        self.selector.unregister(pd.fd)
                        self.selector.register(pd.fd, want, pd)
                elif want == 0:
                    self.selector.unregister(pd.fd)
                else:
                    self.selector.modify(pd.fd, want, pd)
            except (KeyError, ValueError, OSError):
                pass
        pd.events = want

    def adjustwaiters(self, delta: int) -> None:
        with self.lock:
            self.waiters += delta

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.selector.close()
        os.close(self.rfd)
        os.close(self.wfd)


def _poller() -> Poller:
    p = proc.poller
    if p is None:
        raise RuntimeError("gosched: network I/O needs a running runtime")
    return p


def netpollcheckerr(pd: PollDesc, mode: str) -> BaseException | None:
    """Why a wait on ``pd`` cannot proceed, if it cannot. Requires ``pd.lock``."""
    if pd.closing:
        return ErrClosed()
    if (pd.rd if mode == "r" else pd.wd) < 0:
        return TimeoutError("i/o timeout")
    return None


@types.coroutine
def netpollblock(pd: PollDesc, mode: str) -> Generator[Any, Any, None]:
    """Wait until ``pd`` is ready for ``mode`` ("r" or "w") (Go's ``netpollblock``).

    Raises ``TimeoutError`` when the deadline passes and ``ErrClosed`` when
    the descriptor is closed, both also while parked.
    """
    pd.lock.acquire()
    err = netpollcheckerr(pd, mode)
    if err is None:
        slot = pd.rg if mode == "r" else pd.wg
        if slot is pdReady:  # readiness arrived while nobody waited: consume it
            if mode == "r":
                pd.rg = None
            else:
                pd.wg = None
            pd.lock.release()
            return
        if slot is not None:
            pd.lock.release()
            raise RuntimeError(f"gosched: two goroutines wait on fd {pd.fd} for {mode}")
        try:
            yield (park_m, netpollblockcommit, (pd, mode), waitReasonIOWait)
        except BaseException:
            with pd.lock:
                netpollunblock(pd, mode, False, [])
            raise
        pd.lock.acquire()
        err = netpollcheckerr(pd, mode)
    pd.lock.release()
    if err is not None:
        raise err


def netpollblockcommit(gp: G | None, arg: tuple[PollDesc, str]) -> bool:
    """Unlock function of an IO wait: publish the G and register interest in the fd."""
    pd, mode = arg
    if gp is not None:
        if mode == "r":
            pd.rg = gp
        else:
            pd.wg = gp
        poller = _poller()
        poller.interest(pd)
        poller.adjustwaiters(1)
    pd.lock.release()
    return True


def netpollunblock(pd: PollDesc, mode: str, ioready: bool, out: list[G]) -> None:
    """Take the G waiting on ``pd`` for ``mode``, if any, into ``out``. Requires ``pd.lock``.

    With ``ioready`` and nobody waiting, remember the readiness for the next wait.
    """
    g = pd.rg if mode == "r" else pd.wg
    new = pdReady if ioready and g is None else (g if g is pdReady else None)
    if mode == "r":
        pd.rg = new
    else:
        pd.wg = new
    if g is not None and g is not pdReady:
        out.append(g)
        poller = pd.poller
        if poller is not None:
            poller.interest(pd)
            poller.adjustwaiters(-1)


def _wakeall(ready: list[G]) -> None:
    for gp in ready:
        goready(gp)


def netpolldeadline(arg: tuple[PollDesc, str]) -> None:
    """Timer function of a deadline: mark it passed and wake the waiter (on g0).

    A deadline cleared or moved later while this call was on its way (the
    timer had fired; ``stop`` came too late) is not passed: only the deadline
    in force now counts (Go compares ``rseq``/``wseq`` for the same purpose).
    """
    pd, mode = arg
    ready: list[G] = []
    with pd.lock:
        d = pd.rd if mode == "r" else pd.wd
        if d == 0.0 or d > nanotime():
            return
        if mode == "r":
            pd.rd = -1.0
        else:
            pd.wd = -1.0
        netpollunblock(pd, mode, False, ready)
    _wakeall(ready)


def setdeadline(pd: PollDesc, mode: str, t: float | None) -> None:
    """Set the absolute deadline for ``mode`` ("r", "w") on the monotonic clock; None clears it."""
    ready: list[G] = []
    with pd.lock:
        if pd.closing:
            raise ErrClosed()
        timer = pd.rtimer if mode == "r" else pd.wtimer
        if timer is not None:
            timer.stop()
        d = 0.0 if t is None else float(t)
        if d and d <= nanotime():
            d = -1.0  # already passed: waits fail at once
            netpollunblock(pd, mode, False, ready)
        elif d:
            if timer is None:
                timer = Timer(netpolldeadline, (pd, mode))
                if mode == "r":
                    pd.rtimer = timer
                else:
                    pd.wtimer = timer
            timer.modify(d, 0.0, _currenttimers())
        if mode == "r":
            pd.rd = d
        else:
            pd.wd = d
    _wakeall(ready)


def pollclose(pd: PollDesc) -> None:
    """The fd is being closed: wake its waiters (they raise ``ErrClosed``), forget it."""
    ready: list[G] = []
    with pd.lock:
        pd.closing = True
        for timer in (pd.rtimer, pd.wtimer):
            if timer is not None:
                timer.stop()
        netpollunblock(pd, "r", False, ready)
        netpollunblock(pd, "w", False, ready)
        poller = pd.poller
        if poller is not None and pd.events:
            with poller.lock:
                try:
                    if not poller.closed:
                        poller.selector.unregister(pd.fd)
                except (KeyError, ValueError, OSError):
                    pass
            pd.events = 0
    _wakeall(ready)

