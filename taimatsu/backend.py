"""Devices and array backends: NumPy for ``cpu``, CuPy for ``cuda``.

This is the only module that imports CuPy. Everything else asks a :class:`device` for its
``xp`` (the array module) and uses only ``xp.*``.
"""
from __future__ import annotations

import functools
import os
import warnings

import numpy as np

# PyTorch computes log(0), x/0, sqrt(-1) silently (inf/nan); NumPy warns. Ignore those warnings
# when they come from taimatsu's own code only: the user's NumPy calls still warn, and the hot path
# pays nothing (filters are consulted only when a warning is raised).
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"taimatsu(\.|$)")

_cupy = None  # imported on first use: CuPy costs seconds to import
_cupyx = None
_cupy_error: str | None = None


def _load_cupy():
    """CuPy (and cupyx), or None with the reason kept. With ``TAIMATSU_CUPY_DOUBLE=1`` (tests
    only) the strict test double stands in for both, and only then: never as a fallback."""
    global _cupy, _cupyx, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            if os.environ.get("TAIMATSU_CUPY_DOUBLE") == "1":
                from .testing import cupy_double

                cupy, cupyx = cupy_double.load()
            else:
                import cupy
                import cupyx
                import cupyx.scipy.special
            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("CuPy sees no GPU")
            _cupy, _cupyx = cupy, cupyx
        except Exception as e:  # noqa: BLE001 - any failure means "no CUDA here"
            _cupy_error = f"{type(e).__name__}: {e}"
    return _cupy


def cuda_is_available() -> bool:
    return _load_cupy() is not None


def cuda_device_count() -> int:
    cp = _load_cupy()
    return 0 if cp is None else cp.cuda.runtime.getDeviceCount()


class device:
    """A device: ``device("cpu")``, ``device("cuda")``, ``device("cuda:1")``, ``device("cuda", 1)``.

    Carries ``xp``, the array module (NumPy or CuPy) that computes on it.
    """

    __slots__ = ("index", "type", "xp")

    def __new__(cls, type: str | device, index: int | None = None) -> device:  # noqa: PYI034
        if isinstance(type, device):
            return type
        if isinstance(type, int):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string like 'cpu' or 'cuda:0', got {type!r}")
        key = (type, index)
        cached = _DEVICES.get(key)
        if cached is not None:
            return cached
        name, _, idx = type.partition(":")
        if idx:
            if index is not None:
                raise ValueError(f"device index given twice: {type!r} and index={index}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if name not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}"
            )
        if name == "cuda":
            index = 0 if index is None else index
        self = object.__new__(cls)
        self.type, self.index = name, index
        self.xp = np if name == "cpu" else (_load_cupy() or _MissingCuda())
        _DEVICES[key] = self
        return self

    def __repr__(self) -> str:
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


_DEVICES: dict = {}


class _MissingCuda:
    """Stands in for ``cupy`` where it is missing: ``device("cuda")`` can be named anywhere, as in
    PyTorch, and the first computation there raises an error that says what to install."""

    def __getattr__(self, name):
        raise RuntimeError(
            "CUDA is not available: device 'cuda' needs CuPy and an NVIDIA GPU "
            "(pip install cupy-cuda12x). Reason: " + str(_cupy_error)
        )


CPU = device("cpu")


def to_device(arr, src: device, dst: device):
    """Copy ``arr`` from ``src`` to ``dst``; returns ``arr`` itself when they are the same."""
    if src == dst:
        return arr
    if dst.type == "cpu":
        raise_pending_checks()
        return arr.get()
    cp = dst.xp
    with cp.cuda.Device(dst.index):
        return cp.asarray(arr)


# Deferred device-side checks: (0-d bool device array, exception factory), oldest first.
_PENDING_CHECKS: list = []
# CUDA_LAUNCH_BLOCKING=1 makes PyTorch's device-side asserts fail at the call; here too.
LAUNCH_BLOCKING = os.environ.get("CUDA_LAUNCH_BLOCKING") == "1"


def device_assert(bad, error) -> None:
    """Raise ``error()`` if ``bad`` (a 0-d bool array) holds. On the CPU at once. On CUDA the
    flag stays on the device and is read at the next synchronisation with the host (``.cpu()``,
    ``.numpy()``, ``.tolist()``, ``cuda.synchronize()``), as PyTorch's device-side asserts are
    raised asynchronously: reading it now would stall the GPU on every call. Until then the op
    computes on (CuPy wraps out-of-range indices around). With ``CUDA_LAUNCH_BLOCKING=1`` (read
    at import, or :data:`LAUNCH_BLOCKING`) CUDA checks too raise at once."""
    if bad.__class__ in _HOST_FLAGS or LAUNCH_BLOCKING:
        if bad:
            raise error()
        return
    _PENDING_CHECKS.append((bad, error))
    if len(_PENDING_CHECKS) >= 1024:  # a loop that never syncs: bound what is kept
        raise_pending_checks()


