"""The standard workloads: their sizes, what one operation is, and their expected results.

Every contestant implements each workload in its own idiom, but the sizes, the unit of
work and the right answer live here, once, so that no contestant can check itself
against a weaker condition than the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Workload:
    name: str
    size: int  # the default n
    quick: int  # n under --quick: about a tenth of the work
    unit: str  # what one operation is, for the table's per-op column
    summary: str


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            name="spawn",
            size=100_000,
            quick=10_000,
            unit="goroutine",
            summary="start n goroutines doing a trivial step, wait for all",
        ),
        Workload(
            name="pingpong",
            size=100_000,
            quick=10_000,
            unit="round trip",
            summary="two goroutines bounce an int over two unbuffered channels",
        ),
        Workload(
            name="skynet",
            size=1_000_000,
            quick=100_000,
            unit="goroutine",
            summary="10-ary tree of goroutines down to n leaves, sums flow up by channel",
        ),
        Workload(
            name="sieve",
            size=1_000,
            quick=300,
            unit="message",
            summary="Go's concurrent prime sieve over unbuffered channels, first n primes",
        ),
        Workload(
            name="fanout",
            size=200_000,
            quick=20_000,
            unit="item",
            summary="producer -> 4 workers -> collector over channels of capacity 128",
        ),
        Workload(
            name="select",
            size=200_000,
            quick=20_000,
            unit="message",
            summary="fan-in of 8 producers through one select loop",
        ),
        Workload(
            name="ring",
            size=1_000_000,
            quick=100_000,
            unit="hop",
            summary="thread-ring: 503 goroutines pass a token n hops",
        ),
        Workload(
            name="idle",
            size=1_000_000,
            quick=100_000,
            unit="goroutine",
            summary="n goroutines parked on one channel; time to release them all by close",
        ),
    )
}

RING_SIZE = 503
FANOUT_WORKERS = 4
FANOUT_CAPACITY = 128
SELECT_PRODUCERS = 8


class Measured(NamedTuple):
    """Returned by a workload whose measurement is one phase of its run, not all of it.

    idle times only the release; spawning and parking its goroutines is setup.
    """

    ops: int
    seconds: float


def size_for(workload: str, quick: bool, divisor: int = 1) -> int:
    """n for one contestant. OS threads cannot be spawned by the million, so contestants
    whose goroutines are threads divide the spawn-heavy sizes (their SCALE); the table
    compares costs per operation, which stay meaningful across sizes."""
    w = WORKLOADS[workload]
    return _valid_size(workload, (w.quick if quick else w.size) // divisor)


def warmup_size(workload: str, n: int) -> int:
    """A run about 1% as big: it imports the code, fills caches and grows the allocator's pools."""
    return _valid_size(workload, n // 100)


def _valid_size(workload: str, n: int) -> int:
    if workload == "skynet":  # a full 10-ary tree needs a power of ten leaves
        leaves = 10
        while leaves * 10 <= n:
            leaves *= 10
        return leaves
    if workload == "select":  # every producer sends the same number of messages
        return max(SELECT_PRODUCERS, n - n % SELECT_PRODUCERS)
    if workload == "sieve":  # fewer primes than this barely starts the pipeline
        return max(10, n)
    return max(1, n)


# ---- expected results and operation counts ----


def spawn_sum(n: int) -> int:
    """Each goroutine i stores i + 1 in its own slot; the slots must add up to this."""
    return n * (n + 1) // 2


def skynet_sum(leaves: int) -> int:
    return leaves * (leaves - 1) // 2


def skynet_goroutines(leaves: int) -> int:
    """Every node of the tree is a goroutine: 1 + 10 + ... + leaves."""
    total, level = 0, 1
    while level <= leaves:
        total += level
        level *= 10
    return total


def first_primes(n: int) -> list[int]:
    return [x for x, p in enumerate(_smallest_factors(n)) if x >= 2 and p == x][:n]


def sieve_messages(primes: list[int]) -> int:
    """Channel sends the sieve makes to deliver all of `primes` to main.

    Every x up to the last prime enters the first channel once and is forwarded by each
    filter whose prime does not divide it, until the filter of its smallest prime factor
    p_k drops it (or main receives it, if x is p_k itself): k sends in all. The few numbers
    already in flight when main stops are not counted.
    """
    index = {p: k for k, p in enumerate(primes, start=1)}
    smallest = _smallest_factors(len(primes))
    return sum(index[smallest[x]] for x in range(2, primes[-1] + 1))


def _smallest_factors(n: int) -> list[int]:
    """Smallest prime factor of every x up to past the n-th prime (Eratosthenes, fast
    enough that computing the expected answer inside a timed run costs nothing)."""
    # Rosser's bound: the n-th prime is below n (ln n + ln ln n) for n >= 6.
    limit = max(15, int(n * (math.log(n) + math.log(math.log(n)))) + 1) if n >= 6 else 15
    factor = list(range(limit + 1))
    for p in range(2, math.isqrt(limit) + 1):
        if factor[p] == p:
            for multiple in range(p * p, limit + 1, p):
                if factor[multiple] == multiple:
                    factor[multiple] = p
    return factor


def fanout_sum(n: int) -> int:
    """Items 0..n-1, each doubled by a worker."""
    return n * (n - 1)


def select_sum(n: int) -> int:
    """Producer p sends p, p + 8, p + 16, ...: together exactly 0..n-1."""
    return n * (n - 1) // 2


def ring_holder(hops: int) -> int:
    """Member ids are 1..503; member 1 gets the token first, with value `hops`."""
    return hops % RING_SIZE + 1
