"""``nn.functional``: the math behind the layers, one file per family (as ``nn.modules``),
re-exported here so ``taimatsu.nn.functional.<name>`` is the public path."""
# ruff: noqa: F401
from __future__ import annotations

from . import activation as _activation
from . import attention as _attention
from . import conv as _conv
from . import distance as _distance
from . import dropout as _dropout
from . import linear as _linear
from . import loss as _loss
from . import normalization as _normalization
from . import padding as _padding
from . import pooling as _pooling
from . import sparse as _sparse
from . import vision as _vision
from .activation import *
from .attention import *
from .conv import *
from .distance import *
from .dropout import *
from .linear import *
from .loss import *
from .loss import _legacy_reduction, _reduce, _reduction
from .normalization import *
from .padding import *
from .pooling import *
from .sparse import *
from .vision import *

# (modules by underscore names: ``dropout`` and ``linear`` are also functions of this namespace)
__all__ = [name for family in (_activation, _attention, _conv, _distance, _dropout, _linear, _loss, _normalization, _padding, _pooling, _sparse, _vision)
           for name in family.__all__]
