"""The backward pass: walks the graph of Function nodes and delivers gradients.

Order: every node's inputs were created before it, so visiting nodes from the newest to the
oldest (a heap on creation number) is a topological order; leaves come last. Iterative, so graphs
of any depth work. Broadcast gradients are summed back to the input's shape here, once.
"""
from __future__ import annotations

from heapq import heappop, heappush

from .. import _tensor_base
from .._tensor_base import TensorBase, make
from ..backend import memory_owner, refuses_writes
from ..dtypes import from_numpy_dtype
from . import grad_mode
from .function import Function, _type_str

_state = grad_mode.state


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None,
                 allow_unused=False, accumulate=True):
    """Backpropagate ``grad_tensors`` from ``tensors``.

    With ``accumulate`` (``backward``), leaf gradients are added into ``.grad`` (of ``inputs``
    only, when given). Without it (``autograd.grad``), the gradients reaching ``inputs`` are
    returned and no ``.grad`` changes. A leaf is finished (hooks, accumulation) as soon as the last
    node that can send it a gradient has run, as PyTorch's AccumulateGrad does.
    """
    if len(tensors) != len(grad_tensors):
        raise RuntimeError(f"got {len(tensors)} tensors and {len(grad_tensors)} gradients")
    root_edges, root_grads = [], []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not t._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        root_edges.append(_edge_of(t))
        root_grads.append(g)

    capture = None  # {(id(node or leaf), output_nr): position in inputs}
    if inputs is not None:
        capture = {}
        for k, t in enumerate(inputs):
            if not t._requires_grad:
                raise RuntimeError(f"One of the differentiated Tensors (index {k}) does not "
                                   "require grad")
            node, nr = _edge_of(t)
            capture[(id(node), nr)] = k
    needed, through, pending = _plan(root_edges, capture)
    results = [None] * (len(inputs) if inputs is not None else 0)

    heap = []  # (-creation number, id) of nodes holding gradients: newest pops first
    buffers = {}  # id(node) -> [node, [grad per output]]
    arrived = {}  # id(leaf) -> [leaf, grad so far] for leaves still waiting for gradients
    # Memory that a user can hold (given as a root gradient, seen by a hook or by a custom
    # Function) or that a .grad already owns: never adopted as a .grad, which is written in place.
    exposed = set()
    for g in root_grads:
        if g is not None:
            exposed.add(id(memory_owner(g._data)))
    leaf_args = (capture, results, accumulate, exposed, create_graph)

    _TENSOR = _tensor_base._TENSOR_TYPE  # gradients of this exact class need no type check
    prev = _state.enabled
    _state.enabled = create_graph
    try:
        # Deliver the roots' gradients, then each node's: (edges, gradients, node or None).
        edges, grads_in, src = root_edges, root_grads, None
        while True:
            i = -1
            for edge in edges:  # (one pass per graph edge: everything inline)
                i += 1
                if edge is None:
                    continue
                target, nr = edge
                key = id(target)
                if capture is not None and key not in needed:
                    continue
                g = grads_in[i]
                if g is not None and src is not None:
                    meta = src._input_meta[i]
                    if g.__class__ is not _TENSOR or g._data.shape != meta[0] or \
                            g._data.dtype != meta[1]:
                        g = _fit_to_input(src, i, g)
                left = pending.get(key)
                if left is not None:  # a leaf: finished when its last sender has run
                    entry = arrived.get(key)
                    if g is not None:
                        if entry is None:
                            entry = arrived[key] = [target, g]
                        else:
                            entry[1] = entry[1] + g
                    if left > 1:
                        pending[key] = left - 1
                    else:
                        del pending[key]
                        if entry is not None:
                            del arrived[key]
                            _finish_leaf(entry, *leaf_args)
                    continue
                if g is None:
                    continue
                entry = buffers.get(key)
                if entry is not None:  # a second gradient for this output: summed
                    grads = entry[1]
                    grads[nr] = g if grads[nr] is None else grads[nr] + g
                else:
                    grads = [None] * len(target._output_meta)
                    grads[nr] = g
                    buffers[key] = [target, grads]
                    heappush(heap, (-target._seq, key))
            if not heap:
                break
            key = heappop(heap)[1]
            node, grads = buffers.pop(key)
            if node._tensor_hooks or node._pre_hooks or node._retained:
                grads = _run_pre_hooks(node, grads, exposed)
            if capture is not None:
                for nr, g in enumerate(grads):
                    k = capture.get((key, nr))
                    if k is not None:
                        results[k] = g
                if key not in through:  # nothing past this node was asked for
                    if not retain_graph:
                        node._saved, node._released = None, True
                    edges = ()
                    continue
            if node._materialize:
                for g in grads:
                    if g is None:
                        _materialize(node, grads)
                        break
            if not node._builtin:  # user code sees these gradients and may keep them
                _expose(exposed, grads)
            grads_in = type(node).backward(node, *grads)
            if grads_in.__class__ is not tuple and not isinstance(grads_in, tuple):
                grads_in = (grads_in,)  # one input's gradient, returned bare
            if len(grads_in) != len(node._next) or node._post_hooks or not node._builtin:
                grads_in = _checked_result(node, grads_in, grads, exposed)
            if not retain_graph:
                node._saved, node._released = None, True  # Function._release, inlined (hot)
            edges, src = node._next, node
        # Leaves whose remaining senders received no gradient, in first-delivery order.
        for entry in list(arrived.values()):
            _finish_leaf(entry, *leaf_args)
    finally:
        _state.enabled = prev

    if inputs is not None and accumulate:
        for t, g in zip(inputs, results):  # non-leaf inputs of backward(inputs=...)
            if g is not None and t._grad_fn is not None:
                t._grad = g.detach() if t._grad is None else t._grad + g.detach()
    if inputs is not None and not accumulate:
        for k, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
        return tuple(results)
    return None


