"""Process groups and collectives with PyTorch's ``torch.distributed`` API, on MPI and NCCL.

The ranks of a job are the processes of one MPI launch (``mpirun -np N`` or
``python -m taimatsu.distributed.run``); torchrun's variables (RANK, WORLD_SIZE, ...) are checked
against that world. CPU tensors travel through mpi4py (backends "mpi" and "gloo"), CUDA tensors
through NCCL via CuPy (backend "nccl"). Collectives write into the tensors' arrays in place and
are not differentiable, as in PyTorch.

Timeouts: ``init_process_group`` (waiting for every rank to join), a blocking collective or a
``Work.wait`` that runs past its ``timeout`` makes a watchdog thread print which operation hung
and end the whole job, as PyTorch's NCCL watchdog does: an MPI job cannot go on once one rank or
one collective is lost, so these are not exceptions a program could catch.
"""
from __future__ import annotations

import enum
import faulthandler
import importlib.util
import os
import sys
import threading
import time
import traceback
import warnings
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from .._tensor_base import TensorBase

__all__ = [
    "Backend", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError",
    "GroupMember", "ProcessGroup", "ReduceOp", "Work", "all_gather", "all_gather_into_tensor",
    "all_gather_object", "all_reduce", "all_to_all_single", "barrier", "broadcast",
    "broadcast_object_list", "destroy_process_group", "gather", "gather_object", "get_backend",
    "get_global_rank", "get_group_rank", "get_process_group_ranks", "get_rank", "get_world_size",
    "group", "init_process_group", "irecv", "is_available", "is_gloo_available", "is_initialized",
    "is_mpi_available", "is_nccl_available", "is_torchelastic_launched", "isend", "new_group",
    "recv", "reduce", "reduce_scatter", "reduce_scatter_tensor", "scatter", "scatter_object_list",
    "send",
]


class DistError(RuntimeError):
    """Base of the errors raised by taimatsu.distributed (as torch.distributed.DistError)."""


class DistBackendError(DistError):
    """A collective failed in the communication engine."""


class DistNetworkError(DistError):
    """A peer could not be reached."""


class DistStoreError(DistError):
    """The ranks did not meet (rendezvous) within the timeout."""


