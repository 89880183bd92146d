"""The MPI engine (mpi4py) behind the "mpi" and "gloo" backends: collectives on NumPy arrays.

Imported only by ``init_process_group``: ``from mpi4py import MPI`` initialises MPI, which a
plain ``import taimatsu`` must not do. Every call here is a nonblocking MPI operation on
contiguous arrays through mpi4py's buffer interface (no pickling); it returns a
:class:`Pending`, which :class:`taimatsu.distributed.Work` polls to completion (with a timeout).
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

# Fixed-width MPI datatypes for each array dtype. MPI (Open MPI 4) has no half type: float16
# travels as 16-bit words and is reduced by NumPy in a user-defined operation (_HALF_OPS).
_DATATYPES = {
    np.dtype(np.bool_): MPI.C_BOOL,
    np.dtype(np.uint8): MPI.UINT8_T,
    np.dtype(np.int8): MPI.INT8_T,
    np.dtype(np.int16): MPI.INT16_T,
    np.dtype(np.int32): MPI.INT32_T,
    np.dtype(np.int64): MPI.INT64_T,
    np.dtype(np.float16): MPI.UINT16_T,
    np.dtype(np.float32): MPI.FLOAT,
    np.dtype(np.float64): MPI.DOUBLE,
}
_BUILTIN_OPS = {"SUM": MPI.SUM, "PRODUCT": MPI.PROD, "MIN": MPI.MIN, "MAX": MPI.MAX,
                "BAND": MPI.BAND, "BOR": MPI.BOR, "BXOR": MPI.BXOR}
# MPI defines only logical operations on C_BOOL; PyTorch reads SUM/MAX on bool as "any" and
# PRODUCT/MIN as "all".
_BOOL_OPS = {"SUM": MPI.LOR, "MAX": MPI.LOR, "BOR": MPI.LOR, "PRODUCT": MPI.LAND,
             "MIN": MPI.LAND, "BAND": MPI.LAND, "BXOR": MPI.LXOR}


def _half_op(ufunc):
    def reduce_half(inbuf, inoutbuf, datatype):
        acc = np.frombuffer(inoutbuf, dtype=np.float16)
        ufunc(np.frombuffer(inbuf, dtype=np.float16), acc, out=acc)

    return MPI.Op.Create(reduce_half, commute=True)


_HALF_OPS = {"SUM": _half_op(np.add), "PRODUCT": _half_op(np.multiply),
             "MIN": _half_op(np.minimum), "MAX": _half_op(np.maximum)}


def _spec(arr):
    return [arr, _DATATYPES[arr.dtype]]


def _mpi_op(op: str, dtype) -> MPI.Op:
    if dtype == np.bool_:
        return _BOOL_OPS[op]
    if dtype == np.float16:
        return _HALF_OPS[op]
    return _BUILTIN_OPS[op]


class Pending:
    """In-flight MPI requests: ``test()`` progresses them and says whether all completed,
    ``wait()`` blocks until they have."""

    __slots__ = ("requests", "statuses")

    def __init__(self, *requests):
        self.requests = list(requests)
        self.statuses = [MPI.Status() for _ in requests]

    def test(self) -> bool:
        return MPI.Request.Testall(self.requests, self.statuses)

    def wait(self) -> None:
        MPI.Request.Waitall(self.requests, self.statuses)

    def source(self) -> int:
        """The sender of a completed receive (for ``recv(src=None)``)."""
        return self.statuses[0].Get_source()


class MPIEngine:
    """Collectives over one MPI communicator. ``op`` is a ReduceOp name that the caller has
    already checked against the dtype (AVG arrives as SUM; the caller divides). With
    ``async_op`` a call starts the nonblocking operation and returns its :class:`Pending`;
    otherwise it runs the blocking one (faster for large messages here: Open MPI's tuned
    collectives beat its nonblocking ones 2-3x) and returns None."""

    def __init__(self, comm):
        self.comm = comm

    def rank(self) -> int:
        return self.comm.Get_rank()

    def size(self) -> int:
        return self.comm.Get_size()

    def _issue(self, name: str, async_op: bool, *args, **kwargs):
        if async_op:
            return Pending(getattr(self.comm, "I" + name)(*args, **kwargs))
        getattr(self.comm, name.capitalize())(*args, **kwargs)
        return None

    def all_reduce(self, buf, op, async_op):
        return self._issue("allreduce", async_op, MPI.IN_PLACE, _spec(buf),
                           op=_mpi_op(op, buf.dtype))

    def reduce(self, buf, op, root, async_op):
        send, recv = (MPI.IN_PLACE, _spec(buf)) if self.rank() == root else (_spec(buf), None)
        return self._issue("reduce", async_op, send, recv, op=_mpi_op(op, buf.dtype), root=root)

    def broadcast(self, buf, root, async_op):
        return self._issue("bcast", async_op, _spec(buf), root=root)

    def all_gather(self, send, recv, async_op):
        return self._issue("allgather", async_op, _spec(send), _spec(recv))

    def gather(self, send, recv, root, async_op):
        return self._issue("gather", async_op, _spec(send), None if recv is None else _spec(recv),
                           root=root)

    def scatter(self, send, recv, root, async_op):
        return self._issue("scatter", async_op, None if send is None else _spec(send),
                           _spec(recv), root=root)

    def reduce_scatter(self, send, recv, op, async_op):
        return self._issue("reduce_scatter_block", async_op, _spec(send), _spec(recv),
                           op=_mpi_op(op, send.dtype))

    def all_to_all(self, send, send_split, recv, recv_split, async_op):
        """``send``/``recv`` are flat; splits are (counts, offsets) in elements, one per rank."""
        dt = _DATATYPES[send.dtype]
        return self._issue("alltoallv", async_op, [send, send_split, dt], [recv, recv_split, dt])

    def send(self, buf, dst, tag, async_op):
        return self._issue("send", async_op, _spec(buf), dest=dst, tag=tag)

    def recv(self, buf, src, tag, async_op):
        """``src=None`` receives from any rank; the Pending's ``source()`` names the sender."""
        source = MPI.ANY_SOURCE if src is None else src
        return self._issue("recv", async_op, _spec(buf), source=source, tag=tag)

    def barrier(self, async_op):
        return self._issue("barrier", async_op)

    # -- Python objects (pickled: objects are not tensors) --
    def broadcast_objects(self, objs, root):
        return self.comm.bcast(objs, root=root)

    def all_gather_objects(self, obj):
        return self.comm.allgather(obj)

    def gather_objects(self, obj, root):
        return self.comm.gather(obj, root=root)

    def scatter_objects(self, objs, root):
        return self.comm.scatter(objs, root=root)

    def split(self, color, key):
        """The communicator of the ranks passing the same ``color`` (None: not a member)."""
        comm = self.comm.Split(MPI.UNDEFINED if color is None else color, key)
        return None if comm == MPI.COMM_NULL else MPIEngine(comm)

    def free(self) -> None:
        self.comm.Free()


def world_rank_size() -> tuple[int, int]:
    return MPI.COMM_WORLD.Get_rank(), MPI.COMM_WORLD.Get_size()


def world() -> MPIEngine:
    """A private duplicate of COMM_WORLD: the user's own mpi4py traffic cannot match ours."""
    return MPIEngine(MPI.COMM_WORLD.Dup())


def abort(code: int) -> None:
    MPI.COMM_WORLD.Abort(code)
