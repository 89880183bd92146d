"""``taimatsu.autocast``: regions where matmul-like ops run in a lower-precision dtype.

Inside ``with taimatsu.autocast("cpu"):`` the ops on PyTorch's lists cast their inputs (matmul,
linear and conv to bfloat16 on the CPU, float16 on CUDA; losses and reductions to float32;
``cat``/``stack`` to the widest input); every other op runs in its inputs' dtype. The casting
itself lives with the ops (``taimatsu.ops._autocast``); this module holds the public controls.
"""
from __future__ import annotations

import functools
import warnings

from .. import cuda
from ..dtypes import bfloat16, float16
from ..dtypes import dtype as _dtype
from ..ops import _autocast as _ac

__all__ = [
    "autocast", "clear_autocast_cache", "get_autocast_dtype", "is_autocast_available",
    "is_autocast_cache_enabled", "is_autocast_enabled", "set_autocast_cache_enabled",
    "set_autocast_dtype", "set_autocast_enabled",
]

_DEVICE_TYPES = ("cpu", "cuda")


def is_autocast_available(device_type: str) -> bool:
    """True for the device types autocast knows (``"cpu"`` and ``"cuda"``)."""
    return device_type in _DEVICE_TYPES


def _check_device_type(device_type) -> str:
    if device_type not in _DEVICE_TYPES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return device_type


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on in this thread for ``device_type`` (no argument: ``"cuda"``)."""
    return _ac.state.enabled[_check_device_type("cuda" if device_type is None else device_type)]


def set_autocast_enabled(device_type, enabled=None) -> None:
    """Turn autocast on or off for ``device_type`` in this thread (``set_autocast_enabled(flag)``
    alone means ``"cuda"``, PyTorch's old form)."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    _ac.set_enabled(_check_device_type(device_type), bool(enabled))


def get_autocast_dtype(device_type: str) -> _dtype:
    """The lower-precision dtype of this thread's autocast for ``device_type``."""
    return _ac.state.dtype[_check_device_type(device_type)]


def set_autocast_dtype(device_type: str, dtype: _dtype) -> None:
    _ac.state.dtype[_check_device_type(device_type)] = dtype


def is_autocast_cache_enabled() -> bool:
    return _ac.state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    _ac.state.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Drop the casts of parameters kept for the open autocast region."""
    _ac.clear_cache()


class autocast:
    """Context manager or decorator: run the region's ops in mixed precision.

    ``dtype`` defaults to ``get_autocast_dtype(device_type)`` (bfloat16 on ``"cpu"``, float16 on
    ``"cuda"``); ``cache_enabled`` (default: the current setting, True) casts each float32
    parameter once per outermost region. Regions nest; ``enabled=False`` turns autocast off
    inside an enabled one. The state is per thread.

    Example::

        with taimatsu.autocast("cpu"):
            loss = loss_fn(model(x), y)   # linear/conv in bfloat16, the loss in float32
        loss.backward()                   # parameters get float32 gradients
    """

    def __init__(self, device_type: str, dtype: _dtype | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(  # noqa: TRY004 (PyTorch's exception type)
                f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = _check_device_type(device_type)
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = is_autocast_cache_enabled() if cache_enabled is None else \
            cache_enabled
        if enabled:
            if device_type == "cuda":
                if not cuda.is_available():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                                  "autocast.", stacklevel=2)
                    enabled = False
                elif self.fast_dtype is bfloat16 and not cuda.is_bf16_supported():
                    raise RuntimeError("Current CUDA Device does not support bfloat16. Please "
                                       "switch dtype to float16.")
            elif self.fast_dtype not in (bfloat16, float16):
                warnings.warn(
                    "In CPU autocast, but the target dtype is not supported. Disabling autocast."
                    "\nCPU Autocast only supports dtypes of torch.bfloat16, torch.float16 "
                    "currently.", stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self):
        st = _ac.state
        self.prev_cache_enabled = st.cache_enabled
        self.prev = st.enabled[self.device]
        self.prev_fastdtype = st.dtype[self.device]
        _ac.set_enabled(self.device, self._enabled)
        st.dtype[self.device] = self.fast_dtype
        st.nesting += 1
        st.cache_enabled = self._cache_enabled
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        st = _ac.state
        st.nesting -= 1
        if st.nesting == 0:
            _ac.clear_cache()
        _ac.set_enabled(self.device, self.prev)
        st.dtype[self.device] = self.prev_fastdtype
        st.cache_enabled = self.prev_cache_enabled
        return False

    def __call__(self, func):
        if not callable(func):
            raise TypeError(
                f"autocast()(func) requires a callable, but got {type(func).__name__}. Did you "
                "mean to use autocast as a context manager? For example:\n"
                "    with torch.autocast(device_type=...):\n"
                "        output = model(input)")

        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return decorate_autocast
