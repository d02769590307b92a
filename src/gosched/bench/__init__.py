"""gosched's benchmark suite: gosched against asyncio, uvloop, trio, gevent, threads and
pygolang on the standard workloads (see workloads.py), one fresh process per measurement.

    gosched bench [--gomaxprocs N] [--vs asyncio,uvloop,...] [--quick] [--repeat N]
                  [--json FILE] [--svg FILE] [--workloads a,b]
"""

from .harness import SuiteResult, format_table, main, run_suite
from .plot import plot

__all__ = ["SuiteResult", "format_table", "main", "plot", "run_suite"]
