"""The double's module objects (``cupy``, its submodules, ``cupyx``), built from the names real
CuPy 14 has (``cupy14_names.json``): a name is present only if CuPy has it; one CuPy has that the
double does not implement raises AttributeError saying so."""
from __future__ import annotations

import json
import pathlib
import types

import numpy as np

from . import _array, _cuda, _random
from ._array import _device_args, _from_host, ndarray, rewrap, unwrap, wrap

NAMES = json.loads(pathlib.Path(__file__).with_name("cupy14_names.json").read_text())


class ufunc:
    """A NumPy ufunc applied to device arrays (host arrays refused, 0-d results kept 0-d)."""

    def __init__(self, np_ufunc: np.ufunc):
        self._u = np_ufunc
        self.name = "cupy_" + np_ufunc.__name__
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.types = np_ufunc.types

    def _run(self, fn, args, kwargs):
        a, k, inputs = _device_args(args, kwargs)
        return rewrap(fn(*a, **k), inputs)

    def __call__(self, *args, **kwargs):
        return self._run(self._u, args, kwargs)

    def reduce(self, *args, **kwargs):
        return self._run(self._u.reduce, args, kwargs)

    def accumulate(self, *args, **kwargs):
        return self._run(self._u.accumulate, args, kwargs)

    def reduceat(self, *args, **kwargs):
        return self._run(self._u.reduceat, args, kwargs)

    def outer(self, *args, **kwargs):
        return self._run(self._u.outer, args, kwargs)

    def at(self, *args, **kwargs):
        self._run(self._u.at, args, kwargs)

    def __repr__(self):
        return f"<ufunc '{self.name}'>"


