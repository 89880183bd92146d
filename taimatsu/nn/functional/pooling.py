"""Pooling: max, average, adaptive, LP and fractional pooling."""
from __future__ import annotations

__all__: list[str] = []
