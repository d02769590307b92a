"""``gosched.run`` and the goroutine lifecycle: results, panics, abandoned goroutines,
``goexit``, deadlock detection (``checkdead``), and the introspection calls
(``num_goroutine``, ``goid``, ``stack``, ``gomaxprocs``)."""

from __future__ import annotations

import functools
import gc
import os
import re
import sys
import threading
import time
import warnings
import weakref

import pytest

import gosched
from gosched import Chan, default, go, nilchan, select

pytestmark = pytest.mark.timeout(30)

DEADLOCK = "all goroutines are asleep - deadlock!"
GOEXIT_DEADLOCK = "no goroutines (main called runtime.Goexit) - deadlock!"


def marker_line(tag: str) -> int:
    """The line number of the line of this file that ends with ``# <tag>``."""
    with open(__file__) as f:
        for lineno, line in enumerate(f, 1):
            if line.rstrip().endswith(f"# {tag}"):
                return lineno
    raise AssertionError(f"no line tagged {tag!r}")


def panic_note(exc: BaseException) -> str:
    notes = [n for n in getattr(exc, "__notes__", []) if n.startswith("panic: ")]
    assert len(notes) == 1, f"expected one panic note, got {getattr(exc, '__notes__', None)!r}"
    return notes[0]


# ---------------------------------------------------------------------------
# run: results, arguments, nesting, fresh runtimes
# ---------------------------------------------------------------------------


def test_run_returns_async_main_result(gmp):
    result = object()

    async def main():
        ch = Chan()

        async def producer():
            await ch.send(result)

        go(producer)
        return await ch.recv()

    assert gosched.run(main, gomaxprocs=gmp) is result


def test_run_returns_plain_function_main_result(gmp):
    def main():
        ch = Chan()

        async def producer(x):
            await ch.send(x * 2)

        go(producer, 21)
        return gosched.block_on(ch.recv())

    assert gosched.run(main, gomaxprocs=gmp) == 42


def test_run_main_returning_none(gmp):
    async def main():
        await gosched.sleep(0)

    assert gosched.run(main, gomaxprocs=gmp) is None


def test_run_passes_positional_args(gmp):
    async def main(a, b, *rest):
        return (a, b, rest)

    def plain(a, b):
        return a - b

    assert gosched.run(main, 1, "two", 3, 4, gomaxprocs=gmp) == (1, "two", (3, 4))
    assert gosched.run(plain, 10, 3, gomaxprocs=gmp) == 7


def test_run_keyword_args_go_through_partial(gmp):
    async def main(a, *, scale, offset=0):
        return a * scale + offset

    assert gosched.run(functools.partial(main, 5, scale=3, offset=1), gomaxprocs=gmp) == 16
    assert gosched.run(functools.partial(main, scale=2), 7, gomaxprocs=gmp) == 14


def test_run_keyword_args_are_not_passed_to_main():
    async def main(**kwargs):
        return kwargs

    with pytest.raises(TypeError):
        gosched.run(main, scale=3)


def test_nested_run_raises_runtime_error(gmp):
    inner_ran = []

    async def inner():
        inner_ran.append(True)

    async def main():
        with pytest.raises(RuntimeError) as ei:
            gosched.run(inner)
        assert not isinstance(ei.value, gosched.Deadlock)
        # The outer runtime is unharmed and keeps working.
        ch = Chan()

        async def child():
            await ch.send("still running")

        go(child)
        return await ch.recv()

    def plain_main():
        with pytest.raises(RuntimeError):
            gosched.run(inner)
        return "plain ok"

    assert gosched.run(main, gomaxprocs=gmp) == "still running"
    assert gosched.run(plain_main, gomaxprocs=gmp) == "plain ok"
    assert inner_ran == []


def test_sequential_runs_get_a_fresh_runtime(gmp):
    async def main(nchildren):
        ids = Chan(nchildren)

        async def child():
            await ids.send(gosched.goid())

        for _ in range(nchildren):
            go(child)
        children = sorted([await ids.recv() for _ in range(nchildren)])
        return gosched.goid(), gosched.num_goroutine(), children

    main_id, n, children = gosched.run(main, 200, gomaxprocs=gmp)
    assert main_id == 1
    assert len(set(children)) == 200 and 1 not in children
    for _ in range(2):
        main_id, n, children = gosched.run(main, 3, gomaxprocs=gmp)
        assert main_id == 1
        assert len(set(children)) == 3 and 1 not in children
        assert max(children) < 200  # goroutine ids start over
        assert 1 <= n <= 4


def test_run_on_another_thread(gmp):
    async def main(x):
        ch = Chan()

        async def child():
            await ch.send(x + 1)

        go(child)
        return gosched.goid(), await ch.recv()

    results = []
    t = threading.Thread(target=lambda: results.append(gosched.run(main, 41, gomaxprocs=gmp)))
    t.start()
    t.join()
    assert results == [(1, 42)]


def test_go_outside_run_raises():
    async def f():
        pass

    with pytest.raises(RuntimeError) as ei:
        go(f)
    assert str(ei.value) == "go: called outside gosched.run"

    # Also after a runtime has come and gone on this thread.
    gosched.run(f)
    with pytest.raises(RuntimeError) as ei:
        go(f)
    assert str(ei.value) == "go: called outside gosched.run"

    # And on another thread.
    errors = []

    def other_thread():
        try:
            go(f)
        except RuntimeError as e:
            errors.append(str(e))

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert errors == ["go: called outside gosched.run"]


def test_go_returns_none_and_passes_args(gmp):
    async def main():
        out = Chan(3)

        async def add(a, b, *, c):
            await out.send(a + b + c)

        def plain(a, *, b):
            gosched.block_on(out.send(a * b))

        async def coro_fn(x):
            await out.send(-x)

        results = [go(add, 1, 2, c=3), go(plain, 4, b=5), go(coro_fn(7))]
        got = sorted([await out.recv() for _ in range(3)])
        return results, got

    assert gosched.run(main, gomaxprocs=gmp) == ([None, None, None], [-7, 6, 20])


def test_go_with_bad_arguments_raises_in_the_caller_and_leaves_its_p_alone(gmp):
    # The coroutine is made before the P is borrowed: a TypeError from the call
    # used to leave the P's lease empty, so the next switch took it for retaken.
    async def needs(a, *, k):
        return a, k

    async def main():
        errors = []
        for _ in range(3):
            for args, kwargs in (((), {}), ((1,), {"kk": 2}), ((1, 2), {"k": 3})):
                try:
                    go(needs, *args, **kwargs)
                except TypeError as e:
                    errors.append(str(e))
        c = Chan()

        async def sender():
            await c.send(5)

        go(sender)
        got = await c.recv()
        while gosched.num_goroutine() > 1:  # with two Ps the sender may still be exiting
            await gosched.gosched()
        return errors, got, gosched.num_goroutine()

    errors, got, n = gosched.run(main, gomaxprocs=gmp)
    assert len(errors) == 9 and all("needs()" in e for e in errors), errors
    assert (got, n) == (5, 1)


