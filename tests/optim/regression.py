"""A small linear regression trained by hand in taimatsu and in PyTorch from the same weights."""
from __future__ import annotations

import numpy as np

import taimatsu
from tests.helpers import to_np, torch


def data(dtype=np.float64, seed=0):
    """Inputs ``x`` (16x4), targets ``y`` (16x3) and initial ``w`` (4x3), ``b`` (3)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 4))
    y = rng.standard_normal((16, 3))
    w = 0.5 * rng.standard_normal((4, 3))
    b = 0.1 * rng.standard_normal(3)
    return [a.astype(dtype) for a in (x, y, w, b)]


def leaves(lib, arrays, device="cpu"):
    """Leaf tensors that require grad, one per array (taimatsu on ``device``, torch on cpu)."""
    if lib is taimatsu:
        return [taimatsu.tensor(a.copy(), device=device, requires_grad=True) for a in arrays]
    return [torch.tensor(a.copy(), requires_grad=True) for a in arrays]


def loss_fn(lib, x, y, w, b):
    d = lib.matmul(x, w) + b - y
    return (d * d).mean()


class Problem:
    """One framework's copy of the regression: ``params`` are ``[w, b]``."""

    def __init__(self, lib, dtype=np.float64, device="cpu", seed=0):
        x, y, w, b = data(dtype, seed)
        self.lib = lib
        if lib is taimatsu:
            self.x, self.y = (taimatsu.tensor(a, device=device) for a in (x, y))
        else:
            self.x, self.y = torch.tensor(x), torch.tensor(y)
        self.params = leaves(lib, [w, b], device)

    def loss(self):
        return loss_fn(self.lib, self.x, self.y, *self.params)

    def train(self, opt, steps=20):
        for _ in range(steps):
            opt.zero_grad()
            self.loss().backward()
            opt.step()

    def values(self):
        return [to_np(p).copy() for p in self.params]


def make(lib, name, params, kwargs):
    """``lib.optim.<name>(params, **kwargs)``."""
    return getattr(lib.optim, name)(params, **kwargs)


def assert_close(a_list, b_list, rtol=1e-5, atol=0.0):
    assert len(a_list) == len(b_list)
    for a, b in zip(a_list, b_list):
        np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                   rtol=rtol, atol=atol)
