"""Cancellation, deadlines and request-scoped values (Go's ``context`` package).

A context is a node in a tree that grows down from ``background()``. Each
derived context holds its parent; a cancelable one (``with_cancel``,
``with_deadline``, ``with_timeout``) is also registered in its nearest
cancelable ancestor's ``children`` so that canceling a context cancels its
whole subtree. Cancellation flows down and never up: canceling a child
leaves its parent alone, and also unregisters the child from it, so a
long-lived parent does not accumulate references to its dead children.

Go's layout, in Python
----------------------
* ``_CancelCtx`` is Go's ``cancelCtx``: ``err``, the ``done`` channel (made
  lazily, on the first ``done()``; a context canceled before anyone asked
  gets the shared, already closed ``_closedchan``) and ``children``, all
  guarded by its lock. Canceling sets ``err``, closes ``done`` and cancels
  the children. Go recurses into the children while holding the parent's
  lock; we walk the subtree with a loop over the path of held locks, the
  same locks in the same order, so a deep tree cannot overflow the Python
  stack and a ``cancel()`` never returns before its subtree is canceled.
* ``_TimerCtx`` adds a deadline and the timer that cancels it; canceling it
  any other way stops the timer, so a canceled context leaves nothing on
  the timer heaps (nor keeps a program that is otherwise stuck from being
  reported as deadlocked).
* ``_ValueCtx`` carries one key and value. ``value`` walks up the chain of
  parents with a loop, like Go's ``value`` function.
* A parent that is not one of ours (any object with the four methods) is
  watched by a goroutine waiting for either its ``done()`` or the child's,
  exactly as Go does for foreign Context implementations.

Errors: ``ctx.err()`` is None, or an instance of ``Canceled`` ("context
canceled") or ``DeadlineExceeded`` ("context deadline exceeded"). Go's
DeadlineExceeded reports ``Timeout() == true``; ours is a ``TimeoutError``,
so ``except TimeoutError`` catches it along with network timeouts. The
whole subtree canceled by one call shares one error instance, as Go's share
one value.

Deadlines are ``time.monotonic()`` seconds, the runtime's clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from .chan import Chan, nilchan
from .gotime import Timer, after_func
from .runtime.proc import go
from .runtime.timers import nanotime
from .select import select

__all__ = [
    "CancelFunc",
    "Canceled",
    "Context",
    "DeadlineExceeded",
    "background",
    "todo",
    "with_cancel",
    "with_deadline",
    "with_timeout",
    "with_value",
]

CancelFunc = Callable[[], None]


class Canceled(Exception):
    """``context.Canceled``: the context was canceled."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or ("context canceled",)))


