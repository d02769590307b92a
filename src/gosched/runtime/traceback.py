"""Goroutine headers, stack dumps and panic text, in Go's formats (``traceback.go``).

A dump is a list of goroutines separated by blank lines::

    goroutine 7 [chan receive, 2 minutes]:
    mymodule.worker(...)
    \t/path/to/mymodule.py:12
    created by mymodule.main in goroutine 1
    \t/path/to/mymodule.py:30

Frames are printed innermost first, as Go does; gosched's own frames are left
out, the way Go hides ``runtime.*`` frames from user goroutines. A parked async
goroutine's stack is the chain of its suspended coroutines (``cr_await``); a
goroutine running on a thread, or a sync goroutine, shows that thread's frames
above its g0.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

from . import proc
from .runtime2 import G, M, _Grunnable, _Grunning, _Gsyscall, _Gwaiting, gStatusStrings, sched, tls
from .timers import nanotime

_PKGDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _internal(filename: str) -> bool:
    return filename.startswith(_PKGDIR)


@lru_cache(maxsize=1024)
def _modname(filename: str) -> str:
    for name, mod in list(sys.modules.items()):
        f = getattr(mod, "__file__", None)
        if f and os.path.abspath(f) == filename:
            return name
    base = os.path.basename(filename)
    return base[:-3] if base.endswith(".py") else base


def funcname(code: CodeType) -> str:
    return f"{_modname(os.path.abspath(code.co_filename))}.{code.co_qualname}"


def _lineof(code: CodeType, lasti: int) -> int:
    if lasti < 0:
        return code.co_firstlineno
    for i, pos in enumerate(code.co_positions()):
        if i == lasti // 2:
            return pos[0] or code.co_firstlineno
    return code.co_firstlineno


def goroutineheader(gp: G, current: bool = False) -> str:
    """``goroutine N [status, M minutes, locked to thread]:``; for the goroutine
    asking (``current``), ``[running]`` whatever it is (a sync goroutine is in
    ``_Gsyscall``), as Go's ``runtime.Stack`` prints its caller."""
    if current:
        return f"goroutine {gp.goid} [running]:"
    st = gp.atomicstatus
    status = gStatusStrings.get(st, "???")
    if st == _Gwaiting and gp.waitreason:
        status = gp.waitreason
    extra = ""
    if st in (_Gwaiting, _Gsyscall) and gp.waitsince:
        minutes = int((nanotime() - gp.waitsince) // 60)
        if minutes >= 1:
            extra += f", {minutes} minutes"
    if gp.sysg:
        # A foreign thread in block_on, like Go's goroutine of a cgo callback:
        # locked to its thread. A sync goroutine runs on an M of its own too,
        # but Go says this only after runtime.LockOSThread, which has no twin.
        extra += ", locked to thread"
    return f"goroutine {gp.goid} [{status}{extra}]:"


def _coroframes(coro: Any) -> list[tuple[CodeType, int]]:
    """The frames of a suspended coroutine chain, innermost first."""
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            frames.append((frame.f_code, frame.f_lineno))
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    frames.reverse()
    return frames


def _threadframes(frame: FrameType | None) -> list[tuple[CodeType, int]]:
    """A thread's goroutine frames, innermost first: the user frames above its g0.

    The goroutine's stack begins at its entry (``schedule`` for an async
    goroutine, ``runsync`` for a sync one); above it, gosched's own frames
    are skipped (a park in progress, ``block_on``) but the user code they
    call is kept (the coroutine ``block_on`` drives). Standard-library frames
    that only gosched called (``threading`` under ``newm``) are the runtime's,
    not the goroutine's: a run of them with no user frame is dropped.
    """
    frames: list[tuple[CodeType, int]] = []
    run: list[tuple[CodeType, int]] = []  # the frames since the last gosched frame
    while frame is not None:
        code = frame.f_code
        if _internal(code.co_filename):
            if code.co_name in _ENTRIES:  # the goroutine's function is what it called
                frames += run
                run = []
                break
            if any(not _stdlib(c.co_filename) for c, _ in run):
                frames += run
            run = []
        else:
            run.append((code, frame.f_lineno))
        frame = frame.f_back
    return frames + run


# Where a goroutine's frames begin on its thread (below: g0's, or the code that
# called gosched.run).
_ENTRIES = frozenset({"schedule", "runsync", "mstart"})
_STDLIB = os.path.dirname(os.__file__)


def _stdlib(filename: str) -> bool:
    return filename.startswith(_STDLIB) and "site-packages" not in filename


# Go prints at most this many of a stack's innermost and outermost frames, and
# how many it left out in between (traceback.go, Go 1.21 on).
TRACEBACK_INNER_FRAMES = 50
TRACEBACK_OUTER_FRAMES = 50


def _format(frames: list[tuple[CodeType, int]], system: bool = False) -> list[str]:
    """Frames as Go prints them, innermost first; gosched's own only at
    ``GOTRACEBACK=system``, as Go shows ``runtime.*`` frames only then."""
    shown: list[tuple[CodeType, int] | None] = [
        (c, n) for c, n in frames if system or not _internal(c.co_filename)]
    elided = len(shown) - TRACEBACK_INNER_FRAMES - TRACEBACK_OUTER_FRAMES
    if elided > 0:
        shown[TRACEBACK_INNER_FRAMES:-TRACEBACK_OUTER_FRAMES] = [None]
    out = []
    for frame in shown:
        if frame is None:
            out.append(f"...{elided} frames elided...")
            continue
        code, line = frame
        out.append(f"{funcname(code)}(...)")
        out.append(f"\t{code.co_filename}:{line}")
    return out


def createdby(gp: G) -> list[str]:
    if gp.goid == 1 or gp.gopc is None:
        return []
    code, lasti = gp.gopc, gp.gopcoff
    where = f" in goroutine {gp.parentGoid}" if gp.parentGoid else ""
    return [f"created by {funcname(code)}{where}", f"\t{code.co_filename}:{_lineof(code, lasti)}"]


def runningon(gp: G) -> M | None:
    """The M running ``gp`` (Go keeps ``gp.m``; we look it up: it is only needed here)."""
    for mp in list(sched.allm):
        if mp.curg is gp:
            return mp
    return None


def goroutinestack(gp: G, frame: FrameType | None = None, system: bool = False) -> str:
    """One goroutine's header, frames, and creator."""
    lines = [goroutineheader(gp, current=frame is not None)]
    if frame is not None:
        lines += _format(_threadframes(frame), system)
    elif gp.coro is not None and gp.atomicstatus not in (_Grunning, _Gsyscall):
        # Suspended: its frames stay put while we read them (see stack). A
        # goroutine in a system call runs inside its coroutine: its thread's
        # frames are read instead, as for a running one.
        lines += _format(_coroframes(gp.coro), system)
    elif gp.coro is None and gp.atomicstatus == _Grunnable and gp.lockedm is None:
        # A sync goroutine that has not started: its function, at its entry
        # (an async one shows so through its unstarted coroutine).
        code = getattr(getattr(gp.fn, "__func__", gp.fn), "__code__", None)
        if code is not None:
            lines += _format([(code, code.co_firstlineno)])
    else:
        mp = gp.lockedm or runningon(gp)
        f = sys._current_frames().get(mp.ident) if mp is not None else None
        if f is None:
            lines.append("\tgoroutine running on other thread; stack unavailable")
        else:
            lines += _format(_threadframes(f), system)
    lines += createdby(gp)
    return "\n".join(lines)


def _live(gp: G) -> bool:
    return gp.atomicstatus not in (0, 6) and gp.goid > 0


def goroutinedump(current: G | None = None, frame: FrameType | None = None,
                  system: bool = False, skip: G | None = None) -> str:
    """Every live goroutine, ``current`` first, then in ``allgs`` order (Go's
    ``tracebackothers``): a G reused from the free list keeps its place under
    its new goid. ``skip`` is one already printed (a panic's)."""
    allgs = [gp for gp in list(sched.allgs) if _live(gp)]
    parts = []
    if current is not None:
        parts.append(goroutinestack(current, frame, system))
    for gp in allgs:
        if gp is not current and gp is not skip:
            try:
                parts.append(goroutinestack(gp, system=system))
            except Exception as e:  # a goroutine changing under us: show what we can
                parts.append(f"{goroutineheader(gp)}\n\t(stack unavailable: {e})")
    return "\n\n".join(parts) + "\n" if parts else ""


def stack(all: bool = True) -> str:
    """``runtime.Stack``: the calling goroutine's stack, then every other goroutine's."""
    mp = tls.m
    gp = mp.curg if mp is not None else None
    frame = sys._getframe(1)
    if gp is None:  # a thread that runs no goroutine: only the others, if any
        return proc.withWorldStopped(goroutinedump) if all else ""
    if not all:
        return goroutinestack(gp, frame) + "\n"
    return proc.withWorldStopped(lambda: goroutinedump(gp, frame))


def gotraceback() -> tuple[int, bool, bool]:
    """``(level, all, crash)`` from ``GOTRACEBACK``, read as Go's ``setTraceback`` does.

    Level 0 prints no goroutine, 1 user frames, 2 gosched's own frames too;
    ``all`` adds every other goroutine to a panic's report; ``crash`` ends
    the process with SIGABRT (the ``gosched`` command). A number is a level
    with ``all``; anything else unknown is level 0 with ``all``.
    """
    value = os.environ.get("GOTRACEBACK", "")
    known = {"none": (0, False, False), "single": (1, False, False), "": (1, False, False),
             "all": (1, True, False), "system": (2, True, False), "crash": (2, True, True)}
    if value in known:
        return known[value]
    return (int(value) if value.isascii() and value.isdigit() else 0), True, False


def printindented(s: str) -> str:
    """Go's ``printindented`` (1.23 on): the lines of a multi-line value after the
    first are indented by a tab, so they cannot pass for lines of the report."""
    return s.replace("\n", "\n\t")


class PanicPrintError(Exception):
    """Printing a panic's value raised (Go: a throw in ``preprintpanics``)."""


def panicvalue(exc: BaseException) -> str:
    """``TypeName: message`` of a panic, or ``TypeName`` without one.

    If ``str(exc)`` raises, Go's ``preprintpanics`` throws ``panic while
    printing panic value: `` with what the failed printing panicked with:
    here its message, else its type.
    """
    name = type(exc).__qualname__
    try:
        msg = str(exc)
    except Exception as e:
        try:
            what = str(e)
        except Exception:
            what = ""
        what = what or f"type {type(e).__module__}.{type(e).__qualname__}"
        raise PanicPrintError(f"panic while printing panic value: {what}") from None
    return printindented(f"{name}: {msg}" if msg else name)


def addpanicnote(gp: G, exc: BaseException) -> None:
    """Attach ``panicnote`` to ``exc``, replacing the note of an earlier panic
    of the same exception object (re-raised in a later goroutine or run)."""
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [n for n in notes if not (isinstance(n, str) and n.startswith(PANIC_NOTES))]
    elif notes is not None:
        return  # not a list: add_note would raise, and run must re-raise exc itself
    exc.add_note(panicnote(gp, exc))


# How the notes panicnote writes begin: the gosched command prints these.
PANIC_NOTES = ("panic: ", "fatal error: panic while printing panic value")


def panicnote(gp: G, exc: BaseException) -> str:
    """What Go prints for ``exc`` escaping goroutine ``gp``: ``panic: ...``, then
    as ``GOTRACEBACK`` says, its stack and every other goroutine's."""
    level, others, _ = gotraceback()
    try:
        lines = [f"panic: {panicvalue(exc)}"]
    except PanicPrintError as e:  # a throw: fatal errors show every goroutine
        lines, others = [f"fatal error: {printindented(str(e))}"], True
    if level == 0:
        return "\n".join(lines)
    lines += ["", f"goroutine {gp.goid} [running]:"]
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append((tb.tb_frame.f_code, tb.tb_lineno))
        tb = tb.tb_next
    lines += _format(frames[::-1], level >= 2)  # innermost first, as Go prints a stack
    lines += createdby(gp)
    note = "\n".join(lines)
    if others:
        rest = goroutinedump(system=level >= 2, skip=gp)
        if rest:
            note += "\n\n" + rest.rstrip("\n")
    return note
