"""sysmon, system calls, sync goroutines and block_on (never frozen by a blocking call).

Progress is measured in round trips completed while something else blocks, never
in seconds: a test may fail only if other goroutines stop moving.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import gosched
from gosched import Chan, go
from gosched.runtime.runtime2 import _Prunning, sched


async def count_trips_until(done: Chan[object]) -> int:
    """Bounce a value between two goroutines until ``done`` has something."""
    ping: Chan[int] = Chan()
    pong: Chan[int] = Chan()

    async def ponger() -> None:
        while True:
            v = await ping.recv()
            if v is None:
                return
            await pong.send(v)

    go(ponger)
    trips = 0
    while True:
        i, _ = await gosched.select(done.recv, gosched.default)
        if i == 0:
            await ping.send(None)
            return trips
        await ping.send(trips)
        await pong.recv()
        trips += 1


def blocking_sleep() -> None:
    time.sleep(1.0)


def blocking_cpu() -> None:
    end = time.perf_counter() + 1.0
    x = 0
    while time.perf_counter() < end:
        x += 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize("block", [blocking_sleep, blocking_cpu], ids=["time.sleep", "cpu"])
def test_blocking_goroutine_does_not_freeze_the_others(block) -> None:
    """gomaxprocs=1: a goroutine blocks its thread for 1 s without any wrapper."""

    async def main() -> int:
        done: Chan[object] = Chan(1)
        started: Chan[object] = Chan(1)

        async def blocker() -> None:
            await started.send(True)
            block()
            await done.send(True)

        go(blocker)
        await started.recv()
        await gosched.gosched()  # the blocker is now inside its blocking call
        return await count_trips_until(done)

    trips = gosched.run(main, gomaxprocs=1)
    assert trips >= 100, f"only {trips} round trips while another goroutine blocked"


@pytest.mark.timeout(30)
def test_retaken_hog_takes_an_idle_p_back() -> None:
    """gomaxprocs=1: sysmon moves the others off a hog's P; once they are done and
    the P is idle, the hog's next ``go`` takes the P back (exitsyscallfast_pidle),
    so the goroutine it starts lands in its own runnext, not the global queue."""
    from gosched.runtime.proc import tls

    async def main() -> tuple[bool, bool, int]:
        ran: list[int] = []

        async def note(v: int) -> None:
            ran.append(v)

        go(note, 1)  # other work: what makes the hog worth retaking
        mp = tls.m
        end = time.monotonic() + 20
        while (mp.lease or not sched.npidle) and time.monotonic() < end:
            pass  # hog, until sysmon has taken the P and the other M left it idle
        retaken = not mp.lease
        go(note, 2)
        back = len(mp.lease) == 1 and mp.p is not None and mp.p.status == _Prunning
        queued_locally = bool(mp.p.runnext) if back else False
        await gosched.gosched()
        while len(ran) < 2:
            await gosched.sleep(0.001)
        return retaken, back and queued_locally, sum(ran)

    assert gosched.run(main, gomaxprocs=1) == (True, True, 3)


async def hog_until_retaken(stop: list[bool]) -> bool:
    """Spin (never yield) until sysmon has moved this goroutine's P to another M.

    A goroutine that keeps yielding is the other work that makes the hog worth
    retaking, and it keeps the P busy afterwards (until ``stop``), so the hog
    stays without a P instead of taking an idle one back.
    """
    from gosched.runtime.proc import tls

    async def other_work() -> None:
        while not stop:
            await gosched.gosched()

    go(other_work)
    mp = tls.m
    end = time.monotonic() + 30
    while mp.lease and time.monotonic() < end:
        pass
    return not mp.lease


@pytest.mark.timeout(60)
def test_goroutines_started_by_a_retaken_hog_run_while_it_keeps_running() -> None:
    """gomaxprocs=1: once sysmon has moved the P away from a hog, the goroutines
    it starts go to the global queue without sched.lock (newproc). Another M runs
    them all while the hog never yields, and each gets its own goid."""
    n = 2000

    async def main() -> tuple[bool, int, int]:
        ran: list[int] = []
        stop: list[bool] = []

        async def note() -> None:
            ran.append(gosched.goid())

        retaken = await hog_until_retaken(stop)
        for _ in range(n):
            go(note)
        end = time.monotonic() + 30
        while len(ran) < n and time.monotonic() < end:
            pass  # hog on: only another M can run them
        stop.append(True)
        return retaken, len(ran), len(set(ran))

    assert gosched.run(main, gomaxprocs=1) == (True, n, n)


@pytest.mark.timeout(60)
def test_goroutines_woken_by_a_retaken_hog_run_while_it_keeps_running() -> None:
    """The same for goready: a hog without a P hands values to parked receivers
    (a send that never suspends); their Gs go to the global queue without
    sched.lock, and another M runs every one while the hog spins."""
    n = 500

    async def main() -> tuple[bool, list[int]]:
        ch: Chan[int] = Chan()
        got: list[int] = []
        stop: list[bool] = []

        async def receiver() -> None:
            got.append(await ch.recv())

        for _ in range(n):
            go(receiver)
        await gosched.sleep(0.01)  # every receiver is parked on ch
        retaken = await hog_until_retaken(stop)
        for i in range(n):
            await ch.send(i)  # a receiver waits: completes without suspending
        end = time.monotonic() + 30
        while len(got) < n and time.monotonic() < end:
            pass
        stop.append(True)
        return retaken, sorted(got)

    retaken, got = gosched.run(main, gomaxprocs=1)
    assert retaken
    assert got == list(range(n))


@pytest.mark.timeout(30)
def test_syscall_results_and_exceptions(gmp: int) -> None:
    def double(x: int) -> int:
        return 2 * x

    def fail() -> None:
        raise ValueError("bad call")

    async def main() -> tuple:
        r = await gosched.syscall(double, 21)
        with pytest.raises(ValueError, match="bad call"):
            await gosched.syscall(fail)
        kw = await gosched.syscall(dict, a=1)
        return r, kw

    assert gosched.run(main, gomaxprocs=gmp) == (42, {"a": 1})


@pytest.mark.timeout(30)
def test_fast_syscall_starts_no_thread() -> None:
    async def main() -> tuple[int, int]:
        before = sched.mnext
        for _ in range(1000):
            await gosched.syscall(len, "abc")
        return before, sched.mnext

    before, after = gosched.run(main, gomaxprocs=1)
    assert after == before, f"{after - before} Ms were created for fast system calls"


@pytest.mark.timeout(30)
def test_slow_syscall_lets_others_run() -> None:
    async def main() -> int:
        done: Chan[object] = Chan(1)

        async def caller() -> None:
            await gosched.syscall(time.sleep, 0.5)
            await done.send(True)

        go(caller)
        await gosched.gosched()
        return await count_trips_until(done)

    assert gosched.run(main, gomaxprocs=1) >= 50


@pytest.mark.timeout(30)
def test_sync_goroutine_results_and_block_on(gmp: int) -> None:
    async def main() -> list:
        ch: Chan[int | None] = Chan()

        def producer(n: int) -> None:
            for i in range(n):
                gosched.block_on(ch.send(i))
            gosched.block_on(gosched.sleep(0.01))
            gosched.block_on(ch.send(None))

        go(producer, 5)
        got = []
        async for v in _until_none(ch):
            got.append(v)
        return got

    assert gosched.run(main, gomaxprocs=gmp) == [0, 1, 2, 3, 4]


async def _until_none(ch: Chan):
    while (v := await ch.recv()) is not None:
        yield v


@pytest.mark.timeout(30)
def test_sync_goroutine_exception_is_a_panic(gmp: int) -> None:
    err = KeyError("from a sync goroutine")

    def bad() -> None:
        raise err

    async def main() -> None:
        go(bad)
        await gosched.select()

    with pytest.raises(KeyError) as info:
        gosched.run(main, gomaxprocs=gmp)
    assert info.value is err
    assert any(n.startswith("panic: KeyError") for n in info.value.__notes__)


@pytest.mark.timeout(30)
def test_plain_function_main_with_block_on(gmp: int) -> None:
    def main() -> str:
        ch: Chan[str] = Chan()

        async def hello() -> None:
            await ch.send("hi")

        go(hello)
        return gosched.block_on(ch.recv())

    assert gosched.run(main, gomaxprocs=gmp) == "hi"


@pytest.mark.timeout(30)
def test_block_on_from_a_plain_thread(gmp: int) -> None:
    async def main() -> list:
        ch: Chan[str] = Chan()
        got: list = []

        def thread() -> None:
            time.sleep(0.05)  # the main goroutine is already waiting: not a deadlock
            gosched.block_on(ch.send("from thread"))
            got.append(gosched.block_on(ch.recv()))

        t = threading.Thread(target=thread)
        t.start()
        first = await ch.recv()
        await ch.send("reply")
        await gosched.syscall(t.join)
        return [first, *got]

    assert gosched.run(main, gomaxprocs=gmp) == ["from thread", "reply"]


@pytest.mark.timeout(30)
def test_block_on_inside_async_goroutine_raises(gmp: int) -> None:
    async def main() -> str:
        ch: Chan[int] = Chan(1)
        with pytest.raises(RuntimeError) as info:
            gosched.block_on(ch.recv())
        return str(info.value)

    assert gosched.run(main, gomaxprocs=gmp) == (
        "block_on: called from an async goroutine; use await"
    )


def test_block_on_without_runtime_raises() -> None:
    ch: Chan[int] = Chan(1)
    with pytest.raises(RuntimeError, match="no gosched runtime is running"):
        gosched.block_on(ch.recv())


@pytest.mark.timeout(30)
def test_many_blocking_sync_goroutines_get_their_own_threads() -> None:
    """20 sync goroutines all blocked at once: the M count grows, nobody waits for a P."""
    n = 20

    async def main() -> int:
        barrier = threading.Barrier(n + 1)
        done: Chan[int] = Chan(n)

        def blocker(i: int) -> None:
            barrier.wait()  # would never return if the blockers ran one after another
            gosched.block_on(done.send(i))

        for i in range(n):
            go(blocker, i)
        await gosched.syscall(barrier.wait)
        return sorted([await done.recv() for _ in range(n)]) == list(range(n))

    assert gosched.run(main, gomaxprocs=1)


@pytest.mark.timeout(30)
def test_block_on_counts_as_running_until_its_park_commits() -> None:
    """A sync goroutine parking in block_on arms its wakeup (here a timer) in the
    park's unlock function. An M that goes idle before that must not find a
    deadlock: the parking M still counts as running. The unlock function below
    waits for M0 to go idle first, which makes the once-rare race certain."""
    import types

    from gosched.gotime import resetForSleep
    from gosched.runtime.proc import park_m
    from gosched.runtime.runtime2 import waitReasonSleep
    from gosched.runtime.timers import nanotime

    def arm_when_m0_idle(gp, when: float) -> bool:
        end = time.monotonic() + 10
        while gp is not None and not sched.nmidle and time.monotonic() < end:
            time.sleep(0.001)
        return resetForSleep(gp, when)

    @types.coroutine
    def slow_committing_sleep(d: float):
        yield (park_m, arm_when_m0_idle, nanotime() + d, waitReasonSleep)

    async def main() -> str:
        ch: Chan[str] = Chan()

        def sleeper() -> None:
            gosched.block_on(slow_committing_sleep(0.01))
            gosched.block_on(ch.send("woke"))

        go(sleeper)
        return await ch.recv()

    assert gosched.run(main, gomaxprocs=1) == "woke"


@pytest.mark.timeout(30)
def test_waiting_on_a_sync_goroutine_is_not_a_deadlock(gmp: int) -> None:
    async def main() -> str:
        ch: Chan[str] = Chan()

        def slow() -> None:
            time.sleep(0.2)
            gosched.block_on(ch.send("done"))

        go(slow)
        return await ch.recv()

    assert gosched.run(main, gomaxprocs=gmp) == "done"


@pytest.mark.timeout(30)
def test_waiting_on_a_syscall_is_not_a_deadlock(gmp: int) -> None:
    async def main() -> str:
        ch: Chan[str] = Chan()

        async def slow() -> None:
            await gosched.syscall(time.sleep, 0.2)
            await ch.send("done")

        go(slow)
        return await ch.recv()

    assert gosched.run(main, gomaxprocs=gmp) == "done"


@pytest.mark.timeout(30)
def test_deadlock_still_found_with_sync_goroutine_parked(gmp: int) -> None:
    async def main() -> None:
        ch: Chan[int] = Chan()

        def stuck() -> None:
            gosched.block_on(ch.recv())

        go(stuck)
        await ch.recv()

    with pytest.raises(gosched.Deadlock, match=r"^all goroutines are asleep - deadlock!$") as info:
        gosched.run(main, gomaxprocs=gmp)
    assert "[chan receive]:" in info.value.dump and "locked to thread" not in info.value.dump


@pytest.mark.timeout(30)
def test_thread_limit(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from gosched.runtime import proc

    monkeypatch.setattr(proc, "MAX_MCOUNT", 8)

    async def main() -> None:
        release = threading.Event()

        def blocker() -> None:
            release.wait(5)

        for _ in range(20):
            go(blocker)
        await gosched.sleep(1)

    with pytest.raises(gosched.FatalError, match=r"^thread exhaustion$"):
        gosched.run(main, gomaxprocs=1)
    assert "runtime: program exceeds 8-thread limit" in capsys.readouterr().err


def run_script(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


HOG = """
    import time, gosched
    def hog_for_a_while():
        end = time.perf_counter() + 0.4
        while time.perf_counter() < end:
            pass
    async def main():
        gosched.go(gosched.sleep, 0.01)
        hog_for_a_while()
    gosched.run(main, gomaxprocs=1)
