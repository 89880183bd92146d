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
    with pytest.raises(ValueError, match="For 1D input, 1D target must have size 1, but got "
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


# ---------------------------------------------------------------------------- distribution losses
def signs(*shape, seed=0):
    """Targets in {1, -1} (as float32, like PyTorch users pass them)."""
    return np.where(rand(*shape, seed=seed) > 0, 1.0, -1.0).astype(np.float32)


def counts(*shape, seed=0):
    """Poisson-like targets: 0, fractions, and values above 1 (Stirling's term applies)."""
    return np.round(rand(*shape, seed=seed, low=0, high=4) * 2) / 2


REDUCTIONS_KL = ["sum", "none", "batchmean"]

# name -> (fn(F, x, t, reduction), input maker, target maker). Inputs and targets are both
# differentiable in the comparison.
PAIR_LOSSES = {
    "kl_div": (lambda F, x, t, r: F.kl_div(x, t, reduction=r),
               lambda s: np.log(probs(*s)), lambda s: probs(*s, seed=1)),
    "kl_div_log_target": (lambda F, x, t, r: F.kl_div(x, t, reduction=r, log_target=True),
                          lambda s: np.log(probs(*s)), lambda s: np.log(probs(*s, seed=1))),
    # (PyTorch's target gradient of the full Poisson loss is nan where target <= 1, and it has
    # none for the soft margin loss: targets are constants there.)
    "poisson": (lambda F, x, t, r: F.poisson_nll_loss(x, t.detach(), reduction=r),
                lambda s: rand(*s), lambda s: counts(*s)),
    "poisson_full": (lambda F, x, t, r: F.poisson_nll_loss(x, t.detach(), full=True,
                                                                       reduction=r),
                     lambda s: rand(*s), lambda s: counts(*s)),
    "poisson_rate": (lambda F, x, t, r: F.poisson_nll_loss(x, t.detach(), log_input=False,
                                                                       reduction=r),
                     lambda s: rand(*s, low=0.2, high=3), lambda s: counts(*s)),
    "poisson_rate_full_eps": (lambda F, x, t, r: F.poisson_nll_loss(
        x, t.detach(), log_input=False, full=True, eps=0.1, reduction=r),
        lambda s: rand(*s, low=0.2, high=3), lambda s: counts(*s)),
    "soft_margin": (lambda F, x, t, r: F.soft_margin_loss(x, t.detach(), reduction=r),
                    lambda s: rand(*s) * 3, lambda s: signs(*s)),
    "hinge_embedding": (lambda F, x, t, r: F.hinge_embedding_loss(x, t, reduction=r),
                        lambda s: rand(*s) * 3, lambda s: signs(*s)),
    "hinge_embedding_margin": (lambda F, x, t, r: F.hinge_embedding_loss(x, t, margin=0.4,
                                                                         reduction=r),
                               lambda s: rand(*s) * 3, lambda s: signs(*s)),
    "multilabel_soft_margin": (lambda F, x, t, r: F.multilabel_soft_margin_loss(
        x, t, reduction=r), lambda s: rand(*s) * 3, lambda s: rand(*s, seed=1, low=0, high=1)),
}


def _pair_reductions(name):
    return REDUCTIONS_KL if name.startswith("kl_div") else REDUCTIONS


@needs_torch
@pytest.mark.parametrize("name", PAIR_LOSSES)
def test_pair_loss_matches_torch(name, device):
    fn, mk_x, mk_t = PAIR_LOSSES[name]
    for r in _pair_reductions(name):
        compare(lambda T, x, t, r=r: fn(T.nn.functional, x, t, r), mk_x((3, 4)), mk_t((3, 4)),
                device=device)
    compare(lambda T, x, t: fn(T.nn.functional, x, t, "sum"), mk_x((4, 3)), mk_t((4, 3)),
            device=device, non_contiguous=True)


@needs_torch
@pytest.mark.parametrize("name", [n for n in PAIR_LOSSES if "multilabel" not in n])
def test_pair_loss_0d_and_empty(name, device):
    fn, mk_x, mk_t = PAIR_LOSSES[name]
    compare(lambda T, x, t: fn(T.nn.functional, x, t, "sum"), np.asarray(mk_x((2, 2))[0, 0]),
            np.asarray(mk_t((2, 2))[0, 0]), device=device)
    for r in ("sum", "none"):
        compare(lambda T, x, t, r=r: fn(T.nn.functional, x, t, r), mk_x((0, 3)), mk_t((0, 3)),
                device=device)


@pytest.mark.parametrize("name", PAIR_LOSSES)
def test_pair_loss_gradcheck(name, device):
    fn, mk_x, mk_t = PAIR_LOSSES[name]
    x, t = mk_x((3, 4)), mk_t((3, 4))
    for r in _pair_reductions(name):
        if name.startswith(("poisson", "hinge", "soft")):  # targets are constants: input grad
            tt = taimatsu.tensor(t, dtype=taimatsu.float64, device=device)
            gradcheck(lambda x, r=r, tt=tt: fn(F, x, tt, r), x, device=device)
        else:
            gradcheck(lambda x, t, r=r: fn(F, x, t, r), x, t, device=device)


@needs_torch
def test_kl_div_mean_warns_and_legacy_arguments(device):
    x, t = np.log(probs(3, 4)), probs(3, 4, seed=1)
    with pytest.warns(UserWarning, match="reduction: 'mean' divides the total loss by both the "
                                         "batch size and the support size"):
        compare(lambda T, x, t: T.nn.functional.kl_div(x, t), x, t, device=device)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        compare(lambda T, x, t: T.nn.functional.kl_div(x, t, size_average=False), x, t,
                device=device)
    compare(lambda T, x, t: T.nn.functional.kl_div(x, t, reduction="batchmean"),
            np.asarray(x[0, 0]), np.asarray(t[0, 0]), device=device)  # 0-d: the plain sum
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.kl_div(taimatsu.tensor(x), taimatsu.tensor(t), reduction="avg")


def test_kl_div_zero_target_contributes_nothing(device):
    x = taimatsu.tensor([[-1.0, -2.0]], device=device, requires_grad=True)
    loss = F.kl_div(x, taimatsu.tensor([[0.0, 1.0]], device=device), reduction="sum")
    assert loss.item() == pytest.approx(2.0)
    loss.backward()
    assert to_np(x.grad).tolist() == [[0.0, -1.0]]


# ---------------------------------------------------------------------------- gaussian NLL
# (input shape, var shape): same, last dim missing, one dim of size 1, a number.
GAUSS_VAR = [((3, 4), (3, 4)), ((3, 4), (3,)), ((3, 4), (3, 1)), ((3, 4), (1, 4)),
             ((2, 3, 4), (2, 1, 4)), ((4,), (4,)), ((3, 4), None)]


@needs_torch
@pytest.mark.parametrize("shapes", GAUSS_VAR, ids=str)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_matches_torch(shapes, full, reduction, device):
    ishape, vshape = shapes
    if vshape is None:
        compare(lambda T, x, t: T.nn.functional.gaussian_nll_loss(x, t, 0.7, full=full,
                                                                   reduction=reduction),
                rand(*ishape), rand(*ishape, seed=1), device=device)
        return
    var = rand(*vshape, seed=2, low=0.1, high=2.0)
    compare(lambda T, x, t, v: T.nn.functional.gaussian_nll_loss(x, t, v, full=full,
                                                                  reduction=reduction),
            rand(*ishape), rand(*ishape, seed=1), var, device=device)


@needs_torch
def test_gaussian_nll_loss_clamped_variance_keeps_gradient(device):
    var = rand(3, 4, seed=2, low=0.0, high=0.2)  # many entries below eps=0.1
    compare(lambda T, x, t, v: T.nn.functional.gaussian_nll_loss(x, t, v, eps=0.1), rand(3, 4),
            rand(3, 4, seed=1), var, device=device)
    compare(lambda T, x, t, v: T.nn.functional.gaussian_nll_loss(x, t, v), rand(3, 4),
            rand(3, 4, seed=1), rand(3, 4, seed=2, low=0.5, high=1), device=device,
            non_contiguous=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_gradcheck(reduction, device):
    gradcheck(lambda x, t, v: F.gaussian_nll_loss(x, t, v, full=True, reduction=reduction),
              rand(3, 4), rand(3, 4, seed=1), rand(3, 1, seed=2, low=0.3, high=2), device=device)


def test_gaussian_nll_loss_errors(device):
    x = taimatsu.tensor(rand(3, 4), device=device, requires_grad=True)
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(x, x, taimatsu.tensor(rand(3, 4), device=device))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, taimatsu.ones(3, 2, device=device))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, taimatsu.ones(4, device=device))
    with pytest.raises(ValueError, match="x is not valid"):
        F.gaussian_nll_loss(x, x, taimatsu.ones(3, 4, device=device), reduction="x")
    assert x.grad is None


