"""``taimatsu.accelerator``: the device-agnostic face of the GPU (here: CUDA through CuPy).

Without an accelerator ``is_available()`` is False, ``current_accelerator()`` None and
``device_count()`` 0; everything that needs the device raises PyTorch's RuntimeError.
"""
from __future__ import annotations

from . import backend, cuda

__all__ = [
    "current_accelerator", "current_device_index", "device_count", "device_index", "empty_cache",
    "is_available", "max_memory_allocated", "max_memory_reserved", "memory_allocated",
    "memory_reserved", "reset_peak_memory_stats", "set_device_index", "synchronize",
]


def is_available() -> bool:
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> backend.device | None:
    """``device("cuda")`` when a GPU is usable, else None."""
    return backend.device("cuda") if cuda.is_available() else None


def device_count() -> int:
    return cuda.device_count()


def _require() -> None:
    if not cuda.is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


def current_device_index() -> int:
    _require()
    return cuda.current_device()


def set_device_index(device) -> None:
    _require()
    cuda.set_device(device)


def synchronize(device=None) -> None:
    """Wait for all queued work on the accelerator."""
    _require()
    cuda.synchronize(device)


class device_index(cuda.device):
    """Context manager that makes accelerator ``device`` current inside the block."""

    def __enter__(self) -> None:
        _require()
        super().__enter__()


def empty_cache() -> None:
    _require()
    cuda.empty_cache()


def memory_allocated(device_index=None) -> int:
    _require()
    return cuda.memory_allocated(device_index)


def max_memory_allocated(device_index=None) -> int:
    _require()
    return cuda.max_memory_allocated(device_index)


def memory_reserved(device_index=None) -> int:
    _require()
    return cuda.memory_reserved(device_index)


def max_memory_reserved(device_index=None) -> int:
    _require()
    return cuda.max_memory_reserved(device_index)


def reset_peak_memory_stats(device_index=None) -> None:
    _require()
    cuda.reset_peak_memory_stats(device_index)
