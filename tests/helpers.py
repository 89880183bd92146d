"""Test helpers: compare an op with PyTorch, and gradcheck it in float64.

``compare(fn, *arrays)`` runs ``fn(lib, *tensors)`` once with ``lib = taimatsu`` and once with
``lib = torch`` on tensors built from the same NumPy arrays, then checks outputs and the gradients
of every floating input (with the same random upstream gradient).
"""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu

try:
    import torch
except ImportError:  # the comparison tests skip, saying why
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (pip install "
                                 "torch==2.13.0): comparison with PyTorch skipped")


def to_np(t):
    """A NumPy copy of a taimatsu or torch tensor (or pass through arrays/scalars)."""
    if isinstance(t, taimatsu.Tensor):
        return np.asarray(t.detach().cpu().numpy())
    if torch is not None and isinstance(t, torch.Tensor):
        return t.detach().numpy(force=True)  # force: also for torch's lazy zero tensors
    return np.asarray(t)


def _flat(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flat(o))
        return res
    return [out]


def compare(fn, *arrays, device="cpu", grad=True, atol=1e-5, rtol=1e-4, non_contiguous=False):
    """Check ``fn(lib, *tensors)`` and its gradients against PyTorch (skips if torch is absent).

    ``arrays`` are NumPy arrays (float ones get ``requires_grad`` when ``grad``) or other values
    passed through unchanged. With ``non_contiguous``, each array input is given as a transposed
    view of a contiguous array.
    """
    if torch is None:
        pytest.skip("PyTorch is not installed: comparison skipped")

    def build(lib):
        ts = []
        for a in arrays:
            if isinstance(a, np.ndarray):
                req = grad and a.dtype.kind == "f"
                if lib is taimatsu:
                    if non_contiguous and a.ndim >= 2:  # same values through a transposed view
                        flipped = np.ascontiguousarray(np.swapaxes(a, -1, -2))
                        t = taimatsu.tensor(flipped, device=device).transpose(-1, -2)
                        assert not t.is_contiguous()
                    else:
                        t = taimatsu.tensor(a.copy(), device=device)
                    if req:
                        t = t.detach().requires_grad_()
                else:
                    t = torch.tensor(a.copy())
                    if req:
                        t.requires_grad_()
                ts.append(t)
            else:
                ts.append(a)
        return ts

    tt, pt = build(taimatsu), build(torch)
    out_t, out_p = _flat(fn(taimatsu, *tt)), _flat(fn(torch, *pt))
    assert len(out_t) == len(out_p)
    for a, b in zip(out_t, out_p):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, taimatsu.Tensor), f"expected a Tensor, got {type(a)}"
            assert tuple(a.shape) == tuple(b.shape), f"shape {tuple(a.shape)} != {tuple(b.shape)}"
            assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], \
                f"dtype {a.dtype} != {b.dtype}"
            np.testing.assert_allclose(to_np(a).astype(np.float64), to_np(b).astype(np.float64),
                                       atol=atol, rtol=rtol, equal_nan=True)
        else:
            assert a == b
    if not grad:
        return
    diff = [(a, b) for a, b in zip(out_t, out_p)
            if isinstance(b, torch.Tensor) and b.requires_grad]
    if not diff:
        return
    rng = np.random.default_rng(1)
    gs = [rng.standard_normal(tuple(b.shape)).astype(to_np(b).dtype) for _, b in diff]
    torch.autograd.backward([b for _, b in diff], [torch.tensor(g) for g in gs])
    taimatsu.autograd.backward([a for a, _ in diff],
                               [taimatsu.tensor(g, device=device) for g in gs])
    for a, b in zip(tt, pt):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            if b.grad is None:
                assert a.grad is None or np.allclose(to_np(a.grad), 0)
                continue
            assert a.grad is not None, "taimatsu computed no gradient where PyTorch did"
            assert tuple(a.grad.shape) == tuple(b.grad.shape)
            np.testing.assert_allclose(to_np(a.grad).astype(np.float64),
                                       to_np(b.grad).astype(np.float64), atol=atol, rtol=rtol,
                                       equal_nan=True)


def gradcheck(fn, *arrays, device="cpu", second_order=True, **kw):
    """float64 central-difference gradcheck of ``fn(*tensors)`` (and gradgradcheck)."""
    ts = []
    for a in arrays:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            ts.append(taimatsu.tensor(a.astype(np.float64), device=device, requires_grad=True))
        elif isinstance(a, np.ndarray):
            ts.append(taimatsu.tensor(a, device=device))
        else:
            ts.append(a)
    assert taimatsu.autograd.gradcheck(fn, ts, **kw)
    if second_order:
        assert taimatsu.autograd.gradgradcheck(fn, ts, **kw)


def rand(*shape, seed=0, low=-1.0, high=1.0, dtype=np.float32):
    """Deterministic uniform test data."""
    return np.random.default_rng(seed).uniform(low, high, shape).astype(dtype)