class RedOpType(enum.Enum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7


class ReduceOp:
    """The element-wise reductions: ``ReduceOp.SUM``, ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``,
    ``BAND``, ``BOR``, ``BXOR`` (the bitwise ones for integer and bool tensors only)."""

    RedOpType = RedOpType
    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


class Backend(str):
    """A backend name: ``"gloo"`` and ``"mpi"`` run on MPI (CPU tensors), ``"nccl"`` on NCCL
    (CUDA tensors); ``"cpu:gloo,cuda:nccl"`` names one per device type."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    MPI = "mpi"
    NCCL = "nccl"

    def __new__(cls, name: str) -> Backend:  # noqa: PYI034
        if not isinstance(name, str):
            raise ValueError(  # noqa: TRY004 - PyTorch's exception type
                f"Backend constructor parameter must be string-ish, but got: {type(name)}")
        value = name.lower()
        _backend_map(value)  # validates
        return str.__new__(cls, value)


_BACKEND_DEVICE = {"gloo": "cpu", "mpi": "cpu", "nccl": "cuda"}


def _backend_map(name: str) -> dict[str, str]:
    """device type -> backend for a backend string ("gloo", "undefined", "cpu:gloo,cuda:nccl")."""
    if name == Backend.UNDEFINED:
        return {"cpu": Backend.GLOO, "cuda": Backend.NCCL}
    if name in _BACKEND_DEVICE:
        return {_BACKEND_DEVICE[name]: name}
    pairs = [part.partition(":") for part in name.split(",")]
    if all(sep and _BACKEND_DEVICE.get(b) == dev for dev, sep, b in pairs):
        return {dev: b for dev, _, b in pairs}
    raise ValueError(f"Invalid backend: '{name}'; taimatsu.distributed supports 'gloo' and 'mpi' "
                     "(cpu tensors, on MPI), 'nccl' (cuda tensors) or a list like "
                     "'cpu:gloo,cuda:nccl'")


def is_available() -> bool:
    """True: the distributed package is always built (its engines load on demand)."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py is installed (``pip install 'taimatsu[mpi]'``)."""
    return importlib.util.find_spec("mpi4py") is not None


is_gloo_available = is_mpi_available  # "gloo" runs on the same MPI engine


def is_nccl_available() -> bool:
    """True when CuPy is installed (NCCL comes with CuPy's CUDA wheels)."""
    return importlib.util.find_spec("cupy") is not None


def is_torchelastic_launched() -> bool:
    """True when started by a torchrun-style launcher (it sets TORCHELASTIC_RUN_ID)."""
    return os.getenv("TORCHELASTIC_RUN_ID") is not None


# ---------------------------------------------------------------------------------------------
# Process groups
# ---------------------------------------------------------------------------------------------

NON_GROUP_MEMBER = -100  # what new_group returns to ranks outside the group, as PyTorch


class ProcessGroup:
    """A set of ranks with its communicators: MPI for cpu tensors, NCCL (made on first use) for
    cuda tensors. Create with :func:`init_process_group` / :func:`new_group`."""

    def __init__(self, mpi, ranks: list[int], backend: str, timeout: timedelta, name: str):
        self._mpi = mpi
        self._nccl = None
        self._ranks = ranks  # global rank of each group rank
        self._backend = backend
        self._devices = _backend_map(backend)
        self._timeout = timeout
        self.group_name = name

    def rank(self) -> int:
        return self._mpi.rank()

    def size(self) -> int:
        return self._mpi.size()

    def __repr__(self) -> str:
        return f"ProcessGroup(name={self.group_name!r}, backend={self._backend!r}, " \
               f"ranks={self._ranks})"

    def _engine(self, device):
        if device.type not in self._devices:
            raise RuntimeError(f"No backend type associated with device type {device.type}")
        if device.type == "cpu":
            return self._mpi
        if self._nccl is None:
            from ._nccl import NCCLEngine

            self._nccl = NCCLEngine(self._mpi, device)
        return self._nccl

    def _free(self) -> None:
        if self._nccl is not None:
            self._nccl.free()
        self._mpi.free()


class _WorldMeta(type):
    @property
    def WORLD(cls) -> ProcessGroup | None:
        return _state.default_pg


class GroupMember(metaclass=_WorldMeta):
    """``GroupMember.WORLD`` is the default group (None before init_process_group)."""

    NON_GROUP_MEMBER = NON_GROUP_MEMBER


class group(metaclass=_WorldMeta):
    """``group.WORLD`` is the default group (None before init_process_group)."""


class _State:
    def __init__(self):
        self.default_pg: ProcessGroup | None = None
        self.groups: list[ProcessGroup] = []
        self.group_count = 0
        self.hook = None  # the excepthook init_process_group replaced


_state = _State()


def is_initialized() -> bool:
    """True once :func:`init_process_group` has run (and until destroy_process_group)."""
    return _state.default_pg is not None


def _default_group() -> ProcessGroup:
    if _state.default_pg is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return _state.default_pg


def _resolve(group) -> ProcessGroup | int:
    if group is None or group is _state.default_pg:
        return _default_group()
    _default_group()
    return group


def _launch_env(name: str) -> int | None:
    value = os.environ.get(name)
    return None if value in (None, "") else int(value)


def _check_valid_timeout(timeout) -> None:
    if not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{timeout}")


def _load_mpi():
    try:
        from . import _mpi
    except ImportError as e:
        raise RuntimeError("taimatsu.distributed needs mpi4py and an MPI library: pip install "
                           "'taimatsu[mpi]' (and apt-get install openmpi-bin libopenmpi-dev); "
                           f"import failed: {e}") from e
    return _mpi


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join this process to the job's default process group.

    The ranks are the processes of the MPI launch. ``world_size``/``rank`` (or RANK and
    WORLD_SIZE from the environment, or ``?rank=&world_size=`` in a ``tcp://``/``file://``
    ``init_method``) are checked against it: a mismatch is a ValueError, not a hang. Returns
    once every rank has called it; when some rank has not within ``timeout`` (default 30
    minutes, 10 for nccl) the job ends with a message saying so. ``store`` and ``pg_options``
    are not supported (MPI is the rendezvous).

    Example::

        dist.init_process_group("gloo")      # under mpirun -np 2 or taimatsu.distributed.run
        t = torch.ones(3); dist.all_reduce(t)   # t == 2 on both ranks
    """
    if _state.default_pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None:
        raise ValueError("taimatsu.distributed has no Store: the ranks meet through the MPI launch "
                         "(mpirun or python -m taimatsu.distributed.run); leave store=None")
    if pg_options is not None:
        raise ValueError("pg_options is not supported by taimatsu.distributed's MPI/NCCL backends")
    name = Backend(Backend.UNDEFINED if backend is None else backend)
    if timeout is None:
        timeout = timedelta(minutes=10 if name == Backend.NCCL else 30)
    _check_valid_timeout(timeout)
    url_rank, url_size = _parse_init_method(init_method or "env://")
    want_size = world_size if world_size != -1 else (url_size or _launch_env("WORLD_SIZE"))
    want_rank = rank if rank != -1 else (url_rank if url_rank is not None else _launch_env("RANK"))
    with _Guard(None, "init_process_group", timeout):
        mpi = _wait_for_every_rank_to_start_mpi(timeout)
        mpi_rank, mpi_size = mpi.world_rank_size()
        _check_launch(want_size, want_rank, mpi_rank, mpi_size)
        engine = mpi.world()  # collective: returns once every rank called init_process_group
    if mpi_size > 1:
        _install_excepthook(mpi_rank, mpi.abort)
    pg = ProcessGroup(engine, list(range(mpi_size)), name, timeout, group_name or "0")
    _state.default_pg = pg
    _state.groups = [pg]
    _state.group_count = 1
    if device_id is not None and "cuda" in pg._devices:
        from ..backend import device as Device

        pg._engine(Device(device_id))  # forms the NCCL communicator now, as PyTorch does


def _wait_for_every_rank_to_start_mpi(timeout: timedelta):
    """Load the MPI engine. MPI_Init returns only once every rank of the launch has started it,
    and it holds the GIL meanwhile, so the watchdog thread cannot run: faulthandler's C timer
    ends the process instead (printing this function's name in its stack dump) past
    ``timeout``, and mpirun then ends the other ranks."""
    if "mpi4py.MPI" in sys.modules:
        return _load_mpi()
    faulthandler.dump_traceback_later(timeout.total_seconds(), exit=True)
    try:
        return _load_mpi()
    finally:
        faulthandler.cancel_dump_traceback_later()


def _check_launch(want_size, want_rank, mpi_rank: int, mpi_size: int) -> None:
    """The world size and rank the program expects must be the MPI launch's."""
    if want_size is not None and want_size != mpi_size:
        raise ValueError(
            f"init_process_group: world_size is {want_size} but this process is rank {mpi_rank} "
            f"of an MPI job of {mpi_size} process(es); taimatsu's ranks are the processes of the "
            f"MPI launch: start them with `python -m taimatsu.distributed.run --nproc-per-node "
            f"{want_size} script.py` or `mpirun -np {want_size} python script.py`, or fix "
            "WORLD_SIZE / world_size")
    if want_rank is not None and want_rank != mpi_rank:
        raise ValueError(f"init_process_group: rank is {want_rank} but MPI gave this process rank "
                         f"{mpi_rank}; leave RANK/rank to the launcher")


def _parse_init_method(url: str) -> tuple[int | None, int | None]:
    parsed = urlparse(url)
    if parsed.scheme not in ("env", "tcp", "file"):
        raise ValueError(f"init_method must be env://, tcp:// or file://, got {url!r}")
    query = parse_qs(parsed.query)
    rank = int(query["rank"][0]) if "rank" in query else None
    size = int(query["world_size"][0]) if "world_size" in query else None
    return rank, size


def _install_excepthook(rank: int, abort) -> None:
    """An uncaught exception on one rank prints its traceback (prefixed with the rank) and aborts
    the job: the other ranks may be blocked in a collective that would otherwise never return."""
    old = sys.excepthook

    def hook(tp, value, tb):
        text = "".join(traceback.format_exception(tp, value, tb))
        sys.stderr.write("".join(f"[rank{rank}]: {line}\n" for line in text.splitlines()))
        sys.stderr.flush()
        abort(1)

    _state.hook = old
    sys.excepthook = hook


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Free ``group``; with no argument (or group.WORLD) free every group and uninitialise."""
    if group == NON_GROUP_MEMBER:
        return
    if group is None or group is _state.default_pg:
        for pg in _state.groups:
            pg._free()
        _state.default_pg, _state.groups, _state.group_count = None, [], 0
        if _state.hook is not None:
            sys.excepthook, _state.hook = _state.hook, None
        return
    if group not in _state.groups:
        raise ValueError(f"Invalid process group specified: {group}")
    group._free()
    _state.groups.remove(group)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None,
              use_local_synchronization: bool = False, group_desc=None, device_id=None,
              sort_ranks: bool = True):
    """A group of the given global ``ranks`` (all ranks must call it, members or not); ranks
    outside it get ``GroupMember.NON_GROUP_MEMBER``."""
    world = _default_group()
    size = world.size()
    if ranks is None:
        ranks = list(range(size))
    else:
        ranks = sorted(ranks) if sort_ranks else list(ranks)
        if len(set(ranks)) != len(ranks):
            raise ValueError(f"ranks list must not contain duplicate entries, got {ranks}")
        if len(ranks) > size:
            raise ValueError("the new group's world size should be less or equal to the world "
                             "size set by init_process_group")
        for r in ranks:
            if r < 0 or r >= size:
                raise ValueError(f"Rank {r} is out of range. Valid ranks are 0 to {size - 1} "
                                 f"(world_size={size})")
    if timeout is None:
        timeout = world._timeout
    _check_valid_timeout(timeout)
    name = Backend(backend) if backend is not None else world._backend
    me = world.rank()
    member = me in ranks
    with _Guard(world, "new_group"):
        engine = world._mpi.split(0 if member else None, ranks.index(me) if member else 0)
    _state.group_count += 1
    if not member:
        return NON_GROUP_MEMBER
    pg = ProcessGroup(engine, ranks, name, timeout, group_desc or str(_state.group_count - 1))
    _state.groups.append(pg)
    return pg


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (default: the world); -1 outside the group."""
    if group == NON_GROUP_MEMBER:
        return -1
    return _resolve(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """The number of ranks in ``group`` (default: the world); -1 outside the group."""
    if group == NON_GROUP_MEMBER:
        return -1
    return _resolve(group).size()


def get_backend(group: ProcessGroup | None = None) -> Backend:
    """The backend name ``group`` was made with ("undefined" when none was given)."""
    pg = _resolve(group)
    if pg == NON_GROUP_MEMBER:
        raise ValueError("Invalid process group specified")
    return pg._backend


def get_process_group_ranks(group: ProcessGroup | None) -> list[int]:
    """The global ranks of ``group``, in group-rank order."""
    return list(_resolve(group)._ranks)


def get_global_rank(group: ProcessGroup, group_rank: int) -> int:
    """The global rank of ``group_rank`` in ``group``."""
    ranks = _resolve(group)._ranks
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {group}")
    return ranks[group_rank]


def get_group_rank(group: ProcessGroup, global_rank: int) -> int:
    """The rank in ``group`` of ``global_rank``."""
    ranks = _resolve(group)._ranks
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {group}")
    return ranks.index(global_rank)


# ---------------------------------------------------------------------------------------------
# Work handles and the watchdog
# ---------------------------------------------------------------------------------------------

class _Watchdog:
    """Ends the job when a blocking call (a collective, ``Work.wait``, init_process_group's
    joining) outlives its timeout. One daemon thread checks the calls in flight (one per
    thread) twice a second. MPI_Init holds the GIL, so it has its own timer: see
    :func:`_wait_for_every_rank_to_start_mpi`."""

    def __init__(self):
        # thread id -> (deadline, what, timeout in seconds, group or None during init)
        self.active: dict[int, tuple[float, str, float, ProcessGroup | None]] = {}
        self.thread: threading.Thread | None = None

    def watch(self) -> None:
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            for deadline, what, limit, pg in list(self.active.values()):
                if now > deadline:
                    _expired(what, limit, pg)


def _expired(what: str, limit: float, pg: ProcessGroup | None) -> None:
    if pg is None:
        rank = os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("RANK", "?"))
        detail = ("waiting for every rank to join: some rank did not call init_process_group "
                  "(it crashed, hangs, or belongs to another job)")
    else:
        rank = _state.default_pg.rank() if _state.default_pg is not None else "?"
        detail = (f"group of {pg.size()} ranks {pg._ranks}: another rank is missing or stuck "
                  "in a different collective")
    sys.stderr.write(f"[rank{rank}]: taimatsu.distributed: {what} did not complete within the "
                     f"timeout of {timedelta(seconds=limit)} ({detail}). Aborting the job.\n")
    sys.stderr.flush()
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized():
        mpi.COMM_WORLD.Abort(1)
    os._exit(1)  # MPI_Init itself hung: exiting makes mpirun end the other ranks


_watchdog = _Watchdog()


class _Guard:
    """Watch the enclosed blocking call: past ``timeout`` (default: the group's) the job ends.
    (A class rather than a generator-based context manager: this runs on every collective.)"""

    __slots__ = ("entry",)

    def __init__(self, pg: ProcessGroup | None, what: str, timeout: timedelta | None = None):
        limit = (pg._timeout if timeout is None else timeout).total_seconds()
        self.entry = (time.monotonic() + limit, what, limit, pg)

    def __enter__(self) -> None:
        if _watchdog.thread is None:
            _watchdog.thread = threading.Thread(target=_watchdog.watch,
                                                name="taimatsu-c10d-watchdog", daemon=True)
            _watchdog.thread.start()
        _watchdog.active[threading.get_ident()] = self.entry

    def __exit__(self, *exc) -> None:
        del _watchdog.active[threading.get_ident()]


class Work:
    """The handle an ``async_op=True`` call returns: ``wait()`` blocks until the operation is
    done (the output tensors are valid only then), ``is_completed()`` polls."""

    def __init__(self, pg: ProcessGroup, what: str, pending, finish, outputs):
        self._pg = pg
        self._what = what
        self._pending = pending
        self._finish = finish
        self._outputs = outputs
        self._done = False

    def is_completed(self) -> bool:
        if not self._done and self._pending.test():
            self._complete()
        return self._done

    def wait(self, timeout: timedelta | None = None) -> bool:
        """Block until done; past ``timeout`` (default: the group's) the job is aborted."""
        if not self._done:
            with _Guard(self._pg, self._what, timeout):
                self._pending.wait()
            self._complete()
        return True

    def is_success(self) -> bool:
        return self.is_completed()

    def result(self) -> list:
        """The output tensors (valid after ``wait()``)."""
        return list(self._outputs)

    def source_rank(self) -> int:
        """The global rank a completed ``irecv(src=None)`` received from."""
        return self._pg._ranks[self._pending.source()]

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()


def _run(pg, what: str, issue, finish, outputs, async_op: bool, timeout=None):
    """Issue an operation (``issue(async_op)`` returns its pending requests when async) and either
    hand back a Work or complete it now under the watchdog. ``finish`` runs on completion."""
    if async_op:
        work = Work(pg, what, issue(True), finish, outputs)
    else:
        with _Guard(pg, what, timeout):
            issue(False)
        if finish is not None:
            finish()
    for t in outputs:
        t._bump_version()  # the arrays are written in place, as by any in-place op
    return work if async_op else None


# ---------------------------------------------------------------------------------------------
# Argument checks (PyTorch's messages)
# ---------------------------------------------------------------------------------------------

def _check_single_tensor(param, name: str) -> None:
    if not isinstance(param, TensorBase):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"torch.Tensor\n             but got {type(param)} instead.")


def _check_tensor_list(param, name: str) -> None:
    if not isinstance(param, list):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]\n             but got {type(param)} instead.")
    if not all(isinstance(p, TensorBase) for p in param):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"List[torch.Tensor]\n             but got {type(param)} with elements of "
                        f"type {[type(p) for p in param]}.")