"""


@pytest.mark.timeout(60)
def test_block_reporting_names_the_goroutine_and_its_stack() -> None:
    r = run_script(HOG, {"GOSCHED_BLOCKPROF": "100"})
    assert r.returncode == 0, r.stderr
    m = re.search(r"gosched: goroutine (\d+) has run for (\d+)ms without yielding", r.stderr)
    assert m, r.stderr
    assert m.group(1) == "1" and int(m.group(2)) >= 100
    assert "hog_for_a_while(...)" in r.stderr


@pytest.mark.timeout(60)
def test_no_block_report_for_a_goroutine_in_syscall() -> None:
    """``await syscall(...)`` gives the P up for the call, as Go's entersyscall
    does: it is the cure for a hog, not one (it was reported as one)."""
    r = run_script("""
        import time, gosched
        async def main():
            await gosched.syscall(time.sleep, 0.4)
        gosched.run(main, gomaxprocs=1)
    """, {"GOSCHED_BLOCKPROF": "100"})
    assert r.returncode == 0, r.stderr
    assert "without yielding" not in r.stderr


@pytest.mark.timeout(60)
def test_no_block_report_when_off() -> None:
    r = run_script(HOG, {"GOSCHED_BLOCKPROF": ""})
    assert r.returncode == 0, r.stderr
    assert "without yielding" not in r.stderr


SCHED = re.compile(
    r"^SCHED (?P<ms>\d+)ms: gomaxprocs=(?P<gomaxprocs>\d+) idleprocs=(?P<idleprocs>\d+)"
    r" threads=(?P<threads>\d+) spinningthreads=(?P<spinning>\d+)"
    r" needspinning=(?P<needspinning>[01]) idlethreads=(?P<idlethreads>\d+)"
    r" runqueue=(?P<runqueue>\d+)(?P<rest>.*)$"
)

TRACED = """
    import gosched
    async def main():
        await gosched.sleep(0.35)
    gosched.run(main, gomaxprocs=3)
