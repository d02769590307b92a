"""gosched: the Go programs, written the way a gosched user would write them.

Every workload is a fresh `gosched.run`; the number of Ps comes from the GOMAXPROCS
environment variable, which the worker sets for `--gomaxprocs`.
"""

from __future__ import annotations

import time

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

NOTES: dict[str, str] = {}
SCALE: dict[str, int] = {}


def available() -> str | None:
    try:
        from gosched import Chan, WaitGroup, go, nilchan, run, select  # noqa: F401
    except ImportError as exc:
        return f"runtime not importable: {exc}"
    return None


def spawn(n: int) -> int:
    from gosched import WaitGroup, go, run

    out = [0] * n

    async def step(wg: WaitGroup, i: int) -> None:
        out[i] = i + 1  # each goroutine owns its slot: no shared counter to race on
        wg.done()

    async def main() -> None:
        wg = WaitGroup()
        wg.add(n)
        for i in range(n):
            go(step, wg, i)
        await wg.wait()

    run(main)
    assert sum(out) == spawn_sum(n), "spawn: some goroutine did not run"
    return n


def pingpong(n: int) -> int:
    from gosched import Chan, go, run

    async def peer(ping: Chan[int], pong: Chan[int]) -> None:
        for _ in range(n):
            await pong.send(await ping.recv() + 1)

    async def main() -> int:
        ping: Chan[int] = Chan()
        pong: Chan[int] = Chan()
        go(peer, ping, pong)
        v = 0
        for _ in range(n):
            await ping.send(v)
            v = await pong.recv()
        return v

    assert run(main) == n, "pingpong: lost a round trip"
    return n


def skynet(n: int) -> int:
    from gosched import Chan, go, run

    async def node(parent: Chan[int], num: int, size: int) -> None:
        if size == 1:
            await parent.send(num)
            return
        children: Chan[int] = Chan()
        step = size // 10
        for i in range(10):
            go(node, children, num + i * step, step)
        total = 0
        for _ in range(10):
            total += await children.recv()
        await parent.send(total)

    async def main() -> int:
        root: Chan[int] = Chan()
        go(node, root, 0, n)
        return await root.recv()

    result = run(main)
    assert result == skynet_sum(n), f"skynet: sum {result}, want {skynet_sum(n)}"
    return skynet_goroutines(n)


def sieve(n: int) -> int:
    from gosched import Chan, go, run

    async def generate(ch: Chan[int]) -> None:
        i = 2
        while True:
            await ch.send(i)
            i += 1

    async def filter_(src: Chan[int], dst: Chan[int], prime: int) -> None:
        while True:
            i = await src.recv()
            if i % prime:
                await dst.send(i)

    async def main() -> list[int]:
        ch: Chan[int] = Chan()
        go(generate, ch)
        primes = []
        for _ in range(n):
            prime = await ch.recv()
            primes.append(prime)
            ch1: Chan[int] = Chan()
            go(filter_, ch, ch1, prime)
            ch = ch1
        return primes  # as in Go, the generator and filters are abandoned when main returns

    primes = run(main)
    assert primes == first_primes(n), f"sieve: last prime {primes[-1]}"
    return sieve_messages(primes)


def fanout(n: int) -> int:
    from gosched import Chan, WaitGroup, go, run

    async def produce(jobs: Chan[int]) -> None:
        for i in range(n):
            await jobs.send(i)
        jobs.close()

    async def work(jobs: Chan[int], results: Chan[int], wg: WaitGroup) -> None:
        async for v in jobs:
            await results.send(v * 2)
        wg.done()

    async def close_when_done(results: Chan[int], wg: WaitGroup) -> None:
        await wg.wait()
        results.close()

    async def main() -> int:
        jobs: Chan[int] = Chan(FANOUT_CAPACITY)
        results: Chan[int] = Chan(FANOUT_CAPACITY)
        wg = WaitGroup()
        wg.add(FANOUT_WORKERS)
        go(produce, jobs)
        for _ in range(FANOUT_WORKERS):
            go(work, jobs, results, wg)
        go(close_when_done, results, wg)
        total = 0
        async for v in results:  # main is the collector
            total += v
        return total

    total = run(main)
    assert total == fanout_sum(n), f"fanout: sum {total}, want {fanout_sum(n)}"
    return n


def select_(n: int) -> int:
    from gosched import Chan, go, nilchan, run, select

    async def produce(ch: Chan[int], first: int) -> None:
        for v in range(first, n, SELECT_PRODUCERS):
            await ch.send(v)
        ch.close()

    async def main() -> int:
        chans: list[Chan[int]] = [Chan() for _ in range(SELECT_PRODUCERS)]
        for p, ch in enumerate(chans):
            go(produce, ch, p)
        cases = [ch.recv_ok for ch in chans]
        live, total = len(cases), 0
        while live:
            i, (v, ok) = await select(*cases)
            if ok:
                total += v
            else:  # Go's idiom: a closed channel's case becomes the never-ready nil channel
                cases[i] = nilchan.recv_ok
                live -= 1
        return total

    total = run(main)
    assert total == select_sum(n), f"select: sum {total}, want {select_sum(n)}"
    return n


def ring(n: int) -> int:
    from gosched import Chan, go, run

    async def member(ident: int, inbox: Chan[int], outbox: Chan[int], done: Chan[int]) -> None:
        while True:
            token = await inbox.recv()
            if token == 0:
                await done.send(ident)
                return
            await outbox.send(token - 1)

    async def main() -> int:
        done: Chan[int] = Chan()
        first: Chan[int] = Chan()
        inbox = first
        for ident in range(1, RING_SIZE + 1):
            outbox: Chan[int] = first if ident == RING_SIZE else Chan()
            go(member, ident, inbox, outbox, done)
            inbox = outbox
        await first.send(n)
        return await done.recv()

    holder = run(main)
    assert holder == ring_holder(n), f"ring: holder {holder}, want {ring_holder(n)}"
    return n


def idle(n: int) -> Measured:
    from gosched import Chan, WaitGroup, go, run

    async def parked(gate: Chan[None], started: WaitGroup, released: WaitGroup) -> None:
        started.done()  # done() does not yield, so this goroutine parks right after
        _, ok = await gate.recv_ok()
        assert not ok
        released.done()

    async def main() -> float:
        gate: Chan[None] = Chan()
        started, released = WaitGroup(), WaitGroup()
        started.add(n)
        released.add(n)
        for _ in range(n):
            go(parked, gate, started, released)
        await started.wait()
        t0 = time.perf_counter()
        gate.close()
        await released.wait()
        return time.perf_counter() - t0

    return Measured(n, run(main))


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
