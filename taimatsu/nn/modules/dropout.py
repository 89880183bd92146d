"""Dropout layers: element-wise, channel-wise and alpha dropout. Each is one call to its
``nn.functional`` form with the module's ``training`` flag; in eval mode they are identities.
Masks come from taimatsu's generator, so ``taimatsu.manual_seed`` makes them reproducible."""
from __future__ import annotations

from .. import functional as F
from ..functional.dropout import _check_p
from .module import Module

__all__ = ["AlphaDropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
           "FeatureAlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """In training, zeroes each element with probability ``p`` and scales the rest by
    ``1 / (1 - p)``; in eval mode it returns the input unchanged.

    Shape:
        - Input: ``(*)``; Output: ``(*)``, same shape.
    """

    def forward(self, input):
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """In training, zeroes whole channels (``input[n, c]``) with probability ``p`` and scales
    the rest by ``1 / (1 - p)``.

    Shape:
        - Input: ``(N, C, L)`` or ``(C, L)``; Output: same shape.
    """

    def forward(self, input):
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Channel dropout for ``(N, C, H, W)`` inputs (a 3D input is taken as ``(N, C, L)``, with
    PyTorch's warning).

    Shape:
        - Input: ``(N, C, H, W)`` or ``(N, C, L)``; Output: same shape.
    """

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Channel dropout for ``(N, C, D, H, W)`` or ``(C, D, H, W)`` inputs.

    Shape:
        - Input: ``(N, C, D, H, W)`` or ``(C, D, H, W)``; Output: same shape.
    """

    def forward(self, input):
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: keeps a zero-mean, unit-variance input's mean and variance.

    Shape:
        - Input: ``(*)``; Output: same shape.
    """

    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (``input[n, c]``).

    Shape:
        - Input: ``(N, C, *)``; Output: same shape.
    """

    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
