"""``taimatsu.backends.mkldnn``: PyTorch's oneDNN switches (taimatsu does not use oneDNN)."""
from __future__ import annotations

import sys

from ._flags import set_flags

enabled = True
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: taimatsu's CPU kernels are NumPy, not oneDNN."""
    return False


def flags(enabled: bool = False, deterministic: bool = False, allow_tf32: bool = True):
    """Set the oneDNN flags for the block (every flag, to the given or default value)."""
    return set_flags(sys.modules[__name__], {
        "enabled": enabled, "deterministic": deterministic, "allow_tf32": allow_tf32})
