"""trio: structured concurrency, so every task lives in a nursery.

Memory channels are real channels (capacity 0 is unbuffered, closing ends `async for`),
but there is no select, and a nursery cannot abandon its tasks the way Go's main does:
what Go leaves parked, trio cancels.
"""

from __future__ import annotations

import importlib.util
import time
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from trio import MemoryReceiveChannel as Recv
    from trio import MemorySendChannel as Send

NOTES: dict[str, str] = {
    "sieve": "the generator and filters are cancelled at the end (a nursery cannot abandon)",
    "select": "no select: one forwarder task per producer channel into a merged channel "
    "(Go's merge pattern); closing the clones ends the loop",
    "ring": "the other 502 tasks are cancelled at the end (a nursery cannot abandon)",
    "idle": "tasks park on one trio.Event (the broadcast primitive)",
}
SCALE: dict[str, int] = {}


def available() -> str | None:
    if importlib.util.find_spec("trio") is None:
        return "no module named 'trio' (pip install trio)"
    return None


def spawn(n: int) -> int:
    import trio

    out = [0] * n

    async def step(i: int) -> None:
        out[i] = i + 1

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(step, i)

    trio.run(main)
    assert sum(out) == spawn_sum(n), "spawn: some task did not run"
    return n


def pingpong(n: int) -> int:
    import trio

    async def peer(ping: Recv[int], pong: Send[int]) -> None:
        for _ in range(n):
            await pong.send(await ping.receive() + 1)

    async def main() -> int:
        ping_send, ping_recv = trio.open_memory_channel[int](0)
        pong_send, pong_recv = trio.open_memory_channel[int](0)
        v = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer, ping_recv, pong_send)
            for _ in range(n):
                await ping_send.send(v)
                v = await pong_recv.receive()
        return v

    assert trio.run(main) == n, "pingpong: lost a round trip"
    return n


def skynet(n: int) -> int:
    import trio

    async def node(parent: Send[int], num: int, size: int) -> None:
        if size == 1:
            await parent.send(num)
            return
        send, recv = trio.open_memory_channel[int](0)
        step = size // 10
        total = 0
        async with trio.open_nursery() as nursery:
            for i in range(10):
                nursery.start_soon(node, send, num + i * step, step)
            for _ in range(10):
                total += await recv.receive()
        await parent.send(total)

    async def main() -> int:
        send, recv = trio.open_memory_channel[int](0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(node, send, 0, n)
            return await recv.receive()

    result = trio.run(main)
    assert result == skynet_sum(n), f"skynet: sum {result}, want {skynet_sum(n)}"
    return skynet_goroutines(n)


def sieve(n: int) -> int:
    import trio

    async def generate(ch: Send[int]) -> None:
        i = 2
        while True:
            await ch.send(i)
            i += 1

    async def filter_(src: Recv[int], dst: Send[int], prime: int) -> None:
        async for i in src:
            if i % prime:
                await dst.send(i)

    async def main() -> list[int]:
        primes = []
        async with trio.open_nursery() as nursery:
            send, ch = trio.open_memory_channel[int](0)
            nursery.start_soon(generate, send)
            for _ in range(n):
                prime = await ch.receive()
                primes.append(prime)
                send1, ch1 = trio.open_memory_channel[int](0)
                nursery.start_soon(filter_, ch, send1, prime)
                ch = ch1
            nursery.cancel_scope.cancel()
        return primes

    primes = trio.run(main)
    assert primes == first_primes(n), f"sieve: last prime {primes[-1]}"
    return sieve_messages(primes)


def fanout(n: int) -> int:
    import trio

    async def produce(jobs: Send[int]) -> None:
        async with jobs:
            for i in range(n):
                await jobs.send(i)

    async def work(jobs: Recv[int], results: Send[int]) -> None:
        async with results:
            async for v in jobs:
                await results.send(v * 2)

    async def main() -> int:
        jobs_send, jobs_recv = trio.open_memory_channel[int](FANOUT_CAPACITY)
        results_send, results_recv = trio.open_memory_channel[int](FANOUT_CAPACITY)
        total = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce, jobs_send)
            # Each worker closes its own clone; the results stream ends with the last one.
            async with results_send:
                for _ in range(FANOUT_WORKERS):
                    nursery.start_soon(work, jobs_recv, results_send.clone())
            async for v in results_recv:  # main is the collector
                total += v
        return total

    total = trio.run(main)
    assert total == fanout_sum(n), f"fanout: sum {total}, want {fanout_sum(n)}"
    return n


def select_(n: int) -> int:
    import trio

    async def produce(ch: Send[int], first: int) -> None:
        async with ch:
            for v in range(first, n, SELECT_PRODUCERS):
                await ch.send(v)

    async def forward(src: Recv[int], dst: Send[int]) -> None:
        async with dst:
            async for v in src:
                await dst.send(v)

    async def main() -> int:
        merged_send, merged_recv = trio.open_memory_channel[int](0)
        total = 0
        async with trio.open_nursery() as nursery:
            async with merged_send:
                for p in range(SELECT_PRODUCERS):
                    send, recv = trio.open_memory_channel[int](0)
                    nursery.start_soon(produce, send, p)
                    nursery.start_soon(forward, recv, merged_send.clone())
            async for v in merged_recv:
                total += v
        return total

    total = trio.run(main)
    assert total == select_sum(n), f"select: sum {total}, want {select_sum(n)}"
    return n


def ring(n: int) -> int:
    import trio

    async def member(ident: int, inbox: Recv[int], outbox: Send[int], done: Send[int]) -> None:
        async for token in inbox:
            if token == 0:
                await done.send(ident)
                return
            await outbox.send(token - 1)

    async def main() -> int:
        done_send, done_recv = trio.open_memory_channel[int](0)
        first_send, first_recv = trio.open_memory_channel[int](0)
        async with trio.open_nursery() as nursery:
            inbox = first_recv
            for ident in range(1, RING_SIZE + 1):
                if ident == RING_SIZE:
                    outbox, next_inbox = first_send, first_recv
                else:
                    outbox, next_inbox = trio.open_memory_channel[int](0)
                nursery.start_soon(member, ident, inbox, outbox, done_send)
                inbox = next_inbox
            await first_send.send(n)
            holder = await done_recv.receive()
            nursery.cancel_scope.cancel()
        return holder

    holder = trio.run(main)
    assert holder == ring_holder(n), f"ring: holder {holder}, want {ring_holder(n)}"
    return n


def idle(n: int) -> Measured:
    import trio

    async def main() -> float:
        gate, all_started = trio.Event(), trio.Event()
        started = released = 0

        async def parked() -> None:
            nonlocal started, released
            started += 1  # one thread runs all tasks: plain counters are safe here
            if started == n:
                all_started.set()
            await gate.wait()
            released += 1

        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(parked)
            await all_started.wait()
            t0 = time.perf_counter()
            gate.set()
        elapsed = time.perf_counter() - t0  # the nursery has joined every task
        assert released == n, f"idle: released {released} of {n}"
        return elapsed

    return Measured(n, trio.run(main))


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