"""


@pytest.mark.timeout(60)
def test_schedtrace_lines_match_gos_format() -> None:
    r = run_script(TRACED, {"GODEBUG": "schedtrace=100"})
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("SCHED")]
    assert len(lines) >= 2, r.stderr
    first = SCHED.match(lines[0])
    assert first, lines[0]
    assert first["ms"] == "0"
    for line in lines:
        m = SCHED.match(line)
        assert m, line
        assert m["gomaxprocs"] == "3"
        assert 0 <= int(m["idleprocs"]) <= 3
        assert int(m["threads"]) >= 2  # M0 and sysmon
        assert re.fullmatch(r" \[\d+ \d+ \d+\]", m["rest"]), line  # one runq length per P


@pytest.mark.timeout(60)
def test_scheddetail_lists_every_p_m_and_g() -> None:
    r = run_script(TRACED, {"GODEBUG": "schedtrace=100,scheddetail=1"})
    assert r.returncode == 0, r.stderr
    out = r.stderr.splitlines()
    head = [ln for ln in out if ln.startswith("SCHED")]
    assert head
    m = SCHED.match(head[0])
    assert m and re.fullmatch(
        r" gcwaiting=(true|false) nmidlelocked=\d+ stopwait=\d+ sysmonwait=(true|false)",
        m["rest"],
    ), head[0]
    plines = [ln for ln in out if ln.startswith("  P")]
    assert {ln.split(":")[0] for ln in plines} >= {"  P0", "  P1", "  P2"}
    for ln in plines:
        assert re.fullmatch(
            r"  P\d+: status=\d schedtick=\d+ syscalltick=\d+ m=(\d+|nil) runqsize=\d+"
            r" gfreecnt=\d+ timerslen=\d+",
            ln,
        ), ln
    mlines = [ln for ln in out if ln.startswith("  M")]
    assert mlines
    for ln in mlines:
        assert re.fullmatch(
            r"  M\d+: p=(\d+|nil) curg=(\d+|nil) mallocing=0 throwing=0 preemptoff= locks=0"
            r" dying=0 spinning=(true|false) blocked=(true|false) lockedg=(\d+|nil)",
            ln,
        ), ln
    glines = [ln for ln in out if ln.startswith("  G")]
    assert any(re.fullmatch(r"  G1: status=4\(sleep\) m=nil lockedm=nil", ln) for ln in glines), (
        glines
    )


def test_a_wakeup_racing_with_deep_sleeps_timeout_is_consumed(monkeypatch):
    """sysmon's deep sleep times out just as an M wakes it (wakesysmon clears
    sysmonwait and releases the note). That release must be consumed: left
    over, it let the next deep sleep return at once and the next wakeup
    release an unlocked lock (RuntimeError on an M, seen on 3.13t)."""
    from gosched.runtime import sysmon
    from gosched.runtime.proc import wakesysmon

    note = sched.sysmonnote
    assert note.locked()

    class RacingNote:
        """The note, whose timed acquire gives up at the moment the waker runs."""

        def acquire(self, blocking=True, timeout=-1):
            if timeout == -1:
                return note.acquire(blocking)
            wakesysmon()  # the waker, between the timeout and deepsleep's check
            return False

        def release(self):
            note.release()

    monkeypatch.setattr(sched, "sysmonnote", RacingNote())
    monkeypatch.setattr(sched, "exiting", False)
    monkeypatch.setattr(sched, "gcwaiting", False)
    monkeypatch.setattr(sched, "npidle", sched.gomaxprocs)
    monkeypatch.setattr(sched, "allp", [])
    assert sysmon.deepsleep(time.monotonic())
    assert not sched.sysmonwait
    assert note.locked(), "the waker's release was left on the note"
