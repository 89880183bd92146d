"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, ``init``,
``functional`` and ``utils``."""
from __future__ import annotations

from . import functional, init, modules, utils
from .modules import *
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["Buffer", "Parameter", "UninitializedBuffer", "UninitializedParameter", "functional",
           "init", "utils"]
__all__ += modules.__all__
