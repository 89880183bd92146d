"""Testing aids (``taimatsu.testing.cupy_double``: a strict CuPy stand-in for GPU-less tests)."""
