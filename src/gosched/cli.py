"""The ``gosched`` command: run a program, narrate the scheduler, run the benchmarks.

``gosched run FILE.py`` is ``go run``: FILE's ``main`` runs as goroutine 1 and
the process exits like a Go program: status 0, or 2 after a panic or a fatal
error, printed Go-style on stderr. Under the CLI, sysmon reports goroutines that
hold their P longer than 100 ms (``GOSCHED_BLOCKPROF``), and SIGQUIT (Ctrl-\\)
prints every goroutine and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import run as gorun
from .runtime.proc import Deadlock, FatalError


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        from .bench import main as benchmain

        return benchmain(argv[1:])
    parser = argparse.ArgumentParser(prog="gosched", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run FILE's main() as goroutine 1")
    r.add_argument("--gomaxprocs", type=int, metavar="N")
    r.add_argument("--lifecycle", action="store_true", help="narrate every scheduler step")
    r.add_argument("--trace", metavar="FILE", help="write an execution trace (Perfetto)")
    r.add_argument("--schedtrace", type=int, metavar="MS", help="print SCHED lines every MS ms")
    r.add_argument("file", metavar="FILE.py")
    r.add_argument("args", nargs=argparse.REMAINDER)
    lc = sub.add_parser("lifecycle", help="narrate a small program's goroutines, step by step")
    lc.add_argument("--gomaxprocs", type=int, default=1, metavar="N")
    sub.add_parser("bench", help="run the benchmark suite (see gosched bench --help)")
    ns = parser.parse_args(argv)
    if ns.cmd == "lifecycle":
        from .lifecycle import main as lifecyclemain

        return lifecyclemain(ns.gomaxprocs)
    return runfile(ns)


def runfile(ns: argparse.Namespace) -> int:
    path = Path(ns.file)
    if not path.is_file():
        print(f"gosched run: {path}: no such file", file=sys.stderr)
        return 1
    if ns.schedtrace:
        godebug = [p for p in os.environ.get("GODEBUG", "").split(",") if p]
        os.environ["GODEBUG"] = ",".join([*godebug, f"schedtrace={ns.schedtrace}"])
    os.environ.setdefault("GOSCHED_BLOCKPROF", "100")
    sys.argv = [str(path), *ns.args]
    sys.path.insert(0, str(path.resolve().parent))
    module = loadmain(path)
    fn = getattr(module, "main", None)
    if not callable(fn):
        print(f"gosched run: {path} has no main function", file=sys.stderr)
        return 1
    signal.signal(signal.SIGQUIT, _sigquit) if hasattr(signal, "SIGQUIT") else None
    try:
        gorun(fn, gomaxprocs=ns.gomaxprocs, lifecycle=ns.lifecycle, trace=ns.trace)
    except (Deadlock, FatalError) as e:
        sys.stderr.write(f"fatal error: {e}\n\n{e.dump}")
        return 2
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        sys.stderr.write("signal: interrupt\n")
        return 2
    except BaseException as e:
        notes = [n for n in getattr(e, "__notes__", ()) if n.startswith("panic: ")]
        if notes and e.__cause__ is None and e.__context__ is None:
            sys.stderr.write(notes[0] + "\n")  # Go's report, and only it
        else:  # a chained exception: Python's report keeps the whole chain
            traceback.print_exception(e)
        return 2
    return 0


def loadmain(path: Path) -> Any:
    """Import FILE as a module named after it (a Go program's package is ``main``)."""
    name = path.stem if path.stem.isidentifier() else "main"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"gosched run: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _sigquit(signum: int, frame: Any) -> None:
    from .runtime.traceback import goroutinedump

    sys.stderr.write("SIGQUIT: quit\n\n" + goroutinedump())
    sys.stderr.flush()
    os._exit(2)


if __name__ == "__main__":
    raise SystemExit(main())
