"""Every collective of taimatsu.distributed against a NumPy reference, at world size 2 and 4.

This file is also the program each rank runs: one MPI job per world size executes every check
below (``CHECKS``) and reports, per check, None or the failure's traceback. Each rank can build
every rank's input (``_data`` is a function of the rank), so the references are plain NumPy.
"""
from __future__ import annotations

import itertools
import traceback
import warnings

import numpy as np
import pytest

from tests.distributed._launch import launch, requires_mpi

pytestmark = requires_mpi

DTYPES = ("float32", "float64", "int64", "float16", "int32", "int8", "uint8", "bool")
SHAPES = ((), (3,), (2, 3), (0,))
OPS = ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR")
CHECKS = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def _data(rank: int, shape, dtype: str, signed: bool = False):
    """Rank ``rank``'s input: small integers (exact in float16 sums and int8 products)."""
    n = int(np.prod(shape))
    if dtype == "bool":
        return ((np.arange(n) + rank) % 3 == 0).reshape(shape)
    values = (np.arange(n) * 7 + rank * 3) % (5 if signed else 3) - (2 if signed else -1)
    return values.astype(dtype).reshape(shape)


def _tensor(torch, arr, non_contiguous: bool):
    """A taimatsu tensor holding ``arr``; non-contiguous ones are the transpose of a base."""
    if non_contiguous and arr.ndim == 2:
        return torch.tensor(np.ascontiguousarray(arr.T)).t()
    return torch.tensor(arr)


def _reference(op: str, stack):
    """What reducing ``stack`` (one row per rank) with ``op`` gives, in the inputs' dtype."""
    dtype = stack.dtype
    if dtype == np.bool_:
        fn = {"SUM": np.any, "MAX": np.any, "BOR": np.any, "PRODUCT": np.all, "MIN": np.all,
              "BAND": np.all, "BXOR": lambda s, axis: np.bitwise_xor.reduce(s, axis=axis)}[op]
        return fn(stack, axis=0)
    if op == "AVG":
        if dtype.kind == "f":
            return (stack.astype(np.float64).sum(0) / len(stack)).astype(dtype)
        return np.trunc(stack.sum(0) / len(stack)).astype(dtype)
    fn = {"SUM": np.add, "PRODUCT": np.multiply, "MIN": np.minimum, "MAX": np.maximum,
          "BAND": np.bitwise_and, "BOR": np.bitwise_or, "BXOR": np.bitwise_xor}[op]
    return fn.reduce(stack, axis=0).astype(dtype)


def _valid(op: str, dtype: str) -> bool:
    if op in ("BAND", "BOR", "BXOR"):
        return dtype[0] in "iub"
    return not (op == "AVG" and dtype == "bool")


def _equal(got, want, what):
    got = got.numpy() if hasattr(got, "numpy") else got
    assert got.dtype == want.dtype and got.shape == want.shape, \
        f"{what}: got {got.dtype}{got.shape}, want {want.dtype}{want.shape}"
    assert np.array_equal(got, want), f"{what}: got {got}, want {want}"


def _cases(dtypes=DTYPES):
    for dtype, shape in itertools.product(dtypes, SHAPES):
        for non_contiguous in ((False, True) if len(shape) == 2 else (False,)):
            yield dtype, shape, non_contiguous


# ------------------------------------------------------------------------------ rank side
@check
def all_reduce(dist, torch, r, n):
    for (dtype, shape, nc), op in itertools.product(_cases(), OPS):
        if not _valid(op, dtype):
            continue
        signed = op == "AVG" and dtype[0] == "i"
        t = _tensor(torch, _data(r, shape, dtype, signed), nc)
        version = t._version[0]
        dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
        want = _reference(op, np.stack([_data(k, shape, dtype, signed) for k in range(n)]))
        _equal(t, want, f"all_reduce {op} {dtype}{shape} nc={nc}")
        assert t._version[0] == version + 1, "all_reduce must bump the version counter"
    base = torch.zeros(3, 2)
    view = base.t()
    dist.all_reduce(view.add_(1))
    _equal(base, np.full((3, 2), n, np.float32), "all_reduce through a view writes the base")


@check
def reduce(dist, torch, r, n):
    dst = n - 1
    for (dtype, shape, nc), op in itertools.product(_cases(), ("SUM", "MAX", "AVG")):
        if not _valid(op, dtype):
            continue
        t = _tensor(torch, _data(r, shape, dtype), nc)
        dist.reduce(t, dst=dst, op=getattr(dist.ReduceOp, op))
        want = _reference(op, np.stack([_data(k, shape, dtype) for k in range(n)]))
        _equal(t, want if r == dst else _data(r, shape, dtype), f"reduce {op} {dtype}{shape}")
    t = torch.ones(2)
    dist.reduce(t, group_dst=0)
    _equal(t, np.full(2, n if r == 0 else 1, np.float32), "reduce group_dst")


