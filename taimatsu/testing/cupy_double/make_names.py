"""Regenerate ``cupy14_names.json``: the namespace of real CuPy 14, which the double may expose.

Run with an interpreter that has CuPy 14 installed (importing it needs no GPU)::

    python3 -m venv /tmp/cupyvenv && /tmp/cupyvenv/bin/pip install cupy-cuda12x==14.2.0 numpy
    /tmp/cupyvenv/bin/python taimatsu/testing/cupy_double/make_names.py
"""
from __future__ import annotations

import inspect
import json
import pathlib
import re
import sys
import types


def public(obj, dunder=()):
    """The names ``obj`` offers: those without a leading underscore, plus the listed dunders;
    for a module also those its ``__getattr__`` resolves lazily (``cupy.random.Generator``),
    which ``dir`` does not show."""
    names = {n for n in dir(obj) if not n.startswith("_") or n in dunder}
    if isinstance(obj, types.ModuleType) and "__getattr__" in vars(obj):
        source = inspect.getsource(obj.__getattr__)
        names.update(re.findall(r"(?:key|name) == '(\w+)'", source))
        names.update(getattr(obj, "_submodules", ()))
    return sorted(names)


def main() -> None:
    # NOTE: this folder's _random.py would shadow the standard library's _random module.
    here = str(pathlib.Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if str(pathlib.Path(p or ".").resolve()) != here]
    import cupy
    import cupy.cuda.memory_hook
    import cupyx
    import cupyx.scipy.special

    ndarray_dunders = [n for n in dir(cupy.ndarray) if n.startswith("__")]
    names = {
        "version": cupy.__version__,
        "cupy": public(cupy),
        "ndarray": public(cupy.ndarray, ndarray_dunders),
        "ufunc": public(cupy.add),
        "flags": public(cupy._core.flags.Flags),
        "random": public(cupy.random),
        "random.Generator": public(cupy.random.Generator),
        "random.XORWOW": public(cupy.random.XORWOW),
        "linalg": public(cupy.linalg),
        "lib": public(cupy.lib),
        "lib.stride_tricks": public(cupy.lib.stride_tricks),
        "cuda": public(cupy.cuda),
        "cuda.runtime": public(cupy.cuda.runtime),
        "cuda.Device": public(cupy.cuda.Device),
        "cuda.Event": public(cupy.cuda.Event),
        "cuda.Stream": public(cupy.cuda.Stream),
        "cuda.MemoryPool": public(cupy.cuda.MemoryPool),
        "cuda.PinnedMemoryPool": public(cupy.cuda.PinnedMemoryPool),
        "cuda.MemoryPointer": public(cupy.cuda.MemoryPointer),
        "cuda.memory_hook": public(cupy.cuda.memory_hook),
        "cuda.memory_hook.MemoryHook": public(cupy.cuda.memory_hook.MemoryHook),
        "cupyx": public(cupyx),
        "cupyx.scipy": public(cupyx.scipy),
        "cupyx.scipy.special": public(cupyx.scipy.special),
    }
    out = pathlib.Path(__file__).with_name("cupy14_names.json")
    out.write_text(json.dumps(names, indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
