"""Timers: sleep, after, Timer, after_func and Ticker.

No test here asserts how long anything took: sleeps only create situations
(a timer that has or has not expired yet), and the assertions are about the
order of events and the values seen.
"""

from __future__ import annotations

import gc
import random
import threading
import time

import pytest

import gosched
import gosched.gotime as gotime
from gosched import Chan, default, go, select
from gosched.runtime.runtime2 import sched
from gosched.runtime.timers import islive

pytestmark = pytest.mark.timeout(30)

DEADLOCK = "all goroutines are asleep - deadlock!"


# ---------------------------------------------------------------------------
# sleep
# ---------------------------------------------------------------------------


def test_sleep_order(gmp):
    """A goroutine that sleeps less wakes first (durations 50 ms apart)."""
    durations = [0.0, 0.05, 0.10, 0.15, 0.20, 0.25]

    async def main():
        woke = Chan(len(durations))

        async def sleeper(d):
            await gosched.sleep(d)
            await woke.send(d)

        shuffled = list(durations)
        random.Random(7).shuffle(shuffled)
        for d in shuffled:
            go(sleeper, d)
        return [await woke.recv() for _ in durations]

    assert gosched.run(main, gomaxprocs=gmp) == durations


def test_short_sleeper_wakes_before_long_sleeper(gmp):
    async def main():
        first = Chan(2)

        async def sleeper(name, d):
            await gosched.sleep(d)
            await first.send(name)

        go(sleeper, "long", 30.0)
        go(sleeper, "short", 0.01)
        return await first.recv()  # the long sleeper is abandoned when main returns

    assert gosched.run(main, gomaxprocs=gmp) == "short"


def test_sleep_zero_and_negative_do_not_suspend():
    async def main():
        log = []

        async def other():
            log.append("other")

        go(other)
        await gosched.sleep(0)
        await gosched.sleep(-1)
        log.append("main")
        await gosched.sleep(0.001)
        return log

    assert gosched.run(main, gomaxprocs=1) == ["main", "other"]


def test_sleep_in_many_goroutines(gmp):
    async def main():
        done = Chan()

        async def sleeper(i):
            await gosched.sleep(0.001 * (i % 5))
            await done.send(i)

        for i in range(500):
            go(sleeper, i)
        return sorted([await done.recv() for _ in range(500)])

    assert gosched.run(main, gomaxprocs=gmp) == list(range(500))


def test_sleep_in_sync_goroutine(gmp):
    def sleeper(out):
        gosched.block_on(gosched.sleep(0.01))
        gosched.block_on(out.send("sync slept"))

    async def main():
        out = Chan()
        go(sleeper, out)
        return await out.recv()

    assert gosched.run(main, gomaxprocs=gmp) == "sync slept"


# ---------------------------------------------------------------------------
# after and Timer
# ---------------------------------------------------------------------------


def test_after_sends_the_time(gmp):
    async def main():
        before = time.monotonic()
        c = gosched.after(0.01)
        v = await c.recv()
        after = time.monotonic()
        return before, v, after, c.cap

    before, v, after, cap = gosched.run(main, gomaxprocs=gmp)
    assert isinstance(v, float)
    assert before <= v <= after  # a reading of the monotonic clock, taken when it fired
    assert cap == 0  # Go 1.23: a timer channel reports cap 0


def test_after_as_a_select_timeout(gmp):
    async def main():
        never, ready = Chan(), Chan(1)
        await ready.send("value")
        timed_out = await select(never.recv, gosched.after(0.01).recv)
        not_timed_out = await select(ready.recv, gosched.after(30).recv)
        return timed_out[0], not_timed_out

    assert gosched.run(main, gomaxprocs=gmp) == (1, (0, "value"))


def test_timer_fires_once(gmp):
    async def main():
        t = gosched.Timer(0.01)
        v = await t.c.recv()
        await gosched.sleep(0.03)
        return type(v), await select(t.c.recv, default)

    assert gosched.run(main, gomaxprocs=gmp) == (float, (1, None))


def test_timer_stop(gmp):
    async def main():
        t = gosched.Timer(0.05)
        stopped = [t.stop(), t.stop()]  # active, then already stopped
        await gosched.sleep(0.1)  # past its deadline: it must not fire
        never_fired = await select(t.c.recv, default)

        fired = gosched.Timer(0.001)
        await fired.c.recv()
        stopped.append(fired.stop())  # already fired and received
        return stopped, never_fired

    assert gosched.run(main, gomaxprocs=gmp) == ([True, False, False], (1, None))


