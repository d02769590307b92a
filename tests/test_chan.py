"""Channels: handoff, buffering, close, the nil channel, and their exact error messages."""

from __future__ import annotations

import threading

import pytest

import gosched
from gosched import Chan, ClosedChannelError, default, go, nilchan, select

pytestmark = pytest.mark.timeout(30)

DEADLOCK = "all goroutines are asleep - deadlock!"


# ---------------------------------------------------------------------------
# construction, len and cap
# ---------------------------------------------------------------------------


def test_len_and_cap():
    unbuffered, buffered = Chan(), Chan(5)
    assert (unbuffered.cap, len(unbuffered)) == (0, 0)
    assert (buffered.cap, len(buffered)) == (5, 0)
    assert Chan[int](2).cap == 2
    assert (nilchan.cap, len(nilchan)) == (0, 0)


def test_capacity_out_of_range_is_a_value_error():
    for cap in (-1, 2**63, 10**30):
        with pytest.raises(ValueError) as ei:
            Chan(cap)
        assert str(ei.value) == "makechan: size out of range"


def test_int_subclass_capacity_is_stored_as_an_int():
    import enum

    class Size(enum.IntEnum):
        TWO = 2

    ch = Chan(Size.TWO)
    assert ch.cap == 2 and type(ch.cap) is int


def test_a_channel_is_true_even_when_empty_and_only_nilchan_is_false():
    # __len__ alone would make an empty channel false: `timer.c or other` picked other.
    assert Chan() and Chan(3)
    assert not nilchan


def test_closed_channel_error_is_a_runtime_error():
    assert issubclass(ClosedChannelError, RuntimeError)


# ---------------------------------------------------------------------------
# unbuffered: direct handoff
# ---------------------------------------------------------------------------


def test_unbuffered_send_waits_for_a_receiver(gmp, wait_blocked):
    async def main():
        ch = Chan()
        log = []
        item = object()

        async def sender():
            await ch.send(item)
            log.append("sent")

        go(sender)
        await wait_blocked("chan send")
        assert log == []
        assert len(ch) == 0
        got = await ch.recv()
        while not log:
            await gosched.sleep(0.001)
        return got is item, log

    assert gosched.run(main, gomaxprocs=gmp) == (True, ["sent"])


def test_unbuffered_recv_waits_for_a_sender(gmp, wait_blocked):
    async def main():
        ch, out = Chan(), Chan()

        async def receiver():
            await out.send(await ch.recv())

        go(receiver)
        await wait_blocked("chan receive")
        await ch.send("handed over")
        return await out.recv()

    assert gosched.run(main, gomaxprocs=gmp) == "handed over"


