"""The NCCL engine behind the "nccl" backend: collectives on CuPy arrays (cupy.cuda.nccl).

NOTE: written to CuPy's documented NCCL API (NcclCommunicator, groupStart/groupEnd); it has not
run yet: no GPU was available where it was written (see docs/distributed.md).

The communicator is formed on the first cuda tensor a group sees: rank 0 makes NCCL's unique id
and the group's MPI communicator carries it to the others. Operations are queued on the current
CUDA stream, so a synchronous call returns without waiting for the GPU (later work on the stream
sees the result, as in PyTorch); ``async_op`` returns a handle on a CUDA event.
"""
from __future__ import annotations

import numpy as np

# NOTE: the one CuPy import outside backend.py: NCCL is a library CuPy wraps, needed only here,
# and only once a cuda tensor reaches an nccl group.
from cupy.cuda import nccl

_DATATYPES = {
    np.dtype(np.bool_): nccl.NCCL_UINT8,  # bool travels as bytes; reduced with MAX / MIN
    np.dtype(np.uint8): nccl.NCCL_UINT8,
    np.dtype(np.int8): nccl.NCCL_INT8,
    np.dtype(np.int32): nccl.NCCL_INT32,
    np.dtype(np.int64): nccl.NCCL_INT64,
    np.dtype(np.float16): nccl.NCCL_FLOAT16,
    np.dtype(np.float32): nccl.NCCL_FLOAT32,
    np.dtype(np.float64): nccl.NCCL_FLOAT64,
}
_OPS = {"SUM": nccl.NCCL_SUM, "PRODUCT": nccl.NCCL_PROD, "MIN": nccl.NCCL_MIN,
        "MAX": nccl.NCCL_MAX}
_BOOL_OPS = {"SUM": nccl.NCCL_MAX, "MAX": nccl.NCCL_MAX, "BOR": nccl.NCCL_MAX,
             "PRODUCT": nccl.NCCL_MIN, "MIN": nccl.NCCL_MIN, "BAND": nccl.NCCL_MIN}


def _dtype(arr) -> int:
    if arr.dtype not in _DATATYPES:
        raise RuntimeError(f"NCCL cannot carry {arr.dtype} tensors (supported: "
                           f"{', '.join(str(d) for d in _DATATYPES)})")
    return _DATATYPES[arr.dtype]


def _op(op: str, dtype) -> int:
    table = _BOOL_OPS if dtype == np.bool_ else _OPS
    if op not in table:
        raise RuntimeError(f"NCCL has no ReduceOp.{op} for {dtype} tensors")
    return table[op]


class Pending:
    """Queued NCCL work: a CUDA event recorded after it."""

    __slots__ = ("event", "peer")

    def __init__(self, event, peer=None):
        self.event = event
        self.peer = peer

    def test(self) -> bool:
        return self.event.done

    def wait(self) -> None:
        self.event.synchronize()

    def source(self) -> int:
        return self.peer


class NCCLEngine:
    """Collectives over one NCCL communicator; the same calls as the MPI engine."""

    def __init__(self, mpi, device):
        self.xp = device.xp
        self._rank, self._size = mpi.rank(), mpi.size()
        uid = mpi.broadcast_objects(nccl.get_unique_id() if self._rank == 0 else None, 0)
        with self.xp.cuda.Device(device.index):
            self.comm = nccl.NcclCommunicator(self._size, uid, self._rank)

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size

    def _queued(self, async_op: bool, peer=None):
        if not async_op:
            return None
        event = self.xp.cuda.Event()
        event.record(self.xp.cuda.get_current_stream())
        return Pending(event, peer)

    def _stream(self) -> int:
        return self.xp.cuda.get_current_stream().ptr

    def all_reduce(self, buf, op, async_op):
        p = buf.data.ptr
        self.comm.allReduce(p, p, buf.size, _dtype(buf), _op(op, buf.dtype), self._stream())
        return self._queued(async_op)

    def reduce(self, buf, op, root, async_op):
        p = buf.data.ptr
        self.comm.reduce(p, p, buf.size, _dtype(buf), _op(op, buf.dtype), root, self._stream())
        return self._queued(async_op)

    def broadcast(self, buf, root, async_op):
        p = buf.data.ptr
        self.comm.broadcast(p, p, buf.size, _dtype(buf), root, self._stream())
        return self._queued(async_op)

    def all_gather(self, send, recv, async_op):
        self.comm.allGather(send.data.ptr, recv.data.ptr, send.size, _dtype(send), self._stream())
        return self._queued(async_op)

    def reduce_scatter(self, send, recv, op, async_op):
        self.comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, _dtype(send),
                                _op(op, send.dtype), self._stream())
        return self._queued(async_op)

    def _exchange(self, sends, recvs) -> None:
        """Grouped point-to-point: ``sends``/``recvs`` are (array, element offset, count, peer)."""
        stream = self._stream()
        nccl.groupStart()
        for arr, offset, count, peer in sends:
            self.comm.send(arr.data.ptr + offset * arr.itemsize, count, _dtype(arr), peer, stream)
        for arr, offset, count, peer in recvs:
            self.comm.recv(arr.data.ptr + offset * arr.itemsize, count, _dtype(arr), peer, stream)
        nccl.groupEnd()

    def gather(self, send, recv, root, async_op):
        n = send.size
        recvs = [(recv, k * n, n, k) for k in range(self._size)] if recv is not None else []
        self._exchange([(send, 0, n, root)], recvs)
        return self._queued(async_op)

    def scatter(self, send, recv, root, async_op):
        n = recv.size
        sends = [(send, k * n, n, k) for k in range(self._size)] if send is not None else []
        self._exchange(sends, [(recv, 0, n, root)])
        return self._queued(async_op)

    def all_to_all(self, send, send_split, recv, recv_split, async_op):
        """``send``/``recv`` are flat; splits are (counts, offsets) in elements, one per rank."""
        self._exchange([(send, o, c, k) for k, (c, o) in enumerate(zip(*send_split))],
                       [(recv, o, c, k) for k, (c, o) in enumerate(zip(*recv_split))])
        return self._queued(async_op)

    def send(self, buf, dst, tag, async_op):
        self._exchange([(buf, 0, buf.size, dst)], [])
        return self._queued(async_op)

    def recv(self, buf, src, tag, async_op):
        if src is None:
            raise RuntimeError("NCCL receives need the source rank (recv(src=None) works on "
                               "cpu tensors only)")
        self._exchange([], [(buf, 0, buf.size, src)])
        return self._queued(async_op, src)

    def free(self) -> None:
        self.comm.destroy()
