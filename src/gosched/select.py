"""``select`` (Go's ``runtime/select.go``).

``index, value = await select(ch.recv, ch2.recv_ok, (ch3.send, v), default)``

Go's algorithm, in three passes, with every channel involved locked in one
global order (channel creation order, our stand-in for Go's address order) so
that two selects can never deadlock each other:

1. Look for a case that can proceed now. Go walks the cases in a random
   permutation and takes the first ready one. We collect the cases that look
   ready, pick one uniformly at random, and try it; a case that turns out not
   to be ready (its only waiters were dead or lost their own select) is
   dropped and the pick repeats. Both give every ready case the same chance.
2. Nothing ready: return ``default`` if there is one; otherwise enqueue a
   sudog on every channel and park. The first waker to take the goroutine's
   ``selectDone`` flag wins; everyone else skips its sudogs.
3. After the wakeup, the winning sudog says which case fired; the others are
   marked dead on their channels.
"""

from __future__ import annotations

import operator
import random
import threading
import types
from collections.abc import Generator
from typing import Any

from .chan import Chan, ClosedChannelError, _NilChan, dequeue, nilchan
from .runtime.proc import goready, park_m
from .runtime.runtime2 import (
    SG_C,
    SG_ELEM,
    SG_G,
    SG_QUEUED,
    SG_SUCCESS,
    waitReasonSelect,
    waitReasonSelectNoCases,
)

_RECV, _RECVOK, _SEND = 0, 1, 2


