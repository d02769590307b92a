"""Shared fixtures for the gosched test suite.

Every behaviour test takes the ``gmp`` fixture and runs its program with
``gosched.run(main, gomaxprocs=gmp)``, so it is exercised with one P (where the
scheduling order is deterministic) and with two (where goroutines really run
on several Ms at once).
"""

from __future__ import annotations

import re
import signal
from collections.abc import Callable

import pytest

import gosched

_HEADER = re.compile(r"^goroutine (\d+) \[([^\]]*)\]:$", re.MULTILINE)


@pytest.fixture(params=[1, 2], ids=lambda n: f"gmp{n}")
def gmp(request: pytest.FixtureRequest) -> int:
    """The number of Ps to run the test's program with."""
    return request.param


def parse_headers(dump: str) -> dict[int, str]:
    """``{goid: status}`` from the ``goroutine N [status]:`` lines of a goroutine dump."""
    headers: dict[int, str] = {}
    for goid, status in _HEADER.findall(dump):
        assert int(goid) not in headers, f"goroutine {goid} appears twice in the dump:\n{dump}"
        headers[int(goid)] = status
    return headers


@pytest.fixture
def headers() -> Callable[[str], dict[int, str]]:
    """The dump parser: ``headers(dump) -> {goid: status}``."""
    return parse_headers


@pytest.fixture
def wait_blocked() -> Callable[..., object]:
    """``await wait_blocked(status, n=1)``: poll until ``n`` goroutines show ``[status]``.

    For setting up a situation (say, a receiver parked on a channel) before
    acting on it. It looks at the goroutine dump, so it needs no timing
    assumption; pytest-timeout fails the test if the state is never reached.
    """

    async def wait(status: str, n: int = 1) -> None:
        while sum(s == status for s in parse_headers(gosched.stack()).values()) < n:
            await gosched.sleep(0.001)

    return wait


# ---------------------------------------------------------------------------
# A hang must fail. pytest-timeout (signal method) raises its failure inside
# the main thread, which is usually inside gosched.run. If the runtime had
# already decided how to end (a panic, a deadlock) and then hung, run would
# report that earlier outcome and the timeout would be swallowed, turning a
# hang into a pass. So note every time the timeout fires, and fail the test
# if it fired, whatever the test function did with the exception.
# ---------------------------------------------------------------------------

_TIMED_OUT = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True, optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: object):
    yield
    handler = signal.getsignal(signal.SIGALRM)
    if callable(handler):

        def noting_handler(signum: int, frame: object) -> None:
            item.stash[_TIMED_OUT] = True
            handler(signum, frame)

        signal.signal(signal.SIGALRM, noting_handler)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed and item.stash.get(_TIMED_OUT, False):
        report.outcome = "failed"
        report.longrepr = "the test timed out (pytest-timeout fired), but the timeout was swallowed"
