"""``Parameter`` (a tensor a Module trains) and ``Buffer`` (a tensor a Module keeps as state)."""
from __future__ import annotations

from .. import creation
from .._tensor import Tensor, _rewrap

__all__ = ["Buffer", "Parameter"]


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
