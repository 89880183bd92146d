"""Resampling and rearranging against PyTorch: interpolate / Upsample, pixel and channel
shuffle, fold / unfold, grid_sample and affine_grid; gradcheck in float64."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import taimatsu
import taimatsu.nn.functional as F
from taimatsu._tensor_base import make
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np

DIMS = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3), "linear": (1,),
        "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}
INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")
CASES = [(mode, d) for mode, dims in DIMS.items() for d in dims]


def _input(d, seed=0, n=5, dtype=np.float32):
    return rand(2, 3, *(n + i for i in range(d)), seed=seed, dtype=dtype)


def _interp(**kw):
    return lambda T, x: T.nn.functional.interpolate(x, **kw)


@needs_torch
@pytest.mark.parametrize("mode,d", CASES)
@pytest.mark.parametrize("size", [1, 3, 8, 13])
def test_interpolate_size_matches_torch(mode, d, size, device):
    compare(_interp(size=size, mode=mode), _input(d), device=device)
    if mode in INTERPOLATING:
        compare(_interp(size=size, mode=mode, align_corners=True), _input(d), device=device)


@needs_torch
@pytest.mark.parametrize("mode,d", CASES)
@pytest.mark.parametrize("scale", [0.5, 0.7, 1.3, 2, 2.5, 1 / 3])
@pytest.mark.parametrize("recompute", [None, True, False])
def test_interpolate_scale_factor_matches_torch(mode, d, scale, recompute, device):
    # Non-integer factors: the output size floors, and the sampling uses 1/scale unless the
    # factor is recomputed from the sizes.
    kw = {"scale_factor": scale, "mode": mode, "recompute_scale_factor": recompute}
    compare(_interp(**kw), _input(d), device=device)
    if mode in INTERPOLATING:
        compare(_interp(align_corners=True, **kw), _input(d), device=device)


@needs_torch
def test_interpolate_per_dim_sizes_and_factors(device):
    compare(_interp(size=(4, 9), mode="bilinear"), _input(2), device=device)
    compare(_interp(scale_factor=(0.6, 1.7), mode="bicubic"), _input(2), device=device)
    compare(_interp(scale_factor=(2, 0.5, 1.5), mode="nearest"), _input(3), device=device)
    compare(_interp(size=[3, 4, 8], mode="area"), _input(3), device=device)
    compare(_interp(size=(6, 7), mode="nearest-exact"), _input(2), device=device)


@needs_torch
@pytest.mark.parametrize("mode,d", CASES)
def test_interpolate_float64_non_contiguous_empty_batch(mode, d, device):
    compare(_interp(scale_factor=1.7, mode=mode), _input(d, dtype=np.float64), device=device,
            atol=1e-10, rtol=1e-10)
    compare(_interp(size=4, mode=mode), _input(d), device=device, non_contiguous=True)
    empty = np.zeros((0, 2) + (4,) * d, np.float32)
    compare(_interp(size=6, mode=mode), empty, device=device)


@pytest.mark.parametrize("mode,d", CASES)
def test_interpolate_gradcheck(mode, d, device):
    ac = {"align_corners": True} if mode in INTERPOLATING else {}
    gradcheck(lambda x: F.interpolate(x, scale_factor=1.5, mode=mode),
              _input(d, n=3)[:1, :2], device=device)
    gradcheck(lambda x: F.interpolate(x, size=2, mode=mode, **ac), _input(d, n=3)[:1, :2],
              device=device)


@needs_torch
@pytest.mark.parametrize("mode,d", CASES)
@pytest.mark.parametrize("scale", [1.1, 0.99, 2.01])
@pytest.mark.parametrize("partial", [False, True])
def test_interpolate_same_size_with_scale_factor(mode, d, scale, partial, device):
    # floor(5 * scale) == 5 (or exact doubling): PyTorch's forward leaves such an axis alone in
    # some modes and resamples it by 1 / scale in others; ours follows its forward. NOTE: in
    # bicubic (no size changed) and 1-d / 3-d nearest, PyTorch's backward kernel takes the
    # shortcut its forward did not take, so it is not the gradient of its own forward; there
    # only the values are compared, and gradcheck shows ours is the forward's gradient.
    factors = (scale,) * (d - 1) + ((1.3,) if partial else (scale,))
    consistent = not ((mode == "nearest" and d != 2) or (mode == "bicubic" and not partial))
    compare(_interp(scale_factor=factors, mode=mode), _input(d), device=device,
            grad=consistent)
    if not consistent:
        gradcheck(lambda x: F.interpolate(x, scale_factor=factors, mode=mode),
                  _input(d, n=3)[:1, :1], device=device, second_order=False)


@needs_torch
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("factors", [(1.1, 1.3), (1.19, 1.19)])
def test_interpolate_antialias_same_size_axis(mode, factors, device):
    # NOTE: with antialias PyTorch's forward leaves a same-size axis alone but its backward
    # resamples it; our gradient is the forward's (gradcheck), so only the values are compared.
    kw = {"scale_factor": factors, "mode": mode, "antialias": True}
    compare(_interp(**kw), _input(2), device=device, grad=False)
    gradcheck(lambda x: F.interpolate(x, **kw), _input(2, n=3)[:1, :1], device=device,
              second_order=False)


def test_interpolate_output_sizes(device):
    x = taimatsu.zeros(1, 1, 7, 5, device=device)
    assert F.interpolate(x, scale_factor=1.3).shape == (1, 1, 9, 6)  # floor(9.1), floor(6.5)
    assert F.interpolate(x, scale_factor=(0.5, 2.5), mode="bilinear").shape == (1, 1, 3, 12)
    assert F.interpolate(x, scale_factor=1 / 3, mode="area").shape == (1, 1, 2, 1)


def test_nearest_keeps_inf_local_and_supports_uint8(device):
    a = np.zeros((1, 1, 4), np.float32)
    a[0, 0, 0] = np.inf
    out = to_np(F.interpolate(taimatsu.tensor(a, device=device), scale_factor=2))
    np.testing.assert_array_equal(out[0, 0], [np.inf, np.inf, 0, 0, 0, 0, 0, 0])
    img = taimatsu.tensor(np.arange(8, dtype=np.uint8).reshape(1, 2, 4), device=device)
    assert F.interpolate(img, size=6).dtype == taimatsu.uint8


INTERP_ERRORS = [
    ((1, 2, 4), {"size": 0}, RuntimeError,
     (r"Input and output sizes should be greater than 0, but got input \(W: 4\) and output "
     r"\(W: 0\)")),
    ((1, 2, 4, 4), {"scale_factor": 0.1, "mode": "bilinear"}, RuntimeError,
     r"but got input \(H: 4, W: 4\) output \(H: 0, W: 0\)"),
    ((1, 0, 4, 4), {"scale_factor": 2.0}, RuntimeError,
     r"Non-empty 4D data tensor expected but got a tensor with sizes \[1, 0, 4, 4\]"),
    ((1, 2, 4), {"size": 2, "scale_factor": 2.0}, ValueError,
     "only one of size or scale_factor should be defined"),
    ((1, 2, 4), {}, ValueError, "either size or scale_factor should be defined"),
    ((1, 2, 4), {"size": 3, "mode": "nearest", "align_corners": True}, ValueError,
     "align_corners option can only be set with the interpolating modes"),
    ((1, 2, 4), {"size": 3, "recompute_scale_factor": True}, ValueError,
     "recompute_scale_factor is not meaningful with an explicit size."),
    ((1, 2, 4, 5), {"scale_factor": (2,)}, ValueError,
     (r"Input and scale_factor must have the same number of spatial dimensions, but got input "
     r"with spatial dimensions of \[4, 5\]")),
    ((1, 2, 4, 5), {"size": (2, 3, 4)}, ValueError,
     "Input and output must have the same number of spatial dimensions"),
    ((1, 2, 4), {"size": (2.5,)}, TypeError, "expected size to be one of int"),
    ((1, 2, 4), {"scale_factor": 2, "mode": "bilinear"}, NotImplementedError,
     "Got 3D input, but bilinear mode needs 4D input"),
    ((1, 2, 4, 4), {"scale_factor": 2, "mode": "trilinear"}, NotImplementedError,
     "Got 4D input, but trilinear mode needs 5D input"),
    ((1, 2, 4), {"scale_factor": 2, "mode": "foo"}, NotImplementedError,
     r"Input Error: Only 3D, 4D and 5D input Tensors supported \(got 3D\)"),
    ((2, 4), {"scale_factor": 2}, NotImplementedError,
     r"Input Error: Only 3D, 4D and 5D input Tensors supported \(got 2D\)"),
    ((1, 2, 4), {"scale_factor": 2, "mode": "linear", "antialias": True}, ValueError,
     "Anti-alias option is restricted to bilinear, bicubic, and lanczos modes"),
]


@needs_torch
@pytest.mark.parametrize("shape,kw,exc,msg", INTERP_ERRORS)
def test_interpolate_errors_match_torch(shape, kw, exc, msg, device):
    import torch

    a = rand(*shape)
    x = taimatsu.tensor(a, device=device)
    with pytest.raises(exc, match=msg):
        F.interpolate(x, **kw)
    with pytest.raises(exc, match=msg):
        torch.nn.functional.interpolate(torch.tensor(a), **kw)
    np.testing.assert_array_equal(to_np(x), a)


def test_interpolate_rejects_integer_linear_and_lanczos(device):
    x = taimatsu.arange(8, device=device).reshape(1, 2, 4)
    with pytest.raises(NotImplementedError, match="\"compute_indices_weights_linear\" not "
                                                  "implemented for 'Long'"):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError, match="mode 'lanczos' is not supported"):
        F.interpolate(taimatsu.zeros(1, 1, 8, 8, device=device), size=4, mode="lanczos",
                      antialias=True)


@needs_torch
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("ac", [False, True])
@pytest.mark.parametrize("kw", [{"size": (2, 3)}, {"size": (8, 4)}, {"size": (11, 15)},
                                {"scale_factor": (0.45, 1.7)},
                                {"scale_factor": 0.3, "recompute_scale_factor": True}])
def test_interpolate_antialias_matches_torch(mode, ac, kw, device):
    compare(_interp(mode=mode, align_corners=ac, antialias=True, **kw),
            rand(2, 3, 16, 9), device=device)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_interpolate_antialias_gradcheck(mode, device):
    gradcheck(lambda x: F.interpolate(x, size=(2, 3), mode=mode, antialias=True),
              rand(1, 1, 5, 7), device=device)


UPSAMPLERS = [
    ("Upsample", {"scale_factor": 2}, 2), ("Upsample", {"size": (5, 7), "mode": "bilinear"}, 2),
    ("Upsample", {"scale_factor": 1.5, "mode": "trilinear", "align_corners": True}, 3),
    ("Upsample", {"scale_factor": (2, 1.5), "mode": "bicubic", "recompute_scale_factor": True}, 2),
    ("Upsample", {"size": 3, "mode": "linear"}, 1), ("UpsamplingNearest2d", {"scale_factor": 3}, 2),
    ("UpsamplingBilinear2d", {"size": (7, 3)}, 2),
    ("UpsamplingBilinear2d", {"scale_factor": 2}, 2),
]


@needs_torch
@pytest.mark.parametrize("name,kw,d", UPSAMPLERS)
def test_upsampling_layers_match_torch(name, kw, d, device):
    import torch

    ours, theirs = getattr(taimatsu.nn, name)(**kw), getattr(torch.nn, name)(**kw)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    compare(lambda T, x: (ours if T is taimatsu else theirs)(x), _input(d), device=device)


@needs_torch
@pytest.mark.parametrize("name,kw", [("upsample", {"scale_factor": 2, "mode": "linear"}),
                                     ("upsample_nearest", {"size": 7}),
                                     ("upsample_bilinear", {"scale_factor": 1.5})])
def test_deprecated_upsample_functions(name, kw, device):
    d = 1 if name == "upsample" else 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compare(lambda T, x: getattr(T.nn.functional, name)(x, **kw), _input(d), device=device)
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated"):
        getattr(F, name)(taimatsu.zeros(1, 1, *(3,) * d, device=device), **kw)


# ------------------------------------------------------------------ pixel / channel shuffle
SHUFFLES = [
    ("pixel_shuffle", 2, (2, 8, 3, 3)), ("pixel_shuffle", 3, (9, 2, 3)),
    ("pixel_shuffle", 2, (2, 2, 4, 3, 2)), ("pixel_unshuffle", 2, (2, 3, 4, 6)),
    ("pixel_unshuffle", 3, (2, 6, 3)), ("channel_shuffle", 3, (2, 6, 3, 2)),
    ("channel_shuffle", 2, (3, 4, 5)), ("channel_shuffle", 2, (2, 4, 2, 2, 2)),
]


@needs_torch
@pytest.mark.parametrize("name,factor,shape", SHUFFLES)
def test_shuffles_match_torch(name, factor, shape, device):
    fn = lambda T, x: getattr(T.nn.functional, name)(x, factor)
    compare(fn, rand(*shape), device=device)
    compare(fn, rand(*shape), device=device, non_contiguous=True)
    gradcheck(lambda x: getattr(F, name)(x, factor), rand(*shape, seed=1), device=device)


@needs_torch
@pytest.mark.parametrize("name,args", [("PixelShuffle", (2,)), ("PixelUnshuffle", (2,)),
                                       ("ChannelShuffle", (2,))])
def test_shuffle_layers_match_torch(name, args, device):
    import torch

    ours, theirs = getattr(taimatsu.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    compare(lambda T, x: (ours if T is taimatsu else theirs)(x), rand(2, 8, 4, 6),
            device=device)


SHUFFLE_ERRORS = [
    ("pixel_shuffle", (2, 7, 3, 3), 2, RuntimeError,
     (r"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
     r"upscale_factor, but input.size\(-3\)=7 is not divisible by 4")),
    ("pixel_shuffle", (3, 3), 2, RuntimeError,
     (r"pixel_shuffle expects input to have at least 3 dimensions, but got input with 2 "
     r"dimension\(s\)")),
    ("pixel_shuffle", (2, 8, 3, 3), 0, RuntimeError,
     "pixel_shuffle expects a positive upscale_factor, but got 0"),
    ("pixel_shuffle", (2, 8, 3, 3), 2.0, TypeError,
     r"pixel_shuffle\(\): argument 'upscale_factor' \(position 2\) must be int, not float"),
    ("pixel_unshuffle", (2, 2, 5, 6), 2, RuntimeError,
     (r"pixel_unshuffle expects height to be divisible by downscale_factor, but "
     r"input.size\(-2\)=5 is not divisible by 2")),
    ("pixel_unshuffle", (2, 2, 4, 5), 2, RuntimeError,
     "pixel_unshuffle expects width to be divisible by downscale_factor"),
    ("channel_shuffle", (2, 6), 3, RuntimeError,
     r"channel_shuffle expects input with > 2 dims, but got input with sizes \[2, 6\]"),
    ("channel_shuffle", (2, 6, 3, 3), 4, RuntimeError,
     "Number of channels must be divisible by groups. Got 6 channels and 4 groups."),
    ("channel_shuffle", (2, 6, 3, 3), 0, RuntimeError,
     "Number of groups to divide channels in must be positive. Value of groups:0"),
]


@needs_torch
@pytest.mark.parametrize("name,shape,factor,exc,msg", SHUFFLE_ERRORS)
def test_shuffle_errors_match_torch(name, shape, factor, exc, msg, device):
    import torch

    a = rand(*shape)
    with pytest.raises(exc, match=msg):
        getattr(F, name)(taimatsu.tensor(a, device=device), factor)
    with pytest.raises(exc, match=msg):
        getattr(torch.nn.functional, name)(torch.tensor(a), factor)


# ------------------------------------------------------------------ fold / unfold
GEOMETRIES = [
    {"kernel_size": 2}, {"kernel_size": (2, 3), "dilation": (1, 2), "padding": 1, "stride": (2, 1)},
    {"kernel_size": 3, "padding": (0, 2), "stride": 2}, {"kernel_size": (1, 2), "dilation": 2},
]


@needs_torch
@pytest.mark.parametrize("kw", GEOMETRIES)
def test_unfold_and_fold_match_torch(kw, device):
    import torch

    compare(lambda T, x: T.nn.functional.unfold(x, **kw), rand(2, 3, 5, 6), device=device)
    compare(lambda T, x: T.nn.functional.unfold(x, **kw), rand(3, 5, 6), device=device,
            non_contiguous=True)
    cols = torch.nn.functional.unfold(torch.zeros(2, 3, 5, 6), **kw).shape
    compare(lambda T, x: T.nn.functional.fold(x, (5, 6), **kw), rand(*cols), device=device)
    compare(lambda T, x: T.nn.functional.fold(x, (5, 6), **kw), rand(*cols[1:]), device=device)
    compare(lambda T, x: T.nn.functional.unfold(x, **kw), rand(0, 3, 5, 6), device=device)
    gradcheck(lambda x: F.unfold(x, **kw), rand(1, 2, 5, 6), device=device)
    gradcheck(lambda x: F.fold(x, (5, 6), **kw), rand(1, *cols[1:]), device=device)


@needs_torch
@pytest.mark.parametrize("name,args,kw,shape", [("Unfold", (3,), {"padding": 1}, (2, 2, 4, 5)),
                                                ("Fold", ((4, 5), 2), {"stride": (1, 2)},
                                                 (2, 8, 6))])
def test_fold_layers_match_torch(name, args, kw, shape, device):
    import torch

    ours, theirs = getattr(taimatsu.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    compare(lambda T, x: (ours if T is taimatsu else theirs)(x), rand(*shape), device=device)


FOLD_ERRORS = [
    ("unfold", (2, 3, 5, 5, 5), (2,), {}, r"Expected 3D or 4D \(batch mode\) tensor"),
    ("unfold", (2, 0, 5, 5), (2,), {}, (r"other non-zero dimensions for input, but got: "
                                       r"\[2, 0, 5, 5\]")),
    ("unfold", (2, 3, 5, 5), (6,), {},
     (r"Given input with spatial size \(5, 5\), kernel_size=\(6, 6\), dilation=\(1, 1\), "
     r"padding=\(0, 0\), calculated shape of the array of sliding blocks as \(0, 0\), but its "
     r"components must be at least one.")),
    ("unfold", (2, 3, 5, 5), (2,), {"stride": 0},
     "stride should be greater than zero, but got stride_height: 0 stride_width: 0"),
    ("unfold", (2, 3, 5, 5), (0,), {}, "kernel size should be greater than zero"),
    ("unfold", (2, 3, 5, 5), (2,), {"padding": -1}, "padding should be non-negative"),
    ("unfold", (2, 3, 5, 5), (2,), {"dilation": 0}, "dilation should be greater than zero"),
    ("fold", (2, 13, 16), ((5, 5), 2), {},
     (r"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
     r"got input.size\(1\)=13 and kernel_size=\(2, 2\).")),
    ("fold", (2, 12, 15), ((5, 5), 2), {},
     (r"expected size of input's dimension 2 to match the calculated number of sliding blocks "
     r"4 \* 4 = 16, but got input.size\(2\)=15.")),
    ("fold", (2, 12, 16, 1), ((5, 5), 2), {}, r"Expected 2D or 3D \(batch mode\) tensor"),
    ("fold", (2, 12, 16), ((5,), 2), {}, "It is expected output_size equals to 2, but got size 1"),
]


@needs_torch
@pytest.mark.parametrize("name,shape,args,kw,msg", FOLD_ERRORS)
def test_fold_errors_match_torch(name, shape, args, kw, msg, device):
    import torch

    a = rand(*shape)
    with pytest.raises(RuntimeError, match=msg):
        getattr(F, name)(taimatsu.tensor(a, device=device), *args, **kw)
    with pytest.raises(RuntimeError, match=msg):
        getattr(torch.nn.functional, name)(torch.tensor(a), *args, **kw)


# ------------------------------------------------------------------ grid_sample / affine_grid
SAMPLING = [(d, mode, pm, ac) for d in (2, 3) for mode in ("bilinear", "nearest", "bicubic")
            for pm in ("zeros", "border", "reflection") for ac in (False, True)
            if not (d == 3 and mode == "bicubic")]


def _grid(d, seed=1, dtype=np.float32):
    # Beyond [-1, 1] on purpose: every padding mode is exercised.
    return rand(2, *(3, 4, 2)[:d], d, seed=seed, low=-1.3, high=1.3, dtype=dtype)


@needs_torch
@pytest.mark.parametrize("d,mode,pm,ac", SAMPLING)
def test_grid_sample_matches_torch(d, mode, pm, ac, device):
    x = rand(2, 3, *(4, 5, 3)[:d])
    kw = {"mode": mode, "padding_mode": pm, "align_corners": ac}
    if mode == "nearest":  # no gradient flows to a nearest grid: PyTorch returns zeros there
        g = _grid(d)
        compare(lambda T, x: T.nn.functional.grid_sample(x, T.tensor(g, device=x.device), **kw), x,
                device=device)
    else:
        compare(lambda T, x, g: T.nn.functional.grid_sample(x, g, **kw), x, _grid(d),
                device=device)
    compare(lambda T, x, g: T.nn.functional.grid_sample(x, g, **kw), x, _grid(d, seed=2),
            device=device, grad=False, non_contiguous=True)


@needs_torch
@pytest.mark.parametrize("si,sg", [((0, 3, 4, 4), (0, 5, 5, 2)), ((2, 0, 4, 4), (2, 5, 5, 2)),
                                   ((2, 3, 4, 4), (2, 0, 5, 2))])
def test_grid_sample_empty(si, sg, device):
    compare(lambda T, x, g: T.nn.functional.grid_sample(x, g, align_corners=False), rand(*si),
            rand(*sg), device=device)


@pytest.mark.parametrize("mode,pm", [("bilinear", "zeros"), ("bilinear", "reflection"),
                                     ("bicubic", "border"), ("nearest", "zeros")])
def test_grid_sample_gradcheck(mode, pm, device):
    g = _grid(2, dtype=np.float64)[:1, :2]
    if mode == "nearest":
        gradcheck(lambda x: F.grid_sample(x, taimatsu.tensor(g, device=device), mode=mode,
                                          padding_mode=pm, align_corners=False),
                  rand(1, 1, 4, 5), device=device)
    else:
        gradcheck(lambda x, g: F.grid_sample(x, g, mode=mode, padding_mode=pm,
                                             align_corners=True), rand(1, 1, 4, 5), g,
                  device=device)


def test_grid_sample_warns_without_align_corners(device):
    with pytest.warns(UserWarning, match="Default grid_sample and affine_grid behavior"):
        F.grid_sample(taimatsu.zeros(1, 1, 2, 2, device=device),
                      taimatsu.zeros(1, 1, 1, 2, device=device))


GRID_ERRORS = [
    ((2, 3, 4, 4), (3, 5, 5, 2), {}, RuntimeError,
     (r"grid_sampler\(\): expected grid and input to have same batch size, but got input with "
     r"sizes \[2, 3, 4, 4\] and grid with sizes \[3, 5, 5, 2\]")),
    ((2, 3, 4, 4), (2, 5, 5, 3), {}, RuntimeError,
     r"expected grid to have size 2 in last dimension, but got grid with sizes \[2, 5, 5, 3\]"),
    ((2, 3, 0, 4), (2, 5, 5, 2), {}, RuntimeError,
     (r"expected input to have non-empty spatial dimensions, but input has sizes \[2, 3, 0, 4\] "
     r"with dimension 2 being empty")),
    ((2, 3, 4, 4, 4), (2, 5, 5, 5, 3), {"mode": "bicubic"}, RuntimeError,
     r"grid_sampler\(\): bicubic interpolation only supports 4D input"),
    ((2, 3, 4, 4), (2, 5, 5, 2), {"mode": "foo"}, ValueError,
     "expected mode to be 'bilinear', 'nearest' or 'bicubic', but got: 'foo'"),
    ((2, 3, 4, 4), (2, 5, 5, 2), {"padding_mode": "foo"}, ValueError,
     "expected padding_mode to be 'zeros', 'border', or 'reflection', but got: 'foo'"),
]


@needs_torch
@pytest.mark.parametrize("si,sg,kw,exc,msg", GRID_ERRORS)
def test_grid_sample_errors_match_torch(si, sg, kw, exc, msg, device):
    import torch

    a, g = rand(*si), rand(*sg)
    with pytest.raises(exc, match=msg):
        F.grid_sample(taimatsu.tensor(a, device=device), taimatsu.tensor(g, device=device),
                      align_corners=False, **kw)
    with pytest.raises(exc, match=msg):
        torch.nn.functional.grid_sample(torch.tensor(a), torch.tensor(g), align_corners=False,
                                        **kw)


def test_grid_sample_device_mismatch_is_named():
    # Checked before any array work, so a CUDA-labelled shell tests it without a GPU.
    x = taimatsu.ones(1, 1, 2, 2)
    g = make(np.zeros((1, 2, 2, 2), np.float32), taimatsu.device("cuda"))
    with pytest.raises(RuntimeError, match=re.escape(
            "grid_sampler(): expected input and grid to be on same device, but input is on cpu "
            "and grid is on cuda:0")):
        F.grid_sample(x, g, align_corners=False)


@needs_torch
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 3, 4, 2), (2, 3, 1, 4)])
@pytest.mark.parametrize("ac", [False, True])
def test_affine_grid_matches_torch(size, ac, device):
    nd = len(size) - 2
    theta = rand(2, nd, nd + 1, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (unit-size grids with align_corners warn)
        compare(lambda T, t: T.nn.functional.affine_grid(t, size, align_corners=ac), theta,
                device=device)
        gradcheck(lambda t: F.affine_grid(t, size, align_corners=ac), theta, device=device)


@needs_torch
def test_affine_grid_then_grid_sample_matches_torch(device):
    theta = np.array([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.2]]] * 2, np.float32)

    def warp(T, x, t):
        grid = T.nn.functional.affine_grid(t, (2, 3, 6, 5), align_corners=False)
        return T.nn.functional.grid_sample(x, grid, align_corners=False)

    compare(warp, rand(2, 3, 4, 4), theta, device=device)


AFFINE_ERRORS = [
    ((2, 3, 3), (2, 3, 4, 5), ValueError,
     "Expected a batch of 2D affine matrices of shape Nx2x3 for size \\(2, 3, 4, 5\\)"),
    ((2, 3, 4), (2, 3, 4), NotImplementedError,
     (r"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
     r"respectively. Got size \(2, 3, 4\).")),
    ((2, 2, 3), (2, 3, 0, 5), ValueError,
     r"Expected non-zero, positive output size. Got \(2, 3, 0, 5\)"),
    ((2, 2, 3), (3, 3, 4, 5), RuntimeError,
     (r"Expected size for first two dimensions of batch2 tensor to be: \[3, 3\] but got: "
     r"\[2, 3\].")),
]


@needs_torch
@pytest.mark.parametrize("ts,size,exc,msg", AFFINE_ERRORS)
def test_affine_grid_errors_match_torch(ts, size, exc, msg, device):
    import torch

    t = rand(*ts)
    with pytest.raises(exc, match=msg):
        F.affine_grid(taimatsu.tensor(t, device=device), size, align_corners=False)
    with pytest.raises(exc, match=msg):
        torch.nn.functional.affine_grid(torch.tensor(t), size, align_corners=False)
    with pytest.raises(ValueError, match="Expected theta to have floating point type"):
        F.affine_grid(taimatsu.zeros(2, 2, 3, dtype=taimatsu.int64, device=device), size,
                      align_corners=False)
