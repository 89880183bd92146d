"""Utilities: ``utils.data`` (datasets and loaders) and ``utils.safetensors``."""
from __future__ import annotations

from . import data, safetensors

__all__ = ["data", "safetensors"]
