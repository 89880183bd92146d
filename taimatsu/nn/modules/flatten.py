"""``Flatten`` and ``Unflatten``: reshape layers for use inside ``Sequential``."""
from __future__ import annotations

from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flattens dims ``start_dim`` through ``end_dim`` into one.

    Shape:
        - Input: ``(*, S_start, ..., S_end, *)``; Output: ``(*, S_start * ... * S_end, *)``.

    Example::

        >>> nn.Flatten()(torch.randn(32, 1, 5, 5)).shape
        torch.Size([32, 25])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into the shape ``unflattened_size`` (a tuple or list of ints).

    Shape:
        - Input: ``(*, S_dim, *)``; Output: ``(*, U_1, ..., U_n, *)`` with ``prod(U) == S_dim``.

    Example::

        >>> nn.Unflatten(1, (2, 5, 5))(torch.randn(2, 50)).shape
        torch.Size([2, 2, 5, 5])
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        _require_tuple_int(unflattened_size)
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def _require_tuple_int(size) -> None:
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"unflattened_size must be a tuple of ints, but found type "
                        f"{type(size).__name__}")
    for i, s in enumerate(size):
        if not isinstance(s, int):
            raise TypeError(f"unflattened_size must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {i}")
