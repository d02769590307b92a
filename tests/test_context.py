"""gosched.context: cancellation trees, deadlines, values.

Every behaviour test runs under gomaxprocs 1 and 2. Deadlines are inputs only: a test
waits for a deadline to fire, it never measures when it fired.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref

import pytest

import gosched
from gosched import Chan, context, go
from gosched.context import Canceled, DeadlineExceeded

PROCS = [1, 2]

pytestmark = pytest.mark.timeout(60)


def run(main, procs):
    return gosched.run(main, gomaxprocs=procs)


def test_background_and_todo():
    for ctx, name in ((context.background(), "context.Background"),
                      (context.todo(), "context.TODO")):
        assert ctx.done() is gosched.nilchan
        assert ctx.err() is None
        assert ctx.value("k") is None
        assert ctx.deadline() is None
        assert repr(ctx) == name
    assert context.background() is context.background()


def test_error_types_and_messages():
    assert str(Canceled()) == "context canceled"
    assert str(DeadlineExceeded()) == "context deadline exceeded"
    assert isinstance(DeadlineExceeded(), TimeoutError)
    assert not isinstance(Canceled(), TimeoutError)


@pytest.mark.parametrize("procs", PROCS)
def test_with_cancel(procs):
    async def main():
        ctx, cancel = context.with_cancel(context.background())
        assert ctx.err() is None
        assert ctx.deadline() is None
        done = ctx.done()
        assert done is ctx.done()
        woken = Chan(2)

        async def waiter():
            await ctx.done().recv()
            await woken.send(type(ctx.err()).__name__)

        go(waiter)
        go(waiter)
        cancel()
        cancel()  # idempotent
        got = [await woken.recv(), await woken.recv()]
        err = ctx.err()
        assert err is ctx.err()
        return got, str(err), await done.recv_ok(), repr(ctx)

    assert run(main, procs) == (["Canceled", "Canceled"], "context canceled", (None, False),
                                "context.Background.WithCancel")


@pytest.mark.parametrize("procs", PROCS)
def test_cancel_before_done_was_asked(procs):
    async def main():
        ctx, cancel = context.with_cancel(context.background())
        cancel()
        return await ctx.done().recv_ok(), str(ctx.err())

    assert run(main, procs) == ((None, False), "context canceled")


@pytest.mark.parametrize("procs", PROCS)
def test_cancellation_cascades_through_three_levels(procs):
    async def main():
        root, cancel_root = context.with_cancel(context.background())
        mid, cancel_mid = context.with_cancel(context.with_value(root, "user", "ann"))
        leaves = [context.with_timeout(mid, 3600), context.with_cancel(mid)]
        woken = Chan(10)

        async def waiter(name, ctx):
            await ctx.done().recv()
            await woken.send(name)

        go(waiter, "mid", mid)
        for i, (leaf, _) in enumerate(leaves):
            go(waiter, f"leaf{i}", leaf)
        await gosched.sleep(0.001)
        cancel_root()
        got = sorted([await woken.recv() for _ in range(3)])
        errs = {root.err(), mid.err(), leaves[0][0].err(), leaves[1][0].err()}
        for _, cancel in leaves:
            cancel()
        cancel_mid()
        # One cancel, one error shared by the whole subtree, as in Go.
        return got, len(errs), str(errs.pop()), leaves[0][0].value("user")

    assert run(main, procs) == (["leaf0", "leaf1", "mid"], 1, "context canceled", "ann")


@pytest.mark.parametrize("procs", PROCS)
def test_cancellation_never_propagates_up(procs):
    async def main():
        root, cancel_root = context.with_cancel(context.background())
        mid, cancel_mid = context.with_cancel(root)
        leaf, cancel_leaf = context.with_cancel(mid)
        sibling, cancel_sibling = context.with_cancel(root)
        cancel_leaf()
        assert leaf.err() is not None
        assert mid.err() is None and root.err() is None and sibling.err() is None
        cancel_mid()
        assert root.err() is None and sibling.err() is None
        cancel_root()
        assert str(sibling.err()) == "context canceled"
        cancel_sibling()
        return "ok"

    assert run(main, procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_canceled_children_are_detached(procs):
    """A canceled child is dropped from its parent: no reference to it remains."""

    async def main():
        parent, cancel_parent = context.with_cancel(context.background())
        refs = []
        for _ in range(100):
            child, cancel = context.with_cancel(parent)
            grandchild, cancel_gc = context.with_timeout(child, 3600)
            refs.append(weakref.ref(child))
            refs.append(weakref.ref(grandchild))
            cancel()  # cancels the grandchild too, and stops its timer
            del child, grandchild, cancel, cancel_gc
        # A stopped timer stays on its P's heap as a zombie entry until that P next
        # checks its timers; yielding lets it do so.
        for _ in range(100):
            await gosched.gosched()
            gc.collect()
            alive = sum(r() is not None for r in refs)
            if not alive:
                break
        assert parent.err() is None
        cancel_parent()
        return alive

    assert run(main, procs) == 0


@pytest.mark.parametrize("procs", PROCS)
def test_child_of_canceled_parent_is_canceled_at_once(procs):
    async def main():
        parent, cancel = context.with_cancel(context.background())
        cancel()
        child, cancel_child = context.with_cancel(parent)
        tchild, cancel_t = context.with_timeout(parent, 3600)
        vchild = context.with_value(parent, "k", 1)
        cancel_child()
        cancel_t()
        return [str(c.err()) for c in (child, tchild, vchild)], await child.done().recv_ok()

    assert run(main, procs) == (["context canceled"] * 3, (None, False))


@pytest.mark.parametrize("procs", PROCS)
def test_deadline_fires(procs):
    async def main():
        ctx, cancel = context.with_timeout(context.background(), 0.01)
        child, cancel_child = context.with_cancel(ctx)
        assert child.deadline() == ctx.deadline()
        await child.done().recv()
        err = ctx.err()
        cancel()  # after it fired: changes nothing
        cancel_child()
        return type(err).__name__, str(err), child.err() is err, isinstance(err, TimeoutError)

    assert run(main, procs) == ("DeadlineExceeded", "context deadline exceeded", True, True)


@pytest.mark.parametrize("procs", PROCS)
def test_deadline_rules(procs):
    async def main():
        now = time.monotonic()
        parent, cancel_parent = context.with_deadline(context.background(), now + 100)
        assert parent.deadline() == now + 100
        assert repr(parent).startswith("context.Background.WithDeadline(")
        later, cancel_later = context.with_deadline(parent, now + 200)
        assert later.deadline() == now + 100  # a later deadline is the parent's
        assert repr(later).endswith(".WithCancel")
        sooner, cancel_sooner = context.with_timeout(parent, 50)
        assert now + 49 < sooner.deadline() < now + 51
        with pytest.raises(ValueError, match="context: deadline is NaN"):
            context.with_deadline(parent, float("nan"))
        past, cancel_past = context.with_deadline(parent, now - 1)  # already passed
        assert str(past.err()) == "context deadline exceeded"
        cancel_past()
        assert str(past.err()) == "context deadline exceeded"  # the first error stays
        assert parent.err() is None
        for cancel in (cancel_later, cancel_sooner, cancel_parent):
            cancel()
        return "ok"

    assert run(main, procs) == "ok"


@pytest.mark.parametrize("procs", PROCS)
def test_select_on_done(procs):
    async def main():
        ctx, cancel = context.with_cancel(context.background())
        work = Chan()
        results = []

        async def worker():
            while True:
                i, v = await gosched.select(ctx.done().recv, work.recv)
                if i == 0:
                    results.append(str(ctx.err()))
                    return
                results.append(v)

        wg = gosched.WaitGroup()
        wg.go(worker)
        await work.send(1)
        await work.send(2)
        cancel()
        await wg.wait()
        i, _ = await gosched.select(ctx.done().recv, gosched.default)
        return results, i

    assert run(main, procs) == ([1, 2, "context canceled"], 0)


@pytest.mark.parametrize("procs", PROCS)
def test_canceled_context_stops_its_timer(procs):
    """After cancel, no timer is left: a program stuck forever is reported at once,
    instead of when an hour-long deadline would fire."""

    async def main():
        ctx, cancel = context.with_timeout(context.background(), 3600)
        context.with_deadline(ctx, time.monotonic() + 1800)
        cancel()
        await gosched.select()

    with pytest.raises(gosched.Deadlock) as ei:
        run(main, procs)
    assert "goroutine 1 [select (no cases)]:" in ei.value.dump


@pytest.mark.parametrize("procs", PROCS)
def test_values(procs):
    async def main():
        class Key:
            pass

        k = Key()
        ctx = context.with_value(context.background(), "a", 1)
        ctx = context.with_value(ctx, k, "obj")
        ctx, cancel = context.with_cancel(ctx)
        ctx = context.with_value(ctx, "a", 2)  # shadows the outer "a"
        ctx = context.with_value(ctx, 1, "int")
        out = [ctx.value("a"), ctx.value(k), ctx.value(Key()), ctx.value(1), ctx.value(True),
               ctx.value("missing"), repr(context.with_value(context.todo(), "x", 5)),
               str(context.with_value(context.background(), k, None))]
        cancel()
        assert ctx.value("a") == 2  # values survive cancellation
        with pytest.raises(TypeError, match="nil key"):
            context.with_value(ctx, None, 1)
        with pytest.raises(TypeError, match="key is not comparable"):
            context.with_value(ctx, ["unhashable"], 1)
        with pytest.raises(TypeError, match="cannot create context from nil parent"):
            context.with_cancel(None)
        return out

    assert run(main, procs) == [2, "obj", None, "int", None, None,
                                "context.TODO.WithValue(x, int)",
                                f"context.Background.WithValue({__name__}.Key, <nil>)"]


@pytest.mark.parametrize("procs", PROCS)
def test_foreign_parent_is_watched(procs):
    """A Context implementation of the user's own: a goroutine relays its cancellation."""

    class Mine(context.Context):
        def __init__(self):
            self.ch = Chan()
            self.canceled = False

        def done(self):
            return self.ch

        def err(self):
            return Canceled("mine canceled") if self.canceled else None

    async def main():
        parent = Mine()
        child, cancel = context.with_cancel(parent)
        grandchild, cancel_gc = context.with_cancel(child)
        parent.canceled = True
        parent.ch.close()
        await grandchild.done().recv()
        cancel()
        cancel_gc()
        # A child canceled first ends its watcher too.
        _, cancel_other = context.with_cancel(Mine())
        cancel_other()
        while gosched.num_goroutine() > 1:
            await gosched.sleep(0.0005)
        return str(child.err()), str(grandchild.err())

    assert run(main, procs) == ("mine canceled", "mine canceled")


