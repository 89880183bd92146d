"""DataLoader internals, at PyTorch's paths: ``collate``, ``fetch``, ``worker``."""
from __future__ import annotations

from . import collate, fetch, worker

__all__ = ["collate", "fetch", "worker"]
