"""`python -m gosched.bench`: the same as `gosched bench`."""

import sys

from .harness import main

sys.exit(main())