def _function(np_fn, name):
    def fn(*args, **kwargs):
        a, k, inputs = _device_args(args, kwargs)
        return rewrap(np_fn(*a, **k), inputs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``numpy.{name}`` on the double's device arrays."
    return fn


def _device_arrays_in(obj) -> bool:
    if obj.__class__ is ndarray:
        return True
    return isinstance(obj, (list, tuple)) and any(_device_arrays_in(o) for o in obj)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    """A device array: copied on the device from device arrays, else from the host."""
    if _device_arrays_in(obj):
        return wrap(np.array(unwrap(obj), dtype=dtype, copy=True, order=order, ndmin=ndmin))
    return _from_host(np.array(obj, dtype=dtype, order=order, ndmin=ndmin), copy=False)


def asarray(a, dtype=None, order=None, *, blocking=False):
    """``a`` itself when it is a device array of that dtype; host data is copied over."""
    if _device_arrays_in(a):
        return rewrap(np.asarray(unwrap(a), dtype=dtype, order=order), [a])
    return _from_host(a, dtype)


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        return a.get(stream, order, out, blocking)
    return np.asarray(a, order=order)


def broadcast_to(array, shape):
    return wrap(np.broadcast_to(unwrap(array), shape))  # wrap makes it writable, as CuPy's


def _module(name: str, listing: str) -> types.ModuleType:
    mod = types.ModuleType(name, f"{name} of taimatsu's CuPy test double ({_array.DEVICE_NAME})")
    known = set(NAMES[listing])

    def __getattr__(attr):
        if attr in known:
            raise AttributeError(f"{name}.{attr} exists in CuPy {NAMES['version']} but "
                                 "taimatsu's CuPy double does not implement it")
        raise AttributeError(f"module '{name}' has no attribute '{attr}'")

    mod.__getattr__ = __getattr__
    return mod


def _fill(mod, listing, values: dict) -> None:
    known = set(NAMES[listing])
    for key, value in values.items():
        if key not in known:
            raise AssertionError(f"the double defines {mod.__name__}.{key}, which CuPy lacks")
        setattr(mod, key, value)


UFUNCS: dict = {}
FUNCTIONS: dict = {}


def _numpy_names(listing, source, overrides) -> dict:
    """CuPy's names that NumPy's ``source`` module has too, computed by NumPy on device arrays."""
    values = {}
    for name in NAMES[listing]:
        if name in overrides:
            values[name] = overrides[name]
            continue
        obj = getattr(source, name, None)
        if obj is None or isinstance(obj, types.ModuleType):
            continue
        if isinstance(obj, np.ufunc):
            values[name] = UFUNCS.setdefault(name, ufunc(obj))
        elif isinstance(obj, type) or not callable(obj):
            values[name] = obj  # dtypes, finfo, constants: CuPy's are NumPy's
        else:
            values[name] = FUNCTIONS.setdefault(name, _function(obj, name))
    return values


def _pinned(make):
    def fn(*args, **kwargs):
        out = make(*args, **kwargs)
        _cuda.PINNED[out.__array_interface__["data"][0]] = out
        return out

    return fn


def _scatter_add(a, slices, value):
    target, key = unwrap(a), _array._index(slices)
    try:
        np.add.at(target, key, unwrap(value))
    except IndexError:
        np.add.at(target, _array.wrapped_key(key, target.shape), unwrap(value))


def _erf(x, out=None):
    from ...backend import _np_erf

    result = _np_erf(unwrap(x))
    if out is None:
        return wrap(result)
    out._a[...] = result
    return out


def build() -> tuple[types.ModuleType, types.ModuleType]:
    """The ``cupy`` and ``cupyx`` module objects of the double."""
    _array.install_methods(NAMES["ndarray"])
    _random.install_methods(NAMES["random.Generator"])
    pool, pinned_pool = _cuda.MemoryPool(), _cuda.PinnedMemoryPool()
    cupy = _module("cupy", "cupy")

    cuda = _module("cupy.cuda", "cuda")
    runtime = _module("cupy.cuda.runtime", "cuda.runtime")
    _fill(runtime, "cuda.runtime", {
        n: getattr(_cuda, n) for n in (
            "CUDARuntimeError", "PointerAttributes", "deviceSynchronize", "driverGetVersion",
            "getDevice", "getDeviceCount", "getDeviceProperties", "is_hip", "memGetInfo",
            "memoryTypeDevice", "memoryTypeHost", "memoryTypeManaged", "memoryTypeUnregistered",
            "pointerGetAttributes", "runtimeGetVersion", "setDevice")})
    memory_hook = _module("cupy.cuda.memory_hook", "cuda.memory_hook")
    _fill(memory_hook, "cuda.memory_hook", {"MemoryHook": _cuda.MemoryHook})
    _fill(cuda, "cuda", {
        "Device": _cuda.Device, "Event": _cuda.Event, "MemoryHook": _cuda.MemoryHook,
        "MemoryPointer": _cuda.MemoryPointer, "MemoryPool": _cuda.MemoryPool,
        "PinnedMemoryPool": _cuda.PinnedMemoryPool, "Stream": _cuda.Stream,
        "get_current_stream": _cuda.get_current_stream, "get_device_id": _cuda.get_device_id,
        "get_elapsed_time": _cuda.get_elapsed_time, "is_available": _cuda.is_available,
        "memory_hook": memory_hook, "runtime": runtime})

    random = _module("cupy.random", "random")
    _fill(random, "random", {"BitGenerator": _random.BitGenerator,
                             "Generator": _random.Generator, "XORWOW": _random.XORWOW})
    linalg = _module("cupy.linalg", "linalg")
    _fill(linalg, "linalg", _numpy_names("linalg", np.linalg, {}))
    lib = _module("cupy.lib", "lib")
    stride_tricks = _module("cupy.lib.stride_tricks", "lib.stride_tricks")
    _fill(stride_tricks, "lib.stride_tricks", {"as_strided": _array.as_strided})
    _fill(lib, "lib", {"stride_tricks": stride_tricks})

    _fill(cupy, "cupy", _numpy_names("cupy", np, {
        "ndarray": ndarray, "ufunc": ufunc, "array": array, "asarray": asarray,
        "asanyarray": asarray, "broadcast_to": broadcast_to, "take": _array.take,
        "take_along_axis": _array.take_along_axis}))
    _fill(cupy, "cupy", {
        "asnumpy": asnumpy, "cuda": cuda, "random": random, "linalg": linalg, "lib": lib,
        "get_array_module": lambda *args: cupy if any(map(_device_arrays_in, args)) else np,
        "get_default_memory_pool": lambda: pool,
        "get_default_pinned_memory_pool": lambda: pinned_pool,
        "is_available": _cuda.is_available})
    FUNCTIONS.update(array=array, asarray=asarray, asanyarray=asarray, broadcast_to=broadcast_to,
                     take=_array.take, take_along_axis=_array.take_along_axis)

    cupyx = _module("cupyx", "cupyx")
    scipy = _module("cupyx.scipy", "cupyx.scipy")
    special = _module("cupyx.scipy.special", "cupyx.scipy.special")
    _fill(special, "cupyx.scipy.special", {"erf": _erf})
    _fill(scipy, "cupyx.scipy", {"special": special})
    _fill(cupyx, "cupyx", {
        "scatter_add": _scatter_add, "scipy": scipy,
        "empty_pinned": _pinned(np.empty), "zeros_pinned": _pinned(np.zeros),
        "empty_like_pinned": _pinned(np.empty_like),
        "zeros_like_pinned": _pinned(np.zeros_like)})
    return cupy, cupyx
