"""Data parallelism (``torch.nn.parallel``): :class:`DistributedDataParallel` across processes
and :class:`DataParallel` on one device."""
from __future__ import annotations

from .data_parallel import DataParallel
from .distributed import DistributedDataParallel

__all__ = ["DataParallel", "DistributedDataParallel"]
