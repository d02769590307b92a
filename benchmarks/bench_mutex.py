"""gosched.Mutex against asyncio.Lock, in one process: uncontended and contended lock/unlock.

    python benchmarks/bench_mutex.py [--n N] [--workers K] [--repeat R] [--gomaxprocs P]

Uncontended: one goroutine (one task) locks and unlocks N times, with ``await lock()`` /
``unlock()`` and with ``async with``, yielding every 1000 pairs (a goroutine that never
yields for 10 ms is a hog to sysmon, which hands its P to another thread). Contended: K
goroutines (tasks) each take the lock N/K times and yield the processor while holding it
(``gosched.gosched()`` / ``asyncio.sleep(0)``), so every acquisition finds the lock taken
and K-1 waiters queued: this measures the slow path (park, wakeup, handoff) together with
one yield.

Each case reports the best of R runs in ns per lock/unlock, and the ratio
asyncio / gosched (above 1: gosched is faster). gosched's Mutex is thread-safe (it works
across Ps, sync goroutines and threads); asyncio.Lock belongs to one event loop thread.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import gosched


async def gs_uncontended(n: int) -> float:
    mu = gosched.Mutex()
    t0 = time.perf_counter()
    for i in range(n):
        await mu.lock()
        mu.unlock()
        if i % 1000 == 999:
            await gosched.gosched()
    return time.perf_counter() - t0


async def gs_uncontended_with(n: int) -> float:
    mu = gosched.Mutex()
    t0 = time.perf_counter()
    for i in range(n):
        async with mu:
            pass
        if i % 1000 == 999:
            await gosched.gosched()
    return time.perf_counter() - t0


async def gs_contended(n: int, k: int) -> float:
    mu = gosched.Mutex()
    wg = gosched.WaitGroup()

    async def worker() -> None:
        for _ in range(n // k):
            async with mu:
                await gosched.gosched()

    t0 = time.perf_counter()
    for _ in range(k):
        wg.go(worker)
    await wg.wait()
    return time.perf_counter() - t0


async def aio_uncontended(n: int) -> float:
    lock = asyncio.Lock()
    t0 = time.perf_counter()
    for i in range(n):
        await lock.acquire()
        lock.release()
        if i % 1000 == 999:
            await asyncio.sleep(0)
    return time.perf_counter() - t0


async def aio_uncontended_with(n: int) -> float:
    lock = asyncio.Lock()
    t0 = time.perf_counter()
    for i in range(n):
        async with lock:
            pass
        if i % 1000 == 999:
            await asyncio.sleep(0)
    return time.perf_counter() - t0


async def aio_contended(n: int, k: int) -> float:
    lock = asyncio.Lock()

    async def worker() -> None:
        for _ in range(n // k):
            async with lock:
                await asyncio.sleep(0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(k)))
    return time.perf_counter() - t0


def best(repeat: int, once: Callable[[], float]) -> float:
    return min(once() for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="lock/unlock pairs per case")
    ap.add_argument("--workers", type=int, default=8, help="goroutines (tasks) when contended")
    ap.add_argument("--repeat", type=int, default=5, help="runs per case; the best counts")
    ap.add_argument("--gomaxprocs", type=int, default=1)
    args = ap.parse_args()
    n, k, r = args.n, args.workers, args.repeat
    ncont = n // 4 // k * k  # the slow path is slower: fewer rounds

    def gs(fn: Callable[..., Awaitable[float]], *a: Any) -> Callable[[], float]:
        return lambda: gosched.run(fn, *a, gomaxprocs=args.gomaxprocs)

    def aio(fn: Callable[..., Awaitable[float]], *a: Any) -> Callable[[], float]:
        return lambda: asyncio.run(fn(*a))

    cases = [
        ("uncontended lock()/unlock()", n, gs(gs_uncontended, n), aio(aio_uncontended, n)),
        ("uncontended async with", n, gs(gs_uncontended_with, n), aio(aio_uncontended_with, n)),
        (f"contended, {k} workers, yield held", ncont, gs(gs_contended, ncont, k),
         aio(aio_contended, ncont, k)),
    ]
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    print(f"Python {sys.version.split()[0]} ({'GIL' if gil else 'free-threaded'}), "
          f"gomaxprocs={args.gomaxprocs}, best of {r}")
    print(f"{'case':<38} {'asyncio.Lock':>14} {'gosched.Mutex':>14} {'asyncio/gosched':>16}")
    for name, ops, gsrun, aiorun in cases:
        g = best(r, gsrun) / ops * 1e9
        a = best(r, aiorun) / ops * 1e9
        print(f"{name:<38} {a:>11.0f} ns {g:>11.0f} ns {a / g:>15.2f}x")


if __name__ == "__main__":
    main()
