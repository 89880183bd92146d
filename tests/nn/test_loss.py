"""Losses (functional and Module forms) against PyTorch, float64 gradcheck, and error cases."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
import taimatsu.nn.functional as F
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np

REDUCTIONS = ["mean", "sum", "none"]


def const(T, a, device):
    """A constant (no grad) tensor of ``a`` in library ``T`` (weights, masks)."""
    return T.tensor(a, device=device) if T is taimatsu else T.tensor(a)


def labels(*shape, n_classes=5, seed=0):
    return np.random.default_rng(seed).integers(0, n_classes, shape).astype(np.int64)


def probs(*shape, seed=0, axis=1):
    e = np.exp(rand(*shape, seed=seed) * 2)
    return (e / e.sum(axis=axis, keepdims=True)).astype(np.float32)


# ---------------------------------------------------------------------------- regression losses
REGRESSION = {
    "mse_loss": lambda F, x, t, r: F.mse_loss(x, t, reduction=r),
    "l1_loss": lambda F, x, t, r: F.l1_loss(x, t, reduction=r),
    "smooth_l1_loss": lambda F, x, t, r: F.smooth_l1_loss(x, t, reduction=r),
    "smooth_l1_beta": lambda F, x, t, r: F.smooth_l1_loss(x, t, reduction=r, beta=0.3),
    "smooth_l1_beta0": lambda F, x, t, r: F.smooth_l1_loss(x, t, reduction=r, beta=0.0),
    "huber_loss": lambda F, x, t, r: F.huber_loss(x, t, reduction=r),
    "huber_delta": lambda F, x, t, r: F.huber_loss(x, t, reduction=r, delta=0.4),
}


@needs_torch
@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_loss_matches_torch(name, reduction, device):
    fn = REGRESSION[name]
    compare(lambda T, x, t: fn(T.nn.functional, x, t, reduction), rand(4, 5) * 2,
            rand(4, 5, seed=1) * 2, device=device)


@needs_torch
@pytest.mark.parametrize("name", REGRESSION)
def test_regression_loss_0d_empty_and_non_contiguous(name, device):
    fn = REGRESSION[name]
    for shape in [(), (0,), (0, 3)]:
        for r in REDUCTIONS:
            compare(lambda T, x, t, r=r: fn(T.nn.functional, x, t, r), rand(*shape),
                    rand(*shape, seed=1), device=device)
    compare(lambda T, x, t: fn(T.nn.functional, x, t, "mean"), rand(3, 4), rand(3, 4, seed=1),
            device=device, non_contiguous=True)


@pytest.mark.parametrize("name", REGRESSION)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_loss_gradcheck(name, reduction, device):
    fn = REGRESSION[name]
    x = rand(3, 4)
    t = x + np.where(rand(3, 4, seed=1) > 0, 1, -1).astype(np.float32) * (
        0.05 + np.abs(rand(3, 4, seed=2)))  # no |x - t| at the kinks 0, beta or delta
    t[0, 0] = x[0, 0] + 1.5
    gradcheck(lambda x, t: fn(F, x, t, reduction), x, t, device=device)


@needs_torch
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_loss_matches_torch(name, reduction, device):
    w = rand(3, 4, seed=3, low=0.1, high=2.0)
    compare(lambda T, x, t: getattr(T.nn.functional, name)(
        x, t, reduction=reduction, weight=const(T, w, device)),
        rand(3, 4), rand(3, 4, seed=1), device=device)


def test_weighted_regression_loss_bad_weight():
    x = taimatsu.zeros(3)
    for fn in (F.mse_loss, F.l1_loss, F.huber_loss):
        with pytest.raises(ValueError, match="Weights and input must have the same size."):
            fn(x, x, weight=taimatsu.ones(2))


@needs_torch
def test_mse_loss_broadcast_warns_like_torch(device):
    with pytest.warns(UserWarning, match=r"Using a target size \(.*\[3, 1\]\)\) that is "
                                         r"different to the input size \(.*\[3, 4\]\)\)"):
        compare(lambda T, x, t: T.nn.functional.mse_loss(x, t), rand(3, 4), rand(3, 1),
                device=device)


def test_regression_loss_bad_arguments():
    x = taimatsu.zeros(3)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(RuntimeError,
                       match="smooth_l1_loss does not support negative values for beta."):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError,
                       match="huber_loss does not support non-positive values for delta."):
        F.huber_loss(x, x, delta=0.0)


@needs_torch
def test_legacy_size_average_and_reduce(device):
    for sa, red in [(False, None), (None, False), (True, True)]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            compare(lambda T, x, t, sa=sa, red=red: T.nn.functional.mse_loss(
                x, t, size_average=sa, reduce=red), rand(3, 2), rand(3, 2, seed=1), device=device)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert tnn.L1Loss(size_average=False).reduction == "sum"


# ---------------------------------------------------------------------------- NLL / cross entropy
# (input shape, target shape): no batch, batch, K-dim (3-D, 4-D and 5-D inputs).
CLASS_SHAPES = [((5,), ()), ((4, 5), (4,)), ((3, 5, 2), (3, 2)), ((2, 5, 3, 2), (2, 3, 2)),
                ((2, 5, 2, 1, 2), (2, 2, 1, 2))]


def _shape_id(shapes):
    return f"{len(shapes[0])}d-target{len(shapes[1])}d"


def class_targets(tshape, ignore=None, seed=0):
    t = labels(*tshape, seed=seed)
    if ignore is not None and t.size > 1:  # keep one target at least (all ignored: nan mean)
        t.reshape(-1)[::3] = ignore
    return t


CE_OPTIONS = {
    "plain": {},
    "weight": {"weight": np.linspace(0.2, 2.0, 5, dtype=np.float32)},
    "ignore_index": {"ignore_index": 2},
    "ignore_default": {"ignore": -100},
    "weight_ignore": {"weight": np.linspace(0.2, 2.0, 5, dtype=np.float32), "ignore_index": 1},
    "label_smoothing": {"label_smoothing": 0.2},
    "smoothing_weight_ignore": {"label_smoothing": 0.1, "ignore_index": 3,
                                "weight": np.linspace(2.0, 0.5, 5, dtype=np.float32)},
}


def _ce_call(fname, opts, device):
    """``fn(T, x, t)`` calling ``F.<fname>`` with the options; ``ignore`` marks targets only."""
    def fn(T, x, t):
        kw = {k: v for k, v in opts.items() if k != "ignore"}
        if "weight" in kw:
            kw["weight"] = const(T, kw["weight"], device)
        return getattr(T.nn.functional, fname)(x, t, **kw)
    return fn


def _ignored(opts):
    return opts.get("ignore_index", opts.get("ignore"))


@needs_torch
@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=_shape_id)
@pytest.mark.parametrize("option", CE_OPTIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_torch(shapes, option, reduction, device):
    opts = dict(CE_OPTIONS[option], reduction=reduction)
    ishape, tshape = shapes
    t = class_targets(tshape, _ignored(opts))
    compare(_ce_call("cross_entropy", opts, device), rand(*ishape) * 3, t, device=device)


@needs_torch
@pytest.mark.parametrize("shapes", CLASS_SHAPES, ids=_shape_id)
@pytest.mark.parametrize("option", [o for o in CE_OPTIONS if "smoothing" not in o])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(shapes, option, reduction, device):
    opts = dict(CE_OPTIONS[option], reduction=reduction)
    ishape, tshape = shapes
    t = class_targets(tshape, _ignored(opts))
    compare(_ce_call("nll_loss", opts, device), rand(*ishape) * 3, t, device=device)


@needs_torch
@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 5, 3)])
@pytest.mark.parametrize("option", ["plain", "weight", "label_smoothing"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_match_torch(shape, option, reduction, device):
    opts = dict(CE_OPTIONS[option], reduction=reduction)
    p = probs(*shape, seed=1, axis=0 if len(shape) == 1 else 1)
    compare(_ce_call("cross_entropy", opts, device), rand(*shape) * 3, p, device=device)


@needs_torch
@pytest.mark.filterwarnings("ignore:.*encountered in divide:RuntimeWarning")  # NumPy on 0/0
def test_cross_entropy_edge_cases(device):
    for r in REDUCTIONS:  # empty batch: the mean is nan, as in PyTorch
        compare(lambda T, x, t, r=r: T.nn.functional.cross_entropy(x, t, reduction=r),
                rand(0, 5), labels(0), device=device)
    all_ignored = np.full(3, -100, dtype=np.int64)
    compare(lambda T, x, t: T.nn.functional.cross_entropy(x, t), rand(3, 5), all_ignored,
            device=device)
    compare(lambda T, x, t: T.nn.functional.cross_entropy(x, t), rand(4, 5) * 50, labels(4),
            device=device)  # large logits stay finite through log_softmax
    compare(lambda T, x, t: T.nn.functional.cross_entropy(x, t), rand(4, 5), labels(4),
            device=device, non_contiguous=True)
    compare(lambda T, x, t: T.nn.functional.cross_entropy(x, t), rand(4, 5),
            labels(4).astype(np.uint8), device=device)


@needs_torch
@pytest.mark.parametrize("fname", ["nll_loss", "cross_entropy"])
def test_unbatched_input_with_target_of_shape_1(fname, device):
    # PyTorch's backward (and its label smoothing) break on this shape: compare the forward.
    for r in REDUCTIONS:
        compare(lambda T, x, t, r=r: getattr(T.nn.functional, fname)(x, t, reduction=r),
                rand(5), np.array([3]), device=device, grad=False)
    gradcheck(lambda x: getattr(F, fname)(x, taimatsu.tensor([3], device=device)), rand(5),
              device=device)


def test_nll_loss_ignored_targets_skip_infinite_inputs(device):
    x = taimatsu.tensor([[-np.inf, 0.0], [-1.0, -2.0]], device=device, requires_grad=True)
    t = taimatsu.tensor([-100, 1], device=device)
    loss = F.nll_loss(x, t, reduction="none")
    assert to_np(loss).tolist() == [0.0, 2.0]
    loss.sum().backward()
    assert to_np(x.grad).tolist() == [[0.0, 0.0], [0.0, -1.0]]


@pytest.mark.parametrize("shapes", CLASS_SHAPES[:3], ids=_shape_id)
@pytest.mark.parametrize("option", CE_OPTIONS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck(shapes, option, reduction, device):
    opts = CE_OPTIONS[option]
    ishape, tshape = shapes
    t = taimatsu.tensor(class_targets(tshape, _ignored(opts)), device=device)
    kw = {k: v for k, v in opts.items() if k != "ignore"}
    if "weight" in kw:
        kw["weight"] = taimatsu.tensor(kw["weight"], dtype=taimatsu.float64, device=device)
    gradcheck(lambda x: F.cross_entropy(x, t, reduction=reduction, **kw), rand(*ishape),
              device=device)
    if "label_smoothing" not in kw:
        gradcheck(lambda x: F.nll_loss(x, t, reduction=reduction, **kw), rand(*ishape),
                  device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_gradcheck(reduction, device):
    w = taimatsu.tensor(np.linspace(0.5, 1.5, 4), device=device)
    gradcheck(lambda x, p: F.cross_entropy(x, p, weight=w, reduction=reduction,
                                           label_smoothing=0.1),
              rand(3, 4), probs(3, 4), device=device)


@pytest.mark.parametrize("call,target,exc,message", [
    (F.cross_entropy, [1, 2, 3, 4], ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(4\)\."),
    (F.nll_loss, [1, 2, 3, 4], ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(4\)\."),
    (F.cross_entropy, [1.0, 2.0, 3.0], RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    (F.cross_entropy, np.array([1, 2, 3], dtype=np.int32), RuntimeError,
     "expected target dtype to be Long or Byte, but got Int"),
    (F.cross_entropy, [1, 7, 9], IndexError, "Target 7 is out of bounds."),
    (F.nll_loss, [1, -1, 2], IndexError, "Target -1 is out of bounds."),
    (F.cross_entropy, [[0], [1], [2]], RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    (F.cross_entropy, np.zeros((3, 5), dtype=np.int64), RuntimeError,
     "Expected floating point type for target with class probabilities, got Long"),
])
def test_class_loss_errors(call, target, exc, message, device):
    x = taimatsu.tensor(rand(3, 5), device=device, requires_grad=True)
    with pytest.raises(exc, match=message):
        call(x, taimatsu.tensor(target, device=device))
    np.testing.assert_array_equal(to_np(x), rand(3, 5))
    assert x.grad is None


def test_class_loss_kdim_and_option_errors(device):
    def t(*a):
        return taimatsu.tensor(*a, device=device)

    x = t(rand(3, 5))
    with pytest.raises(RuntimeError, match=r"Expected target size \[2, 4\], got \[2, 3\]"):
        F.nll_loss(t(rand(2, 5, 4)), t(labels(2, 3)))
    with pytest.raises(RuntimeError, match=r"size mismatch \(got input: \[2, 5, 4, 3\] , "
                                           r"target: \[2, 3, 3\]"):
        F.nll_loss(t(rand(2, 5, 4, 3)), t(labels(2, 3, 3)))
    with pytest.raises(IndexError, match="Target 6 is out of bounds."):
        F.cross_entropy(t(rand(2, 5, 4)), t(np.full((2, 4), 6)))
    with pytest.raises(RuntimeError, match="For 1D input, 1D target must have size 1, but got "
                                           "target size: 2"):
        F.nll_loss(t(rand(5)), t([1, 2]))
    with pytest.raises(ValueError, match=r"Expected 1 or more dimensions \(got 0\)"):
        F.nll_loss(t(1.0), t(0))
    with pytest.raises(RuntimeError, match=r"weight tensor should be defined either for all 5 "
                                           r"classes or no classes but got weight tensor of "
                                           r"shape: \[4\]"):
        F.cross_entropy(x, t([1, 2, 3]), weight=t(np.ones(4, np.float32)))
    with pytest.raises(RuntimeError, match="cross_entropy: weight tensor should be defined"):
        F.cross_entropy(x, t(probs(3, 5)), weight=t(np.ones(4, np.float32)))
    with pytest.raises(RuntimeError, match="ignore_index is not supported for floating point "
                                           "target"):
        F.cross_entropy(x, t(probs(3, 5)), ignore_index=1)
    for target in (t([1, 2, 3]), t(probs(3, 5))):
        with pytest.raises(RuntimeError, match=r"label_smoothing must be between 0\.0 and "
                                               r"1\.0\. Got: 1\.5"):
            F.cross_entropy(x, target, label_smoothing=1.5)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.cross_entropy(x, t([1, 2, 3]), reduction="avg")


# ---------------------------------------------------------------------------- binary losses
@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch(reduction, weighted, device):
    w = rand(1, 4, seed=3, low=0.1, high=2.0)  # broadcast over the batch

    def fn(T, x, t):
        kw = {"weight": const(T, w, device)} if weighted else {}
        return T.nn.functional.binary_cross_entropy(x, t, reduction=reduction, **kw)

    compare(fn, rand(3, 4, low=0.05, high=0.95), rand(3, 4, seed=1, low=0, high=1),
            device=device)


@needs_torch
def test_bce_clamps_log_at_probability_0_and_1(device):
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype=np.float32)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.3], dtype=np.float32)
    compare(lambda T, x, t: T.nn.functional.binary_cross_entropy(x, t, reduction="none"), x, t,
            device=device, grad=False)
    out = F.binary_cross_entropy(taimatsu.tensor(x, device=device), taimatsu.tensor(t, device=device),
                                 reduction="none")
    assert to_np(out)[:2].tolist() == [100.0, 100.0]
    xg = taimatsu.tensor(x[:4], device=device, requires_grad=True)
    F.binary_cross_entropy(xg, taimatsu.tensor(t[:4], device=device)).backward()
    assert np.isfinite(to_np(xg.grad)).all()  # PyTorch's formula: finite at 0 and 1


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("option", ["plain", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_torch(reduction, option, device):
    w = rand(3, 1, seed=3, low=0.1, high=2.0)
    pw = rand(4, seed=4, low=0.5, high=3.0)

    def fn(T, x, t):
        kw = {}
        if option in ("weight", "both"):
            kw["weight"] = const(T, w, device)
        if option in ("pos_weight", "both"):
            kw["pos_weight"] = const(T, pw, device)
        return T.nn.functional.binary_cross_entropy_with_logits(x, t, reduction=reduction, **kw)

    x = rand(3, 4) * 4
    x[0, :2] = [60.0, -60.0]  # extreme logits stay finite
    compare(fn, x, rand(3, 4, seed=1, low=0, high=1), device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_losses_gradcheck(reduction, device):
    w = taimatsu.tensor(rand(1, 4, seed=3, low=0.1, high=2.0), dtype=taimatsu.float64,
                        device=device)
    gradcheck(lambda x, t: F.binary_cross_entropy(x, t, weight=w, reduction=reduction),
              rand(3, 4, low=0.1, high=0.9), rand(3, 4, seed=1, low=0, high=1), device=device)
    gradcheck(lambda x, t, pw: F.binary_cross_entropy_with_logits(
        x, t, weight=w, pos_weight=pw, reduction=reduction),
        rand(3, 4) * 3, rand(3, 4, seed=1, low=0, high=1), rand(4, seed=2, low=0.5, high=2),
        device=device)


def test_binary_loss_errors(device):
    def t(a):
        return taimatsu.tensor(a, device=device)

    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(t([0.5, 1.5]), t([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(t([0.5, float("nan")]), t([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"Using a target size \(.*\[3\]\)\) that is different "
                                         r"to the input size \(.*\[2\]\)\) is deprecated"):
        F.binary_cross_entropy(t([0.5, 0.5]), t([0.0, 1.0, 1.0]))
    with pytest.raises(RuntimeError, match="Found dtype Long but expected Float"):
        F.binary_cross_entropy(t([0.5, 0.5]), t([0, 1]))
    with pytest.raises(ValueError, match=r"Target size \(.*\[3\]\)\) must be the same as input "
                                         r"size \(.*\[2\]\)\)"):
        F.binary_cross_entropy_with_logits(t([0.5, 0.5]), t([0.0, 1.0, 1.0]))


# ---------------------------------------------------------------------------- Module forms
def _module_case(make, x, t, device):
    """``make(nn, T)`` builds the loss module in library ``T``; compare it with PyTorch's."""
    from tests.helpers import torch

    assert repr(make(tnn, taimatsu)) == repr(make(torch.nn, torch))
    compare(lambda T, x, t: make(T.nn, T)(x, t), x, t, device=device)


