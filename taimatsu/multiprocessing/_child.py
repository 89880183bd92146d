"""The body of a process started by :func:`taimatsu.multiprocessing.spawn`."""
from __future__ import annotations

import os
import pickle
import runpy
import sys
import traceback
import types

from .spawn import _STATUS_TAG


def _load_main(path: str) -> None:
    """Re-import the parent's main script as ``__mp_main__`` (and alias it as ``__main__``) so
    that functions defined there can be unpickled, as multiprocessing's "spawn" does."""
    module = types.ModuleType("__mp_main__")
    module.__dict__.update(runpy.run_path(path, run_name="__mp_main__"))
    sys.modules["__main__"] = sys.modules["__mp_main__"] = module


def main() -> None:
    from mpi4py import MPI

    parent = MPI.Comm.Get_parent()
    payload, main_path, path, cwd, env = parent.bcast(None, root=0)
    parent.gather(os.getpid(), root=0)
    sys.path[:] = path
    os.chdir(cwd)
    # The parent's variables (MASTER_ADDR, ...), but not its MPI identity: ours is our own.
    os.environ.update({k: v for k, v in env.items()
                       if not k.startswith(("OMPI_", "PMIX_", "OPAL_"))})
    try:
        if main_path is not None:
            _load_main(main_path)
        fn, args = pickle.loads(payload)
        fn(MPI.COMM_WORLD.Get_rank(), *args)
        status = ("ok", None)
    except BaseException:  # noqa: BLE001 - reported to the parent, which re-raises it
        status = ("error", traceback.format_exc())
    parent.ssend(status, dest=0, tag=_STATUS_TAG)
    if status[0] == "ok":
        parent.Disconnect()
    else:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # the others may be blocked in a collective: the parent ends them
