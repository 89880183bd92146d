"""Sorting, searching and counting (searchsorted, bucketize, unique, bincount, quantile, ...)."""
from __future__ import annotations

__all__: list[str] = []


class SortingMethods:
    """Tensor methods of this family."""
