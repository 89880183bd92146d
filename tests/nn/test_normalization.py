"""Normalization (batch, instance, group, layer, RMS, local response norms, normalize) against
PyTorch: functions across their options, modules from identical weights in train and eval mode,
state dicts both ways, the fused node against its composed fallback, gradcheck and bad input."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
import taimatsu.nn.functional as F
from taimatsu.ops.normalization import affine, standardize
from tests.helpers import compare, gradcheck, needs_torch, rand, to_np, torch

pytestmark = needs_torch


def _stats(lib, c, device="cpu", seed=3):
    """Running mean and variance of ``c`` channels (variance positive), fresh each call."""
    rm, rv = rand(c, seed=seed), rand(c, seed=seed + 1, low=0.5, high=2.0)
    if lib is taimatsu:
        return taimatsu.tensor(rm, device=device), taimatsu.tensor(rv, device=device)
    return torch.tensor(rm), torch.tensor(rv)


# ---------------------------------------------------------------------------- F.batch_norm
@pytest.mark.parametrize("shape", [(4, 3), (4, 3, 5), (2, 3, 2, 3), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(shape, training, device):
    seen = {}

    def fn(T, x, w, b):
        rm, rv = _stats(T, 3, device)
        out = T.nn.functional.batch_norm(x, rm, rv, w, b, training, 0.3, 1e-3)
        seen[T] = (to_np(rm), to_np(rv))
        return out

    compare(fn, rand(*shape), rand(3, seed=1), rand(3, seed=2), device=device)
    # the running stats moved exactly as PyTorch's (unbiased variance), or not at all in eval
    for ours, theirs in zip(seen[taimatsu], seen[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_without_affine_or_stats(training, device):
    x = rand(5, 3, 4)
    compare(lambda T, x: T.nn.functional.batch_norm(x, *_stats(T, 3, device), training=training),
            x, device=device)
    compare(lambda T, x, b: T.nn.functional.batch_norm(x, None, None, None, b, True), x,
            rand(3), device=device)


def test_batch_norm_non_contiguous_and_float64(device):
    fn = lambda T, x, w, b: T.nn.functional.batch_norm(x, None, None, w, b, True)
    compare(fn, rand(4, 3, 5), rand(3), rand(3), device=device, non_contiguous=True)
    compare(fn, rand(4, 3, 5, dtype=np.float64), rand(3, dtype=np.float64),
            rand(3, dtype=np.float64), device=device, rtol=1e-10, atol=1e-12)


def test_batch_norm_empty_batch_leaves_running_stats(device):
    rm, rv = _stats(taimatsu, 3, device)
    before = to_np(rm), to_np(rv)
    out = F.batch_norm(taimatsu.zeros(0, 3, device=device), rm, rv, training=True)
    assert tuple(out.shape) == (0, 3)
    np.testing.assert_array_equal(to_np(rm), before[0])
    np.testing.assert_array_equal(to_np(rv), before[1])


def test_half_precision_accumulates_in_float32(device):
    """float16 statistics are accumulated in float32 (as PyTorch does): 16384 squares of ~2
    sum past float16's 65504, which would make every variance inf."""
    x = (np.random.default_rng(0).standard_normal((64, 2, 16, 16)) * 2).astype(np.float16)
    compare(lambda T, x: T.nn.functional.batch_norm(x, None, None, training=True), x,
            device=device, grad=False, rtol=1e-2, atol=2e-3)
    compare(lambda T, x: T.nn.functional.layer_norm(x, (16,)), x, device=device, grad=False,
            rtol=1e-2, atol=2e-3)


