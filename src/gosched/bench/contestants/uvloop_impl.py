"""asyncio's programs, unchanged, on uvloop's event loop (libuv, written in Cython)."""

from __future__ import annotations

import asyncio
import functools
import importlib.util

from . import asyncio_impl

NOTES = asyncio_impl.NOTES
SCALE = asyncio_impl.SCALE


def available() -> str | None:
    if importlib.util.find_spec("uvloop") is None:
        return "no module named 'uvloop' (pip install uvloop)"
    return None


def _new_loop() -> asyncio.AbstractEventLoop:
    import uvloop  # imported here so that available() can say it is missing

    return uvloop.new_event_loop()


WORKLOADS = {
    name: functools.partial(fn, loop_factory=_new_loop)
    for name, fn in asyncio_impl.WORKLOADS.items()
}
