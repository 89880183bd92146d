"""The tensor's data shell: one array plus the fields autograd needs. No math lives here.

The method-rich :class:`taimatsu.Tensor` subclasses this shell; ops create their results through
:func:`make` so they never import ``_tensor.py`` (which imports them).
"""
from __future__ import annotations

import numpy as np

from .dtypes import _FROM_NP
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
        "_hooks",
        "_output_nr",
        "_retains_grad",
        "_version",
        "_view_fn",
        "_view_version",
        "device",
        "grad",
        "grad_fn",
        "requires_grad",
    )

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
        return self.device.xp

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _is_view(self) -> bool:
        return self._base is not None

    # -- internal constructors: no validation, the caller guarantees the array is right --
    def _wrap(self, arr):
        """A new tensor on this tensor's device holding ``arr``."""
        return make(arr, self.device)

    def _view(self, arr, view_fn):
        """A view of this tensor: ``arr`` aliases its memory; ``view_fn(base)`` redoes the view on
        any tensor shaped like the root base, which autograd needs for in-place writes."""
        t = make(arr, self.device)
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
        t = make(self._data, self.device)
        t._version = self._version
        return t

    def _bump_version(self) -> None:
        self._version[0] += 1


def make(arr, device, requires_grad: bool = False):
    """Wrap ``arr`` (already on ``device``, already a supported dtype) in a new Tensor."""
    if arr.__class__ in _NUMPY_SCALARS:  # NumPy ops on 0-d arrays return scalars
        arr = np.asarray(arr)
    t = object.__new__(_TENSOR_TYPE)
    t._data = arr
    t.device = device
    t.requires_grad = requires_grad
    t.grad = None
    t.grad_fn = None
    t._output_nr = 0
    t._version = [0]
    t._base = None
    t._view_fn = None
    t._view_version = 0
    t._hooks = None
    t._retains_grad = False
    return t