# ---------------------------------------------------------------------------- F.instance_norm
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 2, 3), (1, 3, 2, 2, 2)])
def test_instance_norm_matches_torch(shape, device):
    compare(lambda T, x, w, b: T.nn.functional.instance_norm(x, weight=w, bias=b), rand(*shape),
            rand(3, seed=1), rand(3, seed=2), device=device)
    compare(lambda T, x: T.nn.functional.instance_norm(x, eps=0.1), rand(*shape),
            device=device, non_contiguous=True)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_running_stats(use_input_stats, device):
    seen = {}

    def fn(T, x, w):
        rm, rv = _stats(T, 3, device)
        out = T.nn.functional.instance_norm(x, rm, rv, w, None, use_input_stats, 0.2)
        seen[T] = (to_np(rm), to_np(rv))
        return out

    compare(fn, rand(4, 3, 6), rand(3), device=device)
    for ours, theirs in zip(seen[taimatsu], seen[torch]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------- F.group_norm
@pytest.mark.parametrize("shape,groups", [((2, 8), 2), ((2, 6, 4), 2), ((3, 6, 2, 3), 6),
                                          ((2, 4, 2, 2, 2), 1)])
def test_group_norm_matches_torch(shape, groups, device):
    c = shape[1]
    compare(lambda T, x, w, b: T.nn.functional.group_norm(x, groups, w, b, 1e-3), rand(*shape),
            rand(c, seed=1), rand(c, seed=2), device=device)
    compare(lambda T, x: T.nn.functional.group_norm(x, groups), rand(*shape), device=device,
            non_contiguous=True)


# ---------------------------------------------------------------------------- F.layer_norm / rms
@pytest.mark.parametrize("normalized_shape", [(5,), (4, 5), [3, 4, 5]])
def test_layer_norm_matches_torch(normalized_shape, device):
    ns = tuple(normalized_shape)
    x = rand(2, 3, 4, 5)
    compare(lambda T, x, w, b: T.nn.functional.layer_norm(x, normalized_shape, w, b), x,
            rand(*ns, seed=1), rand(*ns, seed=2), device=device)
    compare(lambda T, x: T.nn.functional.layer_norm(x, normalized_shape, eps=0.1), x,
            device=device, non_contiguous=True)


def test_layer_norm_weight_only_bias_only_empty_and_float64(device):
    compare(lambda T, x, w: T.nn.functional.layer_norm(x, (4,), w), rand(3, 4), rand(4),
            device=device)
    compare(lambda T, x, b: T.nn.functional.layer_norm(x, (4,), None, b), rand(3, 4), rand(4),
            device=device)
    compare(lambda T, x: T.nn.functional.layer_norm(x, (4,)), rand(0, 4), device=device)
    compare(lambda T, x: T.nn.functional.layer_norm(x, (4,)), rand(4), device=device)
    compare(lambda T, x, w: T.nn.functional.layer_norm(x, (4,), w),
            rand(3, 4, dtype=np.float64), rand(4, dtype=np.float64), device=device, rtol=1e-10,
            atol=1e-12)


@pytest.mark.parametrize("eps", [None, 1e-2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rms_norm_matches_torch(eps, dtype, device):
    x = rand(2, 3, 4, dtype=dtype) * 1e-3  # small values, where eps matters
    compare(lambda T, x, w: T.nn.functional.rms_norm(x, (3, 4), w, eps), x,
            rand(3, 4, dtype=dtype), device=device)
    compare(lambda T, x: T.nn.functional.rms_norm(x, (4,), eps=eps), x, device=device,
            non_contiguous=True)


# ---------------------------------------------------------------------------- LRN, normalize
@pytest.mark.parametrize("shape,size", [((2, 6, 4), 3), ((2, 5, 3, 2), 4), ((1, 4, 2, 2, 3), 2),
                                        ((2, 3, 4), 7)])
def test_local_response_norm_matches_torch(shape, size, device):
    compare(lambda T, x: T.nn.functional.local_response_norm(x, size, 0.3, 0.6, 1.5),
            rand(*shape), device=device)


def test_local_response_norm_empty_and_non_contiguous(device):
    x = taimatsu.zeros(0, 3, 4, device=device)
    assert F.local_response_norm(x, 2) is x
    compare(lambda T, x: T.nn.functional.local_response_norm(x, 2), rand(2, 4, 3), device=device,
            non_contiguous=True)


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, -1), (3.0, 0)])
def test_normalize_matches_torch(p, dim, device):
    compare(lambda T, x: T.nn.functional.normalize(x, p, dim), rand(3, 4, 2), device=device)
    compare(lambda T, x: T.nn.functional.normalize(x, p, dim, eps=10.0), rand(3, 4, 2),
            device=device, non_contiguous=True)


def test_normalize_out_and_zero_rows(device):
    x = taimatsu.tensor([[0.0, 0.0], [3.0, 4.0]], device=device)
    out = taimatsu.empty(2, 2, device=device)
    assert F.normalize(x, out=out) is out
    np.testing.assert_allclose(to_np(out), [[0, 0], [0.6, 0.8]], rtol=1e-6)


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_cross_map_lrn2d_forward_matches_torch(size, device):
    compare(lambda T, x: T.nn.CrossMapLRN2d(size, 0.5, 0.75, 1.5)(x),
            rand(2, 7, 3, 2, dtype=np.float64), device=device, grad=False, rtol=1e-10)


