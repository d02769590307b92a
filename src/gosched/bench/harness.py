"""The benchmark suite: schedule the measurements, take medians, print the table.

Method, and why:
- every measurement is a fresh worker process (see worker.py), so contestants share
  nothing: not threads, not monkey-patches, not allocator pools, not peak RSS;
- measurements are interleaved round-robin (for each repeat, for each workload, for each
  contestant) so that drift of the machine (thermal, other load) hits all alike instead
  of whichever contestant happened to run last;
- each cell is the median run of the repeats, and every number in a row comes from that
  one real run rather than from medians of different runs;
- the ratio is asyncio's cost per operation over the contestant's, so > 1 means faster
  than asyncio; per operation, because OS-thread contestants run smaller sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import site
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .contestants import BASELINE, NAMES, PEERS, load
from .workloads import WORKLOADS, size_for

Record = dict[str, Any]  # one worker's JSON line


@dataclass
class SuiteResult:
    workloads: list[str]
    contestants: list[str]
    repeats: int
    gomaxprocs: int | None
    quick: bool
    sizes: dict[str, dict[str, int]]  # contestant -> workload -> n
    notes: dict[str, dict[str, str]]  # contestant -> workload (or "*") -> note
    runs: list[Record] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # contestant -> reason

    def median(self, contestant: str, workload: str) -> Record | None:
        """The median successful run (the lower one of an even count), or None."""
        ok = sorted(
            (
                r
                for r in self.runs
                if r["contestant"] == contestant
                and r["workload"] == workload
                and r["status"] == "ok"
            ),
            key=lambda r: r["ns_per_op"],
        )
        return ok[(len(ok) - 1) // 2] if ok else None

    def failure(self, contestant: str, workload: str) -> str | None:
        for r in self.runs:
            if (r["contestant"], r["workload"], r["status"]) == (contestant, workload, "failed"):
                return str(r["error"])
        return None

    def ratio(self, contestant: str, workload: str) -> float | None:
        """asyncio's cost per op over this contestant's: > 1 is faster than asyncio."""
        base, mine = self.median(BASELINE, workload), self.median(contestant, workload)
        if base is None or mine is None:
            return None
        return float(base["ns_per_op"]) / float(mine["ns_per_op"])

    def python(self) -> str:
        return next((str(r["python"]) for r in self.runs if "python" in r), "?")

    def to_json(self) -> dict[str, Any]:
        summary = {
            c: {
                w: {
                    "median": self.median(c, w),
                    "ratio_to_asyncio": self.ratio(c, w),
                    "failure": self.failure(c, w),
                }
                for w in self.workloads
            }
            for c in self.contestants
            if c not in self.unavailable
        }
        return {**asdict(self), "summary": summary}


def run_suite(
    workloads: Sequence[str],
    contestants: Sequence[str],
    repeats: int = 3,
    gomaxprocs: int | None = None,
    quick: bool = False,
    json_path: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> SuiteResult:
    """Measure every workload for every contestant `repeats` times, one process each."""
    modules = {c: load(c) for c in contestants}  # peers themselves are not imported here
    result = SuiteResult(
        workloads=list(workloads),
        contestants=list(contestants),
        repeats=repeats,
        gomaxprocs=gomaxprocs,
        quick=quick,
        sizes={
            c: {w: size_for(w, quick, m.SCALE.get(w, 1)) for w in workloads}
            for c, m in modules.items()
        },
        notes={c: dict(m.NOTES) for c, m in modules.items()},
    )
    if timeout is None:
        timeout = 120.0 if quick else 900.0
    failed: set[tuple[str, str]] = set()  # a cell that failed once is not run again
    total = repeats * len(workloads) * len(contestants)
    step = 0
    for repeat in range(1, repeats + 1):
        for w in workloads:
            for c in contestants:
                step += 1
                if c in result.unavailable or (c, w) in failed:
                    continue
                n = result.sizes[c][w]
                record = _spawn_worker(c, w, n, gomaxprocs, timeout)
                result.runs.append(record)
                if record["status"] == "unavailable":
                    result.unavailable[c] = str(record["error"])
                elif record["status"] != "ok":
                    failed.add((c, w))
                log(f"[{step}/{total}] repeat {repeat} {w:<8} {c:<9} n={n:<8} {_brief(record)}")
    if json_path is not None:
        Path(json_path).write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def _spawn_worker(
    contestant: str, workload: str, n: int, gomaxprocs: int | None, timeout: float
) -> Record:
    cmd = [sys.executable, "-m", "gosched.bench.worker", contestant, workload, str(n)]
    if gomaxprocs is not None:
        cmd += ["--gomaxprocs", str(gomaxprocs)]
    base: Record = {"contestant": contestant, "workload": workload, "n": n}
    try:
        proc = subprocess.run(
            cmd, env=_worker_env(gomaxprocs), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {**base, "status": "failed", "error": f"timed out after {timeout:g} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            record: Record = json.loads(line)
            return record
    # No JSON line: the process died (a signal, the OOM killer, an interpreter abort).
    tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
    return {**base, "status": "failed", "error": f"worker exit {proc.returncode}: {tail[0]}"}


def _worker_env(gomaxprocs: int | None) -> dict[str, str]:
    env = dict(os.environ)
    if gomaxprocs is not None:
        env["GOMAXPROCS"] = str(gomaxprocs)  # before the worker starts: import order moot
    # Run from a source checkout, the worker must find this very package. Installed, it
    # already does, and putting site-packages on PYTHONPATH would move it ahead of the
    # standard library, so only a directory that is not a site directory is added.
    root = str(Path(__file__).resolve().parents[2])
    site_dirs = {
        str(Path(d).resolve()) for d in [*site.getsitepackages(), site.getusersitepackages()]
    }
    if root not in site_dirs:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


def _brief(record: Record) -> str:
    if record["status"] != "ok":
        return str(record["error"])
    return f"{_per_op(record['ns_per_op'])}/op  {record['peak_rss_kib'] / 1024:.0f} MiB"


# ---- the table ----


def _per_op(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.2f} {unit}"
    return f"{ns:.0f} ns"


def _bytes(n: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def format_table(result: SuiteResult) -> str:
    procs = result.gomaxprocs if result.gomaxprocs is not None else "default"
    lines = [
        f"gosched bench: {result.python()}, gomaxprocs={procs} (gosched only), "
        f"{'quick' if result.quick else 'full'} sizes, median of {result.repeats} "
        "(a fresh process each)",
        f"vs {BASELINE} = {BASELINE}'s time per op / the contestant's (> 1: faster); "
        "mem/op = (peak RSS - RSS before the run) / ops",
    ]
    header = ("contestant", "n", "per op", "vs " + BASELINE, "time", "peak RSS", "mem/op")
    for w in result.workloads:
        spec = WORKLOADS[w]
        lines += ["", f"{w}: {spec.summary} (one op = one {spec.unit})"]
        rows: list[tuple[str, ...]] = [header]
        for c in result.contestants:
            if c in result.unavailable:
                continue
            run = result.median(c, w)
            if run is None:
                rows.append((c, str(result.sizes[c][w]), "FAILED: " + str(result.failure(c, w))))
                continue
            ratio = result.ratio(c, w)
            grown = (run["peak_rss_kib"] - run["baseline_rss_kib"]) * 1024 / run["ops"]
            rows.append(
                (
                    c,
                    str(run["n"]),
                    _per_op(run["ns_per_op"]),
                    "-" if ratio is None else f"{ratio:.2f}x",
                    f"{run['seconds']:.3f} s",
                    _bytes(run["peak_rss_kib"] * 1024),
                    _bytes(max(grown, 0.0)),
                )
            )
        lines += _align(rows) + _notes(result, w, "    ")
    general = _notes(result, "*", "  ")
    if general:
        lines += ["", "notes:", *general]
    if result.unavailable:
        lines += ["", "not run:"]
        lines += [f"  {c}: {reason}" for c, reason in result.unavailable.items()]
    return "\n".join(lines)


def _notes(result: SuiteResult, workload: str, indent: str) -> list[str]:
    """One line per distinct note, naming every contestant it applies to (uvloop shares
    asyncio's programs, so their notes would otherwise come in pairs)."""
    by_note: dict[str, list[str]] = {}
    for c in result.contestants:
        note = result.notes[c].get(workload)
        if note is not None and c not in result.unavailable:
            by_note.setdefault(note, []).append(c)
    return [f"{indent}{', '.join(names)}: {note}" for note, names in by_note.items()]


def _align(rows: list[tuple[str, ...]]) -> list[str]:
    """Contestant left-aligned, numbers right-aligned; a FAILED row runs on unaligned."""
    full = [r for r in rows if len(r) == len(rows[0])]
    widths = [max(len(r[i]) for r in full) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [
            cell.rjust(widths[i + 1]) if len(r) == len(rows[0]) else cell
            for i, cell in enumerate(r[1:])
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


# ---- command line ----


def _names(value: str, allowed: Sequence[str], what: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in names if v not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {', '.join(unknown)}; choose from {', '.join(allowed)}"
        )
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gosched bench",
        description="Run the standard workloads on gosched and its peers, one fresh "
        "process per measurement, and print a table.",
    )
    parser.add_argument(
        "--gomaxprocs",
        type=int,
        metavar="N",
        help="number of Ps for gosched (default: its own default)",
    )
    parser.add_argument(
        "--vs",
        type=lambda v: _names(v, PEERS, "contestant"),
        default=list(PEERS),
        metavar=",".join(PEERS),
        help="peers to measure against (default: all)",
    )
    parser.add_argument(
        "--workloads",
        type=lambda v: _names(v, list(WORKLOADS), "workload"),
        default=list(WORKLOADS),
        metavar=",".join(WORKLOADS),
        help="workloads to run (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="about a tenth of the sizes")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="N",
        help="measurements per cell; the median is shown (default: 3)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="per measurement (default: 120 with --quick, else 900)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write every run as JSON")
    parser.add_argument("--svg", metavar="FILE", help="also draw the ratios as an SVG chart")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    contestants = ["gosched", *(c for c in NAMES if c in args.vs)]
    result = run_suite(
        args.workloads,
        contestants,
        args.repeat,
        args.gomaxprocs,
        args.quick,
        args.json,
        args.timeout,
    )
    print(format_table(result))
    if args.svg:
        from .plot import plot

        plot(result, args.svg)
    failed = any(
        result.median(c, w) is None
        for c in contestants
        if c not in result.unavailable
        for w in args.workloads
    )
    return 1 if failed else 0
