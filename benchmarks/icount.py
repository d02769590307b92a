"""Instructions per operation of gosched's workloads, counted by Valgrind.

    python benchmarks/icount.py [WORKLOAD ...]

Wall-clock time on a shared machine moves by 20-40% between runs; the number
of instructions the interpreter executes does not. Each workload runs twice
under ``valgrind --tool=callgrind`` (gomaxprocs=1, sysmon off, so no timer
decides anything), at two sizes, and the difference of the two counts over
the difference of the operations is the cost of one operation, start-up and
shutdown excluded. Needs ``valgrind`` on the PATH; takes a minute or so per
workload. Run it on an otherwise idle machine: the GIL's switch interval is
wall-clock time, so a busy machine adds thread handoffs (spawn counted 12%
more while a test suite ran beside it).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

# Two sizes per workload (skynet: leaves, sieve: primes; the rest: operations).
SIZES = {
    "spawn": (2000, 12000),
    "pingpong": (2000, 12000),
    "skynet": (1000, 10000),
    "sieve": (100, 300),
    "fanout": (2000, 12000),
    "select": (2000, 12000),
    "ring": (2000, 12000),
}

# Runs one workload in the child and writes how many operations it did.
CHILD = """
import os, sys
os.environ["GOMAXPROCS"] = "1"
import gosched.runtime.main as main
main._startsysmon = lambda: None
from gosched.bench.contestants import gosched_impl
fn = gosched_impl.WORKLOADS[sys.argv[1]]
with open(sys.argv[3], "w") as f:
    f.write(str(fn(int(sys.argv[2]))))
"""


def count(workload: str, n: int) -> tuple[int, int]:
    """(instructions, operations) of one run at size ``n``."""
    with tempfile.TemporaryDirectory() as tmp:
        ops_file = os.path.join(tmp, "ops")
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, "-c", CHILD, workload, str(n), ops_file],
            capture_output=True, text=True, check=True,
        )
        m = re.search(r"Collected : (\d+)", proc.stderr)
        if m is None:
            raise RuntimeError(f"no instruction count from valgrind:\n{proc.stderr}")
        with open(ops_file) as f:
            return int(m.group(1)), int(f.read())


def main() -> None:
    names = sys.argv[1:] or list(SIZES)
    for name in names:
        if name not in SIZES:
            raise SystemExit(f"unknown workload {name!r}; choose from {', '.join(SIZES)}")
    # Compile first, so that neither run pays for it.
    package = os.path.dirname(os.path.abspath(__import__("gosched").__file__))
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
    for name in names:
        small, large = SIZES[name]
        i1, o1 = count(name, small)
        i2, o2 = count(name, large)
        print(f"{name:10} {(i2 - i1) / (o2 - o1):10,.0f} instructions/op", flush=True)


if __name__ == "__main__":
    main()
