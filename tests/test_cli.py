"""The ``gosched`` command: run, exit statuses, Go-style failure output, lifecycle."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def gosched(*args: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gosched.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
    )


def program(tmp_path: Path, body: str, name: str = "prog.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


@pytest.mark.timeout(120)
def test_run_sieve_example() -> None:
    r = gosched("run", str(ROOT / "examples" / "sieve.py"), "100")
    assert r.returncode == 0, r.stderr
    assert "the first 100 primes, computed by main and 101 goroutines:" in r.stdout
    assert r.stdout.split()[-1] == "541"


@pytest.mark.timeout(120)
def test_run_echo_example() -> None:
    r = gosched("run", str(ROOT / "examples" / "echo.py"), "100")
    assert r.returncode == 0, r.stderr
    assert "100 of 100 clients got their line back" in r.stdout


@pytest.mark.timeout(60)
def test_run_passes_argv_and_exits_zero(tmp_path: Path) -> None:
    path = program(tmp_path, """
        import sys
        async def main():
            print("argv", sys.argv[1:])
    """)
    r = gosched("run", "--gomaxprocs", "2", str(path), "a", "b")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "argv ['a', 'b']"


@pytest.mark.timeout(60)
def test_panic_exits_2_with_go_style_text(tmp_path: Path) -> None:
    path = program(tmp_path, """
        import gosched
        async def worker():
            raise ValueError("boom")
        async def main():
            gosched.go(worker)
            await gosched.select()
    """)
    r = gosched("run", str(path))
    assert r.returncode == 2
    assert "panic: ValueError: boom" in r.stderr
    assert "goroutine 6 [running]:" in r.stderr  # Go's first user goroutine after main
    # FILE runs as module main: Go's package main.
    assert "created by main.main in goroutine 1" in r.stderr
    # The goroutine's own frames, innermost first, and no Python traceback around them.
    assert re.search(r"^goroutine 6 \[running\]:\nmain\.worker\(\.\.\.\)\n\t\S*prog\.py:4$",
                     r.stderr, re.MULTILINE), r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.timeout(60)
def test_deadlock_exits_2_with_dump(tmp_path: Path) -> None:
    path = program(tmp_path, """
        import gosched
        async def main():
            ch = gosched.Chan()
            await ch.recv()
    """)
    r = gosched("run", str(path))
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0] == "fatal error: all goroutines are asleep - deadlock!"
    assert lines[1] == ""
    assert lines[2] == "goroutine 1 [chan receive]:"
    assert lines[3] == "main.main(...)"


@pytest.mark.timeout(60)
def test_missing_main(tmp_path: Path) -> None:
    path = program(tmp_path, "x = 1\n")
    r = gosched("run", str(path))
    assert r.returncode == 1
    assert "has no main function" in r.stderr


@pytest.mark.timeout(120)
def test_lifecycle_command() -> None:
    r = gosched("lifecycle")
    assert r.returncode == 0, r.stderr
    for step in ("newproc", "newproc1", "runqput", "findRunnable", "execute", "gogo",
                 "gopark", "mcall(park_m)", "goready", "goexit1", "mcall(goexit0)", "gfput"):
        assert f" {step} " in r.stdout, step
    assert "(GREW)" not in r.stdout
    assert "goroutine switches more" in r.stdout


@pytest.mark.timeout(60)
def test_panic_with_suppressed_context_is_go_style(tmp_path: Path) -> None:
    path = program(tmp_path, """
        async def main():
            try:
                {}["k"]
            except KeyError:
                raise ValueError("clean") from None  # as gosched's own errors are raised
    """)
    r = gosched("run", str(path))
    assert r.returncode == 2
    assert r.stderr == ("panic: ValueError: clean\n\ngoroutine 1 [running]:\n"
                        f"main.main(...)\n\t{path}:6\n"), r.stderr


@pytest.mark.timeout(60)
def test_panic_while_handling_others_lists_them_like_go(tmp_path: Path) -> None:
    path = program(tmp_path, """
        async def main():
            try:
                try:
                    {}["k"]
                except KeyError as e:
                    raise LookupError("outer") from e
            except LookupError:
                raise ValueError("last")
    """)
    r = gosched("run", str(path))
    assert r.returncode == 2
    assert r.stderr.startswith(
        "panic: KeyError: 'k' [recovered]\n"
        "\tpanic: LookupError: outer [recovered]\n"
        "\tpanic: ValueError: last\n"
        "\n"
        "goroutine 1 [running]:\n"
        "main.main(...)\n"), r.stderr
    assert "Traceback" not in r.stderr



def test_goexit_in_the_panic_chain_prints_nothing_like_go(tmp_path: Path) -> None:
    """Go's printpanics skips a goexit link: a panic raised while Goexit unwinds
    (in a finally, or after catching it) prints as the only panic."""
    path = program(tmp_path, """
        import gosched

        async def main():
            try:
                try:
                    {}["k"]
                except KeyError:
                    gosched.goexit()
            finally:
                raise ValueError("in finally")
    """)
    r = gosched("run", str(path))
    assert r.returncode == 2
    assert r.stderr.startswith(
        "panic: KeyError: 'k' [recovered]\n"
        "\tpanic: ValueError: in finally\n"
        "\n"
        "goroutine 1 [running]:\n"), r.stderr


def test_trace_file_that_cannot_be_created_is_a_usage_error(tmp_path: Path) -> None:
    path = program(tmp_path, """
        async def main():
            print("ran")
    """)
    bad = tmp_path / "no" / "such" / "dir" / "t.json"
    r = gosched("run", "--trace", str(bad), str(path))
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == f"gosched run: --trace {bad}: No such file or directory\n"

@pytest.mark.timeout(60)
def test_file_named_after_a_stdlib_module(tmp_path: Path) -> None:
    path = program(tmp_path, """
        import gosched
        async def main():
            await gosched.sleep(0.02)  # the runtime's timers and sysmon use the real time
            print(__name__)
    """, name="time.py")
    r = gosched("run", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "main\n"


@pytest.mark.timeout(60)
def test_a_main_guard_does_not_run_the_program_twice(tmp_path: Path) -> None:
    """FILE is module ``main``, not ``__main__``: the guard that lets it run
    under plain ``python`` too stays closed under ``gosched run``."""
    path = program(tmp_path, """
        import gosched
        async def main():
            print("main ran")
        if __name__ == "__main__":
            gosched.run(main)
    """)
    r = gosched("run", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "main ran\n"


@pytest.mark.timeout(60)
def test_an_unguarded_run_at_the_top_level_is_refused_not_run_twice(tmp_path: Path) -> None:
    path = program(tmp_path, """
        import gosched
        async def main():
            print("main ran")
        gosched.run(main)
    """)
    r = gosched("run", str(path))
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr.rstrip().endswith(
        f"RuntimeError: gosched.run: called while `gosched run` loads {path}, which then runs "
        'its main itself: guard the call with if __name__ == "__main__":')


@pytest.mark.timeout(60)
@pytest.mark.parametrize("args", [("run", "--gomaxprocs", "0"), ("run", "--gomaxprocs", "-1"),
                                  ("run", "--schedtrace", "0"), ("run", "--schedtrace", "-5"),
                                  ("lifecycle", "--gomaxprocs", "0")])
def test_non_positive_counts_are_usage_errors(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = program(tmp_path, """
        print("loaded")
        async def main():
            pass
    """)
    r = gosched(*args, *([str(path)] if args[0] == "run" else []))
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith(f"usage: gosched {args[0]} "), r.stderr
    assert f"error: argument {args[1]}: invalid positive value: '{args[2]}'" in r.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("where", "call", "rc", "err"), [
    ("main", 'sys.exit("bye")', 1, "bye\n"), ("main", "sys.exit(3)", 3, ""),
    ("main", "sys.exit()", 0, ""), ("goroutine", 'sys.exit("from g")', 1, "from g\n"),
])
def test_system_exit_does_what_python_does(tmp_path: Path, where: str, call: str, rc: int,
                                           err: str) -> None:
    path = program(tmp_path, f"""
        import sys, gosched
        async def worker():
            {call}
        async def main():
            if "{where}" == "main":
                {call}
            gosched.go(worker)
            await gosched.sleep(60)
    """)
    r = gosched("run", str(path))
    assert (r.returncode, r.stderr) == (rc, err)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("ours", [("--gomaxprocs", "2"), ("--gomaxprocs", "2", "--")])
def test_arguments_after_file_are_the_programs(tmp_path: Path, ours: tuple[str, ...]) -> None:
    path = program(tmp_path, """
        import sys
        async def main():
            print(sys.argv)
    """)
    tail = ["--", "-h", "--gomaxprocs", "3", "--"]
    r = gosched("run", *ours, str(path), *tail)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == repr([str(path), *tail])


@pytest.mark.timeout(60)
def test_main_goexit_prints_no_empty_dump(tmp_path: Path) -> None:
    path = program(tmp_path, """
        import gosched
        async def main():
            gosched.goexit()
    """)
    r = gosched("run", str(path))
    assert r.returncode == 2
    assert r.stderr == "fatal error: no goroutines (main called runtime.Goexit) - deadlock!\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("body", "report"), [
    ("def main(:\n", ['  File "{}", line 1', "    def main(:", "             ^",
                       "SyntaxError: invalid syntax"]),
    ("import json\njson.loads('{')\n", ["Traceback (most recent call last):",
                                          '  File "{}", line 2, in <module>']),
])
def test_error_in_file_shows_only_its_traceback(tmp_path: Path, body: str,
                                                report: list[str]) -> None:
    path = program(tmp_path, body)
    r = gosched("run", str(path))
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[:len(report)] == [line.format(path) for line in report], r.stderr
    assert "gosched" not in r.stderr.replace(str(tmp_path), ""), r.stderr


PANICS_WITH_OTHERS = """
    import gosched
    async def sleeper(ch):
        try:
            await ch.recv()
        finally:
            print("sleeper's finally ran", flush=True)
    async def worker():
        raise ValueError("boom\\nsecond line")
    async def main():
        ch = gosched.Chan()
        gosched.go(sleeper, ch)
        await gosched.sleep(0.01)
        try:
            gosched.go(worker)
            await ch.recv()
        finally:
            print("main's finally ran", flush=True)
