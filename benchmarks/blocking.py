"""One goroutine blocks its thread for a second; does everybody else stop?

The pain this measures: in an event loop, one blocking call (``time.sleep``, a
synchronous HTTP client, a long pure-Python computation) freezes every other
task. In gosched, sysmon notices that the goroutine has held its P too long
and hands the P to another thread, so the other goroutines keep going.

For each contestant and each kind of blocking (``sleep``: ``time.sleep(1.0)``
called directly; ``cpu``: a pure-Python loop for 1 s), a "worker" blocks while
a ping-pong pair counts round trips until the worker finishes. The table shows
how many round trips the others completed during that second.

    python benchmarks/blocking.py            # gosched (gomaxprocs=1) and asyncio
"""

from __future__ import annotations

import asyncio
import sys
import time

import gosched
from gosched import Chan, go

BLOCK = 1.0


def block(kind: str) -> None:
    if kind == "sleep":
        time.sleep(BLOCK)
    else:
        end = time.perf_counter() + BLOCK
        x = 0
        while time.perf_counter() < end:
            x += 1


async def gosched_main(kind: str) -> int:
    done: Chan[None] = Chan(1)
    ping: Chan[int] = Chan()
    pong: Chan[int] = Chan()

    async def blocker() -> None:
        block(kind)  # a plain blocking call, no wrapper
        await done.send(None)

    async def ponger() -> None:
        while True:
            await pong.send(await ping.recv())

    go(ponger)
    go(blocker)
    await gosched.sleep(0.01)  # the blocker is now inside its blocking call
    trips = 0
    while True:
        i, _ = await gosched.select(done.recv, gosched.default)
        if i == 0:
            return trips
        await ping.send(trips)
        await pong.recv()
        trips += 1


async def asyncio_main(kind: str) -> int:
    done = asyncio.Event()
    ping: asyncio.Queue[int] = asyncio.Queue(1)
    pong: asyncio.Queue[int] = asyncio.Queue(1)

    async def blocker() -> None:
        block(kind)
        done.set()

    async def ponger() -> None:
        while True:
            await pong.put(await ping.get())

    tasks = [asyncio.create_task(ponger()), asyncio.create_task(blocker())]
    await asyncio.sleep(0.01)
    trips = 0
    while not done.is_set():
        await ping.put(trips)
        await pong.get()
        trips += 1
    for t in tasks:
        t.cancel()
    return trips


def main() -> None:
    print(f"Round trips completed by other tasks while one blocks its thread for {BLOCK:.0f} s")
    print(f"(Python {sys.version.split()[0]}, gosched gomaxprocs=1)\n")
    print(f"{'blocking call':<32} {'gosched':>10} {'asyncio':>10}")
    for kind, label in (("sleep", "time.sleep(1.0)"), ("cpu", "pure-Python loop for 1 s")):
        g = gosched.run(gosched_main, kind, gomaxprocs=1)
        a = asyncio.run(asyncio_main(kind))
        print(f"{label:<32} {g:>10,} {a:>10,}")


if __name__ == "__main__":
    main()
