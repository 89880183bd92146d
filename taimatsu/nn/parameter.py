"""``Parameter`` (a tensor a Module trains) and ``Buffer`` (a tensor a Module keeps as state)."""
from __future__ import annotations

from .. import creation
from .._tensor import Tensor, _rewrap

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter"]


class Parameter(Tensor):
    """A tensor that, assigned as a Module attribute, is registered as a trainable parameter.

    It shares storage with ``data`` (which is detached) and requires grad by default, also
    inside ``no_grad``.

    Example::

        >>> w = nn.Parameter(taimatsu.randn(3, 4))
        >>> w.requires_grad
        True
    """

    # No __slots__: like PyTorch's, a Parameter accepts extra Python attributes (deepcopy keeps
    # them through Tensor.__deepcopy__, which copies __dict__).

    def __new__(cls, data=None, requires_grad: bool = True):
        if data is None:
            data = creation.empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not "
                            f"{type(data).__name__}")
        p = _rewrap(data.detach(), cls)
        p.requires_grad_(requires_grad)
        return p

    def __init__(self, data=None, requires_grad: bool = True):
        pass  # state is set up in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned as a Module attribute (``persistent=False`` keeps
    it out of ``state_dict``). The module stores a plain tensor, as PyTorch does."""

    def __new__(cls, data=None, *, persistent: bool = True):
        if data is None:
            data = creation.empty(0)
        b = _rewrap(data.detach(), cls)
        b.requires_grad = data.requires_grad
        b.persistent = persistent
        return b

    def __init__(self, data=None, *, persistent: bool = True):
        pass  # state is set up in __new__


class UninitializedTensorMixin:
    """The shared behaviour of the placeholders a lazy module holds before its first call: no
    shape yet, and ``materialize(shape)`` turns them into the real class in place."""

    __slots__ = ()
    cls_to_become: type = None

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Become a ``cls_to_become`` of ``shape`` (uninitialised values), keeping the device
        and dtype given so far (e.g. by ``module.to``) unless others are passed."""
        if device is None:
            device = self.device
        if dtype is None:
            dtype = self.dtype
        self.data = creation.empty(shape, device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error usually "
            "happens in `load_state_dict` when trying to load an uninitialized parameter into an "
            "initialized one. Call `forward` to initialize the parameters before accessing their "
            "attributes."
        )

    def size(self, dim=None):
        return self.shape

    def share_memory_(self):
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`."
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __reduce_ex__(self, proto):
        return (type(self), (self.requires_grad,))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape is not known yet (a lazy module's, until its first call)."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        return super().__new__(cls, creation.empty(0, device=device, dtype=dtype), requires_grad)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass  # state is set up in __new__


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy module's, until its first call)."""

    __slots__ = ()  # the layout of Tensor, which ``materialize`` turns it into
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        b = _rewrap(creation.empty(0, device=device, dtype=dtype), cls)
        b.requires_grad = requires_grad
        return b

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        pass  # state is set up in __new__


def is_lazy(param) -> bool:
    """True for an uninitialised parameter or buffer."""
    return isinstance(param, UninitializedTensorMixin)
