"""``taimatsu.backends``: the switches PyTorch programs set on their backends (cuDNN, cuBLAS,
MPS, oneDNN). taimatsu's kernels are NumPy and CuPy array code that calls neither cuDNN nor
oneDNN, so the flags are stored and read back as in PyTorch but select nothing."""
from __future__ import annotations

from . import cpu, cuda, cudnn, mkldnn, mps

__all__ = ["cpu", "cuda", "cudnn", "mkldnn", "mps"]
