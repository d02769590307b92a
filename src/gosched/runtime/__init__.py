"""gosched's runtime: Go's G/M/P scheduler. Internal; the public API is ``gosched``."""
