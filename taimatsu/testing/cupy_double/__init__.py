"""A strict stand-in for CuPy, for tests on machines without a GPU (``TAIMATSU_CUPY_DOUBLE=1``).

taimatsu's backend loads it in place of ``cupy`` only when that variable is set; it is never a
fallback, and what runs on it is never a GPU result. Its ``cupy`` module has only names real
CuPy 14 has (``cupy14_names.json``, made by ``make_names.py``), its arrays are NumPy arrays that
refuse implicit conversion as CuPy's do, and it counts host<->device transfers so tests can
prove a training step makes none::

    from taimatsu.testing import cupy_double
    cupy, cupyx = cupy_double.load()
    before = cupy_double.transfers()
    ...
    assert cupy_double.transfers() == before
"""
from __future__ import annotations

from ._array import DEVICE_NAME, TRANSFERS

_loaded = None


def load():
    """The double's ``(cupy, cupyx)`` module objects (built once)."""
    global _loaded
    if _loaded is None:
        from . import _modules as build

        _loaded = build.build()
    return _loaded


def transfers() -> dict:
    """Host<->device transfers so far: counts and bytes in each direction."""
    return dict(TRANSFERS)


__all__ = ["DEVICE_NAME", "load", "transfers"]
