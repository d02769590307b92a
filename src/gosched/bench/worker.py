"""One measurement in a fresh process.

    python -m gosched.bench.worker CONTESTANT WORKLOAD N [--gomaxprocs K]

A fresh interpreter per measurement means no contestant inherits another's threads,
monkey-patches, allocator pools or peak RSS. The worker runs the workload once at about
1% size to warm up, then once at size N under the clock, and prints one JSON line.
A workload that fails its own check is reported with status "failed", and a contestant
that cannot load here with status "unavailable"; the process exits 0 either way, since
the JSON line is the answer.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import sysconfig
import time
import traceback
from typing import Any

from .contestants import NAMES, load
from .workloads import WORKLOADS, Measured, warmup_size


def python_build() -> str:
    build = f"{platform.python_implementation()} {platform.python_version()}"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        build += " free-threaded"
    return build


def peak_rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS counts bytes


def current_rss_kib() -> int:
    """Resident set now. The baseline must be the current size, not the peak so far: the
    warm-up's peak may have been freed and would hide that much of the workload's growth."""
    try:
        with open("/proc/self/statm") as statm:
            resident_pages = int(statm.read().split()[1])
    except OSError:  # not Linux: the peak so far is the best bound there is
        return peak_rss_kib()
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def measure(contestant: str, workload: str, n: int, gomaxprocs: int | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "contestant": contestant,
        "workload": workload,
        "n": n,
        "gomaxprocs": gomaxprocs,
        "python": python_build(),
        "status": "ok",
        "error": None,
    }
    module = load(contestant)
    reason = module.available()
    if reason is None:
        setup = getattr(module, "setup", None)
        try:
            if setup is not None:
                setup()
        except ImportError as exc:  # importable on paper, but its build does not load
            reason = f"{type(exc).__name__}: {exc}"
    if reason is not None:
        record.update(status="unavailable", error=f"not installed: {reason}")
        return record

    run = module.WORKLOADS[workload]
    try:
        run(warmup_size(workload, n))
        gc.collect()  # start the timed run without the warm-up's garbage
        baseline = current_rss_kib()
        t0 = time.perf_counter()
        result = run(n)
        wall = time.perf_counter() - t0
        peak = peak_rss_kib()
    except Exception as exc:  # a failed check or a crash of the workload: report, don't die
        traceback.print_exc()
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        return record

    ops, seconds = result if isinstance(result, Measured) else (result, wall)
    record.update(
        ops=ops,
        seconds=seconds,
        wall_seconds=wall,
        ns_per_op=seconds / ops * 1e9,
        peak_rss_kib=peak,
        baseline_rss_kib=baseline,
    )
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gosched.bench.worker", description="Run one benchmark measurement."
    )
    parser.add_argument("contestant", choices=NAMES)
    parser.add_argument("workload", choices=list(WORKLOADS))
    parser.add_argument("n", type=int)
    parser.add_argument("--gomaxprocs", type=int, default=None, metavar="K")
    args = parser.parse_args(argv)
    if args.gomaxprocs is not None:
        # gosched reads GOMAXPROCS when a runtime starts; the harness also sets it in the
        # environment before this process begins, so the order of imports cannot matter.
        os.environ["GOMAXPROCS"] = str(args.gomaxprocs)
    record = measure(args.contestant, args.workload, args.n, args.gomaxprocs)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
