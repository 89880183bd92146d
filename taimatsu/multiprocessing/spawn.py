"""``spawn(fn, args, nprocs)``: run ``fn(i, *args)`` in ``nprocs`` new processes, on MPI.

The processes are started with MPI_Comm_spawn (mpi4py), so they form their own MPI world of
``nprocs`` ranks: ``init_process_group("gloo")`` inside ``fn`` gives rank ``i`` of ``nprocs``,
with no launcher. ``fn`` and ``args`` are pickled (``fn`` must be importable: a module-level
function; the main script is re-imported as ``__mp_main__`` in each process, so guard its
entry point with ``if __name__ == "__main__":``, as with multiprocessing's "spawn"). When one
process raises, the others are terminated and :class:`ProcessRaisedException` carries its
traceback, as in PyTorch.
"""
from __future__ import annotations

import os
import pickle
import signal
import sys
import time

_STATUS_TAG = 7  # the tag of each child's final ("ok" | "error", traceback) message


class ProcessException(Exception):
    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = error_pid


class ProcessRaisedException(ProcessException):
    """A spawned process raised; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process ended without reporting (killed, or ``os._exit``)."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code=None,
                 signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProcessContext:
    """The spawned processes: ``join()`` waits for them (True once all finished, False when
    ``timeout`` seconds passed first) and raises when one of them failed."""

    def __init__(self, intercomm, pids: list[int]):
        self._comm = intercomm
        self._pids = pids
        self._status = [intercomm.irecv(source=i, tag=_STATUS_TAG) for i in range(len(pids))]

    def pids(self) -> list[int]:
        return list(self._pids)

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (forever when None). When a process failed, the others
        get SIGTERM, then SIGKILL ``grace_period`` seconds later (default 1)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for i, request in enumerate(self._status):
                if request is None:
                    continue
                done, message = request.test()
                if not done:
                    if not _alive(self._pids[i]):
                        self._terminate(grace_period)
                        raise ProcessExitedException(
                            f"process {i} terminated without reporting a result (killed, or it "
                            "called os._exit)", i, self._pids[i])
                    continue
                self._status[i] = None
                kind, trace = message
                if kind == "error":
                    self._terminate(grace_period)
                    raise ProcessRaisedException(
                        f"\n\n-- Process {i} terminated with the following error:\n{trace}", i,
                        self._pids[i])
            if all(request is None for request in self._status):
                self._comm.Disconnect()
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.01)

    def _terminate(self, grace_period: float | None) -> None:
        """End every process still running: SIGTERM, then SIGKILL after ``grace_period``."""
        for pid in self._pids:
            if _alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + (1.0 if grace_period is None else grace_period)
        while any(_alive(pid) for pid in self._pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        for pid in self._pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def spawn(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in a new process of one MPI
    world. Returns None once all finished (``join=True``) or a :class:`ProcessContext`.
    ``daemon`` and ``start_method`` are accepted for PyTorch's signature; MPI starts the
    processes (a fresh interpreter each, like the "spawn" method).

    Example::

        def worker(rank, world_size):
            dist.init_process_group("gloo", rank=rank, world_size=world_size)
            ...

        if __name__ == "__main__":
            torch.multiprocessing.spawn(worker, args=(2,), nprocs=2)
    """
    if not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f"nprocs must be a positive int, got {nprocs!r}")
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise RuntimeError(
            "taimatsu.multiprocessing.spawn starts its processes with MPI: pip install "
            "'taimatsu[mpi]' (and Open MPI), or start the ranks with "
            "python -m taimatsu.distributed.run --nproc-per-node N script.py") from e
    payload = pickle.dumps((fn, tuple(args)))  # fails here, not in the children, if unpicklable
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    boot = (f"import sys; sys.path.insert(0, {root!r}); "
            "from taimatsu.multiprocessing._child import main; main()")
    # Without OVERSUBSCRIBE Open MPI refuses more processes than cores.
    info = MPI.Info.Create(items={"map_by": "core:OVERSUBSCRIBE"})
    comm = MPI.COMM_SELF.Spawn(sys.executable, args=["-c", boot], maxprocs=nprocs, info=info)
    info.Free()
    comm.bcast((payload, main, list(sys.path), os.getcwd(), dict(os.environ)), root=MPI.ROOT)
    context = ProcessContext(comm, comm.gather(None, root=MPI.ROOT))
    if not join:
        return context
    while not context.join():
        pass
    return None