class DeadlineExceeded(TimeoutError):
    """``context.DeadlineExceeded``: the context's deadline passed."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(args or ("context deadline exceeded",)))


class Context:
    """The interface every context implements (Go's ``context.Context``)."""

    __slots__ = ()

    def deadline(self) -> float | None:
        """When work done for this context should be canceled (monotonic seconds), or None."""
        return None

    def done(self) -> Chan[Any]:
        """A channel closed when this context is canceled; ``nilchan`` if it never can be."""
        return nilchan

    def err(self) -> BaseException | None:
        """None while ``done()`` is open; afterwards ``Canceled`` or ``DeadlineExceeded``."""
        return None

    def value(self, key: Any) -> Any:
        """The value bound to ``key`` in this context or its ancestors, or None."""
        return None


class _EmptyCtx(Context):
    """``background()`` and ``todo()``: never canceled, no values, no deadline."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


_background = _EmptyCtx("context.Background")
_todo = _EmptyCtx("context.TODO")


def background() -> Context:
    """The root of every context tree: never canceled, no values, no deadline."""
    return _background


def todo() -> Context:
    """Like ``background()``; marks code where the right context is not clear yet."""
    return _todo


# A reusable closed channel: done() of a context canceled before anyone asked for it.
_closedchan: Chan[Any] = Chan()
_closedchan.close()

# The key by which value() finds the nearest _CancelCtx up the chain.
_cancelCtxKey = object()


class _CancelCtx(Context):
    """Go's ``cancelCtx``: can be canceled; cancellation also cancels its children."""

    __slots__ = ("__weakref__", "_children", "_done", "_err", "_mu", "_parent")

    def __init__(self, parent: Context) -> None:
        self._parent = parent
        self._mu = threading.Lock()
        self._done: Chan[Any] | None = None  # guarded by _mu: created lazily
        # guarded by _mu: registered descendants; None once canceled
        self._children: dict[_CancelCtx, None] | None = {}
        self._err: BaseException | None = None  # guarded by _mu: set by the first cancel

    def deadline(self) -> float | None:
        return _deadline(self._parent)

    def done(self) -> Chan[Any]:
        with self._mu:
            d = self._done
            if d is None:
                d = self._done = Chan()
            return d

    def err(self) -> BaseException | None:
        with self._mu:
            return self._err

    def value(self, key: Any) -> Any:
        return _value(self, key)

    def _cancel(self, removeFromParent: bool, err: BaseException) -> None:
        """Close ``done``, cancel every descendant, and (if asked) leave the parent's children."""
        if not self._cancel1(err):
            return  # already canceled
        if removeFromParent:
            _removeChild(self._parent, self)

    def _cancel1(self, err: BaseException) -> bool:
        """Cancel this context and its subtree; False if it already was canceled.

        As in Go, a node's lock is held until its whole subtree is canceled
        (locks are taken parent before child, Go's order): whoever finds a
        node canceled under its lock knows the subtree below is canceled too,
        so a ``cancel()`` that returns leaves no descendant running (with the
        lock let go earlier, a second canceler skipped a subtree the first
        was still walking). The walk is a loop over the path of held nodes,
        not recursion: a deep tree cannot overflow the Python stack.
        """
        self._mu.acquire()
        if self._err is not None:
            self._mu.release()
            return False
        path = [(self, self._markcanceled(err))]
        while path:
            c, children = path[-1]
            child = next(children, None)
            if child is None:
                path.pop()
                c._mu.release()
                continue
            child._mu.acquire()
            if child._err is not None:  # its own cancel finished with the subtree
                child._mu.release()
                continue
            path.append((child, child._markcanceled(err)))
        return True

    def _markcanceled(self, err: BaseException) -> Iterator[_CancelCtx]:
        """Set ``err``, close ``done``, stop the timer; return the children to
        cancel next. Requires ``_mu``."""
        self._err = err
        d = self._done
        if d is None:
            self._done = _closedchan
        else:
            d.close()
        children = self._children
        self._children = None
        self._stoptimer()
        return iter(children or ())

    def _stoptimer(self) -> None:
        """A _TimerCtx stops its timer here. Requires ``_mu``."""

    def __repr__(self) -> str:
        return _contextname(self)

    def _suffix(self) -> str:
        return ".WithCancel"


class _TimerCtx(_CancelCtx):
    """Go's ``timerCtx``: a cancelCtx with a deadline, canceled by a timer."""

    __slots__ = ("_deadline", "_timer")

    def __init__(self, parent: Context, deadline: float) -> None:
        super().__init__(parent)
        self._deadline = deadline
        self._timer: Timer | None = None  # guarded by _mu

    def deadline(self) -> float | None:
        return self._deadline

    def _stoptimer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _suffix(self) -> str:
        left = self._deadline - nanotime()
        return f".WithDeadline({self._deadline:.6f} [{left:.6f}s])"


class _ValueCtx(Context):
    """Go's ``valueCtx``: one key-value pair; everything else is the parent's."""

    __slots__ = ("_key", "_parent", "_val")

    def __init__(self, parent: Context, key: Any, val: Any) -> None:
        self._parent = parent
        self._key = key
        self._val = val

    def deadline(self) -> float | None:
        return _deadline(self._parent)

    def done(self) -> Chan[Any]:
        return _pastvalues(self._parent).done()

    def err(self) -> BaseException | None:
        return _pastvalues(self._parent).err()

    def value(self, key: Any) -> Any:
        return _value(self, key)

    def __repr__(self) -> str:
        return _contextname(self)

    def _suffix(self) -> str:
        return f".WithValue({_stringify(self._key)}, {_stringify(self._val)})"


# Go's contexts delegate to their parents; these walk up the chain in a loop
# instead, so that no depth of nesting can exhaust the Python stack.


def _pastvalues(c: Context) -> Context:
    """The nearest context from ``c`` up that is not a value context."""
    while type(c) is _ValueCtx:
        c = c._parent
    return c


def _deadline(c: Context) -> float | None:
    """``c.deadline()``, skipping the contexts that only pass their parent's on."""
    while type(c) is _ValueCtx or type(c) is _CancelCtx:
        c = c._parent  # type: ignore[attr-defined]
    return c.deadline()


def _contextname(c: Context) -> str:
    """Go's ``contextName`` chain: the root's name, then each child's part."""
    parts = []
    while type(c) in (_CancelCtx, _TimerCtx, _ValueCtx):
        parts.append(c._suffix())  # type: ignore[attr-defined]
        c = c._parent  # type: ignore[attr-defined]
    # Any other context is named as Go's contextName names it: by its String()
    # (here its own __str__) if it has one, else by its type.
    parts.append(repr(c) if type(c) is _EmptyCtx else _stringify(c))
    return "".join(reversed(parts))


def _stringify(v: Any) -> str:
    """How Go's ``valueCtx.String`` shows a key or value: a string as it is, an
    object with a ``__str__`` of its own (Go: a ``Stringer``) by it, ``<nil>``,
    else the name of its type (Go prints ``reflectlite.TypeOf(v).String()``)."""
    if isinstance(v, str):
        return v
    if v is None:
        return "<nil>"
    tp = type(v)
    if tp.__str__ is not object.__str__:
        return str(v)
    return tp.__name__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__name__}"