@check
def broadcast(dist, torch, r, n):
    for dtype, shape, nc in _cases():
        t = _tensor(torch, _data(r, shape, dtype), nc)
        dist.broadcast(t, src=1)
        _equal(t, _data(1, shape, dtype), f"broadcast {dtype}{shape} nc={nc}")
    t = torch.tensor([float(r)])
    dist.broadcast(t, group_src=n - 1)
    _equal(t, np.array([n - 1], np.float32), "broadcast group_src")


@check
def all_gather(dist, torch, r, n):
    for dtype, shape, nc in _cases(("float32", "int64", "float16", "bool")):
        outs = [_tensor(torch, np.zeros(shape, dtype), nc) for _ in range(n)]
        dist.all_gather(outs, _tensor(torch, _data(r, shape, dtype), nc))
        for k, o in enumerate(outs):
            _equal(o, _data(k, shape, dtype), f"all_gather {dtype}{shape}[{k}] nc={nc}")


@check
def all_gather_into_tensor(dist, torch, r, n):
    for dtype in ("float32", "int64", "float16", "bool"):
        want = np.stack([_data(k, (2, 3), dtype) for k in range(n)])
        cat = torch.tensor(np.zeros((2 * n, 3), dtype))
        dist.all_gather_into_tensor(cat, _tensor(torch, _data(r, (2, 3), dtype), True))
        _equal(cat, want.reshape(2 * n, 3), f"all_gather_into_tensor cat {dtype}")
        stacked = torch.tensor(np.zeros((n, 2, 3), dtype))
        dist.all_gather_into_tensor(stacked, torch.tensor(_data(r, (2, 3), dtype)))
        _equal(stacked, want, f"all_gather_into_tensor stack {dtype}")
    out = torch.zeros(n)
    dist.all_gather_into_tensor(out, torch.tensor(float(r)))
    _equal(out, np.arange(n, dtype=np.float32), "all_gather_into_tensor 0-d")


@check
def gather(dist, torch, r, n):
    for dst in (0, n - 1):
        for dtype, shape, nc in _cases(("float32", "int64", "float16", "bool")):
            outs = [_tensor(torch, np.zeros(shape, dtype), nc) for _ in range(n)] \
                if r == dst else None
            dist.gather(_tensor(torch, _data(r, shape, dtype), nc), outs, dst=dst)
            for k, o in enumerate(outs or []):
                _equal(o, _data(k, shape, dtype), f"gather dst={dst} {dtype}{shape}[{k}]")
    outs = [torch.zeros(1) for _ in range(n)] if r == 0 else None
    dist.gather(torch.tensor([float(r)]), outs)  # dst defaults to 0
    if r == 0:
        _equal(torch.cat(outs), np.arange(n, dtype=np.float32), "gather default dst")


@check
def scatter(dist, torch, r, n):
    for src in (0, n - 1):
        for dtype, shape, nc in _cases(("float32", "int64", "float16", "bool")):
            ins = [torch.tensor(_data(k, shape, dtype)) for k in range(n)] if r == src else None
            t = _tensor(torch, np.zeros(shape, dtype), nc)
            dist.scatter(t, ins, src=src)
            _equal(t, _data(r, shape, dtype), f"scatter src={src} {dtype}{shape} nc={nc}")


@check
def reduce_scatter(dist, torch, r, n):
    for dtype, op in itertools.product(("float32", "int64", "float16", "bool"), ("SUM", "MAX")):
        # rank r's input block k is _data(r * n + k): every (rank, block) pair differs
        ins = [torch.tensor(_data(r * n + k, (2, 3), dtype)) for k in range(n)]
        out = _tensor(torch, np.zeros((2, 3), dtype), True)
        dist.reduce_scatter(out, ins, op=getattr(dist.ReduceOp, op))
        want = _reference(op, np.stack([_data(k * n + r, (2, 3), dtype) for k in range(n)]))
        _equal(out, want, f"reduce_scatter {op} {dtype}")
        out = torch.tensor(np.zeros((2, 3), dtype))
        dist.reduce_scatter_tensor(out, torch.cat(ins), op=getattr(dist.ReduceOp, op))
        _equal(out, want, f"reduce_scatter_tensor {op} {dtype}")
    out = torch.zeros(())
    dist.reduce_scatter_tensor(out, torch.arange(n, dtype=torch.float32), op=dist.ReduceOp.AVG)
    _equal(out, np.array(r, np.float32), "reduce_scatter_tensor AVG 0-d")