# ---------------------------------------------------------------------------- gradcheck
GRADCHECKS = {
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
                         ((4, 2, 3), (2,), (2,))),
    "batch_norm_eval": (lambda x, w, b: F.batch_norm(
        x, taimatsu.zeros(2, dtype=x.dtype, device=x.device),
        taimatsu.ones(2, dtype=x.dtype, device=x.device) * 2, w, b),
                        ((4, 2, 3), (2,), (2,))),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), ((2, 2, 4), (2,), (2,))),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), ((2, 4, 3), (4,), (4,))),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (2, 3), w, b), ((3, 2, 3), (2, 3), (2, 3))),
    "rms_norm": (lambda x, w: F.rms_norm(x, (3,), w), ((2, 3), (3,))),
    "local_response_norm": (lambda x: F.local_response_norm(x, 3, 0.5, 0.75, 1.0), ((2, 4, 3),)),
    "normalize": (lambda x: F.normalize(x, 2.0, 1), ((2, 3, 2),)),
    "cross_map_lrn2d": (lambda x: tnn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)(x), ((1, 5, 2, 2),)),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck_and_gradgradcheck(name, device):
    fn, shapes = GRADCHECKS[name]
    arrays = [rand(*s, seed=i, low=0.5 if i else -1.0, high=1.5 if i else 1.0,
                   dtype=np.float64) for i, s in enumerate(shapes)]
    gradcheck(fn, *arrays, device=device)


# ---------------------------------------------------------------------------- fused vs composed
@pytest.mark.parametrize("centered", [True, False])
@pytest.mark.parametrize("axes,wshape", [((0, 2), (3, 1)), ((2,), (4,)), ((1, 2), (3, 4))])
def test_fused_node_matches_composed_ops(axes, wshape, centered, device):
    """The fused node (array backward; with create_graph, its tensor-op fallback) gives the
    values and first and second derivatives of the same norm composed from ordinary ops."""
    from taimatsu.ops.normalization import NativeNorm

    x0, w0, b0, g0 = rand(2, 3, 4), rand(*wshape, seed=1), rand(*wshape, seed=2), rand(2, 3, 4,
                                                                                        seed=3)

    def leaves():
        return [taimatsu.tensor(a, device=device, requires_grad=True) for a in (x0, w0, b0)]

    g = taimatsu.tensor(g0, device=device)
    results = []
    for fused, create_graph in ((True, False), (True, True), (False, True)):
        x, w, b = leaves()
        if fused:
            y = NativeNorm.apply(x, w, b, axes, wshape, 1e-5, centered, None)
        else:
            y = affine(standardize(x, axes, 1e-5, centered)[0], w, b)
        grads = taimatsu.autograd.grad(y, (x, w, b), g, create_graph=create_graph)
        second = None
        if create_graph:  # a scalar of the first derivatives, differentiated once more
            s = sum((gi * gi).sum() for gi in grads)
            second = taimatsu.autograd.grad(s, (x, w), allow_unused=True)  # (b: no 2nd order)
        results.append((to_np(y), [to_np(t) for t in grads],
                        None if second is None else [to_np(t) for t in second]))
    ref_y, ref_g, ref_gg = results[2]
    for y, grads, second in results[:2]:
        np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-6)
        for a, r in zip(grads, ref_g):
            np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)
        if second is not None:
            for a, r in zip(second, ref_gg):
                np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["layer_norm", "batch_norm", "group_norm"])
