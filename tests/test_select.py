"""select: readiness, the returned index, fairness, nil channels, case shapes, races."""

from __future__ import annotations

import collections

import pytest

import gosched
from gosched import Chan, ClosedChannelError, default, go, nilchan, select
from gosched.chan import PURGE_MIN

pytestmark = pytest.mark.timeout(30)

DEADLOCK = "all goroutines are asleep - deadlock!"


# ---------------------------------------------------------------------------
# default, ready cases, and the index
# ---------------------------------------------------------------------------


def test_default_when_nothing_is_ready(gmp):
    async def main():
        a, b, full = Chan(), Chan(1), Chan(1)
        await full.send("x")
        return [
            await select(default),
            await select(a.recv, default),
            await select(default, a.recv, b.recv_ok),
            await select(a.recv, (a.send, 1), default, (full.send, 2)),
            await select((full.send, 3), b.recv, default),
        ], len(full)

    assert gosched.run(main, gomaxprocs=gmp) == (
        [(0, None), (1, None), (0, None), (2, None), (2, None)],
        1,
    )


def test_recv_cases(gmp):
    async def main():
        a, b = Chan(2), Chan(2)
        await b.send("b1")
        await b.send("b2")
        got = [
            await select(a.recv, b.recv),
            await select(a.recv_ok, b.recv_ok),
        ]
        b.close()
        got.append(await select(a.recv, b.recv))
        got.append(await select(a.recv_ok, default, b.recv_ok))
        return got

    assert gosched.run(main, gomaxprocs=gmp) == [
        (1, "b1"),
        (1, ("b2", True)),
        (1, None),
        (2, (None, False)),
    ]


def test_send_cases(gmp):
    async def main():
        a, b = Chan(), Chan(1)
        first = await select((a.send, "to a"), (b.send, "to b"))
        second = await select((a.send, "to a"), (b.send, "again"), default)
        return first, second, len(b), await b.recv()

    assert gosched.run(main, gomaxprocs=gmp) == ((1, None), (2, None), 1, "to b")


def test_index_counts_default_and_nil_cases(gmp):
    async def main():
        ch = Chan(1)
        await ch.send("v")
        return await select(default, nilchan.recv, (nilchan.send, 0), ch.recv)

    assert gosched.run(main, gomaxprocs=gmp) == (3, "v")


def test_send_case_hands_off_to_a_waiting_receiver(gmp, wait_blocked):
    async def main():
        ch, out = Chan(), Chan()

        async def receiver():
            await out.send(await ch.recv())

        go(receiver)
        await wait_blocked("chan receive")
        idx = await select(Chan().recv, (ch.send, "handed"), default)
        return idx, await out.recv()

    assert gosched.run(main, gomaxprocs=gmp) == ((1, None), "handed")


def test_recv_case_takes_from_a_waiting_sender(gmp, wait_blocked):
    async def main():
        ch = Chan()

        async def sender():
            await ch.send("from sender")

        go(sender)
        await wait_blocked("chan send")
        return await select(default, ch.recv_ok)

    assert gosched.run(main, gomaxprocs=gmp) == (1, ("from sender", True))


# ---------------------------------------------------------------------------
# blocking selects
# ---------------------------------------------------------------------------


def test_blocked_select_woken_by_send(gmp, wait_blocked):
    async def main():
        a, b, c = Chan(), Chan(), Chan()
        results = Chan(1)

        async def selector():
            await results.send(await select(a.recv, b.recv_ok, c.recv))

        go(selector)
        await wait_blocked("select")
        await b.send("to b")
        return await results.recv()

    assert gosched.run(main, gomaxprocs=gmp) == (1, ("to b", True))


def test_blocked_select_woken_by_receiver(gmp, wait_blocked):
    async def main():
        a, b = Chan(), Chan()
        results = Chan(1)

        async def selector():
            await results.send(await select((a.send, "A"), (b.send, "B")))

        go(selector)
        await wait_blocked("select")
        got = await a.recv()
        return got, await results.recv()

    assert gosched.run(main, gomaxprocs=gmp) == ("A", (0, None))