@check
def all_to_all_single(dist, torch, r, n):
    for dtype in ("float32", "int64", "float16", "bool"):
        rows = [_data(r * n + k, (2, 3), dtype) for k in range(n)]  # block k goes to rank k
        out = torch.tensor(np.zeros((2 * n, 3), dtype))
        dist.all_to_all_single(out, torch.tensor(np.concatenate(rows)))
        want = np.concatenate([_data(k * n + r, (2, 3), dtype) for k in range(n)])
        _equal(out, want, f"all_to_all_single even {dtype}")
    # uneven: rank r sends k + 1 rows (valued 10 * r + k) to rank k
    send = np.concatenate([np.full((k + 1, 2), 10 * r + k, np.int64) for k in range(n)])
    out = torch.zeros((n * (r + 1), 2), dtype=torch.int64).t().contiguous().t()
    dist.all_to_all_single(out, torch.tensor(send), [r + 1] * n, [k + 1 for k in range(n)])
    want = np.concatenate([np.full((r + 1, 2), 10 * k + r, np.int64) for k in range(n)])
    _equal(out, want, "all_to_all_single uneven")


@check
def point_to_point(dist, torch, r, n):
    right, left = (r + 1) % n, (r - 1) % n
    for dtype, shape, nc in _cases(("float32", "int64", "float16", "bool")):
        got = _tensor(torch, np.zeros(shape, dtype), nc)
        mine = _tensor(torch, _data(r, shape, dtype), nc)
        if r % 2 == 0:  # even ranks send first: blocking send/recv around a ring
            dist.send(mine, dst=right)
            src = dist.recv(got, src=left)
        else:
            src = dist.recv(got, src=left)
            dist.send(mine, dst=right)
        assert src == left
        _equal(got, _data(left, shape, dtype), f"send/recv {dtype}{shape} nc={nc}")
    got = torch.zeros(3)
    works = [dist.isend(torch.full((3,), float(r)), dst=right, tag=5),
             dist.irecv(got, src=left, tag=5)]
    for w in works:
        assert w.wait() is True and w.is_completed()
    _equal(got, np.full(3, left, np.float32), "isend/irecv")
    if r == 0:  # receive from any source: the sender's rank comes back
        senders = sorted(dist.recv(torch.zeros(1)) for _ in range(n - 1))
        assert senders == list(range(1, n)), senders
    else:
        dist.send(torch.tensor([float(r)]), dst=0)


@check
def async_handles(dist, torch, r, n):
    ts = [torch.full((4,), float(r + k)) for k in range(3)]
    works = [dist.all_reduce(t, async_op=True) for t in ts]
    for k, (t, w) in enumerate(zip(ts, works)):
        assert isinstance(w, dist.Work)
        assert w.wait() is True and w.is_completed()
        _equal(t, np.full(4, sum(q + k for q in range(n)), np.float32), f"async all_reduce {k}")
        assert w.result() == [t]
    nc = torch.zeros(3, 2).t()
    w = dist.broadcast(nc if r else nc.add_(7), src=0, async_op=True)
    while not w.is_completed():
        pass
    _equal(nc, np.full((2, 3), 7, np.float32), "async broadcast, non-contiguous")
    outs = [torch.zeros(2) for _ in range(n)]
    dist.all_gather(outs, torch.full((2,), float(r)), async_op=True).wait()
    _equal(torch.stack(outs), np.repeat(np.arange(n, dtype=np.float32), 2).reshape(n, 2),
           "async all_gather")
    out = torch.zeros(2)
    dist.reduce_scatter_tensor(out, torch.ones(2 * n), async_op=True).wait()
    _equal(out, np.full(2, n, np.float32), "async reduce_scatter_tensor")
    assert dist.barrier(async_op=True).wait()


