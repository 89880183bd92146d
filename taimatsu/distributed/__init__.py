"""Distributed communication with PyTorch's ``torch.distributed`` API, on MPI and NCCL.

Launch the ranks with ``python -m taimatsu.distributed.run --nproc-per-node N script.py`` (a
torchrun-style launcher on ``mpirun``) or ``mpirun -np N python script.py``, then call
``init_process_group("gloo")``. See docs/distributed.md.
"""
from .distributed_c10d import *
from .distributed_c10d import __all__  # noqa: F401
