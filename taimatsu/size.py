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
