"""Channels (Go's ``runtime/chan.go``).

A channel is a lock, a buffer, and two wait queues of sudogs: receivers waiting
for a value (``recvq``) and senders waiting with one (``sendq``). Invariants
(from chan.go): at least one of the queues is empty, unless a select waits on
both sides of an unbuffered channel; for a buffered channel a non-empty buffer
means no waiting receiver, and a non-full one means no waiting sender.

Operations that can finish at once never suspend: a send to a waiting
receiver hands the value over directly and readies the receiver into the
sender's ``runnext``; a receive from a waiting sender takes its value directly.
Only when nobody is there does the goroutine enqueue a sudog and park; the
channel lock is held across the park and released by ``chanparkcommit`` on g0,
after the goroutine is marked waiting, exactly as in Go, so a waker can never
see a goroutine that is not parked yet.

``send``/``recv`` are generator-based coroutines (``types.coroutine``) rather
than ``async def``: the park request is yielded straight from them to g0, with
no extra coroutine object in between, which keeps a parked goroutine small and
a switch short. A buffered channel's ``send`` (``_BufChan``) is a plain
function in front of that coroutine, for the send that fits in the buffer.

Waiters that go away without being woken (the losing cases of a select, a
goroutine abandoned when its runtime stops) are not searched for and unlinked:
their sudog is marked dead (``g = None``) under the channel lock, dequeuers skip
it, and a queue is compacted when dead entries outnumber live ones.
"""

from __future__ import annotations

import types
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Generator, Iterator
from itertools import count
from typing import Any, Generic, TypeVar

from .runtime.lock_token import lock2, tokenacquire, tokenlock, tokenrelease
from .runtime.proc import block_on, goready, park_m, readyglist
from .runtime.runtime2 import (
    SG_C,
    SG_ELEM,
    SG_G,
    SG_QUEUED,
    SG_SELECT,
    SG_SUCCESS,
    Sudog,
    waitReasonChanReceive,
    waitReasonChanReceiveNilChan,
    waitReasonChanSend,
    waitReasonChanSendNilChan,
)

T = TypeVar("T")

_chanids = count(1)  # lock order for select: channels are locked in creation order
# A new sudog, before its channel is filled in (see runtime2.Sudog).
_SUDOG = [None, None, False, None, True, False]
# A select that blocked leaves its losing sudogs on their queues (select.py);
# a queue this long is swept of them before the next select joins it.
PURGE_MIN = 64

# The largest capacity makechan accepts: Go's limit for pointer-sized
# elements on a 64-bit platform (maxAlloc, 2**48 bytes, over 8 bytes each).
MAXCAP = (1 << 48) // 8


class ClosedChannelError(RuntimeError):
    """A send on, or a close of, a closed channel (or a close of the nil channel)."""

    __module__ = "gosched"


