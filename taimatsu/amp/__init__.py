"""``taimatsu.amp``: mixed-precision training helpers (``GradScaler``)."""
from __future__ import annotations

from .grad_scaler import GradScaler

__all__ = ["GradScaler"]