def test_blocked_select_woken_by_close(gmp, wait_blocked):
    async def main():
        a, b = Chan(), Chan()
        results = Chan(1)

        async def selector():
            await results.send(await select(a.recv, b.recv_ok))

        go(selector)
        await wait_blocked("select")
        b.close()
        return await results.recv()

    assert gosched.run(main, gomaxprocs=gmp) == (1, (None, False))


def test_losing_cases_leave_no_waiters_behind(gmp, wait_blocked):
    """After a select wakes on one case, its other cases no longer receive anything."""

    async def main():
        a, b = Chan(), Chan()
        results = Chan(1)

        async def selector():
            await results.send(await select(a.recv, b.recv, a.recv_ok))

        go(selector)
        await wait_blocked("select")
        await b.send("first")
        first = await results.recv()
        # Nobody waits on a any more: a non-blocking send must find no receiver.
        probes = [await select((a.send, "stale"), default) for _ in range(3)]
        return first, probes

    assert gosched.run(main, gomaxprocs=gmp) == ((1, "first"), [(1, None)] * 3)


def test_select_that_sweeps_a_queue_keeps_its_own_sudog(gmp, wait_blocked):
    """A blocked select leaves its losing sudog on each other channel; when a
    queue is long enough to be swept, the select that sweeps it must keep its
    own, not yet committed, sudog (regression: the sweep dropped it, and a
    sender on that channel then found nobody: a false deadlock)."""

    async def main():
        a, b = Chan(), Chan()
        via_a = []

        async def sender():
            before = 0
            for i in range(3 * PURGE_MIN):
                await wait_blocked("select")
                # a's queue grows by one stale sudog per round woken through b;
                # when it shrinks, the blocked select has just swept it.
                n = len(a._recvq)
                if n < before:
                    via_a.append(i)
                    await a.send(i)
                else:
                    await b.send(i)
                before = n

        go(sender)
        got = [await select(a.recv, b.recv) for _ in range(3 * PURGE_MIN)]
        return got, via_a

    got, via_a = gosched.run(main, gomaxprocs=gmp)
    assert len(via_a) >= 2, f"the queue was swept only at rounds {via_a}"
    assert got == [(0 if i in via_a else 1, i) for i in range(3 * PURGE_MIN)]


def test_blocked_select_send_case_on_channel_closed_meanwhile_raises(gmp, wait_blocked):
    async def main():
        ch = Chan()
        errors = Chan(1)

        async def selector():
            try:
                await select((ch.send, 1), Chan().recv)
            except ClosedChannelError as e:
                await errors.send(str(e))

        go(selector)
        await wait_blocked("select")
        ch.close()
        return await errors.recv()

    assert gosched.run(main, gomaxprocs=gmp) == "send on closed channel"


def test_close_wakes_a_select_waiting_to_send_and_receive_through_the_receive(gmp, wait_blocked):
    """close readies the receivers before the senders (Go's closechan), so a select
    parked on both sides of one channel wakes through its receive case."""

    async def main():
        ch = Chan()
        results = Chan(1)

        async def selector():
            await results.send(await select((ch.send, 1), ch.recv_ok))

        go(selector)
        await wait_blocked("select")
        ch.close()
        return await results.recv()

    assert gosched.run(main, gomaxprocs=gmp) == (1, (None, False))


def test_send_case_on_closed_channel_raises(gmp):
    async def main():
        ch = Chan(1)
        ch.close()
        messages = []
        for cases in [((ch.send, 1),), ((ch.send, 1), default), ((ch.send, 1), Chan().recv)]:
            with pytest.raises(ClosedChannelError) as ei:
                await select(*cases)
            messages.append(str(ei.value))
        return messages

    assert gosched.run(main, gomaxprocs=gmp) == ["send on closed channel"] * 3


# ---------------------------------------------------------------------------
# fairness
# ---------------------------------------------------------------------------


def test_uniform_choice_among_ready_cases(gmp):
    async def main():
        chans = [Chan(), Chan(), Chan()]
        for ch in chans:
            ch.close()  # a closed channel is always ready to receive
        counts = collections.Counter()
        for _ in range(3000):
            idx, _ = await select(chans[0].recv, chans[1].recv_ok, default, chans[2].recv)
            counts[idx] += 1
        return counts

    counts = gosched.run(main, gomaxprocs=gmp)
    assert set(counts) == {0, 1, 3}  # never the default
    for idx in (0, 1, 3):
        assert 700 <= counts[idx] <= 1300, counts


