"""``Tensor``: the data shell plus every method PyTorch users call.

Op families declare their methods next to their ops (``ops/*.py`` each end with a ``*Methods``
mixin); this class adds conversion, autograd entry points and the Python protocol.
"""
from __future__ import annotations

import copy
import weakref

import numpy as np

from . import _arguments, _tensor_base, autograd, backend
from . import dtypes as _dt
from ._tensor_base import TensorBase, make
from .autograd.function import RemovableHandle, _append_hook
from .creation import CreationMethods, empty, tensor
from .ops import convert as _convert
from .ops._util import wrap_dim
from .ops.elementwise import ElementwiseMethods
from .ops.index import IndexMethods
from .ops.linalg import LinalgMethods
from .ops.reduce import ReduceMethods
from .ops.shape import ShapeMethods
from .ops.sorting import SortingMethods
from .ops.special import SpecialMethods


# every public method takes PyTorch's NumPy-style keyword aliases (x.sum(axis=1, keepdims=True))
@_arguments.methods
class Tensor(TensorBase, ElementwiseMethods, ReduceMethods, ShapeMethods, IndexMethods,
             LinalgMethods, SortingMethods, SpecialMethods, CreationMethods):
    """An n-dimensional array on a device, with autograd.

    ``taimatsu.Tensor(data)`` builds a default-float tensor from data; ``Tensor(2, 3)`` an
    uninitialised one of that shape (prefer :func:`taimatsu.tensor` and :func:`taimatsu.empty`).
    """

    __slots__ = ()
    __hash__ = object.__hash__  # tensors hash by identity, as in PyTorch (== is elementwise)

    def __new__(cls, *args, device=None, dtype=None, requires_grad=False):
        if len(args) == 1 and not isinstance(args[0], int):
            t = tensor(args[0], dtype=dtype or _dt.get_default_dtype(), device=device)
        else:
            t = empty(*args, dtype=dtype, device=device)
        if cls is not Tensor:
            t = _rewrap(t, cls)
        t.requires_grad = bool(requires_grad)
        return t

    def __init__(self, *args, **kwargs):
        pass  # all set up in __new__ (subclasses such as Parameter override both)

    # ------------------------------------------------------------ autograd
    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Compute the gradient of this tensor w.r.t. graph leaves and add it into their ``.grad``."""
        autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            return _append_hook(self, "_hooks", hook)
        node = self._grad_fn
        if node._tensor_hooks is None:
            node._tensor_hooks = {}
        hooks = node._tensor_hooks.setdefault(self._output_nr, [])
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return
        node = self._grad_fn
        if node._retained is None:
            node._retained = {}
        node._retained[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def requires_grad_(self, requires_grad: bool = True):
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self):
        """The same storage outside the graph; in-place changes are seen by both."""
        return self._alias()

    def detach_(self):
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn, self._output_nr, self._requires_grad = None, 0, False
        return self

    @property
    def data(self):
        """An alias outside autograd that does not share the version counter (as in PyTorch)."""
        return make(self._data, self._device)

    @data.setter
    def data(self, value):
        if not isinstance(value, TensorBase):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data, self._device = value._data, value._device

    # ------------------------------------------------------------ conversion
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return backend.item(self._data)  # (any one-element array: no reshape needed)

    def tolist(self):
        return backend.to_numpy(self._data).tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The NumPy array behind a CPU tensor (shared memory); ``force`` copies from the GPU."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead."
            )
        if self._device.type != "cpu":
            if not force:
                raise TypeError(
                    f"can't convert {self._device} device type tensor to numpy. Use Tensor.cpu() "
                    "to copy the tensor to host memory first."
                )
            return backend.to_numpy(self._data)
        return self._data

    def __array__(self, dtype=None, copy=None):
        arr = backend.to_numpy(self.detach()._data) if self._device.type != "cpu" else self._data
        return arr if dtype is None else arr.astype(dtype, copy=False)

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    to = _convert.to
    type = _convert.type_
    copy_ = _convert.copy_
    pin_memory = _convert.pin_memory
    is_pinned = _convert.is_pinned

    cpu = _convert.cpu
    cuda = _convert.cuda

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def bfloat16(self):
        return self.to(_dt.bfloat16)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def short(self):
        return self.to(_dt.int16)

    def char(self):
        return self.to(_dt.int8)

    def byte(self):
        return self.to(_dt.uint8)

    def bool(self):
        return self.to(_dt.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    # ------------------------------------------------------------ metadata
    def size(self, dim: int | None = None):
        if dim is None:
            return self.shape
        return self._data.shape[wrap_dim(dim, self._data.ndim)]

    def stride(self, dim: int | None = None):
        item = self._data.itemsize
        st = tuple(s // item for s in self._data.strides)
        return st if dim is None else st[wrap_dim(dim, self._data.ndim)]

    def storage_offset(self) -> int:
        """Elements between the start of the storage and this tensor's first element."""
        return backend.storage_offset(self._data)

    def element_size(self) -> int:
        return self._data.itemsize

    def nelement(self) -> int:
        return self._data.size

    def is_contiguous(self, memory_format=_convert.contiguous_format) -> bool:
        if memory_format is _convert.preserve_format:  # (PyTorch: as contiguous_format)
            memory_format = _convert.contiguous_format
        if memory_format._rank not in (None, self._data.ndim):
            return False
        return bool(memory_format._is_dense_in(self._data))

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"  # ("V": ml_dtypes' bfloat16)

    def is_complex(self) -> bool:
        return False

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return self._data.nbytes

    def data_ptr(self) -> int:
        if self._device.type == "cpu":
            return self._data.__array_interface__["data"][0]
        return self._data.data.ptr

    def get_device(self) -> int:
        return -1 if self._device.type == "cpu" else self._device.index

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def is_quantized(self) -> bool:
        return False

    @property
    def is_meta(self) -> bool:
        return False

    @property
    def _version_counter(self) -> int:
        return self._version[0]

    # ------------------------------------------------------------ Python protocol
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"
            )
        return bool(backend.item(self._data))

    def __float__(self) -> float:
        return float(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def _scalar(self):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return backend.item(self._data)

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return format(self.item(), spec)
        return format(repr(self), spec)

    def __repr__(self) -> str:
        return _convert.tensor_repr(self)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (backend.to_numpy(self._data), str(self._device), self._requires_grad,
                           type(self)))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.")
        new = _rewrap(make(self._data.copy(), self._device), type(self))
        new._requires_grad = self._requires_grad
        if self._grad is not None:
            new._grad = self._grad.__deepcopy__(memo)
        for k, v in getattr(self, "__dict__", {}).items():
            setattr(new, k, copy.deepcopy(v, memo))
        memo[id(self)] = new
        return new


_STATE_SLOTS = tuple(n for n in TensorBase.__slots__ if n != "__weakref__")


def _rewrap(t, cls):
    """The same tensor state in a shell of subclass ``cls`` (e.g. ``nn.Parameter``)."""
    new = object.__new__(cls)
    for name in _STATE_SLOTS:
        setattr(new, name, getattr(t, name))
    return new


def _rebuild(arr, dev, requires_grad, cls):
    t = make(arr, backend.CPU)
    if dev != "cpu":
        t = t.to(dev)
    if cls is not Tensor:
        t = _rewrap(t, cls)
    t._requires_grad = requires_grad
    return t


_tensor_base._TENSOR_TYPE = Tensor
