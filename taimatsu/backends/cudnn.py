"""``taimatsu.backends.cudnn``: PyTorch's cuDNN switches (taimatsu does not use cuDNN)."""
from __future__ import annotations

import sys

from ._flags import set_flags

enabled = True
benchmark = False
benchmark_limit = None
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: taimatsu's convolutions are CuPy/NumPy array code, not cuDNN."""
    return False


def version() -> int | None:
    return None


def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10,
          deterministic: bool = False, allow_tf32: bool = True):
    """Set the cuDNN flags for the block (every flag, to the given or default value)."""
    return set_flags(sys.modules[__name__], {
        "enabled": enabled, "benchmark": benchmark, "benchmark_limit": benchmark_limit,
        "deterministic": deterministic, "allow_tf32": allow_tf32})
