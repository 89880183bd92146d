"""``taimatsu.cuda``: the GPU behind device ``cuda`` (CuPy): availability, devices, seeds,
synchronisation, memory statistics, events and streams.

Without CuPy or a GPU every function behaves as in PyTorch's CPU-only build: the queries
``is_available``, ``device_count``, ``memory_allocated`` ... answer False or 0, seeding is
accepted silently, and whatever needs a GPU raises PyTorch's error.
"""
from __future__ import annotations

import contextlib

from .. import backend, random
from ..backend import OutOfMemoryError
from ..ops.convert import NOT_COMPILED
from . import amp

__all__ = [
    "Event", "OutOfMemoryError", "Stream", "amp", "current_device", "current_stream",
    "default_stream", "device", "device_count", "device_of", "empty_cache",
    "get_device_capability", "get_device_name", "get_device_properties", "get_rng_state",
    "initial_seed", "is_available", "is_bf16_supported", "manual_seed", "manual_seed_all",
    "max_memory_allocated", "max_memory_reserved", "mem_get_info", "memory_allocated",
    "memory_reserved", "reset_peak_memory_stats", "seed", "seed_all", "set_device",
    "set_rng_state", "stream", "synchronize",
]

def is_available() -> bool:
    """True when CuPy is installed and sees at least one NVIDIA GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    return backend.cuda_device_count()


def _lazy_init() -> None:
    """PyTorch's CPU-only build refuses every GPU query this way."""
    if not is_available():
        raise AssertionError(NOT_COMPILED)


def current_device() -> int:
    """The index of the current GPU."""
    _lazy_init()
    return backend.cuda_current_device()


def _device_index(device, optional: bool = False) -> int:
    """A GPU index from an int, ``"cuda:1"``, a device or a :class:`device` context; a bare
    ``"cuda"`` or None mean the current GPU where ``optional``, and are refused otherwise."""
    if isinstance(device, _device_context):
        return device.idx
    if isinstance(device, int):
        return device
    bare = device is None or (isinstance(device, str) and device == "cuda")
    if isinstance(device, (str, backend.device)):
        dev = backend.device(device)
        if dev.type != "cuda":
            raise ValueError(f"Expected a cuda device, but got: {dev}")
        if not bare:  # (a device object always carries its index)
            return dev.index
    if bare and optional:
        return current_device()
    raise ValueError(
        f"Expected a torch.device with a specified index or an integer, but got:{device}")


def _check_ordinal(index: int) -> None:
    """A GPU index that exists (call after ``_lazy_init``), as CUDA checks it."""
    if index >= device_count():
        raise RuntimeError("CUDA error: invalid device ordinal")


def set_device(device) -> None:
    """Make ``device`` (an index, ``"cuda:N"`` or a device) the current GPU, so that ``"cuda"``
    without an index means it; a negative index is a no-op."""
    index = _device_index(device)
    if index >= 0:
        _lazy_init()
        _check_ordinal(index)
        backend.cuda_set_device(index)


class device:
    """Context manager that makes a GPU current inside the block (None or -1: no change)."""

    def __init__(self, device) -> None:
        self.idx = -1 if device is None else _device_index(device, optional=True)
        self._context = None

    def __enter__(self) -> None:
        if self.idx >= 0:
            if not is_available():
                raise RuntimeError("PyTorch was compiled without CUDA support")
            _check_ordinal(self.idx)
            self._context = backend.cuda_device_context(self.idx)
            self._context.__enter__()

    def __exit__(self, *exc) -> bool:
        if self._context is not None:
            self._context.__exit__(*exc)
            self._context = None
        return False


_device_context = device  # for functions whose ``device`` argument hides the class


class device_of(device):
    """The :class:`device` context of a tensor's GPU (a no-op for CPU tensors)."""

    def __init__(self, obj) -> None:
        super().__init__(obj.device.index if obj.device.type == "cuda" else -1)


class _CudaDeviceProperties:
    """What ``get_device_properties`` reports, under PyTorch's attribute names."""

    def __init__(self, props: dict) -> None:
        self.name = props["name"]
        self.major, self.minor = props["major"], props["minor"]
        self.total_memory = props["totalGlobalMem"]
        self.multi_processor_count = props["multiProcessorCount"]
        self.is_integrated = props["integrated"]
        self.is_multi_gpu_board = props["isMultiGpuBoard"]
        self.max_threads_per_multi_processor = props["maxThreadsPerMultiProcessor"]
        self.warp_size = props["warpSize"]
        self.L2_cache_size = props["l2CacheSize"]

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, "
                f"minor={self.minor}, total_memory={self.total_memory // 2**20}MB, "
                f"multi_processor_count={self.multi_processor_count}, "
                f"L2_cache_size={self.L2_cache_size // 2**20}MB)")


def get_device_properties(device=None) -> _CudaDeviceProperties:
    _lazy_init()
    return _CudaDeviceProperties(backend.cuda_device_properties(_device_index(device, True)))


def get_device_name(device=None) -> str:
    return get_device_properties(device).name


def get_device_capability(device=None) -> tuple[int, int]:
    props = get_device_properties(device)
    return props.major, props.minor


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """False: taimatsu has no bfloat16 on the GPU (CuPy has no bfloat16 dtype)."""
    return False


def synchronize(device=None) -> None:
    """Wait for all queued work on the GPU (timing GPU code needs this)."""
    _lazy_init()
    backend.cuda_synchronize(_device_index(device, True))


