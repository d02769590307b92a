"""Seeing the scheduler: lifecycle narration, and g0 never growing."""

from __future__ import annotations

import io

import pytest

import gosched
from gosched import Chan, go
from gosched.lifecycle import pingpong
from gosched.runtime import trace


def test_lifecycle_narrates_by_go_names() -> None:
    async def main() -> None:
        ch: Chan[int] = Chan()

        async def worker() -> None:
            await ch.send(1)

        go(worker)
        await ch.recv()
        await gosched.sleep(0.001)

    out = io.StringIO()
    narrator = trace.Lifecycle(out)
    trace.install(narrator)
    try:
        gosched.run(main, gomaxprocs=1)
    finally:
        trace.uninstall()
    text = out.getvalue()
    steps = [line.split()[5] for line in text.splitlines() if line.strip()]
    for name in ("newproc", "newproc1", "gfget", "runqput", "schedule", "findRunnable",
                 "execute", "gogo", "gopark", "mcall(park_m)", "goready", "goexit1",
                 "mcall(goexit0)", "gfput"):
        assert name in steps, f"{name} missing from the narration:\n{text}"
    # Every line names the M, the P and the G (or g0) that did the step.
    for line in text.splitlines():
        m, p, g = line.split()[:3]
        assert m.startswith("M") and (p.startswith("P")) and (g == "g0" or g.startswith("G"))


def test_run_lifecycle_flag_prints_to_stderr(capsys: pytest.CaptureFixture) -> None:
    async def main() -> int:
        return 7

    assert gosched.run(main, lifecycle=True) == 7
    err = capsys.readouterr().err
    assert "newproc" in err and "mcall(goexit0)" in err


def _g0depths(probe: trace.DepthProbe, names: tuple[str, ...]) -> dict[tuple[int, str], set[int]]:
    """Depths seen per (M, step), for the steps in ``names``."""
    return {key: depths for key, depths in probe.depths.items() if key[1] in names}


@pytest.mark.timeout(300)
def test_g0_depth_is_the_same_after_a_million_switches() -> None:
    n = 250_000  # round trips; four goroutine switches each
    probe = trace.DepthProbe()
    trace.install(probe)
    try:
        gosched.run(pingpong, n, gomaxprocs=1)
    finally:
        trace.uninstall()
    names = ("execute", "gogo", "mcall(park_m)", "findRunnable")
    depths = _g0depths(probe, names)
    assert {name for _, name in depths} == set(names)
    for (mid, name), seen in depths.items():
        assert len(seen) == 1, f"g0 depth of {name} on M{mid} varied: {sorted(seen)}"
    assert probe.events >= 4 * n  # at least a million switches were observed on g0


@pytest.mark.timeout(300)
def test_chain_of_goroutines_never_grows_any_stack() -> None:
    """100,000 goroutines, each starting the next and exiting."""
    n = 100_000

    async def main() -> int:
        done: Chan[int] = Chan()

        async def link(i: int) -> None:
            if i == n:
                await done.send(i)
            else:
                go(link, i + 1)

        go(link, 1)
        return await done.recv()

    probe = trace.AllDepths()
    trace.install(probe)
    try:
        assert gosched.run(main, gomaxprocs=1) == n
    finally:
        trace.uninstall()
    assert probe.events >= n
    # A step may be reached along a path one call longer (a goroutine exiting
    # through lostp, say), but nothing may grow with the length of the chain:
    # 100,000 links that nested would be 100,000 frames deep.
    for key, seen in probe.depths.items():
        assert max(seen) - min(seen) <= 3, f"stack depth at {key} spread: {sorted(seen)}"