def test_a_foreign_parent_is_named_by_its_str_else_its_type():
    """Go's contextName: the parent's String() if it has one, else its type."""
    class Plain(context.Context):
        pass

    class Named(context.Context):
        def __str__(self):
            return "custom"

    async def main():
        return [repr(context.with_cancel(p())[0]) for p in (Plain, Named)]

    assert run(main, 1) == [f"{__name__}.Plain.WithCancel", "custom.WithCancel"]


@pytest.mark.parametrize("procs", PROCS)
def test_from_sync_goroutine_and_thread(procs):
    async def main():
        ctx, cancel = context.with_cancel(context.background())
        got = Chan(2)

        def sync_waiter():
            gosched.block_on(ctx.done().recv())
            gosched.block_on(got.send("sync"))

        def thread_waiter():
            gosched.block_on(ctx.done().recv())
            gosched.block_on(got.send("thread"))

        go(sync_waiter)
        t = threading.Thread(target=thread_waiter)
        t.start()
        await gosched.sleep(0.002)
        cancel()
        out = sorted([await got.recv(), await got.recv()])
        await gosched.syscall(t.join)
        return out

    assert run(main, procs) == ["sync", "thread"]


def test_cancel_returns_only_once_the_whole_subtree_is_canceled():
    """Go cancels a subtree holding each node's lock until its children are done:
    a second canceler waits for the first one, and no cancel() returns while a
    descendant is still live. Here the first canceler of `mid` is stopped inside
    the walk (in a child's timer stop); the root's cancel, from another thread,
    used to skip the subtree it found canceled and return at once."""
    from gosched.context import _CancelCtx, _propagateCancel

    reached, proceed = threading.Event(), threading.Event()

    class StopsSlowly(_CancelCtx):
        __slots__ = ()

        def _stoptimer(self) -> None:
            reached.set()
            proceed.wait(30)

    root, cancel_root = context.with_cancel(context.background())
    mid, cancel_mid = context.with_cancel(root)
    children = [context.with_cancel(mid)[0] for _ in range(25)]
    slow = StopsSlowly(mid)
    _propagateCancel(mid, slow)
    children += [context.with_cancel(mid)[0] for _ in range(25)]
    seen = []

    def cancel_the_root() -> None:
        cancel_root()
        seen.extend(c.err() for c in children)  # right as cancel() returns

    first = threading.Thread(target=cancel_mid)
    first.start()
    assert reached.wait(30)
    second = threading.Thread(target=cancel_the_root)
    second.start()
    second.join(0.05)  # time for a wrong early return to happen; never needed to pass
    proceed.set()
    first.join(30)
    second.join(30)
    assert len(seen) == len(children)
    assert all(isinstance(e, Canceled) for e in seen), seen.count(None)