class Chan(Generic[T]):
    """``make(chan T, cap)``: a Go channel.

    All mutable fields are guarded by ``_lock``.
    """

    __slots__ = ("__weakref__", "_buf", "_cap", "_closed", "_id", "_lock", "_ndead", "_purgeat",
                 "_recvq", "_sendq")

    __hash__ = object.__hash__  # by identity: select uses channels as dict keys

    def __new__(cls, cap: int = 0) -> Chan[T]:
        if cls is Chan and type(cap) is int and cap > 0:
            cls = _BufChan  # same fields, a send that can finish without a frame
        return object.__new__(cls)

    def __init__(self, cap: int = 0) -> None:
        if not isinstance(cap, int) or isinstance(cap, bool):
            raise TypeError(f"Chan: capacity must be an int, not {type(cap).__name__}")
        if cap < 0 or cap > MAXCAP:
            raise ValueError("makechan: size out of range")
        self._lock = tokenlock()
        self._buf: deque[T] = deque()
        self._cap = cap if type(cap) is int else int(cap)  # an IntEnum is stored as its number
        self._closed = False
        self._recvq: deque[Sudog] = deque()
        self._sendq: deque[Sudog] = deque()
        self._ndead = 0  # dead sudogs still linked on the queues
        self._purgeat = PURGE_MIN  # queue length at which select purges stale sudogs
        self._id = next(_chanids)

    @property
    def cap(self) -> int:
        return self._cap

    def __len__(self) -> int:
        return len(self._buf)

    def __bool__(self) -> bool:
        """A channel is true however much it holds (``__len__`` alone would make an
        empty one false); only ``nilchan`` is false, as a nil channel is nil."""
        return True

    def __repr__(self) -> str:
        state = " closed" if self._closed else ""
        return f"<Chan cap={self._cap} len={len(self._buf)}{state}>"

    @types.coroutine
    def send(self, v: T) -> Generator[Any, Any, None]:
        """``ch <- v``."""
        lock = self._lock
        try:
            lock.pop()  # acquire (see lock_token)
        except IndexError:
            lock2(lock)
        if self._closed:
            lock.append(True)
            raise ClosedChannelError("send on closed channel")
        recvq = self._recvq
        while recvq:
            sg = recvq.popleft()
            sg[SG_QUEUED] = False
            gp = sg[SG_G]
            if gp is None:
                self._ndead -= 1
                continue
            if sg[SG_SELECT] and not sg[SG_SELECT].acquire(False):
                continue  # lost the race to wake this select
            lock.append(True)
            sg[SG_ELEM] = v
            sg[SG_SUCCESS] = True
            gp.param = sg
            goready(gp)
            return
        buf = self._buf
        if len(buf) < self._cap:
            buf.append(v)
            lock.append(True)
            return
        sg = [None, v, False, self, True, False]
        self._sendq.append(sg)
        try:
            yield (park_m, chanparkcommit, sg, waitReasonChanSend)
        except BaseException:
            self._cancel(sg)
            raise
        if not sg[SG_SUCCESS]:
            raise ClosedChannelError("send on closed channel")

    @types.coroutine
    def recv(self, _wantok: int = 0) -> Generator[Any, Any, Any]:
        """``<-ch``: the next value, or None once the channel is closed and drained.

        ``_wantok`` serves ``recv_ok`` (1: return ``(value, ok)``) and ``async
        for`` (2: raise ``StopAsyncIteration`` at the end) from this one body.
        """
        try:
            self._lock.pop()  # acquire (see lock_token)
        except IndexError:
            lock2(self._lock)
        if self._buf:
            v = self._buf.popleft()
            if not self._sendq:
                self._lock.append(True)
                return (v, True) if _wantok == 1 else v
            # The buffer was full: the first waiting sender's value takes the freed slot.
            sg = dequeue(self, self._sendq)
            if sg is not None:
                self._buf.append(sg[SG_ELEM])
            self._lock.append(True)
            if sg is not None:
                sg[SG_SUCCESS] = True
                gp = sg[SG_G]
                gp.param = sg
                goready(gp)
            return (v, True) if _wantok == 1 else v
        if self._closed:
            self._lock.append(True)
            if _wantok == 2:
                raise StopAsyncIteration
            return (None, False) if _wantok else None
        # Unbuffered: take the value straight from a waiting sender. This loop is
        # dequeue() inlined, as in send(): these two are the hottest paths. (Few
        # locals on purpose: they all live in the frame of every parked receiver.)
        while self._sendq:
            sg = self._sendq.popleft()
            sg[SG_QUEUED] = False
            gp = sg[SG_G]
            if gp is None:
                self._ndead -= 1
                continue
            if sg[SG_SELECT] and not sg[SG_SELECT].acquire(False):
                continue
            self._lock.append(True)
            v = sg[SG_ELEM]
            sg[SG_SUCCESS] = True
            gp.param = sg
            goready(gp)
            return (v, True) if _wantok == 1 else v
        sg = _SUDOG.copy()  # not a list display: it would add two slots to this frame
        sg[SG_C] = self
        self._recvq.append(sg)
        try:
            yield (park_m, chanparkcommit, sg, waitReasonChanReceive)
        except BaseException:
            self._cancel(sg)
            raise
        if _wantok == 1:
            return sg[SG_ELEM], sg[SG_SUCCESS]
        if _wantok == 2 and not sg[SG_SUCCESS]:
            raise StopAsyncIteration
        return sg[SG_ELEM]

    def recv_ok(self) -> Awaitable[tuple[T | None, bool]]:
        """``v, ok := <-ch``: ``(value, True)``, or ``(None, False)`` once closed and drained."""
        return self.recv(1)

    def close(self) -> None:
        """``close(ch)``: wake every receiver with ``(None, False)``; waiting senders raise."""
        lock = self._lock
        try:
            lock.pop()  # acquire (see lock_token)
        except IndexError:
            lock2(lock)
        if self._closed:
            lock.append(True)
            raise ClosedChannelError("close of closed channel")
        self._closed = True
        glist = []
        for q in (self._recvq, self._sendq):
            for sg in q:
                gp = sg[SG_G]
                sg[SG_QUEUED] = False
                if gp is None or (sg[SG_SELECT] and not sg[SG_SELECT].acquire(False)):
                    continue
                if q is self._recvq:
                    sg[SG_ELEM] = None
                sg[SG_SUCCESS] = False
                gp.param = sg
                glist.append(gp)
            q.clear()
        self._ndead = 0
        lock.append(True)
        # Ready all Gs now that we've dropped the channel lock. Go collects them
        # on a gList, a stack, and readies the last one dequeued first: the
        # first receiver ends up in runnext, the others behind it in reverse.
        glist.reverse()
        readyglist(glist)

    def __aiter__(self) -> AsyncIterator[T]:
        return self  # type: ignore[return-value]

    # ``async for``: recv's own body with ``_wantok=2``, called directly (a
    # method returning ``self.recv(2)`` costs one more frame per value).
    __anext__ = types.FunctionType(recv.__code__, recv.__globals__, "__anext__", (2,))

    def __iter__(self) -> Iterator[T]:
        """``for v in ch``: ``for v := range ch`` in a sync goroutine or a thread, each
        receive blocking the thread through ``block_on`` (async code uses ``async for``)."""
        while True:
            v, ok = block_on(self.recv_ok())
            if not ok:
                return
            yield v

    # -- internal ------------------------------------------------------------

    def _cancel(self, sg: Sudog) -> None:
        """An exception reached a parked operation: make sure its sudog is dead."""
        tokenacquire(self._lock)
        if sg[SG_QUEUED] and sg[SG_G] is not None:
            sg[SG_G] = None
            self._ndead += 1
            self._compact()
        tokenrelease(self._lock)

    def _compact(self) -> None:
        """Drop dead sudogs once they outnumber live ones. Requires ``_lock``."""
        if self._ndead > 16 and 2 * self._ndead > len(self._recvq) + len(self._sendq):
            self._purge()

    def _purge(self) -> None:
        """Drop every dead sudog and every stale one (its select is over). Requires ``_lock``.

        A sudog whose park has not committed yet has no G either, so it would
        be taken for dead: sweep before enqueueing one, never after.
        """
        for q in (self._recvq, self._sendq):
            live = [sg for sg in q if sg[SG_G] is not None
                    and not (sg[SG_SELECT] and sg[SG_SELECT].locked())]
            q.clear()
            q.extend(live)
        self._ndead = 0
        self._purgeat = max(PURGE_MIN, 2 * (len(self._recvq) + len(self._sendq)))