def test_timer_stop_discards_an_unreceived_value(gmp):
    """Go 1.23: a sent time nobody received is discarded, and Stop says True,
    so ``if not t.stop(): await t.c.recv()`` never blocks."""

    async def main():
        t = gosched.Timer(0.001)
        await gosched.sleep(0.02)  # it fires (its deadline is earlier), nobody receives
        stopped = t.stop()
        return stopped, len(t.c), await select(t.c.recv, default)

    assert gosched.run(main, gomaxprocs=gmp) == (True, 0, (1, None))


def test_timer_reset_of_a_fired_unreceived_timer_says_active(gmp):
    async def main():
        t = gosched.Timer(0.001)
        await gosched.sleep(0.02)  # fired, not received
        was = t.reset(0.001)
        v = await t.c.recv()  # the new firing, not the stale one
        return was, await select(t.c.recv, default), v > 0

    assert gosched.run(main, gomaxprocs=gmp) == (True, (1, None), True)


def test_timer_reset(gmp):
    async def main():
        t = gosched.Timer(30)
        results = [t.reset(0.01)]  # active: True
        v1 = await t.c.recv()
        results.append(t.reset(0.01))  # fired and received: False
        v2 = await t.c.recv()
        t.stop()
        results.append(t.reset(0.01))  # stopped: False
        v3 = await t.c.recv()
        return results, v1 < v2 < v3

    assert gosched.run(main, gomaxprocs=gmp) == ([True, False, False], True)


def test_timer_reset_postpones_firing(gmp):
    async def main():
        t = gosched.Timer(0.05)
        t.reset(30)
        await gosched.sleep(0.1)  # past the original deadline
        return await select(t.c.recv, default)

    assert gosched.run(main, gomaxprocs=gmp) == (1, None)


# ---------------------------------------------------------------------------
# after_func
# ---------------------------------------------------------------------------


def test_after_func_runs_fn_in_its_own_goroutine(gmp):
    async def main():
        out = Chan(2)

        async def async_fn(tag):
            await out.send((tag, gosched.goid()))

        def plain_fn(tag):
            gosched.block_on(out.send((tag, gosched.goid())))

        gosched.after_func(0.01, async_fn, "async")
        gosched.after_func(0.02, plain_fn, "plain")
        return sorted([await out.recv(), await out.recv()])

    (tag1, id1), (tag2, id2) = gosched.run(main, gomaxprocs=gmp)
    assert (tag1, tag2) == ("async", "plain")
    assert id1 not in (0, 1) and id2 not in (0, 1) and id1 != id2


def test_after_func_goroutine_is_created_by_the_timer(gmp):
    """Go's dumps say ``created by time.goFunc``; ours name the timer function."""

    async def main():
        out = Chan(1)

        async def fn():
            await out.send(gosched.stack(all=False))

        gosched.after_func(0.001, fn)
        return await out.recv()

    lines = gosched.run(main, gomaxprocs=gmp).splitlines()
    assert lines[-2] == "created by gosched.gotime._goFunc", lines
    assert "in goroutine" not in lines[-2]  # started by the timer, not by a goroutine


def test_after_func_fn_may_block(gmp):
    async def main():
        ch = Chan()

        async def fn():
            await ch.send("from after_func")  # blocks until main receives

        gosched.after_func(0.001, fn)
        await gosched.sleep(0.02)
        return await ch.recv()

    assert gosched.run(main, gomaxprocs=gmp) == "from after_func"


def test_after_func_stop(gmp):
    ran = []

    async def main():
        t = gosched.after_func(0.05, ran.append, "ran")
        first = t.stop()
        await gosched.sleep(0.1)  # past its deadline: it must not fire
        return first, t.stop()

    assert gosched.run(main, gomaxprocs=gmp) == (True, False)
    assert ran == []


def test_after_func_timer_given_a_channel_is_still_a_func_timer(gmp):
    """Go's sleep_test newTimerFunc sets t.C itself; Stop must not drain it:
    whether a timer is a channel timer is fixed when it is made."""
    async def main():
        c = Chan(1)

        async def fire():
            await c.send("fired")

        t = gosched.after_func(0, fire)
        t.c = c
        v = await c.recv()
        await c.send(v)  # back into the buffer
        stopped = t.stop()
        return stopped, len(c), await c.recv()

    assert gosched.run(main, gomaxprocs=gmp) == (False, 1, "fired")


