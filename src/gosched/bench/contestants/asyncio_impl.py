"""asyncio on its default event loop (uvloop_impl reuses these with another loop).

asyncio has no unbuffered channel, no close and no select, so each workload uses what an
asyncio programmer would reach for instead; NOTES says where.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..workloads import (
    FANOUT_CAPACITY,
    FANOUT_WORKERS,
    RING_SIZE,
    SELECT_PRODUCERS,
    Measured,
    fanout_sum,
    first_primes,
    ring_holder,
    select_sum,
    sieve_messages,
    skynet_goroutines,
    skynet_sum,
    spawn_sum,
)

T = TypeVar("T")
LoopFactory = Callable[[], asyncio.AbstractEventLoop] | None

UNBUFFERED = "asyncio.Queue(maxsize=1) stands in for an unbuffered channel (asyncio has none)"
NOTES: dict[str, str] = {
    "pingpong": UNBUFFERED,
    "skynet": UNBUFFERED,
    "sieve": UNBUFFERED + "; leftover tasks are cancelled when the loop closes",
    "fanout": "asyncio.Queue(128); no close, so a None sentinel per worker ends the stream",
    "select": "no select: one forwarder task per producer queue into a merged queue "
    "(Go's merge pattern), None sentinels for close",
    "ring": UNBUFFERED + "; leftover tasks are cancelled when the loop closes",
    "idle": "tasks park on one asyncio.Event (the broadcast primitive; Queue has no close)",
}
SCALE: dict[str, int] = {}


def available() -> str | None:
    return None  # the standard library


def _run(main: Callable[[], Coroutine[Any, Any, T]], loop_factory: LoopFactory) -> T:
    # asyncio.Runner (3.11+) is asyncio.run with a choice of loop; closing it cancels
    # whatever tasks are still pending, as asyncio.run does.
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())


def spawn(n: int, loop_factory: LoopFactory = None) -> int:
    out = [0] * n

    async def step(i: int) -> None:
        out[i] = i + 1

    async def main() -> None:
        await asyncio.gather(*[asyncio.create_task(step(i)) for i in range(n)])

    _run(main, loop_factory)
    assert sum(out) == spawn_sum(n), "spawn: some task did not run"
    return n


def pingpong(n: int, loop_factory: LoopFactory = None) -> int:
    async def peer(ping: asyncio.Queue[int], pong: asyncio.Queue[int]) -> None:
        for _ in range(n):
            await pong.put(await ping.get() + 1)

    async def main() -> int:
        ping: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        pong: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        task = asyncio.create_task(peer(ping, pong))
        v = 0
        for _ in range(n):
            await ping.put(v)
            v = await pong.get()
        await task
        return v

    assert _run(main, loop_factory) == n, "pingpong: lost a round trip"
    return n


def skynet(n: int, loop_factory: LoopFactory = None) -> int:
    async def node(parent: asyncio.Queue[int], num: int, size: int) -> None:
        if size == 1:
            await parent.put(num)
            return
        children: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        step = size // 10
        # Holding the tasks keeps them referenced, as asyncio's documentation asks.
        tasks = [asyncio.create_task(node(children, num + i * step, step)) for i in range(10)]
        total = 0
        for _ in tasks:  # one result per child
            total += await children.get()
        await parent.put(total)

    async def main() -> int:
        root: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        task = asyncio.create_task(node(root, 0, n))
        total = await root.get()
        await task
        return total

    result = _run(main, loop_factory)
    assert result == skynet_sum(n), f"skynet: sum {result}, want {skynet_sum(n)}"
    return skynet_goroutines(n)


def sieve(n: int, loop_factory: LoopFactory = None) -> int:
    async def generate(ch: asyncio.Queue[int]) -> None:
        i = 2
        while True:
            await ch.put(i)
            i += 1

    async def filter_(src: asyncio.Queue[int], dst: asyncio.Queue[int], prime: int) -> None:
        while True:
            i = await src.get()
            if i % prime:
                await dst.put(i)

    async def main() -> list[int]:
        ch: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        tasks = [asyncio.create_task(generate(ch))]
        primes = []
        for _ in range(n):
            prime = await ch.get()
            primes.append(prime)
            ch1: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
            tasks.append(asyncio.create_task(filter_(ch, ch1, prime)))
            ch = ch1
        return primes

    primes = _run(main, loop_factory)
    assert primes == first_primes(n), f"sieve: last prime {primes[-1]}"
    return sieve_messages(primes)


def fanout(n: int, loop_factory: LoopFactory = None) -> int:
    async def produce(jobs: asyncio.Queue[int | None]) -> None:
        for i in range(n):
            await jobs.put(i)
        for _ in range(FANOUT_WORKERS):
            await jobs.put(None)

    async def work(jobs: asyncio.Queue[int | None], results: asyncio.Queue[int | None]) -> None:
        while (v := await jobs.get()) is not None:
            await results.put(v * 2)

    async def close_when_done(
        workers: list[asyncio.Task[None]], results: asyncio.Queue[int | None]
    ) -> None:
        await asyncio.gather(*workers)
        await results.put(None)

    async def main() -> int:
        jobs: asyncio.Queue[int | None] = asyncio.Queue(FANOUT_CAPACITY)
        results: asyncio.Queue[int | None] = asyncio.Queue(FANOUT_CAPACITY)
        producer = asyncio.create_task(produce(jobs))
        workers = [asyncio.create_task(work(jobs, results)) for _ in range(FANOUT_WORKERS)]
        closer = asyncio.create_task(close_when_done(workers, results))
        total = 0
        while (v := await results.get()) is not None:
            total += v
        await asyncio.gather(producer, closer)
        return total

    total = _run(main, loop_factory)
    assert total == fanout_sum(n), f"fanout: sum {total}, want {fanout_sum(n)}"
    return n


def select_(n: int, loop_factory: LoopFactory = None) -> int:
    async def produce(ch: asyncio.Queue[int | None], first: int) -> None:
        for v in range(first, n, SELECT_PRODUCERS):
            await ch.put(v)
        await ch.put(None)

    async def forward(src: asyncio.Queue[int | None], dst: asyncio.Queue[int | None]) -> None:
        while (v := await src.get()) is not None:
            await dst.put(v)
        await dst.put(None)

    async def main() -> int:
        merged: asyncio.Queue[int | None] = asyncio.Queue(maxsize=1)
        tasks = []
        for p in range(SELECT_PRODUCERS):
            ch: asyncio.Queue[int | None] = asyncio.Queue(maxsize=1)
            tasks.append(asyncio.create_task(produce(ch, p)))
            tasks.append(asyncio.create_task(forward(ch, merged)))
        live, total = SELECT_PRODUCERS, 0
        while live:
            v = await merged.get()
            if v is None:
                live -= 1
            else:
                total += v
        await asyncio.gather(*tasks)
        return total

    total = _run(main, loop_factory)
    assert total == select_sum(n), f"select: sum {total}, want {select_sum(n)}"
    return n


def ring(n: int, loop_factory: LoopFactory = None) -> int:
    async def member(
        ident: int,
        inbox: asyncio.Queue[int],
        outbox: asyncio.Queue[int],
        done: asyncio.Queue[int],
    ) -> None:
        while True:
            token = await inbox.get()
            if token == 0:
                await done.put(ident)
                return
            await outbox.put(token - 1)

    async def main() -> int:
        done: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        first: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        inbox, tasks = first, []
        for ident in range(1, RING_SIZE + 1):
            outbox: asyncio.Queue[int] = first if ident == RING_SIZE else asyncio.Queue(maxsize=1)
            tasks.append(asyncio.create_task(member(ident, inbox, outbox, done)))
            inbox = outbox
        await first.put(n)
        return await done.get()

    holder = _run(main, loop_factory)
    assert holder == ring_holder(n), f"ring: holder {holder}, want {ring_holder(n)}"
    return n


def idle(n: int, loop_factory: LoopFactory = None) -> Measured:
    async def main() -> float:
        gate, all_started = asyncio.Event(), asyncio.Event()
        started = released = 0

        async def parked() -> None:
            nonlocal started, released
            started += 1  # one thread runs all tasks: plain counters are safe here
            if started == n:
                all_started.set()
            await gate.wait()
            released += 1

        tasks = [asyncio.create_task(parked()) for _ in range(n)]
        await all_started.wait()
        t0 = time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
        assert released == n, f"idle: released {released} of {n}"
        return elapsed

    return Measured(n, _run(main, loop_factory))


WORKLOADS = {
    "spawn": spawn,
    "pingpong": pingpong,
    "skynet": skynet,
    "sieve": sieve,
    "fanout": fanout,
    "select": select_,
    "ring": ring,
    "idle": idle,
}