@check
def groups(dist, torch, r, n):
    pair = dist.new_group([n - 1, 0])  # sorted: group rank 0 is global 0
    evens = dist.new_group([k for k in range(n) if k % 2 == 0])
    t = torch.tensor([float(r)])
    if r in (0, n - 1):
        assert dist.get_rank(pair) == (0 if r == 0 else 1) and dist.get_world_size(pair) == 2
        assert dist.get_process_group_ranks(pair) == [0, n - 1]
        dist.all_reduce(t, group=pair)
        _equal(t, np.array([n - 1], np.float32), "all_reduce in a group")
        b = torch.tensor([float(r)])
        dist.broadcast(b, src=n - 1, group=pair)  # src is a global rank
        _equal(b, np.array([n - 1], np.float32), "broadcast global src in a group")
        assert dist.get_global_rank(pair, 1) == n - 1 and dist.get_group_rank(pair, n - 1) == 1
    else:
        assert pair == dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(pair) == -1
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert dist.all_reduce(t, group=pair) is None
        assert "does not belong to the given group" in str(caught[0].message)
        _equal(t, np.array([r], np.float32), "non-member untouched")
    if r % 2 == 0:
        got = [None] * dist.get_world_size(evens)
        dist.all_gather_object(got, r, group=evens)
        assert got == list(range(0, n, 2)), got
        dist.barrier(group=evens)
    assert dist.get_backend(pair if r in (0, n - 1) else None) == "gloo"
    if r % 2 == 0:
        dist.destroy_process_group(evens)


@check
def objects(dist, torch, r, n):
    objs = [{"rank": r}, None, "x"] if r == 1 else [None, None, None]
    dist.broadcast_object_list(objs, src=1)
    assert objs == [{"rank": 1}, None, "x"], objs
    got = [None] * n
    dist.all_gather_object(got, {"r": r, "sq": r * r})
    assert got == [{"r": k, "sq": k * k} for k in range(n)], got
    objs = [r, r]
    dist.broadcast_object_list(objs)  # src defaults to 0
    assert objs == [0, 0]
    gathered = [None] * n if r == n - 1 else None
    dist.gather_object(("from", r), gathered, dst=n - 1)
    assert gathered == ([("from", k) for k in range(n)] if r == n - 1 else None), gathered
    out = [None]
    dist.scatter_object_list(out, [{"to": k} for k in range(n)] if r == 0 else None)
    assert out == [{"to": r}], out


@check
def bad_input(dist, torch, r, n):
    t = torch.arange(4.0)
    v = t._version[0]

    def raises(exc, match, fn):
        with pytest.raises(exc, match=match):
            fn()
        _equal(t, np.arange(4, dtype=np.float32), "input unchanged after an error")
        assert t._version[0] == v, "version unchanged after an error"

    raises(RuntimeError, "Cannot use ReduceOp.BAND with non-integral dtype",
           lambda: dist.all_reduce(t, op=dist.ReduceOp.BAND))
    raises(TypeError, "op must be a taimatsu.distributed.ReduceOp",
           lambda: dist.all_reduce(t, op="sum"))
    raises(TypeError, "Expected parameter `tensor` of type torch.Tensor",
           lambda: dist.all_reduce([t]))
    raises(RuntimeError, "Cannot use ReduceOp.AVG with bool",
           lambda: dist.all_reduce(torch.ones(2, dtype=torch.bool), op=dist.ReduceOp.AVG))
    raises(RuntimeError, f"invalid root rank: {n}", lambda: dist.broadcast(t, src=n))
    raises(ValueError, "Must specify global_rank or group_rank", lambda: dist.broadcast(t))
    raises(ValueError, "Can't specify both", lambda: dist.broadcast(t, src=0, group_src=0))
    raises(RuntimeError, f"expected length {n}, got {n + 1}",
           lambda: dist.all_gather([torch.zeros(4) for _ in range(n + 1)], t))
    raises(RuntimeError, r"invalid tensor size at index 0 \(expected \(4,\), got \(3,\)\)",
           lambda: dist.all_gather([torch.zeros(3)] * n, t))
    raises(RuntimeError, "must all have dtype",
           lambda: dist.all_gather([torch.zeros(4, dtype=torch.int64)] * n, t))
    raises(RuntimeError, "output tensor size must be equal to world_size times input",
           lambda: dist.all_gather_into_tensor(torch.zeros(4 * n + 1), t))
    raises(RuntimeError, "input tensor size must be world_size times output",
           lambda: dist.reduce_scatter_tensor(t, torch.zeros(4 * n + 1)))
    raises(RuntimeError, "not divisible by the world size",
           lambda: dist.all_to_all_single(torch.zeros(4 * n + 1), torch.zeros(4 * n + 1)))
    raises(RuntimeError, "split_sizes",
           lambda: dist.all_to_all_single(t, t, [1] * n, [5] * n))
    gather_list = [torch.zeros(4) for _ in range(n)]
    if r == 0:
        raises(ValueError, "``gather_list`` must be specified on destination rank",
               lambda: dist.gather(t, None, dst=0))
        raises(ValueError, "``scatter_list`` must be specified on source rank",
               lambda: dist.scatter(t, None, src=0))
    else:
        raises(ValueError, "``gather_list`` must NOT be specified on non-destination ranks",
               lambda: dist.gather(t, gather_list, dst=0))
        raises(ValueError, "``scatter_list`` must NOT be specified on non-source ranks",
               lambda: dist.scatter(t, gather_list, src=0))
    raises(ValueError, "destination rank should not be the same as the rank",
           lambda: dist.send(t, dst=r))
    raises(ValueError, "source rank should not be the same as the rank",
           lambda: dist.recv(t, src=r))
    raises(ValueError, "trying to initialize the default process group twice!",
           lambda: dist.init_process_group("gloo"))
    raises(ValueError, f"Rank {n} is out of range", lambda: dist.new_group([0, n]))
    raises(ValueError, "must not contain duplicate entries", lambda: dist.new_group([0, 0]))
    raises(ValueError, "Invalid backend: 'foo'", lambda: dist.Backend("foo"))
    nccl_only = dist.new_group(backend="nccl")  # its communicator would form on a cuda tensor
    raises(RuntimeError, "No backend type associated with device type cpu",
           lambda: dist.all_reduce(t, group=nccl_only))
    dist.destroy_process_group(nccl_only)
    raises(RuntimeError, "one slot per rank", lambda: dist.all_gather_object([None], 1))


