"""Neural-network building blocks: ``Module``, ``Parameter``, layers, losses, ``init``,
``functional`` and ``utils``."""
from __future__ import annotations

from . import init, utils
from .modules import *  # noqa: F403
from .parameter import Buffer, Parameter