# ---------------------------------------------------------------------------- margin losses
# name -> (batched shape, unbatched shape) of the two inputs; targets are per sample.
PAIRED_INPUT_LOSSES = {"margin_ranking_loss": ((6,), ()), "cosine_embedding_loss": ((5, 4), (4,))}


@needs_torch
@pytest.mark.parametrize("name", PAIRED_INPUT_LOSSES)
@pytest.mark.parametrize("margin", [0.0, 0.3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_paired_input_loss_matches_torch(name, margin, reduction, device):
    batched, unbatched = PAIRED_INPUT_LOSSES[name]

    def fn(T, a, b, y):
        return getattr(T.nn.functional, name)(a, b, y, margin=margin, reduction=reduction)

    n = batched[0]
    compare(fn, rand(*batched), rand(*batched, seed=1), signs(n, seed=2), device=device)
    compare(fn, np.asarray(rand(*unbatched)), np.asarray(rand(*unbatched, seed=1)),
            np.array(-1.0, dtype=np.float32), device=device)
    if len(batched) == 2:
        compare(fn, rand(*batched), rand(*batched, seed=1), signs(n, seed=2), device=device,
                non_contiguous=True)
    y = taimatsu.tensor(signs(n, seed=2), device=device)
    gradcheck(lambda a, b: getattr(F, name)(a, b, y, margin=margin, reduction=reduction),
              rand(*batched), rand(*batched, seed=1), device=device)


def test_margin_loss_shape_errors(device):
    def t(*shape):
        return taimatsu.tensor(rand(*shape), device=device)

    with pytest.raises(RuntimeError, match=r"margin_ranking_loss : All input tensors should have "
                                           r"same dimension but got sizes: input1: .*\[3, 4\]\), "
                                           r"input2: .*\[3, 4\]\), target: .*\[3\]\)"):
        F.margin_ranking_loss(t(3, 4), t(3, 4), t(3))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not "
                                           "supported"):
        F.cosine_embedding_loss(t(3, 4), t(3, 4), t(3, 1))
    with pytest.raises(RuntimeError, match=r"0D target tensor expects 1D input tensors, but found "
                                           r"inputs with sizes \[3, 4\] and \[3, 4\]\."):
        F.cosine_embedding_loss(t(3, 4), t(3, 4), t())
    with pytest.raises(RuntimeError, match=r"1D target tensor expects 2D input tensors"):
        F.cosine_embedding_loss(t(4), t(4), t(3))
    with pytest.raises(RuntimeError, match="must match the size"):
        F.soft_margin_loss(t(3, 4), t(5))


# (input shape, target maker) for the class-hinge losses: batched, unbatched, 0-d.
@needs_torch
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("option", ["plain", "margin", "weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_matches_torch(p, option, reduction, device):
    w = np.linspace(0.5, 2.0, 5, dtype=np.float32)

    def fn(T, x, y):
        kw = {"margin": 0.7} if option == "margin" else {}
        if option == "weight":
            kw["weight"] = const(T, w, device)
        return T.nn.functional.multi_margin_loss(x, y, p=p, reduction=reduction, **kw)

    compare(fn, rand(4, 5) * 2, labels(4), device=device)
    compare(fn, rand(5) * 2, labels(1), device=device)  # unbatched, target of shape (1,)
    compare(fn, rand(5) * 2, np.array(3), device=device)  # unbatched, 0-d target
    compare(fn, rand(5, 4).T.copy() * 2, labels(4), device=device, non_contiguous=True)


@needs_torch
def test_multi_margin_loss_0d_and_empty(device):
    compare(lambda T, x, y: T.nn.functional.multi_margin_loss(x, y, reduction="none"),
            np.array(0.3, dtype=np.float32), np.array(0), device=device)
    # (PyTorch's empty-batch result is uninitialised memory: checked here without it)
    out = F.multi_margin_loss(taimatsu.tensor(rand(0, 5), device=device),
                              taimatsu.tensor(labels(0), device=device), reduction="sum")
    assert out.item() == 0.0


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_gradcheck(p, reduction, device):
    y = taimatsu.tensor(labels(4), device=device)
    w = taimatsu.tensor(np.linspace(0.5, 2.0, 5), device=device)
    gradcheck(lambda x: F.multi_margin_loss(x, y, p=p, weight=w, reduction=reduction),
              rand(4, 5) * 2, device=device)


def test_multi_margin_loss_errors(device):
    x = taimatsu.tensor(rand(3, 4), device=device, requires_grad=True)

    def t(a):
        return taimatsu.tensor(a, device=device)

    cases = [
        ({"target": t([1, 2])}, RuntimeError,
         (r"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
         r"samples \(batch size\)\. Expected target size \[3\], but got \[2\]\. Input has shape "
         r"\[3, 4\]\.")),
        ({"target": t([1, 2, 4])}, RuntimeError, "target out of range"),
        ({"target": t([1, 2, -1])}, RuntimeError, "target out of range"),
        ({"target": t([1.0, 2.0, 3.0])}, RuntimeError,
         "expected scalar type Long but found Float"),
        ({"target": t([1, 2, 3]), "weight": t(np.ones(3, np.float32))}, RuntimeError,
         r"inconsistent weight size, expected 4 but got \[3\]"),
        ({"target": t([1, 2, 3]), "weight": t(np.ones((4, 1), np.float32))}, ValueError,
         "weight must be one-dimensional"),
        ({"target": t([1, 2, 3]), "p": 3}, ValueError, "only p == 1 and p == 2 supported"),
    ]
    for kw, exc, message in cases:
        with pytest.raises(exc, match=message):
            F.multi_margin_loss(x, **kw)
    with pytest.raises(RuntimeError, match=r"Expected non-empty vector or matrix with optional "
                                           r"0-dim batch size, but got: \[2, 3, 4\]"):
        F.multi_margin_loss(t(rand(2, 3, 4)), t([1, 2]))
    assert x.grad is None


def multilabel_targets():
    """Rows of class lists ended by -1: two targets, all four, none, a duplicate."""
    return np.array([[3, 0, -1, 1], [0, 1, 2, 3], [-1, 0, 0, 0], [2, 2, -1, 0]], dtype=np.int64)


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(reduction, device):
    fn = lambda T, x, y: T.nn.functional.multilabel_margin_loss(
        x, y, reduction=reduction)
    compare(fn, rand(4, 4) * 2, multilabel_targets(), device=device)
    compare(fn, rand(4) * 2, np.array([3, 0, -1, 1]), device=device)
    compare(fn, rand(4, 4) * 2, multilabel_targets(), device=device, non_contiguous=True)
    # (PyTorch's reduced result on an empty batch is uninitialised memory: 'none' only)
    compare(lambda T, x, y: T.nn.functional.multilabel_margin_loss(x, y, reduction="none"),
            rand(0, 4), np.zeros((0, 4), np.int64), device=device)
    y = taimatsu.tensor(multilabel_targets(), device=device)
    gradcheck(lambda x: F.multilabel_margin_loss(x, y, reduction=reduction), rand(4, 4) * 2,
              device=device)


def test_multilabel_margin_loss_errors(device):
    def t(a):
        return taimatsu.tensor(a, device=device)

    x = t(rand(3, 4))
    with pytest.raises(RuntimeError, match=r"inconsistent target size: \[2, 4\] for input of "
                                           r"size: \[3, 4\]"):
        F.multilabel_margin_loss(x, t(multilabel_targets()[:2]))
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Float"):
        F.multilabel_margin_loss(x, t(rand(3, 4)))
    with pytest.raises(RuntimeError, match="argument #2 'target' is out of range"):
        F.multilabel_margin_loss(x, t([[4, 0, -1, 1]] * 3))
    with pytest.raises(RuntimeError, match="Expected non-empty vector or matrix"):
        F.multilabel_margin_loss(t(rand(2, 3, 4)), t(np.zeros((2, 3, 4), np.int64)))


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_loss_weight(reduction, device):
    w = rand(4, seed=3, low=0.2, high=2.0)
    compare(lambda T, x, t: T.nn.functional.multilabel_soft_margin_loss(
        x, t, weight=const(T, w, device), reduction=reduction),
        rand(3, 4) * 3, rand(3, 4, seed=1, low=0, high=1), device=device)
    with pytest.raises(ValueError, match="x is not valid"):
        F.multilabel_soft_margin_loss(taimatsu.zeros(2, 3), taimatsu.zeros(2, 3), reduction="x")


# ---------------------------------------------------------------------------- triplet losses
TRIPLET = {
    "default": {},
    "p1_margin": {"p": 1.0, "margin": 0.5},
    "swap_eps": {"swap": True, "eps": 0.1},
    "p3": {"p": 3.0},
}


@needs_torch
@pytest.mark.parametrize("option", TRIPLET)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_loss_matches_torch(option, reduction, device):
    kw = dict(TRIPLET[option], reduction=reduction)
    fn = lambda T, a, p, n: T.nn.functional.triplet_margin_loss(a, p, n, **kw)
    compare(fn, rand(5, 3), rand(5, 3, seed=1), rand(5, 3, seed=2), device=device)
    compare(fn, rand(3), rand(3, seed=1), rand(3, seed=2), device=device)
    compare(fn, rand(3, 5), rand(3, 5, seed=1), rand(3, 5, seed=2), device=device,
            non_contiguous=True)
    gradcheck(lambda a, p, n: F.triplet_margin_loss(a, p, n, **kw), rand(4, 3), rand(4, 3, seed=1),
              rand(4, 3, seed=2), device=device)


@needs_torch
@pytest.mark.parametrize("distance", ["default", "cosine", "l_inf"])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_with_distance_loss_matches_torch(distance, swap, reduction, device):
    def fn(T, a, p, n):
        dist = {"default": None,
                "cosine": lambda x, y: 1.0 - T.nn.functional.cosine_similarity(x, y),
                "l_inf": lambda x, y: (x - y).abs().amax(1)}[distance]
        return T.nn.functional.triplet_margin_with_distance_loss(
            a, p, n, distance_function=dist, margin=0.8, swap=swap, reduction=reduction)

    compare(fn, rand(5, 3), rand(5, 3, seed=1), rand(5, 3, seed=2), device=device)


def test_triplet_errors(device):
    def t(*shape):
        return taimatsu.tensor(rand(*shape), device=device)

    message = (r"The anchor, positive, and negative tensors are expected to have the same number "
               r"of dimensions, but got: anchor 2D, positive 2D, and negative 1D inputs")
    with pytest.raises(RuntimeError, match=message):
        F.triplet_margin_loss(t(3, 4), t(3, 4), t(4))
    with pytest.raises(RuntimeError, match=message):
        F.triplet_margin_with_distance_loss(t(3, 4), t(3, 4), t(4))
    with pytest.raises(ValueError, match="margin must be greater than 0, got 0"):
        F.triplet_margin_loss(t(3, 4), t(3, 4), t(3, 4), margin=0)
    with pytest.raises(ValueError, match="margin must be greater than 0, got -1"):
        F.triplet_margin_with_distance_loss(t(3), t(3), t(3), margin=-1)
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        F.triplet_margin_with_distance_loss(t(3), t(3), t(3), reduction="avg")
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin to be greater than "
                                         "0, got 0 instead"):
        tnn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="TripletMarginWithDistanceLoss: expected margin to be "
                                         "greater than 0, got -2 instead"):
        tnn.TripletMarginWithDistanceLoss(margin=-2)


# ---------------------------------------------------------------------------- legacy arguments
@needs_torch
@pytest.mark.parametrize("name", ["poisson_nll_loss", "soft_margin_loss", "hinge_embedding_loss",
                                  "multilabel_soft_margin_loss"])
def test_new_losses_legacy_size_average_and_reduce(name, device):
    t = rand(3, 4, seed=1, low=0, high=1)
    for sa, red in [(False, None), (None, False)]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            compare(lambda T, x, sa=sa, red=red: getattr(T.nn.functional, name)(
                x, const(T, t, device), size_average=sa, reduce=red), rand(3, 4), device=device)


# ---------------------------------------------------------------------------- CTC
def ctc_case(seed=0, n=3, t_max=8, c=5, s=3, repeat=True):
    """Logits ``(T, N, C)``, padded targets ``(N, S)`` (no blanks), input and target lengths:
    full and short inputs, a repeated label (needs a blank between), an empty target."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((t_max, n, c)).astype(np.float32)
    targets = rng.integers(1, c, (n, s)).astype(np.int64)
    if repeat:
        targets[0, 1] = targets[0, 0]
    in_lens = np.array([t_max, t_max - 2, t_max - 3][:n] + [t_max] * (n - 3), dtype=np.int64)
    tg_lens = np.array([s, s - 1, 0][:n] + [s] * (n - 3), dtype=np.int64)
    return x, targets, in_lens, tg_lens


def concatenated(targets, tg_lens):
    return np.concatenate([targets[i, :n] for i, n in enumerate(tg_lens)])


@needs_torch
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
@pytest.mark.parametrize("log_softmaxed", [True, False])
def test_ctc_loss_matches_torch(reduction, layout, log_softmaxed, device):
    x, targets, in_lens, tg_lens = ctc_case()
    if layout == "concatenated":
        targets = concatenated(targets, tg_lens)

    def fn(T, x, y, il, tl):
        lp = x.log_softmax(2) if log_softmaxed else x
        return T.nn.functional.ctc_loss(lp, y, il, tl, reduction=reduction)

    compare(fn, x, targets, in_lens, tg_lens, device=device)


@needs_torch
def test_ctc_loss_options_match_torch(device):
    x, targets, in_lens, tg_lens = ctc_case(seed=1, c=6)
    # blank in the middle of the alphabet (targets avoid it), int32 lengths, tuple lengths
    targets[targets == 3] = 1
    compare(lambda T, x, y, il, tl: T.nn.functional.ctc_loss(x.log_softmax(2), y, il, tl,
                                                             blank=3),
            x, targets, in_lens.astype(np.int32), tg_lens.astype(np.int32), device=device)
    compare(lambda T, x, y: T.nn.functional.ctc_loss(x.log_softmax(2), y, tuple(in_lens),
                                                     tuple(tg_lens), reduction="sum"),
            x, targets, device=device)
    compare(lambda T, x, y: T.nn.functional.ctc_loss(x.log_softmax(-1), y, (8,), (3,)),
            x[:, 0], targets[0], device=device)  # unbatched: (T, C) and (S,)
    fn = lambda T, x, y, il, tl: T.nn.functional.ctc_loss(x.log_softmax(2), y, il, tl)
    compare(fn, x.astype(np.float64), targets, in_lens, tg_lens, device=device, rtol=1e-10,
            atol=1e-12)
    compare(fn, np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2), targets, in_lens,
            tg_lens, device=device)


@needs_torch
@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss_impossible_alignments(zero_infinity, reduction, device):
    x, _, _, _ = ctc_case(seed=2)
    # 3 repeated labels need 5 steps: 3 steps are impossible for sample 0 (inf loss); an empty
    # input is impossible for sample 1, possible (loss 0 there) for an empty target.
    targets = np.array([[1, 1, 1], [2, 3, 1], [1, 2, 3]])
    in_lens, tg_lens = np.array([3, 0, 0]), np.array([3, 2, 0])

    def fn(T, x, y, il, tl):
        return T.nn.functional.ctc_loss(x.log_softmax(2), y, il, tl, reduction=reduction,
                                        zero_infinity=zero_infinity)

    compare(fn, x, targets, in_lens, tg_lens, device=device)


def test_ctc_loss_gradcheck(device):
    x, targets, in_lens, tg_lens = ctc_case(seed=3, t_max=5, c=4, s=2)
    y, il, tl = (taimatsu.tensor(a, device=device) for a in (targets, in_lens, tg_lens))
    # First order only: like PyTorch's, the CTC gradient is not itself differentiable.
    gradcheck(lambda x: F.ctc_loss(x.log_softmax(2), y, il, tl, reduction="sum"), x,
              device=device, second_order=False)
    gradcheck(lambda x: F.ctc_loss(x.log_softmax(2), y, il, tl), x, device=device,
              second_order=False)


def test_ctc_loss_double_backward_raises(device):
    x, targets, in_lens, tg_lens = ctc_case()
    xt = taimatsu.tensor(x, device=device, requires_grad=True)
    loss = F.ctc_loss(xt.log_softmax(2), taimatsu.tensor(targets, device=device),
                      taimatsu.tensor(in_lens, device=device),
                      taimatsu.tensor(tg_lens, device=device))
    (g,) = taimatsu.autograd.grad(loss, xt, create_graph=True)
    with pytest.raises(RuntimeError, match="trying to differentiate twice"):
        g.sum().backward()


def test_ctc_loss_errors(device):
    x, targets, in_lens, tg_lens = ctc_case()
    lp = taimatsu.tensor(x, device=device, requires_grad=True)

    def t(a):
        return taimatsu.tensor(a, device=device)

    def call(**kw):
        args = {"log_probs": lp, "targets": t(targets), "input_lengths": t(in_lens),
                    "target_lengths": t(tg_lens)}
        args.update(kw)
        return F.ctc_loss(**args)

    where = r" \(while checking arguments for ctc_loss_allocate_outputs\)"
    cases = [
        ({"input_lengths": t(in_lens.astype(np.float32))}, "input_lengths must be integral"),
        ({"input_lengths": t([9, 5, 4])},
         "Expected input_lengths to have value at most 8, but got value 9" + where),
        ({"input_lengths": t([8, 5])}, "input_lengths must be of size batch_size"),
        ({"target_lengths": t([3, 2])}, "target_lengths must be of size batch_size"),
        ({"target_lengths": t([-1, 2, 0])},
         "Expected target_lengths to have value at least 0, but got value -1" + where),
        ({"target_lengths": t([4, 2, 0])},
         r"Expected tensor to have size at least 4 at dimension 1, but got size 3 for argument "
         r"#2 'targets'" + where),
        ({"targets": t(concatenated(targets, tg_lens)[:4])},
         r"Expected tensor to have size 5 at dimension 0, but got size 4 for argument #2 "
         r"'targets'" + where),
        ({"blank": 5}, "blank must be in label range"),
        ({"blank": -1}, "blank must be in label range"),
        ({"log_probs": t(x[..., None])},
         "Expected 3-dimensional tensor, but got 4-dimensional tensor for argument #1 "
         "'log_probs'" + where),
        ({"reduction": "avg"}, "avg is not a valid value for reduction"),
    ]
    for kw, message in cases:
        exc = ValueError if "reduction" in kw else RuntimeError
        with pytest.raises(exc, match=message):
            call(**kw)
    assert lp.grad is None


# ---------------------------------------------------------------------------- new Module forms
W4 = np.linspace(0.5, 1.5, 4, dtype=np.float32)

NEW_LOSS_MODULES = {
    "KLDivLoss": (lambda nn, T, d: nn.KLDivLoss(reduction="batchmean", log_target=True),
                  lambda: (np.log(probs(3, 4)), np.log(probs(3, 4, seed=1)))),
    "PoissonNLLLoss": (lambda nn, T, d: nn.PoissonNLLLoss(eps=1e-6),
                       lambda: (rand(3, 4), counts(3, 4))),
    "GaussianNLLLoss": (lambda nn, T, d: nn.GaussianNLLLoss(full=True, eps=1e-3),
                        lambda: (rand(3, 4), rand(3, 4, seed=1), rand(3, 1, seed=2, low=0.1))),
    "MarginRankingLoss": (lambda nn, T, d: nn.MarginRankingLoss(margin=0.2),
                          lambda: (rand(5), rand(5, seed=1), signs(5, seed=2))),
    "HingeEmbeddingLoss": (lambda nn, T, d: nn.HingeEmbeddingLoss(margin=0.5, reduction="sum"),
                           lambda: (rand(3, 4), signs(3, 4))),
    "CosineEmbeddingLoss": (lambda nn, T, d: nn.CosineEmbeddingLoss(margin=0.1),
                            lambda: (rand(5, 3), rand(5, 3, seed=1), signs(5, seed=2))),
    "SoftMarginLoss": (lambda nn, T, d: nn.SoftMarginLoss(),
                       lambda: (rand(3, 4), signs(3, 4).astype(np.int64))),
    "MultiLabelMarginLoss": (lambda nn, T, d: nn.MultiLabelMarginLoss(),
                             lambda: (rand(4, 4), multilabel_targets())),
    "MultiLabelSoftMarginLoss": (lambda nn, T, d: nn.MultiLabelSoftMarginLoss(
        weight=const(T, W4, d)), lambda: (rand(3, 4), rand(3, 4, seed=1, low=0, high=1))),
    "MultiMarginLoss": (lambda nn, T, d: nn.MultiMarginLoss(p=2, margin=0.5,
                                                            weight=const(T, W5, d)),
                        lambda: (rand(4, 5), labels(4))),
    "TripletMarginLoss": (lambda nn, T, d: nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True),
                          lambda: (rand(4, 3), rand(4, 3, seed=1), rand(4, 3, seed=2))),
    "TripletMarginWithDistanceLoss": (lambda nn, T, d: nn.TripletMarginWithDistanceLoss(
        margin=0.5), lambda: (rand(4, 3), rand(4, 3, seed=1), rand(4, 3, seed=2))),
    "NLLLoss2d": (lambda nn, T, d: nn.NLLLoss2d(weight=const(T, W5, d)),
                  lambda: (rand(2, 5, 3, 2), labels(2, 3, 2))),
    "CTCLoss": (lambda nn, T, d: nn.CTCLoss(blank=0, zero_infinity=True),
                lambda: ctc_case()),
}


@needs_torch
@pytest.mark.filterwarnings("ignore:`NLLLoss2d` has been deprecated:FutureWarning")
@pytest.mark.parametrize("name", NEW_LOSS_MODULES)
def test_new_loss_module_matches_torch(name, device):
    from tests.helpers import torch

    make, inputs = NEW_LOSS_MODULES[name]
    mine, ref = make(tnn, taimatsu, device), make(torch.nn, torch, device)
    assert repr(mine) == repr(ref)
    assert list(mine.state_dict()) == list(ref.state_dict())
    compare(lambda T, *a: make(T.nn, T, device)(*a), *inputs(), device=device)


def test_new_loss_module_attributes():
    m = tnn.MultiMarginLoss(p=2, margin=0.3, weight=taimatsu.ones(3))
    assert (m.p, m.margin, m.reduction) == (2, 0.3, "mean")
    assert "weight" in dict(m.named_buffers())
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        tnn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="MultiMarginLoss: expected weight to be None or 1D "
                                         "tensor, got 2D instead"):
        tnn.MultiMarginLoss(weight=taimatsu.ones(2, 2))
    m = tnn.CTCLoss(blank=2, reduction="sum", zero_infinity=True)
    assert (m.blank, m.reduction, m.zero_infinity) == (2, "sum", True)
    m = tnn.PoissonNLLLoss(log_input=False, full=True, eps=0.1)
    assert (m.log_input, m.full, m.eps) == (False, True, 0.1)
    assert isinstance(tnn.TripletMarginWithDistanceLoss().distance_function, tnn.PairwiseDistance)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert tnn.KLDivLoss(size_average=False).reduction == "sum"
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated. Please use "
                                           "`NLLLoss` instead"):
        assert isinstance(tnn.NLLLoss2d(ignore_index=3), tnn.NLLLoss)


def test_loss_modules_are_exported():
    from tests.helpers import torch

    if torch is None:
        pytest.skip("PyTorch is not installed")
    names = [n for n in torch.nn.modules.loss.__all__ if n != "LinearCrossEntropyLoss"]
    missing = [n for n in names if not hasattr(tnn, n)]
    assert not missing, missing


# ---------------------------------------------------------------------------- adaptive softmax
def _asm_pair(device, head_bias=True):
    from tests.helpers import torch

    ref = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 12], div_value=2.0, head_bias=head_bias)
    mine = tnn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 12], div_value=2.0, head_bias=head_bias,
                                          device=device)
    assert repr(mine) == repr(ref)
    assert list(mine.state_dict()) == list(ref.state_dict())
    mine.load_state_dict({k: taimatsu.tensor(v.numpy(), device=device)
                          for k, v in ref.state_dict().items()})
    return mine, ref


@needs_torch
@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(head_bias, device):
    from tests.helpers import torch

    mine, ref = _asm_pair(device, head_bias)
    x = rand(7, 8, seed=4)
    targets = np.array([0, 4, 5, 11, 12, 19, 3])  # every cluster and its edges
    xm = taimatsu.tensor(x, device=device, requires_grad=True)
    xr = torch.tensor(x, requires_grad=True)
    out_m, out_r = mine(xm, taimatsu.tensor(targets, device=device)), ref(xr, torch.tensor(targets))
    np.testing.assert_allclose(to_np(out_m.output), to_np(out_r.output), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_np(out_m.loss), to_np(out_r.loss), rtol=1e-5)
    out_m.loss.backward()
    out_r.loss.backward()
    np.testing.assert_allclose(to_np(xm.grad), to_np(xr.grad), rtol=1e-4, atol=1e-6)
    for (k, p), (_, q) in zip(mine.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(to_np(p.grad), to_np(q.grad), rtol=1e-4, atol=1e-6, err_msg=k)
    np.testing.assert_allclose(to_np(mine.log_prob(taimatsu.tensor(x, device=device))),
                               to_np(ref.log_prob(torch.tensor(x))), rtol=1e-5, atol=1e-6)
    assert to_np(mine.predict(taimatsu.tensor(x, device=device))).tolist() == \
        ref.predict(torch.tensor(x)).tolist()


@needs_torch
def test_adaptive_log_softmax_unbatched_and_shortlist_only(device):
    from tests.helpers import torch

    mine, ref = _asm_pair(device)
    x = rand(8, seed=5)
    out_m = mine(taimatsu.tensor(x, device=device), taimatsu.tensor(14, device=device))
    out_r = ref(torch.tensor(x), torch.tensor(14))
    assert tuple(out_m.output.shape) == ()
    np.testing.assert_allclose(to_np(out_m.output), to_np(out_r.output), rtol=1e-5)
    xs = rand(3, 8, seed=6)
    out_m = mine(taimatsu.tensor(xs, device=device), taimatsu.tensor([0, 1, 2], device=device))
    out_r = ref(torch.tensor(xs), torch.tensor([0, 1, 2]))
    np.testing.assert_allclose(to_np(out_m.loss), to_np(out_r.loss), rtol=1e-5)


def test_adaptive_log_softmax_gradcheck(device):
    m = tnn.AdaptiveLogSoftmaxWithLoss(4, 9, [3, 6], div_value=2.0, device=device,
                                       dtype=taimatsu.float64)
    t = taimatsu.tensor([0, 4, 8, 2, 6], device=device)
    gradcheck(lambda x: m(x, t).loss, rand(5, 4), device=device)
    gradcheck(lambda x: m.log_prob(x), rand(2, 4), device=device)


def test_adaptive_log_softmax_errors(device):
    with pytest.raises(ValueError, match="cutoffs should be a sequence of length larger than 0"):
        tnn.AdaptiveLogSoftmaxWithLoss(8, 20, [])
    for cutoffs in ([12, 5], [5, 20], [0, 5], [5, 5], [5.5]):
        with pytest.raises(ValueError, match="cutoffs should be a sequence of unique, positive "
                                             "integers sorted in an increasing order"):
            tnn.AdaptiveLogSoftmaxWithLoss(8, 20, cutoffs)
    m = tnn.AdaptiveLogSoftmaxWithLoss(16, 20, [5, 12], device=device)

    def t(a):
        return taimatsu.tensor(a, device=device)

    x = t(rand(3, 16))
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 19\], but values in "
                                           r"range \[-1, 20\] were found\."):
        m(x, t([-1, 20, 3]))
    with pytest.raises(RuntimeError, match="Input and target should have the same size in the "
                                           "batch dimension."):
        m(x, t([1, 2]))
    with pytest.raises(RuntimeError, match="0D target tensor expects 1D input tensors"):
        m(x, t(1))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not "
                                           "supported"):
        m(x, t([[1], [2], [3]]))
    assert all(p.grad is None for p in m.parameters())
