"""The ``gosched`` command: run a program, narrate the scheduler, run the benchmarks.

``gosched run FILE.py`` is ``go run``: FILE's ``main`` runs as goroutine 1 and
the process exits like a Go program: status 0, or 2 after a panic or a fatal
error, printed Go-style on stderr (as much of it as ``GOTRACEBACK`` asks for),
at once: as in Go, no other goroutine's ``finally`` runs. Under the CLI,
sysmon reports goroutines that hold their P longer than 100 ms
(``GOSCHED_BLOCKPROF``), and SIGQUIT (Ctrl-\\) prints every goroutine and
exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from . import run as gorun
from .runtime import main as rtmain
from .runtime import proc
from .runtime.proc import Deadlock, FatalError, Goexit
from .runtime.traceback import PANIC_NOTES, PanicPrintError, gotraceback, panicvalue, printindented


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        from .bench import main as benchmain

        return benchmain(argv[1:])
    parser = argparse.ArgumentParser(prog="gosched", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run FILE's main() as goroutine 1", usage=(
        "%(prog)s [-h] [--gomaxprocs N] [--lifecycle] [--trace FILE] [--schedtrace MS] "
        "FILE.py [ARGS...]"))
    r.add_argument("--gomaxprocs", type=positive, metavar="N")
    r.add_argument("--lifecycle", action="store_true", help="narrate every scheduler step")
    r.add_argument("--trace", metavar="FILE", help="write an execution trace (Perfetto)")
    r.add_argument("--schedtrace", type=positive, metavar="MS",
                   help="print SCHED lines every MS ms")
    # One REMAINDER for FILE and ARGS: a positional FILE would swallow a "--" that follows it.
    r.add_argument("command", nargs=argparse.REMAINDER, metavar="FILE.py [ARGS...]")
    lc = sub.add_parser("lifecycle", help="narrate a small program's goroutines, step by step")
    lc.add_argument("--gomaxprocs", type=positive, default=1, metavar="N")
    sub.add_parser("bench", help="run the benchmark suite (see gosched bench --help)")
    ns = parser.parse_args(argv)
    if ns.cmd == "lifecycle":
        from .lifecycle import main as lifecyclemain

        return lifecyclemain(ns.gomaxprocs)
    if ns.command[:1] == ["--"]:  # a "--" before FILE ends gosched's options, not FILE's
        del ns.command[0]
    if not ns.command:
        r.error("the following arguments are required: FILE.py")
    return runfile(ns)


def positive(s: str) -> int:
    """The type of counts and periods: argparse reports ``invalid positive value: '0'``."""
    if (n := int(s)) < 1:
        raise ValueError(s)
    return n


def runfile(ns: argparse.Namespace) -> int:
    path = Path(ns.command[0])
    if not path.is_file():
        print(f"gosched run: {path}: no such file", file=sys.stderr)
        return 1
    if ns.schedtrace:
        godebug = [p for p in os.environ.get("GODEBUG", "").split(",") if p]
        os.environ["GODEBUG"] = ",".join([*godebug, f"schedtrace={ns.schedtrace}"])
    os.environ.setdefault("GOSCHED_BLOCKPROF", "100")
    sys.argv = [str(path), *ns.command[1:]]
    sys.path.insert(0, str(path.resolve().parent))
    previous = sys.modules.get("main")
    try:
        return runmain(path, ns)
    finally:  # for a caller in this process (the tests), as runpy restores __main__
        if previous is None:
            sys.modules.pop("main", None)
        else:
            sys.modules["main"] = previous


def runmain(path: Path, ns: argparse.Namespace) -> int:
    filename = os.path.abspath(path)
    try:
        module = loadmain(filename)
    except Exception as e:  # Python's report of FILE's error, from FILE's frames down
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        traceback.print_exception(e.with_traceback(tb))
        return 1
    fn = getattr(module, "main", None)
    if not callable(fn):
        print(f"gosched run: {path} has no main function", file=sys.stderr)
        return 1
    signal.signal(signal.SIGQUIT, _sigquit) if hasattr(signal, "SIGQUIT") else None
    proc.exitprocess = exitprocess
    try:
        gorun(fn, gomaxprocs=ns.gomaxprocs, lifecycle=ns.lifecycle, trace=ns.trace)
    except BaseException as e:
        if isinstance(e, OSError) and ns.trace and e.filename == ns.trace:
            print(f"gosched run: --trace {ns.trace}: {e.strerror}", file=sys.stderr)
            return 1
        crash(*ending(e))
    finally:
        proc.exitprocess = None
    return 0


def exitprocess(reason: tuple) -> NoReturn:
    """``proc.exitprocess``: end the process for the runtime's exit ``reason``
    (``("return", value, _)`` or ``(kind, exception, _)``) without waiting for
    ``run`` to return (see ``runtime.main.exitwatch``)."""
    rtmain.stoptracing()
    crash(*(("", 0) if reason[0] == "return" else ending(reason[1])))


def ending(e: BaseException) -> tuple[str, int]:
    """What Go prints on stderr when the run ends with ``e``, and the exit status."""
    if isinstance(e, Deadlock | FatalError):
        # After main's Goexit there may be no dump; GOTRACEBACK=none prints none.
        dump = f"\n{e.dump}" if e.dump and gotraceback()[0] > 0 else ""
        return f"fatal error: {e}\n{dump}", 2
    if isinstance(e, SystemExit):  # Python's exit: the status, or the message and status 1
        if e.code is None or isinstance(e.code, int):
            return "", e.code or 0
        return f"{e.code}\n", 1
    if isinstance(e, KeyboardInterrupt):
        return "signal: interrupt\n", 2
    notes = [n for n in getattr(e, "__notes__", ()) if n.startswith(PANIC_NOTES)]
    if notes:
        return printpanics(e, notes[0]), 2
    # Not a goroutine's panic (the run could not start): Python's report.
    return "".join(traceback.format_exception(e)), 2


def crash(text: str, status: int) -> NoReturn:
    """End the process after a panic, a fatal error or an exit, as Go's ``exit``:
    at once, with no other goroutine's ``finally`` run (``proc.exitprocess``
    left them unclosed) and no ``atexit`` hook. ``GOTRACEBACK=crash`` aborts
    instead, as Go raises SIGABRT."""
    sys.stdout.flush()
    sys.stderr.write(text)
    sys.stderr.flush()
    if status == 2 and gotraceback()[2]:
        os.abort()
    os._exit(status)


def loadmain(filename: str) -> ModuleType:
    """Run FILE's top level as module ``main``: Go's package main, so dumps read
    ``main.worker(...)`` as Go's do.

    Not ``__main__``: a FILE that guards ``gosched.run(main)`` with
    ``if __name__ == "__main__"`` (to run under plain ``python`` too) would
    start its program while loading. Not FILE's stem either: a FILE named
    time.py, registered as ``time``, took ``time.sleep`` from the runtime.
    FILE stays registered for the whole run, so its classes pickle and its
    string annotations resolve. An unguarded ``gosched.run`` call on its top
    level raises, rather than run main a first time while loading.
    """
    module = ModuleType("main")
    module.__file__ = filename
    sys.modules["main"] = module
    rtmain.loading = filename
    try:
        exec(compile(Path(filename).read_bytes(), filename, "exec"), vars(module))
    finally:
        rtmain.loading = None
    return module


def printpanics(exc: BaseException, note: str) -> str:
    """Go's ``printpanics``: the exceptions ``exc`` was raised while handling come
    first, each ``[recovered]``, then ``exc``'s report; each after the first is
    indented by a tab::

        panic: ZeroDivisionError: division by zero [recovered]
        \tpanic: ValueError: chained

        goroutine 1 [running]:

    The chain is the one Python would print (``raise ... from None`` hides it).
    A ``Goexit`` in it prints nothing, as Go skips a goexit link.
    """
    if not note.startswith("panic: "):  # printing its value failed: a fatal error
        return note + "\n"
    earlier, seen = [], {id(exc)}
    while (exc := _chained(exc)) is not None and id(exc) not in seen:
        seen.add(id(exc))
        if not isinstance(exc, Goexit):
            try:
                earlier.append(f"panic: {panicvalue(exc)} [recovered]")
            except PanicPrintError as e:  # as Go's preprintpanics, which prints them all first
                return f"fatal error: {printindented(str(e))}\n" + note.partition("\n")[2] + "\n"
    return "\n\t".join([*reversed(earlier), note]) + "\n"


def _chained(exc: BaseException) -> BaseException | None:
    if exc.__cause__ is not None or exc.__suppress_context__:
        return exc.__cause__
    return exc.__context__


def _sigquit(signum: int, frame: Any) -> None:
    from .runtime.traceback import goroutinedump

    sys.stderr.write("SIGQUIT: quit\n\n" + goroutinedump())
    sys.stderr.flush()
    os._exit(2)


if __name__ == "__main__":
    raise SystemExit(main())
