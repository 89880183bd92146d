"""Every layer class, re-exported as ``taimatsu.nn.<Name>``."""
from __future__ import annotations

from . import activation, container, dropout, flatten, linear, loss, module
from .activation import *
from .container import *
from .dropout import *
from .flatten import *
from .linear import *
from .loss import *
from .module import *

__all__ = []
__all__ += module.__all__
__all__ += container.__all__
__all__ += activation.__all__
__all__ += dropout.__all__
__all__ += flatten.__all__
__all__ += linear.__all__
__all__ += loss.__all__
