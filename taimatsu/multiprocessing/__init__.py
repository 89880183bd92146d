"""``torch.multiprocessing``: Python's multiprocessing plus :func:`spawn`, on MPI.

Everything of the standard :mod:`multiprocessing` is re-exported (``Process``, ``Queue``,
``set_start_method``, ...), as PyTorch does. :func:`spawn` starts its processes with MPI's dynamic
process management, so that ``init_process_group`` inside them forms one MPI world.
"""
from multiprocessing import *

from .spawn import (
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
)

# The standard names are attributes here (``mp.Queue``); ``import *`` of this module brings ours.
__all__ = ["ProcessContext", "ProcessException", "ProcessExitedException",
           "ProcessRaisedException", "spawn"]
