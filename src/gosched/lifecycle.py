"""``gosched lifecycle``: a goroutine's whole life, narrated by the Go runtime's names.

A small program runs with the lifecycle tracer on. Every line is printed by
the scheduler itself as it executes (see ``runtime/trace.py``): which M and P
did the step, for which G (``g0`` when the step runs on the M's scheduler
stack), the depth of the thread's Python stack at that moment, and Go's name
for the step. Afterwards a quieter run of many more switches checks the claim
the narration makes visible: g0 never grows.
"""

from __future__ import annotations

import sys
from typing import TextIO

from .chan import Chan
from .gotime import sleep
from .runtime import trace
from .runtime.main import run
from .runtime.proc import go

SWITCHES = 100_000


async def worker(ch: Chan[int], done: Chan[int]) -> None:
    v = await ch.recv()
    await done.send(v * 2)


async def demo(out: TextIO) -> None:
    def say(text: str) -> None:
        print(f"\n--- {text}", file=out)

    ch: Chan[int] = Chan()
    done: Chan[int] = Chan()
    say("main: go worker(ch, done)   [a new G, into runnext; main keeps running]\n"
        "                                [G5, Go's finalizer goroutine, waited there: "
        "it goes to the queue]")
    go(worker, ch, done)
    say("main: ch <- 21              [the worker has not run yet: main parks]")
    await ch.send(21)
    say("main: <-done                [the worker sent; main was readied into runnext]")
    r = await done.recv()
    say(f"main: got {r}; sleep 1ms    [a timer on the P; g0 runs it and readies main;\n"
        "                                meanwhile G5 runs once and parks for good]")
    await sleep(0.001)
    say("main: go worker again       [gfget reuses the dead G the first worker left]")
    go(worker, ch, done)
    await ch.send(1)
    await done.recv()
    say("main returns                [goexit: the runtime stops]")


async def pingpong(n: int) -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()

    async def ponger() -> None:
        for _ in range(n):
            await b.send(await a.recv())

    go(ponger)
    for i in range(n):
        await a.send(i)
        await b.recv()


def main(gomaxprocs: int = 1, out: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    print("  M   P    G  depth     step            detail", file=out)
    narrator = trace.Lifecycle(out)
    trace.install(narrator)
    try:
        run(demo, out, gomaxprocs=gomaxprocs)
    finally:
        trace.uninstall()
    print(f"\n{narrator.steps} steps narrated. Depth of each step run on g0, every time it ran:",
          file=out)
    for key, depths in sorted(narrator.g0depths.items()):
        print(f"  {key:<34} {_span(depths)}", file=out)

    probe = trace.DepthProbe()
    trace.install(probe)
    try:
        run(pingpong, SWITCHES // 2, gomaxprocs=gomaxprocs)
    finally:
        trace.uninstall()
    print(f"\nThen {SWITCHES:,} goroutine switches more, measured the same way:", file=out)
    for (mid, name), depths in sorted(probe.depths.items()):
        if name in ("schedule", "findRunnable", "execute", "mcall(park_m)"):
            print(f"  M{mid} {name:<21} {_span(depths)}", file=out)
    print("g0 never grows: every mcall returns to the same frame of schedule().", file=out)
    return 0


def _span(depths: set[int]) -> str:
    lo, hi = min(depths), max(depths)
    return f"depth {lo}" if lo == hi else f"depth {lo}..{hi} (GREW)"
