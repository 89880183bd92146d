"""taimatsu (松明, "torch"): tensors on NumPy and CuPy with PyTorch's API and autograd.

``import taimatsu as torch`` runs ordinary PyTorch programs.
"""
# ruff: noqa: F401, I001  (this module only re-exports; the import order below matters)
from __future__ import annotations

from . import autograd, backend
from ._tensor import Tensor
from .autograd import (
    enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
    set_grad_enabled,
)
from .backend import OutOfMemoryError, device
from ._layouts import *
from .creation import *
from .dtypes import (
    bfloat16, bool_ as bool, dtype, finfo, float16, float32, float64, get_default_dtype, iinfo,
    int8, int16, int32, int64, promote_types, set_default_dtype, uint8,
)
from .ops.elementwise import *
from .ops.index import *
from .ops.linalg import *
from .ops.reduce import *
from .ops.shape import *
from .ops.sorting import *
from .ops.special import *
from .serialization import *
from .random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .size import Size

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

__version__ = "0.1.0"


def is_tensor(obj):
    """True if ``obj`` is a taimatsu Tensor."""
    return isinstance(obj, Tensor)


# Subpackages built on the names above.
from . import accelerator, amp, backends, cuda, distributed, linalg, nn, optim, special, utils
from .amp.autocast_mode import (
    autocast, clear_autocast_cache, get_autocast_dtype, is_autocast_cache_enabled,
    is_autocast_enabled, set_autocast_cache_enabled, set_autocast_dtype, set_autocast_enabled,
)

# torch.* also has these nn.functional ops, with the same arguments (those whose torch.* forms
# take other arguments, e.g. torch.batch_norm's order or an int reduction, are left out).
from .nn.functional import (
    adaptive_avg_pool1d, adaptive_max_pool1d, alpha_dropout, avg_pool1d, bilinear, celu, celu_,
    channel_shuffle, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d,
    cosine_similarity, dropout, feature_alpha_dropout, group_norm, hardshrink, layer_norm,
    max_pool1d, max_pool1d_with_indices, max_pool2d, max_pool3d, native_channel_shuffle,
    pairwise_distance, pdist, pixel_shuffle, pixel_unshuffle, prelu, relu_, rms_norm, rrelu,
    rrelu_, selu, selu_, threshold, threshold_,
)

# Keep this last: every public function above takes PyTorch's NumPy-style keyword aliases
# (axis=, keepdims=, x=, ...); the ops' own names stay unwrapped for calls inside the package.
from . import _arguments
_arguments.export(globals(), [_n for _n in list(globals()) if not _n.startswith("_")])


def __getattr__(name: str):
    # taimatsu.multiprocessing imports the standard multiprocessing (10-35 ms): on first use.
    if name == "multiprocessing":
        import importlib

        return importlib.import_module("taimatsu.multiprocessing")
    raise AttributeError(f"module 'taimatsu' has no attribute '{name}'")