def _check_op(op, dtype, what: str) -> None:
    if not isinstance(op, RedOpType):
        raise TypeError(f"{what}(): op must be a taimatsu.distributed.ReduceOp (e.g. "
                        f"ReduceOp.SUM), got {op!r}")
    kind = dtype.kind
    if op in (RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR) and kind not in "biu":
        raise RuntimeError(f"Cannot use ReduceOp.{op.name} with non-integral dtype")
    if op is RedOpType.AVG and kind == "b":
        raise RuntimeError("Cannot use ReduceOp.AVG with bool tensors")


def _check_same(what: str, tensors, ref) -> None:
    for t in tensors:
        if t._data.dtype != ref._data.dtype:
            raise RuntimeError(f"{what}: tensors must all have dtype {ref.dtype}, got {t.dtype}")
        if t._device != ref._device:
            raise RuntimeError(f"{what}: tensors must all be on {ref.device}, got {t.device}")


def _check_list(what: str, tensors, ref, n: int, name: str) -> None:
    """``tensors`` must be ``n`` tensors like ``ref`` (dtype, device, number of elements)."""
    if len(tensors) != n:
        raise RuntimeError(f"{what}: invalid {name} (expected length {n}, got {len(tensors)})")
    _check_same(what, tensors, ref)
    for i, t in enumerate(tensors):
        if t._data.size != ref._data.size:
            raise RuntimeError(f"{what}: invalid tensor size at index {i} (expected "
                               f"{tuple(ref.shape)}, got {tuple(t.shape)})")


