"""Indexing: ``x[...]`` get and set (ints, slices, steps, None, ..., integer tensors/lists,
boolean masks and mixes), masked_fill, gather, scatter/scatter_add, index_select."""
from __future__ import annotations

__all__ = []


class IndexMethods:
    """The indexing ``Tensor`` methods."""

    __slots__ = ()