def test_after_func_reset(gmp):
    async def main():
        out = Chan(2)

        async def fn():
            await out.send(gosched.goid())

        t = gosched.after_func(30, fn)
        was_active = t.reset(0.01)
        g1 = await out.recv()
        was_active_after_firing = t.reset(0.01)  # runs again, in a new goroutine
        g2 = await out.recv()
        return was_active, was_active_after_firing, g1 != g2

    assert gosched.run(main, gomaxprocs=gmp) == (True, False, True)


# ---------------------------------------------------------------------------
# Ticker
# ---------------------------------------------------------------------------


def test_ticker_delivers_ticks(gmp):
    async def main():
        t = gosched.Ticker(0.005)
        ticks = [await t.c.recv() for _ in range(5)]
        t.stop()
        return ticks, t.c.cap

    ticks, cap = gosched.run(main, gomaxprocs=gmp)
    assert all(isinstance(v, float) for v in ticks)
    assert ticks == sorted(ticks) and len(set(ticks)) == 5
    assert cap == 0  # Go 1.23: a timer channel reports cap 0


def test_ticker_stop(gmp):
    async def main():
        t = gosched.Ticker(0.005)
        await t.c.recv()
        t.stop()
        pending = len(t.c)
        await gosched.sleep(0.05)  # ten periods
        return pending, await select(t.c.recv, default)

    assert gosched.run(main, gomaxprocs=gmp) == (0, (1, None))


def test_stopped_ticker_channel_blocks_forever(gmp, headers):
    async def main():
        t = gosched.Ticker(0.005)
        await t.c.recv()
        t.stop()
        await t.c.recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    assert headers(ei.value.dump) == {1: "chan receive"}


def test_slow_ticker_receiver_misses_ticks(gmp):
    async def main():
        t = gosched.Ticker(0.005)
        await gosched.sleep(0.1)  # about twenty periods without receiving
        woke = time.monotonic()
        backlog = len(t.c)
        stale = await t.c.recv()  # the one tick the channel could hold
        fresh = await t.c.recv()  # must be a new tick, not an older one kept back
        t.stop()
        return backlog, stale < woke, fresh - stale > 0.05

    # The channel held one tick from the first until main received: every tick
    # in between was dropped, so the next one is due after the sleep (a tick
    # carries the time it was due, as in Go). As in Go 1.23, len does not show
    # the tick that is waiting.
    assert gosched.run(main, gomaxprocs=gmp) == (0, True, True)


def test_ticker_reset(gmp):
    async def main():
        t = gosched.Ticker(30)
        t.reset(0.005)
        ticks = [await t.c.recv() for _ in range(3)]
        t.stop()
        return ticks == sorted(ticks)

    assert gosched.run(main, gomaxprocs=gmp) is True


def test_ticker_needs_a_positive_interval(gmp):
    async def main():
        with pytest.raises(ValueError) as ei:
            gosched.Ticker(0)
        return str(ei.value)

    assert gosched.run(main, gomaxprocs=gmp) == "non-positive interval for NewTicker"


def test_a_period_under_one_nanosecond_is_non_positive(gmp):
    """Go's Duration is whole nanoseconds: 1e-10 s is 0 there. (A subnormal period
    used to overflow inside the timer code with the timer's lock held.)"""

    async def main():
        out = []
        for d in (5e-10, 5e-324):
            with pytest.raises(ValueError) as ei:
                gosched.Ticker(d)
            out.append(str(ei.value))
        t = gosched.Ticker(1)
        with pytest.raises(ValueError) as ei:
            t.reset(1e-12)
        t.stop()
        return [*out, str(ei.value)]

    assert gosched.run(main, gomaxprocs=gmp) == [
        "non-positive interval for NewTicker", "non-positive interval for NewTicker",
        "non-positive interval for Ticker.Reset"]


def test_a_period_below_the_clock_step_still_moves_the_timer_on():
    """A year after boot, 1 ns is below the float clock's step: a ticker's next time
    stayed where it was, and the timer check ran it forever (run never returned)."""
    from gosched.runtime.runtime2 import P
    from gosched.runtime.timers import Timer, Timers, unlockAndRun

    fired = []
    when = 3.15e7
    t = Timer(lambda arg: fired.append(arg), "tick")
    ts = Timers(P(0))
    t.modify(when, 1e-9, ts)
    t.mu.acquire()
    unlockAndRun(t, when, ts)  # on time: the next tick is one period on
    assert fired == ["tick"]
    assert t.when > when


