"""Autocast's op side: the per-thread state and the wrapper that casts an op's inputs.

PyTorch casts at its dispatcher, before an op looks at its arguments; here the op's public
function is the entry, so ``@autocast_op`` wraps it (``Function.apply`` would be too late: ``mm``
and ``linear`` reject mixed dtypes before they apply anything, and mixed dtypes are what autocast
reconciles). The wrapper costs one global read while no autocast region is open anywhere.
The public face (``taimatsu.autocast``, ``is_autocast_enabled``, ...) is ``taimatsu.amp``.
"""
from __future__ import annotations

import functools
import threading
import weakref

from .._tensor_base import TensorBase
from ..autograd import grad_mode
from ..dtypes import bfloat16, float16, float32, float64

LOWER, FP32, FP32_OPT_DTYPE, PROMOTE, BANNED = (
    "lower_precision_fp", "fp32", "fp32_set_opt_dtype", "promote", "banned")

# The ops PyTorch 2.x lists per device type (docs "Autocast Op Reference", autocast_mode.cpp),
# as far as taimatsu has them. Composites PyTorch builds from listed ops (einsum; inner on the
# CPU: their bmm/matmul runs in the lower dtype) are listed under what they end up doing.
_MATMULS = ("__matmul__", "addbmm", "addmm", "baddbmm", "bmm", "conv1d", "conv2d", "conv3d",
            "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "einsum", "linear",
            "matmul", "mm", "prelu", "scaled_dot_product_attention")
_LOSSES = ("binary_cross_entropy_with_logits", "cosine_embedding_loss", "cross_entropy",
           "hinge_embedding_loss", "huber_loss", "kl_div", "l1_loss", "margin_ranking_loss",
           "mse_loss", "multi_margin_loss", "multilabel_margin_loss", "nll_loss",
           "poisson_nll_loss", "smooth_l1_loss", "soft_margin_loss", "triplet_margin_loss")
POLICIES = {
    "cpu": {
        **dict.fromkeys(_MATMULS + ("inner",), LOWER),
        **dict.fromkeys(_LOSSES + (
            "adaptive_avg_pool3d", "adaptive_max_pool3d", "avg_pool3d", "binary_cross_entropy",
            "cdist", "ctc_loss", "grid_sample", "max_pool3d", "nanquantile", "prod", "quantile",
            "trace"), FP32),
        **dict.fromkeys(("cat", "index_copy", "stack"), PROMOTE),
    },
    "cuda": {
        **dict.fromkeys(_MATMULS + ("addmv", "addr", "mv"), LOWER),
        **dict.fromkeys(_LOSSES + (
            "cdist", "cosine_similarity", "group_norm", "layer_norm", "logsumexp", "normalize",
            "pdist", "softplus"), FP32),
        **dict.fromkeys(("cumprod", "cumsum", "log_softmax", "prod", "softmax", "softmin",
                         "sum"), FP32_OPT_DTYPE),
        **dict.fromkeys(("addcdiv", "addcmul", "bilinear", "cross", "dot", "grid_sample",
                         "index_put", "scatter_add", "tensordot"), PROMOTE),
        "binary_cross_entropy": BANNED,
    },
}
_DEFAULT_DTYPE = {"cpu": bfloat16, "cuda": float16}

_BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_"
    "logits\nor torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits "
    "are\nsafe to autocast.")


class _State(threading.local):
    """One thread's autocast settings (PyTorch keeps them thread-local too)."""

    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = dict(_DEFAULT_DTYPE)
        self.cache_enabled = True
        self.nesting = 0
        self.cache = {}  # id(float32 leaf) -> (weakref to it, its cast), for the open region
        self.inside = False  # inside an autocast op: the ops it calls run as called


state = _State()
# Device types enabled, summed over threads: the only thing an op reads while autocast is off.
_enabled_count = 0
_lock = threading.Lock()


def set_enabled(device_type: str, enabled: bool) -> None:
    global _enabled_count
    was = state.enabled[device_type]
    if was != enabled:
        with _lock:
            _enabled_count += 1 if enabled else -1
        state.enabled[device_type] = enabled


def clear_cache() -> None:
    state.cache.clear()


def autocast_op(fn):
    """Cast ``fn``'s tensor arguments as its PyTorch op name's policy says, while autocast is
    on for the device type of its first tensor argument."""
    name = fn.__name__

    @functools.wraps(fn)
    def op(*args, **kwargs):
        if _enabled_count and not state.inside:
            return _call(name, fn, args, kwargs)
        return fn(*args, **kwargs)

    return op


def _call(name, fn, args, kwargs):
    device_type = _device_type(args)
    if device_type is None or not state.enabled.get(device_type, False):
        return fn(*args, **kwargs)
    policy = POLICIES[device_type].get(name)
    if policy is None or (policy == FP32_OPT_DTYPE and kwargs.get("dtype") is not None):
        return fn(*args, **kwargs)  # (an explicit dtype= wins over autocast, as in PyTorch)
    if policy == BANNED:
        raise RuntimeError(_BANNED_MESSAGE)
    target = cast_dtype(policy, device_type, _float_dtypes(args))
    args = tuple(_cast(a, target) for a in args)
    kwargs = {k: _cast(v, target) for k, v in kwargs.items()}
    state.inside = True
    try:
        return fn(*args, **kwargs)
    finally:
        state.inside = False


def cast_dtype(policy: str, device_type: str, dtypes=()):
    """The dtype an op of ``policy`` runs in, given its floating inputs' dtypes (for PROMOTE:
    the lower dtype if every eligible input has it, else float32; float64 never counts)."""
    lower = state.dtype[device_type]
    if policy == LOWER:
        return lower
    if policy == PROMOTE:
        return lower if all(d is lower or d is float64 for d in dtypes) else float32
    return float32


def _device_type(args):
    for a in args:
        if isinstance(a, TensorBase):
            return a._device.type
        if isinstance(a, (list, tuple)):  # cat / stack take a sequence of tensors
            for t in a:
                if isinstance(t, TensorBase):
                    return t._device.type
    return None


def _float_dtypes(args):
    for a in args:
        for t in (a if isinstance(a, (list, tuple)) else (a,)):
            if isinstance(t, TensorBase) and t._data.dtype.kind in "fV":
                yield t.dtype


def _cast(a, target):
    if isinstance(a, (list, tuple)):
        return type(a)(_cast(t, target) for t in a)
    if not isinstance(a, TensorBase) or a._data.dtype.kind not in "fV":
        return a
    d = a.dtype
    if d is target or d is float64:  # float64 is never eligible (PyTorch leaves it alone)
        return a
    # A float32 parameter (leaf, not a view) cast to the lower dtype is cast once per region.
    cache = (state.cache_enabled and d is float32 and target is not float32 and a._requires_grad
             and a._grad_fn is None and a._base is None and grad_mode.state.enabled)
    if not cache:
        return a.to(target)
    hit = state.cache.get(id(a))
    if hit is not None and hit[0]() is a:
        return hit[1]
    out = a.to(target)
    state.cache[id(a)] = (weakref.ref(a), out)
    return out