def test_second_derivatives_match_torch(name, device):
    fns = {
        "layer_norm": lambda T, x, w, b: T.nn.functional.layer_norm(x, (4,), w, b),
        "batch_norm": lambda T, x, w, b: T.nn.functional.batch_norm(x, None, None, w, b, True),
        "group_norm": lambda T, x, w, b: T.nn.functional.group_norm(x, 2, w, b),
    }
    x0, w0, b0 = rand(3, 4, 4, dtype=np.float64), rand(4, seed=1, dtype=np.float64), \
        rand(4, seed=2, dtype=np.float64)
    out = {}
    for T in (taimatsu, torch):
        mk = (lambda a: taimatsu.tensor(a, device=device, requires_grad=True)) if T is taimatsu \
            else (lambda a: torch.tensor(a, requires_grad=True))
        x, w, b = mk(x0), mk(w0), mk(b0)
        y = fns[name](T, x, w, b)
        gx, gw = T.autograd.grad((y * y.detach().sin()).sum(), (x, w), create_graph=True)
        out[T] = [to_np(t) for t in T.autograd.grad((gx * gx).sum() + (gw * gw).sum(), (x, w))]
    for a, b in zip(out[taimatsu], out[torch]):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------------------- modules
def _copy_state(src, dst_lib, device="cpu"):
    """``src``'s state dict as ``dst_lib`` tensors (through NumPy), key by key."""
    if dst_lib is taimatsu:
        return {k: taimatsu.tensor(v.detach().numpy(), device=device)
                for k, v in src.state_dict().items()}
    return {k: torch.tensor(to_np(v)) for k, v in src.state_dict().items()}