def test_after_func_refuses_what_it_cannot_run(gmp):
    async def main():
        out = []
        for fn in (None, 5):
            with pytest.raises(TypeError) as ei:
                gosched.after_func(0, fn)
            out.append(str(ei.value))
        return out

    assert gosched.run(main, gomaxprocs=gmp) == ["go of nil func value",
                                                 "after_func: 5 is not callable"]


def test_nan_durations_are_refused_and_leave_the_timers_working(gmp):
    nan = float("nan")

    async def main():
        errors = []
        try:
            await gosched.sleep(nan)
        except ValueError as e:
            errors.append(str(e))
        for make in (lambda: gosched.after(nan), lambda: gosched.Timer(nan),
                     lambda: gosched.after_func(nan, print), lambda: gosched.Ticker(nan),
                     lambda: gosched.Timer(1).reset(nan)):
            try:
                make()
                errors.append(None)
            except ValueError as e:
                errors.append(str(e))
        await gosched.sleep(0.001)  # the heaps still order and fire timers
        return errors, await gosched.after(0.001).recv() > 0

    errors, fired = gosched.run(main, gomaxprocs=gmp)
    timer = "gosched: timer duration is NaN"
    assert errors == ["sleep: duration is NaN", timer, timer, timer,
                      "non-positive interval for NewTicker", timer]
    assert fired

def test_durations_that_are_not_numbers_say_so():
    """Not Python's comparison error ("'>' not supported between ...")."""

    async def main():
        errors = []
        try:
            await gosched.sleep("1")
        except TypeError as e:
            errors.append(str(e))
        for make in (lambda: gosched.after(None), lambda: gosched.Timer([]),
                     lambda: gosched.after_func("1", print), lambda: gosched.Ticker("1"),
                     lambda: gosched.Timer(1).reset("1"), lambda: gosched.Ticker(1).reset("1")):
            try:
                make()
                errors.append(None)
            except TypeError as e:
                errors.append(str(e))
        return errors

    def msg(what, tp):
        return f"{what}: duration must be a number of seconds, not {tp}"

    assert gosched.run(main, gomaxprocs=1) == [
        msg("sleep", "str"), msg("timer", "NoneType"), msg("timer", "list"), msg("timer", "str"),
        msg("NewTicker", "str"), msg("timer", "str"), msg("Ticker.Reset", "str")]



def test_timers_nobody_waits_on_do_not_hide_a_deadlock(gmp):
    """Go 1.23: a Timer's or Ticker's channel timer counts only while someone
    waits on its channel, so these still end in Go's deadlock error."""

    async def main():
        ticker = gosched.Ticker(0.01)
        timer = gosched.Timer(3600)
        c = gosched.after(3600)
        await gosched.Chan().recv()
        return ticker, timer, c

    with pytest.raises(gosched.Deadlock, match="all goroutines are asleep - deadlock!"):
        gosched.run(main, gomaxprocs=gmp)


def test_a_timer_waited_on_in_a_select_is_not_a_deadlock(gmp):
    async def main():
        t = gosched.Timer(0.05)
        ticker = gosched.Ticker(0.01)  # unwatched: must not matter either way
        i, _ = await select(gosched.Chan().recv, t.c.recv)
        ticker.stop()
        return i

    assert gosched.run(main, gomaxprocs=gmp) == 1



def test_timer_and_ticker_channels_report_len_and_cap_zero(gmp):
    """Go 1.23: timer channels are unbuffered as far as len and cap can tell,
    even with a fired time waiting to be received."""

    async def main():
        t = gosched.Timer(0.001)
        ticker = gosched.Ticker(0.001)
        await gosched.sleep(0.02)  # both fired; nobody received yet
        sizes = (len(t.c), t.c.cap, len(ticker.c), ticker.c.cap, len(gosched.after(1)))
        got = await t.c.recv()
        ticker.stop()
        return sizes, got > 0

    assert gosched.run(main, gomaxprocs=gmp) == ((0, 0, 0, 0, 0), True)


