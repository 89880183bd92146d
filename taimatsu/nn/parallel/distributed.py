"""``DistributedDataParallel``: one model replica per process, gradients averaged across them.

How a step runs (PyTorch's reducer, on taimatsu's engine):

- At wrap time rank 0's parameters and buffers are broadcast, so every replica starts equal,
  and the parameters are assigned to buckets: reverse registration order (the order backward
  tends to produce gradients), one dtype and device per bucket, the first bucket capped at
  1 MiB and the others at ``bucket_cap_mb``.
- A hook on every parameter copies its gradient (scaled by ``1 / world_size``) into its
  bucket's flat buffer; when a bucket is full its all-reduce starts asynchronously
  (``async_op=True``), in bucket order on every rank (collectives must match across ranks),
  while backward goes on computing the earlier layers' gradients.
- ``forward`` brackets the module's graph with two nodes: one created before the module runs
  (so the engine, which runs newer nodes first, reaches it only after every parameter's
  gradient is done) and one after it that feeds the first. The first one's backward is the
  end-of-backward callback: it waits for the buckets and writes the averaged gradients into
  ``.grad`` before ``backward()`` returns.
"""
from __future__ import annotations

import contextlib
import itertools
import warnings
import weakref

from ... import distributed as dist
from ..._tensor_base import TensorBase, make
from ...autograd import grad_mode
from ...autograd.function import Function
from ...backend import memory_owner
from ..modules.module import Module
from ..parameter import UninitializedParameter

__all__ = ["DistributedDataParallel"]

_DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES
_DEFAULT_BUCKET_CAP_MB = 25


def _map_tensors(fn, obj):
    """``obj`` with ``fn`` applied to every Tensor inside tuples, lists and dicts."""
    if isinstance(obj, TensorBase):
        return fn(obj)
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple keeps its type
        return type(obj)(*(_map_tensors(fn, o) for o in obj))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_map_tensors(fn, o) for o in obj)
    if isinstance(obj, dict):
        return type(obj)((k, _map_tensors(fn, v)) for k, v in obj.items())
    return obj


def _broadcast_coalesced(tensors, src: int, group) -> None:
    """Overwrite ``tensors`` with rank ``src``'s values: one broadcast per dtype and device."""
    groups: dict = {}
    for t in tensors:
        groups.setdefault((t._data.dtype, t._device), []).append(t)
    for ts in groups.values():
        xp = ts[0].xp
        flat = make(xp.concatenate([xp.ravel(t._data) for t in ts]), ts[0]._device)
        dist.broadcast(flat, src, group=group)
        start = 0
        for t in ts:
            n = t._data.size
            t._data[...] = flat._data[start:start + n].reshape(t._data.shape)
            t._bump_version()
            start += n


class _Bucket:
    """A flat gradient buffer for some parameters and the state of its all-reduce."""

    __slots__ = ("buffer", "indices", "offsets", "pending", "work")

    def __init__(self, params, indices):
        self.indices = indices  # positions in DistributedDataParallel._params
        sizes = [params[i]._data.size for i in indices]
        self.offsets = [0, *itertools.accumulate(sizes)]
        p0 = params[indices[0]]
        self.buffer = make(p0.xp.zeros(self.offsets[-1], p0._data.dtype), p0._device)
        self.pending = len(indices)
        self.work = None

    def slot(self, k: int, shape):
        """The part of the buffer that holds the ``k``-th parameter's gradient, as an array."""
        return self.buffer._data[self.offsets[k]:self.offsets[k + 1]].reshape(shape)


def _assign_buckets(params, first_cap: int, cap: int) -> list[list[int]]:
    """PyTorch's bucketing: parameters in reverse order, a bucket per dtype and device that is
    closed once it holds at least its byte limit (the first one per kind ``first_cap``)."""
    open_buckets: dict = {}
    closed = []
    for i in reversed(range(len(params))):
        p = params[i]
        key = (p._data.dtype, p._device)
        entry = open_buckets.setdefault(key, [[], 0, first_cap])
        entry[0].append(i)
        entry[1] += p._data.nbytes
        if entry[1] >= entry[2]:
            closed.append(entry[0])
            open_buckets[key] = [[], 0, cap]
    closed += [e[0] for e in open_buckets.values() if e[0]]
    # Launch order: the bucket holding the last parameters first, as backward produces them.
    closed.sort(key=lambda b: -b[0])
    return closed


