"""Seeing the scheduler: the lifecycle narrator and the execution tracer.

Tracing must cost nothing when it is off, so it is not a flag tested on every
path. Scheduler functions that have a Go name are marked ``@narrated``; turning
a tracer on *swaps in* a wrapper for each of them in every gosched module that
refers to it (the callers look functions up as module globals at call time),
and turning it off swaps the originals back. The few steps that are not
function calls in our code, because they are a line inside g0's loop
(``execute``, ``gogo``, ``mcall``, ``goexit1``), call ``sink.event`` behind a
local variable that g0's loop reads once when the M starts.

Each event carries the M, P and G ids and the depth of the current thread's
Python stack, measured on the spot. On g0 that depth is the proof of the
trampoline design: it is the same after a million goroutine switches as after
the first.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

_registry: list[tuple[str, str]] = []

# The active sink, read by g0 loops when their M starts; None when tracing is off.
sink: Any = None


def narrated(fn: Callable) -> Callable:
    """Mark a scheduler function as a step the tracers can see."""
    _registry.append((fn.__module__, fn.__name__))
    return fn


def stackdepth() -> int:
    """Number of Python frames on the calling thread's stack, this function excluded."""
    f = sys._getframe(1)
    n = 0
    while f is not None:
        n += 1
        f = f.f_back
    return n


def _describe(x: Any, argname: str) -> str | None:
    """How a narrated step shows one of its arguments (None: not at all)."""
    from .runtime2 import G, M, P

    if argname == "ids":
        return None  # newproc1's goid cache: the P shown already, or the M
    if isinstance(x, G):
        return f"G{x.goid}"
    if isinstance(x, P):
        return f"P{x.id}"
    if isinstance(x, M):
        return f"M{x.id}"
    if isinstance(x, bool):
        return f"{argname}={str(x).lower()}"
    if argname == "fn" and callable(x):
        return getattr(x, "__qualname__", type(x).__name__)
    return None


class Sink:
    """Base of the tracers: the runtime calls ``event`` at every narrated step.

    ``depth`` is the depth of the Python stack of the frame doing the step
    (for a narrated function, its own frame), counted from the thread's bottom.
    """

    def event(self, name: str, detail: str = "", depth: int = 0, **kw: Any) -> None:
        raise NotImplementedError

    def call(self, name: str, args: tuple, depth: int, argnames: tuple = ()) -> None:
        parts = [_describe(a, n) for a, n in zip(args, argnames or ("",) * len(args), strict=False)]
        self.event(name, "(" + ", ".join(p for p in parts if p is not None) + ")", depth)


_wrappers: dict[int, tuple[Callable, Callable]] = {}  # id(wrapper) -> (wrapper, original)
_install_lock = threading.Lock()


def install(s: Sink) -> None:
    """Turn tracing on: wrap every narrated function everywhere it is referenced."""
    global sink
    with _install_lock:
        if sink is not None:
            raise RuntimeError("gosched: a tracer is already installed")
        originals = {}
        for modname, fname in _registry:
            mod = sys.modules.get(modname)
            if mod is not None:
                originals[id(getattr(mod, fname))] = (getattr(mod, fname), fname)
        wrappers = {key: _wrap(fn, name, s) for key, (fn, name) in originals.items()}
        for mod in _goschedmodules():
            for attr, val in list(vars(mod).items()):
                w = wrappers.get(id(val))
                if w is not None and val is originals[id(val)][0]:
                    _wrappers[id(w)] = (w, val)
                    setattr(mod, attr, w)
        sink = s


def uninstall() -> None:
    """Turn tracing off: put every original back, also where a module imported
    while tracing was on bound a wrapper itself (``from .proc import handoffp``)."""
    global sink
    with _install_lock:
        for mod in _goschedmodules():
            for attr, val in list(vars(mod).items()):
                pair = _wrappers.get(id(val))
                if pair is not None and pair[0] is val:
                    setattr(mod, attr, pair[1])
        _wrappers.clear()
        sink = None


def _goschedmodules() -> list[Any]:
    return [mod for name, mod in list(sys.modules.items())
            if mod is not None and (name == "gosched" or name.startswith("gosched."))]


def _wrap(fn: Callable, name: str, s: Sink) -> Callable:
    argnames = fn.__code__.co_varnames[: fn.__code__.co_argcount]

    @functools.wraps(fn)
    def traced(*args: Any, **kw: Any) -> Any:
        s.call(name, args, stackdepth(), argnames)  # this frame stands where fn's will be
        return fn(*args, **kw)

    return traced


def _ids(ong0: bool = False) -> tuple[str, str, str]:
    from .runtime2 import tls

    mp = tls.m
    if mp is None:
        return "-", "-", "-"
    pp = mp.p
    gp = None if ong0 else mp.curg
    return f"M{mp.id}", f"P{pp.id}" if pp is not None else "P-", f"G{gp.goid}" if gp else "g0"


