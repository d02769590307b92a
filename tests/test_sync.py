"""gosched.sync: Mutex, RWMutex, WaitGroup, Once, Cond, Semaphore, ErrGroup, and the runtime
semaphore under them.

Every behaviour test runs under gomaxprocs 1 and 2. Orderings are asserted only where the
semantics guarantee them; time is used only as an input (to make a waiter wait longer than
the starvation threshold), never as a pass criterion. Stress tests (marked ``stress``) run
on a free-threaded interpreter only.
"""

from __future__ import annotations

import re
import sys
import threading

import pytest

import gosched
from gosched import (
    Chan,
    Cond,
    ErrGroup,
    Mutex,
    Once,
    RWMutex,
    Semaphore,
    WaitGroup,
    context,
    go,
)
from gosched.runtime import sema

PROCS = [1, 2]
FREE_THREADED = not getattr(sys, "_is_gil_enabled", lambda: True)()

pytestmark = pytest.mark.timeout(60)


def run(main, procs, *args):
    return gosched.run(main, *args, gomaxprocs=procs)


def reasons() -> list[str]:
    """The wait reason (or status) of every goroutine, from the goroutine dump."""
    return re.findall(r"^goroutine \d+ \[([^\],]+)", gosched.stack(), re.M)


async def until_blocked(reason: str, n: int = 1) -> None:
    """Wait until exactly ``n`` goroutines are parked with ``reason``."""
    while reasons().count(reason) != n:
        await gosched.sleep(0.0005)


def deadlock_dump(main, procs) -> str:
    with pytest.raises(gosched.Deadlock) as ei:
        run(main, procs)
    assert str(ei.value) == "all goroutines are asleep - deadlock!"
    return ei.value.dump


