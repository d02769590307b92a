"""The contestants: gosched and the peers it is measured against.

Each is a module `<name>_impl` with:

- `available() -> str | None`: None if it can run here, else why not. The peer library is
  imported only inside functions, so this module (and the harness) loads without it.
- `WORKLOADS`: workload name -> callable taking n, running the workload once, checking
  its own result (AssertionError if wrong) and returning the operations done, or a
  `Measured` when only one phase of the run is the measurement.
- `NOTES`: workload name -> how this contestant departs from the Go program, when it lacks
  the construct (no select, no unbuffered channel, ...); key "*" for a note on all of them.
- `SCALE`: workload name -> divisor of n, for contestants whose goroutines are OS threads.
- optionally `setup()`: called once in the fresh worker process before anything runs
  (gevent's monkey-patching belongs there, never in the harness).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Protocol, cast

from ..workloads import Measured

NAMES = ("gosched", "asyncio", "uvloop", "trio", "gevent", "threads", "pygolang")
PEERS = NAMES[1:]
BASELINE = "asyncio"  # ratios in the table are relative to the standard library's loop

WorkloadFn = Callable[[int], int | Measured]


class Contestant(Protocol):
    WORKLOADS: dict[str, WorkloadFn]
    NOTES: dict[str, str]
    SCALE: dict[str, int]

    def available(self) -> str | None: ...


def load(name: str) -> Contestant:
    if name not in NAMES:
        raise ValueError(f"unknown contestant {name!r}; choose from {', '.join(NAMES)}")
    return cast(Contestant, importlib.import_module(f"{__name__}.{name}_impl"))
