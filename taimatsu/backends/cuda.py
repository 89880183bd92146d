"""``taimatsu.backends.cuda``: PyTorch's CUDA switches (``matmul.allow_tf32`` ...)."""
from __future__ import annotations

from .. import backend

__all__ = ["is_built", "matmul"]


def is_built() -> bool:
    """True when CUDA support (CuPy with a GPU) is present."""
    return backend.cuda_is_available()


class cuBLASModule:
    """``matmul``: the cuBLAS precision switches; unknown names raise, as in PyTorch, so a typo
    in a flag name is not silently stored. CuPy reads TF32 from the ``CUPY_TF32`` environment
    variable at import, so these flags are recorded but change no kernel."""

    __slots__ = ("allow_bf16_reduced_precision_reduction",
                 "allow_fp16_reduced_precision_reduction", "allow_tf32")

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True

    def __getattr__(self, name):
        raise AttributeError("Unknown attribute " + name)

    def __setattr__(self, name, value) -> None:
        if name not in self.__slots__:
            raise AttributeError("Unknown attribute " + name)
        object.__setattr__(self, name, value)


matmul = cuBLASModule()
