"""taimatsu (松明, "torch"): tensors on NumPy and CuPy with PyTorch's API and autograd.

``import taimatsu as torch`` runs ordinary PyTorch programs.
"""
from __future__ import annotations

from . import autograd, backend
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .backend import device
from .creation import *  # noqa: F403
from .dtypes import (
    bool_ as bool, dtype, float16, float32, float64, get_default_dtype, int8, int16, int32,
    int64, promote_types, set_default_dtype, uint8,
)
from .ops.elementwise import *  # noqa: F403
from .ops.index import *  # noqa: F403
from .ops.linalg import *  # noqa: F403
from .ops.reduce import *  # noqa: F403
from .ops.shape import *  # noqa: F403
from .random import Generator, initial_seed, manual_seed, seed, get_rng_state, set_rng_state
from .size import Size
from ._tensor import Tensor
from . import cuda

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

__version__ = "0.1.0"


def is_tensor(obj):
    """True if ``obj`` is a taimatsu Tensor."""
    return isinstance(obj, Tensor)
from . import optim
from . import nn