def test_unbuffered_many_senders_many_receivers(gmp):
    async def main():
        ch, results = Chan(), Chan()

        async def sender(base):
            for i in range(100):
                await ch.send(base + i)

        async def receiver():
            got = []
            for _ in range(200):
                got.append(await ch.recv())
            await results.send(got)

        for s in range(4):
            go(sender, s * 1000)
        for _ in range(2):
            go(receiver)
        return [await results.recv(), await results.recv()]

    a, b = gosched.run(main, gomaxprocs=gmp)
    assert sorted(a + b) == sorted(s * 1000 + i for s in range(4) for i in range(100))
    for got in (a, b):  # per-sender FIFO, as seen by each receiver
        for s in range(4):
            mine = [v for v in got if v // 1000 == s]
            assert mine == sorted(mine)


# ---------------------------------------------------------------------------
# buffered: the ring
# ---------------------------------------------------------------------------


def test_buffered_fifo(gmp):
    async def main():
        ch = Chan(3)
        lens = []
        for v in "abc":
            await ch.send(v)  # never blocks: main is alone, so blocking would deadlock
            lens.append(len(ch))
        out = []
        for _ in range(3):
            out.append(await ch.recv())
            lens.append(len(ch))
        return out, lens

    assert gosched.run(main, gomaxprocs=gmp) == (["a", "b", "c"], [1, 2, 3, 2, 1, 0])


def test_buffered_ring_wraps_around(gmp):
    async def main():
        ch = Chan(3)
        out = []
        n = 0
        for _ in range(50):  # keep 1..3 items in flight so the ring wraps many times
            while len(ch) < 3:
                await ch.send(n)
                n += 1
            out.append(await ch.recv())
            out.append(await ch.recv())
        while len(ch):
            out.append(await ch.recv())
        return out, n

    out, n = gosched.run(main, gomaxprocs=gmp)
    assert out == list(range(n))


def test_full_buffer_blocks_sender_and_keeps_order(gmp, wait_blocked):
    async def main():
        ch = Chan(2)
        await ch.send(1)
        await ch.send(2)

        async def sender():
            await ch.send(3)

        go(sender)
        await wait_blocked("chan send")
        assert len(ch) == 2
        first = await ch.recv()
        # The waiting sender's value moved into the freed slot (Go's recv on a full buffer).
        length = len(ch)
        rest = [await ch.recv(), await ch.recv()]
        return first, length, rest, len(ch)

    assert gosched.run(main, gomaxprocs=gmp) == (1, 2, [2, 3], 0)


def test_buffered_producer_consumer(gmp):
    async def main():
        ch = Chan(4)
        done = Chan()

        async def producer():
            for i in range(2000):
                await ch.send(i)
            ch.close()

        async def consumer():
            got = []
            async for v in ch:
                got.append(v)
            await done.send(got)

        go(producer)
        go(consumer)
        return await done.recv()

    assert gosched.run(main, gomaxprocs=gmp) == list(range(2000))


# ---------------------------------------------------------------------------
# close
# ---------------------------------------------------------------------------


def test_close_wakes_every_waiter(gmp, wait_blocked):
    async def main():
        rch, sch = Chan(), Chan()
        results = Chan(12)

        async def receiver():
            await results.send(("recv", await rch.recv()))

        async def receiver_ok():
            await results.send(("recv_ok", await rch.recv_ok()))

        async def sender(v):
            try:
                await sch.send(v)
            except ClosedChannelError as e:
                await results.send(("send", str(e)))
            else:
                await results.send(("send", "no error"))

        for i in range(4):
            go(receiver)
            go(receiver_ok)
            go(sender, i)
        await wait_blocked("chan receive", 8)
        await wait_blocked("chan send", 4)
        rch.close()
        sch.close()
        return sorted([await results.recv() for _ in range(12)], key=repr)

    got = gosched.run(main, gomaxprocs=gmp)
    assert got == sorted(
        [("recv", None)] * 4
        + [("recv_ok", (None, False))] * 4
        + [("send", "send on closed channel")] * 4,
        key=repr,
    )


def test_close_readies_receivers_in_gos_order(wait_blocked):
    """One P. Go's closechan gathers the receivers on a stack and readies the last one
    dequeued first, so the first receiver runs first and the rest in reverse queue order
    (each goready takes runnext and pushes the previous one to the tail)."""

    async def main():
        c = Chan()
        done = Chan(4)
        order = []

        async def receiver(n):
            await c.recv()
            order.append(n)
            await done.send(None)

        for n in range(4):  # they park in the order 3, 0, 1, 2 (runnext runs first)
            go(receiver, n)
        await wait_blocked("chan receive", 4)
        c.close()
        for _ in range(4):
            await done.recv()
        return order

    assert gosched.run(main, gomaxprocs=1) == [3, 2, 1, 0]


def _runs(spec: str) -> list[int]:
    """``"3 7..5"`` -> ``[3, 7, 6, 5]``."""
    out = []
    for part in spec.split():
        a, _, b = part.partition("..")
        lo, hi = int(a), int(b or a)
        out.extend(range(lo, hi + (1 if hi >= lo else -1), 1 if hi >= lo else -1))
    return out


def test_close_of_400_receivers_overflows_the_local_queue_as_go_does(monkeypatch):
    """One P, 400 receivers: more than the local queue holds. Each goready of the
    close kicks the previous runnext to the tail; when the queue is full, its
    first half and the kicked G go to the global queue (runqputslow), which the
    61st schedule looks at. The orders are what Go 1.19 printed, run with
    GOMAXPROCS=1, for the same program:

        go func() {
            parked = append(parked, i)
            if len(parked) == N { ready <- true }
            <-c
            order = append(order, i)
            done <- true
        }()
        ... <-ready; close(c) ...

    They also depend on how runtime.main leaves main's P (see runtimemain).
    """
    import gosched.runtime.sysmon as sysmon

    # Go's loop takes microseconds; ours must not outlast a time slice either
    # (sysmon would preempt main and the queue's head would run before runnext).
    monkeypatch.setattr(sysmon, "FORCE_PREEMPT", 3600.0)
    n = 400

    async def main():
        c = Chan()
        ready = Chan(1)
        done = Chan(n)
        parked, order = [], []

        async def receiver(i):
            parked.append(i)
            if len(parked) == n:
                await ready.send(True)
            await c.recv()
            order.append(i)
            await done.send(None)

        for i in range(n):
            go(receiver, i)
        await ready.recv()
        c.close()
        for _ in range(n):
            await done.recv()
        return parked, order

    parked, order = gosched.run(main, gomaxprocs=1)
    assert parked == _runs("399 256..372 0 373..383 385..398 1..35 128 36..95 129 96..126 "
                           "255 127 130..254 384")
    assert order == _runs("399 397..385 383..374 384 373 0 372..315 254 314..270 268..256 "
                          "253..252 125 251..192 124 191..132 123 131..130 127 255 398 126 "
                          "122..96 129 95..36 128 35..1 269")


def test_close_wakes_async_and_sync_goroutines_and_threads_together(gmp, wait_blocked):
    # close readies its whole list in one step; the Gs that wait on their own
    # M (sync goroutines, a foreign thread in block_on) are woken there instead.
    async def main():
        ch = Chan()
        results = Chan(20)

        async def receiver(i):
            await results.send(("async", i, await ch.recv_ok()))

        def sync_receiver(i):
            gosched.block_on(results.send(("sync", i, gosched.block_on(ch.recv_ok()))))

        def thread_receiver():
            got = gosched.block_on(ch.recv_ok())
            gosched.block_on(results.send(("thread", 0, got)))

        t = threading.Thread(target=thread_receiver)
        t.start()
        for i in range(12):
            go(receiver, i)
        for i in range(7):
            go(sync_receiver, i)
        await wait_blocked("chan receive", 12 + 7)
        await wait_blocked("chan receive, locked to thread")  # the thread: Go's cgo callback
        ch.close()
        got = sorted([await results.recv() for _ in range(20)])
        t.join()
        return got

    got = gosched.run(main, gomaxprocs=gmp)
    assert got == sorted(
        [("async", i, (None, False)) for i in range(12)]
        + [("sync", i, (None, False)) for i in range(7)]
        + [("thread", 0, (None, False))]
    )


def test_close_with_full_buffer_and_waiting_sender(gmp, wait_blocked):
    async def main():
        ch = Chan(1)
        await ch.send("buffered")
        errors = Chan(1)

        async def sender():
            try:
                await ch.send("never delivered")
            except ClosedChannelError as e:
                await errors.send(str(e))

        go(sender)
        await wait_blocked("chan send")
        ch.close()
        return await errors.recv(), await ch.recv_ok(), await ch.recv_ok()

    assert gosched.run(main, gomaxprocs=gmp) == (
        "send on closed channel",
        ("buffered", True),
        (None, False),
    )


def test_closed_channel_drains_buffered_values(gmp):
    async def main():
        ch = Chan(3)
        await ch.send(1)
        await ch.send(2)
        ch.close()
        lens = [len(ch)]
        got = [await ch.recv_ok()]
        lens.append(len(ch))
        got.append(await ch.recv())
        got.append(await ch.recv_ok())
        got.append(await ch.recv())
        got.append(await ch.recv_ok())
        return got, lens

    assert gosched.run(main, gomaxprocs=gmp) == (
        [(1, True), 2, (None, False), None, (None, False)],
        [2, 1],
    )


def test_async_for_drains_a_closed_buffered_channel(gmp):
    async def main():
        ch = Chan(5)
        for v in range(5):
            await ch.send(v)
        ch.close()
        return [v async for v in ch]

    assert gosched.run(main, gomaxprocs=gmp) == [0, 1, 2, 3, 4]


def test_send_on_closed_channel(gmp):
    async def main():
        for ch in (Chan(), Chan(2)):
            ch.close()
            with pytest.raises(ClosedChannelError) as ei:
                await ch.send(1)
            assert str(ei.value) == "send on closed channel"
        return "checked"

    assert gosched.run(main, gomaxprocs=gmp) == "checked"


def test_close_of_closed_channel(gmp):
    async def main():
        ch = Chan(1)
        ch.close()
        with pytest.raises(ClosedChannelError) as ei:
            ch.close()
        return str(ei.value)

    assert gosched.run(main, gomaxprocs=gmp) == "close of closed channel"


def test_close_of_nil_channel(gmp):
    async def main():
        with pytest.raises(ClosedChannelError) as ei:
            nilchan.close()
        return str(ei.value)

    assert gosched.run(main, gomaxprocs=gmp) == "close of nil channel"


def test_send_on_closed_channel_uncaught_is_a_panic(gmp):
    async def child(ch):
        await ch.send(1)

    async def main():
        ch = Chan()
        ch.close()
        go(child, ch)
        await nilchan.recv()

    with pytest.raises(ClosedChannelError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == "send on closed channel"
    notes = [n for n in ei.value.__notes__ if n.startswith("panic: ")]
    assert len(notes) == 1 and "send on closed channel" in notes[0].splitlines()[0]


def test_closing_works_outside_a_runtime():
    ch = Chan(1)
    ch.close()
    with pytest.raises(ClosedChannelError) as ei:
        ch.close()
    assert str(ei.value) == "close of closed channel"


# ---------------------------------------------------------------------------
# recv_ok and async for
# ---------------------------------------------------------------------------


def test_recv_ok(gmp):
    async def main():
        ch = Chan()

        async def producer():
            await ch.send(0)
            await ch.send(None)  # a real None is (None, True), not a close
            ch.close()

        go(producer)
        return [await ch.recv_ok() for _ in range(4)]

    closed = (None, False)
    assert gosched.run(main, gomaxprocs=gmp) == [(0, True), (None, True), closed, closed]


def test_async_for_until_close(gmp):
    async def main():
        ch = Chan()

        async def producer():
            for i in range(100):
                await ch.send(i)
            ch.close()

        go(producer)
        got = []
        async for v in ch:
            got.append(v)
        return got

    assert gosched.run(main, gomaxprocs=gmp) == list(range(100))


def test_async_for_break_leaves_the_rest(gmp):
    async def main():
        ch = Chan(10)
        for i in range(10):
            await ch.send(i)
        got = []
        async for v in ch:
            got.append(v)
            if v == 3:
                break
        return got, len(ch), await ch.recv()

    assert gosched.run(main, gomaxprocs=gmp) == ([0, 1, 2, 3], 6, 4)


# ---------------------------------------------------------------------------
# the nil channel
# ---------------------------------------------------------------------------


def test_nilchan_blocks_forever_with_wait_reasons(gmp, headers):
    ids = {}

    async def nil_sender():
        ids["send"] = gosched.goid()
        await nilchan.send(1)

    async def nil_receiver():
        ids["recv_ok"] = gosched.goid()
        await nilchan.recv_ok()

    async def nil_ranger():
        ids["range"] = gosched.goid()
        async for _ in nilchan:
            pass

    async def main():
        go(nil_sender)
        go(nil_receiver)
        go(nil_ranger)
        await nilchan.recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    assert headers(ei.value.dump) == {
        1: "chan receive (nil chan)",
        ids["send"]: "chan send (nil chan)",
        ids["recv_ok"]: "chan receive (nil chan)",
        ids["range"]: "chan receive (nil chan)",
    }


def test_nilchan_blocked_goroutines_do_not_stop_main(gmp, wait_blocked):
    async def stuck():
        await nilchan.send(1)

    async def main():
        for _ in range(3):
            go(stuck)
        await wait_blocked("chan send (nil chan)", 3)
        return len(nilchan), nilchan.cap, gosched.num_goroutine()

    assert gosched.run(main, gomaxprocs=gmp) == (0, 0, 4)


# ---------------------------------------------------------------------------
# scale
# ---------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_100k_goroutines_released_by_close(gmp):
    n = 100_000

    async def main():
        ch = Chan()
        started = Chan(n)
        done = Chan(n)

        async def waiter():
            await started.send(None)
            await done.send(await ch.recv_ok())

        for _ in range(n):
            go(waiter)
        for _ in range(n):
            await started.recv()
        before = gosched.num_goroutine()
        ch.close()
        results = [await done.recv() for _ in range(n)]
        return before, results.count((None, False))

    assert gosched.run(main, gomaxprocs=gmp) == (n + 1, n)


# ---------------------------------------------------------------------------
# operations that can complete at once never suspend
# ---------------------------------------------------------------------------


def test_operations_that_can_complete_never_suspend():
    """With one P, a runnable goroutine can only run when main suspends.

    Every operation below can complete at once, so the other goroutine must
    not have run by the time main reaches its first blocking operation. (With
    several Ps the other goroutine could run in parallel, so one P only.)
    """

    async def main():
        log = []
        buf, closed, done = Chan(3), Chan(1), Chan(1)
        to_receiver, from_sender = Chan(), Chan()
        closed.close()

        async def other():
            log.append("other ran")
            await done.send(None)

        async def parked_receiver():
            await to_receiver.recv()

        async def parked_sender():
            await from_sender.send("from parked sender")

        go(parked_receiver)
        go(parked_sender)
        await gosched.sleep(0.01)  # main blocks: both park
        go(other)
        # --- from here on, main must not suspend ---
        for v in range(3):
            await buf.send(v)  # free buffer space
        await buf.recv()  # buffered value
        await closed.recv()  # closed channel
        await gosched.sleep(0)  # zero sleep
        await select(buf.recv, default)  # ready select case
        await select(Chan().recv, default)  # default
        await to_receiver.send("handoff")  # a receiver is waiting: direct handoff
        await from_sender.recv()  # a sender is waiting: take its value
        log.append("main did not suspend")
        # --- the first blocking operation: now the others run ---
        await done.recv()
        return log

    assert gosched.run(main, gomaxprocs=1) == ["main did not suspend", "other ran"]


def test_buffered_send_as_a_goroutine_sends_when_it_runs():
    """``go(ch.send, v)`` is ``go func() { ch <- v }()``: the send happens when the
    new goroutine runs, even with room in the buffer (it sent inside ``go``).
    One P: the new goroutine waits in runnext until main blocks, so main's own
    send lands first, as Go prints ``0 2 1``."""

    async def main():
        ch = Chan(2)
        go(ch.send, 1)
        before = len(ch)
        await ch.send(2)
        return before, [await ch.recv(), await ch.recv()]

    assert gosched.run(main, gomaxprocs=1) == (0, [2, 1])


def test_buffered_send_as_a_goroutine(gmp):
    """``go(ch.send, v)`` on a buffered channel: an async goroutine, which parks
    on the channel when it is full."""
    from gosched.runtime.runtime2 import sched

    async def main():
        ch = Chan(1)
        go(ch.send, 1)
        go(ch.send, 2)  # the buffer is full (or soon will be): this one parks
        await gosched.gosched()
        got = [await ch.recv(), await ch.recv()]
        return sorted(got), sched.mnext

    (got, ms) = gosched.run(main, gomaxprocs=gmp)
    assert got == [1, 2]
    if gmp == 1:
        assert ms == 2, "an async send should need no thread besides M0 and sysmon"


def test_go_accepts_channel_operations_and_callables_returning_awaitables(gmp):
    """``go(ch.send, v)`` runs the send as a goroutine, as Go's ``go func() { ch <- v }()``."""

    async def main():
        ch = Chan()
        go(ch.send, 42)
        go(lambda: ch.send(7))  # a plain callable that returns an awaitable
        return sorted([await ch.recv(), await ch.recv()])

    assert gosched.run(main, gomaxprocs=gmp) == [7, 42]


def test_for_in_a_channel_ranges_over_it_from_sync_code(gmp):
    """``for v := range ch`` for a sync goroutine or a thread; async code is told to await."""
    import threading

    async def main():
        ch, out, done = Chan(2), [], Chan()

        def consume(label):
            out.extend((label, v) for v in ch)
            gosched.block_on(done.send(None))

        go(consume, "sync")
        t = threading.Thread(target=consume, args=("thread",))
        t.start()
        for i in range(20):
            await ch.send(i)
        ch.close()
        await done.recv()
        await done.recv()
        await gosched.syscall(t.join)
        with pytest.raises(RuntimeError, match="use await"):
            for _ in Chan(1):
                pass
        return sorted(v for _, v in out)

    assert gosched.run(main, gomaxprocs=gmp) == list(range(20))
