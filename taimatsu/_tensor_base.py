"""The tensor's data shell: one array plus the fields autograd needs. No math lives here.

The method-rich :class:`taimatsu.Tensor` subclasses this shell; ops create their results through
:func:`make` so they never import ``_tensor.py`` (which imports them).
"""
from __future__ import annotations

import numpy as np

from .dtypes import _FROM_NP, c_type_name, legacy_name
from .size import Size

_TENSOR_TYPE: type = None
# A set lookup on the exact class is cheaper than isinstance(arr, np.generic) on every result.
_NUMPY_SCALARS = frozenset(np.dtype(c).type for c in "?bhilqBHILQefdg")  # the rich Tensor class; set once by taimatsu._tensor at import


class TensorBase:
    """Storage array, device and autograd state. Views share ``_version`` (a one-item list)
    with their base, so an in-place write through either is seen by saved-tensor checks."""

    __slots__ = (
        "__weakref__",
        "_base",
        "_data",
        "_device",
        "_grad",
        "_grad_fn",
        "_hooks",
        "_output_nr",
        "_requires_grad",
        "_retains_grad",
        "_version",
        "_view_fn",
        "_view_version",
    )

    # -- autograd state: public reads, validated writes (internal code uses the slots) --
    @property
    def device(self):
        return self._device

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value) -> None:
        if value.__class__ is not bool:
            raise RuntimeError("requires_grad must be a bool")
        if self._grad_fn is not None:
            if not value:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return
        if value and self._data.dtype.kind not in "fcV":
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               "gradients")
        self._requires_grad = value

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            _check_grad_assignment(self, value)
        self._grad = value

    # -- cheap metadata, read straight off the array --
    @property
    def dtype(self):
        return _FROM_NP[self._data.dtype]

    @property
    def shape(self):
        return Size(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    @property
    def xp(self):
        return self._device.xp

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def _is_view(self) -> bool:
        return self._base is not None

    # -- internal constructors: no validation, the caller guarantees the array is right --
    def _wrap(self, arr):
        """A new tensor on this tensor's device holding ``arr``."""
        return make(arr, self._device)

    def _view(self, arr, view_fn):
        """A view of this tensor: ``arr`` aliases its memory; ``view_fn(base)`` redoes the view on
        any tensor shaped like the root base, which autograd needs for in-place writes."""
        t = make(arr, self._device)
        t._version = self._version
        t._view_version = self._version[0]  # its history is current as of this version
        base = self._base
        if base is None:
            t._base, t._view_fn = self, view_fn
        else:
            parent_fn = self._view_fn
            t._base, t._view_fn = base, (lambda b: view_fn(parent_fn(b)))
        return t

    def _alias(self):
        """A new shell over the same storage and version counter, outside the graph."""
        t = make(self._data, self._device)
        t._version = self._version
        return t

    def _bump_version(self) -> None:
        self._version[0] += 1


def _check_grad_assignment(t, g) -> None:
    """PyTorch's refusals of ``t.grad = g`` (a wrong gradient would silently corrupt updates)."""
    if not isinstance(g, TensorBase):
        raise TypeError("assigned grad expected to be a Tensor or None but got grad of type "
                        f"{type(g).__name__}")
    if g is t:
        raise RuntimeError("can't assign Variable as its own grad")
    if g._data.dtype != t._data.dtype:
        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{c_type_name(g._data.dtype)}' to a "
            f"tensor with grad_dtype '{legacy_name(t._data.dtype)}'. The gradient must match the "
            "tensor's grad_dtype (defaults to the tensor's dtype).")
    if g._device != t._device:
        raise RuntimeError("assigned grad has data located on a different device")
    if g._data.shape != t._data.shape:
        raise RuntimeError(
            f"attempting to assign a gradient of size '{list(g._data.shape)}' to a tensor of "
            f"size '{list(t._data.shape)}'. Please ensure that the gradient and the tensor are "
            "the same size")


def make(arr, device, requires_grad: bool = False):
    """Wrap ``arr`` (already on ``device``, already a supported dtype) in a new Tensor."""
    if arr.__class__ in _NUMPY_SCALARS:  # NumPy ops on 0-d arrays return scalars
        arr = np.asarray(arr)
    t = object.__new__(_TENSOR_TYPE)
    t._data = arr
    t._device = device
    t._requires_grad = requires_grad
    t._grad = None
    t._grad_fn = None
    t._output_nr = 0
    t._version = [0]
    t._base = None
    t._view_fn = None
    t._view_version = 0
    t._hooks = None
    t._retains_grad = False
    return t