# ---------------------------------------------------------------------------
# Go 1.23 timer channels: no stale value after stop/reset, expired timers
# ready at once, unreferenced timers gone, after_func's nil channel
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["stop", "reset", "ticker"])
def test_stop_and_reset_drop_a_send_in_flight(gmp, mode, monkeypatch):
    """The timer fires on one M and, before its send happens, another thread
    stops (or resets) it: once stop/reset has returned, no stale value may
    arrive (Go 1.23's seq), and a one-shot timer counts as stopped in time.

    The firing M is held between firing and sending until the stop is done,
    so the race is taken every time.
    """
    fired, stopped, sent = threading.Event(), threading.Event(), threading.Event()
    send = gotime._sendTime

    def stalled_send(*args):
        if not fired.is_set():
            fired.set()
            stopped.wait(10)  # the timer has fired; its send waits for the stop
            send(*args)
            sent.set()
        else:
            send(*args)

    monkeypatch.setattr(gotime, "_sendTime", stalled_send)
    result = []

    async def main():
        t = gosched.Ticker(0.001) if mode == "ticker" else gosched.Timer(0.001)

        def stopper():  # another thread, as if another M ran a goroutine calling stop
            fired.wait(10)
            result.append(t.reset(3600) if mode == "reset" else t.stop())
            stopped.set()

        threading.Thread(target=stopper, daemon=True).start()
        while not sent.is_set():  # park: an M fires the timer meanwhile
            await gosched.sleep(0.001)
        got = await select(t.c.recv, default)
        t.stop()
        return got

    assert gosched.run(main, gomaxprocs=gmp) == (1, None)
    assert result == [None if mode == "ticker" else True]


def test_timer_channel_receives_the_time_it_was_due(gmp, monkeypatch):
    """Go 1.23's sendTime sends ``Now().Add(-delta)``: when the timer was due,
    however late it runs."""

    async def main():
        created = time.monotonic()
        monkeypatch.setattr(gotime, "nanotime", lambda: created - 1.0)
        t = gosched.Timer(0.5)  # due half a second before it was created
        monkeypatch.undo()
        return created, await t.c.recv()

    created, v = gosched.run(main, gomaxprocs=gmp)
    assert v < created


def test_expired_timer_is_ready_for_a_non_blocking_receive(gmp):
    """Go 1.23: chanrecv and selectgo run a due channel timer first
    (maybeRunChan), so an expired timer beats default, without waiting for
    a scheduler to look at the timer heaps."""

    def spin(d):  # no scheduling point: only the receive itself can run the timer
        end = time.monotonic() + d
        while time.monotonic() < end:
            pass

    async def main():
        out = [(await select(gosched.after(0).recv, default))[0],
               (await select(gosched.after(-1).recv_ok, default))[0]]
        t = gosched.Timer(0.001)
        spin(0.003)
        out.append((await select(t.c.recv, default))[0])
        ticker = gosched.Ticker(0.001)
        spin(0.003)
        out.append((await select(default, ticker.c.recv))[0])
        await ticker.c.recv()  # and it keeps ticking
        ticker.stop()
        c = gosched.after(0)
        out.append(await c.recv_ok() > (0, True))
        async for v in gosched.after(-1):
            out.append(v > 0)
            break
        return out

    assert gosched.run(main, gomaxprocs=gmp) == [0, 0, 0, 1, True, True]


def test_expired_timer_and_ready_channel_are_chosen_alike(gmp):
    """Two ready cases: an expired timer is as ready as a buffered value, so a
    select picks either about half the time."""

    async def main():
        counts = [0, 0]
        for _ in range(200):
            c = Chan(1)
            await c.send(1)
            t = gosched.Timer(0)
            counts[(await select(t.c.recv, c.recv))[0]] += 1
        return counts

    counts = gosched.run(main, gomaxprocs=gmp)
    assert min(counts) >= 40, counts  # 200 fair coin flips: below 40 never happens


def test_after_in_a_select_loop_does_not_pile_up_timers(gmp):
    """Go 1.23 collects a timer nobody can receive from; here its entry leaves
    the heap, so ``select(c.recv, after(3600).recv)`` in a loop keeps the heap
    small instead of holding one timer per iteration for an hour."""
    n = 5000

    async def main():
        c = Chan()

        async def producer():
            for i in range(n):
                await c.send(i)
            c.close()

        go(producer)
        got = 0
        while True:
            _, (_, ok) = await select(c.recv_ok, gosched.after(3600).recv)
            if not ok:
                break
            got += 1
        gc.collect()  # a select left sudogs on the timers' channels: cycles
        live = sum(1 for pp in sched.allp for e in pp.timers.heap if islive(e))
        for pp in sched.allp:
            pp.timers.adjust()  # what a push does once the heap has doubled
        return got, live, sum(len(pp.timers.heap) for pp in sched.allp)

    # A few channels may still be referenced from what an M last parked with.
    got, live, entries = gosched.run(main, gomaxprocs=gmp)
    assert got == n
    assert live < 20 and entries < 20, (live, entries)


