"""Normalization: batch, instance, group, layer and RMS norms, local response norm, normalize."""
from __future__ import annotations

__all__: list[str] = []
