"""The backward pass: walks the graph of Function nodes and delivers gradients.

Order: every node's inputs were created before it, so visiting nodes from the newest to the
oldest (a heap on creation number) is a topological order; leaves come last. Iterative, so graphs
of any depth work. Broadcast gradients are summed back to the input's shape here, once.
"""
from __future__ import annotations

from heapq import heappop, heappush

from .. import _tensor_base
from .._tensor_base import TensorBase, make
from ..backend import memory_owner
from ..dtypes import from_numpy_dtype
from . import grad_mode
from .function import Function

_state = grad_mode.state


def run_backward(tensors, grad_tensors, retain_graph, create_graph, inputs=None,
                 allow_unused=False, accumulate=True):
    """Backpropagate ``grad_tensors`` from ``tensors``.

    With ``accumulate`` (``backward``), leaf gradients are added into ``.grad`` (of ``inputs``
    only, when given). Without it (``autograd.grad``), the gradients reaching ``inputs`` are
    returned and no ``.grad`` changes.
    """
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
        needed = _needed_nodes(root_edges, capture)
    results = [None] * (len(inputs) if inputs is not None else 0)

    heap = []  # (-creation number, id) of nodes holding gradients: newest pops first
    buffers = {}  # id(node or leaf) -> [node or leaf, [grad per output]]
    leaves = []  # leaves' buffers in first-delivery order: they run after every node
    stored = set()  # memory owners already stored in a .grad during this pass
    for g in root_grads:
        if g is not None:
            stored.add(id(memory_owner(g._data)))  # never store the caller's tensor itself

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
                g = grads_in[i]
                if g is None:
                    continue
                target, nr = edge
                key = id(target)
                if src is not None:
                    if capture is not None and key not in needed:
                        continue
                    meta = src._input_meta[i]
                    if g.__class__ is not _TENSOR or g._data.shape != meta[0] or \
                            g._data.dtype != meta[1]:
                        g = _fit_to_input(src, i, g)
                entry = buffers.get(key)
                if entry is not None:  # a second gradient for this output: summed
                    grads = entry[1]
                    grads[nr] = g if grads[nr] is None else grads[nr] + g
                elif isinstance(target, TensorBase):
                    entry = buffers[key] = [target, [g]]
                    leaves.append(entry)
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
                grads = _run_tensor_hooks(node, grads)
            if capture is not None:
                for nr, g in enumerate(grads):
                    k = capture.get((key, nr))
                    if k is not None:
                        results[k] = g
                if key not in needed:
                    if not retain_graph:
                        node._release()
                    edges = ()
                    continue
            if node._materialize:
                for g in grads:
                    if g is None:
                        _materialize(node, grads)
                        break
            grads_in = type(node).backward(node, *grads)
            if grads_in.__class__ is not tuple and not isinstance(grads_in, tuple):
                grads_in = (grads_in,)  # one input's gradient, returned bare
            if len(grads_in) != len(node._next) or node._post_hooks:
                grads_in = _checked_result(node, grads_in, grads)
            if not retain_graph:
                node._saved, node._released = None, True  # Function._release, inlined (hot)
            edges, src = node._next, node
        for node, grads in leaves:
            _finish_leaf(node, grads[0], capture, results, accumulate, inputs, stored,
                         create_graph)
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


def _needed_nodes(root_edges, capture):
    """ids of the nodes (and leaves) from which some captured input is reachable."""
    captured_ids = {k[0] for k in capture}
    needed = set()
    order = []  # post-order, children before parents
    seen = set()
    stack = [(e[0], False) for e in root_edges]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        if not isinstance(node, TensorBase):
            for e in node._next:
                if e is not None and id(e[0]) not in seen:
                    stack.append((e[0], False))
    for node in order:
        if id(node) in captured_ids or (not isinstance(node, TensorBase) and any(
                e is not None and id(e[0]) in needed for e in node._next)):
            needed.add(id(node))
    return needed


def _run_tensor_hooks(node, grads):
    hooks = node._tensor_hooks
    if hooks:
        for nr, fns in hooks.items():
            for fn in fns:
                if grads[nr] is not None:
                    new = fn(grads[nr])
                    if new is not None:
                        grads[nr] = new
    if node._pre_hooks:
        for fn in node._pre_hooks:
            new = fn(tuple(grads))
            if new is not None:
                grads = list(new)
    retained = node._retained
    if retained:
        for nr, ref in retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr]
                t._grad = g.detach().clone() if t._grad is None else t._grad + g.detach()
    return grads


def _materialize(node, grads) -> None:
    """Zeros for the outputs that received no gradient (unless the node opted out)."""
    for i, g in enumerate(grads):
        if g is None:
            meta = node._output_meta[i]
            if meta is not None:
                shape, dtype, dev = meta
                grads[i] = _zeros(dev, shape, dtype)


def _checked_result(node: Function, result: tuple, grads):
    """``backward``'s result as one gradient per input (PyTorch tolerates extra trailing Nones),
    after the node's post-hooks; the engine calls this unless the result already has one entry
    per input and there are no hooks."""
    n_in = len(node._next)
    if len(result) != n_in:
        if len(result) > n_in and all(r is None for r in result[n_in:]):
            result = result[:n_in]
        else:
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {n_in}, got {len(result)})"
            )
    if node._post_hooks:
        for fn in node._post_hooks:
            fn(result, tuple(grads))
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


def _finish_leaf(t, g, capture, results, accumulate, inputs, stored, create_graph):
    if g is None:
        return
    if t._hooks:
        for fn in t._hooks:
            new = fn(g)
            if new is not None:
                g = new
    if capture is not None:
        k = capture.get((id(t), 0))
        if k is not None:
            results[k] = g
        if not accumulate or k is None:
            return
    if not accumulate:
        return
    if create_graph:
        t._grad = g if t._grad is None else t._grad + g
        return
    if t._grad is None:
        arr = g._data
        if id(memory_owner(arr)) in stored or not (arr.flags.c_contiguous and arr.flags.writeable):
            # Another .grad, or the caller, holds this memory (or it is a broadcast view):
            # optimizers write into .grad in place, so it must own its memory.
            arr = t.xp.array(arr, copy=True, order="C")
        stored.add(id(memory_owner(arr)))
        t._grad = g._wrap(arr)
    else:
        grad = t._grad
        if grad._requires_grad or grad._data.shape != g._data.shape:
            t._grad = grad + g
        else:
            src = g._data
            dst = grad._data
            dst += src if src.dtype == dst.dtype else src.astype(dst.dtype)
            grad._version[0] += 1  # (_bump_version, inline)
