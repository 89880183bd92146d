"""``taimatsu.backends.cpu``: what the CPU offers."""
from __future__ import annotations

import numpy as np

__all__ = ["get_cpu_capability"]


def get_cpu_capability() -> str:
    """The widest SIMD level NumPy dispatches to, in PyTorch's words: "AVX512", "AVX2" or
    "DEFAULT"."""
    # NOTE: NumPy publishes its runtime CPU features only in this semi-private dict.
    features = getattr(np._core._multiarray_umath, "__cpu_features__", {})
    if all(features.get(f) for f in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")):
        return "AVX512"
    if features.get("AVX2") and features.get("FMA3"):
        return "AVX2"
    return "DEFAULT"