def _edge_of(t):
    return (t, 0) if t._grad_fn is None else (t._grad_fn, t._output_nr)


def _plan(root_edges, capture):
    """What the pass will touch: ``(needed, through, pending)``.

    ``pending`` counts, per leaf, the edges that can deliver it a gradient (roots included), so
    the leaf is finished when the count reaches zero. With ``capture`` (gradients w.r.t. given
    inputs), ``needed`` holds the ids of nodes and leaves from which a captured input is reachable
    and ``through`` those of the nodes whose backward must run; otherwise both are None.
    """
    pending = {}
    nodes = []
    seen = set()

    def visit(edges):
        for e in edges:
            if e is not None:
                t = e[0]
                k = id(t)
                if isinstance(t, TensorBase):
                    pending[k] = pending.get(k, 0) + 1
                elif k not in seen:
                    seen.add(k)
                    nodes.append(t)

    visit(root_edges)
    i = 0
    while i < len(nodes):  # (the list grows as it is walked: every node once)
        visit(nodes[i]._next)
        i += 1
    if capture is None:
        return None, None, pending
    needed = {k[0] for k in capture}
    through = set()
    for node in sorted(nodes, key=lambda n: n._seq):  # inputs before the nodes that use them
        if any(e is not None and id(e[0]) in needed for e in node._next):
            through.add(id(node))
            needed.add(id(node))
    pending = {}
    for t, _ in root_edges:
        if isinstance(t, TensorBase) and id(t) in needed:
            pending[id(t)] = pending.get(id(t), 0) + 1
    for node in nodes:
        if id(node) in through:
            for e in node._next:
                if e is not None and isinstance(e[0], TensorBase) and id(e[0]) in needed:
                    pending[id(e[0])] = pending.get(id(e[0]), 0) + 1
    return needed, through, pending


def _expose(exposed, grads) -> None:
    for g in grads:
        if isinstance(g, TensorBase):
            exposed.add(id(memory_owner(g._data)))


def _hook_name(fn) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _checked_hook_value(fn, old, new):
    """A hook's replacement gradient, refused (as PyTorch does) unless it is a Tensor with the
    old one's shape, dtype and device."""
    if not isinstance(new, TensorBase):
        raise TypeError(f"expected Variable, but hook returned '{type(new).__name__}'")
    if new._data.dtype != old._data.dtype or new._device != old._device:
        raise RuntimeError(f"hook '{_hook_name(fn)}' has changed the type of value (was "
                           f"{_type_str(old)} got {_type_str(new)})")
    if new._data.shape != old._data.shape:
        raise RuntimeError(f"hook '{_hook_name(fn)}' has changed the size of value")
    return new


def _checked_hook_values(fn, old, new) -> list:
    """A node hook's replacement tuple of gradients, checked entry by entry."""
    if not isinstance(new, (tuple, list)):
        new = (new,)
    if len(new) != len(old):
        raise RuntimeError(f"hook '{_hook_name(fn)}' has returned an incorrect number of values "
                           f"(got {len(new)}, but expected {len(old)})")
    return [n if n is None or o is None else _checked_hook_value(fn, o, n)
            for o, n in zip(old, new)]


def _call_tensor_hooks(hooks, g, exposed):
    """Run ``hook(grad)`` in order; each may return a replacement (checked)."""
    for fn in hooks:
        exposed.add(id(memory_owner(g._data)))
        new = fn(g)
        if new is not None:
            g = _checked_hook_value(fn, g, new)
    exposed.add(id(memory_owner(g._data)))
    return g