class _BackwardStart(Function):
    """Created before the module runs: the engine reaches it once every parameter's gradient is
    done, so its backward finishes the reduction (PyTorch queues a final callback instead)."""

    @staticmethod
    def forward(ctx, token, ddp_ref):
        ctx.ddp_ref = ddp_ref
        return token

    @staticmethod
    def backward(ctx, g):
        ddp = ctx.ddp_ref()
        if ddp is not None:
            ddp._finalize_backward()
        return None, None


class _BackwardEnd(Function):
    """Identity on the module's outputs that also sends a (zero) gradient to the start node, so
    that it runs in every backward through these outputs."""

    @staticmethod
    def forward(ctx, token, *outputs):
        ctx.set_materialize_grads(False)
        ctx.token_meta = (token._data.dtype, token._device)
        return outputs

    @staticmethod
    def backward(ctx, *grads):
        dtype, device = ctx.token_meta
        return (make(device.xp.zeros((), dtype), device), *grads)


class DistributedDataParallel(Module):
    """Data parallelism across processes: wraps ``module``, averages gradients over the group.

    Each process holds a replica, runs it on its share of the batch and calls ``backward``;
    when that returns every replica's ``.grad`` holds the average over the processes, so equal
    optimizer steps keep the replicas equal. Initialise the process group first.

    Args:
        module: the model; rank 0's parameters and buffers are copied to every rank.
        device_ids: ``[i]`` for a module on ``cuda:i`` (inputs are moved there); None on CPU.
        broadcast_buffers: deprecated alias of ``forward_sync_buffers`` (False also skips the
            buffer copy at wrap time).
        bucket_cap_mb: bucket size in MiB (default 25); smaller buckets start communication
            earlier in backward.
        find_unused_parameters: allow parameters that get no gradient in an iteration (they
            count as zeros; parameters unused on every rank keep their ``.grad``).
        gradient_as_bucket_view: ``.grad`` of each parameter is a view into its bucket.
        static_graph: accepted; unused parameters are then handled as with
            ``find_unused_parameters``.
        forward_sync_buffers: copy rank 0's buffers to every rank before each forward.

    Example::

        >>> dist.init_process_group("gloo")
        >>> model = DistributedDataParallel(nn.Linear(10, 10))
        >>> model(torch.randn(20, 10)).sum().backward()   # .grad averaged over the ranks
    """

    def __init__(self, module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True,
                 process_group=None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None,
                 mixed_precision=None, device_mesh=None,
                 skip_all_reduce_unused_params: bool = False,
                 bucket_cap_mb_list: list[int] | None = None, batched_grad_copy: bool = False,
                 forward_sync_buffers: bool | None = None) -> None:
        super().__init__()
        # (batched_grad_copy only changes how PyTorch copies into buckets: accepted as is)
        unsupported = {"delay_all_reduce_named_params": delay_all_reduce_named_params,
                       "param_to_hook_all_reduce": param_to_hook_all_reduce,
                       "mixed_precision": mixed_precision, "device_mesh": device_mesh,
                       "bucket_cap_mb_list": bucket_cap_mb_list,
                       "skip_all_reduce_unused_params": skip_all_reduce_unused_params or None}
        given = [k for k, v in unsupported.items() if v is not None]
        if given:
            raise NotImplementedError(f"DistributedDataParallel: {', '.join(given)} is not "
                                      "supported by taimatsu")
        group = dist.group.WORLD if process_group is None else process_group
        world_size = dist.get_world_size(group)  # (raises before init_process_group)
        ignore = set(getattr(module, "_ddp_params_and_buffers_to_ignore", ()))
        self.parameters_to_ignore = ignore
        params = [p for n, p in module.named_parameters() if n not in ignore]
        if not any(p.requires_grad for p in params):
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        if device_ids is not None and len(device_ids) > 1:
            raise ValueError("device_ids can only be None or contain a single element.")
        device_types = {p.device.type for p in params}
        if len(device_types) != 1:
            raise ValueError("DistributedDataParallel's input module must be on the same type "
                             f"of devices, but input module parameters locate in "
                             f"{device_types}.")
        self.device_type = next(iter(device_types))
        multi_device = len({p.device for p in params}) > 1
        if not device_ids or self.device_type == "cpu" or multi_device:
            if device_ids or output_device:
                raise ValueError(
                    "DistributedDataParallel device_ids and output_device arguments only work "
                    "with single-device/multiple-device GPU modules or CPU modules, but got "
                    f"device_ids {device_ids}, output_device {output_device}, and module "
                    f"parameters { {p.device for p in params} }.")
            self.device_ids = self.output_device = None
        else:
            self.device_ids = [_device_index(d) for d in device_ids]
            self.output_device = _device_index(device_ids[0] if output_device is None
                                               else output_device)
        for p in params:
            if isinstance(p, UninitializedParameter):
                raise RuntimeError(  # noqa: TRY004 - PyTorch's exception type
                    "Modules with uninitialized parameters can't be used with "
                    "`DistributedDataParallel`. Run a dummy forward pass to correctly "
                    "initialize the modules")
        if broadcast_buffers is not None:
            warnings.warn("`broadcast_buffers` is deprecated. Use `forward_sync_buffers` "
                          "instead.", FutureWarning, stacklevel=2)
        if check_reduction:
            warnings.warn("The `check_reduction` argument in `DistributedDataParallel` module "
                          "is deprecated. Please avoid using it.", FutureWarning, stacklevel=2)
        if forward_sync_buffers is not None:
            init_sync_buffers = True
        else:
            forward_sync_buffers = init_sync_buffers = (
                True if broadcast_buffers is None else bool(broadcast_buffers))

        self.module = module
        self.process_group = group
        self.dim = dim
        self.device = params[0].device
        self.find_unused_parameters = find_unused_parameters
        self.static_graph = static_graph
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.forward_sync_buffers = forward_sync_buffers
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        cap_mb = _DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        self.bucket_bytes_cap = int(cap_mb * 1024 * 1024)
        self._world_size = world_size
        self._params = [p for p in params if p.requires_grad]
        self._buffers_to_sync = [b for n, b in module.named_buffers()
                                 if n not in ignore and b is not None]

        self._verify_same_model(params)
        if init_sync:
            _broadcast_coalesced(params + (self._buffers_to_sync if init_sync_buffers else []),
                                 0, group)

        first_cap = (self.bucket_bytes_cap if bucket_cap_mb is not None
                     else _DEFAULT_FIRST_BUCKET_BYTES)
        self._buckets = [_Bucket(self._params, ix) for ix in
                         _assign_buckets(self._params, first_cap, self.bucket_bytes_cap)]
        self._where = {}  # parameter index -> (bucket, position in it)
        for b in self._buckets:
            for k, i in enumerate(b.indices):
                self._where[i] = (b, k)
        self._ready = [False] * len(self._params)
        self._reached = None  # per parameter: in this iteration's graph (find_unused only)
        self._got_grad = [False] * len(self._params)  # its hook fired in this backward
        self._expect_hooks = False  # a forward prepared this backward's reduction
        self._hooks_fired = False
        self._finished = True
        self._next_bucket = 0
        self._token = make(self._params[0].xp.zeros((), self._params[0]._data.dtype),
                           self._params[0]._device, requires_grad=True)
        self._hook_handles = [p.register_hook(_GradHook(self, i))
                              for i, p in enumerate(self._params)]

    # ------------------------------------------------------------------ checks at wrap time
    def _verify_same_model(self, params) -> None:
        """Every rank must wrap the same parameter shapes, or the buckets would not match."""
        mine = [(tuple(p.shape), str(p.dtype)) for p in params]
        everyone = [None] * self._world_size
        dist.all_gather_object(everyone, mine, group=self.process_group)
        rank = dist.get_rank(self.process_group)
        for r, theirs in enumerate(everyone):
            if len(theirs) != len(mine):
                raise RuntimeError(f"DDP expects same model across all ranks, but Rank {rank} "
                                   f"has {len(mine)} params, while rank {r} has inconsistent "
                                   f"{len(theirs)} params.")
            for i, (a, b) in enumerate(zip(mine, theirs)):
                if a != b:
                    raise RuntimeError(
                        f"DDP expects same model across all ranks, but Rank {rank} has param "
                        f"{i} of shape {list(a[0])} ({a[1]}), while rank {r} has it of shape "
                        f"{list(b[0])} ({b[1]}).")

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        sync_grads = grad_mode.is_grad_enabled() and self.require_backward_grad_sync
        if sync_grads and not self._finished and self._hooks_fired:
            self._raise_unfinished()  # (checked when a reduction is to be prepared, as PyTorch)
        if not sync_grads:
            self._expect_hooks = False  # this pass's gradients only accumulate locally
        if self.require_forward_param_sync and self.forward_sync_buffers and \
                self._buffers_to_sync:
            _broadcast_coalesced(self._buffers_to_sync, 0, self.process_group)
        if self.device_ids:
            target = f"{self.device_type}:{self.device_ids[0]}"
            inputs, kwargs = _map_tensors(lambda t: t.to(target), (inputs, kwargs))
        token = _BackwardStart.apply(self._token, weakref.ref(self)) if sync_grads else None
        output = self.module(*inputs, **kwargs)
        self.require_forward_param_sync = sync_grads
        if not sync_grads:
            return output
        tensors = []
        _map_tensors(lambda t: tensors.append(t) if t._requires_grad else None, output)
        if tensors:
            passed = iter(_BackwardEnd.apply(token, *tensors))
            output = _map_tensors(lambda t: next(passed) if t._requires_grad else t, output)
        self._prepare_for_backward(tensors)
        return output

    def _prepare_for_backward(self, outputs) -> None:
        self._expect_hooks = True
        self._hooks_fired = False
        self._finished = False
        self._next_bucket = 0
        self._ready = [False] * len(self._params)
        self._got_grad = [False] * len(self._params)
        for b in self._buckets:
            b.pending = len(b.indices)
            b.work = None
        self._reached = None
        if self.find_unused_parameters or self.static_graph:
            reached = _reachable_leaves(outputs)
            self._reached = [id(p) in reached for p in self._params]

    # ------------------------------------------------------------------ backward
    def _grad_ready(self, i: int, g) -> None:
        """Parameter ``i``'s gradient ``g`` of this backward is complete (before it is added
        into ``.grad``): put ``.grad + g`` into its bucket, launch what is full."""
        if not self._expect_hooks:
            return
        if not self._hooks_fired:
            self._hooks_fired = True
            self._mark_unused_ready()
        if self._ready[i]:
            raise RuntimeError(
                f"Expected to mark a variable ready only once. Parameter at index {i} has been "
                "marked as ready twice. This means that multiple autograd engine hooks have "
                "fired for this particular parameter during this iteration.")
        self._got_grad[i] = True
        self._fill_slot(i, g)
        old = self._params[i]._grad
        if self.gradient_as_bucket_view and old is not None and \
                memory_owner(old._data) is memory_owner(self._where[i][0].buffer._data):
            self._params[i]._grad = None  # the engine must not add into a buffer in flight
        self._mark_ready(i)

    def _fill_slot(self, i: int, g) -> None:
        """Parameter ``i``'s bucket slot := (``.grad`` + ``g``) / world size (either may be
        None: zeros)."""
        p = self._params[i]
        bucket, k = self._where[i]
        slot = bucket.slot(k, p._data.shape)
        parts = [t._data for t in (p._grad, g) if t is not None]
        if not parts:
            slot[...] = 0
        else:
            total = parts[0] if len(parts) == 1 else parts[0] + parts[1]
            p.xp.multiply(total, 1 / self._world_size, out=slot)

    def _mark_unused_ready(self) -> None:
        """Parameters the forward's graph did not reach count as ready now (their ``.grad``, or
        zeros, go into the buckets), as PyTorch marks them at the first hook."""
        if self._reached is None:
            return
        for i, reached in enumerate(self._reached):
            if not reached:
                self._fill_slot(i, None)
                self._mark_ready(i)

    def _mark_ready(self, i: int) -> None:
        self._ready[i] = True
        bucket = self._where[i][0]
        bucket.pending -= 1
        # Buckets start in order on every rank, so the ranks' collectives match.
        while self._next_bucket < len(self._buckets) and \
                self._buckets[self._next_bucket].pending == 0:
            b = self._buckets[self._next_bucket]
            b.work = dist.all_reduce(b.buffer, group=self.process_group, async_op=True)
            self._next_bucket += 1
        # NOTE: MPI moves a nonblocking collective forward only inside MPI calls: polling the
        # ones in flight lets them progress while backward computes.
        for b in self._buckets[:self._next_bucket]:
            if b.work is not None:
                b.work.is_completed()

    def _finalize_backward(self) -> None:
        """End of backward: wait for every bucket and write the averages into ``.grad``."""
        if not self._expect_hooks:
            return
        self._expect_hooks = False
        if not self._hooks_fired:  # no parameter got a gradient: all of them unused
            self._hooks_fired = True
            self._mark_unused_ready()
        if self._reached is not None:
            # Reached by the graph yet given no gradient (an output left out of the loss):
            # zeros as well, so that every bucket runs on every rank.
            for i, ready in enumerate(self._ready):
                if not ready:
                    self._fill_slot(i, None)
                    self._mark_ready(i)
        if self._next_bucket < len(self._buckets):
            # Some parameter got no gradient; the next forward raises PyTorch's error. What
            # started is completed so no rank is left inside a collective.
            for b in self._buckets[:self._next_bucket]:
                b.work.wait()
            return
        globally_used = None
        if self._reached is not None:
            p0 = self._params[0]
            counts = make(p0.xp.asarray(self._got_grad, dtype=p0.xp.int32), p0._device)
            dist.all_reduce(counts, group=self.process_group)
            globally_used = [c > 0 for c in counts.tolist()]
        for b in self._buckets:
            b.work.wait()
            for k, i in enumerate(b.indices):
                if globally_used is not None and not globally_used[i]:
                    continue  # unused on every rank: .grad stays as it was, as in PyTorch
                self._write_grad(self._params[i], b.slot(k, self._params[i]._data.shape))
        self._finished = True

    def _write_grad(self, p, avg) -> None:
        if self.gradient_as_bucket_view:
            p._grad = make(avg, p._device)
        elif p._grad is None or p._grad._requires_grad:
            p._grad = make(avg.copy(), p._device)
        else:
            p._grad._data[...] = avg
            p._grad._bump_version()

    def _raise_unfinished(self) -> None:
        for b in self._buckets[:self._next_bucket]:
            b.work.wait()  # (what started completes: no rank is left inside a collective)
        missing = [i for i, r in enumerate(self._ready) if not r]
        if not missing:
            # Every gradient arrived but the pass stopped short of the model's start node:
            # autograd.grad(..., model.parameters()) or backward(inputs=...).
            raise RuntimeError(
                "DistributedDataParallel: the previous backward through this model computed "
                "every parameter's gradient but did not run to the model's inputs (as "
                "autograd.grad(..., parameters) or backward(inputs=...) do), so the averaged "
                "gradients were never written; run such passes under model.no_sync()")
        raise RuntimeError(
            "Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            "producing loss. You can enable unused parameter detection by passing the keyword "
            "argument `find_unused_parameters=True` to "
            "`torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
            "function outputs participate in calculating loss.\nParameter indices which did "
            f"not receive grad for rank {dist.get_rank(self.process_group)}: "
            f"{' '.join(map(str, missing))}")

    # ------------------------------------------------------------------ user API
    @contextlib.contextmanager
    def no_sync(self):
        """Inside this context backward only accumulates ``.grad`` locally; the first backward
        after it averages the accumulated gradients."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    def _set_static_graph(self) -> None:
        self.static_graph = True


class _GradHook:
    """The hook on parameter ``i`` (a class, not a closure: it holds DDP weakly, so a dropped
    wrapper does not keep reducing through the module's parameters)."""

    __slots__ = ("ddp", "i")

    def __init__(self, ddp, i: int):
        self.ddp = weakref.ref(ddp)
        self.i = i

    def __call__(self, grad):
        ddp = self.ddp()
        if ddp is not None:
            ddp._grad_ready(self.i, grad)


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors that the graphs of ``outputs`` reach."""
    seen, leaves = set(), set()
    stack = [t._grad_fn for t in outputs if t._grad_fn is not None]
    leaves.update(id(t) for t in outputs if t._grad_fn is None)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for e in node._next:
            if e is None:
                continue
            if isinstance(e[0], TensorBase):
                leaves.add(id(e[0]))
            else:
                stack.append(e[0])
    return leaves


def _device_index(d) -> int:
    if isinstance(d, int):
        return d
    index = getattr(d, "index", None)
    if index is None:
        index = int(str(d).rpartition(":")[2] or 0)
    return index

