"""pygolang: Go's go/chan/select for Python, channels implemented in C++ (libgolang).

pygolang picks its runtime when `golang` is first imported: lightweight goroutines
(greenlets) if gevent has patched the process, one OS thread per goroutine otherwise.
We measure the lightweight runtime, the one its `gpython` interpreter sets up and the
only one that can hold a million goroutines: setup() patches the process first, as
gpython does.
"""

from __future__ import annotations

import importlib.util
import sys
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

NOTES: dict[str, str] = {
    "*": "pygolang's gevent runtime (as under gpython): goroutines are greenlets",
}
SCALE: dict[str, int] = {}

INSTALL = 'pip install "cython<3" setuptools_dso wheel; pip install --no-build-isolation pygolang'


def available() -> str | None:
    for module in ("golang", "gevent"):
        if importlib.util.find_spec(module) is None:
            return f"no module named {module!r} ({INSTALL})"
    return None


def setup() -> None:
    """Patch the process before `golang` loads, so that it chooses its gevent runtime.
    Only ever called in the worker process that measures pygolang."""
    from gevent import monkey

    monkey.patch_all()
    import golang  # noqa: F401  (a broken build fails here, reported as not installed)

    if "golang.runtime._runtime_gevent" not in sys.modules:
        raise RuntimeError("pygolang did not pick its gevent runtime; it would measure threads")


def spawn(n: int) -> int:
    from golang import go, sync

    out = [0] * n
    wg = sync.WaitGroup()

    def step(i: int) -> None:
        out[i] = i + 1
        wg.done()

    wg.add(n)
    for i in range(n):
        go(step, i)
    wg.wait()
    assert sum(out) == spawn_sum(n), "spawn: some goroutine did not run"
    return n


def pingpong(n: int) -> int:
    from golang import chan, go

    ping, pong, done = chan(), chan(), chan()

    def peer() -> None:
        for _ in range(n):
            pong.send(ping.recv() + 1)
        done.close()

    go(peer)
    v = 0
    for _ in range(n):
        ping.send(v)
        v = pong.recv()
    done.recv()
    assert v == n, "pingpong: lost a round trip"
    return n


def skynet(n: int) -> int:
    from golang import chan, go

    def node(parent: chan, num: int, size: int) -> None:
        if size == 1:
            parent.send(num)
            return
        children = chan()
        step = size // 10
        for i in range(10):
            go(node, children, num + i * step, step)
        parent.send(sum(children.recv() for _ in range(10)))

    root = chan()
    go(node, root, 0, n)
    result = root.recv()
    assert result == skynet_sum(n), f"skynet: sum {result}, want {skynet_sum(n)}"
    return skynet_goroutines(n)


def sieve(n: int) -> int:
    from golang import chan, go

    def generate(ch: chan) -> None:
        i = 2
        while True:
            ch.send(i)
            i += 1

    def filter_(src: chan, dst: chan, prime: int) -> None:
        while True:
            i = src.recv()
            if i % prime:
                dst.send(i)

    ch = chan()
    go(generate, ch)
    primes = []
    for _ in range(n):
        prime = ch.recv()
        primes.append(prime)
        ch1 = chan()
        go(filter_, ch, ch1, prime)
        ch = ch1
    # As in Go, the generator and filters are left parked: pygolang cannot kill goroutines.
    assert primes == first_primes(n), f"sieve: last prime {primes[-1]}"
    return sieve_messages(primes)


def fanout(n: int) -> int:
    from golang import chan, go, sync

    jobs, results = chan(FANOUT_CAPACITY), chan(FANOUT_CAPACITY)
    wg = sync.WaitGroup()

    def produce() -> None:
        for i in range(n):
            jobs.send(i)
        jobs.close()

    def work() -> None:
        while True:
            v, ok = jobs.recv_()
            if not ok:
                break
            results.send(v * 2)
        wg.done()

    def close_when_done() -> None:
        wg.wait()
        results.close()

    wg.add(FANOUT_WORKERS)
    go(produce)
    for _ in range(FANOUT_WORKERS):
        go(work)
    go(close_when_done)
    total = 0
    while True:  # the main goroutine is the collector
        v, ok = results.recv_()
        if not ok:
            break
        total += v
    assert total == fanout_sum(n), f"fanout: sum {total}, want {fanout_sum(n)}"
    return n


def select_(n: int) -> int:
    from golang import chan, go, nilchan, select

    def produce(ch: chan, first: int) -> None:
        for v in range(first, n, SELECT_PRODUCERS):
            ch.send(v)
        ch.close()

    chans = [chan() for _ in range(SELECT_PRODUCERS)]
    for p, ch in enumerate(chans):
        go(produce, ch, p)
    cases = [ch.recv_ for ch in chans]
    live, total = len(cases), 0
    while live:
        i, (v, ok) = select(*cases)
        if ok:
            total += v
        else:  # Go's idiom: a closed channel's case becomes the never-ready nil channel
            cases[i] = nilchan.recv_
            live -= 1
    assert total == select_sum(n), f"select: sum {total}, want {select_sum(n)}"
    return n


def ring(n: int) -> int:
    from golang import chan, go

    def member(ident: int, inbox: chan, outbox: chan, done: chan) -> None:
        while True:
            token = inbox.recv()
            if token == 0:
                done.send(ident)
                return
            outbox.send(token - 1)

    done = chan()
    first = inbox = chan()
    for ident in range(1, RING_SIZE + 1):
        outbox = first if ident == RING_SIZE else chan()
        go(member, ident, inbox, outbox, done)
        inbox = outbox
    first.send(n)
    holder = done.recv()
    # As in Go, the other members are left parked.
    assert holder == ring_holder(n), f"ring: holder {holder}, want {ring_holder(n)}"
    return n


def idle(n: int) -> Measured:
    from golang import chan, go, sync

    gate = chan()
    started, released = sync.WaitGroup(), sync.WaitGroup()

    def parked() -> None:
        started.done()
        gate.recv()  # returns None once closed; released.wait() returning is the check
        released.done()

    started.add(n)
    released.add(n)
    for _ in range(n):
        go(parked)
    started.wait()
    t0 = time.perf_counter()
    gate.close()
    released.wait()
    return Measured(n, time.perf_counter() - t0)


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