class Lifecycle(Sink):
    """Prints each scheduler step by its Go name: on which M and P, for which G, how deep."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out if out is not None else sys.stderr
        self.lock = threading.Lock()
        self.g0depths: dict[str, set[int]] = {}  # M -> depths seen on g0
        self.steps = 0

    def call(self, name: str, args: tuple, depth: int, argnames: tuple = ()) -> None:
        caller = sys._getframe(2).f_code.co_name  # call <- traced wrapper <- caller
        parts = [_describe(a, n) for a, n in zip(args, argnames or ("",) * len(args), strict=False)]
        detail = "(" + ", ".join(p for p in parts if p is not None) + ")"
        self.event(name, detail, depth, caller=caller)

    def event(self, name: str, detail: str = "", depth: int = 0, **kw: Any) -> None:
        m, p, g = _ids(kw.get("ong0", False))
        with self.lock:
            self.steps += 1
            if g == "g0":
                where = f" <- {kw['caller']}" if "caller" in kw else ""
                self.g0depths.setdefault(f"{m} {name}{where}", set()).add(depth)
            print(f"{m:>4} {p:>3} {g:>4}  depth {depth:<3} {name:<15} {detail}".rstrip(),
                  file=self.out)


class DepthProbe(Sink):
    """Records the stack depth of every step on g0, per M and step (used by tests)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depths: dict[tuple[int, str], set[int]] = {}
        self.events = 0

    def event(self, name: str, detail: str = "", depth: int = 0, **kw: Any) -> None:
        from .runtime2 import tls

        mp = tls.m
        if mp is None or (mp.curg is not None and not kw.get("ong0")):
            return
        with self.lock:
            self.events += 1
            self.depths.setdefault((mp.id, name), set()).add(depth)

    def call(self, name: str, args: tuple, depth: int, argnames: tuple = ()) -> None:
        self.event(name, "", depth)


class AllDepths(DepthProbe):
    """Records the stack depth of every step, on g0 and on goroutines, per call site."""

    def call(self, name: str, args: tuple, depth: int, argnames: tuple = ()) -> None:
        caller = sys._getframe(2).f_code.co_name  # call <- traced wrapper <- caller
        self.event(name, "", depth, caller=caller)

    def event(self, name: str, detail: str = "", depth: int = 0, **kw: Any) -> None:
        from .runtime2 import tls

        mp = tls.m
        if mp is None:
            return
        where = "g0" if mp.curg is None or kw.get("ong0") else "G"
        key = (mp.id, f"{where} {name} <- {kw.get('caller', 'schedule')}")
        with self.lock:
            self.events += 1
            self.depths.setdefault(key, set()).add(depth)


class ExecTrace(Sink):
    """Collects a Trace Event Format file: a track per M and per P, a slice per run of a G.

    Open the result in Perfetto (ui.perfetto.dev) or chrome://tracing. Flow
    arrows go from the goroutine that readied another to that goroutine's next
    run.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        # Opened now, as Go's trace.Start takes an open writer: a bad path
        # fails before the program runs, not after.
        self.file = open(path, "w")  # noqa: SIM115 (closed by write)
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()
        self.open: dict[int, tuple[float, int, int | None]] = {}  # M id -> (start, goid, pid)
        self.flows = 0
        self.pending: dict[int, int] = {}  # id(G) -> flow started by the goready that readied it

    def now(self) -> float:
        return (time.perf_counter() - self.t0) * 1e6

    def event(self, name: str, detail: str = "", depth: int = 0, **kw: Any) -> None:
        from .runtime2 import tls

        mp = tls.m
        if mp is None:
            return
        ts = self.now()
        gp = kw.get("g")
        with self.lock:
            if name == "gogo" and gp is not None:
                pid = mp.p.id if mp.p is not None else None
                self.open[mp.id] = (ts, gp.goid, pid)
                flow = self.pending.pop(id(gp), 0)
                if flow:
                    self.events.append(
                        {"ph": "f", "bp": "e", "id": flow, "name": "ready",
                         "cat": "flow", "pid": 1, "tid": mp.id, "ts": ts}
                    )
            elif name.startswith("mcall") or name == "goexit1":
                self._close(mp.id, ts, name)
            elif name == "goready" and gp is not None:
                self.flows += 1
                self.pending[id(gp)] = self.flows
                self.events.append(
                    {"ph": "s", "id": self.flows, "name": "ready", "cat": "flow",
                     "pid": 1, "tid": mp.id, "ts": ts}
                )
            else:
                self.events.append(
                    {"ph": "i", "s": "t", "name": name, "pid": 1, "tid": mp.id, "ts": ts,
                     "args": {"detail": detail}}
                )

    def call(self, name: str, args: tuple, depth: int, argnames: tuple = ()) -> None:
        from .runtime2 import G

        if name == "goready" and args and isinstance(args[0], G):
            self.event(name, g=args[0])
        elif name == "handoffsyncg":  # M0 passes a sync G on: its run here is over
            from .runtime2 import tls

            mp = tls.m
            if mp is not None:
                with self.lock:
                    self._close(mp.id, self.now(), name)
        elif name in ("newproc1", "stopm", "startm", "handoffp", "wakep"):
            super().call(name, args, depth, argnames)

    def _close(self, mid: int, ts: float, why: str) -> None:
        begun = self.open.pop(mid, None)
        if begun is None:
            return
        start, goid, pid = begun
        dur = max(ts - start, 0.01)
        slice_ = {"ph": "X", "name": f"G{goid}", "ts": start, "dur": dur,
                  "args": {"goid": goid, "ended_by": why}}
        self.events.append({**slice_, "pid": 1, "tid": mid})
        if pid is not None:
            self.events.append({**slice_, "pid": 2, "tid": pid})

    def write(self) -> None:
        meta = [{"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "Ms (threads)"}},
                {"ph": "M", "name": "process_name", "pid": 2, "args": {"name": "Ps"}}]
        tids = {(e["pid"], e["tid"]) for e in self.events if "tid" in e}
        for pid, tid in sorted(tids):
            label = f"M{tid}" if pid == 1 else f"P{tid}"
            meta.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid,
                         "args": {"name": label}})
        with self.file as f:
            json.dump({"traceEvents": meta + self.events, "displayTimeUnit": "ns"}, f)