class _Default:
    """The ``default`` case of a select: chosen only when no other case is ready."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "default"


default = _Default()

# What each bound method means as a case: the function behind ``ch.recv`` etc.
_KINDS: dict[Any, int] = {Chan.recv: _RECV, _NilChan.recv: _RECV, Chan.recv_ok: _RECVOK}
_SENDFUNCS = (Chan.send, _NilChan.send)
_rand = random.random
_chanid = operator.attrgetter("_id")


def _decode(cases: tuple) -> tuple[list[tuple[int, int, Chan[Any], Any]], int]:
    """Check the case shapes; return the live cases ``(index, kind, chan, value)`` and default."""
    live = []
    dflt = -1
    i = -1
    for case in cases:
        i += 1
        try:  # the common shapes first, without asking for them
            kind = _KINDS[case.__func__]
            c = case.__self__
            v = None
        except (AttributeError, KeyError, TypeError):
            if type(case) is tuple and len(case) == 2 and getattr(
                case[0], "__func__", None
            ) in _SENDFUNCS:
                kind, c, v = _SEND, case[0].__self__, case[1]
            elif case is default:
                if dflt >= 0:
                    raise TypeError("select: multiple defaults in select") from None
                dflt = i
                continue
            elif type(case) is tuple:
                msg = f"select: case {i} must be (ch.send, value), got {case!r}"
                raise TypeError(msg) from None
            else:
                msg = f"select: case {i} is not a channel operation: {case!r}"
                raise TypeError(msg) from None
        if c is not nilchan:  # cases on the nil channel are never ready
            live.append((i, kind, c, v))
    return live, dflt


@types.coroutine
def select(*cases: Any) -> Generator[Any, Any, tuple[int, Any]]:
    """Wait until one of ``cases`` can proceed, do it, and return ``(index, value)``."""
    if not cases:
        yield (park_m, None, None, waitReasonSelectNoCases)  # select {}: forever
    live, dflt = _decode(cases)
    if not live:
        if dflt >= 0:
            return dflt, None
        yield (park_m, None, None, waitReasonSelect)  # only nil channels: forever

    if len(live) == 1:
        lockorder = [live[0][2]]
    else:
        lockorder = sorted({c: None for _, _, c, _ in live}, key=_chanid)
    for c in lockorder:
        c._lock.acquire()

    # Pass 1: a case that can proceed now.
    candidates = []
    for case in live:
        _, kind, c, _ = case
        if kind == _SEND:
            if c._closed or c._recvq or len(c._buf) < c._cap:
                candidates.append(case)
        elif c._buf or c._closed or c._sendq:
            candidates.append(case)
    while candidates:
        k = len(candidates)
        case = candidates.pop(int(_rand() * k)) if k > 1 else candidates.pop()
        status, result, partner = _trycase(case)
        if status == _DONE:
            _selunlock(lockorder)
            if partner is not None:
                goready(partner)
            return result
        if status == _SENDCLOSED:
            _selunlock(lockorder)
            raise ClosedChannelError("send on closed channel")

    if dflt >= 0:
        _selunlock(lockorder)
        return dflt, None

    # Pass 2: enqueue on every channel and park.
    sgs = []
    for i, kind, c, v in live:
        sg = [None, v, False, c, True, True]
        (c._sendq if kind == _SEND else c._recvq).append(sg)
        sgs.append((i, kind, sg))
    try:
        won = yield (park_m, selparkcommit, (sgs, lockorder), waitReasonSelect)
    except BaseException:
        _selabandon(sgs)
        raise

    # Pass 3: the winner is the sudog the waker handed over; retire the rest.
    casi, kind = -1, _RECV
    for i, k, sg in sgs:
        if sg is won:
            casi, kind = i, k
            continue
        c = sg[SG_C]
        c._lock.acquire()
        if sg[SG_QUEUED] and sg[SG_G] is not None:
            sg[SG_G] = None
            c._ndead += 1
            if c._ndead > 16:
                c._compact()
        c._lock.release()
    if casi < 0:
        raise RuntimeError("selectgo: bad wakeup")
    if kind == _SEND:
        if not won[SG_SUCCESS]:
            raise ClosedChannelError("send on closed channel")
        return casi, None
    if kind == _RECVOK:
        return casi, (won[SG_ELEM], won[SG_SUCCESS])
    return casi, won[SG_ELEM]


_NOTREADY, _DONE, _SENDCLOSED = 0, 1, 2


def _trycase(case: tuple[int, int, Chan[Any], Any]) -> tuple[int, Any, Any]:
    """Try one case with all channels locked: ``(status, (index, value), G to ready)``."""
    i, kind, c, v = case
    if kind == _SEND:
        if c._closed:
            return _SENDCLOSED, None, None
        sg = dequeue(c, c._recvq)
        if sg is not None:
            sg[SG_ELEM] = v
            sg[SG_SUCCESS] = True
            sg[SG_G].param = sg
            return _DONE, (i, None), sg[SG_G]
        if len(c._buf) < c._cap:
            c._buf.append(v)
            return _DONE, (i, None), None
        return _NOTREADY, None, None
    buf = c._buf
    if buf:
        val = buf.popleft()
        partner = None
        sg = dequeue(c, c._sendq) if c._sendq else None
        if sg is not None:
            buf.append(sg[SG_ELEM])
            sg[SG_SUCCESS] = True
            sg[SG_G].param = sg
            partner = sg[SG_G]
        return _DONE, (i, (val, True) if kind == _RECVOK else val), partner
    if c._closed:
        return _DONE, (i, (None, False) if kind == _RECVOK else None), None
    sg = dequeue(c, c._sendq)
    if sg is None:
        return _NOTREADY, None, None
    val = sg[SG_ELEM]
    sg[SG_SUCCESS] = True
    sg[SG_G].param = sg
    return _DONE, (i, (val, True) if kind == _RECVOK else val), sg[SG_G]


def _selunlock(lockorder: list[Chan[Any]]) -> None:
    for c in reversed(lockorder):
        c._lock.release()


def selparkcommit(gp: Any, arg: tuple) -> bool:
    """Unlock function of a select park: publish the G on every sudog, unlock every channel.

    ``gp`` is None when the park is abandoned: the sudogs stay dead.
    """
    sgs, lockorder = arg
    if gp is None:
        for _, _, sg in sgs:
            sg[SG_C]._ndead += 1
    else:
        sd = gp.selectDone
        if sd is None:
            gp.selectDone = threading.Lock()
        elif sd.locked():
            sd.release()  # no stale sudog can race: all were retired in pass 3
        gp.param = None
        for _, _, sg in sgs:
            sg[SG_G] = gp
    _selunlock(lockorder)
    return True


def _selabandon(sgs: list) -> None:
    for _, _, sg in sgs:
        c = sg[SG_C]
        c._lock.acquire()
        if sg[SG_QUEUED] and sg[SG_G] is not None:
            sg[SG_G] = None
            c._ndead += 1
            if c._ndead > 16:
                c._compact()
        c._lock.release()