def _run_pre_hooks(node, grads, exposed):
    """PyTorch's order before a node runs: tensor hooks of its outputs, then ``retain_grad``
    (which therefore sees the hooks' result), then the node's pre-hooks."""
    hooks = node._tensor_hooks
    if hooks:
        for nr, fns in hooks.items():
            if grads[nr] is not None and fns:
                grads[nr] = _call_tensor_hooks(fns, grads[nr], exposed)
    retained = node._retained
    if retained:
        for nr, ref in retained.items():
            t = ref()
            g = grads[nr]
            if t is not None and g is not None:
                # A copy: the .grad is the user's and must not alias the gradient flowing on.
                t._grad = g.detach().clone() if t._grad is None else t._grad + g.detach()
    if node._pre_hooks:
        for fn in node._pre_hooks:
            _expose(exposed, grads)
            new = fn(tuple(grads))
            if new is not None:
                grads = _checked_hook_values(fn, grads, new)
    return grads


def _materialize(node, grads) -> None:
    """Zeros for the outputs that received no gradient (unless the node opted out)."""
    for i, g in enumerate(grads):
        if g is None:
            meta = node._output_meta[i]
            if meta is not None:
                shape, dtype, dev = meta
                grads[i] = _zeros(dev, shape, dtype)


def _checked_result(node: Function, result: tuple, grads, exposed):
    """``backward``'s result as one gradient per input (PyTorch tolerates extra trailing Nones),
    after the node's post-hooks, which may replace it; the engine calls this unless the result
    already has one entry per input, there are no hooks and the node is a built-in."""
    n_in = len(node._next)
    if len(result) != n_in:
        if len(result) > n_in and all(r is None for r in result[n_in:]):
            result = result[:n_in]
        else:
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {n_in}, got {len(result)})"
            )
    if not node._builtin:
        for i, r in enumerate(result):
            if r is not None and node._input_meta[i] is None:
                raise RuntimeError(
                    f"function {node.name()} returned a gradient different than None at "
                    f"position {i + 1}, but the corresponding forward input was not a Variable")
        _expose(exposed, result)
    if node._post_hooks:
        for fn in node._post_hooks:
            _expose(exposed, result)
            new = fn(result, tuple(grads))
            if new is not None:
                result = tuple(_checked_hook_values(fn, result, new))
        _expose(exposed, result)
    return result


def _zeros(dev, shape, np_dtype):
    return make(dev.xp.zeros(shape, np_dtype), dev)


def _fit_to_input(node, i, g):
    """Sum a broadcast gradient back to the input's shape and cast it to the input's dtype."""
    if not isinstance(g, TensorBase):
        raise TypeError(
            f"function {node.name()} returned a gradient of type {type(g).__name__} at index {i}; "
            "expected a Tensor or None"
        )
    shape, dtype = node._input_meta[i]
    gshape = g._data.shape
    if gshape != shape:
        if not _broadcastable_to(shape, gshape):
            raise RuntimeError(
                f"Function {node.name()} returned an invalid gradient at index {i} - got "
                f"{list(gshape)} but expected shape compatible with {list(shape)}"
            )
        g = g.sum_to_size(shape)
    if g._data.dtype != dtype:
        g = g.to(dtype=from_numpy_dtype(dtype))
    return g


def _broadcastable_to(small, big) -> bool:
    """True when ``small`` broadcasts to ``big`` (so the gradient can be summed back)."""
    if len(small) > len(big):
        return False
    for s, b in zip(reversed(small), reversed(big)):
        if s != b and s != 1:
            return False
    return True


def _finish_leaf(entry, capture, results, accumulate, exposed, create_graph):
    """A leaf's gradient is complete: run its hooks, then capture it or add it into ``.grad``."""
    t, g = entry
    entry[1] = None  # (the engine keeps no reference once the leaf is done)
    if t._hooks:
        g = _call_tensor_hooks(t._hooks, g, exposed)
    if capture is not None:
        k = capture.get((id(t), 0))
        if k is not None:
            results[k] = g
        if not accumulate or k is None:
            return
    if not accumulate:
        return
    grad = t._grad
    if create_graph:
        # The gradient may carry history and flow elsewhere: the leaf gets its own copy.
        t._grad = g.clone() if grad is None else grad + g
        return
    if grad is None:
        arr = g._data
        if id(memory_owner(arr)) in exposed or not arr.flags.c_contiguous or \
                refuses_writes(arr):
            # Someone else can hold this memory (or it is a broadcast view): optimizers write
            # into .grad in place, so it must own its memory.
            arr = t.xp.array(arr, copy=True, order="C")
        exposed.add(id(memory_owner(arr)))
        t._grad = g._wrap(arr)
    elif grad._requires_grad or grad._data.shape != g._data.shape:
        t._grad = grad + g
    else:
        src = g._data
        dst = grad._data
        dst += src if src.dtype == dst.dtype else src.astype(dst.dtype)
        grad._version[0] += 1  # (_bump_version, inline)
