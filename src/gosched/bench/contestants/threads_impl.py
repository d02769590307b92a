"""Plain OS threads and queue.Queue: what Python offers without any library.

Every goroutine is a threading.Thread (a pool would not be spawning anything), so the
spawn-heavy workloads run at a fraction of the size (SCALE); the table compares per-op
costs. queue.Queue has no unbuffered mode, no close and no select.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

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

UNBUFFERED = "queue.Queue(maxsize=1) stands in for an unbuffered channel"
ABANDONED = "; like Go, the other threads are left parked (daemon threads)"
NOTES: dict[str, str] = {
    "spawn": "one threading.Thread per goroutine, n / 10",
    "pingpong": UNBUFFERED,
    "skynet": UNBUFFERED + "; one threading.Thread per node, n / 100",
    "sieve": UNBUFFERED + ABANDONED,
    "fanout": "queue.Queue(128); no close, so None sentinels end the stream",
    "select": "no select: one forwarder thread per producer queue into a merged queue "
    "(Go's merge pattern), None sentinels for close",
    "ring": UNBUFFERED + ABANDONED,
    "idle": "threads park on one threading.Event, n / 100",
}
SCALE: dict[str, int] = {"spawn": 10, "skynet": 100, "idle": 100}


def available() -> str | None:
    return None  # the standard library


def _go(target: Callable[..., object], *args: object) -> threading.Thread:
    # Daemon threads may be left parked when the program's answer is in, as Go leaves
    # goroutines; nothing else waits for them.
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


def spawn(n: int) -> int:
    out = [0] * n

    def step(i: int) -> None:
        out[i] = i + 1

    threads = [_go(step, i) for i in range(n)]
    for t in threads:
        t.join()
    assert sum(out) == spawn_sum(n), "spawn: some thread did not run"
    return n


def pingpong(n: int) -> int:
    def peer(ping: queue.Queue[int], pong: queue.Queue[int]) -> None:
        for _ in range(n):
            pong.put(ping.get() + 1)

    ping: queue.Queue[int] = queue.Queue(maxsize=1)
    pong: queue.Queue[int] = queue.Queue(maxsize=1)
    t = _go(peer, ping, pong)
    v = 0
    for _ in range(n):
        ping.put(v)
        v = pong.get()
    t.join()
    assert v == n, "pingpong: lost a round trip"
    return n


def skynet(n: int) -> int:
    def node(parent: queue.Queue[int], num: int, size: int) -> None:
        if size == 1:
            parent.put(num)
            return
        children: queue.Queue[int] = queue.Queue(maxsize=1)
        step = size // 10
        for i in range(10):
            _go(node, children, num + i * step, step)
        parent.put(sum(children.get() for _ in range(10)))

    root: queue.Queue[int] = queue.Queue(maxsize=1)
    _go(node, root, 0, n)
    result = root.get()
    assert result == skynet_sum(n), f"skynet: sum {result}, want {skynet_sum(n)}"
    return skynet_goroutines(n)


def sieve(n: int) -> int:
    def generate(ch: queue.Queue[int]) -> None:
        i = 2
        while True:
            ch.put(i)
            i += 1

    def filter_(src: queue.Queue[int], dst: queue.Queue[int], prime: int) -> None:
        while True:
            i = src.get()
            if i % prime:
                dst.put(i)

    ch: queue.Queue[int] = queue.Queue(maxsize=1)
    _go(generate, ch)
    primes = []
    for _ in range(n):
        prime = ch.get()
        primes.append(prime)
        ch1: queue.Queue[int] = queue.Queue(maxsize=1)
        _go(filter_, ch, ch1, prime)
        ch = ch1
    assert primes == first_primes(n), f"sieve: last prime {primes[-1]}"
    return sieve_messages(primes)


def fanout(n: int) -> int:
    def produce(jobs: queue.Queue[int | None]) -> None:
        for i in range(n):
            jobs.put(i)
        for _ in range(FANOUT_WORKERS):
            jobs.put(None)

    def work(jobs: queue.Queue[int | None], results: queue.Queue[int | None]) -> None:
        while (v := jobs.get()) is not None:
            results.put(v * 2)

    def close_when_done(workers: list[threading.Thread], results: queue.Queue[int | None]) -> None:
        for w in workers:
            w.join()
        results.put(None)

    jobs: queue.Queue[int | None] = queue.Queue(FANOUT_CAPACITY)
    results: queue.Queue[int | None] = queue.Queue(FANOUT_CAPACITY)
    _go(produce, jobs)
    workers = [_go(work, jobs, results) for _ in range(FANOUT_WORKERS)]
    _go(close_when_done, workers, results)
    total = 0
    while (v := results.get()) is not None:  # the main thread is the collector
        total += v
    assert total == fanout_sum(n), f"fanout: sum {total}, want {fanout_sum(n)}"
    return n


def select_(n: int) -> int:
    def produce(ch: queue.Queue[int | None], first: int) -> None:
        for v in range(first, n, SELECT_PRODUCERS):
            ch.put(v)
        ch.put(None)

    def forward(src: queue.Queue[int | None], dst: queue.Queue[int | None]) -> None:
        while (v := src.get()) is not None:
            dst.put(v)
        dst.put(None)

    merged: queue.Queue[int | None] = queue.Queue(maxsize=1)
    for p in range(SELECT_PRODUCERS):
        ch: queue.Queue[int | None] = queue.Queue(maxsize=1)
        _go(produce, ch, p)
        _go(forward, ch, merged)
    live, total = SELECT_PRODUCERS, 0
    while live:
        v = merged.get()
        if v is None:
            live -= 1
        else:
            total += v
    assert total == select_sum(n), f"select: sum {total}, want {select_sum(n)}"
    return n


def ring(n: int) -> int:
    def member(
        ident: int, inbox: queue.Queue[int], outbox: queue.Queue[int], done: queue.Queue[int]
    ) -> None:
        while True:
            token = inbox.get()
            if token == 0:
                done.put(ident)
                return
            outbox.put(token - 1)

    done: queue.Queue[int] = queue.Queue(maxsize=1)
    first: queue.Queue[int] = queue.Queue(maxsize=1)
    inbox = first
    for ident in range(1, RING_SIZE + 1):
        outbox: queue.Queue[int] = first if ident == RING_SIZE else queue.Queue(maxsize=1)
        _go(member, ident, inbox, outbox, done)
        inbox = outbox
    first.put(n)
    holder = done.get()
    assert holder == ring_holder(n), f"ring: holder {holder}, want {ring_holder(n)}"
    return n


def idle(n: int) -> Measured:
    gate, all_started = threading.Event(), threading.Event()
    lock = threading.Lock()
    started = released = 0

    def parked() -> None:
        nonlocal started, released
        with lock:  # real threads: the counters need a lock
            started += 1
            if started == n:
                all_started.set()
        gate.wait()
        with lock:
            released += 1

    threads = [_go(parked) for _ in range(n)]
    all_started.wait()
    t0 = time.perf_counter()
    gate.set()
    for t in threads:
        t.join()
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
