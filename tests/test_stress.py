"""Stress: many goroutines on many channels, with selects and timers, on several Ps.

One program, two sizes. The full size does millions of channel operations and
runs only on a free-threaded interpreter (where several Ms really run at once);
the small size runs everywhere so that CI always exercises the same program.

The program:
- producers send numbered values, mostly through a select over a few
  channels (capacities 0..3), sometimes with a plain send;
- consumers select over a few channels plus a shared ticker and a per-round
  ``after`` timer, until all their channels are closed;
- ping-pong pairs bounce a counter over unbuffered channels (direct handoff);
- sleepers sleep, and ``after_func`` callbacks report in;
- main closes the data channels once every producer is done.
It checks that every value arrived exactly once, on a channel its producer may
use, and that each consumer saw one producer's values on one channel in order.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

import gosched
from gosched import Chan, go, nilchan, select


@dataclass(frozen=True)
class Size:
    producers: int
    per_producer: int
    consumers: int
    chans: int
    pairs: int
    rounds: int
    sleepers: int
    after_funcs: int

    def channel_ops(self) -> int:
        """Sends plus receives the program performs (not counting timers)."""
        return 2 * self.producers * self.per_producer + 4 * self.pairs * self.rounds


SMALL = Size(
    producers=8,
    per_producer=300,
    consumers=6,
    chans=5,
    pairs=4,
    rounds=300,
    sleepers=20,
    after_funcs=20,
)
FULL = Size(
    producers=64,
    per_producer=8000,
    consumers=24,
    chans=16,
    pairs=32,
    rounds=16000,
    sleepers=200,
    after_funcs=200,
)


def targets(p: int, i: int, nchans: int) -> tuple[int, ...]:
    """The channels producer ``p`` may use for its ``i``-th value."""
    if i % 5 == 0:
        return ((p + i) % nchans,)  # a plain send
    return tuple(sorted({(p + i) % nchans, (p * 7 + 3) % nchans, (i * 3 + 1) % nchans}))


async def stress(size: Size):
    n = size.chans
    chans = [Chan(i % 4) for i in range(n)]
    producers_done = Chan(size.producers)
    results = Chan(size.consumers)
    pairs_done = Chan(size.pairs)
    sleepers_done = Chan(size.sleepers)
    fired = Chan(size.after_funcs)
    ticker = gosched.Ticker(0.002)

    async def producer(p):
        base = p * size.per_producer
        for i in range(size.per_producer):
            ts = targets(p, i, n)
            if len(ts) == 1:
                await chans[ts[0]].send(base + i)
            else:
                await select(*((chans[c].send, base + i) for c in ts))
        await producers_done.send(None)

    async def consumer(j):
        mine = sorted({j % n, (j + 1) % n, (j * 5 + 2) % n})
        live = [chans[c] for c in mine]
        got = []
        ticks = timeouts = rounds = 0
        timeout = gosched.after(0.05)
        while any(c is not nilchan for c in live):
            rounds += 1
            if rounds % 64 == 0:
                timeout = gosched.after(0.05)
            idx, res = await select(*(c.recv_ok for c in live), ticker.c.recv, timeout.recv)
            if idx == len(live):
                ticks += 1
            elif idx == len(live) + 1:
                timeouts += 1
                timeout = gosched.after(0.05)
            else:
                v, ok = res
                if ok:
                    got.append((mine[idx], v))
                else:
                    live[idx] = nilchan
        await results.send((j, got, ticks, timeouts))

    async def ping(a, b):
        for k in range(size.rounds):
            await a.send(k)
            assert await b.recv() == k + 1
        await pairs_done.send(None)

    async def pong(a, b):
        for _ in range(size.rounds):
            await b.send(await a.recv() + 1)

    async def sleeper(k):
        for r in range(5):
            await gosched.sleep(0.0005 * ((k + r) % 4))
        await sleepers_done.send(k)

    def report(k):
        gosched.block_on(fired.send(k))

    for j in range(size.consumers):
        go(consumer, j)
    for p in range(size.producers):
        go(producer, p)
    for _ in range(size.pairs):
        a, b = Chan(), Chan()
        go(ping, a, b)
        go(pong, a, b)
    for k in range(size.sleepers):
        go(sleeper, k)
    for k in range(size.after_funcs):
        gosched.after_func(0.001 * (k % 10), report, k)

    for _ in range(size.producers):
        await producers_done.recv()
    for c in chans:
        c.close()
    per_consumer = dict(
        (j, got) for j, got, _, _ in [await results.recv() for _ in range(size.consumers)]
    )
    for _ in range(size.pairs):
        await pairs_done.recv()
    slept = sorted([await sleepers_done.recv() for _ in range(size.sleepers)])
    reported = sorted([await fired.recv() for _ in range(size.after_funcs)])
    ticker.stop()
    return per_consumer, slept, reported


def check(size: Size, per_consumer, slept, reported) -> None:
    total = size.producers * size.per_producer
    seen = bytearray(total)
    for j, got in per_consumer.items():
        last: dict[tuple[int, int], int] = {}
        for c, v in got:
            p, i = divmod(v, size.per_producer)
            assert c in targets(p, i, size.chans), (j, c, v)
            assert seen[v] == 0, f"value {v} received twice"
            seen[v] = 1
            assert i > last.get((c, p), -1), f"consumer {j}: producer {p} out of order on {c}"
            last[(c, p)] = i
    assert seen.count(1) == total, f"{total - seen.count(1)} values lost"
    assert slept == list(range(size.sleepers))
    assert reported == list(range(size.after_funcs))


def run_and_check(size: Size, procs: int) -> None:
    per_consumer, slept, reported = gosched.run(stress, size, gomaxprocs=procs)
    check(size, per_consumer, slept, reported)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", [2, 4])
def test_stress_small(procs):
    run_and_check(SMALL, procs)


def test_full_size_does_millions_of_channel_operations():
    assert FULL.channel_ops() >= 2_000_000


@pytest.mark.stress
@pytest.mark.skipif(
    getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="stress tests need a free-threaded interpreter "
    "(build one with ../shared/tools/build-python-ft.sh)",
)
@pytest.mark.timeout(300)
@pytest.mark.parametrize("procs", [2, 4])
def test_stress_full(procs):
    run_and_check(FULL, procs)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("procs", [4, 8])
def test_stack_dumps_while_goroutines_run(procs):
    """gosched.stack() from threads and a goroutine while ping-pong pairs run on
    other Ms. Without the GIL, reading a coroutine that another M resumed
    meanwhile crashed the interpreter: the dump now stops the world, as Go's
    runtime.Stack(all=true) does. This program is the shape of the one that
    crashed (4 runs in 30 on 3.13t, before the fix; 0 in 60 after), but under
    pytest it did not crash the old code in 12 tries: it guards the dump's
    results under load, not reliably the crash itself."""
    import threading

    pairs, rounds = 4, 5000

    async def main():
        done = gosched.WaitGroup()
        stop = []
        dumps = []

        async def ping(a: Chan[int], b: Chan[int]) -> None:
            for i in range(rounds):
                await a.send(i)
                assert await b.recv() == i
            a.close()
            done.done()

        async def pong(a: Chan[int], b: Chan[int]) -> None:
            async for v in a:
                await b.send(v)

        for _ in range(pairs):
            a, b = Chan[int](), Chan[int]()
            done.add(1)
            go(ping, a, b)
            go(pong, a, b)

        def dump_from_a_thread() -> None:
            while not stop:
                dumps.append(gosched.stack())

        async def dump_from_a_goroutine() -> None:
            while not stop:
                dumps.append(gosched.stack())
                await gosched.gosched()
            dumped.close()

        threads = [threading.Thread(target=dump_from_a_thread) for _ in range(2)]
        for t in threads:
            t.start()
        dumped: Chan[None] = Chan()
        go(dump_from_a_goroutine)
        await done.wait()
        stop.append(True)
        for t in threads:
            await gosched.syscall(t.join)
        await dumped.recv()  # main returning would end the run under its last dump
        return dumps

    dumps = gosched.run(main, gomaxprocs=procs)
    assert dumps and all("goroutine 1 [" in d for d in dumps)
