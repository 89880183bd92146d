"""F.pad in every mode and the padding layers, against PyTorch; gradcheck in float64."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn.functional as F
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np

MODES = ["constant", "reflect", "replicate", "circular"]

# (input shape, pad): 1-3 padded dims, batched and unbatched, negative amounts (crops).
CASES = [
    ((2, 3, 6), (2, 1)),
    ((3, 6), (1, 3)),
    ((1, 2, 6), (-1, 4)),
    ((2, 6), (3, -2)),
    ((2, 2, 5, 6), (1, 2, 3, 0)),
    ((2, 5, 6), (0, 3, -1, 2)),
    ((1, 2, 4, 5, 6), (1, 2, 1, 0, 2, 3)),
    ((2, 4, 5, 6), (-1, 2, 1, -2, 3, 1)),
]


def _pad(mode, p):
    return lambda T, x: T.nn.functional.pad(x, p, mode=mode)


@needs_torch
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,p", CASES)
def test_pad_matches_torch(mode, shape, p, device):
    compare(_pad(mode, p), rand(*shape), device=device)


@needs_torch
@pytest.mark.parametrize("mode", MODES)
def test_pad_non_contiguous(mode, device):
    compare(_pad(mode, (2, 1, 1, 2)), rand(2, 3, 4, 5), device=device, non_contiguous=True)


@needs_torch
@pytest.mark.parametrize("mode", MODES)
def test_pad_float64_and_empty_batch(mode, device):
    compare(_pad(mode, (1, 2)), rand(2, 3, 4, dtype=np.float64), device=device)
    compare(_pad(mode, (1, 2, 2, 1)), rand(0, 3, 4, 5), device=device)


@pytest.mark.parametrize("mode", MODES)
def test_pad_gradcheck(mode, device):
    gradcheck(lambda x: F.pad(x, (2, 1, -1, 2), mode=mode), rand(2, 3, 4, seed=2),
              device=device)
    gradcheck(lambda x: F.pad(x, (1, 1, 1, 0, 0, 2), mode=mode), rand(1, 1, 3, 3, 3, seed=3),
              device=device)


@needs_torch
def test_constant_pad_any_dims_value_and_dtypes(device):
    compare(lambda T, x: T.nn.functional.pad(x, (1, 2, 0, 1, 2, 0, 1, 1), value=-1.5),
            rand(2, 3, 2, 2), device=device)
    compare(lambda T, x: T.nn.functional.pad(x, (1, 1)), rand(4), device=device)
    compare(lambda T, x: T.nn.functional.pad(x, ()), np.array(3.0, np.float32), device=device)
    ints = np.arange(6).reshape(2, 3)
    compare(lambda T, x: T.nn.functional.pad(x, (1, 1), value=1.7), ints, device=device)
    compare(lambda T, x: T.nn.functional.pad(x, (1, 1), mode="reflect"), ints, device=device)
    compare(lambda T, x: T.nn.functional.pad(x, [-1, -2]), rand(3, 3), device=device)


def test_pad_output_is_a_fresh_tensor(device):
    x = taimatsu.tensor(rand(2, 3, 4), device=device)
    for mode in MODES:
        for p in [(0, 0), (1, 1), (-1, 0)]:
            y = F.pad(x, p, mode=mode)
            y.fill_(7.0)
            assert not np.any(to_np(x) == 7.0)


def test_pad_double_backward_matches_composed(device):
    # PadAdjoint (the backward) differentiated once more is padding again: d/dg <pad'(g), v>.
    x = taimatsu.tensor(rand(2, 3, 5, seed=4), device=device, requires_grad=True)
    y = F.pad(x, (2, 3), mode="reflect")
    g = taimatsu.ones_like(y, requires_grad=True)
    (gx,) = taimatsu.autograd.grad(y, x, g, create_graph=True)
    v = taimatsu.tensor(rand(2, 3, 5, seed=5), device=device)
    (gg,) = taimatsu.autograd.grad((gx * v).sum(), g)
    np.testing.assert_allclose(to_np(gg), to_np(F.pad(v, (2, 3), mode="reflect")), rtol=1e-6)


ERRORS = [
    ((1, 2, 6), (1,), "constant", RuntimeError, "Padding length must be divisible by 2"),
    ((1, 2, 6), (1,) * 8, "constant", RuntimeError,
     ("Padding length should be less than or equal to two times the input dimension but got "
     "padding length 8 and input of dimension 3")),
    ((1, 2, 6), (1, 1), "foo", NotImplementedError, "Unrecognised padding mode foo"),
    ((1, 2, 6), (6, 0), "reflect", RuntimeError,
     (r"Argument #4: Padding size should be less than the corresponding input dimension, but "
     r"got: padding \(6, 0\) at dimension 2 of input \[1, 2, 6\]")),
    ((1, 3, 3), (0, 0, 3, 0), "reflect", RuntimeError,
     (r"Argument #6: Padding size should be less than .* padding \(3, 0\) at dimension 1 of "
     r"input \[1, 3, 3\]")),
    ((1, 2, 6), (7, 0), "circular", RuntimeError,
     "Padding value causes wrapping around more than once."),
    ((1, 1, 3), (-5, 0), "circular", RuntimeError,
     "Negative padding value is resulting in an empty dimension"),
    ((1, 2, 6), (1, 1), "reflect", RuntimeError,
     "Padding mode \"reflect\" doesn't take in value argument"),
    ((6,), (1, 1), "replicate", NotImplementedError,
     "Padding size 2 is not supported for 1D input tensor"),
    ((1, 1, 2, 6), (1, 1), "circular", NotImplementedError,
     "Padding size 2 is not supported for 4D input tensor"),
    ((1, 0, 3), (1, 1), "reflect", RuntimeError,
     (r"Expected 2D or 3D \(batch mode\) tensor with possibly 0 batch size and other non-zero "
     r"dimensions for input, but got: \[1, 0, 3\]")),
    ((1, 1, 3), (-2, -1), "replicate", RuntimeError,
     r"input \(W: 3\) is too small. Calculated output W: 0"),
    ((1, 3, 3), (-2, -1, -2, -1), "reflect", RuntimeError,
     r"input \(H: 3, W: 3\) is too small. Calculated output H: 0 W: 0"),
    ((1, 2, 6), (-4, -4), "constant", RuntimeError, "narrow\\(\\): length must be non-negative"),
]


@needs_torch
@pytest.mark.parametrize("shape,p,mode,exc,msg", ERRORS)
def test_pad_errors_match_torch(shape, p, mode, exc, msg, device):
    import torch

    value = 2.0 if "value argument" in msg else None
    a = rand(*shape)
    x = taimatsu.tensor(a, device=device)
    with pytest.raises(exc, match=msg):
        F.pad(x, p, mode=mode, value=value)
    with pytest.raises(exc, match=msg):
        torch.nn.functional.pad(torch.tensor(a), p, mode=mode, value=value)
    np.testing.assert_array_equal(to_np(x), a)  # nothing changed


def test_pad_argument_types(device):
    x = taimatsu.tensor(rand(1, 2, 3), device=device)
    with pytest.raises(TypeError, match="must be tuple of ints, but found element of type float"):
        F.pad(x, (1.5, 1))
    with pytest.raises(TypeError, match="must be tuple of ints, not int"):
        F.pad(x, 1)
    assert F.pad(x, (np.int64(1), taimatsu.tensor(2))).shape == (1, 2, 6)


LAYERS = [
    ("ZeroPad1d", (2,), (2, 3, 5)), ("ZeroPad2d", ((1, 2, 0, 1),), (2, 3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 3, 3)), ("ConstantPad1d", ((2, 1), 3.5), (3, 5)),
    ("ConstantPad2d", (1, -2.0), (2, 3, 4, 5)), ("ConstantPad3d", ((1, 0, 2, 1, 0, 1), 1.0),
                                                  (2, 3, 3, 3)),
    ("ReflectionPad1d", (2,), (2, 3, 5)), ("ReflectionPad2d", ((1, 2, 2, 0),), (3, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)), ("ReplicationPad1d", ((3, 1),), (3, 5)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)), ("ReplicationPad3d", ((1, 2, 0, 1, 2, 0),),
                                                (2, 3, 3, 3)),
    ("CircularPad1d", (2,), (2, 3, 5)), ("CircularPad2d", ((1, 2, 2, 0),), (2, 3, 4, 5)),
    ("CircularPad3d", (1,), (1, 2, 3, 3, 3)),
]


@needs_torch
@pytest.mark.parametrize("name,args,shape", LAYERS)
def test_padding_layers_match_torch(name, args, shape, device):
    import torch

    ours, theirs = getattr(taimatsu.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    assert ours.padding == theirs.padding
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    compare(lambda T, x: (ours if T is taimatsu else theirs)(x), rand(*shape), device=device)


def test_circular_layer_checks_rank(device):
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        taimatsu.nn.CircularPad2d(1)(taimatsu.zeros(3, 3, device=device))
