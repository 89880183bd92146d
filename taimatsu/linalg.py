"""``taimatsu.linalg``: the functions of ``torch.linalg`` built so far."""
from __future__ import annotations

from . import _arguments
from .ops.linalg import linalg_cross as cross
from .ops.linalg import matmul

__all__ = ["cross", "matmul"]

_arguments.export(globals(), __all__)  # PyTorch's NumPy-style keyword aliases (axis=, x=, ...)