_HOST_FLAGS = frozenset((bool, np.bool_, np.ndarray))


def raise_pending_checks() -> None:
    """Raise the first failed deferred check (one device-to-host copy for all of them)."""
    if _PENDING_CHECKS:
        pending = _PENDING_CHECKS.copy()
        _PENDING_CHECKS.clear()
        flags = _cupy.stack([bad for bad, _ in pending]).get()
        for (_, error), bad in zip(pending, flags):
            if bad:
                raise error()


def known_all(arr) -> bool:
    """True when every element of ``arr`` is known to be true without a sync: on the CPU by
    looking; on CUDA never (callers take their general path rather than stall the GPU)."""
    return bool(arr.all()) if arr.__class__ is np.ndarray else False


def check_range(arr, low: int, high: int, error) -> None:
    """Raise ``error(v)`` (with :func:`device_assert`'s timing) for ``v`` an element of ``arr``
    outside ``[low, high)``: the largest if one is too large, else the smallest."""
    if arr.size == 0:
        return
    lo, hi = arr.min(), arr.max()
    device_assert((lo < low) | (hi >= high), lambda: error(int(hi) if hi >= high else int(lo)))


def device_of_array(arr) -> device:
    """The device an array lives on (NumPy arrays and scalars are on the CPU)."""
    if isinstance(arr, (np.ndarray, np.generic)):
        return CPU
    dev = getattr(arr, "device", None)
    if dev is not None and hasattr(dev, "id"):  # a CuPy array
        return device("cuda", dev.id)
    return CPU


def is_array(obj) -> bool:
    """True for NumPy or CuPy arrays."""
    if isinstance(obj, np.ndarray):
        return True
    return _cupy is not None and isinstance(obj, _cupy.ndarray)


def refuses_writes(arr) -> bool:
    """True when a write into ``arr`` must be refused: PyTorch's "more than one element of the
    written-to tensor refers to a single memory location", which it decides by a zero stride over
    a dim of size > 1 (``e = x.expand(3, 4)``: ``e += 1`` and ``e[:, 0] = 1`` are refused,
    ``e[0] = 1`` writes ``x``). Read-only NumPy arrays are refused too."""
    if arr.__class__ is np.ndarray:
        if not arr.flags.writeable:
            return True
        if arr.base is None:  # an owner: never strided over itself (the hot case)
            return False
    return arr.size > 1 and 0 in arr.strides and any(
        st == 0 and n > 1 for n, st in zip(arr.shape, arr.strides))


def broadcast_view(arr, shape):
    """``xp.broadcast_to(arr, shape)``, writable (when ``arr`` is) as CuPy's is. NumPy marks the
    whole view read-only, which would refuse writes PyTorch allows through its sub-views
    (``e[0] = 1``); :func:`refuses_writes` refuses the others on both backends."""
    if arr.__class__ is not np.ndarray:
        return _cupy.broadcast_to(arr, shape)
    out = np.broadcast_to(arr, shape)
    if arr.flags.writeable:
        out.flags.writeable = True
    return out


def to_numpy(arr):
    """A NumPy array for ``arr`` from either backend (a copy for CuPy, the array itself for NumPy)."""
    if isinstance(arr, np.ndarray):
        return arr
    raise_pending_checks()
    return arr.get()


def item(arr):
    """The one element of ``arr`` as a Python scalar (a host sync for CuPy: deferred device
    checks are raised first, as at any other sync point)."""
    if not isinstance(arr, np.ndarray):
        raise_pending_checks()
    return arr.item()


def memory_owner(arr):
    """The object that owns ``arr``'s memory: views (NumPy and CuPy alike) lead to it through
    ``base`` (one step for plain views; more for views made by stride tricks)."""
    base = arr.base
    while base is not None:
        arr, base = base, getattr(base, "base", None)
    return arr


def scatter_add(xp, target, index, values):
    """``target[index] += values`` with repeated indices summed (``np.add.at`` / ``cupyx``)."""
    if xp is np:
        np.add.at(target, index, values)
    else:
        _cupyx.scatter_add(target, index, values)


def erf(xp, x):
    """The error function (NumPy has none; SciPy is optional, so use math.erf vectorised)."""
    if xp is np:
        return _np_erf(x)
    return _cupyx.scipy.special.erf(x)


def _np_erf(x):
    try:
        from scipy.special import erf as sp_erf
    except ImportError:
        import math

        return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()
    return sp_erf(x).astype(x.dtype, copy=False)


