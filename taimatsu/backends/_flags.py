"""The ``flags(...)`` context manager that cudnn and mkldnn share."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def set_flags(module, values: dict):
    """Set ``module``'s flags to ``values`` inside the block, then restore them."""
    saved = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(module, name, value)
