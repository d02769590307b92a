"""The ``gosched`` command: run, exit statuses, Go-style failure output, lifecycle."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def gosched(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gosched.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def program(tmp_path: Path, body: str, name: str = "prog.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


@pytest.mark.timeout(120)
def test_run_sieve_example() -> None:
    r = gosched("run", str(ROOT / "examples" / "sieve.py"), "100")
    assert r.returncode == 0, r.stderr
    assert "the first 100 primes, computed by 101 goroutines:" in r.stdout
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
    assert "goroutine 2 [running]:" in r.stderr
    assert "created by prog.main in goroutine 1" in r.stderr
    # The goroutine's own frames, innermost first, and no Python traceback around them.
    assert re.search(r"^goroutine 2 \[running\]:\nprog\.worker\(\.\.\.\)\n\t\S*prog\.py:4$",
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
    assert lines[3] == "prog.main(...)"


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
