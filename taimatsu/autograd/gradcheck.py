"""Numerical gradient checks: central differences in float64 against the analytical backward."""
from __future__ import annotations

import warnings

import numpy as np

from .._tensor_base import TensorBase
from ..backend import to_numpy


class GradcheckError(RuntimeError):
    """Raised when the analytical and numerical gradients disagree."""


def _inputs_needing_grad(inputs):
    return [i for i, x in enumerate(inputs) if isinstance(x, TensorBase) and x._requires_grad]


def _flat_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return [o for o in outs if isinstance(o, TensorBase) and o._data.dtype.kind == "f"]


def _numerical_jacobian(fn, inputs, idx, eps):
    """d(all outputs, flattened)/d(inputs[idx], flattened) by central differences.

    Runs with grad mode as it is: gradgradcheck's function itself calls autograd.grad.
    """
    arr = inputs[idx]._data
    if not arr.flags.c_contiguous:
        raise ValueError("gradcheck needs contiguous inputs to perturb")
    flat = arr.reshape(-1)  # a view: perturbed in place, restored after each probe

    def probe():
        outs = _flat_outputs(fn(*inputs))
        return np.concatenate([to_numpy(o._data).astype(np.float64).ravel() for o in outs]) \
            if outs else np.zeros(0)

    cols = []
    for k in range(arr.size):
        orig = flat[k].item()
        flat[k] = orig + eps
        plus = probe()
        flat[k] = orig - eps
        minus = probe()
        flat[k] = orig
        cols.append((plus - minus) / (2 * eps))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def _analytical_jacobian(fn, inputs, idx_list, create_graph=False):
    """Rows: each output element; one Jacobian block per differentiable input."""
    from . import grad as autograd_grad

    outs = _flat_outputs(fn(*inputs))
    sizes = [o._data.size for o in outs]
    n_out = sum(sizes)
    jac = [np.zeros((n_out, inputs[i]._data.size)) for i in idx_list]
    row = 0
    for o in outs:
        for k in range(o._data.size):
            if not o._requires_grad:
                row += 1
                continue
            g = np.zeros(o._data.shape, dtype=o._data.dtype)
            g.reshape(-1)[k] = 1
            go = o._wrap(o.xp.asarray(g))
            grads = autograd_grad([o], [inputs[i] for i in idx_list], [go], retain_graph=True,
                                  allow_unused=True)
            for j, gr in enumerate(grads):
                if gr is not None:
                    jac[j][row] = to_numpy(gr._data).astype(np.float64).ravel()
            row += 1
    return jac


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, fast_mode=False, masked=None) -> bool:
    """Check ``func``'s gradients against central differences for inputs with
    ``requires_grad=True`` (use float64 inputs). Returns True or raises ``GradcheckError``."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx = _inputs_needing_grad(inputs)
    for i in idx:
        if inputs[i]._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point. gradcheck is most reliable in float64.", stacklevel=2)
    analytical = _analytical_jacobian(func, inputs, idx)
    for j, i in enumerate(idx):
        numerical = _numerical_jacobian(func, inputs, i, eps)
        a = analytical[j]
        if numerical.shape != a.shape:
            numerical = numerical.reshape(a.shape)
        if not np.allclose(a, numerical, atol=atol, rtol=rtol):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"Jacobian mismatch for output 0 with respect to input {i},\n"
                f"numerical:{numerical}\nanalytical:{a}\n"
            )
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, **kwargs) -> bool:
    """Check second derivatives: gradcheck of the map (inputs, grad_outputs) -> input gradients,
    computed with ``create_graph=True``."""
    from . import grad as autograd_grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    idx = _inputs_needing_grad(inputs)
    outs = _flat_outputs(func(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            o._wrap(o.xp.asarray(rng.standard_normal(o._data.shape))).requires_grad_()
            for o in outs)
    grad_outputs = tuple(grad_outputs)
    n_in = len(inputs)

    def first_grads(*args):
        xs, gos = args[:n_in], args[n_in:]
        ys = _flat_outputs(func(*xs))
        diff = [o for o in ys if o._requires_grad]
        gs = [g for o, g in zip(ys, gos) if o._requires_grad]
        grads = autograd_grad(diff, [xs[i] for i in idx], gs, create_graph=True,
                              allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_grads, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
