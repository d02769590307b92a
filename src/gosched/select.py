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
   The first round of this pass locks only the channel being tried (a
   successful try is one complete channel operation, which needs no other
   lock); if no case succeeds, the pass is repeated with every channel locked,
   and that is where the select decides to take default or to block.
2. Nothing ready: return ``default`` if there is one; otherwise enqueue a
   sudog on every channel and park. All the sudogs share a token, a fresh
   Lock: the first waker to take it wins; everyone else skips the sudogs.
3. After the wakeup, the winning sudog (the G's ``param``) says which case
   fired. Go now locks every channel again to unlink the losers; here they
   stay where they are, since their taken token already makes every waker
   skip them: a dequeuer drops them when it meets them, and a select that
   finds a queue grown long sweeps it first (``Chan._purge``).
"""

from __future__ import annotations

import operator
import random
import threading
import types
from collections.abc import Generator
from types import MethodType
from typing import Any

from .chan import Chan, ClosedChannelError, _BufChan, _NilChan, dequeue, nilchan
from .gotime import _TimerChan
from .runtime.lock_token import lock2, tokenacquire, tokenrelease
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
_SENDFUNCS = (Chan.send, _BufChan.send, _NilChan.send)
# A Timer's or Ticker's channel has receive methods of its own, kept out of
# _KINDS so that ordinary cases pay nothing for them (see _decode).
_TRECV, _TRECVOK = _TimerChan.recv, _TimerChan.recv_ok
_rand = random.random
_chanid = operator.attrgetter("_id")


# The decoding of the last select whose cases were all receives (any thread's):
# ``(cases, live, dflt, lockorder)``. A select loop passes the same cases time
# after time, often as fresh bound methods (``ch.recv`` makes a new one on each
# access, equal to the last); comparing the tuple with the last one costs less
# than taking every method apart again. The entry is immutable and replaced
# whole, so a thread that reads another's entry can only miss.
_last: tuple = ((), (), -1, ())


def _decode(cases: tuple) -> tuple[Any, list, int, Any]:
    """Check the case shapes; return the live cases ``(index, kind, chan, value)``,
    those of them that look ready (peeked at without locks), default's index, and
    the channels in lock order when known already (else None)."""
    global _last
    last = _last
    if cases == last[0]:
        for case in cases:  # equal: methods, or an odd __eq__ that says so
            if type(case) is not MethodType and case is not default:
                break
        else:
            ready = []
            for case in last[1]:  # all receives: _looksready, inlined
                c = case[2]
                if c._buf or c._closed or c._sendq:
                    ready.append(case)
            return last[1], ready, last[2], last[3]
    live = []
    ready = []
    dflt = -1
    i = -1
    uncached = False  # a send (its value changes) or a timer case (its timer must be looked at)
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
                uncached = True
            elif case is default:
                if dflt >= 0:
                    raise TypeError("select: multiple defaults in select") from None
                dflt = i
                continue
            elif (f := getattr(case, "__func__", None)) is _TRECV or f is _TRECVOK:
                # A timer channel (Go's c.timer != nil): run its timer if it is
                # due, so that an expired timer is a ready case (Go's selectgo
                # calls maybeRunChan). Its select is not cached: the next one
                # must look at the timer again.
                kind = _RECV if f is _TRECV else _RECVOK
                c = case.__self__
                v = None
                uncached = True
                c._timer.maybeRunChan()
            elif type(case) is tuple:
                msg = f"select: case {i} must be (ch.send, value), got {case!r}"
                raise TypeError(msg) from None
            else:
                msg = f"select: case {i} is not a channel operation: {case!r}{_hint(case)}"
                raise TypeError(msg) from None
        if c is not nilchan:  # cases on the nil channel are never ready
            case = (i, kind, c, v)
            live.append(case)
            # _looksready, inlined: this loop runs for every case of every select.
            if kind == _SEND:
                if c._closed or c._recvq or len(c._buf) < c._cap:
                    ready.append(case)
            elif c._buf or c._closed or c._sendq:
                ready.append(case)
    if uncached:
        return live, ready, dflt, None
    lockorder = tuple(_lockorder(live))
    _last = (cases, tuple(live), dflt, lockorder)
    return live, ready, dflt, lockorder


def _lockorder(live: Any) -> list[Chan[Any]]:
    """The channels of the live cases, each once, in the global lock order."""
    lockorder = sorted([case[2] for case in live], key=_chanid)
    if len(lockorder) > 1 and len(set(lockorder)) < len(lockorder):
        lockorder = sorted(set(lockorder), key=_chanid)  # a channel in two cases
    return lockorder


@types.coroutine
def select(*cases: Any) -> Generator[Any, Any, tuple[int, Any]]:
    """Wait until one of ``cases`` can proceed, do it, and return ``(index, value)``."""
    if not cases:
        yield (park_m, None, None, waitReasonSelectNoCases)  # select {}: forever
    live, ready, dflt, lockorder = _decode(cases)
    if len(cases) == 1 and dflt < 0:
        # Go's compiler makes a one-case select the plain channel operation
        # (walkSelectCases): it blocks with that operation's wait reason.
        case = cases[0]
        if type(case) is tuple:
            yield from case[0](case[1])
            return 0, None
        return 0, (yield from case())
    if not live:
        if dflt >= 0:
            return dflt, None
        yield (park_m, None, None, waitReasonSelect)  # only nil channels: forever

    # Pass 1, fast path: the cases that looked ready are tried one at a time
    # under their own channel's lock. Each try is a complete channel
    # operation, so a success needs no other lock; only when none succeeds are
    # all channels locked and checked again below, which is where the
    # decision to block (or take default) is made.
    if ready:
        result = _tryready(ready, None)
        if result is not None:
            return result

    if lockorder is None:
        lockorder = _lockorder(live)
    for c in lockorder:
        lock = c._lock
        try:
            lock.pop()  # acquire (see lock_token)
        except IndexError:
            lock2(lock)

    # Pass 1 with every channel locked: a case that can proceed now.
    result = _tryready([case for case in live if _looksready(case)], lockorder)
    if result is not None:
        return result

    if dflt >= 0:
        _selunlock(lockorder)
        return dflt, None

    # Pass 2: enqueue on every channel and park. Long queues are swept of
    # stale sudogs first: once enqueued, this select's own sudogs look dead to
    # a sweep until the park commits (their G is still None).
    for c in lockorder:
        if len(c._recvq) >= c._purgeat or len(c._sendq) >= c._purgeat:
            c._purge()
    if len(lockorder) < len(live):
        # A channel in several cases: the first of them enqueued is the one a
        # waker will take. Go enqueues in lock order, sorted from the random
        # poll order, so which case on one channel comes first is random.
        live = random.sample(live, len(live))
    token = threading.Lock()
    sgs = []
    for i, kind, c, v in live:
        sg = [None, v, False, c, True, token]
        (c._sendq if kind == _SEND else c._recvq).append(sg)
        sgs.append((i, kind, sg))
    try:
        won = yield (park_m, selparkcommit, (sgs, lockorder), waitReasonSelect)
    except BaseException:
        _selabandon(sgs)
        raise

    # Pass 3: the winner is the sudog the waker handed over.
    casi, kind = -1, _RECV
    for i, k, sg in sgs:
        if sg is won:
            casi, kind = i, k
            break
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


def _looksready(case: tuple[int, int, Chan[Any], Any]) -> bool:
    """Whether a case may proceed; exact only with its channel locked."""
    c = case[2]
    if case[1] == _SEND:
        return bool(c._closed or c._recvq or len(c._buf) < c._cap)
    return bool(c._buf or c._closed or c._sendq)


def _tryready(candidates: list, lockorder: list[Chan[Any]] | None) -> tuple[int, Any] | None:
    """Pass 1: try the cases that look ready, in random order, until one completes.

    With ``lockorder`` every channel in it is held (and released once a case
    completes); with None each try takes its own channel's lock. Returns the
    select's result, or None when no case could proceed.
    """
    while candidates:
        k = len(candidates)
        case = candidates.pop(int(_rand() * k)) if k > 1 else candidates.pop()
        if lockorder is None:
            lock = case[2]._lock
            try:
                lock.pop()  # acquire (see lock_token)
            except IndexError:
                lock2(lock)
            status, result, partner = _trycase(case)
            lock.append(True)  # release
        else:
            status, result, partner = _trycase(case)
            if status != _NOTREADY:
                _selunlock(lockorder)
        if status == _DONE:
            if partner is not None:
                goready(partner)
            return result
        if status == _SENDCLOSED:
            raise ClosedChannelError("send on closed channel")
    return None


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
        c._lock.append(True)  # release


def selparkcommit(gp: Any, arg: tuple) -> bool:
    """Unlock function of a select park: publish the G on every sudog, unlock every channel.

    ``gp`` is None when the park is abandoned: the sudogs stay dead.
    """
    sgs, lockorder = arg
    if gp is None:
        for _, _, sg in sgs:
            sg[SG_C]._ndead += 1
    else:
        gp.param = None
        for _, _, sg in sgs:
            sg[SG_G] = gp
    _selunlock(lockorder)
    return True


def _selabandon(sgs: list) -> None:
    for _, _, sg in sgs:
        c = sg[SG_C]
        tokenacquire(c._lock)
        if sg[SG_QUEUED] and sg[SG_G] is not None:
            sg[SG_G] = None
            c._ndead += 1
            if c._ndead > 16:
                c._compact()
        tokenrelease(c._lock)


def _hint(case: Any) -> str:
    """What a wrong case most likely meant (the slip, not the rule, is in the message)."""
    if isinstance(case, Chan):
        return " (a receive case is ch.recv, a send case (ch.send, v))"
    if isinstance(case, types.GeneratorType | types.CoroutineType):
        case.close()  # never to be awaited: no "never awaited" warning either
        return " (pass ch.recv, not ch.recv(): select makes the call)"
    return ""