MODULES = {
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(3), (5, 3)),
    "BatchNorm1d_3d_momentum_none": (lambda nn: nn.BatchNorm1d(3, momentum=None), (4, 3, 5)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3, eps=1e-3, momentum=0.5), (2, 3, 2, 3)),
    "BatchNorm2d_no_affine": (lambda nn: nn.BatchNorm2d(3, affine=False), (2, 3, 2, 2)),
    "BatchNorm2d_no_bias": (lambda nn: nn.BatchNorm2d(3, bias=False), (2, 3, 2, 2)),
    "BatchNorm2d_no_stats": (lambda nn: nn.BatchNorm2d(3, track_running_stats=False),
                             (2, 3, 2, 2)),
    "BatchNorm3d": (lambda nn: nn.BatchNorm3d(3), (2, 3, 2, 2, 2)),
    "SyncBatchNorm": (lambda nn: nn.SyncBatchNorm(3), (2, 3, 2, 2)),
    "InstanceNorm1d": (lambda nn: nn.InstanceNorm1d(3), (2, 3, 5)),
    "InstanceNorm1d_unbatched": (lambda nn: nn.InstanceNorm1d(3, affine=True), (3, 5)),
    "InstanceNorm2d_stats": (lambda nn: nn.InstanceNorm2d(3, affine=True,
                                                          track_running_stats=True),
                             (2, 3, 2, 3)),
    "InstanceNorm3d": (lambda nn: nn.InstanceNorm3d(3, affine=True), (3, 2, 2, 2)),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), (3, 4, 5)),
    "GroupNorm_no_affine": (lambda nn: nn.GroupNorm(4, 4, affine=False), (3, 4, 2, 2)),
    "GroupNorm_no_bias": (lambda nn: nn.GroupNorm(1, 4, bias=False), (3, 4)),
    "LayerNorm": (lambda nn: nn.LayerNorm(4), (2, 3, 4)),
    "LayerNorm_2d_no_bias": (lambda nn: nn.LayerNorm((3, 4), bias=False), (2, 3, 4)),
    "LayerNorm_no_affine": (lambda nn: nn.LayerNorm([4], 1e-3, False), (2, 4)),
    "RMSNorm": (lambda nn: nn.RMSNorm((3, 4)), (2, 3, 4)),
    "RMSNorm_eps_no_affine": (lambda nn: nn.RMSNorm(4, 1e-3, False), (2, 4)),
    "LocalResponseNorm": (lambda nn: nn.LocalResponseNorm(3, 0.1, 0.5, 2.0), (2, 5, 3)),
    "CrossMapLRN2d": (lambda nn: nn.CrossMapLRN2d(3, 0.1, 0.5, 2.0), (2, 5, 3, 2)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch_train_then_eval(name, device):
    """Identical weights (random, copied by key), two training steps then eval: outputs, input
    and parameter gradients and every buffer equal PyTorch's; and the state dicts copy back."""
    make, shape = MODULES[name]
    pm, tm = make(torch.nn), make(tnn)
    assert repr(tm) == repr(pm)
    with torch.no_grad():
        for v in pm.state_dict().values():
            if v.dtype.is_floating_point:
                v.uniform_(0.5, 1.5)
    tm.load_state_dict(_copy_state(pm, taimatsu, device))
    tm.to(device)
    for step, mode in enumerate(("train", "train", "eval")):
        pm.train(mode == "train")
        tm.train(mode == "train")
        x = rand(*shape, seed=10 + step)
        xt = taimatsu.tensor(x, device=device, requires_grad=True)
        xp = torch.tensor(x, requires_grad=True)
        yt, yp = tm(xt), pm(xp)
        np.testing.assert_allclose(to_np(yt), to_np(yp), rtol=1e-4, atol=1e-5)
        g = rand(*shape, seed=20 + step)
        yt.backward(taimatsu.tensor(g, device=device))
        yp.backward(torch.tensor(g))
        if name != "CrossMapLRN2d":  # (PyTorch's backward disagrees with its own forward)
            np.testing.assert_allclose(to_np(xt.grad), to_np(xp.grad), rtol=1e-4, atol=1e-5)
            for (k, a), (_, b) in zip(tm.named_parameters(), pm.named_parameters()):
                np.testing.assert_allclose(to_np(a.grad), to_np(b.grad), rtol=1e-4, atol=1e-5,
                                           err_msg=k)
        ts, ps = tm.state_dict(), pm.state_dict()
        assert list(ts) == list(ps)
        for k in ps:
            np.testing.assert_allclose(to_np(ts[k]), to_np(ps[k]), rtol=1e-5, atol=1e-6,
                                       err_msg=k)
    fresh = make(torch.nn)
    fresh.load_state_dict(_copy_state(tm, torch))
    for k, v in fresh.state_dict().items():
        np.testing.assert_array_equal(to_np(v), to_np(tm.state_dict()[k]), err_msg=k)


def test_batch_norm_loads_pytorch_state_dict_with_num_batches_tracked(device):
    pm = torch.nn.BatchNorm2d(4)
    for _ in range(3):
        pm(torch.randn(2, 4, 3, 3))
    tm = tnn.BatchNorm2d(4).to(device)
    tm.load_state_dict(_copy_state(pm, taimatsu, device))
    assert tm.num_batches_tracked.dtype == taimatsu.int64
    assert int(tm.num_batches_tracked) == 3
    tm.eval()
    pm.eval()
    x = rand(2, 4, 3, 3)
    np.testing.assert_allclose(to_np(tm(taimatsu.tensor(x, device=device))),
                               to_np(pm(torch.tensor(x))), rtol=1e-5, atol=1e-6)


def test_batch_norm_loads_old_state_dict_without_num_batches_tracked():
    old = _copy_state(torch.nn.BatchNorm1d(3), taimatsu)
    del old["num_batches_tracked"]
    old = taimatsu.nn.modules.module.OrderedDict(old)
    old._metadata = {"": {"version": 1}}
    m = tnn.BatchNorm1d(3)
    m.num_batches_tracked.fill_(5)
    m.load_state_dict(old)  # strict: the missing counter is not an error for a version-1 dict
    assert int(m.num_batches_tracked) == 5
    old._metadata = {"": {"version": 2}}  # a current dict must have it
    with pytest.raises(RuntimeError, match="Missing key.*num_batches_tracked"):
        tnn.BatchNorm1d(3).load_state_dict(old)


def test_batch_norm_momentum_none_is_cumulative_average(device):
    m = tnn.BatchNorm1d(2, momentum=None).to(device)
    xs = [rand(6, 2, seed=s) for s in range(3)]
    for x in xs:
        m(taimatsu.tensor(x, device=device))
    np.testing.assert_allclose(to_np(m.running_mean), np.mean([x.mean(0) for x in xs], 0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_np(m.running_var), np.mean([x.var(0, ddof=1) for x in xs], 0),
                               rtol=1e-5, atol=1e-6)
    assert int(m.num_batches_tracked) == 3


def test_batch_norm_eval_without_running_stats_uses_batch_stats(device):
    m = tnn.BatchNorm1d(3, track_running_stats=False).to(device).eval()
    x = rand(5, 3)
    y = to_np(m(taimatsu.tensor(x, device=device)))
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-4,
                               atol=1e-5)
    assert m.running_mean is None and m.num_batches_tracked is None


def test_reset_running_stats_and_parameters():
    m = tnn.BatchNorm1d(2)
    m(taimatsu.randn(4, 2))
    with taimatsu.no_grad():
        m.weight.fill_(3.0)
    m.reset_parameters()
    np.testing.assert_array_equal(to_np(m.running_mean), [0, 0])
    np.testing.assert_array_equal(to_np(m.running_var), [1, 1])
    np.testing.assert_array_equal(to_np(m.weight), [1, 1])
    assert int(m.num_batches_tracked) == 0


def test_module_dtype_and_device_arguments(device):
    for m in (tnn.BatchNorm2d(3, dtype=taimatsu.float64, device=device),
              tnn.LayerNorm(3, dtype=taimatsu.float64, device=device),
              tnn.GroupNorm(1, 3, dtype=taimatsu.float64, device=device)):
        assert m.weight.dtype == taimatsu.float64
        assert m.weight.device.type == device
    m = tnn.BatchNorm1d(3, dtype=taimatsu.float64)
    assert m.running_mean.dtype == taimatsu.float64
    assert m.num_batches_tracked.dtype == taimatsu.int64


# ---------------------------------------------------------------------------- SyncBatchNorm
def test_sync_batch_norm_acts_as_batch_norm(device):
    x = rand(3, 2, 4, 2, 2)
    sb, bn = tnn.SyncBatchNorm(2).to(device), tnn.BatchNorm3d(2).to(device)
    np.testing.assert_allclose(to_np(sb(taimatsu.tensor(x, device=device))),
                               to_np(bn(taimatsu.tensor(x, device=device))), rtol=1e-6)
    np.testing.assert_allclose(to_np(sb.running_var), to_np(bn.running_var), rtol=1e-6)
    with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input\)"):
        sb(taimatsu.ones(3, device=device))
    with pytest.raises(ValueError, match="number of input channels should be non-zero"):
        tnn.SyncBatchNorm(0)(taimatsu.ones(2, 0))


