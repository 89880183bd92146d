"""``taimatsu.Size``: the tuple subclass that ``Tensor.shape`` returns."""
from __future__ import annotations


class Size(tuple):
    """A tensor's shape: a tuple of ints that prints as ``taimatsu.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"taimatsu.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))


def broadcast_shapes(*shapes) -> tuple:
    """The broadcast of ``shapes``, or PyTorch's RuntimeError naming the mismatching sizes."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s, start=ndim - len(s)):
            if n != 1 and out[i] != 1 and out[i] != n:
                raise RuntimeError(
                    f"The size of tensor a ({out[i]}) must match the size of tensor b ({n}) at "
                    f"non-singleton dimension {i}"
                )
            if n != 1:
                out[i] = n
    return tuple(out)