def reshape_view(arr, shape):
    """``arr`` reshaped without copying; raises ValueError when its strides do not allow it."""
    if isinstance(arr, np.ndarray):
        return arr.reshape(shape, copy=False)
    out = arr.view()
    try:
        out.shape = shape  # CuPy refuses (AttributeError) when a copy would be needed
    except AttributeError as e:
        raise ValueError(str(e)) from None
    return out


def permutation(xp, rng, n: int):
    """A random permutation of ``range(n)`` from ``rng`` (CuPy's Generator has no
    ``permutation``: the order of uniform draws is one)."""
    if xp is np:
        return rng.permutation(n)
    return xp.argsort(rng.random(n))


class OutOfMemoryError(RuntimeError):
    """A device (GPU) allocation failed: PyTorch's ``torch.OutOfMemoryError``."""


def allocation_error(err: Exception) -> RuntimeError:
    """PyTorch's exception for a failed allocation, from NumPy's MemoryError (or its ValueError
    for sizes beyond the address space) or CuPy's OutOfMemoryError."""
    total = getattr(err, "_total_size", None)
    if total is not None:  # numpy's _ArrayMemoryError knows the request
        return RuntimeError(
            f"DefaultCPUAllocator: can't allocate memory: you tried to allocate {total} bytes "
            f"(shape {list(err.shape)}, dtype {err.dtype}).")
    if isinstance(err, MemoryError) and type(err).__module__.startswith("cupy"):
        return OutOfMemoryError(f"CUDA out of memory. {err}")
    return RuntimeError(f"can't allocate memory: {err}")


def is_allocation_error(err: Exception) -> bool:
    """True for the errors :func:`allocation_error` translates (NumPy says "too big" with a
    ValueError when the byte count overflows)."""
    return isinstance(err, MemoryError) or isinstance(err, ValueError) and (
        "array is too big" in str(err) or "Maximum allowed dimension exceeded" in str(err))


def reraise_allocation_error(e: Exception):
    """Raise a failed allocation as PyTorch reports it (:func:`allocation_error`); any other
    error unchanged. For ``except (MemoryError, ValueError) as e:`` blocks."""
    if is_allocation_error(e):
        raise allocation_error(e) from None
    raise e