@pytest.mark.parametrize("procs", PROCS)
def test_a_deep_chain_does_not_exhaust_the_python_stack(procs):
    """Go's contexts delegate to their parents on goroutine stacks that grow; ours walk
    the chain in a loop (deadline, done and err of value contexts, and repr)."""

    async def main():
        c = context.background()
        for i in range(3 * sys.getrecursionlimit()):
            c = context.with_value(c, i, i) if i % 2 else context.with_cancel(c)[0]
        t, cancel = context.with_timeout(c, 60)
        out = [c.deadline(), c.err(), t.deadline() is not None, repr(c).count(".WithCancel")]
        cancel()
        return out

    assert run(main, procs) == [None, None, True, 3 * sys.getrecursionlimit() // 2]


@pytest.mark.parametrize("procs", PROCS)
def test_a_deadline_that_is_not_a_number_is_refused_before_the_child_exists(procs):
    async def main():
        parent, cancel = context.with_cancel(context.background())
        out = []
        for d in (None, "soon", True):
            with pytest.raises(TypeError) as ei:
                context.with_deadline(parent, d)
            out.append(str(ei.value))
        out.append(len(parent._children))  # nothing half-built left registered
        cancel()
        return out

    assert run(main, procs) == ["context: deadline must be a number, not NoneType",
                                "context: deadline must be a number, not str",
                                "context: deadline must be a number, not bool", 0]