W5 = np.linspace(0.5, 1.5, 5, dtype=np.float32)

LOSS_MODULES = {
    "MSELoss": (lambda nn, T, d: nn.MSELoss(reduction="sum"), "regression"),
    "L1Loss": (lambda nn, T, d: nn.L1Loss(), "regression"),
    "SmoothL1Loss": (lambda nn, T, d: nn.SmoothL1Loss(beta=0.5, reduction="none"), "regression"),
    "HuberLoss": (lambda nn, T, d: nn.HuberLoss(delta=0.5), "regression"),
    "CrossEntropyLoss": (lambda nn, T, d: nn.CrossEntropyLoss(
        weight=const(T, W5, d), ignore_index=1, label_smoothing=0.1), "class"),
    "CrossEntropyLoss_plain": (lambda nn, T, d: nn.CrossEntropyLoss(), "class"),
    "NLLLoss": (lambda nn, T, d: nn.NLLLoss(weight=const(T, W5, d), reduction="sum"), "class"),
    "BCELoss": (lambda nn, T, d: nn.BCELoss(weight=const(T, W5, d)), "binary"),
    "BCEWithLogitsLoss": (lambda nn, T, d: nn.BCEWithLogitsLoss(
        weight=const(T, W5, d), pos_weight=const(T, W5[::-1].copy(), d)), "logits"),
}


@needs_torch
@pytest.mark.parametrize("name", LOSS_MODULES)
def test_loss_module_matches_torch(name, device):
    make, kind = LOSS_MODULES[name]
    x = {"regression": rand(4, 5), "class": rand(4, 5) * 3, "binary": rand(4, 5, low=0.1,
                                                                          high=0.9),
         "logits": rand(4, 5) * 3}[kind]
    t = labels(4, seed=5) if kind == "class" else rand(4, 5, seed=1, low=0.0, high=1.0)
    _module_case(lambda nn, T: make(nn, T, device), x, t, device)


def test_loss_module_options_and_buffers():
    w = taimatsu.ones(5)
    m = tnn.CrossEntropyLoss(weight=w, ignore_index=3, reduction="sum", label_smoothing=0.2)
    assert (m.ignore_index, m.reduction, m.label_smoothing) == (3, "sum", 0.2)
    assert dict(m.named_buffers())["weight"] is w
    m = tnn.BCEWithLogitsLoss(pos_weight=w)
    assert m.weight is None and m.pos_weight is w
    assert tnn.HuberLoss(delta=2.0).delta == 2.0 and tnn.SmoothL1Loss(beta=0.5).beta == 0.5
    assert tnn.NLLLoss().ignore_index == -100