def test_convert_sync_batchnorm_keeps_parameters_and_buffers():
    model = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4, momentum=0.2),
                           tnn.Sequential(tnn.BatchNorm2d(4, affine=False)))
    model[1](taimatsu.randn(5, 4))
    model.eval()
    bn = model[1]
    conv = tnn.SyncBatchNorm.convert_sync_batchnorm(model, process_group="group")
    assert type(conv[1]) is tnn.SyncBatchNorm and type(conv[2][0]) is tnn.SyncBatchNorm
    assert type(conv[0]) is tnn.Linear
    assert conv[1].weight is bn.weight and conv[1].running_mean is bn.running_mean
    assert conv[1].momentum == 0.2 and conv[1].process_group == "group"
    assert not conv[1].training and conv[2][0].weight is None
    assert list(conv.state_dict()) == list(model.state_dict())


# ---------------------------------------------------------------------------- lazy
@pytest.mark.parametrize("lazy,eager,shape", [
    ("LazyBatchNorm1d", "BatchNorm1d", (4, 3)), ("LazyBatchNorm2d", "BatchNorm2d", (2, 3, 2, 2)),
    ("LazyBatchNorm3d", "BatchNorm3d", (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", "InstanceNorm1d", (2, 3, 4)),
    ("LazyInstanceNorm2d", "InstanceNorm2d", (2, 3, 2, 2)),
    ("LazyInstanceNorm3d", "InstanceNorm3d", (2, 3, 2, 2, 2)),
])
def test_lazy_norms_infer_num_features(lazy, eager, shape, device):
    tm, pm = getattr(tnn, lazy)().to(device), getattr(torch.nn, lazy)()
    assert tm.has_uninitialized_params()
    x = rand(*shape)
    yt, yp = tm(taimatsu.tensor(x, device=device)), pm(torch.tensor(x))
    assert type(tm) is getattr(tnn, eager) and tm.num_features == 3
    np.testing.assert_allclose(to_np(yt), to_np(yp), rtol=1e-4, atol=1e-5)
    assert list(tm.state_dict()) == list(pm.state_dict())
    for k, v in pm.state_dict().items():
        np.testing.assert_allclose(to_np(tm.state_dict()[k]), to_np(v), rtol=1e-5, err_msg=k)


def test_lazy_norm_buffers_stay_placeholders_through_to(device):
    # (a converted placeholder must still materialize, on the device and dtype it was given)
    tm, pm = tnn.LazyBatchNorm1d().to(device).double(), torch.nn.LazyBatchNorm1d().double()
    assert type(tm.running_mean).__name__ == type(pm.running_mean).__name__ == (
        "UninitializedBuffer")
    x = rand(4, 3).astype(np.float64)
    tm(taimatsu.tensor(x, device=device)), pm(torch.tensor(x))
    for k, v in pm.state_dict().items():
        t = tm.state_dict()[k]
        assert type(t) is taimatsu.Tensor and t.device == taimatsu.device(device), k
        np.testing.assert_allclose(to_np(t), to_np(v), rtol=1e-7, err_msg=k)
    assert tm.running_var.dtype == taimatsu.float64


def test_lazy_instance_norm_reads_channels_of_an_unbatched_input():
    # (PyTorch reads dim 1, the length here, and then refuses its own input)
    m = tnn.LazyInstanceNorm1d()
    assert tuple(m(taimatsu.randn(3, 5)).shape) == (3, 5)
    assert m.num_features == 3 and tuple(m.running_mean.shape) == (3,)


def test_lazy_batch_norm_loads_a_state_dict_before_its_first_call():
    src = tnn.BatchNorm2d(3)
    src(taimatsu.randn(2, 3, 2, 2))
    m = tnn.LazyBatchNorm2d()
    m.load_state_dict(src.state_dict())
    for k, v in src.state_dict().items():
        np.testing.assert_array_equal(to_np(m.state_dict()[k]), to_np(v), err_msg=k)


# ---------------------------------------------------------------------------- bad input
def _snapshot(m):
    return {k: to_np(v).copy() for k, v in m.state_dict().items()}


def _unchanged(m, before):
    after = _snapshot(m)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)


def test_batch_norm_one_value_per_channel_in_training(device):
    m = tnn.BatchNorm1d(3).to(device)
    before = _snapshot(m)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, "
                                         r"got input size .*\[1, 3\]"):
        m(taimatsu.ones(1, 3, device=device))
    _unchanged(m, before)
    m.eval()
    assert tuple(m(taimatsu.ones(1, 3, device=device)).shape) == (1, 3)  # fine in eval mode
    with pytest.raises(ValueError, match=r"more than 1 value.*\[1, 3, 1, 1\]"):
        F.batch_norm(taimatsu.ones(1, 3, 1, 1), None, None, training=True)