def test_rejected_coroutines_are_closed_not_left_unawaited(gmp):
    """A coroutine object that go() or block_on() refuses is closed, so the
    caller sees its error and no "coroutine ... was never awaited" warning."""

    async def work():
        return 1

    async def main():
        errors = []
        try:
            go(work(), 1)
        except TypeError as e:
            errors.append(str(e))
        try:
            gosched.block_on(work())  # from an async goroutine
        except RuntimeError as e:
            errors.append(str(e))
        return errors

    gc.collect()  # earlier tests' garbage (an unclosed socket) is not this test's
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "never awaited" surfaces via the unraisable hook
        seen = []
        hook, sys.unraisablehook = sys.unraisablehook, seen.append
        try:
            errors = gosched.run(main, gomaxprocs=gmp)
            with pytest.raises(RuntimeError):
                gosched.block_on(work())  # no runtime at all
            gc.collect()
        finally:
            sys.unraisablehook = hook
    assert errors == ["go: arguments given with a coroutine object",
                      "block_on: called from an async goroutine; use await"]
    assert [str(u.exc_value) for u in seen] == []


def test_reraised_exception_carries_only_its_latest_panic_note():
    boom = ValueError("boom")

    async def main():
        raise boom

    for _ in range(2):
        with pytest.raises(ValueError) as ei:
            gosched.run(main)
    assert ei.value is boom
    panic_note(boom)  # exactly one note, not one per run


def test_gosched_lets_others_run(gmp):
    async def main():
        flag = []

        async def setter():
            flag.append(True)

        go(setter)
        while not flag:  # with one P this spins forever unless gosched() yields
            await gosched.gosched()
        return flag

    assert gosched.run(main, gomaxprocs=gmp) == [True]


def test_main_first_gosched_runs_the_goroutine_it_started():
    """One P: ``go f(); runtime.Gosched()`` in main runs f first. Go's P has
    scheduled runtime.main's helpers before main.main, so the every-61st check of
    the global queue (where Gosched puts main) does not fall on this schedule."""

    async def main():
        order = []

        async def f():
            order.append("f")

        go(f)
        await gosched.gosched()
        order.append("main")
        return order

    assert gosched.run(main, gomaxprocs=1) == ["f", "main"]


def test_go_makes_gs_as_complete_as_G_does():
    """go() builds a brand-new G without G.__init__ (see go): every field must
    still be set, to G.__init__'s value where go() has nothing of its own."""
    from gosched.runtime.runtime2 import G, sched

    async def f():
        pass

    async def main():
        before = list(sched.allgs)
        go(f)
        fresh = [gp for gp in sched.allgs if gp not in before]
        assert len(fresh) == 1
        gp = fresh[0]
        return {name: getattr(gp, name, "<unset>") for name in G.__slots__}

    fields = gosched.run(main, gomaxprocs=1)
    template = G()
    own = {"fn", "coro", "goid", "parentGoid", "gopc", "gopcoff", "atomicstatus"}
    assert "<unset>" not in fields.values(), fields
    assert {k: v for k, v in fields.items() if k not in own} == {
        name: getattr(template, name) for name in G.__slots__ if name not in own}


def test_goroutines_are_numbered_as_in_go_and_the_finalizer_goroutine_is_hidden():
    """Go's runtime.main starts system goroutines (2 to 4) and os's init the
    finalizer goroutine (5) before main.main: a program's own goroutines start
    at 6. Those are in no dump and no count, and never make a deadlock."""

    async def main():
        ids = [gosched.goid()]
        done = Chan()

        async def f():
            ids.append(gosched.goid())
            await done.recv()

        go(f)
        go(f)
        await gosched.sleep(0.001)
        headers = re.findall(r"^goroutine (\d+) \[([^\]]*)\]:$", gosched.stack(), re.MULTILINE)
        return ids, gosched.num_goroutine(), headers

    ids, n, headers = gosched.run(main, gomaxprocs=1)
    assert ids == [1, 7, 6]  # 7 was in runnext when main slept
    assert n == 3
    assert headers == [("1", "running"), ("6", "chan receive"), ("7", "chan receive")]

    async def lonely():
        await Chan().recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(lonely, gomaxprocs=1)
    assert re.findall(r"^goroutine \d+", ei.value.dump, re.MULTILINE) == ["goroutine 1"]


def test_the_every_61st_schedule_falls_where_gos_does(monkeypatch):
    """One P, 300 goroutines and a yielding one: the global queue (where Gosched
    puts a goroutine, and where the local queue overflows to) is looked at on
    every 61st schedule, so where "y 1", "g 0" and "y 2" land depends on the
    P's schedtick when main starts. This is the order Go 1.19 printed for

        go func(){ for j := 0; j < 4; j++ { fmt.Println("y", j); runtime.Gosched() } }()
        runtime.Gosched(); fmt.Println("main back")
        for i := 0; i < 300; i++ { go func(i int){ fmt.Println("g", i) }(i) }
        fmt.Println("spawned"); runtime.Gosched(); fmt.Println("main back2")
    """
    import gosched.runtime.sysmon as sysmon

    monkeypatch.setattr(sysmon, "FORCE_PREEMPT", 3600.0)  # only Gosched yields

    async def main():
        out = []
        wg = gosched.WaitGroup()
        wg.add(1)

        async def y():
            for j in range(4):
                out.append(f"y {j}")
                await gosched.gosched()
            wg.done()

        async def g(i):
            out.append(f"g {i}")
            wg.done()

        go(y)
        await gosched.gosched()
        out.append("main back")
        for i in range(300):
            wg.add(1)
            go(g, i)
        out.append("spawned")
        await gosched.gosched()
        out.append("main back2")
        await wg.wait()
        return out

    def gs(*ranges):
        return [f"g {i}" for r in ranges for i in r]

    assert gosched.run(main, gomaxprocs=1) == [
        "y 0", "main back", "spawned", *gs([299], range(127, 182)), "y 1",
        *gs(range(182, 242), [0], range(242, 255), range(256, 299), range(1, 5)), "y 2",
        *gs(range(5, 65)), "y 3", *gs(range(65, 127), [255]), "main back2"]


def test_gosched_interleaves_spinning_goroutines(gmp):
    async def main():
        log = []
        done = Chan(2)

        async def spinner(name):
            for _ in range(100):
                log.append(name)
                await gosched.gosched()
            await done.send(name)

        go(spinner, "a")
        go(spinner, "b")
        await done.recv()
        await done.recv()
        return log

    log = gosched.run(main, gomaxprocs=gmp)
    assert sorted(log) == ["a"] * 100 + ["b"] * 100
    if gmp == 1:
        # Neither spinner finished before the other started: gosched() yields the P.
        # (With two Ps each may run on its own M, so any order is possible.)
        assert log.index("b") < 99 and log.index("a") < 99


# ---------------------------------------------------------------------------
# panics
# ---------------------------------------------------------------------------