def _rooted(what: str, tensor, tensors, name: str, role: str, group, global_root, group_root):
    """The checks gather and scatter share: ``tensors`` (``name``) is a list on the root rank
    and only there. Returns (group, root's group rank, am I the root), or None off the group."""
    _check_single_tensor(tensor, "tensor")
    if tensors:
        _check_tensor_list(tensors, name)
    pg = _member(group, what)
    if pg is None:
        return None
    root = _root(pg, global_root, group_root, what, default=0)
    mine = pg.rank() == root
    if mine and not tensors:
        raise ValueError(f"Argument ``{name}`` must be specified on {role} rank.")
    if not mine and tensors:
        raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")
    if mine:
        _check_list(what, tensors, tensor, pg.size(), name)
    return pg, root, mine


def _root(pg, global_rank, group_rank, what: str, default: int | None = None) -> int:
    """The group rank of a root/peer given as a global rank or as a group rank."""
    if group_rank is not None:
        if global_rank is not None:
            raise ValueError("Can't specify both group_rank and global_rank")
    elif global_rank is None:
        if default is None:
            raise ValueError("Must specify global_rank or group_rank")
        group_rank = default
    elif pg is _state.default_pg:
        group_rank = global_rank
    else:
        group_rank = get_group_rank(pg, global_rank)
    if not 0 <= group_rank < pg.size():
        raise RuntimeError(f"{what}: invalid root rank: {group_rank} (the group has "
                           f"{pg.size()} ranks)")
    return group_rank