@check
def state(dist, torch, r, n):
    assert dist.is_available() and dist.is_initialized()
    assert dist.get_rank() == r and dist.get_world_size() == n
    assert dist.get_backend() == dist.Backend.GLOO == "gloo"
    assert dist.group.WORLD is dist.GroupMember.WORLD is not None
    assert repr(dist.ReduceOp.SUM) == "<RedOpType.SUM: 0>"
    dist.barrier()


def reinit(dist, torch, r, n):
    """After destroy_process_group: init's argument checks, and a second init."""
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        dist.get_rank()
    with pytest.raises(TypeError, match="Expected timeout argument to be of type "
                                        "datetime.timedelta, got 5"):
        dist.init_process_group("gloo", timeout=5)
    with pytest.raises(ValueError, match="init_method must be env://, tcp:// or file://"):
        dist.init_process_group("gloo", init_method="udp://x")
    with pytest.raises(ValueError, match="has no Store"):
        dist.init_process_group("gloo", store=object())
    with pytest.raises(ValueError, match=f"rank is {n} but MPI gave this process rank {r}"):
        dist.init_process_group("gloo", rank=n)
    assert dist.Backend("CPU:gloo,cuda:nccl") == "cpu:gloo,cuda:nccl"
    dist.init_process_group(backend="mpi",
                            init_method=f"tcp://10.0.0.1:23456?rank={r}&world_size={n}")
    t = torch.ones(1)
    dist.all_reduce(t)
    assert t.item() == n and dist.get_backend() == "mpi"
    dist.destroy_process_group()
    dist.init_process_group()  # no backend: cpu on MPI, cuda on NCCL
    assert dist.get_backend() == "undefined"
    dist.broadcast(t, src=0)
    dist.destroy_process_group()


def rank_main() -> None:
    import taimatsu as torch
    import taimatsu.distributed as dist

    dist.init_process_group("gloo")
    r, n = dist.get_rank(), dist.get_world_size()
    report = {}
    for name, fn in CHECKS.items():
        try:
            fn(dist, torch, r, n)
            report[name] = None
        except Exception:  # noqa: BLE001 - reported to the test, which fails with it
            report[name] = traceback.format_exc()
        dist.barrier()  # a failed check must not let ranks drift into different collectives
    dist.destroy_process_group()
    try:
        reinit(dist, torch, r, n)
        report["reinit"] = None
    except Exception:  # noqa: BLE001 - reported to the test
        report["reinit"] = traceback.format_exc()
    global result
    result = report


# ------------------------------------------------------------------------------ pytest side
@pytest.fixture(scope="module", params=[2, 4], ids=["world2", "world4"])
def job(request):
    return launch(script=__file__, nprocs=request.param, timeout=120)


@pytest.mark.parametrize("name", [*CHECKS, "reinit"])
def test_collective(job, name):
    failures = [f"rank {k}:\n{res[name]}" for k, res in enumerate(job.results)
                if res is None or res[name] is not None]
    assert not failures, "\n".join(failures)


if __name__ == "__main__":
    rank_main()