def test_execution_trace_file(tmp_path) -> None:
    import json

    async def main() -> list:
        ch: Chan[int] = Chan()

        async def worker(i: int) -> None:
            await ch.send(i)

        for i in range(3):
            go(worker, i)
        return sorted([await ch.recv() for _ in range(3)])

    path = tmp_path / "trace.json"
    assert gosched.run(main, trace=str(path), gomaxprocs=1) == [0, 1, 2]
    events = json.loads(path.read_text())["traceEvents"]
    slices = [e for e in events if e["ph"] == "X"]
    # A slice per run of a goroutine, on the M's track (pid 1) and on the P's (pid 2).
    # G5 is the finalizer goroutine, as in Go; the workers come after it.
    assert {e["name"] for e in slices} >= {"G1", "G5", "G6", "G7", "G8"}
    assert {e["pid"] for e in slices} == {1, 2}
    names = {(e["pid"], e["args"]["name"]) for e in events if e["ph"] == "M" and "tid" in e}
    assert (1, "M0") in names and (2, "P0") in names
    starts = {e["id"] for e in events if e["ph"] == "s"}
    ends = {e["id"] for e in events if e["ph"] == "f"}
    assert starts and starts == ends  # every wakeup arrow lands on the run it caused


def test_a_bad_trace_path_fails_before_the_program_runs(tmp_path) -> None:
    ran = []

    async def main() -> None:
        ran.append(True)

    with pytest.raises(FileNotFoundError):
        gosched.run(main, trace=str(tmp_path / "no" / "such" / "dir" / "t.json"))
    assert ran == []
    assert gosched.run(main) is None  # and the next run is not locked out
    assert ran == [True]


def test_lifecycle_shows_gfget_when_it_reuses_a_dead_g() -> None:
    async def main() -> None:
        ch: Chan[int] = Chan()

        async def worker() -> None:
            await ch.send(1)

        go(worker)
        await ch.recv()
        await gosched.sleep(0.001)  # the worker exits; its G goes to the free list
        go(worker)
        await ch.recv()

    out = io.StringIO()
    trace.install(trace.Lifecycle(out))
    try:
        gosched.run(main, gomaxprocs=1)
    finally:
        trace.uninstall()
    steps = [line.split()[5] for line in out.getvalue().splitlines() if line.strip()]
    assert "gfput" in steps
    second_go = [i for i, name in enumerate(steps) if name == "newproc1"][1]
    assert "gfget" in steps[second_go:second_go + 3], steps[second_go:second_go + 3]


def test_tracing_leaves_nothing_behind_in_modules_imported_meanwhile() -> None:
    """A module imported during a traced run (sysmon, lazily) binds the traced
    wrappers by ``from .proc import ...``; uninstall must put those back too,
    or later runs narrate steps nobody asked to see."""
    import subprocess
    import sys
    import textwrap

    program = textwrap.dedent("""
        import sys
        import gosched
        from gosched.runtime import trace

        async def main():
            await gosched.sleep(0.01)

        assert "gosched.runtime.sysmon" not in sys.modules
        gosched.run(main, lifecycle=True)
        wrapper = trace._wrap(lambda: None, "probe", trace.Sink()).__code__
        left = [(name, attr) for name, mod in list(sys.modules.items())
                if name.startswith("gosched")
                for attr, val in vars(mod).items() if getattr(val, "__code__", None) is wrapper]
        print(left or "clean")
    """)
    r = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip() == "clean"


@pytest.mark.parametrize("gmp", [1, 2])
def test_execution_trace_has_a_slice_for_a_sync_goroutine(tmp_path, gmp: int) -> None:
    import json

    def worker(ch: Chan[int]) -> None:
        gosched.block_on(ch.send(gosched.goid()))

    async def main() -> int:
        ch: Chan[int] = Chan()
        go(worker, ch)
        goid = await ch.recv()
        while gosched.num_goroutine() > 1:  # let the worker finish its run, not just its send
            await gosched.sleep(0.001)
        return goid

    path = tmp_path / "trace.json"
    goid = gosched.run(main, trace=str(path), gomaxprocs=gmp)
    events = json.loads(path.read_text())["traceEvents"]
    ends = [e["args"]["ended_by"] for e in events if e["ph"] == "X" and e["name"] == f"G{goid}"]
    assert "goexit1" in ends, ends