def _member(group, what: str):
    """The group to run on, or None (with PyTorch's warning) on a rank outside it."""
    pg = _resolve(group)
    if pg == NON_GROUP_MEMBER:
        warnings.warn(f"Running {what} on global rank {_default_group().rank()} which does not "
                      "belong to the given group.", stacklevel=3)
        return None
    return pg


# ---------------------------------------------------------------------------------------------
# Buffers: MPI/NCCL need contiguous memory; non-contiguous tensors go through a copy
# ---------------------------------------------------------------------------------------------

def _inout(t):
    """A contiguous array with ``t``'s values and a function that puts results back into ``t``."""
    arr = t._data
    if arr.flags.c_contiguous:
        return arr, None
    buf = t.xp.ascontiguousarray(arr)

    def write_back():
        arr[...] = buf

    return buf, write_back


def _flat_output(tensors, xp, dtype):
    """One contiguous buffer for ``tensors`` in order and the function that scatters it back."""
    sizes = [t._data.size for t in tensors]
    buf = xp.empty(sum(sizes), dtype=dtype)

    def write_back():
        start = 0
        for t, n in zip(tensors, sizes):
            t._data[...] = buf[start:start + n].reshape(t._data.shape)
            start += n

    return buf, write_back


def _flat_input(tensors, xp):
    return xp.concatenate([xp.ravel(t._data) for t in tensors]) if tensors else None