def test_dropped_tickers_stop_firing(gmp):
    """A Ticker nobody holds anymore stops itself the next time it fires."""

    async def main():
        for _ in range(200):
            gosched.Ticker(0.001)  # never stopped, dropped at once
        await gosched.sleep(0.02)  # each fired at least once since
        return sum(1 for pp in sched.allp for e in pp.timers.heap if e[3] == e[2].version)

    assert gosched.run(main, gomaxprocs=gmp) == 0


def test_held_timer_channel_keeps_its_timer(gmp):
    """Only the channel matters: holding ``.c`` (not the Timer) keeps it working."""

    async def main():
        c = gosched.Timer(0.01).c
        ticks = gosched.Ticker(0.005).c
        gc.collect()
        return await c.recv() > 0, await ticks.recv() > 0, await ticks.recv() > 0

    assert gosched.run(main, gomaxprocs=gmp) == (True, True, True)


def test_after_func_timer_has_the_nil_channel(gmp):
    """Go's AfterFunc timer has a nil C; stop and reset still work on it."""
    ran = Chan(1)

    async def main():
        t = gosched.after_func(3600, ran.send, "ran")
        results = [t.c is gosched.nilchan, t.stop(), t.stop(), t.reset(0.001)]
        results.append(await ran.recv())
        results.append(t.reset(3600))  # fired: not active
        results.append(t.stop())  # active again
        return results

    assert gosched.run(main, gomaxprocs=gmp) == [True, True, False, False, "ran", False, True]


# ---------------------------------------------------------------------------
# Timers and a shrinking set of Ps
# ---------------------------------------------------------------------------


def test_a_destroyed_ps_timer_heap_forwards_pushes():
    """procresize moves a dead P's timers; a push that comes later, from a caller
    that still holds the dead P's heap, lands in the survivor's heap."""
    from gosched.runtime.runtime2 import P
    from gosched.runtime.timers import Timer

    dead, survivor = P(1).timers, P(0).timers
    early, late = Timer(lambda _: None, None), Timer(lambda _: None, None)
    early.modify(1e9, 0.0, dead)
    moved = dead.take(survivor)
    assert [e[2] for e in moved] == [early]
    late.modify(2e9, 0.0, dead)
    assert late.ts is survivor, "the timer must know which heap holds it (stop zombies it there)"
    assert [e[2] for e in survivor.heap] == [late] and not dead.heap


def test_sync_goroutines_sleep_through_gomaxprocs_shrinks():
    """A sync goroutine whose P was retaken (it sat in time.sleep) and then
    destroyed by gomaxprocs(n) used to arm its next sleep's timer on the dead
    P's heap, which nobody checks: a false deadlock in about half of the runs."""

    async def main():
        wg = gosched.WaitGroup()
        stop = []

        def sync_sleeper():
            while not stop:
                time.sleep(0.001)  # long enough for sysmon to retake the P
                gosched.block_on(gosched.sleep(0.0005))
            wg.done()

        async def busy():
            n = 0
            while not stop:
                n += 1
                if n % 50 == 0:
                    await gosched.gosched()
            wg.done()

        wg.add(6)
        for _ in range(2):
            go(sync_sleeper)
        for _ in range(4):
            go(busy)
        for _ in range(15):
            gosched.gomaxprocs(rng.randint(1, 5))
            await gosched.sleep(0.003)
        stop.append(True)
        await wg.wait()
        return "done"

    rng = random.Random(29)
    for _ in range(8):
        assert gosched.run(main, gomaxprocs=2) == "done"


@pytest.mark.timeout(60)
def test_goroutines_that_keep_sleeping_a_microsecond_do_not_starve_the_rest(gmp):
    """In Python a 1 µs sleep is always due again at the next look at the timers:
    each sleeper took runnext back in turn, and a slice sysmon ended was handed on
    to the next, so main's 20 short sleeps took 100 s. A slice that is over now
    goes to the head of the queue."""
    async def sleeper():
        while True:
            await gosched.sleep(1e-6)

    async def main():
        for _ in range(8):
            go(sleeper)
        for _ in range(20):
            await gosched.sleep(0.005)
        return "done"

    assert gosched.run(main, gomaxprocs=gmp) == "done"