def test_uniform_choice_between_send_and_recv(gmp):
    async def main():
        out, inp = Chan(3000), Chan(3000)
        for i in range(3000):
            await inp.send(i)
        counts = collections.Counter()
        for i in range(3000):
            idx, _ = await select((out.send, i), inp.recv)
            counts[idx] += 1
        return counts, len(out), len(inp)

    counts, nout, nin = gosched.run(main, gomaxprocs=gmp)
    assert (nout, nin) == (counts[0], 3000 - counts[1])  # each select did one operation
    assert 1200 <= counts[0] <= 1800 and 1200 <= counts[1] <= 1800, counts


# ---------------------------------------------------------------------------
# nil channels, the same channel twice, select {}
# ---------------------------------------------------------------------------


def test_nil_channel_cases_are_never_ready(gmp):
    async def main():
        ready = Chan()
        ready.close()
        got = [await select(nilchan.recv, (nilchan.send, 1), nilchan.recv_ok, default)]
        for _ in range(100):
            got.append(await select(nilchan.recv, ready.recv, (nilchan.send, 1)))
        return got

    got = gosched.run(main, gomaxprocs=gmp)
    assert got == [(3, None)] + [(1, None)] * 100


def test_select_on_only_nil_channels_blocks_forever(gmp, headers):
    async def main():
        await select(nilchan.recv, (nilchan.send, 1))

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    assert headers(ei.value.dump) == {1: "select"}


def test_empty_select_blocks_forever(gmp, headers):
    ids = []

    async def child():
        ids.append(gosched.goid())
        await select()

    async def main():
        go(child)
        await select()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    assert headers(ei.value.dump) == {1: "select (no cases)", ids[0]: "select (no cases)"}


def test_blocked_select_dump_shows_select(gmp, headers):
    async def main():
        await select(Chan().recv, (Chan().send, 1))

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert headers(ei.value.dump) == {1: "select"}


def test_same_channel_in_several_cases(gmp):
    async def main():
        ch = Chan(1)
        got = [await select((ch.send, "x"), ch.recv)]  # empty: only the send is ready
        got.append(await select((ch.send, "y"), ch.recv))  # full: only the receive is ready
        counts = collections.Counter()
        ch.close()
        for _ in range(300):
            idx, _ = await select(ch.recv, ch.recv_ok, ch.recv)
            counts[idx] += 1
        return got, counts

    got, counts = gosched.run(main, gomaxprocs=gmp)
    assert got == [(0, None), (1, "x")]
    assert set(counts) == {0, 1, 2}
    assert all(50 <= c <= 150 for c in counts.values()), counts


def test_select_never_matches_itself_on_an_unbuffered_channel(gmp, wait_blocked):
    async def main():
        ch = Chan()
        results = Chan(1)

        async def selector():
            await results.send(await select((ch.send, "mine"), ch.recv))

        go(selector)
        await wait_blocked("select")
        got = await ch.recv()
        return got, await results.recv()

    assert gosched.run(main, gomaxprocs=gmp) == ("mine", (0, None))


def test_one_send_wakes_one_of_two_cases_on_the_same_channel(gmp, wait_blocked):
    async def main():
        ch = Chan()
        results = Chan(1)

        async def selector():
            await results.send(await select(ch.recv, ch.recv_ok))

        go(selector)
        await wait_blocked("select")
        await ch.send("once")
        got = await results.recv()
        leftover = await select((ch.send, "twice"), default)
        return got, leftover

    got, leftover = gosched.run(main, gomaxprocs=gmp)
    assert got in [(0, "once"), (1, ("once", True))]
    assert leftover == (1, None)


def test_a_parked_select_wakes_through_either_case_on_the_same_channel(wait_blocked):
    """Go enqueues a blocked select's cases in lock order, which for cases on one
    channel is the random poll order: each is the first waiter half the time
    (we always woke the first case). 200 wakeups: both must win, and each
    between 60 and 140 times (a fair coin misses that once in 10**8)."""

    async def main():
        ch = Chan()
        results = Chan(1)
        wins = [0, 0]

        async def selector():
            for _ in range(200):
                i, _ = await select(ch.recv, ch.recv)
                await results.send(i)

        go(selector)
        for _ in range(200):
            await wait_blocked("select")
            await ch.send(None)
            wins[await results.recv()] += 1
        return wins

    wins = gosched.run(main, gomaxprocs=1)
    assert sum(wins) == 200
    assert 60 <= wins[0] <= 140, wins