def _chain(*steps):
    steps = [s for s in steps if s is not None]
    if not steps:
        return None

    def run():
        for s in steps:
            s()

    return run


def _average(buf, n: int, xp):
    """ReduceOp.AVG: MPI sums; divide here (integers round toward zero, like C and NCCL)."""
    def divide():
        if buf.dtype.kind == "f":
            xp.divide(buf, n, out=buf)
        else:
            quotient = xp.abs(buf) // n
            buf[...] = xp.where(buf < 0, -quotient, quotient)

    return divide


def _reduction(op, n, buf, xp):
    """The engine's op name and the post-step AVG needs."""
    if op is RedOpType.AVG:
        return "SUM", _average(buf, n, xp)
    return op.name, None


# ---------------------------------------------------------------------------------------------
# Collectives
# ---------------------------------------------------------------------------------------------

def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` across the group with ``op``; every rank gets the result in place."""
    _check_single_tensor(tensor, "tensor")
    pg = _member(group, "all_reduce")
    if pg is None:
        return None
    _check_op(op, tensor._data.dtype, "all_reduce")
    engine = pg._engine(tensor._device)
    buf, write_back = _inout(tensor)
    name, post = _reduction(op, pg.size(), buf, tensor.xp)
    return _run(pg, "all_reduce", lambda a: engine.all_reduce(buf, name, a),
                _chain(post, write_back), [tensor], async_op)


def reduce(tensor, dst: int | None = None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst: int | None = None):
    """Reduce ``tensor`` across the group into rank ``dst``'s ``tensor`` (others keep theirs)."""
    _check_single_tensor(tensor, "tensor")
    pg = _member(group, "reduce")
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "reduce")
    _check_op(op, tensor._data.dtype, "reduce")
    engine = pg._engine(tensor._device)
    buf, write_back = _inout(tensor)
    mine = pg.rank() == root
    name, post = _reduction(op, pg.size(), buf, tensor.xp)
    return _run(pg, "reduce", lambda a: engine.reduce(buf, name, root, a),
                _chain(post, write_back) if mine else None, [tensor] if mine else [], async_op)


def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank of the group."""
    _check_single_tensor(tensor, "tensor")
    pg = _member(group, "broadcast")
    if pg is None:
        return None
    root = _root(pg, src, group_src, "broadcast")
    engine = pg._engine(tensor._device)
    buf, write_back = _inout(tensor)
    mine = pg.rank() == root
    return _run(pg, "broadcast", lambda a: engine.broadcast(buf, root, a),
                None if mine else write_back, [] if mine else [tensor], async_op)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[i]`` with rank i's ``tensor`` on every rank."""
    _check_tensor_list(tensor_list, "tensor_list")
    _check_single_tensor(tensor, "tensor")
    pg = _member(group, "all_gather")
    if pg is None:
        return None
    _check_list("all_gather", tensor_list, tensor, pg.size(), "output tensor list")
    engine = pg._engine(tensor._device)
    send, _ = _inout(tensor)
    recv, write_back = _flat_output(tensor_list, tensor.xp, send.dtype)
    return _run(pg, "all_gather", lambda a: engine.all_gather(send, recv, a), write_back,
                tensor_list, async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Gather every rank's ``input_tensor`` into ``output_tensor`` (concatenated along dim 0, or
    stacked: any shape with world_size times the input's elements)."""
    _check_single_tensor(output_tensor, "output_tensor")
    _check_single_tensor(input_tensor, "input_tensor")
    pg = _member(group, "all_gather_into_tensor")
    if pg is None:
        return None
    _check_same("all_gather_into_tensor", [output_tensor], input_tensor)
    n = pg.size()
    if output_tensor._data.size != n * input_tensor._data.size:
        raise RuntimeError(
            f"all_gather_into_tensor: output tensor size must be equal to world_size times input "
            f"tensor size (output {tuple(output_tensor.shape)}, input {tuple(input_tensor.shape)}, "
            f"world_size {n})")
    engine = pg._engine(input_tensor._device)
    send, _ = _inout(input_tensor)
    recv, write_back = _inout(output_tensor)
    return _run(pg, "all_gather_into_tensor", lambda a: engine.all_gather(send, recv, a),
                write_back, [output_tensor], async_op)


def gather(tensor, gather_list=None, dst: int | None = None, group=None, async_op: bool = False,
           group_dst: int | None = None):
    """Collect every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (default 0)."""
    checked = _rooted("gather", tensor, gather_list, "gather_list", "destination", group, dst,
                      group_dst)
    if checked is None:
        return None
    pg, root, mine = checked
    engine = pg._engine(tensor._device)
    send, _ = _inout(tensor)
    recv = write_back = None
    outputs = gather_list if mine else []
    if mine:
        recv, write_back = _flat_output(gather_list, tensor.xp, send.dtype)
    return _run(pg, "gather", lambda a: engine.gather(send, recv, root, a), write_back, outputs,
                async_op)


def scatter(tensor, scatter_list=None, src: int | None = None, group=None,
            async_op: bool = False, group_src: int | None = None):
    """Rank ``src`` (default 0) sends ``scatter_list[i]`` to rank i, which receives it into
    ``tensor``."""
    checked = _rooted("scatter", tensor, scatter_list, "scatter_list", "source", group, src,
                      group_src)
    if checked is None:
        return None
    pg, root, mine = checked
    send = _flat_input(scatter_list, tensor.xp) if mine else None
    engine = pg._engine(tensor._device)
    recv, write_back = _inout(tensor)
    return _run(pg, "scatter", lambda a: engine.scatter(send, recv, root, a), write_back,
                [tensor], async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input_list[i]`` across the group with ``op`` into rank i's ``output``."""
    _check_single_tensor(output, "output")
    _check_tensor_list(input_list, "input_list")
    pg = _member(group, "reduce_scatter")
    if pg is None:
        return None
    _check_list("reduce_scatter", input_list, output, pg.size(), "input_list")
    _check_op(op, output._data.dtype, "reduce_scatter")
    return _reduce_scatter(pg, output, _flat_input(input_list, output.xp), op, async_op)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input`` (world_size blocks of ``output``'s size, in rank order) across the group;
    rank i gets block i in ``output``."""
    _check_single_tensor(output, "output")
    _check_single_tensor(input, "input")
    pg = _member(group, "reduce_scatter_tensor")
    if pg is None:
        return None
    _check_same("reduce_scatter_tensor", [input], output)
    if input._data.size != pg.size() * output._data.size:
        raise RuntimeError(
            f"reduce_scatter_tensor: input tensor size must be world_size times output tensor "
            f"size (input {tuple(input.shape)}, output {tuple(output.shape)}, world_size "
            f"{pg.size()})")
    _check_op(op, output._data.dtype, "reduce_scatter_tensor")
    return _reduce_scatter(pg, output, _inout(input)[0], op, async_op)


def _reduce_scatter(pg, output, send, op, async_op):
    engine = pg._engine(output._device)
    recv, write_back = _inout(output)
    name, post = _reduction(op, pg.size(), recv, output.xp)
    return _run(pg, "reduce_scatter", lambda a: engine.reduce_scatter(send, recv, name, a),
                _chain(post, write_back), [output], async_op)


def all_to_all_single(output, input, output_split_sizes=None, input_split_sizes=None, group=None,
                      async_op: bool = False):
    """Split ``input`` along dim 0 (evenly, or by ``input_split_sizes``) and send piece i to rank
    i; ``output`` receives the pieces from every rank, concatenated in rank order."""
    _check_single_tensor(output, "output")
    _check_single_tensor(input, "input")
    pg = _member(group, "all_to_all_single")
    if pg is None:
        return None
    _check_same("all_to_all_single", [input], output)
    n = pg.size()
    send_split = _split(input, input_split_sizes, n, "input")
    recv_split = _split(output, output_split_sizes, n, "output")
    engine = pg._engine(input._device)
    send, _ = _inout(input)
    recv, write_back = _inout(output)
    return _run(pg, "all_to_all_single",
                lambda a: engine.all_to_all(send.reshape(-1), send_split, recv.reshape(-1),
                                            recv_split, a),
                write_back, [output], async_op)


def _split(t, splits, n: int, name: str) -> tuple[list[int], list[int]]:
    """(elements, element offsets) per rank for a dim-0 split of ``t``."""
    rows = t._data.shape[0] if t._data.ndim else 1
    row = t._data.size // rows if rows else 0
    if splits is None or len(splits) == 0:
        if rows % n:
            raise RuntimeError(f"all_to_all_single: {name} dim 0 ({rows}) is not divisible by "
                               f"the world size {n}")
        splits = [rows // n] * n
    splits = [int(s) for s in splits]
    if len(splits) != n or sum(splits) != rows or min(splits) < 0:
        raise RuntimeError(f"all_to_all_single: {name}_split_sizes {splits} must have {n} "
                           f"non-negative entries summing to {name} dim 0 ({rows})")
    counts = [s * row for s in splits]
    return counts, [sum(counts[:k]) for k in range(n)]


def barrier(group=None, async_op: bool = False, device_ids=None,
            timeout: timedelta | None = None):
    """Block until every rank of the group has entered barrier."""
    pg = _member(group, "barrier")
    if pg is None:
        return None
    return _run(pg, "barrier", pg._mpi.barrier, None, [], async_op, timeout)


# ---------------------------------------------------------------------------------------------
# Point to point
# ---------------------------------------------------------------------------------------------

def isend(tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None):
    """Start sending ``tensor`` to rank ``dst``; returns a Work (don't modify ``tensor`` before
    its ``wait()``)."""
    _check_single_tensor(tensor, "tensor")
    pg = _member(group, "isend")
    if pg is None:
        return None
    peer = _root(pg, dst, group_dst, "isend")
    engine = pg._engine(tensor._device)
    send, _ = _inout(tensor)
    return Work(pg, "isend", engine.send(send, peer, tag, True), None, [])


def irecv(tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None):
    """Start receiving into ``tensor`` from rank ``src`` (any rank when None); returns a Work."""
    _check_single_tensor(tensor, "tensor")
    pg = _member(group, "irecv")
    if pg is None:
        return None
    peer = None if src is None and group_src is None else _root(pg, src, group_src, "irecv")
    engine = pg._engine(tensor._device)
    recv, write_back = _inout(tensor)
    work = Work(pg, "irecv", engine.recv(recv, peer, tag, True), write_back, [tensor])
    tensor._bump_version()
    return work


def _not_self(pg, peer: int, kind: str) -> None:
    if peer == pg.rank():
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank of "
                         "the current process.")


def send(tensor, dst: int | None = None, group=None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until it is sent)."""
    _check_single_tensor(tensor, "tensor")
    pg = _member(group, "send")
    if pg is None:
        return
    peer = _root(pg, dst, group_dst, "send")
    _not_self(pg, peer, "destination")
    isend(tensor, group=pg, tag=tag, group_dst=peer).wait()


def recv(tensor, src: int | None = None, group=None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (any rank when None); returns the sender's
    global rank."""
    _check_single_tensor(tensor, "tensor")
    pg = _member(group, "recv")
    if pg is None:
        return -1
    if src is not None or group_src is not None:
        group_src = _root(pg, src, group_src, "recv")
        _not_self(pg, group_src, "source")
    work = irecv(tensor, group=pg, tag=tag, group_src=group_src)
    work.wait()
    return work.source_rank()


# ---------------------------------------------------------------------------------------------
# Python objects (pickled, as in PyTorch; tensors inside travel with them)
# ---------------------------------------------------------------------------------------------

def broadcast_object_list(object_list: list, src: int | None = None, group=None, device=None,
                          group_src: int | None = None) -> None:
    """Replace ``object_list``'s items on every rank with rank ``src``'s (default 0), in place."""
    pg = _member(group, "broadcast_object_list")
    if pg is None:
        return
    root = _root(pg, src, group_src, "broadcast_object_list", default=0)
    with _Guard(pg, "broadcast_object_list"):
        objs = pg._mpi.broadcast_objects(object_list if pg.rank() == root else None, root)
    if len(objs) != len(object_list):
        raise RuntimeError(f"broadcast_object_list: object_list has {len(object_list)} items on "
                           f"this rank but {len(objs)} on the source rank {root}")
    object_list[:] = objs


def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list[i]`` with rank i's ``obj`` on every rank."""
    pg = _member(group, "all_gather_object")
    if pg is None:
        return
    if len(object_list) != pg.size():
        raise RuntimeError(f"all_gather_object: object_list must have one slot per rank "
                           f"({pg.size()}), got {len(object_list)}")
    with _Guard(pg, "all_gather_object"):
        object_list[:] = pg._mpi.all_gather_objects(obj)


def gather_object(obj, object_gather_list: list | None = None, dst: int | None = None, group=None,
                  group_dst: int | None = None) -> None:
    """Collect every rank's ``obj`` into ``object_gather_list`` on rank ``dst`` (default 0)."""
    pg = _member(group, "gather_object")
    if pg is None:
        return
    root = _root(pg, dst, group_dst, "gather_object", default=0)
    mine = pg.rank() == root
    if mine and (object_gather_list is None or len(object_gather_list) != pg.size()):
        raise ValueError(f"gather_object: object_gather_list must have one slot per rank "
                         f"({pg.size()}) on the destination rank, got {object_gather_list!r}")
    if not mine and object_gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination "
                         "ranks.")
    with _Guard(pg, "gather_object"):
        objs = pg._mpi.gather_objects(obj, root)
    if mine:
        object_gather_list[:] = objs


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list=None,
                        src: int | None = None, group=None, group_src: int | None = None) -> None:
    """Rank ``src`` (default 0) sends ``scatter_object_input_list[i]`` to rank i, which finds it
    in ``scatter_object_output_list[0]``."""
    pg = _member(group, "scatter_object_list")
    if pg is None:
        return
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("Expected argument scatter_object_output_list to be a list of size at "
                         "least 1.")
    root = _root(pg, src, group_src, "scatter_object_list", default=0)
    objs = None
    if pg.rank() == root:
        objs = list(scatter_object_input_list or ())
        if len(objs) != pg.size():
            raise ValueError(f"scatter_object_list: scatter_object_input_list must have one item "
                             f"per rank ({pg.size()}) on the source rank, got {len(objs)}")
    with _Guard(pg, "scatter_object_list"):
        scatter_object_output_list[0] = pg._mpi.scatter_objects(objs, root)
