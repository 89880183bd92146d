"""save / load in PyTorch's file format."""
from __future__ import annotations

__all__: list[str] = []
