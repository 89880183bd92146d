"""Shared by the attention and transformer tests: one module in both libraries from identical
weights, and the comparison of its parameter gradients."""
from __future__ import annotations

import warnings

import numpy as np

import taimatsu
import taimatsu.nn as tnn
from tests.helpers import to_np, torch


def pair(make, train: bool = True, device: str = "cpu"):
    """``make(nn)`` in both libraries, PyTorch's weights copied into ours by state-dict key
    (which also proves the keys, their order and the reprs match), both in train or eval mode,
    ours moved to ``device``."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (enable_nested_tensor notices, the same in both)
        pm = make(torch.nn)
        tm = make(tnn)
    assert repr(tm) == repr(pm)
    state = {k: taimatsu.tensor(v.detach().numpy()) for k, v in pm.state_dict().items()}
    assert list(tm.state_dict()) == list(state)
    tm.load_state_dict(state)
    tm.train(train)
    pm.train(train)
    return tm.to(device), pm


def check_param_grads(tm, pm) -> None:
    tp = dict(tm.named_parameters())
    assert tp.keys() == dict(pm.named_parameters()).keys()
    for name, p in pm.named_parameters():
        if p.grad is None:
            assert tp[name].grad is None or np.allclose(to_np(tp[name].grad), 0), name
            continue
        np.testing.assert_allclose(to_np(tp[name].grad), p.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