def allocating(fn):
    """Decorate a function that allocates: failed allocations raise :func:`allocation_error`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (MemoryError, ValueError) as e:
            reraise_allocation_error(e)
    return wrapper


def partially_overlap(a, b) -> bool:
    """PyTorch's "partial overlap" of two arrays on one storage: both dense (their elements fill
    one block of memory), their blocks overlapping, and not the very same elements. Views that
    are not dense (a column of a matrix) are "too hard" for PyTorch, which lets them pass."""
    if a.size == 0 or b.size == 0 or not (_dense(a) and _dense(b)):
        return False
    pa, pb = _data_pointer(a), _data_pointer(b)
    if pa == pb and a.shape == b.shape and a.strides == b.strides:
        return False
    start_a, start_b = pa + _low_offset(a), pb + _low_offset(b)
    return start_a < start_b + b.nbytes and start_b < start_a + a.nbytes


def _dense(arr) -> bool:
    span = sum((n - 1) * abs(st) for n, st in zip(arr.shape, arr.strides)) + arr.itemsize
    return span == arr.nbytes


def _low_offset(arr) -> int:
    """Bytes from the first element to the lowest address (negative strides start high)."""
    return sum((n - 1) * st for n, st in zip(arr.shape, arr.strides) if st < 0)


def _data_pointer(arr) -> int:
    return arr.__array_interface__["data"][0] if isinstance(arr, np.ndarray) else arr.data.ptr



def storage_offset(arr) -> int:
    """Elements from the start of the memory ``arr`` views to its first element."""
    owner = memory_owner(arr)
    if not hasattr(owner, "dtype"):  # memory from a buffer (bytes, mmap): the view is the start
        return 0
    return (_data_pointer(arr) - _data_pointer(owner)) // arr.itemsize


# ---------------------------------------------------------------- CUDA runtime (taimatsu.cuda)
# The helpers below serve taimatsu.cuda and taimatsu.Tensor.pin_memory. Callers check
# cuda_is_available() first; each helper then talks to CuPy's runtime API directly.

def cuda_rng_state(rng) -> np.ndarray:
    """A host copy (uint8) of the state of a CuPy generator. NOTE: CuPy keeps the cuRAND
    states in a device array, ``bit_generator._state``: private, but the only handle it gives."""
    return rng.bit_generator._state.get().view(np.uint8)


def cuda_set_rng_state(rng, state: np.ndarray) -> None:
    """Restore a state from :func:`cuda_rng_state` (checked before anything changes)."""
    dst = rng.bit_generator._state
    if state.dtype != np.uint8 or state.shape != (dst.nbytes,):
        raise RuntimeError(f"RNG state is wrong size: expected {dst.nbytes} bytes of uint8, "
                           f"got shape {list(state.shape)} of {state.dtype}")
    dst.set(state.view(dst.dtype))


def cuda_current_device() -> int:
    return _cupy.cuda.runtime.getDevice()


def cuda_set_device(index: int) -> None:
    _cupy.cuda.runtime.setDevice(index)


def cuda_device_context(index: int):
    """A context manager that makes ``index`` the current GPU (``cupy.cuda.Device``)."""
    return _cupy.cuda.Device(index)


def cuda_device_properties(index: int) -> dict:
    """CUDA's ``cudaDeviceProp`` for GPU ``index`` as a dict (``name`` decoded to str)."""
    props = dict(_cupy.cuda.runtime.getDeviceProperties(index))
    props["name"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return props


def cuda_synchronize(index: int) -> None:
    _cupy.cuda.Device(index).synchronize()
    raise_pending_checks()


def cuda_mem_get_info(index: int) -> tuple[int, int]:
    with _cupy.cuda.Device(index):
        return _cupy.cuda.runtime.memGetInfo()


def cuda_memory_pool_bytes(index: int) -> tuple[int, int]:
    """(bytes in use, bytes held) by CuPy's default memory pool on GPU ``index``: PyTorch's
    ``memory_allocated`` and ``memory_reserved``."""
    pool = _cupy.get_default_memory_pool()
    with _cupy.cuda.Device(index):
        return pool.used_bytes(), pool.total_bytes()


_peak_hook = None


def cuda_peak_bytes(index: int, reset: bool = False) -> tuple[int, int]:
    """Peak (bytes in use, bytes held) on GPU ``index`` since the first call (or the last
    ``reset``). CuPy keeps no peaks, so the first call installs a memory hook that tracks them.
    NOTE: CuPy's memory hooks are per thread: allocations made by other threads are missed."""
    global _peak_hook
    if _peak_hook is None:
        class PeakHook(_cupy.cuda.memory_hook.MemoryHook):
            name = "TaimatsuPeakHook"

            def __init__(self):
                self.peaks: dict = {}

            def _sample(self, device_id):
                used, held = cuda_memory_pool_bytes(device_id)
                old = self.peaks.get(device_id, (0, 0))
                self.peaks[device_id] = (max(old[0], used), max(old[1], held))

            def malloc_postprocess(self, device_id, size, mem_size, mem_ptr, pmem_id):
                self._sample(device_id)

        _peak_hook = PeakHook()
        _peak_hook.__enter__()
    if reset:
        _peak_hook.peaks.pop(index, None)
    _peak_hook._sample(index)
    return _peak_hook.peaks[index]


def cuda_empty_cache() -> None:
    """Return the unused blocks of CuPy's memory pools (device and pinned) to the driver."""
    pool = _cupy.get_default_memory_pool()
    for index in range(cuda_device_count()):
        with _cupy.cuda.Device(index):
            pool.free_all_blocks()
    _cupy.get_default_pinned_memory_pool().free_all_blocks()


def cuda_event(enable_timing: bool, blocking: bool, interprocess: bool):
    return _cupy.cuda.Event(block=blocking, disable_timing=not enable_timing,
                            interprocess=interprocess)


def cuda_elapsed_time(start, end) -> float:
    """Milliseconds between two recorded CuPy events."""
    return _cupy.cuda.get_elapsed_time(start, end)


def cuda_stream(priority: int):
    return _cupy.cuda.Stream(non_blocking=False, priority=priority)


def cuda_current_stream():
    return _cupy.cuda.get_current_stream()


def cuda_null_stream():
    return _cupy.cuda.Stream.null


def pin_array(arr: np.ndarray) -> np.ndarray:
    """A copy of ``arr`` in page-locked host memory (fast, asynchronous copies to the GPU)."""
    out = _cupyx.empty_pinned(arr.shape, arr.dtype)
    out[...] = arr
    return out


def is_pinned_array(arr) -> bool:
    """True when ``arr`` is a NumPy array in page-locked host memory CUDA knows."""
    if _cupy is None or not isinstance(arr, np.ndarray) or arr.size == 0:
        return False
    try:
        attrs = _cupy.cuda.runtime.pointerGetAttributes(_data_pointer(arr))
    except _cupy.cuda.runtime.CUDARuntimeError:  # memory CUDA never saw
        return False
    return attrs.type == _cupy.cuda.runtime.memoryTypeHost