def dequeue(c: Chan[Any], q: deque[Sudog]) -> Sudog | None:
    """Take the first live waiter off ``q`` (Go's ``waitq.dequeue``). Requires ``c._lock``.

    Dead sudogs are dropped; a select's sudog counts only if this caller wins
    the race to complete that select (takes its token).
    """
    while q:
        sg = q.popleft()
        sg[SG_QUEUED] = False
        gp = sg[SG_G]
        if gp is None:
            c._ndead -= 1
            continue
        if sg[SG_SELECT] and not sg[SG_SELECT].acquire(False):
            continue
        return sg
    return None


def selectnbsendlocked(c: Chan[Any], v: Any) -> bool:
    """A send that never blocks: False if nobody waits and the buffer is full or closed.

    The caller holds ``c._lock``, which this releases (a timer's send checks
    its ``seq`` under the same lock first).
    """
    lock = c._lock
    if c._closed:
        lock.append(True)
        return False
    sg = dequeue(c, c._recvq)
    if sg is not None:
        lock.append(True)
        sg[SG_ELEM] = v
        sg[SG_SUCCESS] = True
        gp = sg[SG_G]
        gp.param = sg
        goready(gp)
        return True
    if len(c._buf) < c._cap:
        c._buf.append(v)
        lock.append(True)
        return True
    lock.append(True)
    return False


