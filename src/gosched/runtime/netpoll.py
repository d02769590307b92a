"""The network poller (Go's ``netpoll.go`` and ``netpoll_epoll.go``).

The poller does two jobs. It is where goroutines blocked on sockets wait
("IO wait"), and it is how an M with nothing to run sleeps until the next
timer: ``findRunnable``'s last step blocks in ``netpoll(delay)`` with the
earliest timer as the deadline, and anyone who adds an earlier timer or needs
that M back calls ``netpollBreak``, which writes a byte to a self-pipe.

A file descriptor's state lives in a ``PollDesc`` with two one-goroutine
semaphores, ``rg`` and ``wg`` (Go's pdNil / pdReady / pdWait / a G). Python's
selectors are level-triggered, so interest in an fd is registered only while a
goroutine waits on it and removed when the poller wakes that goroutine.
"""

from __future__ import annotations

import os
import selectors
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime2 import G

pdReady = "ready"  # the fd became ready while nobody waited; the next wait returns at once


class PollDesc:
    """One fd's poll state. Fields are guarded by ``lock``."""

    __slots__ = ("closing", "events", "fd", "lock", "rd", "rg", "rtimer", "wd", "wg", "wtimer")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.lock = threading.Lock()
        self.rg: Any = None  # None (pdNil), pdReady, or the waiting G
        self.wg: Any = None
        self.closing = False
        self.events = 0  # selector interest currently registered
        self.rtimer: Any = None
        self.wtimer: Any = None
        self.rd = 0.0  # read deadline (monotonic seconds), 0 = none, <0 = expired
        self.wd = 0.0


class Poller:
    """The process's poller; ``selector`` registration is guarded by ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.selector = selectors.DefaultSelector()
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        self.selector.register(self.rfd, selectors.EVENT_READ, None)
        self.waiters = 0  # goroutines blocked in netpollblock (netpollWaiters); guarded by lock
        self.wakeSig = threading.Lock()  # held while a break byte is in flight
        self.closed = False
        self.pollingNet = threading.Lock()  # one non-blocking poller at a time

    def anyWaiters(self) -> bool:
        return self.waiters > 0

    def netpollBreak(self) -> None:
        """Interrupt a blocking ``netpoll``; several calls in a row send one byte."""
        if self.wakeSig.acquire(False):
            try:
                os.write(self.wfd, b"\0")
            except (BlockingIOError, OSError):
                self.wakeSig.release()

    def netpoll(self, delay: float) -> list[G]:
        """Poll; ``delay`` < 0 blocks until woken, 0 does not block, > 0 blocks that long.

        Returns the goroutines whose fds became ready, already detached from
        their ``PollDesc`` (the caller makes them runnable).
        """
        timeout = None if delay < 0 else delay
        try:
            events = self.selector.select(timeout)
        except (OSError, ValueError):
            return []
        ready: list[G] = []
        for key, mask in events:
            pd = key.data
            if pd is None:
                try:
                    while os.read(self.rfd, 64):
                        pass
                except (BlockingIOError, OSError):
                    pass
                if self.wakeSig.locked():
                    self.wakeSig.release()
                continue
            self.ready(pd, mask, ready)
        if ready:
            with self.lock:
                self.waiters -= len(ready)
        return ready

    def ready(self, pd: PollDesc, mask: int, out: list[G]) -> None:
        """Mark ``pd`` ready for ``mask`` and collect the goroutines waiting on it."""
        with pd.lock:
            if mask & selectors.EVENT_READ:
                g = pd.rg
                pd.rg = pdReady if g is None else None
                if g is not None and g is not pdReady:
                    out.append(g)
            if mask & selectors.EVENT_WRITE:
                g = pd.wg
                pd.wg = pdReady if g is None else None
                if g is not None and g is not pdReady:
                    out.append(g)
            self.interest(pd)

    def interest(self, pd: PollDesc) -> None:
        """Register exactly the events somebody waits for (called with ``pd.lock`` held)."""
        want = 0
        if pd.rg is not None and pd.rg is not pdReady:
            want |= selectors.EVENT_READ
        if pd.wg is not None and pd.wg is not pdReady:
            want |= selectors.EVENT_WRITE
        if want == pd.events or self.closed:
            return
        with self.lock:
            try:
                if pd.events == 0:
                    self.selector.register(pd.fd, want, pd)
                elif want == 0:
                    self.selector.unregister(pd.fd)
                else:
                    self.selector.modify(pd.fd, want, pd)
            except (KeyError, ValueError, OSError):
                pass
        pd.events = want

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.selector.close()
        os.close(self.rfd)
        os.close(self.wfd)