"""


@pytest.mark.timeout(60)
def test_a_panic_ends_the_process_without_running_other_goroutines_finally(
        tmp_path: Path) -> None:
    """Go's exit(2) after a panic runs no other goroutine's defers."""
    r = gosched("run", "--gomaxprocs", "1", str(program(tmp_path, PANICS_WITH_OTHERS)))
    assert r.returncode == 2
    assert r.stdout == ""
    # A multi-line value is indented (Go 1.23's printindented); only the
    # panicking goroutine is shown (GOTRACEBACK=single).
    assert r.stderr.startswith("panic: ValueError: boom\n\tsecond line\n\ngoroutine 7 [running]:\n")
    assert "goroutine 1 " not in r.stderr and "goroutine 6 " not in r.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("level", ["none", "0"])
def test_gotraceback_none_prints_only_the_panic(tmp_path: Path, level: str) -> None:
    r = gosched("run", str(program(tmp_path, PANICS_WITH_OTHERS)), env={"GOTRACEBACK": level})
    assert (r.returncode, r.stderr) == (2, "panic: ValueError: boom\n\tsecond line\n")


@pytest.mark.timeout(60)
def test_gotraceback_all_adds_every_other_goroutine(tmp_path: Path) -> None:
    r = gosched("run", "--gomaxprocs", "1", str(program(tmp_path, PANICS_WITH_OTHERS)),
                env={"GOTRACEBACK": "all"})
    assert r.returncode == 2
    headers = re.findall(r"^goroutine .*$", r.stderr, re.MULTILINE)
    assert headers == ["goroutine 7 [running]:", "goroutine 1 [chan receive]:",
                       "goroutine 6 [chan receive]:"]
    assert "gosched/chan.py" not in r.stderr  # the runtime's frames: only at system
    r = gosched("run", str(program(tmp_path, PANICS_WITH_OTHERS)), env={"GOTRACEBACK": "system"})
    assert re.search(r"^gosched\.chan\.Chan\.recv\(\.\.\.\)$", r.stderr, re.MULTILINE), r.stderr


@pytest.mark.timeout(60)
def test_gotraceback_none_leaves_out_a_deadlocks_dump(tmp_path: Path) -> None:
    path = program(tmp_path, """
        import gosched
        async def main():
            await gosched.Chan().recv()
    """)
    r = gosched("run", str(path), env={"GOTRACEBACK": "none"})
    assert (r.returncode, r.stderr) == (2, "fatal error: all goroutines are asleep - deadlock!\n")


@pytest.mark.timeout(60)
def test_gotraceback_crash_aborts_after_printing(tmp_path: Path) -> None:
    r = gosched("run", str(program(tmp_path, PANICS_WITH_OTHERS)), env={"GOTRACEBACK": "crash"})
    assert r.returncode == -signal.SIGABRT  # killed by SIGABRT, as Go's crash
    assert r.stderr.startswith("panic: ValueError: boom")
    assert "goroutine 1 [chan receive]:" in r.stderr


@pytest.mark.timeout(60)
def test_go_of_nil_is_a_fatal_error_no_handler_catches(tmp_path: Path) -> None:
    path = program(tmp_path, """
        import gosched
        async def main():
            try:
                gosched.go(None)
            except Exception as e:
                print("caught", e)
            print("went on")
    """)
    r = gosched("run", str(path))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("fatal error: go of nil func value\n\ngoroutine 1 ")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("procs", ["1", "2"])
def test_main_returning_ends_the_program_while_a_goroutine_spins_on_the_first_thread(
        tmp_path: Path, procs: str) -> None:
    """run returns on the thread that called it (M0); a goroutine that never yields
    there kept the program from ever ending after main returned elsewhere. Go's
    exit waits for no goroutine."""
    path = program(tmp_path, """
        import gosched
        async def spin():
            while True:
                pass
        async def main():
            gosched.go(spin)  # runs on M0 once main sleeps
            await gosched.sleep(0.05)  # main wakes on another M (sysmon took the P)
            print("main returned", flush=True)
    """)
    r = gosched("run", "--gomaxprocs", procs, str(path))
    assert (r.returncode, r.stdout) == (0, "main returned\n"), r.stderr


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["panic", "exit", "fatal"])
def test_a_panic_or_exit_ends_the_program_while_a_goroutine_spins_on_the_first_thread(
        tmp_path: Path, how: str) -> None:
    """Go's fatalpanic exits where the panic is: the process must not wait for run
    to return on M0, which a goroutine that never yields may never leave."""
    path = program(tmp_path, """
        import sys
        import gosched
        async def spin():
            while True:
                pass
        async def main():
            gosched.go(spin)
            await gosched.sleep(0.05)
            how = sys.argv[1]
            if how == "panic":
                raise ValueError("boom")
            if how == "exit":
                sys.exit(3)
            gosched.go(None)
    """)
    r = gosched("run", "--gomaxprocs", "1", str(path), how)
    assert r.returncode == {"panic": 2, "exit": 3, "fatal": 2}[how]
    first = {"panic": "panic: ValueError: boom", "exit": "", "fatal": "fatal error: go of nil"}
    assert first[how] in r.stderr


@pytest.mark.timeout(60)
def test_a_sync_goroutine_parked_in_block_on_runs_no_finally_after_a_panic(
        tmp_path: Path) -> None:
    path = program(tmp_path, """
        import gosched
        def parked(ch):
            try:
                gosched.block_on(ch.recv())
            finally:
                print("sync finally ran", flush=True)
        async def main():
            gosched.go(parked, gosched.Chan())
            await gosched.sleep(0.05)
            raise ValueError("boom")
    """)
    r = gosched("run", str(path))
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr.startswith("panic: ValueError: boom\n")