def test_panic_in_child_leaves_run_as_same_object(gmp):
    err = ValueError("boom")
    child_id = []

    async def child():
        child_id.append(gosched.goid())
        raise err

    async def main():
        go(child)
        await nilchan.recv()  # only the panic can end this program

    with pytest.raises(ValueError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert ei.value is err
    note = panic_note(err)
    assert note.startswith("panic: ")
    assert "boom" in note.splitlines()[0]
    assert f"\ngoroutine {child_id[0]} [running]:\n" in note
    assert re.search(
        rf"^created by {re.escape(__name__)}\.\S*main in goroutine 1$", note, re.MULTILINE
    ), note


def test_panic_names_the_creating_goroutine(gmp):
    err = KeyError("deep")
    ids = {}

    async def grandchild():
        ids["grandchild"] = gosched.goid()
        raise err

    async def child():
        ids["child"] = gosched.goid()
        go(grandchild)
        await nilchan.recv()

    async def main():
        go(child)
        await nilchan.recv()

    with pytest.raises(KeyError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert ei.value is err
    note = panic_note(err)
    assert f"\ngoroutine {ids['grandchild']} [running]:\n" in note
    assert re.search(rf"^created by \S*child in goroutine {ids['child']}$", note, re.MULTILINE), (
        note
    )


def test_panic_in_main(gmp):
    err = ZeroDivisionError("in main")

    async def main():
        await gosched.sleep(0)
        raise err

    with pytest.raises(ZeroDivisionError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert ei.value is err
    note = panic_note(err)
    assert "\ngoroutine 1 [running]:" in note
    assert "created by" not in note


@pytest.mark.timeout(10)
def test_panic_in_plain_function_goroutines(gmp):
    err = OSError("sync boom")

    def child():
        raise err

    def main():
        go(child)
        gosched.block_on(nilchan.recv())

    with pytest.raises(OSError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert ei.value is err
    assert "created by" in panic_note(err)


@pytest.mark.timeout(10)
def test_panic_while_plain_main_is_blocked(gmp):
    """A plain-function main blocked in block_on must not keep a panic from ending run."""
    err = ValueError("boom while main waits")

    async def child():
        raise err

    def main():
        go(child)
        gosched.block_on(gosched.sleep(3600))
        return "main finished"

    with pytest.raises(ValueError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert ei.value is err


def test_panic_closes_parked_goroutines(gmp, wait_blocked):
    cleaned = []
    err = RuntimeError("stop everything")

    async def parked():
        try:
            await Chan().recv()
        finally:
            cleaned.append("parked")

    async def main():
        go(parked)
        await wait_blocked("chan receive")
        raise err

    with pytest.raises(RuntimeError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert ei.value is err
    assert cleaned == ["parked"]


# ---------------------------------------------------------------------------
# goroutines abandoned when main returns
# ---------------------------------------------------------------------------


def test_abandoned_goroutines_finally_blocks_run_before_run_returns(gmp):
    cleaned = []
    kinds = ["recv", "send", "select", "sleep", "nil", "nocases", "for"]

    async def blocked(kind, started):
        try:
            await started.send(kind)
            ch = Chan()
            if kind == "recv":
                await ch.recv()
            elif kind == "send":
                await ch.send(1)
            elif kind == "select":
                await select(ch.recv, (Chan().send, 2))
            elif kind == "sleep":
                await gosched.sleep(3600)
            elif kind == "nil":
                await nilchan.recv()
            elif kind == "nocases":
                await select()
            else:
                async for _ in ch:
                    pass
        finally:
            cleaned.append(kind)

    async def main():
        started = Chan(len(kinds))
        for kind in kinds:
            go(blocked, kind, started)
        for _ in kinds:
            await started.recv()
        await gosched.sleep(0.01)  # let them block (not needed for correctness)
        return "done"

    assert gosched.run(main, gomaxprocs=gmp) == "done"
    assert sorted(cleaned) == sorted(kinds)


def test_sync_goroutines_blocked_at_exit_unwind_before_run_returns(gmp, wait_blocked):
    """A sync goroutine parked in block_on when main returns gets block_on's
    RuntimeError; run waits for its finally block (regression: it could run
    after run had returned, even inside the next run)."""
    log = []

    def blocked(ch):
        try:
            gosched.block_on(ch.recv())
        except RuntimeError as e:
            log.append(str(e))
        finally:
            time.sleep(0.01)  # slow cleanup: run must still wait for it
            log.append("finally")

    async def main():
        for _ in range(3):
            go(blocked, Chan())
        await wait_blocked("chan receive", 3)

    gosched.run(main, gomaxprocs=gmp)
    assert log.count("finally") == 3
    assert log.count("block_on: the gosched runtime has stopped") == 3


def test_a_goroutine_mid_step_on_another_m_is_closed_before_run_returns(monkeypatch):
    """main returns while an async goroutine computes on another M (a normal step,
    not a hog): run waits for its next await, where its M closes it, so its
    finally runs before run returns (it ran later, even inside the next run).
    main is a sync goroutine here, so that the worker runs on another M."""
    import gosched.runtime.main as rtmain
    from gosched.runtime.runtime2 import sched

    monkeypatch.setattr(rtmain, "SHUTDOWN_GRACE", 60.0)  # the step below is 20 ms
    log = []
    stepping = threading.Event()

    async def worker():
        try:
            while True:
                stepping.set()
                while not sched.exiting:  # main is returning: be mid-step then
                    time.sleep(0)
                end = time.monotonic() + 0.02
                while time.monotonic() < end:
                    pass
                await gosched.gosched()
        finally:
            log.append("finally")

    def main():
        go(worker)
        stepping.wait()
        return threading.get_ident()

    assert gosched.run(main, gomaxprocs=2) == threading.get_ident()
    assert log == ["finally"]


def test_blocking_inside_abandoned_finally_raises_runtime_error(gmp, wait_blocked):
    log = []
    buf = Chan(1)

    async def abandoned():
        try:
            await Chan().recv()
        finally:
            await buf.send("non-blocking ops still work")
            for name, op in [
                ("recv", lambda: Chan().recv()),
                ("sleep", lambda: gosched.sleep(1)),
                ("select", lambda: select(Chan().recv)),
            ]:
                try:
                    await op()
                except RuntimeError as e:
                    log.append((name, isinstance(e, gosched.ClosedChannelError)))
            log.append("finally done")

    async def main():
        go(abandoned)
        await wait_blocked("chan receive")

    gosched.run(main, gomaxprocs=gmp)
    assert log == [("recv", False), ("sleep", False), ("select", False), "finally done"]
    assert len(buf) == 1


def test_unbuffered_channel_in_next_run_never_wakes_old_receiver(gmp, headers, wait_blocked):
    ch = Chan()
    got = []

    async def receiver():
        try:
            got.append(await ch.recv())
        finally:
            got.append("finally")

    async def run1():
        go(receiver)
        await wait_blocked("chan receive")

    gosched.run(run1, gomaxprocs=gmp)
    assert got == ["finally"]

    async def run2():
        idx, _ = await select((ch.send, "probe"), default)
        assert idx == 1  # nobody is receiving
        await ch.send("value")

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(run2, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    assert headers(ei.value.dump) == {1: "chan send"}
    assert got == ["finally"]


def test_buffered_channel_in_next_run_never_takes_old_senders_value(gmp, headers, wait_blocked):
    ch = Chan(1)

    async def sender():
        await ch.send("old")

    async def run1():
        await ch.send("buffered")
        go(sender)
        await wait_blocked("chan send")

    gosched.run(run1, gomaxprocs=gmp)
    assert len(ch) == 1

    async def run2():
        first = await ch.recv()
        idx, _ = await select(ch.recv, default)
        assert len(ch) == 0
        return first, idx

    assert gosched.run(run2, gomaxprocs=gmp) == ("buffered", 1)

    async def run3():
        await ch.recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(run3, gomaxprocs=gmp)
    assert headers(ei.value.dump) == {1: "chan receive"}


def test_code_left_running_by_a_stopped_run_can_wake_the_next_runs_goroutines(gmp):
    """A sync goroutine still in user code when its run stops is not waited for (Go
    would not wait either). If it then closes a channel a goroutine of the next run
    waits on, that goroutine wakes; it used to be marked runnable and queued nowhere,
    and the next run died with "checkdead: runnable g"."""
    shared = Chan()
    go_on = threading.Event()
    left = []

    def straggler():
        go_on.wait(10)
        time.sleep(0.02)  # let the next run's main park first (either order must work)
        left.append("closing")  # before: run may return as soon as close wakes main
        shared.close()

    async def first():
        go(straggler)
        await gosched.sleep(0.005)

    async def second():
        go_on.set()
        i, v = await gosched.select(shared.recv_ok, gosched.after(10).recv)
        return i, v

    gosched.run(first, gomaxprocs=gmp)
    assert gosched.run(second, gomaxprocs=gmp) == (0, (None, False))
    assert left == ["closing"]


def test_select_in_next_run_never_wakes_old_select(gmp, wait_blocked):
    a, b = Chan(), Chan()
    got = []

    async def selector():
        got.append(await select(a.recv, b.recv))

    async def run1():
        go(selector)
        await wait_blocked("select")

    gosched.run(run1, gomaxprocs=gmp)

    async def run2():
        return [await select((a.send, 1), (b.send, 2), default) for _ in range(3)]

    assert gosched.run(run2, gomaxprocs=gmp) == [(2, None)] * 3
    assert got == []


def test_unstarted_goroutines_never_run_later(gmp):
    ran = []

    async def child(i):
        ran.append(i)

    async def run1():
        for i in range(50):
            go(child, i)

    gosched.run(run1, gomaxprocs=gmp)
    snapshot = list(ran)

    async def run2():
        for _ in range(20):
            await gosched.gosched()
        await gosched.sleep(0.01)

    gosched.run(run2, gomaxprocs=gmp)
    assert ran == snapshot


def test_finished_run_keeps_nothing_of_its_goroutines_alive(gmp, wait_blocked):
    """Abandoned, finished and never-started goroutines, and a pending timer: once
    run returns, nothing they reference is kept alive (not until the next run)."""

    class Payload:
        pass

    refs = []

    def payload():
        obj = Payload()
        refs.append(weakref.ref(obj))
        return obj

    async def main():
        for kind in ("parked", "finished", "unstarted", "timer"):
            obj = payload()

            async def child(obj=obj, kind=kind):
                if kind == "parked":
                    await Chan().recv()

            if kind == "timer":
                gosched.after_func(3600, child)
            else:
                go(child)
                if kind == "parked":
                    await wait_blocked("chan receive")
                elif kind == "finished":
                    await gosched.sleep(0.001)
            del obj, child

    gosched.run(main, gomaxprocs=gmp)
    gc.collect()
    assert [r() for r in refs] == [None] * 4


def test_no_warnings_for_abandoned_goroutines(gmp, capfd, wait_blocked):
    async def child():
        await Chan().recv()

    async def main():
        for _ in range(10):
            go(child)
        await wait_blocked("chan receive", 10)
        for _ in range(10):
            go(child)  # never started

    capfd.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gosched.run(main, gomaxprocs=gmp)
        gc.collect()
    assert [str(w.message) for w in caught] == []
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


# ---------------------------------------------------------------------------
# goexit
# ---------------------------------------------------------------------------


def test_goexit_is_a_base_exception():
    assert issubclass(gosched.Goexit, BaseException)
    assert not issubclass(gosched.Goexit, Exception)


def test_goexit_runs_finally_and_others_continue(gmp):
    log = []

    def helper():
        gosched.goexit()

    async def child():
        try:
            try:
                helper()
            except Exception:
                log.append("goexit caught by except Exception")
            log.append("after goexit")
        finally:
            log.append("child finally")

    def sync_child():
        try:
            gosched.goexit()
        finally:
            log.append("sync child finally")

    async def main():
        go(child)
        go(sync_child)
        while gosched.num_goroutine() > 1:
            await gosched.sleep(0.001)
        log.append("main continues")
        return "ok"

    assert gosched.run(main, gomaxprocs=gmp) == "ok"
    assert sorted(log) == ["child finally", "main continues", "sync child finally"]
    assert log[-1] == "main continues"


def test_main_goexit_ends_in_deadlock_after_others_finish(gmp):
    log = []
    main_exited = Chan()

    async def worker():
        await main_exited.recv()  # runs on after main is gone
        await gosched.sleep(0.01)
        log.append("worker done")

    async def main():
        go(worker)
        try:
            gosched.goexit()
        finally:
            log.append("main finally")
            main_exited.close()
        log.append("unreachable")

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == GOEXIT_DEADLOCK
    assert ei.value.dump == ""  # no goroutine is left to dump
    assert isinstance(ei.value, RuntimeError)
    assert log == ["main finally", "worker done"]


def test_main_goexit_with_blocked_goroutine_is_an_ordinary_deadlock(gmp, headers):
    ids = []

    async def stuck():
        ids.append(gosched.goid())
        await Chan().recv()

    async def main():
        go(stuck)
        gosched.goexit()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    assert headers(ei.value.dump) == {ids[0]: "chan receive"}


def test_main_goexit_then_panic_reports_the_panic(gmp):
    err = ValueError("after main goexit")

    async def worker():
        await gosched.sleep(0.001)
        raise err

    async def main():
        go(worker)
        gosched.goexit()

    with pytest.raises(ValueError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert ei.value is err


def test_main_goexit_survives_a_recovered_panic_during_it(gmp):
    """Go resumes a Goexit once a panic raised during it is recovered
    (TestRecoverBeforePanicAfterGoexit): main still ends as by Goexit."""
    def body():
        try:
            try:
                gosched.goexit()
            finally:
                raise ValueError("hello")
        except ValueError:
            pass  # recover()
        return "main returned"

    async def amain():
        return body()

    for main in (amain, body):  # an async main and a sync one
        with pytest.raises(gosched.Deadlock) as ei:
            gosched.run(main, gomaxprocs=gmp)
        assert str(ei.value) == GOEXIT_DEADLOCK

    async def returns():
        return "ok"

    assert gosched.run(returns, gomaxprocs=gmp) == "ok"  # the next run starts clean


def test_go_of_nil_is_fatal_and_unwinds_its_caller_past_except_exception(gmp):
    log = []

    async def main():
        try:
            go(None)
        except Exception:
            log.append("caught")
        log.append("went on")

    with pytest.raises(gosched.FatalError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == "go of nil func value"
    assert "goroutine 1 " in ei.value.dump
    assert log == []


def test_deep_stacks_are_elided_as_go_does(gmp):
    """Go prints a stack's innermost and outermost 50 frames and counts the rest."""
    async def down(n, ch):
        if n:
            await down(n - 1, ch)
        else:
            await ch.recv()

    async def main():
        await down(130, Chan())

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    lines = ei.value.dump.splitlines()
    assert lines[0] == "goroutine 1 [chan receive]:"
    frames = lines[1:]
    assert frames[100] == "...32 frames elided..."  # 132 frames: down x131 and main
    assert len(frames) == 201
    assert frames[-2] == f"{__name__}.test_deep_stacks_are_elided_as_go_does.<locals>.main(...)"


def test_a_multi_line_panic_value_is_indented(gmp):
    async def main():
        raise ValueError("first\nsecond\nthird")

    with pytest.raises(ValueError) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert ei.value.__notes__[0].startswith("panic: ValueError: first\n\tsecond\n\tthird\n\n")


# ---------------------------------------------------------------------------
# checkdead: deadlocks are found, and never reported falsely
# ---------------------------------------------------------------------------


def test_deadlock_main_receives_forever(gmp, headers):
    async def main():
        await Chan().recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert isinstance(ei.value, RuntimeError)
    assert str(ei.value) == DEADLOCK
    assert "goroutine 1 [chan receive]:" in ei.value.dump
    assert headers(ei.value.dump) == {1: "chan receive"}


def test_deadlock_dump_shows_every_goroutine_with_its_wait_reason(gmp, headers):
    ids = {}
    expected_reason = {
        "recv": "chan receive",
        "recv_ok": "chan receive",
        "range": "chan receive",
        "send": "chan send",
        "full": "chan send",
        "select": "select",
        "nocases": "select (no cases)",
        "nilrecv": "chan receive (nil chan)",
        "nilsend": "chan send (nil chan)",
        # Go compiles a select with one case and no default to the plain operation.
        "select1recv": "chan receive",
        "select1send": "chan send",
        "select1nil": "chan receive (nil chan)",
    }

    async def blocked(kind):
        ids[kind] = gosched.goid()
        ch = Chan()
        if kind == "recv":
            await ch.recv()
        elif kind == "recv_ok":
            await ch.recv_ok()
        elif kind == "range":
            async for _ in ch:
                pass
        elif kind == "send":
            await ch.send(1)
        elif kind == "full":
            full = Chan(1)
            await full.send(1)
            await full.send(2)
        elif kind == "select":
            await select(ch.recv, (Chan().send, 1))
        elif kind == "nocases":
            await select()
        elif kind == "nilrecv":
            await nilchan.recv()
        elif kind == "nilsend":
            await nilchan.send(1)
        elif kind == "select1recv":
            await select(ch.recv_ok)
        elif kind == "select1send":
            await select((ch.send, 1))
        elif kind == "select1nil":
            await select(nilchan.recv)

    async def main():
        for kind in expected_reason:
            go(blocked, kind)
        done = Chan()
        await done.recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    expected = {ids[kind]: reason for kind, reason in expected_reason.items()}
    expected[1] = "chan receive"
    assert headers(ei.value.dump) == expected


def test_deadlock_with_plain_function_main(gmp, headers):
    async def child(ch):
        await ch.send(1)  # nobody ever receives: main waits on another channel

    def main():
        go(child, Chan())
        gosched.block_on(Chan().recv())

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    hs = headers(ei.value.dump)
    # Go says "locked to thread" only after runtime.LockOSThread.
    assert hs.pop(1) == "chan receive"
    assert list(hs.values()) == ["chan send"]


def test_deadlock_after_workers_finish(gmp, headers):
    async def worker(out, i):
        await out.send(i)

    async def main():
        out = Chan()
        for i in range(10):
            go(worker, out, i)
        for _ in range(11):  # one more than will ever come
            await out.recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    assert headers(ei.value.dump) == {1: "chan receive"}


def test_deadlock_after_timers_expire(gmp, headers):
    async def main():
        await gosched.sleep(0.01)
        ch = Chan()
        gosched.after_func(0.01, lambda: None)
        await ch.recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert headers(ei.value.dump) == {1: "chan receive"}


@pytest.mark.timeout(10)
def test_stopped_timers_do_not_hide_a_deadlock(gmp, headers):
    async def main():
        t = gosched.Timer(3600)
        assert t.stop() is True
        gosched.after_func(3600, lambda: None).stop()
        tick = gosched.Ticker(3600)
        tick.stop()
        await Chan().recv()

    with pytest.raises(gosched.Deadlock) as ei:
        gosched.run(main, gomaxprocs=gmp)
    assert str(ei.value) == DEADLOCK
    assert headers(ei.value.dump) == {1: "chan receive"}


def test_deadlock_found_while_another_m_sleeps_for_a_stopped_timer():
    """With two Ps the idle M may compute its poll timeout from a timer that main
    stops a moment later, and then sleep in the poller for it; that M counts as
    idle, so main blocking still ends in Go's deadlock error (regression: on the
    free-threaded build about one run in 300 hung instead)."""

    async def main():
        gosched.Timer(3600).stop()
        gosched.after_func(3600, lambda: None).stop()
        await Chan().recv()

    for _ in range(300):
        with pytest.raises(gosched.Deadlock):
            gosched.run(main, gomaxprocs=2)


def test_sleeping_goroutine_is_not_a_deadlock(gmp):
    async def sleeper(ch):
        await gosched.sleep(0.05)
        await ch.send("woke")

    async def main():
        ch = Chan()
        go(sleeper, ch)
        return await ch.recv()  # every goroutine but the sleeper is blocked

    assert gosched.run(main, gomaxprocs=gmp) == "woke"


def test_main_sleeping_is_not_a_deadlock(gmp):
    async def stuck():
        await nilchan.recv()

    async def main():
        go(stuck)  # a goroutine blocked forever does not matter
        await gosched.sleep(0.02)
        return "slept"

    assert gosched.run(main, gomaxprocs=gmp) == "slept"


def test_pending_after_func_is_not_a_deadlock(gmp):
    async def main():
        ch = Chan()

        async def fire():
            await ch.send("fired")

        gosched.after_func(0.03, fire)
        return await ch.recv()

    assert gosched.run(main, gomaxprocs=gmp) == "fired"


def test_pending_timer_channel_is_not_a_deadlock(gmp):
    async def main():
        t = gosched.Timer(0.02)
        v = await t.c.recv()
        tick = gosched.Ticker(0.01)
        w = await tick.c.recv()
        tick.stop()
        return type(v), type(w)

    assert gosched.run(main, gomaxprocs=gmp) == (float, float)


def test_timers_years_away_or_infinite_are_waited_for_not_fatal(gmp):
    """Go's netpoll caps one wait at 1e9 ms; passing the whole delay to the OS
    raised OverflowError out of run once the next timer was 25 days away."""

    async def main():
        ch = Chan()

        async def sleeper(d):
            await gosched.sleep(d)

        go(sleeper, float("inf"))
        go(sleeper, 10 * 365 * 86400.0)

        def later():
            time.sleep(0.05)  # everything is parked by now: an M waits in the poller
            gosched.block_on(ch.send("woken"))

        threading.Thread(target=later).start()
        _, v = await select(ch.recv, gosched.after(40 * 86400.0).recv)
        return v

    assert gosched.run(main, gomaxprocs=gmp) == "woken"


def test_running_sync_goroutine_is_not_a_deadlock(gmp):
    def busy(ch):
        time.sleep(0.05)  # a blocking call in a sync goroutine: an M is running
        gosched.block_on(ch.send("from sync"))

    async def in_syscall(ch):
        await gosched.syscall(time.sleep, 0.05)
        await ch.send("from syscall")

    async def main():
        ch = Chan()
        go(busy, ch)
        go(in_syscall, ch)
        return sorted([await ch.recv(), await ch.recv()])

    assert gosched.run(main, gomaxprocs=gmp) == ["from sync", "from syscall"]


def test_foreign_thread_is_not_a_deadlock(gmp):
    async def main():
        ready, ch = Chan(), Chan()

        def thread():
            gosched.block_on(ready.send(None))
            time.sleep(0.05)
            gosched.block_on(ch.send("from thread"))

        t = threading.Thread(target=thread)
        t.start()
        await ready.recv()
        v = await ch.recv()
        await gosched.syscall(t.join)
        return v

    assert gosched.run(main, gomaxprocs=gmp) == "from thread"



def test_a_thread_started_before_run_may_still_send(gmp):
    """A producer thread started before run, which sends through block_on once
    the goroutines wait for it: not a deadlock (it was reported as one). A
    daemon thread from before the run is background machinery and does not
    keep a real deadlock from being reported."""
    ch = Chan()
    go_on = threading.Event()

    def producer():
        go_on.wait()
        time.sleep(0.05)  # main is blocked in recv meanwhile
        gosched.block_on(ch.send("from an older thread"))

    t = threading.Thread(target=producer)
    t.start()

    async def main():
        go_on.set()
        return await ch.recv()

    assert gosched.run(main, gomaxprocs=gmp) == "from an older thread"
    t.join()

    idle = threading.Event()
    background = threading.Thread(target=idle.wait, daemon=True)
    background.start()

    async def stuck():
        await Chan().recv()

    try:
        with pytest.raises(gosched.Deadlock):
            gosched.run(stuck, gomaxprocs=gmp)
    finally:
        idle.set()
        background.join()


def test_thread_reusing_the_ident_of_a_thread_older_than_run_still_counts(gmp):
    """Daemon threads that existed before ``run`` are ignored by the deadlock check,
    but a thread started during the run may get the ident of one that has exited
    since (pthread idents are reused): it must still count as a possible waker
    (regression: back-to-back runs ended in false deadlocks)."""

    def once() -> bool:
        go_on = threading.Event()
        old = threading.Thread(target=go_on.wait)
        old.start()

        async def main():
            go_on.set()
            await gosched.syscall(old.join)
            ch = Chan()

            def thread():
                time.sleep(0.02)  # everyone else is blocked meanwhile
                gosched.block_on(ch.send(threading.get_ident()))

            t = threading.Thread(target=thread)
            t.start()
            ident = await ch.recv()
            await gosched.syscall(t.join)
            return ident

        return gosched.run(main, gomaxprocs=gmp) == old.ident

    reused = sum(once() for _ in range(10))
    if not reused:
        pytest.skip("no thread ident was reused in 10 tries: the case never arose here")


# ---------------------------------------------------------------------------
# num_goroutine, goid, stack, gomaxprocs
# ---------------------------------------------------------------------------


def test_foreign_thread_goroutine_shows_only_inside_block_on(gmp):
    """A plain thread runs a goroutine only while in ``block_on``: ``goid()`` is 0
    before and after, and once the thread is gone ``num_goroutine`` is back to 1."""

    async def main():
        seen = []

        async def inside():
            seen.append(gosched.goid())

        def thread():
            seen.append(gosched.goid())
            gosched.block_on(inside())
            seen.append(gosched.goid())

        t = threading.Thread(target=thread)
        t.start()
        await gosched.syscall(t.join)
        while gosched.num_goroutine() != 1:  # the thread's M is dropped as it ends
            await gosched.sleep(0.001)
        return seen

    before, inside, after = gosched.run(main, gomaxprocs=gmp)
    assert (before, after) == (0, 0) and inside > 1


def test_num_goroutine(gmp, wait_blocked):
    async def main():
        counts = [gosched.num_goroutine()]
        block = Chan()

        async def waiter():
            await block.recv()

        for _ in range(10):
            go(waiter)
        counts.append(gosched.num_goroutine())
        await wait_blocked("chan receive", 10)
        counts.append(gosched.num_goroutine())
        block.close()
        while gosched.num_goroutine() > 1:
            await gosched.sleep(0.001)
        counts.append(gosched.num_goroutine())
        return counts

    assert gosched.run(main, gomaxprocs=gmp) == [1, 11, 11, 1]


def test_goid(gmp):
    async def main():
        ids = Chan(20)

        async def child():
            await ids.send(gosched.goid())

        def sync_child():
            gosched.block_on(ids.send(gosched.goid()))

        for i in range(20):
            go(child if i % 2 else sync_child)
        children = [await ids.recv() for _ in range(20)]
        thread_ids = []
        t = threading.Thread(target=lambda: thread_ids.append(gosched.goid()))
        t.start()
        await gosched.syscall(t.join)
        return gosched.goid(), children, thread_ids

    main_id, children, thread_ids = gosched.run(main, gomaxprocs=gmp)
    assert main_id == 1
    assert len(set(children)) == 20
    assert all(g > 1 for g in children)
    assert thread_ids == [0]
    assert gosched.goid() == 0


def test_stack_of_a_parked_goroutine(gmp, wait_blocked):
    ids = {}

    async def parked(ch):
        ids["parked"] = gosched.goid()
        await ch.recv()  # parked-here

    async def main():
        ch = Chan()
        go(parked, ch)  # go-parked
        await wait_blocked("chan receive")
        dump = gosched.stack()
        ch.close()
        return dump

    dump = gosched.run(main, gomaxprocs=gmp)
    expected = "\n".join(
        [
            f"goroutine {ids['parked']} [chan receive]:",
            f"{__name__}.{parked.__qualname__}(...)",
            f"\t{__file__}:{marker_line('parked-here')}",
            f"created by {__name__}.{main.__qualname__} in goroutine 1",
            f"\t{__file__}:{marker_line('go-parked')}",
        ]
    )
    assert dump.startswith("goroutine 1 [running]:\n")
    blocks = dump.rstrip("\n").split("\n\n")
    assert len(blocks) == 2
    assert blocks[1] == expected


def test_minutes_blocked_come_from_sysmon_stamps_and_end_when_the_goroutine_runs(
        gmp, headers, wait_blocked):
    """Go prints ", N minutes" once a block has been observed (by the GC; here
    by sysmon's stamps), and execute resets the stamp: a goroutine that blocks
    again after running starts from zero."""
    from gosched.runtime.sysmon import stampwaitsince
    from gosched.runtime.timers import nanotime

    async def main():
        ch, ack = Chan(), Chan()

        async def waiter():
            while True:
                await ch.recv()
                await ack.send(None)

        go(waiter)
        await wait_blocked("chan receive")
        stampwaitsince(nanotime() - 150)  # as if sysmon had seen it blocked 2.5 minutes ago
        before = headers(gosched.stack())
        await ch.send(1)
        await ack.recv()
        await wait_blocked("chan receive")
        return before, headers(gosched.stack())

    before, after = gosched.run(main, gomaxprocs=gmp)
    assert before == {1: "running", 6: "chan receive, 2 minutes"}
    assert after == {1: "running", 6: "chan receive"}


def test_stack_of_goroutines_that_have_not_started():
    """Go shows a goroutine that has not run yet at its function's entry. A sync
    one was "[runnable]" with "running on other thread; stack unavailable"."""

    def work():
        pass

    async def awork():
        pass

    async def main():
        go(work)
        go(awork)
        return gosched.stack()

    dump = gosched.run(main, gomaxprocs=1)
    for name, fn in (("work", work), ("awork", awork)):
        line = fn.__code__.co_firstlineno
        assert re.search(rf"^goroutine \d+ \[runnable\]:\n\S+\.{name}\(\.\.\.\)\n"
                         rf"\t\S+test_run\.py:{line}\ncreated by ", dump, re.MULTILINE), dump
    assert "unavailable" not in dump


def test_stack_of_a_sync_goroutine_running_a_coroutine_through_block_on():
    """Both the coroutine block_on drives and the sync function that called it
    are the goroutine's frames (the sync function's were dropped)."""
    inside, release = threading.Event(), threading.Event()

    async def work():
        inside.set()
        while not release.is_set():  # running, on the sync goroutine's thread
            time.sleep(0.001)

    def syncg():
        gosched.block_on(work())

    async def main():
        go(syncg)
        await gosched.syscall(inside.wait)
        try:
            return gosched.stack()
        finally:
            release.set()

    dump = gosched.run(main, gomaxprocs=1)
    block = next(b for b in dump.split("\n\n") if "syncg" in b)
    names = re.findall(r"^\S+\.(\w+)\(\.\.\.\)$", block, re.MULTILINE)
    assert names == ["work", "syncg"], block


def test_stack_from_a_sync_goroutine_calls_it_running(gmp, headers):
    """Go's runtime.Stack prints its caller as [running]; a sync goroutine is in
    a system call as far as the scheduler knows."""

    def main():
        ch = Chan(1)

        def worker():
            gosched.block_on(ch.send(gosched.stack(all=False)))

        go(worker)
        return gosched.stack(all=False), gosched.block_on(ch.recv())

    own, worker = gosched.run(main, gomaxprocs=gmp)
    assert own.startswith("goroutine 1 [running]:\n"), own
    assert list(headers(worker).values()) == ["running"], worker


def test_stack_of_the_running_goroutine_has_only_its_own_frames(gmp):
    def helper():
        return gosched.stack(all=False)  # stack-call

    async def main():
        return helper()  # helper-call

    s = gosched.run(main, gomaxprocs=gmp)
    assert s == "\n".join(
        [
            "goroutine 1 [running]:",
            f"{__name__}.{helper.__qualname__}(...)",
            f"\t{__file__}:{marker_line('stack-call')}",
            f"{__name__}.{main.__qualname__}(...)",
            f"\t{__file__}:{marker_line('helper-call')}",
            "",
        ]
    )


def test_dump_lists_goroutines_in_allgs_order(wait_blocked):
    """Go's tracebackothers walks allgs: a goroutine that reuses a dead G's struct
    is listed in that G's place, before goroutines created after the struct was.
    (One P: the reuse comes from that P's free list.)"""
    ids = []

    async def main():
        c = Chan()

        async def quick():
            await c.recv()

        async def block():
            ids.append(gosched.goid())
            await Chan().recv()

        go(quick)  # on a new G
        go(block)  # on a new G
        await wait_blocked("chan receive", 2)
        await c.send(None)  # quick exits: its G goes to the free list
        while gosched.num_goroutine() > 2:
            await gosched.gosched()
        go(block)  # on quick's G
        await wait_blocked("chan receive", 2)
        return [line for line in gosched.stack().splitlines() if line.startswith("goroutine ")]

    headers = gosched.run(main, gomaxprocs=1)
    first, reusing = ids
    assert reusing > first
    assert headers == [
        "goroutine 1 [running]:",
        f"goroutine {reusing} [chan receive]:",
        f"goroutine {first} [chan receive]:",
    ]


def test_stack_shows_wait_reasons(gmp, headers, wait_blocked):
    ids = {}

    async def sleeper():
        ids["sleep"] = gosched.goid()
        await gosched.sleep(3600)

    async def selector():
        ids["select"] = gosched.goid()
        await select(Chan().recv, Chan().recv)

    async def sender():
        ids["chan send"] = gosched.goid()
        await Chan().send(1)

    async def main():
        for f in (sleeper, selector, sender):
            go(f)
        for status in ("sleep", "select", "chan send"):
            await wait_blocked(status)
        return gosched.stack()

    dump = gosched.run(main, gomaxprocs=gmp)
    assert headers(dump) == {1: "running", **{g: status for status, g in ids.items()}}


def test_gomaxprocs_get_and_set(gmp):
    async def main():
        seen = [gosched.gomaxprocs(), gosched.gomaxprocs(0)]
        seen.append(gosched.gomaxprocs(3))
        seen.append(gosched.gomaxprocs())
        seen.append(gosched.gomaxprocs(1))
        seen.append(gosched.gomaxprocs(-1))  # n < 1 only reads the setting
        seen.append(gosched.gomaxprocs())
        return seen

    assert gosched.run(main, gomaxprocs=gmp) == [gmp, gmp, gmp, 3, 3, 1, 1]


def test_gomaxprocs_needs_an_int(gmp):
    async def main():
        errors = []
        for bad in ("2", 2.5, None):
            with pytest.raises(TypeError) as ei:
                gosched.gomaxprocs(bad)
            errors.append(str(ei.value))
        return errors, gosched.gomaxprocs()

    errors, n = gosched.run(main, gomaxprocs=gmp)
    assert errors == ["gomaxprocs: n must be an int, not str",
                      "gomaxprocs: n must be an int, not float",
                      "gomaxprocs: n must be an int, not NoneType"]
    assert n == gmp


def test_gomaxprocs_outside_a_run(monkeypatch):
    """Outside a run, gomaxprocs() is what the next run would use by default (it
    was 0 before the first run and the last run's value after one); setting it
    there is an error, even to the last run's value."""
    monkeypatch.setenv("GOMAXPROCS", "3")
    assert gosched.gomaxprocs() == 3

    async def main():
        return gosched.gomaxprocs()

    assert gosched.run(main, gomaxprocs=2) == 2
    assert gosched.gomaxprocs() == 3
    for n in (2, 3):
        with pytest.raises(RuntimeError, match=r"called outside gosched\.run"):
            gosched.gomaxprocs(n)


def test_gomaxprocs_has_a_bound_instead_of_building_ps_forever(monkeypatch):
    """gomaxprocs(1 << 40) built Ps one by one and never returned. Above the
    limit (the number of Ms there can be) it is an error; from the environment
    the value is capped."""
    from gosched.runtime.runtime2 import MAX_GOMAXPROCS

    async def main():
        with pytest.raises(ValueError) as ei:
            gosched.gomaxprocs(1 << 40)
        return str(ei.value), gosched.gomaxprocs()

    assert gosched.run(main, gomaxprocs=1) == (
        f"gomaxprocs: {1 << 40} Ps is more than the limit of {MAX_GOMAXPROCS}", 1)
    with pytest.raises(ValueError, match=f"from 1 to {MAX_GOMAXPROCS}, got {1 << 40}"):
        gosched.run(main, gomaxprocs=1 << 40)
    monkeypatch.setenv("GOMAXPROCS", str(MAX_GOMAXPROCS + 1))

    async def procs():
        return gosched.gomaxprocs()

    assert gosched.run(procs) == MAX_GOMAXPROCS


@pytest.mark.timeout(120)
def test_concurrent_gomaxprocs_calls_take_turns(gmp):
    """Go's worldsema: two resizes at once each stopped the world and waited
    for the other's P forever."""

    async def main():
        wg = gosched.WaitGroup()

        def resizer(k):
            for i in range(30):
                gosched.gomaxprocs(1 + (i + k) % 3)
            wg.done()

        async def aresizer(k):
            for i in range(30):
                gosched.gomaxprocs(1 + (i + k) % 3)
                await gosched.gosched()
            wg.done()

        wg.add(4)
        go(resizer, 0)
        go(resizer, 1)
        go(aresizer, 2)
        go(aresizer, 0)
        await wg.wait()
        return gosched.gomaxprocs()

    assert gosched.run(main, gomaxprocs=gmp) in (1, 2, 3)


def test_a_stop_the_world_leaves_no_preemption_behind(monkeypatch):
    """Stopping the world asks every P to stop (preempt); once it restarts, that
    request is served. Left set, it sent the caller's runnext to the back of
    the queue, as if a time slice had ended (on 3.13t, where stack() stops the
    world, a go loop then ran in another order than Go's)."""
    import gosched.runtime.sysmon as sysmon
    from gosched.runtime import proc
    from gosched.runtime.runtime2 import sched, tls

    monkeypatch.setattr(sysmon, "FORCE_PREEMPT", 3600.0)  # no real time slice ends

    async def main():
        order = []

        async def f(i):
            order.append(i)

        go(f, 0)
        go(f, 1)  # runnext; 0 waits in the queue
        mp = tls.m
        with sched.worldsema:  # as gomaxprocs and (on 3.13t) stack() do
            own = proc.stopTheWorld(mp)
            proc.startTheWorld(mp, own)
        preempt = [pp.preempt for pp in sched.allp]
        await gosched.sleep(0.001)
        return preempt, order

    assert gosched.run(main, gomaxprocs=1) == ([False], [1, 0])


def test_gomaxprocs_resize_keeps_goroutines_and_timers(gmp):
    async def main():
        out = Chan()

        async def sleeper(i):
            await gosched.sleep(0.01 * (i % 3))
            await out.send(i)

        for i in range(30):
            go(sleeper, i)
        gosched.gomaxprocs(4)
        for i in range(30, 60):
            go(sleeper, i)
        gosched.gomaxprocs(1)
        got = sorted([await out.recv() for _ in range(60)])
        gosched.gomaxprocs(2)
        return got

    assert gosched.run(main, gomaxprocs=gmp) == list(range(60))


def test_gomaxprocs_default_and_environment(monkeypatch):
    async def main():
        return gosched.gomaxprocs()

    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    monkeypatch.delenv("GOMAXPROCS", raising=False)
    assert gosched.run(main) == (1 if gil else os.cpu_count())
    monkeypatch.setenv("GOMAXPROCS", "3")
    assert gosched.run(main) == 3
    assert gosched.run(main, gomaxprocs=2) == 2


@pytest.mark.parametrize(
    ("gogc", "during"),
    [
        (None, (True, 50_000)),
        ("200", (True, 100_000)),
        ("off", (False, None)),
        ("-1", (False, None)),  # Go: a negative GOGC turns the collector off
        ("OFF", (True, 50_000)),  # Go compares with "off" exactly; the rest is a number or 100
        (" 200", (True, 50_000)),
        ("+200", (True, 50_000)),
    ],
)
def test_gogc_sets_the_collector_for_the_run_and_restores_it(monkeypatch, gogc, during):
    import gc

    async def main():
        return gc.isenabled(), gc.get_threshold()[0] if gc.isenabled() else None

    if gogc is None:
        monkeypatch.delenv("GOGC", raising=False)
    else:
        monkeypatch.setenv("GOGC", gogc)
    before = gc.get_threshold(), gc.isenabled()
    assert gosched.run(main) == during
    assert (gc.get_threshold(), gc.isenabled()) == before


@pytest.mark.parametrize("env", [" 3", "3 ", "+3", "٣", "0", "-2", "3x", "99999999999"])
def test_gomaxprocs_environment_is_read_like_go(monkeypatch, env):
    """Go's atoi32: ASCII digits only, positive, within int32; anything else is the default."""

    async def main():
        return gosched.gomaxprocs()

    monkeypatch.delenv("GOMAXPROCS", raising=False)
    default = gosched.run(main)
    monkeypatch.setenv("GOMAXPROCS", env)
    assert gosched.run(main) == default


def test_a_panic_that_cannot_be_printed_or_noted_is_still_reraised_unchanged():
    class BadStr(Exception):
        def __str__(self):
            raise RuntimeError("str failed")

    bad = BadStr()
    odd = ValueError("v")
    odd.__notes__ = ("a tuple",)  # add_note refuses to add to it

    async def raise_(e):
        raise e

    with pytest.raises(BadStr) as ei:
        gosched.run(raise_, bad)
    assert ei.value is bad
    note = bad.__notes__[0]
    # Go's preprintpanics throws with what the printing panicked with.
    assert note.splitlines()[0] == "fatal error: panic while printing panic value: str failed"
    assert note.splitlines()[2] == "goroutine 1 [running]:"
    with pytest.raises(ValueError) as ei:
        gosched.run(raise_, odd)
    assert ei.value is odd and odd.__notes__ == ("a tuple",)


def test_a_handler_of_the_foreign_await_error_runs_as_its_goroutine(gmp):
    """The TypeError is thrown in from g0; its handler saw goid() 0 and no stack."""
    import asyncio

    seen = []

    async def main():
        try:
            await asyncio.sleep(0)
        except TypeError:
            seen.append((gosched.goid(), "goroutine 1 [running]:" in gosched.stack(False)))
            raise

    with pytest.raises(TypeError):
        gosched.run(main, gomaxprocs=gmp)
    assert seen == [(1, True)]


def test_awaiting_another_event_loops_awaitable_raises_at_the_await(gmp):
    """asyncio.sleep(0) yields None to whoever drives the coroutine; the scheduler used
    to fail on it with its own TypeError ('NoneType' object is not subscriptable)."""
    import asyncio
    import types

    @types.coroutine
    def yields(v):
        yield v

    async def child(what):
        await what

    def syncchild():
        gosched.block_on(asyncio.sleep(0))

    for label, main in [
        ("main", lambda: asyncio.sleep(0)),
        ("tuple", lambda: yields(("junk",))),
        ("child", lambda: child(asyncio.sleep(0))),
    ]:
        async def run_(make=main, label=label):
            if label == "child":
                go(make())
                await Chan().recv()
            else:
                await make()

        with pytest.raises(TypeError, match=r"^gosched: await of something that is not a gosched "
                                            r"operation"):
            gosched.run(run_, gomaxprocs=gmp)

    async def caught():
        try:
            gosched.block_on(asyncio.sleep(0))
        except RuntimeError:
            pass  # block_on from an async goroutine: the documented error
        done = Chan()

        def body():
            try:
                syncchild()
            except TypeError as e:  # thrown in at the await: block_on lets it be caught
                gosched.block_on(done.send(str(e)))

        go(body)
        return await done.recv()

    assert gosched.run(caught, gomaxprocs=gmp).startswith("gosched: await of something")


def test_errors_are_named_as_users_name_them():
    """Tracebacks said gosched.runtime.proc.Deadlock."""
    assert not issubclass(gosched.Deadlock, gosched.FatalError)  # two kinds, as before
    for cls, name in [(gosched.Deadlock, "gosched.Deadlock"),
                      (gosched.FatalError, "gosched.FatalError"),
                      (gosched.Goexit, "gosched.Goexit"),
                      (gosched.ClosedChannelError, "gosched.ClosedChannelError"),
                      (gosched.net.ErrClosed, "gosched.net.ErrClosed")]:
        assert f"{cls.__module__}.{cls.__qualname__}" == name
