"""Go's concurrent prime sieve, goroutine for goroutine.

A generator goroutine sends 2, 3, 4, ... down a channel; each prime found
starts a new filter goroutine that passes on only the numbers it does not
divide. Run it with ``gosched run examples/sieve.py [N]`` (default: 1000 primes).
"""

import sys

from gosched import Chan, go


async def generate(ch: Chan[int]) -> None:
    """Send the sequence 2, 3, 4, ... to channel ch."""
    i = 2
    while True:
        await ch.send(i)
        i += 1


async def filter_(src: Chan[int], dst: Chan[int], prime: int) -> None:
    """Copy the values from src to dst, removing those divisible by prime."""
    while True:
        i = await src.recv()
        if i % prime != 0:
            await dst.send(i)


async def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    ch: Chan[int] = Chan()
    go(generate, ch)
    primes = []
    for _ in range(n):
        prime = await ch.recv()
        primes.append(prime)
        ch1: Chan[int] = Chan()
        go(filter_, ch, ch1, prime)
        ch = ch1
    print(f"the first {n} primes, computed by main and {n + 1} goroutines:")
    for i in range(0, n, 20):
        print(" ".join(f"{p:5d}" for p in primes[i : i + 20]))
