"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, ``init``,
``functional`` and ``utils``."""
from __future__ import annotations

from . import functional, init, modules, parallel, utils
from .modules import *
from .parallel import DataParallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["Buffer", "DataParallel", "Parameter", "UninitializedBuffer", "UninitializedParameter",
           "functional", "init", "parallel", "utils"]
__all__ += modules.__all__