# ---------------------------------------------------------------------------
# Mutex
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", [1, 2, 4])
def test_mutex_mutual_exclusion(procs):
    async def main():
        mu = Mutex()
        st = {"n": 0, "inside": 0, "max": 0}

        async def worker():
            for i in range(200):
                await mu.lock()
                st["inside"] += 1
                st["max"] = max(st["max"], st["inside"])
                v = st["n"]
                if i % 3 == 0:
                    await gosched.gosched()  # let others pile up on the mutex
                st["n"] = v + 1
                st["inside"] -= 1
                mu.unlock()

        wg = WaitGroup()
        for _ in range(50):
            wg.go(worker)
        await wg.wait()
        return st

    assert run(main, procs) == {"n": 10_000, "inside": 0, "max": 1}


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_try_lock_and_unlock_of_unlocked(procs):
    async def main():
        mu = Mutex()
        with pytest.raises(RuntimeError) as ei:
            mu.unlock()
        assert str(ei.value) == "sync: unlock of unlocked mutex"
        assert mu.try_lock()
        assert not mu.try_lock()
        mu.unlock()
        with pytest.raises(RuntimeError, match=r"^sync: unlock of unlocked mutex$"):
            mu.unlock()
        await mu.lock()  # the failed unlocks left it usable
        mu.unlock()
        return "ok"

    assert run(main, procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_async_with_releases_on_exception(procs):
    async def main():
        mu = Mutex()
        with pytest.raises(ValueError):
            async with mu:
                assert not mu.try_lock()
                raise ValueError("boom")
        assert mu.try_lock()
        mu.unlock()
        async with mu:
            pass
        return "ok"

    assert run(main, procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_unlock_from_another_goroutine(procs):
    async def main():
        mu = Mutex()
        await mu.lock()
        go(mu.unlock)  # a sync goroutine unlocks what main locked, as Go allows
        await mu.lock()
        mu.unlock()
        return "ok"

    assert run(main, procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_waiters_fifo(procs):
    async def main():
        mu = Mutex()
        order = []
        await mu.lock()
        wg = WaitGroup()

        async def waiter(i):
            await mu.lock()
            order.append(i)
            mu.unlock()

        for i in range(5):
            wg.go(waiter, i)
            await until_blocked("sync.Mutex.Lock", i + 1)
        mu.unlock()
        await wg.wait()
        return order

    assert run(main, procs) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_starvation_mode(procs):
    """A waiter that waited > 1 ms gets the lock next: the running goroutine may barge in
    once (normal mode), but the woken waiter then switches the mutex to starvation mode
    and ownership is handed to it."""

    async def main():
        mu = Mutex()
        events = []
        await mu.lock()

        async def waiter():
            await mu.lock()
            events.append("waiter")
            mu.unlock()

        wg = WaitGroup()
        wg.go(waiter)
        await until_blocked("sync.Mutex.Lock")
        await gosched.sleep(0.003)  # the waiter has now waited more than 1 ms
        mu.unlock()  # normal mode: wakes the waiter, which competes with us
        handed_off_try = None
        if mu.try_lock():  # we are running, it is not: we win (always so with one P)
            events.append("barged")
            # The waiter wakes, loses, and queues again at the front, starving.
            await until_blocked("sync.Mutex.Lock")
            mu.unlock()  # starvation mode: ownership goes to the waiter
            handed_off_try = mu.try_lock()  # even though nobody runs with the lock yet
        await mu.lock()
        events.append("main")
        mu.unlock()
        await wg.wait()
        assert mu.try_lock()  # back to normal once the waiters are gone
        return events, handed_off_try

    events, handed_off_try = run(main, procs)
    if procs == 1:
        assert events == ["barged", "waiter", "main"]
    if events[0] == "barged":
        assert events == ["barged", "waiter", "main"]
        assert handed_off_try is False
    else:
        assert events == ["waiter", "main"]


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_double_lock_deadlock(procs):
    async def main():
        mu = Mutex()
        await mu.lock()
        await mu.lock()

    assert "goroutine 1 [sync.Mutex.Lock]:" in deadlock_dump(main, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_from_sync_goroutines_and_threads(procs):
    """Async goroutines await, sync goroutines and plain threads use block_on."""

    async def main():
        mu = Mutex()
        st = {"n": 0}
        finished = Chan(10)

        async def coro_worker():
            for _ in range(300):
                async with mu:
                    v = st["n"]
                    await gosched.gosched()
                    st["n"] = v + 1
            await finished.send("async")

        def sync_worker():
            for _ in range(300):
                gosched.block_on(mu.lock())
                st["n"] += 1
                mu.unlock()
            gosched.block_on(finished.send("sync"))

        def thread_worker():
            for _ in range(300):
                gosched.block_on(mu.lock())
                st["n"] += 1
                mu.unlock()
            gosched.block_on(finished.send("thread"))

        threads = [threading.Thread(target=thread_worker) for _ in range(2)]
        for _ in range(2):
            go(coro_worker)
            go(sync_worker)
        for t in threads:
            t.start()
        kinds = sorted([await finished.recv() for _ in range(6)])
        for t in threads:
            await gosched.syscall(t.join)
        return kinds, st["n"]

    assert run(main, procs) == (["async"] * 2 + ["sync"] * 2 + ["thread"] * 2, 1800)


@pytest.mark.parametrize("procs", PROCS)
def test_mutex_waiters_abandoned_at_exit(procs):
    """Goroutines still waiting when main returns are closed; the semaphore table is left
    empty."""
    cleaned = []

    async def main():
        mu = Mutex()
        await mu.lock()

        async def waiter():
            try:
                await mu.lock()
            finally:
                cleaned.append(1)

        for _ in range(3):
            go(waiter)
        await until_blocked("sync.Mutex.Lock", 3)
        return "done"

    assert run(main, procs) == "done"
    assert cleaned == [1, 1, 1]
    assert not any(root.waiters for root in sema.semtable)


# ---------------------------------------------------------------------------
# RWMutex
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_readers_share_writers_exclude(procs):
    async def main():
        rw = RWMutex()
        await rw.rlock()
        assert rw.try_rlock()  # readers share
        assert not rw.try_lock()
        rw.runlock()
        rw.runlock()
        assert rw.try_lock()
        assert not rw.try_rlock()
        assert not rw.try_lock()
        rw.unlock()
        async with rw:
            assert not rw.try_rlock()
        async with rw.rlocker():
            assert rw.try_rlock()
            rw.runlock()
            assert not rw.try_lock()
        assert rw.try_lock()
        rw.unlock()
        return "ok"

    assert run(main, procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_misuse_messages(procs):
    async def main():
        rw = RWMutex()
        with pytest.raises(RuntimeError) as e1:
            rw.runlock()
        with pytest.raises(RuntimeError) as e2:
            rw.unlock()
        await rw.rlock()
        with pytest.raises(RuntimeError) as e3:
            rw.unlock()  # read-locked only
        rw.runlock()
        await rw.lock()
        with pytest.raises(RuntimeError) as e4:
            rw.runlock()  # write-locked only
        rw.unlock()
        assert rw.try_lock()  # still consistent
        rw.unlock()
        return [str(e.value) for e in (e1, e2, e3, e4)]

    assert run(main, procs) == [
        "sync: RUnlock of unlocked RWMutex",
        "sync: Unlock of unlocked RWMutex",
        "sync: Unlock of unlocked RWMutex",
        "sync: RUnlock of unlocked RWMutex",
    ]


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_pending_writer_blocks_new_readers(procs):
    async def main():
        rw = RWMutex()
        events = []
        await rw.rlock()  # an active reader
        wg = WaitGroup()

        async def writer():
            await rw.lock()
            events.append("writer")
            rw.unlock()

        async def late_reader():
            await rw.rlock()
            events.append("reader")
            rw.runlock()

        wg.go(writer)
        await until_blocked("sync.RWMutex.Lock")
        assert not rw.try_rlock()  # a writer waits: no new readers
        wg.go(late_reader)
        await until_blocked("sync.RWMutex.RLock")
        rw.runlock()  # the last active reader lets the writer in
        await wg.wait()
        return events

    assert run(main, procs) == ["writer", "reader"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_writer_not_starved_by_reader_stream(procs):
    """Readers keep overlapping; the writer still gets in (else this test hangs)."""

    async def main():
        rw = RWMutex()
        stop = Chan()
        wg = WaitGroup()

        async def reader(i):
            await gosched.sleep(i * 0.0002)  # stagger, so that some reader always holds it
            while True:
                index, _ = await gosched.select(stop.recv, gosched.default)
                if index == 0:
                    return
                await rw.rlock()
                await gosched.sleep(0.001)
                rw.runlock()

        for i in range(8):
            wg.go(reader, i)
        await gosched.sleep(0.01)
        got = []
        for _ in range(3):
            await rw.lock()
            got.append("w")
            rw.unlock()
        stop.close()
        await wg.wait()
        return got

    assert run(main, procs) == ["w", "w", "w"]


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_consistency(procs):
    async def main():
        rw = RWMutex()
        st = {"a": 0, "b": 0, "bad": 0, "reads": 0}
        wg = WaitGroup()

        async def writer():
            for _ in range(100):
                async with rw:
                    st["a"] += 1
                    await gosched.gosched()
                    st["b"] += 1

        count = threading.Lock()  # readers share the read lock, possibly on two threads

        async def reader():
            for _ in range(100):
                async with rw.rlocker():
                    a = st["a"]
                    await gosched.gosched()
                    with count:
                        if a != st["b"] or a != st["a"]:
                            st["bad"] += 1
                        st["reads"] += 1

        for _ in range(4):
            wg.go(writer)
            wg.go(reader)
        await wg.wait()
        return st

    assert run(main, procs) == {"a": 400, "b": 400, "bad": 0, "reads": 400}


@pytest.mark.parametrize("procs", PROCS)
def test_rwmutex_wait_reasons(procs):
    async def main():
        rw = RWMutex()
        await rw.rlock()

        async def writer():
            await rw.lock()

        async def reader():
            await rw.rlock()

        go(writer)  # waits for the reader: sync.RWMutex.Lock
        await until_blocked("sync.RWMutex.Lock")
        go(writer)  # waits for the other writer: sync.Mutex.Lock, as in Go
        await until_blocked("sync.Mutex.Lock")
        go(reader)  # waits behind the pending writer: sync.RWMutex.RLock
        await until_blocked("sync.RWMutex.RLock")
        await rw.lock()  # main waits too

    dump = deadlock_dump(main, procs)
    found = sorted(re.findall(r"^goroutine \d+ \[([^\]]+)\]", dump, re.M))
    assert found == ["sync.Mutex.Lock"] * 2 + ["sync.RWMutex.Lock", "sync.RWMutex.RLock"]


# ---------------------------------------------------------------------------
# WaitGroup
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_go_async_sync_and_lambda(procs):
    async def main():
        wg = WaitGroup()
        results = []
        lk = threading.Lock()

        async def coro(i):
            await gosched.sleep(0.001)
            with lk:
                results.append(("async", i))

        def plain(i):
            with lk:
                results.append(("sync", i))

        for i in range(5):
            wg.go(coro, i)
            wg.go(plain, i)
            wg.go(lambda i=i: coro(10 + i))  # a plain callable returning a coroutine
        await wg.wait()
        await wg.wait()  # the counter is zero: returns at once
        return sorted(results)

    expected = sorted([("async", i) for i in range(5)] + [("sync", i) for i in range(5)]
                      + [("async", 10 + i) for i in range(5)])
    assert run(main, procs) == expected


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_many_waiters_and_negative_counter(procs):
    async def main():
        wg = WaitGroup()
        with pytest.raises(RuntimeError) as ei:
            wg.add(-1)
        assert str(ei.value) == "sync: negative WaitGroup counter"
        wg.add(2)
        woken = Chan(10)

        async def waiter(i):
            await wg.wait()
            await woken.send(i)

        for i in range(4):
            go(waiter, i)
        await until_blocked("sync.WaitGroup.Wait", 4)
        wg.done()
        assert reasons().count("sync.WaitGroup.Wait") == 4
        wg.done()
        got = sorted([await woken.recv() for _ in range(4)])
        with pytest.raises(RuntimeError, match=r"^sync: negative WaitGroup counter$"):
            wg.done()
        wg.add(1)  # the failed done left the counter at 0
        wg.done()
        return got

    assert run(main, procs) == [0, 1, 2, 3]


def test_waitgroup_reused_before_wait_returned():
    """Go panics if a WaitGroup is reused before a woken Wait returned (one P: the waiter
    cannot run between our done and add)."""

    async def main():
        wg = WaitGroup()
        wg.add(1)
        errs = Chan(1)

        async def waiter():
            try:
                await wg.wait()
            except RuntimeError as e:
                await errs.send(str(e))

        go(waiter)
        await until_blocked("sync.WaitGroup.Wait")
        wg.done()
        wg.add(1)
        msg = await errs.recv()
        wg.done()
        return msg

    assert run(main, 1) == "sync: WaitGroup is reused before previous Wait has returned"


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_wait_deadlock_reason(procs):
    async def main():
        wg = WaitGroup()
        wg.add(1)
        await wg.wait()

    assert "goroutine 1 [sync.WaitGroup.Wait]:" in deadlock_dump(main, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_from_sync_goroutine(procs):
    async def main():
        wg = WaitGroup()
        out = Chan(1)

        def waiter():
            gosched.block_on(wg.wait())
            gosched.block_on(out.send("released"))

        wg.add(1)
        go(waiter)
        await until_blocked("sync.WaitGroup.Wait")
        wg.done()
        return await out.recv()

    assert run(main, procs) == "released"


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_go_done_on_return_and_goexit_not_on_panic(procs):
    """Go 1.25's WaitGroup.Go re-panics without Done, so that Wait cannot let main return
    before the panic ends the program; Done does come on a return and on Goexit."""

    async def aboom():
        raise ValueError("boom")

    def boom():
        raise ValueError("boom")

    async def agoexit():
        gosched.goexit()

    async def main(wg, fn):
        wg.go(fn)
        await Chan().recv()  # the panic ends the program first

    for fn in (boom, aboom):
        wg = WaitGroup()
        with pytest.raises(ValueError, match=r"^boom"):
            run(main, procs, wg, fn)
        wg.add(-1)  # done was not called: the counter is still 1

    async def main2():
        wg = WaitGroup()
        wg.go(gosched.goexit)
        wg.go(agoexit)
        wg.go(lambda: None)
        await wg.wait()
        return "ok"

    assert run(main2, procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_go_nil_and_coroutine_object(procs):
    async def main():
        wg = WaitGroup()
        with pytest.raises(TypeError, match=r"^go of nil func value$"):
            wg.go(None)
        await wg.wait()  # the failed go added nothing
        out = []

        async def co(i):
            out.append(i)

        wg.go(co(1))  # a coroutine object, as gosched.go accepts
        c = co(2)
        with pytest.raises(TypeError, match=r"^go: arguments given with a coroutine object$"):
            wg.go(c, 3)
        assert c.cr_frame is None  # closed: no "never awaited" warning
        await wg.wait()
        return out

    assert run(main, procs) == [1]


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_add_bad_type_leaves_it_usable(procs):
    async def main():
        wg = WaitGroup()
        with pytest.raises(TypeError, match=r"^WaitGroup.add: delta must be an int, not str$"):
            wg.add("1")
        wg.add(1)  # the lock was not left held
        wg.done()
        await wg.wait()
        return "ok"

    assert run(main, procs) == "ok"


# ---------------------------------------------------------------------------
# Once
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", PROCS)
def test_once_runs_exactly_once_under_contention(procs):
    async def main():
        once = Once()
        st = {"calls": 0, "finished": False}
        seen = []

        async def init():
            st["calls"] += 1
            await gosched.sleep(0.005)  # others arrive while it runs
            st["finished"] = True

        async def caller():
            await once.do(init)
            seen.append(st["finished"])  # nobody returns before init has

        wg = WaitGroup()
        for _ in range(20):
            wg.go(caller)
        await wg.wait()
        await once.do(init)
        return st["calls"], seen

    calls, seen = run(main, procs)
    assert calls == 1
    assert seen == [True] * 20


@pytest.mark.parametrize("procs", PROCS)
def test_once_raising_function_counts_as_done(procs):
    async def main():
        once = Once()
        calls = []

        def bad():
            calls.append("bad")
            raise ValueError("init failed")

        with pytest.raises(ValueError, match="init failed"):
            await once.do(bad)
        await once.do(bad)
        await once.do(lambda: calls.append("other"))
        return calls

    assert run(main, procs) == ["bad"]


@pytest.mark.parametrize("procs", PROCS)
def test_once_awaits_a_coroutine_object(procs):
    async def main():
        once = Once()
        calls = []

        async def init(what):
            calls.append(what)

        await once.do(init("first"))
        await once.do(init("second"))  # done already: closed, never run, no warning
        return calls

    assert run(main, procs) == ["first"]


@pytest.mark.parametrize("procs", PROCS)
def test_once_from_sync_goroutines(procs):
    async def main():
        once = Once()
        calls = []
        wg = WaitGroup()

        def caller():
            gosched.block_on(once.do(lambda: calls.append(1)))

        for _ in range(4):
            wg.go(caller)
        await wg.wait()
        return calls

    assert run(main, procs) == [1]


# ---------------------------------------------------------------------------
# Cond
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", PROCS)
def test_cond_signal_and_broadcast(procs):
    async def main():
        mu = Mutex()
        cond = Cond(mu)
        st = {"ready": 0, "woken": []}
        wg = WaitGroup()

        async def waiter(i):
            await mu.lock()
            while st["ready"] <= 0:
                await cond.wait()
            st["ready"] -= 1
            st["woken"].append(i)
            mu.unlock()

        for i in range(4):
            wg.go(waiter, i)
        await until_blocked("sync.Cond.Wait", 4)
        async with mu:
            st["ready"] = 1
            cond.signal()  # one waiter
        await until_blocked("sync.Cond.Wait", 3)  # the other three sleep on
        async with mu:
            st["ready"] += 3
            cond.broadcast()
        await wg.wait()
        cond.signal()  # nobody waits: nothing happens
        cond.broadcast()
        return len(st["woken"]), sorted(st["woken"])

    assert run(main, procs) == (4, [0, 1, 2, 3])


@pytest.mark.parametrize("procs", PROCS)
def test_cond_signal_wakes_in_wait_order(procs):
    async def main():
        mu = Mutex()
        cond = Cond(mu)
        order = []
        wg = WaitGroup()

        async def waiter(i):
            async with mu:
                await cond.wait()
                order.append(i)

        for i in range(3):
            wg.go(waiter, i)
            await until_blocked("sync.Cond.Wait", i + 1)
        for i in range(3):
            cond.signal()
            while len(order) <= i:  # readying several at once would put the last in runnext
                await gosched.sleep(0.0005)
        await wg.wait()
        return order

    assert run(main, procs) == [0, 1, 2]


@pytest.mark.parametrize("procs", PROCS)
def test_cond_with_rlocker_deadlock_reason(procs):
    async def main():
        rw = RWMutex()
        cond = Cond(rw.rlocker())
        await rw.rlock()
        await cond.wait()  # nobody will ever signal

    assert "goroutine 1 [sync.Cond.Wait]:" in deadlock_dump(main, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_cond_wait_without_lock_does_not_swallow_a_signal(procs):
    """wait takes its ticket before unlocking L; when unlock raises, the ticket is given
    back, or the next signal would go to it and the real waiter would sleep for ever."""

    async def main():
        mu = Mutex()
        cond = Cond(mu)
        with pytest.raises(RuntimeError, match=r"^sync: unlock of unlocked mutex$"):
            await cond.wait()
        with pytest.raises(AttributeError):
            await Cond(None).wait()
        woke = Chan(1)

        async def waiter():
            async with mu:
                await cond.wait()
            await woke.send("woken")

        go(waiter)
        await until_blocked("sync.Cond.Wait")
        cond.signal()
        return await woke.recv()  # a lost signal would be a deadlock

    assert run(main, procs) == "woken"


# ---------------------------------------------------------------------------
# Semaphore (x/sync/semaphore.Weighted)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_basics(procs):
    async def main():
        s = Semaphore(3)
        await s.acquire(2)
        assert s.try_acquire()
        assert not s.try_acquire()
        s.release(3)
        with pytest.raises(RuntimeError) as ei:
            s.release()
        assert str(ei.value) == "semaphore: released more than held"
        assert s.try_acquire(3)  # the failed release changed nothing
        s.release(3)
        return "ok"

    assert run(main, procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_limits_concurrency(procs):
    async def main():
        s = Semaphore(3)
        st = {"inside": 0, "max": 0}
        lk = threading.Lock()
        wg = WaitGroup()

        async def worker():
            await s.acquire()
            with lk:
                st["inside"] += 1
                st["max"] = max(st["max"], st["inside"])
            await gosched.sleep(0.001)
            with lk:
                st["inside"] -= 1
            s.release()

        for _ in range(20):
            wg.go(worker)
        await wg.wait()
        return st["max"]

    assert run(main, procs) == 3


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_large_request_not_starved(procs):
    """FIFO: while a large request waits at the head, smaller ones that would fit wait
    behind it."""

    async def main():
        s = Semaphore(10)
        order = []
        await s.acquire(8)
        wg = WaitGroup()

        async def want(k):
            await s.acquire(k)
            order.append(k)
            s.release(k)

        wg.go(want, 10)
        await until_blocked("select")
        assert not s.try_acquire(1)  # 2 are free, but the head needs 10
        wg.go(want, 1)
        await until_blocked("select", 2)
        s.release(8)
        await wg.wait()
        return order

    assert run(main, procs) == [10, 1]


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_acquire_with_context(procs):
    async def main():
        s = Semaphore(2)
        await s.acquire(2)
        ctx, cancel = context.with_cancel(context.background())
        errs = Chan(1)
        got = Chan(1)

        async def big():  # at the head, then canceled: the one behind it proceeds
            try:
                await s.acquire(2, ctx)
            except context.Canceled as e:
                await errs.send(e)

        async def small():
            await s.acquire(1)
            await got.send("small")

        go(big)
        await until_blocked("select")
        go(small)
        await until_blocked("select", 2)
        s.release(1)
        cancel()
        err = await errs.recv()
        small_got = await got.recv()
        # A done context fails even when the weight is free.
        with pytest.raises(context.Canceled):
            await s.acquire(1, ctx)
        tctx, tcancel = context.with_timeout(context.background(), 0.005)
        with pytest.raises(context.DeadlineExceeded):
            await s.acquire(3, tctx)  # more than the size: waits for ctx
        tcancel()
        s.release(2)
        assert s.try_acquire(2)  # nothing leaked
        return str(err), small_got

    assert run(main, procs) == ("context canceled", "small")


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_request_larger_than_size_blocks_forever(procs):
    async def main():
        await Semaphore(1).acquire(2)

    assert "goroutine 1 [chan receive (nil chan)]:" in deadlock_dump(main, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_bad_types_leave_it_usable(procs):
    async def main():
        with pytest.raises(TypeError, match=r"^Semaphore: n must be an int, not NoneType$"):
            Semaphore(None)
        s = Semaphore(2)
        with pytest.raises(TypeError, match=r"^Semaphore.acquire: k must be an int, not str$"):
            await s.acquire("1")
        with pytest.raises(TypeError, match=r"^Semaphore.try_acquire: k must be an int, not str$"):
            s.try_acquire("1")
        await s.acquire()  # the lock was not left held
        with pytest.raises(TypeError, match=r"^Semaphore.release: k must be an int, not NoneType$"):
            s.release(None)
        s.release()
        assert s.try_acquire(2)  # nothing leaked
        s.release(2)
        return "ok"

    assert run(main, procs) == "ok"


# ---------------------------------------------------------------------------
# ErrGroup (x/sync/errgroup.Group)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_all_succeed(procs):
    async def main():
        g = ErrGroup()
        out = []
        lk = threading.Lock()

        async def work(i):
            await gosched.sleep(0.001)
            with lk:
                out.append(i)

        def plain(i):
            with lk:
                out.append(i)

        for i in range(5):
            g.go(work, i)
            g.go(plain, 10 + i)
        err = await g.wait()
        return err, sorted(out)

    assert run(main, procs) == (None, [0, 1, 2, 3, 4, 10, 11, 12, 13, 14])


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_first_error_cancels_context(procs):
    async def main():
        g, ctx = ErrGroup.with_context(context.background())
        first = ValueError("first")

        async def fails():
            raise first

        async def fails_later():
            await ctx.done().recv()
            raise KeyError("second")

        async def watches():
            await ctx.done().recv()  # canceled by the first failure
            return

        def sync_fails_later():
            gosched.block_on(ctx.done().recv())
            raise OSError("third")

        g.go(watches)
        g.go(fails_later)
        g.go(sync_fails_later)
        await until_blocked("chan receive", 3)
        g.go(fails)
        err = await g.wait()
        return err is first, type(ctx.err()).__name__

    assert run(main, procs) == (True, "Canceled")


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_context_canceled_when_wait_returns(procs):
    async def main():
        g, ctx = ErrGroup.with_context(context.background())
        g.go(gosched.sleep, 0.001)  # a plain function returning an awaitable
        assert ctx.err() is None
        err = await g.wait()
        return err, str(ctx.err())

    assert run(main, procs) == (None, "context canceled")


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_set_limit_counts_a_goroutine_that_has_not_started_yet(procs):
    """Go's Go takes its slot before returning, so the goroutine counts at once."""

    async def main():
        g = ErrGroup()
        g.set_limit(2)
        g.go(gosched.sleep, 0.001)
        with pytest.raises(RuntimeError) as ei:
            g.set_limit(1)
        assert await g.wait() is None
        g.set_limit(1)
        return str(ei.value)

    assert run(main, procs) == (
        "errgroup: modify limit while 1 goroutines in the group are still active")


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_limit(procs):
    async def main():
        g = ErrGroup()
        g.set_limit(2)
        st = {"inside": 0, "max": 0}
        lk = threading.Lock()
        release = Chan()

        async def work():
            with lk:
                st["inside"] += 1
                st["max"] = max(st["max"], st["inside"])
            await release.recv()
            with lk:
                st["inside"] -= 1

        for _ in range(6):
            g.go(work)
        await until_blocked("chan receive", 2)
        assert not g.try_go(work)  # at the limit: not started
        with pytest.raises(RuntimeError) as ei:
            g.set_limit(5)
        release.close()
        assert await g.wait() is None
        g.set_limit(1)  # nothing active: allowed
        assert g.try_go(work)
        assert not g.try_go(work)
        assert await g.wait() is None
        g.set_limit(-1)
        return st["max"], str(ei.value)

    assert run(main, procs) == (
        2, "errgroup: modify limit while 2 goroutines in the group are still active")


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_limit_starts_functions_in_go_order(procs):
    """Go's Go blocks at the limit, so functions start in call order; ours queues them in
    that order, starts no goroutine for them until they have a slot, and try_go does not
    jump the queue."""

    async def main():
        g = ErrGroup()
        g.set_limit(1)
        order = []

        async def af(i):
            order.append(i)
            await gosched.sleep(0)

        def sf(i):
            order.append(i)

        for i in range(8):
            g.go(af if i % 2 else sf, i)
        assert await g.wait() is None
        first = list(order)

        order.clear()
        release = Chan()

        async def held(i):
            await release.recv()
            order.append(i)

        g.go(held, "a")
        g.go(held, "b")
        assert not g.try_go(held, "c")  # a slot taken and one function queued
        c = held("d")
        assert not g.try_go(c)
        assert c.cr_frame is None  # refused, so closed: no "never awaited" warning
        release.close()
        assert await g.wait() is None
        second = list(order)

        g.set_limit(2)
        order.clear()
        while gosched.num_goroutine() > 1:  # the goroutines above may still be exiting
            await gosched.sleep(0.0005)
        release = Chan()  # open: nobody leaves a slot while we count
        for i in range(100):
            g.go(held, i)
        live = gosched.num_goroutine()  # main and the two holding a slot
        release.close()
        assert await g.wait() is None
        return first, second, live, sorted(order) == list(range(100))

    assert run(main, procs) == (list(range(8)), ["a", "b"], 3, True)


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_awaited_go_blocks_until_a_slot_is_free(procs):
    """``await g.go(fn)`` is Go's Go at the limit: it returns once fn holds a slot, so a
    producer loop is throttled instead of queueing without bound."""

    async def main():
        g = ErrGroup()
        g.set_limit(1)
        events = []
        release = Chan()

        async def held():
            await release.recv()
            events.append("held done")

        await g.go(held)  # a free slot: returns at once
        go(release.close)
        await g.go(events.append, "second ran")  # waits for held's slot
        events.append("second go returned")
        assert await g.wait() is None
        first = events[0]

        g2 = ErrGroup()
        g2.set_limit(2)
        finished = calls = 0

        async def work():
            nonlocal finished
            await gosched.sleep(0)
            finished += 1

        while finished < 10:  # Go's `for !stop { g.Go(work) }`
            calls += 1
            await g2.go(work)
        assert await g2.wait() is None
        return first, calls

    first, calls = run(main, procs)
    assert first == "held done"
    assert 10 <= calls <= 12  # at most the limit's worth beyond the ten that finished


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_awaited_go_at_limit_zero_is_a_deadlock_in_chan_send(procs):
    async def main():
        g = ErrGroup()
        g.set_limit(0)
        await g.go(gosched.sleep, 0)

    dump = deadlock_dump(main, procs)
    assert dump.startswith("goroutine 1 [chan send]:\n"), dump


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_set_limit_negative_and_queued(procs):
    """Go's SetLimit(n < 0) drops the limit before it checks for active goroutines; the
    check counts slots taken (len(g.sem)), not functions waiting for one."""

    async def main():
        g = ErrGroup()
        g.set_limit(1)
        release = Chan()
        ran = []

        async def work(i):
            await release.recv()
            ran.append(i)

        g.go(work, 0)
        g.go(work, 1)  # queued
        g.set_limit(-1)  # no limit: the queued function starts too
        await until_blocked("chan receive", 2)
        g.set_limit(2)  # 0 and 1 hold no slot of this limit
        for i in range(2, 5):
            g.go(work, i)  # 2 and 3 run, 4 waits
        await until_blocked("chan receive", 4)
        with pytest.raises(RuntimeError) as ei:
            g.set_limit(3)
        release.close()
        assert await g.wait() is None

        g.set_limit(0)
        g.go(ran.append, 5)  # can never start under this limit
        assert not g.try_go(ran.append, 6)
        g.set_limit(1)  # nothing holds a slot: allowed, and 5 starts
        assert await g.wait() is None
        return str(ei.value), sorted(ran)

    assert run(main, procs) == (
        "errgroup: modify limit while 2 goroutines in the group are still active",
        [0, 1, 2, 3, 4, 5])


@pytest.mark.parametrize("procs", PROCS)
def test_errgroup_go_nil_and_coroutine_object(procs):
    async def main():
        g = ErrGroup()
        with pytest.raises(TypeError, match=r"^go of nil func value$"):
            g.go(None)
        with pytest.raises(TypeError, match=r"^go of nil func value$"):
            g.try_go(None)
        with pytest.raises(TypeError, match=r"^ErrGroup.set_limit: n must be an int, not str$"):
            g.set_limit("1")
        out = []

        async def co(i):
            out.append(i)

        g.go(co(1))
        assert g.try_go(co(2))
        assert await g.wait() is None
        return sorted(out)

    assert run(main, procs) == [1, 2]


# ---------------------------------------------------------------------------
# The runtime semaphore
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", PROCS)
def test_sema_release_before_acquire_and_reason(procs):
    async def main():
        s = sema.Sema()
        sema.semrelease(s)  # a wakeup before the sleep is not lost
        await sema.semacquire(s)
        await sema.semacquire(s)  # no release will come

    assert "goroutine 1 [semacquire]:" in deadlock_dump(main, procs)


@pytest.mark.parametrize("procs", PROCS)
def test_sema_fifo_and_handoff(procs):
    async def main():
        s = sema.Sema()
        order = []
        wg = WaitGroup()

        async def waiter(i):
            await sema.semacquire(s)
            order.append(i)

        for i in range(3):
            wg.go(waiter, i)
            await until_blocked("semacquire", i + 1)
        sema.semrelease1(s, True)  # handoff: the count goes to the head waiter itself
        assert s._sema == 0
        for i in range(1, 4):
            while len(order) < i:  # readying several at once would put the last in runnext
                await gosched.sleep(0.0005)
            if i < 3:
                sema.semrelease(s)
        await wg.wait()
        return order

    assert run(main, procs) == [0, 1, 2]


@pytest.mark.parametrize("procs", PROCS)
def test_notifylist_abandoned_ticket_passes_its_notification_on(procs):
    """A ticket given back after it was notified hands the notification to the next
    ticket; one given back before is passed over by signal and broadcast."""

    async def main():
        l = sema.notifyList()
        woke = Chan(3)

        async def waiter(i):
            t = sema.notifyListAdd(l)
            await sema.notifyListWait(l, t)
            await woke.send(i)

        t0 = sema.notifyListAdd(l)
        go(waiter, 1)
        await until_blocked("sync.Cond.Wait")
        sema.notifyListNotifyOne(l)  # goes to t0, whose holder will not wait
        sema.notifyListAbandon(l, t0)  # so to waiter 1 instead
        got = [await woke.recv()]
        t2 = sema.notifyListAdd(l)
        sema.notifyListAbandon(l, t2)  # not notified yet: skipped
        for i in (3, 4):
            go(waiter, i)
            await until_blocked("sync.Cond.Wait", i - 2)
        sema.notifyListNotifyOne(l)
        got.append(await woke.recv())
        sema.notifyListNotifyAll(l)
        got.append(await woke.recv())
        return got, l.waiters

    assert run(main, procs) == ([1, 3, 4], {})


# ---------------------------------------------------------------------------
# Stress (free-threaded interpreter only)
# ---------------------------------------------------------------------------

def stress(f):
    """Mark a stress test: run with gomaxprocs 4 on a free-threaded interpreter only."""
    f = pytest.mark.timeout(120)(f)
    f = pytest.mark.skipif(
        not FREE_THREADED, reason="stress test: needs a free-threaded interpreter (python3.13t)"
    )(f)
    return pytest.mark.stress(f)


@stress
def test_stress_mutex():
    # Async goroutines, sync goroutines and plain threads share one mutex. (Counting a
    # thread's wakeup delay as starvation kept this mutex in starvation mode, at the
    # pace of thread wakeups: see semacquire1.)
    async def main():
        mu = Mutex()
        st = {"n": 0}
        done = Chan(64)

        async def coro_worker():
            for i in range(5000):
                await mu.lock()
                v = st["n"]
                if i % 7 == 0:
                    await gosched.gosched()
                st["n"] = v + 1
                mu.unlock()
            await done.send(1)

        def sync_worker():
            for _ in range(1000):
                gosched.block_on(mu.lock())
                st["n"] += 1
                mu.unlock()
            gosched.block_on(done.send(1))

        def thread_worker():
            for _ in range(1000):
                gosched.block_on(mu.lock())
                st["n"] += 1
                mu.unlock()
            gosched.block_on(done.send(1))

        threads = [threading.Thread(target=thread_worker) for _ in range(2)]
        for _ in range(16):
            go(coro_worker)
        for _ in range(2):
            go(sync_worker)
        for t in threads:
            t.start()
        for _ in range(20):
            await done.recv()
        for t in threads:
            await gosched.syscall(t.join)
        return st["n"]

    assert run(main, 4) == 16 * 5000 + 4 * 1000


@stress
def test_stress_rwmutex():
    async def main():
        rw = RWMutex()
        st = {"a": 0, "b": 0, "bad": 0}
        wg = WaitGroup()

        async def writer():
            for i in range(500):
                await rw.lock()
                st["a"] += 1
                if i % 5 == 0:
                    await gosched.gosched()
                st["b"] += 1
                rw.unlock()

        async def reader():
            for _ in range(2000):
                await rw.rlock()
                if st["a"] != st["b"]:
                    st["bad"] += 1
                rw.runlock()

        def sync_reader():
            for _ in range(500):
                gosched.block_on(rw.rlock())
                if st["a"] != st["b"]:
                    st["bad"] += 1
                rw.runlock()

        for _ in range(8):
            wg.go(writer)
        for _ in range(16):
            wg.go(reader)
        for _ in range(2):
            wg.go(sync_reader)
        await wg.wait()
        return st

    assert run(main, 4) == {"a": 4000, "b": 4000, "bad": 0}


@stress
def test_stress_waitgroup():
    async def main():
        total = {"n": 0}
        lk = threading.Lock()
        for _ in range(200):
            wg = WaitGroup()
            out = WaitGroup()

            async def work():
                with lk:
                    total["n"] += 1

            async def waiter(wg=wg, out=out):
                await wg.wait()
                out.done()

            wg.add(1)  # held until every waiter is queued or through
            out.add(4)
            for _ in range(4):
                go(waiter)
            for _ in range(16):
                wg.go(work)
            wg.done()
            await wg.wait()
            await out.wait()
        return total["n"]

    assert run(main, 4) == 200 * 16


@stress
def test_stress_semaphore():
    async def main():
        s = Semaphore(5)
        st = {"held": 0, "bad": 0, "ops": 0}
        lk = threading.Lock()
        wg = WaitGroup()

        async def worker(k):
            for _ in range(300):
                await s.acquire(k)
                with lk:
                    st["held"] += k
                    if st["held"] > 5:
                        st["bad"] += 1
                    st["ops"] += 1
                await gosched.gosched()
                with lk:
                    st["held"] -= k
                s.release(k)

        for i in range(24):
            wg.go(worker, 1 + i % 3)
        await wg.wait()
        return st

    assert run(main, 4) == {"held": 0, "bad": 0, "ops": 24 * 300}


# ---------------------------------------------------------------------------
# waiters abandoned when a run ends hold no claim in the next run
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_waiter_abandoned_by_a_finished_run_is_forgotten(procs):
    wg = gosched.WaitGroup()
    wg.add(1)

    async def first():
        async def waiter():
            await wg.wait()

        go(waiter)
        while "[sync.WaitGroup.Wait]" not in gosched.stack():  # the waiter is parked
            await gosched.sleep(0.001)

    async def second():
        wg.done()
        wg.add(1)

        async def worker():
            wg.done()

        go(worker)
        await wg.wait()  # raised "WaitGroup is reused" on run 1's dead waiter
        return "ok"

    gosched.run(first, gomaxprocs=procs)
    assert gosched.run(second, gomaxprocs=procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_semaphore_waiter_abandoned_by_a_finished_run_is_forgotten(procs):
    s = gosched.Semaphore(2)

    async def first():
        await s.acquire(2)

        async def waiter():
            await s.acquire(1)

        go(waiter)
        while "[select]" not in gosched.stack():  # the waiter is parked
            await gosched.sleep(0.001)

    async def second():
        s.release(2)
        await s.acquire(2)  # run 1's dead waiter kept its place: a false Deadlock
        return s.try_acquire(1)

    gosched.run(first, gomaxprocs=procs)
    assert gosched.run(second, gomaxprocs=procs) is False


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", PROCS)
def test_waitgroup_waiter_woken_but_abandoned_leaves_no_wakeup_behind(procs):
    """A waiter that done() readied but that never ran before the run ended must not
    leave its wakeup on the semaphore for the next run's wait."""
    wg = WaitGroup()

    async def first():
        wg.add(1)

        async def waiter():
            await wg.wait()

        go(waiter)
        await until_blocked("sync.WaitGroup.Wait")
        wg.done()  # readies the waiter; with one P it never runs

    async def second():
        wg.add(1)

        async def worker():
            await until_blocked("sync.WaitGroup.Wait")
            wg.done()

        go(worker)
        await wg.wait()  # returned at once on the stale wakeup: "WaitGroup is reused"
        return "ok"

    run(first, procs)
    assert run(second, procs) == "ok"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", PROCS)
@pytest.mark.parametrize("left", ["queued", "woken", "handed-over"])
def test_mutex_waiter_abandoned_by_a_finished_run_is_forgotten(procs, left):
    """A Lock waiter the run ends on gives up its place: still queued, woken by an unlock
    (normal mode) or handed the mutex (starvation mode) but not run yet. The next run
    finds the mutex as if it had never waited: same waiter count, mode and semaphore."""
    mu = Mutex()

    async def waiter():
        await mu.lock()
        mu.unlock()

    async def first():
        await mu.lock()
        go(waiter)
        await until_blocked("sync.Mutex.Lock")
        if left == "queued":
            return  # holding the lock, as run 2 finds it
        if left == "handed-over":
            await gosched.sleep(0.003)  # the waiter has now waited more than 1 ms
            mu.unlock()  # wakes the waiter ...
            if not mu.try_lock():  # ... which may win with two Ps: nothing to hand over
                return
            await until_blocked("sync.Mutex.Lock")  # it lost and queued again, starving
        mu.unlock()  # readies the waiter (or hands it the mutex); with one P it never runs

    async def second():
        # The starvation scenario again: it must end in normal mode. Counting a dead
        # waiter (in the waiter count or as a pending wakeup) kept the mutex starving.
        if left == "queued":
            mu.unlock()  # the lock run 1's main left held
        await mu.lock()
        wg = WaitGroup()
        wg.go(waiter)
        await until_blocked("sync.Mutex.Lock")
        await gosched.sleep(0.003)
        mu.unlock()
        if mu.try_lock():
            await until_blocked("sync.Mutex.Lock")
            mu.unlock()
        await wg.wait()  # a mutex still handed to run 1's waiter: a Deadlock
        return mu.try_lock()

    run(first, procs)
    # Fresh, but for the lock run 1's main still holds when it returned holding it.
    assert (mu._state, mu._sema) == (1 if left == "queued" else 0, 0)
    assert run(second, procs) is True


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", PROCS)
@pytest.mark.parametrize("closed_first", ["writer", "reader"])
def test_rwmutex_writer_abandoned_by_a_finished_run_is_withdrawn(procs, closed_first):
    """A writer waiting for a reader when the run ends. Closed first, it withdraws and
    lets the readers in again; closed after the reader (whose runlock handed it the lock),
    it gives the lock back. Either way the next run finds no pending writer."""
    rw = RWMutex()

    async def first():
        start = Chan()
        forever = Chan()

        async def reader():
            async with rw.rlocker():
                await forever.recv()

        async def writer():
            await start.recv()
            await rw.lock()
            rw.unlock()

        # The run closes its goroutines in the order they were made.
        if closed_first == "writer":
            go(writer)
            go(reader)
        else:
            go(reader)
            go(writer)
        await until_blocked("chan receive", 2)  # the reader holds its read lock
        start.close()
        await until_blocked("sync.RWMutex.Lock")

    async def second():
        await rw.rlock()  # a pending writer left behind: new readers wait for ever
        rw.runlock()
        async with rw:
            return "ok"

    run(first, procs)
    assert (rw._readerCount, rw._readerWait, rw._writerSem._sema) == (0, 0, 0)
    assert run(second, procs) == "ok"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", PROCS)
@pytest.mark.parametrize("closed_first", ["writer", "reader"])
def test_rwmutex_reader_abandoned_by_a_finished_run_is_withdrawn(procs, closed_first):
    """A reader waiting for a writer when the run ends. Closed first, it stops counting
    as a reader; closed after the writer (whose unlock let it in), it gives its read lock
    back. Either way the next run's writer does not wait for a dead reader."""
    rw = RWMutex()

    async def first():
        start = Chan()
        forever = Chan()

        async def writer():
            async with rw:
                await forever.recv()

        async def reader():
            await start.recv()
            await rw.rlock()
            rw.runlock()

        if closed_first == "reader":
            go(reader)
            go(writer)
        else:
            go(writer)
            go(reader)
        await until_blocked("chan receive", 2)  # the writer holds the lock
        start.close()
        await until_blocked("sync.RWMutex.RLock")

    async def second():
        async with rw:  # waited for ever for the dead reader's runlock
            pass
        await rw.rlock()
        rw.runlock()
        return "ok"

    run(first, procs)
    assert (rw._readerCount, rw._readerWait, rw._readerSem._sema) == (0, 0, 0)
    assert run(second, procs) == "ok"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("procs", PROCS)
@pytest.mark.parametrize("signaled", [False, True])
def test_cond_waiter_abandoned_by_a_finished_run_is_forgotten(procs, signaled):
    """Waiters parked in Cond.wait when the run ends give their tickets back: the next
    run's signal goes to its own waiter, not to a dead one. A signal a dead waiter got
    (readied, never run) stays spent, as with a fresh Cond."""
    mu = Mutex()
    cond = Cond(mu)

    async def first():
        async def waiter():
            await mu.lock()
            await cond.wait()
            mu.unlock()

        for i in range(3):
            go(waiter)
            await until_blocked("sync.Cond.Wait", i + 1)
        if signaled:
            cond.signal()  # readies the first; with one P it never runs

    async def second():
        woke = Chan(2)

        async def waiter(i):
            async with mu:
                await cond.wait()
            await woke.send(i)

        cond.signal()  # nobody waits: lost, as with a fresh Cond
        go(waiter, 1)
        await until_blocked("sync.Cond.Wait")
        cond.signal()  # spent on a dead waiter's ticket: a Deadlock
        got = [await woke.recv()]
        go(waiter, 2)
        go(waiter, 3)
        await until_blocked("sync.Cond.Wait", 2)
        cond.broadcast()
        got += sorted([await woke.recv(), await woke.recv()])
        return got

    run(first, procs)
    assert run(second, procs) == [1, 2, 3]
    assert cond._notify.waiters == {}