def test_batch_norm_wrong_features_and_rank(device):
    m = tnn.BatchNorm2d(3).to(device)
    before = _snapshot(m)
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        m(taimatsu.ones(2, 4, 2, 2, device=device))
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        m(taimatsu.ones(2, 3, 2, device=device))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 4D input\)"):
        tnn.BatchNorm1d(3)(taimatsu.ones(2, 3, 2, 2))
    with pytest.raises(ValueError, match=r"expected 5D input \(got 4D input\)"):
        tnn.BatchNorm3d(3)(taimatsu.ones(2, 3, 2, 2))
    _unchanged(m, before)
    with pytest.raises(RuntimeError, match="weight should contain 4 elements not 3"):
        tnn.BatchNorm1d(3, track_running_stats=False)(taimatsu.ones(2, 4))


def test_batch_norm_functional_argument_errors():
    x = taimatsu.ones(2, 3)
    with pytest.raises(ValueError, match="must either both be None or neither be None"):
        F.batch_norm(x, taimatsu.zeros(3), None, training=True)
    with pytest.raises(RuntimeError, match="running_mean must be defined in evaluation mode"):
        F.batch_norm(x, None, None)
    with pytest.raises(RuntimeError, match="bias should contain 3 elements not 2"):
        F.batch_norm(x, None, None, None, taimatsu.ones(2), True)
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.batch_norm(taimatsu.ones(4), None, None, training=True)
    rm = taimatsu.zeros(3)
    with pytest.raises(RuntimeError, match="mixed dtype.*scalar type of Float"):
        F.batch_norm(x, rm, taimatsu.ones(3), taimatsu.ones(3, dtype=taimatsu.float64),
                     training=True)
    np.testing.assert_array_equal(to_np(rm), [0, 0, 0])