# ---------------------------------------------------------------------------
# case shapes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_cases",
    [
        pytest.param(lambda ch: (ch,), id="channel"),
        pytest.param(lambda ch: (ch.send,), id="bare-send"),
        pytest.param(lambda ch: ((ch.send,),), id="send-no-value"),
        pytest.param(lambda ch: ((ch.send, 1, 2),), id="send-two-values"),
        pytest.param(lambda ch: ((ch.recv, 1),), id="recv-with-value"),
        pytest.param(lambda ch: (ch.close,), id="close"),
        pytest.param(lambda ch: (42,), id="int"),
        pytest.param(lambda ch: (None,), id="none"),
        pytest.param(lambda ch: (lambda: None,), id="function"),
        pytest.param(lambda ch: ([ch.send, 1],), id="list-not-tuple"),
        pytest.param(lambda ch: (ch.recv, default, default), id="two-defaults"),
        pytest.param(lambda ch: (ch.recv, "default"), id="string"),
    ],
)
def test_wrong_case_shapes_are_type_errors(gmp, make_cases):
    async def main():
        ch = Chan(1)
        await ch.send("ready")  # a valid case is ready: the error must still be raised
        with pytest.raises(TypeError):
            await select(*make_cases(ch))
        return len(ch)

    assert gosched.run(main, gomaxprocs=gmp) == 1


def test_the_usual_slips_in_a_case_get_a_hint():
    async def main():
        ch = Chan(1)
        out = []
        for case in (ch, ch.recv(), Chan().recv_ok()):
            with pytest.raises(TypeError) as ei:
                await select(case, default)
            out.append(str(ei.value).partition("> (")[2])
        return out

    assert gosched.run(main) == ["a receive case is ch.recv, a send case (ch.send, v))",
                                 "pass ch.recv, not ch.recv(): select makes the call)",
                                 "pass ch.recv, not ch.recv(): select makes the call)"]


class _EqualsAnything:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


def test_a_select_loop_sees_each_iterations_own_cases(gmp):
    # select remembers how it decoded the last all-receive cases; every change
    # of the cases from one iteration to the next must still be seen.
    async def main():
        a, b, c = Chan(4), Chan(4), Chan(4)
        for ch, v in ((a, "a"), (b, "b"), (c, "c")):
            await ch.send(v)
        got = [await select(a.recv, b.recv) for _ in range(2)]  # fresh bound methods
        got.append(await select(nilchan.recv, b.recv, c.recv))  # same length, a case changed
        got.append(await select(a.recv, b.recv, default))  # nothing ready now
        got.append(await select(c.recv_ok, default))  # recv_ok instead of recv
        cases = (a.recv, c.recv)
        await a.send("a2")
        got.append(await select(*cases))
        with pytest.raises(TypeError):  # equal to the last cases, but not a channel operation
            await select(_EqualsAnything(), _EqualsAnything())
        picks = [(await select((a.send, i), (b.send, -i)))[0] for i in range(3)]
        sent = ([i for i in range(3) if picks[i] == 0], [-i for i in range(3) if picks[i] == 1])
        drained = ([await a.recv() for _ in sent[0]], [await b.recv() for _ in sent[1]])
        return got, sent, drained

    got, sent, drained = gosched.run(main, gomaxprocs=gmp)
    assert sorted(got[:2]) == [(0, "a"), (1, "b")]
    assert got[2:] == [(2, "c"), (2, None), (1, None), (0, "a2")]
    assert drained == sent  # each select sent its own iteration's value