# ---------------------------------------------------------------- random numbers
def _generator(index: int | None = None) -> random.Generator:
    return random.generator_for(backend.device("cuda", current_device() if index is None
                                               else index))


def manual_seed(seed: int) -> None:
    """Seed the current GPU's generator; accepted silently without a GPU, as in PyTorch."""
    seed = int(seed)
    if is_available():
        _generator().manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed every GPU's generator; accepted silently without a GPU, as in PyTorch."""
    seed = int(seed)
    for index in range(device_count()):
        _generator(index).manual_seed(seed)


def seed() -> None:
    """Seed the current GPU's generator from fresh entropy (no-op without a GPU)."""
    if is_available():
        _generator().seed()


def seed_all() -> None:
    """Seed every GPU's generator with one fresh random seed (no-op without a GPU)."""
    if is_available():
        manual_seed_all(_generator().seed())


def initial_seed() -> int:
    _lazy_init()
    return _generator().initial_seed()


def get_rng_state(device="cuda"):
    _lazy_init()
    return _generator(_device_index(device, True)).get_state()


def set_rng_state(new_state, device="cuda") -> None:
    """Restore a state from :func:`get_rng_state` (no-op without a GPU, as in PyTorch)."""
    if is_available():
        _generator(_device_index(device, True)).set_state(new_state)


# ---------------------------------------------------------------- memory
def _pool_bytes(device) -> tuple[int, int]:
    return backend.cuda_memory_pool_bytes(_device_index(device, True))


def memory_allocated(device=None) -> int:
    """Bytes of GPU memory held by tensors (CuPy's pool in use); 0 without a GPU."""
    return _pool_bytes(device)[0] if is_available() else 0


def memory_reserved(device=None) -> int:
    """Bytes of GPU memory held by the caching allocator (CuPy's pool); 0 without a GPU."""
    return _pool_bytes(device)[1] if is_available() else 0


def max_memory_allocated(device=None) -> int:
    """Peak of :func:`memory_allocated` since the first memory-peak query or the last
    :func:`reset_peak_memory_stats` (CuPy keeps no peaks of its own); 0 without a GPU."""
    return backend.cuda_peak_bytes(_device_index(device, True))[0] if is_available() else 0


def max_memory_reserved(device=None) -> int:
    """Peak of :func:`memory_reserved`, tracked as :func:`max_memory_allocated`."""
    return backend.cuda_peak_bytes(_device_index(device, True))[1] if is_available() else 0


def reset_peak_memory_stats(device=None) -> None:
    _lazy_init()
    backend.cuda_peak_bytes(_device_index(device, True), reset=True)


def empty_cache() -> None:
    """Release cached, unused GPU memory to the driver (no-op without a GPU)."""
    if is_available():
        backend.cuda_empty_cache()


def mem_get_info(device=None) -> tuple[int, int]:
    """(free, total) bytes on the GPU, as the driver reports them."""
    _lazy_init()
    return backend.cuda_mem_get_info(_device_index(device, True))


# ---------------------------------------------------------------- events and streams
class Event:
    """A CUDA event: ``record`` it on a stream, then ``synchronize``, ``query`` or time the gap
    to another event with ``elapsed_time`` (milliseconds; needs ``enable_timing=True``)."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False,
                 interprocess: bool = False) -> None:
        if not is_available():
            raise RuntimeError("Tried to instantiate dummy base class Event")
        self._event = backend.cuda_event(enable_timing, blocking, interprocess)

    def record(self, stream: Stream | None = None) -> None:
        self._event.record((stream or current_stream())._stream)

    def wait(self, stream: Stream | None = None) -> None:
        (stream or current_stream())._stream.wait_event(self._event)

    def query(self) -> bool:
        return self._event.done

    def synchronize(self) -> None:
        self._event.synchronize()

    def elapsed_time(self, end_event: Event) -> float:
        return backend.cuda_elapsed_time(self._event, end_event._event)


class Stream:
    """A CUDA stream (an ordered queue of GPU work); use it with :func:`stream`."""

    def __init__(self, device=None, priority: int = 0) -> None:
        if not is_available():
            raise RuntimeError("torch.cuda.Stream requires CUDA support")
        with _device_context(device):
            self._stream = backend.cuda_stream(priority)

    @classmethod
    def _wrap(cls, raw) -> Stream:
        s = object.__new__(cls)
        s._stream = raw
        return s

    def synchronize(self) -> None:
        self._stream.synchronize()

    def query(self) -> bool:
        return self._stream.done

    def wait_event(self, event: Event) -> None:
        self._stream.wait_event(event._event)

    def wait_stream(self, stream: Stream) -> None:
        self.wait_event(stream.record_event())

    def record_event(self, event: Event | None = None) -> Event:
        event = event or Event()
        event.record(self)
        return event

    def __eq__(self, other) -> bool:
        return isinstance(other, Stream) and self._stream == other._stream

    def __hash__(self) -> int:
        return hash(self._stream)


def current_stream(device=None) -> Stream:
    """The stream GPU work is queued on now."""
    _lazy_init()
    with _device_context(device):
        return Stream._wrap(backend.cuda_current_stream())


def default_stream(device=None) -> Stream:
    _lazy_init()
    return Stream._wrap(backend.cuda_null_stream())


@contextlib.contextmanager
def stream(stream: Stream | None):
    """Queue the GPU work of the block on ``stream`` (None: no change)."""
    if stream is None:
        yield
        return
    with stream._stream:
        yield
