"""Activations (functional, in-place and Module forms) against PyTorch, float64 gradcheck and
gradgradcheck, and error cases."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
import taimatsu.nn.functional as F
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np

# name -> fn(F, x): every activation this file covers, with its options.
ACTIVATIONS = {
    "threshold": lambda F, x: F.threshold(x, 0.3, -2.0),
    "selu": lambda F, x: F.selu(x),
    "celu": lambda F, x: F.celu(x),
    "celu_alpha": lambda F, x: F.celu(x, alpha=0.7),
    "mish": lambda F, x: F.mish(x),
    "hardswish": lambda F, x: F.hardswish(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "hardshrink": lambda F, x: F.hardshrink(x),
    "hardshrink_lambd": lambda F, x: F.hardshrink(x, 1.2),
    "softshrink": lambda F, x: F.softshrink(x),
    "softshrink_lambd": lambda F, x: F.softshrink(x, 1.2),
    "softshrink_0": lambda F, x: F.softshrink(x, 0.0),
    "tanhshrink": lambda F, x: F.tanhshrink(x),
    "softsign": lambda F, x: F.softsign(x),
    "softmin": lambda F, x: F.softmin(x, dim=-1),
    "softmin_dim0_dtype": lambda F, x: F.softmin(x, 0, dtype=x.dtype),
    "glu": lambda F, x: F.glu(x),
    "glu_dim0": lambda F, x: F.glu(x, 0),
    "rrelu_eval": lambda F, x: F.rrelu(x),
    "rrelu_eval_bounds": lambda F, x: F.rrelu(x, 0.05, 0.5, training=False),
}
ELEMENTWISE = [n for n in ACTIVATIONS if not n.startswith(("softmin", "glu"))]


def data(*shape, seed=0):
    """Values in [-4, 4] covering every branch (the hardswish/hardsigmoid kinks sit at +-3)."""
    return rand(*shape, seed=seed) * 4


@needs_torch
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_torch(name, device):
    fn = ACTIVATIONS[name]
    compare(lambda T, x: fn(T.nn.functional, x), data(4, 6), device=device)
    compare(lambda T, x: fn(T.nn.functional, x), data(4, 6).astype(np.float64), device=device)


@needs_torch
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_non_contiguous_and_empty(name, device):
    fn = ACTIVATIONS[name]
    compare(lambda T, x: fn(T.nn.functional, x), data(4, 6), device=device,
            non_contiguous=True)
    compare(lambda T, x: fn(T.nn.functional, x), data(0, 4), device=device)


@needs_torch
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_activation_0d(name, device):
    fn = ACTIVATIONS[name]
    for v in (-1.7, 2.5):
        compare(lambda T, x: fn(T.nn.functional, x), np.array(v, dtype=np.float32),
                device=device)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradcheck(name, device):
    fn = ACTIVATIONS[name]
    x = data(4, 4, seed=2)
    x[np.abs(x) < 0.05] = 0.4  # keep away from the kink at 0 (the others are unlikely hits)
    gradcheck(lambda x: fn(F, x), x, device=device)


@needs_torch
def test_activation_values_at_the_kinks(device):
    # PyTorch's gradient at the boundaries themselves: hardswish 0 at -3 and 1 at 3,
    # hardsigmoid 0 at both, shrinks 0 at +-lambd, threshold 0 at the threshold.
    x = np.array([-3.0, 3.0, -0.5, 0.5, 0.0, 0.3, -1.0, 1.0], dtype=np.float32)
    for name in ["hardswish", "hardsigmoid", "hardshrink", "softshrink", "threshold", "celu",
                 "selu", "rrelu_eval"]:
        fn = ACTIVATIONS[name]
        compare(lambda T, x, fn=fn: fn(T.nn.functional, x), x, device=device)


# ---------------------------------------------------------------------------- in-place forms
INPLACE = {
    "threshold_": (lambda F, x: F.threshold_(x, 0.3, -2.0), "threshold"),
    "threshold(inplace)": (lambda F, x: F.threshold(x, 0.3, -2.0, inplace=True), "threshold"),
    "selu_": (lambda F, x: F.selu_(x), "selu"),
    "selu(inplace)": (lambda F, x: F.selu(x, inplace=True), "selu"),
    "celu_": (lambda F, x: F.celu_(x, 0.7), "celu_alpha"),
    "celu(inplace)": (lambda F, x: F.celu(x, 0.7, inplace=True), "celu_alpha"),
    "mish(inplace)": (lambda F, x: F.mish(x, inplace=True), "mish"),
    "hardswish(inplace)": (lambda F, x: F.hardswish(x, inplace=True), "hardswish"),
    "hardsigmoid(inplace)": (lambda F, x: F.hardsigmoid(x, inplace=True), "hardsigmoid"),
    "rrelu_": (lambda F, x: F.rrelu_(x), "rrelu_eval"),
    "rrelu(inplace)": (lambda F, x: F.rrelu(x, inplace=True), "rrelu_eval"),
}


@needs_torch
@pytest.mark.parametrize("name", INPLACE)
def test_inplace_activation_matches_torch(name, device):
    fn, _ = INPLACE[name]

    def run(T, x):
        y = x * 1.0  # a non-leaf: in-place on it is recorded
        out = fn(T.nn.functional, y)
        assert out is y
        return y

    compare(run, data(3, 5), device=device)


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_activation_equals_out_of_place(name, device):
    fn, ref = INPLACE[name]
    x = taimatsu.tensor(data(3, 5), device=device)
    expected = to_np(ACTIVATIONS[ref](F, x))
    version = x._version[0]
    assert fn(F, x) is x
    assert x._version[0] == version + 1
    np.testing.assert_allclose(to_np(x), expected, rtol=1e-6)
    gradcheck(lambda x: fn(F, x * 1.0), data(2, 3, seed=3), device=device)


def test_inplace_activation_refuses_leaf_requiring_grad(device):
    x = taimatsu.tensor(data(2, 2), device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        F.selu_(x)
    np.testing.assert_array_equal(to_np(x), data(2, 2))


# ---------------------------------------------------------------------------- PReLU
@needs_torch
@pytest.mark.parametrize("shape,n", [((4, 3), 1), ((4, 3), 3), ((2, 3, 5), 3),
                                     ((2, 3, 2, 2), 3), ((5,), 1), ((), 1), ((0, 3), 3)])
def test_prelu_matches_torch(shape, n, device):
    w = rand(n, seed=4, low=0.05, high=0.6)
    compare(lambda T, x, w: T.nn.functional.prelu(x, w), np.asarray(data(*shape)), w,
            device=device)


@needs_torch
def test_prelu_scalar_weight_and_non_contiguous(device):
    compare(lambda T, x, w: T.nn.functional.prelu(x, w), data(3, 4),
            np.array(0.2, dtype=np.float32), device=device)
    compare(lambda T, x, w: T.nn.functional.prelu(x, w), data(3, 4), rand(4, seed=1),
            device=device, non_contiguous=True)


def test_prelu_gradcheck(device):
    gradcheck(lambda x, w: F.prelu(x, w), data(2, 3, 2, seed=5), rand(3, seed=6), device=device)
    gradcheck(lambda x, w: F.prelu(x, w), data(4, seed=5), rand(1, seed=6), device=device)


@needs_torch
@pytest.mark.parametrize("n,shape", [(1, (4, 5)), (3, (2, 3, 4))])
def test_prelu_module_matches_torch_from_identical_weights(n, shape, device):
    import torch

    ref = torch.nn.PReLU(n, init=0.1)
    with torch.no_grad():
        ref.weight.copy_(torch.linspace(0.05, 0.5, n))
    mine = tnn.PReLU(n, init=0.1, device=device)
    assert repr(mine) == repr(ref) and list(mine.state_dict()) == list(ref.state_dict())
    mine.load_state_dict({k: taimatsu.tensor(v.numpy(), device=device)
                          for k, v in ref.state_dict().items()})
    x = data(*shape)
    out_t, out_p = mine(taimatsu.tensor(x, device=device)), ref(torch.tensor(x))
    np.testing.assert_allclose(to_np(out_t), out_p.detach().numpy(), rtol=1e-6)
    out_t.sum().backward()
    out_p.sum().backward()
    np.testing.assert_allclose(to_np(mine.weight.grad), ref.weight.grad.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_prelu_module_initialisation(device):
    m = tnn.PReLU(4, init=0.3, device=device, dtype=taimatsu.float64)
    assert m.num_parameters == 4 and m.init == 0.3 and m.weight.dtype is taimatsu.float64
    assert to_np(m.weight).tolist() == [0.3] * 4
    m.weight.data.fill_(0.0)
    m.reset_parameters()
    assert to_np(m.weight).tolist() == [0.3] * 4


@pytest.mark.parametrize("xshape,wshape,message", [
    ((3, 4), (3,), ("Mismatch of parameter numbers and input channel size. Found parameter "
                   "numbers = 3 and channel size = 4.")),
    ((4,), (4,), ("Mismatch of parameter numbers and input channel size. Found parameter "
                 "numbers = 4 and channel size = 1.")),
    ((), (3,), "Not allow zero-dim input tensor."),
    ((3, 4), (1, 1), "prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"),
])
def test_prelu_errors(xshape, wshape, message, device):
    w = taimatsu.ones(wshape, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        F.prelu(taimatsu.zeros(xshape, device=device), w)
    assert w.grad is None


# ---------------------------------------------------------------------------- RReLU
def test_rrelu_training_draws_slopes_in_range(device):
    x = taimatsu.tensor(-np.abs(data(200, 5)) - 0.1, device=device, requires_grad=True)
    out = F.rrelu(x, 0.1, 0.3, training=True)
    slope = to_np(out) / to_np(x)
    assert slope.min() >= 0.1 - 1e-6 and slope.max() <= 0.3 + 1e-6
    assert slope.std() > 0.03  # per-element slopes, not one shared draw
    out.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), slope, rtol=1e-5)  # the gradient is the slope


def test_rrelu_training_positive_part_and_seed(device):
    x = taimatsu.tensor(data(6, 7), device=device)
    a = F.rrelu(x, training=True)
    positive = to_np(x) > 0
    np.testing.assert_array_equal(to_np(a)[positive], to_np(x)[positive])
    taimatsu.manual_seed(3)
    b = to_np(F.rrelu(x, training=True))
    taimatsu.manual_seed(3)
    np.testing.assert_array_equal(b, to_np(F.rrelu(x, training=True)))
    m = tnn.RReLU(0.2, 0.25)
    m.eval()
    np.testing.assert_allclose(to_np(m(x)), to_np(F.leaky_relu(x, 0.225)), rtol=1e-6)


def test_rrelu_training_gradcheck(device):
    # The slopes are fixed per call: gradcheck one draw through a seeded closure.
    def fn(x):
        taimatsu.manual_seed(11)
        return F.rrelu(x, 0.1, 0.4, training=True)

    gradcheck(fn, data(3, 4, seed=7), device=device)


def test_rrelu_training_inplace(device):
    x = taimatsu.tensor(data(4, 4), device=device)
    before = to_np(x).copy()
    assert F.rrelu_(x, 0.1, 0.3, training=True) is x
    slope = to_np(x)[before < 0] / before[before < 0]
    assert slope.min() >= 0.1 - 1e-6 and slope.max() <= 0.3 + 1e-6


def test_rrelu_inplace_draws_from_the_given_generator(device):
    x = taimatsu.tensor(data(4, 4), device=device)
    a, b = x.clone(), x.clone()
    F.rrelu_(a, training=True, generator=taimatsu.Generator(device).manual_seed(5))
    taimatsu.rand(100, device=device)  # the default generator moves on; the given one does not
    F.rrelu_(b, training=True, generator=taimatsu.Generator(device).manual_seed(5))
    assert np.array_equal(to_np(a), to_np(b)) and not np.array_equal(to_np(a), to_np(x))


# ---------------------------------------------------------------------------- Modules
MODULES = {
    "Threshold": (lambda nn: nn.Threshold(0.2, -1.0), (3, 4)),
    "Threshold_inplace": (lambda nn: nn.Threshold(0.2, 5, inplace=True), (3, 4)),
    "RReLU_eval": (lambda nn: nn.RReLU(0.1, 0.3).eval(), (3, 4)),
    "RReLU_inplace": (lambda nn: nn.RReLU(inplace=True).eval(), (3, 4)),
    "Hardsigmoid": (lambda nn: nn.Hardsigmoid(), (3, 4)),
    "Hardswish": (lambda nn: nn.Hardswish(), (3, 4)),
    "Hardswish_inplace": (lambda nn: nn.Hardswish(inplace=True), (3, 4)),
    "Mish": (lambda nn: nn.Mish(), (3, 4)),
    "Mish_inplace": (lambda nn: nn.Mish(inplace=True), (3, 4)),
    "Hardsigmoid_inplace": (lambda nn: nn.Hardsigmoid(inplace=True), (3, 4)),
    "ReLU_inplace": (lambda nn: nn.ReLU(inplace=True), (3, 4)),
    "SiLU_inplace": (lambda nn: nn.SiLU(inplace=True), (3, 4)),
    "SELU": (lambda nn: nn.SELU(), (3, 4)),
    "SELU_inplace": (lambda nn: nn.SELU(inplace=True), (3, 4)),
    "CELU": (lambda nn: nn.CELU(0.5), (3, 4)),
    "CELU_inplace": (lambda nn: nn.CELU(inplace=True), (3, 4)),
    "GLU": (lambda nn: nn.GLU(), (3, 4)),
    "GLU_dim": (lambda nn: nn.GLU(dim=0), (4, 3)),
    "Hardshrink": (lambda nn: nn.Hardshrink(0.7), (3, 4)),
    "Softshrink": (lambda nn: nn.Softshrink(), (3, 4)),
    "PReLU": (lambda nn: nn.PReLU(), (3, 4)),
    "Softsign": (lambda nn: nn.Softsign(), (3, 4)),
    "Tanhshrink": (lambda nn: nn.Tanhshrink(), (3, 4)),
    "Softmin": (lambda nn: nn.Softmin(dim=1), (3, 4)),
    "Softmax2d": (lambda nn: nn.Softmax2d(), (2, 3, 2, 2)),
    "Softmax2d_unbatched": (lambda nn: nn.Softmax2d(), (3, 2, 4)),
}


@needs_torch
@pytest.mark.parametrize("name", MODULES)
def test_activation_module_matches_torch(name, device):
    import torch

    make, shape = MODULES[name]
    assert repr(make(tnn)) == repr(make(torch.nn))
    # (in-place modules get a non-leaf input: modifying a leaf that requires grad is an error;
    # PReLU's weight must live on the input's device)
    compare(lambda T, x: make(T.nn).to(x.device)(x * 1.0), data(*shape), device=device)


def test_activation_modules_are_exported():
    import torch

    names = [n for n in torch.nn.modules.activation.__all__ if n != "MultiheadAttention"]
    missing = [n for n in names if not hasattr(tnn, n)]
    assert not missing, missing


# ---------------------------------------------------------------------------- bad input
def test_activation_errors(device):
    x = taimatsu.tensor(data(3, 5), device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is "
                                           "size 5"):
        F.glu(x)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(taimatsu.tensor(1.0, device=device))
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.glu(x, 3)
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, 3.40282e\+38\] for "
                                           r"input dtype Float, but found -1"):
        F.softshrink(x, -1.0)
    with pytest.raises(RuntimeError, match=r"lambda must be in range \[0, 1.79769e\+308\] for "
                                           r"input dtype Double, but found -0.5"):
        F.softshrink(x.double(), -0.5)
    with pytest.raises(RuntimeError, match="ZeroDivisionError: alpha cannot be 0 for CELU"):
        F.celu(x, 0.0)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the "
                                           "upper bound"):
        F.rrelu(x, 0.5, 0.2, training=True)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D "
                                         "instead"):
        tnn.Softmax2d()(x)
    np.testing.assert_array_equal(to_np(x), data(3, 5))
    assert x.grad is None


def test_inplace_activation_errors_leave_input_unchanged(device):
    x = taimatsu.tensor(data(3, 4), device=device)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        F.celu_(x, 0.0)
    with pytest.raises(RuntimeError, match="Lower bound"):
        F.rrelu_(x, 0.5, 0.2, training=True)
    np.testing.assert_array_equal(to_np(x), data(3, 4))
    assert x._version[0] == 0


@pytest.mark.parametrize("fn,kernel", [
    (F.mish, "mish"), (F.hardsigmoid, "hardsigmoid"), (F.hardswish, "hardswish"),
    (F.selu, "elu"), (F.celu, "elu"), (F.hardshrink, "hardshrink"),
    (F.softshrink, "softshrink_check"), (F.glu, "glu"),
    (lambda x: F.rrelu(x, training=True), "rrelu_with_noise_out"),
])
def test_integer_input_is_refused_like_torch(fn, kernel, device):
    with pytest.raises(NotImplementedError, match=f'"{kernel}_cpu" not implemented for '
                                                  "'Long'"):
        fn(taimatsu.arange(4, device=device))


@needs_torch
def test_threshold_keeps_integer_dtype(device):
    compare(lambda T, x: T.nn.functional.threshold(x, 2, 7), np.arange(5), device=device,
            grad=False)


def test_softmin_implicit_dim_warns(device):
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        out = F.softmin(taimatsu.tensor(data(2, 3), device=device))
    np.testing.assert_allclose(to_np(out).sum(1), [1.0, 1.0], rtol=1e-6)


# ---------------------------------------------------------------------------- gumbel_softmax
@pytest.mark.parametrize("dim", [-1, 0])
def test_gumbel_softmax_soft_samples(dim, device):
    x = taimatsu.tensor(data(3, 4), device=device, requires_grad=True)
    y = F.gumbel_softmax(x, tau=0.5, dim=dim)
    np.testing.assert_allclose(to_np(y).sum(dim), 1.0, rtol=1e-5)
    taimatsu.manual_seed(5)
    a = to_np(F.gumbel_softmax(x, dim=dim))
    taimatsu.manual_seed(5)
    np.testing.assert_array_equal(a, to_np(F.gumbel_softmax(x, dim=dim)))
    # the noise is shared by every tau: a lower temperature sharpens the same sample
    taimatsu.manual_seed(5)
    sharp = to_np(F.gumbel_softmax(x, tau=0.05, dim=dim))
    assert (sharp.max(dim) > a.max(dim)).all()


def test_gumbel_softmax_hard_is_straight_through(device):
    x_hard = taimatsu.tensor(data(5, 4), device=device, requires_grad=True)
    x_soft = taimatsu.tensor(data(5, 4), device=device, requires_grad=True)
    taimatsu.manual_seed(2)
    y = F.gumbel_softmax(x_hard, hard=True)
    taimatsu.manual_seed(2)
    soft = F.gumbel_softmax(x_soft)
    assert to_np(y).sum(1).tolist() == [1.0] * 5 and set(np.unique(to_np(y))) <= {0.0, 1.0}
    assert (to_np(y).argmax(1) == to_np(soft).argmax(1)).all()
    w = taimatsu.tensor(data(5, 4, seed=1), device=device)
    (y * w).sum().backward()
    (soft * w).sum().backward()
    np.testing.assert_allclose(to_np(x_hard.grad), to_np(x_soft.grad), rtol=1e-5, atol=1e-7)


def test_gumbel_softmax_gradcheck_and_eps_warning(device):
    def fn(x):
        taimatsu.manual_seed(9)
        return F.gumbel_softmax(x, tau=0.7)

    gradcheck(fn, data(3, 4), device=device)
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated and has no effect."):
        F.gumbel_softmax(taimatsu.tensor(data(2, 3), device=device), eps=1e-5)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_array_backward_equals_the_composed_one(approximate):
    # The fused node's first-order backward works on arrays; under create_graph it is composed
    # from tensor ops. Both must give the same gradient.
    a = np.random.default_rng(0).standard_normal((4, 5)) * 3
    grads = []
    for create_graph in (False, True):
        x = taimatsu.tensor(a, requires_grad=True)
        (g,) = taimatsu.autograd.grad(taimatsu.nn.functional.gelu(x, approximate).sum(), x,
                                      create_graph=create_graph)
        grads.append(g.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-13, atol=1e-15)