def test_layer_norm_and_rms_norm_shape_errors():
    x = taimatsu.ones(2, 3)
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[4\], expected input with "
                                           r"shape \[\*, 4\], but got input of size\[2, 3\]"):
        F.layer_norm(x, (4,))
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[2, 3, 4\].*\[\*, 2, 3, 4\]"):
        tnn.LayerNorm((2, 3, 4))(x)
    with pytest.raises(RuntimeError, match=r"Expected weight to be of same shape as "
                                           r"normalized_shape, but got weight of shape \[4\] "
                                           r"and normalized_shape = \[3\]"):
        F.layer_norm(x, (3,), taimatsu.ones(4))
    with pytest.raises(RuntimeError, match=r"Expected bias to be of same shape.*bias of shape "
                                           r"\[4\]"):
        F.layer_norm(x, 3, None, taimatsu.ones(4))
    with pytest.raises(RuntimeError, match=r"Given normalized_shape=\[2, 4\], expected input "
                                           r"with shape \[\*2, 4\]"):
        F.rms_norm(x, (2, 4))
    with pytest.raises(RuntimeError, match=r"weight of shape \[2, 3\] and normalized_shape = "
                                           r"\[3\]"):
        F.rms_norm(x, (3,), taimatsu.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"Expected normalized_shape to be at least "
                                           r"1-dimensional.*normalized_shape = \[\]"):
        F.layer_norm(x, ())


def test_group_norm_instance_norm_lrn_errors():
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups "
                                         r"\(4\)"):
        tnn.GroupNorm(4, 6)
    with pytest.raises(RuntimeError, match=r"divisible by num_groups, but got input of shape "
                                           r"\[2, 6, 3\] and num_groups=4"):
        F.group_norm(taimatsu.ones(2, 6, 3), 4)
    with pytest.raises(RuntimeError, match=r"Expected weight to be a vector of size equal to the "
                                           r"number of channels in input, but got weight of "
                                           r"shape \[5\] and input of shape \[2, 6, 3\]"):
        F.group_norm(taimatsu.ones(2, 6, 3), 3, taimatsu.ones(5))
    with pytest.raises(RuntimeError, match="Expected at least 2 dimensions for input tensor but "
                                           "received 1"):
        F.group_norm(taimatsu.ones(6), 3)
    with pytest.raises(ValueError, match=r"Expected more than 1 spatial element when training, "
                                         r"got input size .*\[2, 3, 1\]"):
        tnn.InstanceNorm1d(3)(taimatsu.ones(2, 3, 1))
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features "
                                         r"\(3\), but got: 4\."):
        tnn.InstanceNorm1d(3, affine=True)(taimatsu.ones(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        tnn.InstanceNorm1d(3)(taimatsu.randn(2, 4, 5))
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        tnn.InstanceNorm2d(3)(taimatsu.ones(3, 4))
    with pytest.raises(RuntimeError, match="weight should contain 6 elements not 8"):
        F.instance_norm(taimatsu.ones(2, 3, 4), weight=taimatsu.ones(4))
    with pytest.raises(RuntimeError, match="Expected running_mean and running_var to be defined"):
        F.instance_norm(taimatsu.ones(2, 3, 4), use_input_stats=False)
    with pytest.raises(ValueError, match=r"Expected 3D or higher dimensionality\s+input \(got 2 "
                                         r"dimensions\)"):
        F.local_response_norm(taimatsu.ones(2, 3), 2)
    with pytest.raises(ValueError, match="CrossMapLRN2d: Expected input to be 4D, got 3D"):
        tnn.CrossMapLRN2d(3)(taimatsu.ones(2, 3, 4))


def test_instance_norm_with_running_stats_errors_leave_stats():
    m = tnn.InstanceNorm1d(3, affine=True, track_running_stats=True)
    before = _snapshot(m)
    for bad in (taimatsu.ones(2, 3, 1), taimatsu.ones(2, 4, 5)):
        with pytest.raises(ValueError):
            m(bad)
    _unchanged(m, before)


def test_saved_input_modified_in_place_is_detected():
    x = taimatsu.randn(3, 4, requires_grad=True)
    h = x * 1
    y = F.layer_norm(h, (4,))
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_no_grad_forward_records_nothing(device):
    x = taimatsu.randn(3, 4, device=device, requires_grad=True)
    with taimatsu.no_grad():
        y = F.layer_norm(x, (4,))
    assert y.grad_fn is None and not y.requires_grad
    y = F.layer_norm(x, (4,))
    assert y.grad_fn.name() == "NativeLayerNormBackward0"  # PyTorch's node names
    assert F.batch_norm(x, None, None, training=True).grad_fn.name() == \
        "NativeBatchNormBackward0"
