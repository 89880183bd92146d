"""Convolutions: F.conv*/conv_transpose* and the Conv/ConvTranspose layers against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
from taimatsu.autograd.grad_mode import state as grad_state
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np, torch

F = taimatsu.nn.functional

# (input shape, weight shape, keyword arguments) per case; the weight follows PyTorch's layout.
CONV_CASES = [
    ((2, 4, 9), (6, 2, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}),
    ((4, 9), (3, 4, 2), {"padding": "same"}),
    ((2, 4, 7, 6), (6, 2, 3, 2), {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2), "groups": 2}),
    ((2, 3, 7, 6), (4, 3, 3, 3), {"padding": "same", "dilation": 2}),
    ((1, 3, 5, 5), (2, 3, 2, 2), {"padding": "valid"}),
    ((2, 4, 6, 5), (8, 1, 3, 3), {"padding": 1, "groups": 4}),  # depthwise, multiplier 2
    ((3, 7, 6), (5, 3, 3, 1), {"stride": 3}),  # unbatched
    ((1, 4, 4, 5, 3), (4, 1, 2, 3, 2), {"padding": 1, "groups": 4}),
    ((2, 2, 5, 4, 4), (3, 2, 3, 2, 2), {"stride": (1, 2, 1), "dilation": (1, 1, 2)}),
]

TRANSPOSE_CASES = [
    ((2, 4, 5), (4, 3, 3), {"stride": 2, "padding": 1, "output_padding": 1}),
    ((4, 5), (4, 2, 2), {"dilation": 2, "groups": 2}),
    ((2, 4, 4, 3), (4, 3, 3, 2), {"stride": (2, 3), "padding": (1, 0), "output_padding": (1, 2),
                                      "groups": 2, "dilation": (1, 2)}),
    ((3, 4, 4), (3, 2, 3, 3), {"stride": 2, "padding": 1}),  # unbatched
    ((1, 2, 3, 3, 2), (2, 2, 2, 2, 3), {"stride": 2, "output_padding": (1, 0, 1)}),
]


def _conv_fn(n):
    return f"conv{n}d"


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_torch(device, case, bias):
    xs, ws, kw = case
    n = len(ws) - 2
    b = rand(ws[0], seed=2) if bias else None
    compare(lambda T, x, w, b: getattr(T.nn.functional, _conv_fn(n))(x, w, b, **kw),
            rand(*xs), rand(*ws, seed=1), b, device=device)


@needs_torch
@pytest.mark.parametrize("case", TRANSPOSE_CASES)
def test_conv_transpose_matches_torch(device, case):
    xs, ws, kw = case
    n = len(ws) - 2
    b = rand(ws[1] * kw.get("groups", 1), seed=2)
    compare(lambda T, x, w, b: getattr(T.nn.functional, f"conv_transpose{n}d")(x, w, b, **kw),
            rand(*xs), rand(*ws, seed=1), b, device=device)


@needs_torch
def test_conv_non_contiguous_and_float64(device):
    compare(lambda T, x, w: T.nn.functional.conv2d(x, w, padding=1), rand(2, 3, 5, 6),
            rand(4, 3, 3, 3, seed=1), device=device, non_contiguous=True)
    compare(lambda T, x, w: T.nn.functional.conv2d(x, w, stride=2),
            rand(2, 3, 7, 6, dtype=np.float64), rand(4, 3, 3, 2, seed=1, dtype=np.float64),
            device=device, atol=1e-10, rtol=1e-10)


def test_conv_empty_batch(device):
    y = F.conv2d(taimatsu.zeros(0, 3, 5, 5, device=device), taimatsu.ones(2, 3, 3, 3,
                                                                           device=device))
    assert tuple(y.shape) == (0, 2, 3, 3)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_conv_gradcheck(device, n):
    shape = (1, 4) + (5, 4, 3)[:n]
    w = (4, 2) + (2, 3, 2)[:n]
    gradcheck(lambda x, w, b: getattr(F, _conv_fn(n))(x, w, b, stride=2, padding=1,
                                                       dilation=1 if n == 3 else 2, groups=2),
              rand(*shape), rand(*w, seed=1), rand(4, seed=2), device=device)


@pytest.mark.parametrize("n", [1, 2])
def test_conv_transpose_gradcheck(device, n):
    shape = (1, 4) + (3, 2)[:n]
    w = (4, 1) + (3, 2)[:n]
    gradcheck(lambda x, w, b: getattr(F, f"conv_transpose{n}d")(x, w, b, stride=2, padding=1,
                                                                output_padding=1, groups=2),
              rand(*shape), rand(*w, seed=1), rand(2, seed=2), device=device)


def test_conv_transpose_as_convolution_gradcheck(device):
    # Stride 1, more output than input channels: the adjoint is computed as a convolution.
    gradcheck(lambda x, w: F.conv_transpose2d(x, w, padding=(1, 0), dilation=(1, 2), groups=2),
              rand(1, 2, 4, 3), rand(2, 2, 3, 2, seed=1), device=device)
    gradcheck(lambda x, w: F.conv2d(x, w, padding=1), rand(1, 3, 4, 4), rand(3, 3, 3, 3, seed=1),
              device=device)


def test_weight_gradient_paths_agree(device):
    """The fused weight gradient (saved im2col matrix, arrays) equals the composed one that
    create_graph takes (ConvolutionWeight recomputing from the input)."""
    x = taimatsu.tensor(rand(2, 4, 6, 5), device=device, requires_grad=True)
    w = taimatsu.tensor(rand(6, 2, 3, 2, seed=1), device=device, requires_grad=True)
    kw = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
    g = taimatsu.tensor(rand(2, 6, 3, 5, seed=3), device=device, requires_grad=True)
    (gw_fused,) = taimatsu.autograd.grad(F.conv2d(x, w, **kw), w, g)
    (gw_graph,) = taimatsu.autograd.grad(F.conv2d(x, w, **kw), w, g, create_graph=True)
    assert gw_graph.requires_grad
    np.testing.assert_allclose(to_np(gw_fused), to_np(gw_graph), rtol=1e-5, atol=1e-6)


def test_conv_grad_fn_name():
    x = taimatsu.randn(1, 1, 4, 4, requires_grad=True)
    y = F.conv2d(x, taimatsu.randn(1, 1, 2, 2))
    assert y.grad_fn.name() == "ConvolutionBackward0"
    assert grad_state.enabled


# ------------------------------------------------------------------------------ errors
def _x(*shape):
    return taimatsu.randn(*shape)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: F.conv2d(_x(2, 3), _x(4, 3, 3, 3)), RuntimeError,
     (r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: "
     r"\[2, 3\]")),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 2, 3, 3)), RuntimeError,
     (r"Given groups=1, weight of size \[4, 2, 3, 3\], expected input\[1, 3, 8, 8\] to have 2 "
     r"channels, but got 3 channels instead")),
    (lambda: F.conv2d(_x(1, 4, 8, 8), _x(3, 2, 3, 3), groups=2), RuntimeError,
     r"Given groups=2, expected weight to be divisible by 2 at dimension 0"),
    (lambda: F.conv2d(_x(1, 3, 2, 2), _x(4, 3, 3, 3)), RuntimeError,
     (r"Calculated padded input size per channel: \(2 x 2\). Kernel size: \(3 x 3\). Kernel "
     r"size can't be greater than actual input size")),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), groups=0), RuntimeError,
     "non-positive groups is not supported"),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), padding=-1), RuntimeError,
     "negative padding is not supported"),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=0), RuntimeError,
     "non-positive stride is not supported"),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=2, padding="same"), RuntimeError,
     "padding='same' is not supported for strided convolutions"),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), padding="foo"), RuntimeError,
     "Invalid padding string: 'foo'"),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), stride=(1, 2, 3)), RuntimeError,
     r"expected stride to be a single integer value or a list of 2 values"),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3), _x(5)), RuntimeError,
     r"expected bias to be 1-dimensional with 4 elements, but got bias of size \[5\]"),
    (lambda: F.conv2d(_x(1, 3, 8, 8), _x(4, 3, 3, 3).double()), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda: F.conv_transpose2d(_x(1, 5, 8, 8), _x(3, 4, 3, 3)), RuntimeError,
     (r"Given transposed=1, weight of size \[3, 4, 3, 3\], expected input\[1, 5, 8, 8\] to have "
     r"3 channels, but got 5 channels instead")),
    (lambda: F.conv_transpose2d(_x(1, 3, 1, 1), _x(3, 4, 1, 1), padding=1), RuntimeError,
     (r"Given input size per channel: \(1 x 1\). Calculated output size per channel: "
     r"\(-1 x -1\). Output size is too small")),
    (lambda: F.conv_transpose2d(_x(1, 3, 4, 4), _x(3, 4, 3, 3), output_padding=2), RuntimeError,
     ("output padding must be smaller than either stride or dilation, but got "
     "output_padding_height: 2 output_padding_width: 2 stride_height: 1 stride_width: 1")),
])
def test_conv_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@needs_torch
def test_error_messages_match_torch():
    x, w = np.ones((1, 3, 8, 8), np.float32), np.ones((4, 2, 3, 3), np.float32)
    msgs = []
    for lib in (taimatsu, torch):
        with pytest.raises(RuntimeError) as info:
            lib.nn.functional.conv2d(lib.tensor(x), lib.tensor(w))
        msgs.append(str(info.value))
    assert msgs[0] == msgs[1]


# ------------------------------------------------------------------------------ layers
LAYERS = [
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 9)),
    ("Conv2d", (3, 8, 3), {"padding": "same", "bias": False}, (2, 3, 6, 5)),
    ("Conv2d", (2, 4, (3, 2)), {"stride": 2, "dilation": (1, 2)}, (3, 2, 7, 7)),  # unbatched
    ("Conv3d", (2, 4, 2), {"padding": 1}, (1, 2, 3, 4, 3)),
    ("ConvTranspose1d", (4, 2, 3), {"stride": 2, "output_padding": 1}, (2, 4, 5)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 4, 3)),
    ("ConvTranspose3d", (2, 3, 2), {"stride": (1, 2, 1)}, (2, 2, 3, 3)),
]


def _copy_to_torch(ours, theirs):
    theirs.load_state_dict({k: torch.tensor(to_np(v)) for k, v in ours.state_dict().items()})


@needs_torch
@pytest.mark.parametrize("name, args, kw, shape", LAYERS)
def test_layer_matches_torch(device, name, args, kw, shape):
    ours = getattr(taimatsu.nn, name)(*args, **kw).to(device)
    theirs = getattr(torch.nn, name)(*args, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    _copy_to_torch(ours, theirs)
    x = rand(*shape)
    xt = taimatsu.tensor(x, device=device, requires_grad=True)
    xp = torch.tensor(x, requires_grad=True)
    yt, yp = ours(xt), theirs(xp)
    np.testing.assert_allclose(to_np(yt), to_np(yp), rtol=1e-4, atol=1e-5)
    g = rand(*yp.shape, seed=5)
    yt.backward(taimatsu.tensor(g, device=device))
    yp.backward(torch.tensor(g))
    np.testing.assert_allclose(to_np(xt.grad), to_np(xp.grad), rtol=1e-4, atol=1e-5)
    for (k, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(to_np(p.grad), to_np(q.grad), rtol=1e-4, atol=1e-5,
                                   err_msg=k)


def test_layer_init_follows_kaiming_bound():
    m = taimatsu.nn.Conv2d(4, 8, 3)
    bound = 1 / np.sqrt(4 * 9)  # kaiming_uniform(a=sqrt(5)) gives ±1/sqrt(fan_in)
    assert np.abs(to_np(m.weight)).max() <= bound
    assert np.abs(to_np(m.bias)).max() <= bound
    assert to_np(m.weight).std() > bound / 3


@needs_torch
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_padding_modes_match_torch(mode):
    if not hasattr(F, "pad"):
        pytest.skip("F.pad is not available yet")
    ours = taimatsu.nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode)
    theirs = torch.nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode)
    _copy_to_torch(ours, theirs)
    x = rand(2, 2, 5, 6)
    np.testing.assert_allclose(to_np(ours(taimatsu.tensor(x))), to_np(theirs(torch.tensor(x))),
                               rtol=1e-4, atol=1e-5)


@needs_torch
def test_conv_transpose_output_size():
    ours = taimatsu.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    _copy_to_torch(ours, theirs)
    x = rand(1, 3, 4, 4)
    yt = ours(taimatsu.tensor(x), output_size=[1, 2, 8, 8])
    yp = theirs(torch.tensor(x), output_size=[1, 2, 8, 8])
    np.testing.assert_allclose(to_np(yt), to_np(yp), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"requested an output size of \[9, 9\], but valid "
                                         r"sizes range from \[7, 7\] to \[8, 8\]"):
        ours(taimatsu.tensor(x), output_size=(9, 9))


@pytest.mark.parametrize("kw, match", [
    ({"groups": 0}, "groups must be a positive integer"),
    ({"groups": 3}, "in_channels must be divisible by groups"),
    ({"padding": "same", "stride": 2}, "padding='same' is not supported for strided"),
    ({"padding_mode": "foo"}, "padding_mode must be one of"),
    ({"padding": "full"}, "Invalid padding string 'full'"),
])
def test_layer_argument_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        taimatsu.nn.Conv2d(4, 6, 3, **kw)
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for '
                                         "ConvTranspose2d"):
        taimatsu.nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect")


def test_layer_wrong_channels_changes_nothing():
    m = taimatsu.nn.Conv2d(3, 4, 3)
    before = to_np(m.weight).copy()
    x = taimatsu.randn(1, 5, 6, 6)
    with pytest.raises(RuntimeError, match=r"weight of size \[4, 3, 3, 3\], expected "
                                           r"input\[1, 5, 6, 6\] to have 3 channels"):
        m(x)
    np.testing.assert_array_equal(to_np(m.weight), before)
    assert m.weight.grad is None

