"""``cupy.cuda`` of the double: one device, a memory pool, events, streams and the runtime calls
taimatsu makes. Nothing runs asynchronously, so synchronising is always a no-op."""
from __future__ import annotations

import threading
import time
import weakref

from . import _array

TOTAL_MEMORY = 16 << 30  # what the double's device reports as its memory

memoryTypeUnregistered, memoryTypeHost, memoryTypeDevice, memoryTypeManaged = 0, 1, 2, 3
is_hip = False


class CUDARuntimeError(RuntimeError):
    """CuPy's error for a failed CUDA runtime call."""


def getDeviceCount() -> int:
    return 1


def getDevice() -> int:
    return 0


def setDevice(index: int) -> None:
    _array._Device(index)


def deviceSynchronize() -> None:
    pass


def runtimeGetVersion() -> int:
    return 12080  # CUDA 12.8, for the runtime and the driver alike


driverGetVersion = runtimeGetVersion


def getDeviceProperties(index: int) -> dict:
    _array._Device(index)
    return {"name": _array.DEVICE_NAME.encode(), "totalGlobalMem": TOTAL_MEMORY, "major": 9,
            "minor": 0, "multiProcessorCount": 1, "integrated": 0, "isMultiGpuBoard": 0,
            "maxThreadsPerMultiProcessor": 2048, "warpSize": 32, "l2CacheSize": 1 << 20}


def memGetInfo() -> tuple[int, int]:
    return TOTAL_MEMORY - _array.POOL.held, TOTAL_MEMORY


# Host arrays made by cupyx.empty_pinned, by address: page-locked memory CUDA knows.
PINNED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


class PointerAttributes:
    def __init__(self, type: int, device: int, ptr: int):
        self.type, self.device = type, device
        self.devicePointer = self.hostPointer = ptr


def pointerGetAttributes(ptr: int) -> PointerAttributes:
    """CUDA 12 answers for any address: memory it never saw is "unregistered"."""
    kind = memoryTypeHost if ptr in PINNED else memoryTypeUnregistered
    return PointerAttributes(kind, 0 if kind == memoryTypeHost else -2, ptr)


Device = _array._Device
MemoryPointer = _array._MemoryPointer


def get_device_id() -> int:
    return 0


def is_available() -> bool:
    return True


class Event:
    """``cupy.cuda.Event``: records the host clock (the double's work is done when queued)."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        if interprocess and not disable_timing:
            raise CUDARuntimeError("cudaErrorInvalidValue: invalid argument")
        self.disable_timing = disable_timing
        self._time = None

    def record(self, stream=None) -> None:
        self._time = time.perf_counter()

    def synchronize(self) -> None:
        pass

    @property
    def done(self) -> bool:
        return True


def get_elapsed_time(start_event: Event, end_event: Event) -> float:
    if start_event.disable_timing or end_event.disable_timing or None in (
            start_event._time, end_event._time):
        raise CUDARuntimeError("cudaErrorInvalidResourceHandle: invalid resource handle")
    return (end_event._time - start_event._time) * 1000.0


_current = threading.local()


class Stream:
    """``cupy.cuda.Stream``; ``with stream:`` makes it current in this thread."""

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        self.ptr = 0 if null else id(self)
        self.is_non_blocking = non_blocking
        self.priority = 0 if priority is None else priority
        self._previous: list = []

    def synchronize(self) -> None:
        pass

    @property
    def done(self) -> bool:
        return True

    def record(self, event=None) -> Event:
        event = Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event) -> None:
        pass

    def use(self) -> Stream:
        _current.stream = self
        return self

    def __enter__(self):
        self._previous.append(get_current_stream())
        return self.use()

    def __exit__(self, *exc) -> None:
        _current.stream = self._previous.pop()

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and other.ptr == self.ptr

    def __hash__(self) -> int:
        return hash(self.ptr)


Stream.null = Stream(null=True)


def get_current_stream(device_id: int = -1) -> Stream:
    return getattr(_current, "stream", Stream.null)


class MemoryPool:
    """``cupy.get_default_memory_pool()``: the double's one pool."""

    def used_bytes(self) -> int:
        return _array.POOL.used

    def total_bytes(self) -> int:
        return _array.POOL.held

    def free_bytes(self) -> int:
        return _array.POOL.held - _array.POOL.used

    def free_all_blocks(self, stream=None) -> None:
        _array.POOL.held = _array.POOL.used

    def n_free_blocks(self) -> int:
        return 0

    def set_limit(self, size=None, fraction=None) -> None:
        _array.POOL.limit = size or 0

    def get_limit(self) -> int:
        return _array.POOL.limit


class PinnedMemoryPool:
    def free_all_blocks(self) -> None:
        pass

    def n_free_blocks(self) -> int:
        return 0


class MemoryHook:
    """``cupy.cuda.memory_hook.MemoryHook``: subclasses see allocations while entered."""

    name = "MemoryHook"

    def __enter__(self):
        hooks = _array.POOL.hooks
        hooks.active = (*getattr(hooks, "active", ()), self)
        return self

    def __exit__(self, *exc):
        hooks = _array.POOL.hooks
        hooks.active = tuple(h for h in hooks.active if h is not self)

    def malloc_preprocess(self, **kwargs):
        pass

    def malloc_postprocess(self, device_id, size, mem_size, mem_ptr, pmem_id):
        pass
