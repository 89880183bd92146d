"""``autograd.Function``: the one mechanism every differentiable op uses, built-in or not.

A Function instance is both the ``ctx`` its ``forward``/``backward`` receive and the graph node
that its outputs' ``grad_fn`` points to. ``apply`` runs ``forward`` with recording off; when grad
mode is on and an input requires grad, it also wires the node into the graph.
"""
from __future__ import annotations

import functools
import itertools

from .._tensor_base import TensorBase
from ..backend import partially_overlap, refuses_writes, reraise_allocation_error
from ..dtypes import KIND_CATEGORY, legacy_name
from ..size import broadcast_shapes
from . import grad_mode

_state = grad_mode.state
_seq = itertools.count(1)  # creation order; a node's inputs are always older than it


_NO_GRADS = tuple((False,) * n for n in range(8))
_new = object.__new__  # Functions define no __new__: skip the attribute lookup on every op


class Function:
    """Base class for differentiable operations with custom forward and backward.

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``, then call
    ``MyFn.apply(*args)``. ``backward`` returns one gradient (or None) per ``forward`` argument.

    Example::

        class Square(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g
    """

    _node_name = "FunctionBackward"
    _builtin = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # PyTorch names built-in nodes "MulBackward0" and user ones "MyFnBackward".
        builtin = cls.__module__.startswith("taimatsu.") and ".examples." not in cls.__module__
        cls._node_name = f"{cls.__name__}Backward{'0' if builtin else ''}"
        # User Functions get extra care: forward may touch tensors that require grad (so it
        # always runs with grad mode off) and backward may keep or return any tensor (so the
        # engine checks and never adopts its gradients as .grad).
        cls._builtin = builtin

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("You must implement the forward function for custom Function")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement the backward function for custom Function")

    # ------------------------------------------------------------------ ctx API
    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for ``backward``; they come back through ``ctx.saved_tensors``."""
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is None:
            if self._released:
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access saved "
                    "tensors after they have already been freed). Saved intermediate values of the "
                    "graph are freed when you call .backward() or autograd.grad(). Specify "
                    "retain_graph=True if you need to backward through the graph a second time or "
                    "if you need to access saved tensors after calling backward."
                )
            return self._to_save  # forward is still running, or no graph was recorded
        out = ()
        for s in saved:
            # Plain saved inputs whose version did not move come back as they are; outputs are
            # rebuilt with this node as their history, and stale ones raise (in _unpack).
            if s is None or s[2] < 0 and s[0]._version[0] == s[1]:
                out += (s if s is None else s[0],)
            else:
                out += (_unpack(self, s),)
        return out

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that ``forward`` modified in place."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (e.g. indices)."""
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` gets None (not zeros) for outputs that received no gradient."""
        self._materialize = value

    def name(self) -> str:
        return self._node_name

    def __repr__(self) -> str:
        return f"<{self._node_name} object at {id(self):#x}>"

    def register_hook(self, hook):
        """Run ``hook(grad_inputs, grad_outputs)`` after this node's backward."""
        return _append_hook(self, "_post_hooks", hook)

    def register_prehook(self, hook):
        """Run ``hook(grad_outputs)`` before this node's backward; it may return new ones."""
        return _append_hook(self, "_pre_hooks", hook)

    @property
    def next_functions(self) -> tuple:
        """((node, output_nr), ...) per input; a leaf shows as its AccumulateGrad stand-in."""
        return tuple(
            (None, 0) if e is None
            else ((AccumulateGrad(e[0]), 0) if isinstance(e[0], TensorBase) else e)
            for e in self._next
        )

    @property
    def metadata(self) -> dict:
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    # ---------------------------------------------------------------- apply
    # Per-node defaults live on the class: a node only stores what differs (it is made per op).
    _to_save = ()
    _saved = None  # ((tensor, version, output index), ...) once the node is wired into the graph
    _dirty = _non_diff = ()
    _materialize = True
    _released = False
    _pre_hooks = _post_hooks = _metadata = None
    _tensor_hooks = None  # {output_nr: [hook]} from Tensor.register_hook on outputs
    _retained = None  # {output_nr: weakref to a tensor that called retain_grad()}

    @classmethod
    def apply(cls, *args):
        self = _new(cls)
        recording = False
        if _state.enabled:
            for a in args:
                if isinstance(a, TensorBase):
                    if a._base is not None and a._version[0] != a._view_version:
                        refresh_view(a)
                    if a._requires_grad:
                        recording = True
                        break
        if not recording:
            # Fast path: nothing to record, so the node is a throwaway ctx.
            n = len(args)
            self.needs_input_grad = _NO_GRADS[n] if n < 8 else (False,) * n
            try:
                if cls._builtin or not _state.enabled:  # (built-in forwards record nothing)
                    return cls.forward(self, *args)
                _state.enabled = False
                try:
                    return cls.forward(self, *args)
                finally:
                    _state.enabled = True
            except (MemoryError, ValueError) as e:
                reraise_allocation_error(e)
        # Recording (inline, not a method: one call less per recorded op). Tuple concatenation,
        # not list appends: no per-argument calls either.
        needs = nxt = meta = ()
        for a in args:
            if not isinstance(a, TensorBase):
                needs += (False,)
                nxt += (None,)
                meta += (None,)  # (None marks a non-tensor argument, False a constant tensor)
                continue
            if a._base is not None and a._version[0] != a._view_version:
                refresh_view(a)  # (the loop above stopped at the first input needing grad)
            if not a._requires_grad:
                needs += (False,)
                nxt += (None,)
                meta += (False,)
                continue
            fn = a._grad_fn
            arr = a._data
            needs += (True,)
            nxt += ((a, 0) if fn is None else (fn, a._output_nr),)
            meta += ((arr.shape, arr.dtype),)
        self.needs_input_grad = needs
        self._next = nxt
        self._input_meta = meta
        self._seq = next(_seq)
        _state.enabled = False
        try:
            out = cls.forward(self, *args)
        except (MemoryError, ValueError) as e:
            reraise_allocation_error(e)
        finally:
            _state.enabled = True
        if not isinstance(out, TensorBase) or self._dirty or self._non_diff:
            return self._wire_outputs(args, out)
        # The common case, one output and no dirty/non-differentiable marks, kept lean.
        for a in args:
            if a is out:  # returning an input unchanged: a fresh alias with its own history
                out = out._alias()
                break
        arr = out._data
        self._output_meta = ((arr.shape, arr.dtype, out._device),)
        if arr.dtype.kind in "fcV":
            out._grad_fn, out._output_nr, out._requires_grad = self, 0, True
        saved = ()
        for t in self._to_save:
            if t is None:
                saved += (None,)
            elif t is out or not isinstance(t, TensorBase):
                saved += (_pack(self, t, (out,)),)
            else:
                saved += ((t, t._version[0], -1),)
        self._saved = saved
        self._to_save = None
        return out

    def _wire_outputs(self, args, out):
        single = not isinstance(out, tuple)
        outs = [out] if single else list(out)
        non_diff = {id(t) for t in self._non_diff}
        dirty = {id(t) for t in self._dirty}
        input_ids = {id(a) for a in args if isinstance(a, TensorBase)}
        meta = []
        for i, t in enumerate(outs):
            if not isinstance(t, TensorBase):
                meta.append(None)
                continue
            if id(t) in input_ids and id(t) not in dirty:
                # Returning an input unchanged: the output is a fresh alias with its own history.
                t = outs[i] = t._alias()
            meta.append((t._data.shape, t._data.dtype, t._device))
            if id(t) in non_diff or t._data.dtype.kind not in "fcV":
                continue
            if id(t) in dirty:
                _check_inplace_allowed(t)
                t._bump_version()
                if t._base is not None:
                    hist = t._alias()
                    hist._grad_fn, hist._output_nr, hist._requires_grad = self, i, True
                    rebase_view(t, hist)
                    continue
            t._grad_fn, t._output_nr, t._requires_grad = self, i, True
        self._output_meta = meta
        self._saved = tuple([_pack(self, t, outs) for t in self._to_save])
        self._to_save = None
        return outs[0] if single else tuple(outs)

    # ------------------------------------------------------- used by in-place ops
    def _snapshot_saved(self, version) -> None:
        """Replace saved tensors that share storage ``version`` with copies of their values:
        an in-place op is about to overwrite that storage (PyTorch's ``original_self``)."""
        saved = list(self._saved)
        for i, s in enumerate(saved):
            if s is not None and s[0]._version is version:
                t = s[0]
                copy = t._wrap(t._data.copy())
                copy._requires_grad, copy._grad_fn, copy._output_nr = (
                    t._requires_grad, t._grad_fn, t._output_nr)
                saved[i] = (copy, 0, s[2])
        self._saved = tuple(saved)


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the node that accumulates into ``variable.grad``."""

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    next_functions = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def _pack(node, t, outs):
    """Remember a saved tensor: (tensor, version at save time, output index or -1)."""
    if t is None:
        return None
    if not isinstance(t, TensorBase):
        raise TypeError(f"save_for_backward can only save tensors, but argument was {type(t)}")
    for i, o in enumerate(outs):
        if o is t:
            # An output refers to this node: keep a graph-free alias to avoid a reference cycle,
            # and rebuild the output's history when unpacked.
            return (t._alias(), t._version[0], i)
    return (t, t._version[0], -1)


def _unpack(node, s):
    if s is None:
        return None
    t, version, out_idx = s
    if t._version[0] != version:
        kind = f"output {out_idx} of {node.name()}" if out_idx >= 0 else f"saved by {node.name()}"
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{_type_str(t)} {list(t._data.shape)}], which is {kind}, is at "
            f"version {t._version[0]}; expected version {version} instead. Hint: the backtrace "
            "further above can point to the operation that failed to compute its gradient. The "
            "variable in question was changed in there or anywhere later. Good luck!"
        )
    if out_idx >= 0:
        out = t._alias()
        out._grad_fn, out._output_nr, out._requires_grad = node, out_idx, True
        return out
    return t


def _type_str(t) -> str:
    prefix = "torch.cuda." if t._device.type == "cuda" else "torch."
    return f"{prefix}{legacy_name(t._data.dtype)}Tensor"


def _append_hook(obj, attr, hook):
    hooks = getattr(obj, attr)
    if hooks is None:
        hooks = []
        setattr(obj, attr, hooks)
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


class RemovableHandle:
    """Returned by ``register_hook``-style calls; ``remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


# ------------------------------------------------------------------ in-place machinery
def _check_inplace_allowed(t) -> None:
    """PyTorch's refusals of in-place writes to leaves that require grad (in grad mode)."""
    if not _state.enabled:
        return
    if t._grad_fn is None and t._requires_grad and t._base is None:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = t._base
    if base is not None and base._grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def apply_inplace(target, fn, *args, fast=None):
    """Run the out-of-place op ``fn(target, *args)`` and write its result into ``target``.

    When nothing is recorded, ``fast(target, *args)`` (if given) updates the storage directly.
    Otherwise the result's history becomes ``target``'s, and if ``target`` is a view its base gets
    a CopySlices node: gradient outside the view flows to the base's old history, inside it
    through ``fn``. This is the one place in-place autograd is handled, for every op and index.
    """
    for a in args:
        if isinstance(a, TensorBase) and a._version is target._version and a is not target:
            _check_no_partial_overlap(target, a)
    recording = False
    if _state.enabled:  # (under no_grad, e.g. optimizer updates, nothing below applies)
        _check_inplace_allowed(target)
        base = target._base
        recording = target._requires_grad or (base is not None and base._requires_grad)
        if not recording:
            for a in args:
                if isinstance(a, TensorBase) and a._requires_grad:
                    recording = True
                    break
    if not recording:
        if fast is not None:
            fast(target, *args)
        else:
            _write(target, fn(target, *args))
        target._version[0] += 1  # (_bump_version, inline: this runs per optimizer update)
        return target
    result = fn(target, *args)
    if result._grad_fn is not None:
        # The op may have saved ``target`` (or a view of it) for backward: keep the old values.
        result._grad_fn._snapshot_saved(target._version)
    _write(target, result)
    target._bump_version()
    if not result._requires_grad:  # e.g. an integer target: nothing differentiable to record
        return target
    if target._base is None:
        target._grad_fn, target._output_nr = result._grad_fn, result._output_nr
        target._requires_grad = result._requires_grad
    else:
        rebase_view(target, result)
    return target


def _check_no_partial_overlap(target, src) -> None:
    """PyTorch refuses an in-place op whose input overlaps the written tensor other than exactly
    (``x[1:].add_(x[:-1])``, ``x.add_(x.t())``): its result would depend on the order of
    evaluation. ``src`` shares ``target``'s storage (the same version counter)."""
    if partially_overlap(target._data, src._data):
        raise RuntimeError(
            "unsupported operation: some elements of the input tensor and the written-to tensor "
            "refer to a single memory location. Please clone() the tensor before performing the "
            "operation.")


def check_inplace_result(target, dtype, shape) -> None:
    """Raise PyTorch's errors when a result of ``dtype``/``shape`` cannot be written into
    ``target`` (checked before anything is written)."""
    dst = target._data
    if refuses_writes(dst):  # expanded views
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the operation."
        )
    # PyTorch forbids only float -> integer/bool and integer -> bool (NumPy's "same_kind" is
    # stricter: it refuses int16 -> uint8).
    if dtype != dst.dtype and KIND_CATEGORY[dtype.kind] > KIND_CATEGORY[dst.dtype.kind]:
        raise RuntimeError(
            f"result type {legacy_name(dtype)} can't be cast to the desired output type "
            f"{legacy_name(dst.dtype)}"
        )
    if shape != dst.shape:
        bshape = broadcast_shapes(dst.shape, shape)
        if bshape != dst.shape:
            raise RuntimeError(
                f"output with shape {list(dst.shape)} doesn't match the broadcast shape "
                f"{list(bshape)}"
            )


def _write(target, result) -> None:
    src = result._data
    check_inplace_result(target, src.dtype, src.shape)
    target._data[...] = src


class CopySlices(Function):
    """``base`` with the region ``view_fn(base)`` replaced by ``src`` (data already written)."""

    @staticmethod
    def forward(ctx, base, src, view_fn):
        ctx.view_fn = view_fn
        return base._alias()

    @staticmethod
    def backward(ctx, g):
        grad_base = grad_src = None
        if ctx.needs_input_grad[1]:
            grad_src = ctx.view_fn(g)
        if ctx.needs_input_grad[0]:
            grad_base = g.clone()
            ctx.view_fn(grad_base).zero_()
        return grad_base, grad_src, None


CopySlices._node_name = "CopySlices"  # PyTorch's name for this node


def rebase_view(view, result) -> None:
    """Give ``view``'s base the history "old base with ``view`` replaced by ``result``", then
    regenerate ``view``'s own history from the new base."""
    base = view._base
    view_fn = view._view_fn
    old = base._alias()
    old._grad_fn, old._output_nr, old._requires_grad = base._grad_fn, base._output_nr, base._requires_grad
    prev = _state.enabled
    _state.enabled = True
    try:
        new_base = CopySlices.apply(old, result, view_fn)
        base._grad_fn, base._output_nr, base._requires_grad = new_base._grad_fn, 0, True
        regen = view_fn(new_base)
    finally:
        _state.enabled = prev
    view._grad_fn, view._output_nr, view._requires_grad = regen._grad_fn, regen._output_nr, True
    view._view_version = view._version[0]


def refresh_view(view) -> None:
    """Rebuild a view's history from its base after the base (or another view of it) was
    written in place: the view's values changed, so its old history is stale."""
    base = view._base
    view._view_version = view._version[0]
    if not base._requires_grad:
        return
    src = base._alias()
    src._grad_fn, src._output_nr, src._requires_grad = base._grad_fn, base._output_nr, True
    if base._grad_fn is None:  # a leaf base: the edge must point at the leaf itself
        src = base
    prev = _state.enabled
    _state.enabled = True
    try:
        regen = view._view_fn(src)
    finally:
        _state.enabled = prev
    view._grad_fn, view._output_nr, view._requires_grad = regen._grad_fn, regen._output_nr, True


def once_differentiable(backward):
    """Decorate ``backward`` that is not itself differentiable: it runs under ``no_grad``, and
    differentiating its result (``create_graph=True``) raises instead of being silently wrong."""

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        with grad_mode.no_grad():
            result = backward(ctx, *grad_outputs)
        if not (_state.enabled and any(
                isinstance(g, TensorBase) and g._requires_grad for g in grad_outputs)):
            return result
        single = not isinstance(result, tuple)
        res = [result] if single else list(result)
        for i, r in enumerate(res):
            if isinstance(r, TensorBase):
                res[i] = _DelayedError.apply(r, *grad_outputs)
        return res[0] if single else tuple(res)

    return wrapper


class _DelayedError(Function):
    @staticmethod
    def forward(ctx, r, *grads):
        return r._alias()

    @staticmethod
    def backward(ctx, *g):
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable"
        )