# ---------------------------------------------------------------------------
# one winner per select, across Ms
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("procs", [2, 4])
def test_concurrent_selects_receive_each_value_once(procs):
    nsenders, per_sender, nselectors = 6, 500, 5

    async def main():
        chans = [Chan(), Chan(1), Chan()]
        results = Chan()
        senders_done = Chan(nsenders)

        async def sender(s):
            for i in range(per_sender):
                await chans[(s + i) % 3].send((s, i))
            await senders_done.send(None)

        async def selector():
            got = []
            live = list(chans)
            while any(c is not nilchan for c in live):
                idx, (v, ok) = await select(*(c.recv_ok for c in live))
                if ok:
                    got.append((idx, v))
                else:
                    live[idx] = nilchan
            await results.send(got)

        for _ in range(nselectors):
            go(selector)
        for s in range(nsenders):
            go(sender, s)
        for _ in range(nsenders):
            await senders_done.recv()
        for c in chans:
            c.close()
        return [await results.recv() for _ in range(nselectors)]

    per_selector = gosched.run(main, gomaxprocs=procs)
    everything = [v for got in per_selector for _, v in got]
    assert len(everything) == nsenders * per_sender
    assert set(everything) == {(s, i) for s in range(nsenders) for i in range(per_sender)}
    for got in per_selector:  # per-sender order on each channel, as seen by one selector
        for c in range(3):
            for s in range(nsenders):
                seq = [i for idx, (t, i) in got if idx == c and t == s]
                assert seq == sorted(seq)
                assert all((s + i) % 3 == c for i in seq)  # it came on the channel it was sent on


@pytest.mark.parametrize("procs", [2, 4])
def test_concurrent_send_selects_deliver_each_value_once(procs):
    nsenders, per_sender, nreceivers = 4, 500, 3

    async def main():
        chans = [Chan(), Chan(2), Chan()]
        results = Chan()
        senders_done = Chan(nsenders)

        async def sender(s):
            for i in range(per_sender):
                await select(*((c.send, (s, i)) for c in chans))
            await senders_done.send(None)

        async def receiver(ch):
            await results.send([v async for v in ch])

        for ch in chans:
            for _ in range(nreceivers):
                go(receiver, ch)
        for s in range(nsenders):
            go(sender, s)
        for _ in range(nsenders):
            await senders_done.recv()
        for c in chans:
            c.close()
        return [await results.recv() for _ in range(nreceivers * len(chans))]

    per_receiver = gosched.run(main, gomaxprocs=procs)
    everything = [v for got in per_receiver for v in got]
    assert len(everything) == nsenders * per_sender
    assert set(everything) == {(s, i) for s in range(nsenders) for i in range(per_sender)}


@pytest.mark.parametrize("procs", [2, 4])
def test_symmetric_selects_agree_on_one_exchange(procs):
    """Two goroutines each offer to send on one channel or receive on the other.

    Every round exactly one exchange happens, and both sides agree on which.
    """
    rounds = 2000

    async def main():
        a, b = Chan(), Chan()
        results = Chan(2)

        async def left():
            log = []
            for i in range(rounds):
                log.append(await select((a.send, ("L", i)), b.recv))
            await results.send(("left", log))

        async def right():
            log = []
            for i in range(rounds):
                log.append(await select((b.send, ("R", i)), a.recv))
            await results.send(("right", log))

        go(left)
        go(right)
        return dict([await results.recv(), await results.recv()])

    logs = gosched.run(main, gomaxprocs=procs)
    for i, (lft, rgt) in enumerate(zip(logs["left"], logs["right"], strict=True)):
        if lft[0] == 0:  # left sent on a: right received it on a
            assert rgt == (1, ("L", i)), (i, lft, rgt)
        else:  # left received on b: right sent it
            assert lft == (1, ("R", i)) and rgt == (0, None), (i, lft, rgt)


def test_one_case_select_is_the_plain_channel_operation(gmp):
    """Go compiles a select with one case (and no default) to the channel operation itself."""

    async def main():
        c: Chan[int] = Chan(2)
        got = [await select((c.send, 7))]
        got.append(await select(c.recv))
        await c.send(8)
        c.close()
        got.append(await select(c.recv_ok))
        got.append(await select(c.recv_ok))
        got.append(await select(c.recv))
        try:
            await select((c.send, 9))
        except gosched.ClosedChannelError as e:
            got.append(str(e))
        return got

    assert gosched.run(main, gomaxprocs=gmp) == [
        (0, None), (0, 7), (0, (8, True)), (0, (None, False)), (0, None), "send on closed channel",
    ]
