"""``taimatsu.cuda``: whether a GPU is usable, and its seed and synchronisation."""
from __future__ import annotations

from . import backend, random


def is_available() -> bool:
    """True when CuPy is installed and sees at least one NVIDIA GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    return backend.cuda_device_count()


def current_device() -> int:
    return backend.device("cuda").xp.cuda.runtime.getDevice()


def synchronize(device=None) -> None:
    """Wait for all queued GPU work (timing GPU code needs this)."""
    if is_available():
        backend.device("cuda").xp.cuda.Device().synchronize()


def manual_seed(seed: int) -> None:
    random.generator_for(backend.device("cuda")).manual_seed(seed)


manual_seed_all = manual_seed
