"""Hand-written NumPy versions of the benchmarked models: the floor any framework on NumPy has.

Each ``make_*`` returns a ``step()`` closure doing one training step as a person would write it,
with the same sizes and update rule as the framework programs.
"""
from __future__ import annotations

import itertools

import numpy as np


def make_two_layer(N=64, D_in=1000, H=100, D_out=10, lr=1e-6, dtype=np.float32, seed=0):
    """The tutorial's two-layer ReLU net with a manual backward (tensors/autograd programs)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D_in), dtype=dtype)
    y = rng.standard_normal((N, D_out), dtype=dtype)
    w1 = rng.standard_normal((D_in, H), dtype=dtype)
    w2 = rng.standard_normal((H, D_out), dtype=dtype)

    def step():
        nonlocal w1, w2  # updated in place; `-=` would otherwise make them locals
        h = x @ w1
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ w2
        diff = y_pred - y
        loss = float(np.square(diff).sum())
        grad_y_pred = 2.0 * diff
        grad_w2 = h_relu.T @ grad_y_pred
        grad_h = grad_y_pred @ w2.T
        grad_h[h < 0] = 0
        grad_w1 = x.T @ grad_h
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
        return loss

    return step


def make_mlp(batch=128, sizes=(784, 512, 512, 10), lr=0.01, seed=0):
    """MLP with ReLU, softmax cross-entropy and plain SGD (float32)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    target = rng.integers(0, sizes[-1], batch)
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(fan_in)
        params.append([rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)])

    def step():
        acts = [x]
        h = x
        for i, (w, b) in enumerate(params):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = np.maximum(h, 0)
            acts.append(h)
        logits = acts[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        probs = exp / exp.sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(batch), target]).mean()
        g = probs
        g[np.arange(batch), target] -= 1
        g /= batch
        for i in range(len(params) - 1, -1, -1):
            w, b = params[i]
            a = acts[i]
            gw = g.T @ a
            gb = g.sum(axis=0)
            if i:
                g = g @ w
                g[acts[i] <= 0] = 0
            w -= lr * gw
            b -= lr * gb
        return float(loss)

    return step
