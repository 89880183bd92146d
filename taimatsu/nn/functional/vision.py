"""Resampling and rearranging: interpolate, grid_sample, affine_grid, pixel_shuffle, fold/unfold."""
from __future__ import annotations

__all__: list[str] = []
