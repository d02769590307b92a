"""gevent: greenlets on libev, in a process monkey-patched the way gevent programs are.

gevent.queue.Channel is a true rendezvous channel; there is no close (putting the
StopIteration class ends iteration instead) and no select.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

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

NOTES: dict[str, str] = {
    "sieve": "the generator and filters are killed at the end (gevent.killall)",
    "fanout": "gevent.queue.Queue(128); StopIteration sentinels stand in for close",
    "select": "no select: one forwarder greenlet per producer channel into a merged "
    "channel (Go's merge pattern); StopIteration sentinels stand in for close",
    "ring": "the other 502 greenlets are killed at the end (gevent.killall)",
    "idle": "greenlets park on one gevent.event.Event (the broadcast primitive)",
}
SCALE: dict[str, int] = {}


def available() -> str | None:
    if importlib.util.find_spec("gevent") is None:
        return "no module named 'gevent' (pip install gevent)"
    return None


def setup() -> None:
    """Patch the standard library, as a gevent program does first thing. Only ever
    called in the worker process that measures gevent."""
    from gevent import monkey

    monkey.patch_all()


def spawn(n: int) -> int:
    import gevent

    out = [0] * n

    def step(i: int) -> None:
        out[i] = i + 1

    gevent.joinall([gevent.spawn(step, i) for i in range(n)])
    assert sum(out) == spawn_sum(n), "spawn: some greenlet did not run"
    return n


def pingpong(n: int) -> int:
    import gevent
    from gevent.queue import Channel

    def peer(ping: Channel, pong: Channel) -> None:
        for _ in range(n):
            pong.put(ping.get() + 1)

    ping, pong = Channel(), Channel()
    g = gevent.spawn(peer, ping, pong)
    v = 0
    for _ in range(n):
        ping.put(v)
        v = pong.get()
    g.join()
    assert v == n, "pingpong: lost a round trip"
    return n


def skynet(n: int) -> int:
    import gevent
    from gevent.queue import Channel

    def node(parent: Channel, num: int, size: int) -> None:
        if size == 1:
            parent.put(num)
            return
        children = Channel()
        step = size // 10
        for i in range(10):
            gevent.spawn(node, children, num + i * step, step)
        parent.put(sum(children.get() for _ in range(10)))

    root = Channel()
    gevent.spawn(node, root, 0, n)
    result = root.get()
    assert result == skynet_sum(n), f"skynet: sum {result}, want {skynet_sum(n)}"
    return skynet_goroutines(n)


def sieve(n: int) -> int:
    import gevent
    from gevent.queue import Channel

    def generate(ch: Channel) -> None:
        i = 2
        while True:
            ch.put(i)
            i += 1

    def filter_(src: Channel, dst: Channel, prime: int) -> None:
        for i in src:
            if i % prime:
                dst.put(i)

    ch = Channel()
    greenlets = [gevent.spawn(generate, ch)]
    primes = []
    for _ in range(n):
        prime = ch.get()
        primes.append(prime)
        ch1 = Channel()
        greenlets.append(gevent.spawn(filter_, ch, ch1, prime))
        ch = ch1
    gevent.killall(greenlets)
    assert primes == first_primes(n), f"sieve: last prime {primes[-1]}"
    return sieve_messages(primes)


def fanout(n: int) -> int:
    import gevent
    from gevent.queue import Queue

    def produce(jobs: Queue) -> None:
        for i in range(n):
            jobs.put(i)
        for _ in range(FANOUT_WORKERS):
            jobs.put(StopIteration)

    def work(jobs: Queue, results: Queue) -> None:
        for v in jobs:
            results.put(v * 2)

    def close_when_done(workers: list[Any], results: Queue) -> None:
        gevent.joinall(workers)
        results.put(StopIteration)

    jobs, results = Queue(FANOUT_CAPACITY), Queue(FANOUT_CAPACITY)
    gevent.spawn(produce, jobs)
    workers = [gevent.spawn(work, jobs, results) for _ in range(FANOUT_WORKERS)]
    gevent.spawn(close_when_done, workers, results)
    total = sum(results)  # the main greenlet is the collector
    assert total == fanout_sum(n), f"fanout: sum {total}, want {fanout_sum(n)}"
    return n


def select_(n: int) -> int:
    import gevent
    from gevent.queue import Channel

    def produce(ch: Channel, first: int) -> None:
        for v in range(first, n, SELECT_PRODUCERS):
            ch.put(v)
        ch.put(StopIteration)

    def forward(src: Channel, dst: Channel) -> None:
        for v in src:
            dst.put(v)
        dst.put(StopIteration)

    merged = Channel()
    for p in range(SELECT_PRODUCERS):
        ch = Channel()
        gevent.spawn(produce, ch, p)
        gevent.spawn(forward, ch, merged)
    live, total = SELECT_PRODUCERS, 0
    while live:
        v = merged.get()
        if v is StopIteration:
            live -= 1
        else:
            total += v
    assert total == select_sum(n), f"select: sum {total}, want {select_sum(n)}"
    return n


def ring(n: int) -> int:
    import gevent
    from gevent.queue import Channel

    def member(ident: int, inbox: Channel, outbox: Channel, done: Channel) -> None:
        for token in inbox:
            if token == 0:
                done.put(ident)
                return
            outbox.put(token - 1)

    done = Channel()
    first = inbox = Channel()
    greenlets = []
    for ident in range(1, RING_SIZE + 1):
        outbox = first if ident == RING_SIZE else Channel()
        greenlets.append(gevent.spawn(member, ident, inbox, outbox, done))
        inbox = outbox
    first.put(n)
    holder = done.get()
    gevent.killall(greenlets)
    assert holder == ring_holder(n), f"ring: holder {holder}, want {ring_holder(n)}"
    return n


def idle(n: int) -> Measured:
    import gevent
    from gevent.event import Event

    gate, all_started = Event(), Event()
    started = released = 0

    def parked() -> None:
        nonlocal started, released
        started += 1  # one thread runs all greenlets: plain counters are safe here
        if started == n:
            all_started.set()
        gate.wait()
        released += 1

    greenlets = [gevent.spawn(parked) for _ in range(n)]
    all_started.wait()
    t0 = time.perf_counter()
    gate.set()
    gevent.joinall(greenlets)
    elapsed = time.perf_counter() - t0
    assert released == n, f"idle: released {released} of {n}"
    return Measured(n, elapsed)


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