def chanparkcommit(gp: Any, sg: Sudog) -> bool:
    """Unlock function of a channel park: publish the parked G, release the channel.

    ``schedule`` inlines the common case (``gp`` not None).

    ``gp`` is None when the park is abandoned (the runtime stopped): the sudog
    stays dead instead.
    """
    c = sg[SG_C]
    if gp is None:
        c._ndead += 1
    else:
        sg[SG_G] = gp
    c._lock.append(True)
    return True


@types.coroutine
def _finished() -> Generator[Any, Any, None]:
    return
    yield  # a generator, made awaitable by types.coroutine


# An awaitable that is done already: awaiting an exhausted generator returns
# None at once, as often as anyone likes, and only reads it.
_DONE = _finished()
next(_DONE, None)  # run it to its end


class _BufChan(Chan[T]):
    """A buffered channel (``Chan(cap)`` with ``cap > 0`` makes one).

    Its ``send`` is a plain function: when the value fits in the buffer and
    nobody waits to receive, it stores it and returns an awaitable that is
    done already, which costs a third of making and running a coroutine (a
    producer filling a buffer does nothing else). Otherwise it returns
    ``Chan.send``'s coroutine, which starts over under the lock. The send
    happens when ``send`` is called, not when it is awaited: ``await ch.send(v)``
    cannot tell the difference, and ``go(ch.send, v)`` calls it only when the
    new goroutine runs (``startlater``).
    """

    __slots__ = ()

    def send(self, v: T) -> Awaitable[None]:  # type: ignore[override]
        """``ch <- v``."""
        lock = self._lock
        try:
            lock.pop()  # acquire (see lock_token)
        except IndexError:
            lock2(lock)
        if not self._recvq and len(self._buf) < self._cap and not self._closed:
            self._buf.append(v)
            lock.append(True)
            return _DONE
        lock.append(True)
        return Chan.send(self, v)

    # A plain function that always returns a generator-based coroutine: go()
    # runs it as an async goroutine (go(ch.send, v)), not as a sync one.
    send._returnsgen = True  # type: ignore[attr-defined]


class _NilChan(Chan[Any]):
    """The nil channel: never ready; sends and receives block forever."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(0)

    @types.coroutine
    def send(self, v: Any) -> Generator[Any, Any, None]:
        yield (park_m, None, None, waitReasonChanSendNilChan)

    @types.coroutine
    def recv(self, _wantok: int = 0) -> Generator[Any, Any, Any]:
        yield (park_m, None, None, waitReasonChanReceiveNilChan)

    def __anext__(self) -> Awaitable[Any]:  # Chan's is Chan.recv's body: not this recv
        return self.recv(2)

    def close(self) -> None:
        raise ClosedChannelError("close of nil channel")

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "nilchan"


nilchan: Chan[Any] = _NilChan()
