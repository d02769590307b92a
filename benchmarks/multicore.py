"""gomaxprocs=2 against gomaxprocs=1, in the same process, interleaved.

On a free-threaded CPython, a CPU-bound workload split across goroutines
should run almost twice as fast with two Ps as with one (on two cores). With
the GIL, two Ps cannot add CPU, only cross-thread wakeups; the scheduler's
locality rules (readied goroutines go to the readier's ``runnext``, no thread
is woken for work its own P will run next) must keep channel-heavy programs
from slowing down.

    python benchmarks/multicore.py              # whatever this interpreter is
    /opt/py313t/bin/python3.13t benchmarks/multicore.py

Each cell is the median of 5 runs; runs alternate between the two settings.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import gosched
from gosched import Chan, go

REPEATS = 5


def sumsquares(lo: int, hi: int) -> int:
    s = 0
    for i in range(lo, hi):
        s += i * i
    return s


async def cpu(k: int = 8, n: int = 1_000_000, step: int = 20_000) -> None:
    """k goroutines each sum n squares, in 1-2 ms chunks, yielding between chunks."""
    done: Chan[int] = Chan(k)

    async def worker() -> None:
        s = 0
        for lo in range(0, n, step):
            s += sumsquares(lo, min(n, lo + step))
            await gosched.gosched()
        await done.send(s)

    for _ in range(k):
        go(worker)
    total = 0
    for _ in range(k):
        total += await done.recv()
    assert total == k * sumsquares(0, n)


async def pingpong(n: int = 50_000) -> None:
    a: Chan[int] = Chan()
    b: Chan[int] = Chan()

    async def ponger() -> None:
        for _ in range(n):
            await b.send(await a.recv())

    go(ponger)
    for i in range(n):
        await a.send(i)
        assert await b.recv() == i


async def sieve(n: int = 500) -> None:
    async def generate(ch: Chan[int]) -> None:
        i = 2
        while True:
            await ch.send(i)
            i += 1

    async def filter_(src: Chan[int], dst: Chan[int], p: int) -> None:
        while True:
            i = await src.recv()
            if i % p:
                await dst.send(i)

    ch: Chan[int] = Chan()
    go(generate, ch)
    prime = 0
    for _ in range(n):
        prime = await ch.recv()
        ch1: Chan[int] = Chan()
        go(filter_, ch, ch1, prime)
        ch = ch1
    assert prime == 3571


def timed(fn: Callable, procs: int) -> float:
    t0 = time.perf_counter()
    gosched.run(fn, gomaxprocs=procs)
    return time.perf_counter() - t0


def compare(name: str, fn: Callable) -> float:
    runs: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(REPEATS):
        for procs in (1, 2):
            runs[procs].append(timed(fn, procs))
    one, two = statistics.median(runs[1]), statistics.median(runs[2])
    print(f"{name:<10} {one * 1e3:9.1f} ms {two * 1e3:9.1f} ms   gomaxprocs=2 is "
          f"{one / two:.2f}x as fast")
    return one / two


def main() -> None:
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    build = "GIL" if gil else "free-threaded"
    print(f"Python {sys.version.split()[0]} ({build}), median of {REPEATS}")
    print(f"{'workload':<10} {'gomaxprocs=1':>12} {'gomaxprocs=2':>12}")
    for name, fn in (("cpu", cpu), ("pingpong", pingpong), ("sieve", sieve)):
        compare(name, fn)


if __name__ == "__main__":
    main()