def _value(c: Context, key: Any) -> Any:
    """Go's ``value``: walk up the parents until one knows ``key``."""
    while True:
        tp = type(c)
        if tp is _ValueCtx:
            k = c._key  # type: ignore[attr-defined]
            # Go compares interface values: equal dynamic types and equal values.
            if k is key or (type(k) is type(key) and k == key):
                return c._val  # type: ignore[attr-defined]
            c = c._parent  # type: ignore[attr-defined]
        elif tp is _CancelCtx or tp is _TimerCtx:
            if key is _cancelCtxKey:
                return c
            c = c._parent  # type: ignore[attr-defined]
        elif tp is _EmptyCtx:
            return None
        else:
            return c.value(key)


def _parentCancelCtx(parent: Context) -> _CancelCtx | None:
    """The nearest _CancelCtx above, if ``parent.done()`` is its channel (Go's
    ``parentCancelCtx``). A foreign context that wraps ours but overrides
    ``done`` is not a _CancelCtx's child: it must be watched instead."""
    done = parent.done()
    if done is _closedchan or done is nilchan:
        return None
    p = parent.value(_cancelCtxKey)
    if not isinstance(p, _CancelCtx):
        return None
    with p._mu:
        pdone = p._done
    if pdone is not done:
        return None
    return p


def _propagateCancel(parent: Context, child: _CancelCtx) -> None:
    """Arrange for ``child`` to be canceled when ``parent`` is."""
    done = parent.done()
    if done is nilchan:
        return  # parent is never canceled
    err = parent.err()
    if err is not None:
        child._cancel(False, err)  # parent is already canceled
        return
    p = _parentCancelCtx(parent)
    if p is not None:
        with p._mu:
            err = p._err
            if err is None:
                p._children[child] = None  # type: ignore[index]
        if err is not None:
            child._cancel(False, err)  # canceled since we looked
        return
    go(_watchParent, parent, child)


async def _watchParent(parent: Context, child: _CancelCtx) -> None:
    """Cancel ``child`` when a foreign ``parent`` is done (unless the child is first)."""
    i, _ = await select(parent.done().recv, child.done().recv)
    if i == 0:
        err = parent.err()
        child._cancel(False, err if err is not None else Canceled())


def _removeChild(parent: Context, child: _CancelCtx) -> None:
    p = _parentCancelCtx(parent)
    if p is None:
        return
    with p._mu:
        if p._children is not None:
            p._children.pop(child, None)


def with_cancel(parent: Context) -> tuple[Context, CancelFunc]:
    """A child of ``parent`` with a new ``done()`` channel, closed when ``cancel`` is
    called or when the parent's is closed, whichever happens first.

    Call ``cancel`` as soon as the work is done: it releases the context's
    resources (its place among the parent's children). Calling it again does nothing.
    """
    if parent is None:
        raise TypeError("cannot create context from nil parent")
    c = _CancelCtx(parent)
    _propagateCancel(parent, c)
    return c, lambda: c._cancel(True, Canceled())


def with_deadline(parent: Context, d: float) -> tuple[Context, CancelFunc]:
    """Like ``with_cancel``, and also canceled with ``DeadlineExceeded`` at time ``d``
    (``time.monotonic()`` seconds). A deadline later than the parent's changes
    nothing: the result is then a plain ``with_cancel`` child."""
    if parent is None:
        raise TypeError("cannot create context from nil parent")
    if isinstance(d, bool) or not isinstance(d, (int, float)):
        raise TypeError(f"context: deadline must be a number, not {type(d).__name__}")
    if d != d:
        raise ValueError("context: deadline is NaN")
    cur = parent.deadline()
    if cur is not None and cur < d:
        # The current deadline is already sooner than the new one.
        return with_cancel(parent)
    c = _TimerCtx(parent, d)
    _propagateCancel(parent, c)
    dur = d - nanotime()
    if dur <= 0:
        c._cancel(True, DeadlineExceeded())  # deadline has already passed
        return c, lambda: c._cancel(False, Canceled())
    with c._mu:
        if c._err is None:
            c._timer = after_func(dur, _deadlineFired, c)
    return c, lambda: c._cancel(True, Canceled())


async def _deadlineFired(c: _TimerCtx) -> None:
    c._cancel(True, DeadlineExceeded())


def with_timeout(parent: Context, timeout: float) -> tuple[Context, CancelFunc]:
    """``with_deadline(parent, time.monotonic() + timeout)``."""
    return with_deadline(parent, nanotime() + timeout)


def with_value(parent: Context, key: Any, val: Any) -> Context:
    """A child of ``parent`` in which ``value(key)`` is ``val``.

    Use it for request-scoped data that crosses API boundaries, not for
    optional parameters. Keys should be of a type of your own, to avoid
    collisions between packages.
    """
    if parent is None:
        raise TypeError("cannot create context from nil parent")
    if key is None:
        raise TypeError("nil key")
    try:
        hash(key)
    except TypeError:
        raise TypeError("key is not comparable") from None
    return _ValueCtx(parent, key, val)
