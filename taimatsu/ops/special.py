"""Special elementwise functions (logaddexp, xlogy, lgamma, erfinv, ...)."""
from __future__ import annotations

__all__: list[str] = []


class SpecialMethods:
    """Tensor methods of this family."""
