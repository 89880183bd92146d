"""nn.Module: registration, iteration names, state_dict / load_state_dict, conversion, hooks and
printing, checked against PyTorch where PyTorch defines the answer."""
from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import taimatsu
from taimatsu import nn
from tests.helpers import needs_torch, to_np, torch

# ---------------------------------------------------------------------------- shared models


def build(lib, device="cpu"):
    """The same small architecture in taimatsu or torch, with identical weights.

    Covers: parameters (one absent), persistent and non-persistent buffers, an integer buffer,
    nested children, a shared parameter, and an attribute named ``self``.
    """

    class Affine(lib.nn.Module):
        def __init__(self, n_in, n_out, bias=True):
            super().__init__()
            self.n_in, self.n_out = n_in, n_out
            rng = np.random.default_rng(n_in * 10 + n_out)
            w = rng.standard_normal((n_out, n_in)).astype(np.float32)
            self.weight = lib.nn.Parameter(lib.tensor(w, device=device))
            if bias:
                self.bias = lib.nn.Parameter(lib.zeros(n_out, device=device))
            else:
                self.register_parameter("bias", None)
            self.register_buffer("steps", lib.zeros((), dtype=lib.int64, device=device))

        def forward(self, x):
            y = x.matmul(self.weight.t())
            return y if self.bias is None else y + self.bias

        def extra_repr(self):
            return f"n_in={self.n_in}, n_out={self.n_out}, bias={self.bias is not None}"

    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.self = Affine(4, 3)
            self.other = Affine(3, 4, bias=False)
            self.register_buffer("scale", lib.ones(4, device=device))
            self.register_buffer("cache", lib.zeros(2, device=device), persistent=False)

        def forward(self, x):
            return self.other(self.self(x)) * self.scale

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = Block()
            self.layer2 = Block()
            self.layer2.other.weight = self.layer1.other.weight  # tied weights
            self.head = Affine(4, 2)

        def forward(self, x):
            return self.head(self.layer2(self.layer1(x)))

    return Net()


def both():
    return build(taimatsu), build(torch)


def names_shapes(items):
    return [(k, tuple(v.shape)) for k, v in items]


# ---------------------------------------------------------------------------- registration
def test_setattr_registers_each_kind():
    m = nn.Module()
    p = nn.Parameter(taimatsu.ones(2))
    m.w = p
    m.child = nn.Module()
    m.register_buffer("b", taimatsu.zeros(3))
    m.plain = 5
    assert m._parameters == {"w": p} and m.w is p
    assert list(m._modules) == ["child"] and list(m._buffers) == ["b"]
    assert "plain" in m.__dict__ and "w" not in m.__dict__
    m.b = taimatsu.ones(3)  # assigning a tensor to a buffer name replaces the buffer
    assert m._buffers["b"].tolist() == [1.0, 1.0, 1.0]


def test_buffer_class_registers_buffer():
    m = nn.Module()
    m.b = nn.Buffer(taimatsu.ones(2), persistent=False)
    assert type(m.b) is taimatsu.Tensor
    assert "b" in m._buffers and "b" in m._non_persistent_buffers_set
    assert list(m.state_dict()) == []


def test_reassign_moves_between_kinds():
    m = nn.Module()
    m.x = nn.Parameter(taimatsu.ones(1))
    m.x = None  # a parameter slot may hold None
    assert "x" in m._parameters and m.x is None
    m.y = 3
    m.y = nn.Module()  # a plain attribute turned into a child
    assert "y" not in m.__dict__ and "y" in m._modules
    m.y = nn.Parameter(taimatsu.ones(1))
    assert "y" not in m._modules and "y" in m._parameters


def test_assign_wrong_type_to_registered_name():
    m = nn.Module()
    m.w = nn.Parameter(taimatsu.ones(2))
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' as parameter 'w' "
                                        r"\(torch.nn.Parameter or None expected\)"):
        m.w = taimatsu.ones(2)
    m.c = nn.Module()
    with pytest.raises(TypeError, match="as child module 'c'"):
        m.c = 3
    m.register_buffer("b", None)
    with pytest.raises(TypeError, match="as buffer 'b'"):
        m.b = 1.5


def test_register_parameter_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match=r"cannot assign 'torch.FloatTensor' object to parameter "
                                        r"'w' \(torch.nn.Parameter or None required\)"):
        m.register_parameter("w", taimatsu.ones(2))
    with pytest.raises(KeyError, match=r'parameter name can.+t contain "\."'):
        m.register_parameter("a.b", nn.Parameter(taimatsu.ones(1)))
    with pytest.raises(KeyError, match=r"can.+t be empty"):
        m.register_parameter("", nn.Parameter(taimatsu.ones(1)))
    with pytest.raises(TypeError, match="parameter name should be a string. Got int"):
        m.register_parameter(1, None)
    with pytest.raises(KeyError, match="attribute 'train' already exists"):
        m.register_parameter("train", None)
    assert m._parameters == {}


def test_register_parameter_non_leaf():
    from taimatsu._tensor import _rewrap  # a Parameter-typed non-leaf, as as_subclass would give

    m = nn.Module()
    p = nn.Parameter(taimatsu.ones(2))
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor to parameter 'w'"):
        m.register_parameter("w", _rewrap(p * 2, nn.Parameter))


def test_register_buffer_and_module_errors():
    m = nn.Module()
    with pytest.raises(TypeError, match="cannot assign 'int' object to buffer 'b'"):
        m.register_buffer("b", 3)
    with pytest.raises(KeyError, match=r'buffer name can.+t contain "\."'):
        m.register_buffer("a.b", taimatsu.ones(1))
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("c", 3)
    with pytest.raises(KeyError, match=r'module name can.+t contain "\.", got: a\.b'):
        m.add_module("a.b", nn.Module())
    m.register_module("c", nn.Module())
    assert "c" in m._modules


def test_assign_before_init():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(taimatsu.ones(1))

    with pytest.raises(AttributeError, match="cannot assign parameters before Module.__init__"):
        Bad()


def test_init_rejects_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
        nn.Module(foo=1)


def test_getattr_and_delattr():
    m = nn.Module()
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        _ = m.nope
    m.w = nn.Parameter(taimatsu.ones(1))
    m.register_buffer("b", taimatsu.ones(1), persistent=False)
    m.c = nn.Module()
    del m.w, m.b, m.c
    assert not m._parameters and not m._buffers and not m._modules
    assert not m._non_persistent_buffers_set
    m.plain = 1
    del m.plain
    with pytest.raises(AttributeError):
        del m.plain


def test_dir_lists_registered_names():
    m = build(taimatsu)
    assert {"layer1", "head", "train"} <= set(dir(m))
    assert {"weight", "bias", "steps"} <= set(dir(m.head))


def test_forward_missing():
    with pytest.raises(NotImplementedError, match=r'Module \[Module\] is missing the required '
                                                  r'"forward" function'):
        nn.Module()(1)


# ---------------------------------------------------------------------------- iteration
@needs_torch
def test_named_parameters_match_torch():
    ours, ref = both()
    assert names_shapes(ours.named_parameters()) == names_shapes(ref.named_parameters())
    assert (names_shapes(ours.named_parameters(remove_duplicate=False))
            == names_shapes(ref.named_parameters(remove_duplicate=False)))
    assert (names_shapes(ours.named_parameters(prefix="model"))
            == names_shapes(ref.named_parameters(prefix="model")))
    assert (names_shapes(ours.head.named_parameters(recurse=False))
            == names_shapes(ref.head.named_parameters(recurse=False)))
    assert len(list(ours.parameters())) == len(list(ref.parameters()))


@needs_torch
def test_named_buffers_modules_children_match_torch():
    ours, ref = both()
    assert names_shapes(ours.named_buffers()) == names_shapes(ref.named_buffers())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]
    assert ([n for n, _ in ours.named_modules(prefix="m", remove_duplicate=False)]
            == [n for n, _ in ref.named_modules(prefix="m", remove_duplicate=False)])
    assert [n for n, _ in ours.named_children()] == [n for n, _ in ref.named_children()]
    assert len(list(ours.modules())) == len(list(ref.modules()))
    assert len(list(ours.children())) == 3


def test_shared_parameter_listed_once():
    m = build(taimatsu)
    params = list(m.parameters())
    assert len(params) == len({id(p) for p in params})
    assert m.layer2.other.weight is m.layer1.other.weight


def test_shared_module_listed_once():
    m = nn.Module()
    child = nn.Module()
    m.a, m.b = child, child
    assert [n for n, _ in m.named_modules()] == ["", "a"]
    assert [n for n, _ in m.named_modules(remove_duplicate=False)] == ["", "a", "b"]


def test_get_submodule_parameter_buffer():
    m = build(taimatsu)
    assert m.get_submodule("layer1.self") is m.layer1.self
    assert m.get_submodule("") is m
    assert m.get_parameter("layer1.self.weight") is m.layer1.self.weight
    assert m.get_buffer("layer1.scale") is m.layer1.scale
    with pytest.raises(AttributeError, match="Block has no attribute `nope`"):
        m.get_submodule("layer1.nope")
    with pytest.raises(AttributeError, match="`n_in` is not an nn.Module"):
        m.get_submodule("head.n_in")
    with pytest.raises(AttributeError, match="`steps` is not an nn.Parameter"):
        m.get_parameter("head.steps")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        m.get_buffer("head.weight")


def test_set_submodule():
    m = build(taimatsu)
    new = nn.Module()
    m.set_submodule("layer1.other", new)
    assert m.layer1.other is new
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        m.set_submodule("layer1.nope", nn.Module(), strict=True)


# ---------------------------------------------------------------------------- modes and grads
def test_train_eval_apply():
    m = build(taimatsu)
    assert m.training and m.layer1.self.training
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        m.train(1)
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and seen[0] == "Affine"  # children before parents


def test_zero_grad_and_requires_grad():
    m = build(taimatsu)
    out = m(taimatsu.randn(5, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


@needs_torch
def test_forward_backward_matches_torch():
    ours, ref = both()
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    yo, yr = ours(taimatsu.tensor(x)), ref(torch.tensor(x))
    np.testing.assert_allclose(to_np(yo), to_np(yr), rtol=1e-5, atol=1e-5)
    yo.sum().backward()
    yr.sum().backward()
    for (n, po), (_, pr) in zip(ours.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(to_np(po.grad), to_np(pr.grad), rtol=1e-4, atol=1e-5,
                                   err_msg=n)


# ---------------------------------------------------------------------------- conversion
def test_to_dtype_keeps_identity_and_int_buffers():
    m = build(taimatsu)
    params = list(m.parameters())
    m(taimatsu.randn(2, 4)).sum().backward()
    assert m.to(taimatsu.float64) is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.dtype is taimatsu.float64 and isinstance(p, nn.Parameter) for p in params)
    assert all(p.grad.dtype is taimatsu.float64 for p in params)
    assert m.layer1.scale.dtype is taimatsu.float64
    assert m.head.steps.dtype is taimatsu.int64  # integer buffer untouched
    assert all(p.requires_grad for p in params)
    m.float()
    assert all(p.dtype is taimatsu.float32 for p in params)
    m.half()
    assert m.head.weight.dtype is taimatsu.float16 and m.head.steps.dtype is taimatsu.int64
    m.double()
    assert m.head.weight.dtype is taimatsu.float64
    m.to(taimatsu.zeros(1, dtype=taimatsu.float32))  # to(tensor): its dtype and device
    assert m.head.weight.dtype is taimatsu.float32


def test_to_forms_and_errors():
    m = build(taimatsu)
    m.to("cpu", taimatsu.float64)
    assert m.head.weight.dtype is taimatsu.float64
    m.to(device="cpu", dtype=taimatsu.float32)
    assert m.head.weight.dtype is taimatsu.float32
    m.cpu()
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex "
                                        "dtypes, but got desired dtype=taimatsu.int64"):
        m.to(taimatsu.int64)
    assert m.head.weight.dtype is taimatsu.float32


def test_type_casts_everything():
    m = build(taimatsu)
    m.type(taimatsu.float64)
    assert m.head.steps.dtype is taimatsu.float64 and m.head.weight.dtype is taimatsu.float64


def test_to_device(device):
    m = build(taimatsu).to(device)
    assert all(p.device.type == device for p in m.parameters())
    assert all(b.device.type == device for b in m.buffers())
    out = m(taimatsu.randn(3, 4, device=device))
    assert out.device.type == device
    m.cpu()
    assert all(p.device.type == "cpu" for p in m.parameters())


def test_deepcopy_and_pickle():
    m = build(taimatsu)
    m2 = copy.deepcopy(m)
    assert m2.head.weight is not m.head.weight
    assert isinstance(m2.head.weight, nn.Parameter) and m2.head.weight.requires_grad
    assert m2.layer2.other.weight is m2.layer1.other.weight  # sharing survives the copy
    m2.head.weight.data.fill_(0)
    assert m.head.weight.numpy(force=True).any()
    lst = nn.ParameterList([m.head.weight])
    m3 = pickle.loads(pickle.dumps(lst))
    np.testing.assert_array_equal(to_np(m3[0]), to_np(m.head.weight))
    assert isinstance(m3[0], nn.Parameter) and m3[0].requires_grad


# ---------------------------------------------------------------------------- state dict
@needs_torch
def test_state_dict_keys_match_torch():
    ours, ref = both()
    sd_o, sd_r = ours.state_dict(), ref.state_dict()
    assert names_shapes(sd_o.items()) == names_shapes(sd_r.items())
    assert isinstance(sd_o, OrderedDict)
    assert list(sd_o._metadata) == list(sd_r._metadata)
    assert [k for k in sd_o if "cache" in k] == []  # non-persistent buffers excluded
    for k in sd_o:
        np.testing.assert_array_equal(to_np(sd_o[k]), to_np(sd_r[k]), err_msg=k)


def test_state_dict_values_detached_aliases():
    m = build(taimatsu)
    sd = m.state_dict()
    w = sd["head.weight"]
    assert not w.requires_grad and type(w) is taimatsu.Tensor
    with taimatsu.no_grad():
        m.head.weight.mul_(0)
    assert not w.numpy().any()  # an alias of the live storage, as in PyTorch
    kv = m.state_dict(keep_vars=True)
    assert kv["head.weight"] is m.head.weight
    pre = m.state_dict(prefix="model.")
    assert next(iter(pre)).startswith("model.")


def test_state_dict_round_trip():
    src, dst = build(taimatsu), build(taimatsu)
    with taimatsu.no_grad():
        for p in src.parameters():
            p.add_(1.5)
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    w = dst.head.weight
    version = w._version_counter
    res = dst.load_state_dict(sd)
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    assert dst.head.weight is w and w._version_counter > version
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(to_np(v), to_np(sd[k]))
    x = taimatsu.randn(3, 4)
    np.testing.assert_array_equal(to_np(dst(x)), to_np(src(x)))


def test_load_converts_dtype():
    m = build(taimatsu)
    sd = {k: v.double() if v.is_floating_point() else v for k, v in m.state_dict().items()}
    m.load_state_dict(sd)
    assert m.head.weight.dtype is taimatsu.float32


def _snapshot(m):
    return {k: to_np(v).copy() for k, v in m.state_dict().items()}


def _assert_unchanged(m, snap):
    now = _snapshot(m)
    assert list(now) == list(snap)
    for k in snap:
        np.testing.assert_array_equal(now[k], snap[k], err_msg=k)


def _torch_error(ref, sd, **kw):
    with pytest.raises(RuntimeError) as info:
        ref.load_state_dict(sd, **kw)
    return str(info.value)


@needs_torch
def test_load_errors_match_torch_and_change_nothing():
    ours, ref = both()
    sd_o = OrderedDict((k, v.clone()) for k, v in ours.state_dict().items())
    sd_r = OrderedDict((k, v.clone()) for k, v in ref.state_dict().items())
    for sd, lib in ((sd_o, taimatsu), (sd_r, torch)):
        del sd["layer1.scale"]
        sd["layer2.extra"] = lib.zeros(1)
        sd["nothere.weight"] = lib.zeros(1)
        sd["head.weight"] = lib.zeros(3, 4)
        sd["layer1.self.weight"] = lib.zeros(3, 4) + 7  # valid: must not be written either
    snap = _snapshot(ours)
    with pytest.raises(RuntimeError) as info:
        ours.load_state_dict(sd_o)
    ours_msg = str(info.value).replace("taimatsu", "torch")
    assert ours_msg == _torch_error(ref, sd_r)
    assert ours_msg.startswith("Error(s) in loading state_dict for Net:\n\tMissing key(s) in "
                               'state_dict: "layer1.scale". \n\tUnexpected key(s) in state_dict: '
                               '"nothere.weight", "layer2.extra". \n\tsize mismatch for '
                               "head.weight: copying a param with shape torch.Size([3, 4]) from "
                               "checkpoint, the shape in current model is torch.Size([2, 4]).")
    _assert_unchanged(ours, snap)


@needs_torch
def test_load_non_strict_reports_keys():
    ours, ref = both()
    sd_o, sd_r = ours.state_dict(), ref.state_dict()
    for sd, lib in ((sd_o, taimatsu), (sd_r, torch)):
        del sd["head.bias"]
        sd["head.extra"] = lib.zeros(1)
    r_o = ours.load_state_dict(sd_o, strict=False)
    r_r = ref.load_state_dict(sd_r, strict=False)
    assert r_o.missing_keys == r_r.missing_keys == ["head.bias"]
    assert r_o.unexpected_keys == r_r.unexpected_keys == ["head.extra"]
    assert repr(r_o) == repr(r_r).replace("torch", "taimatsu")


@needs_torch
def test_load_size_mismatch_raises_even_non_strict():
    ours, ref = both()
    sd_o = dict(ours.state_dict(), **{"head.bias": taimatsu.zeros(5)})
    sd_r = dict(ref.state_dict(), **{"head.bias": torch.zeros(5)})
    snap = _snapshot(ours)
    with pytest.raises(RuntimeError) as info:
        ours.load_state_dict(sd_o, strict=False)
    assert str(info.value).replace("taimatsu", "torch") == _torch_error(ref, sd_r, strict=False)
    _assert_unchanged(ours, snap)


def test_load_bad_value_type_and_container():
    m = build(taimatsu)
    snap = _snapshot(m)
    sd = dict(m.state_dict(), **{"head.bias": [0.0, 0.0]})
    with pytest.raises(RuntimeError, match='While copying the parameter named "head.bias", '
                                           "expected torch.Tensor or Tensor-like object"):
        m.load_state_dict(sd)
    _assert_unchanged(m, snap)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got"):
        m.load_state_dict([1, 2])


def test_load_assign_replaces_tensors():
    m = build(taimatsu)
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    m.layer1.self.weight.requires_grad_(False)
    m.load_state_dict(sd, assign=True)
    assert m.head.weight is not sd["head.weight"]  # wrapped into a Parameter
    assert isinstance(m.head.weight, nn.Parameter) and m.head.weight.requires_grad
    assert not m.layer1.self.weight.requires_grad  # keeps the model's requires_grad
    assert m.layer1.scale is sd["layer1.scale"]
    assert m.head.weight.data_ptr() == sd["head.weight"].data_ptr()


def test_load_state_dict_hooks_and_override():
    class Renamed(nn.Module):
        """Accepts checkpoints saved with the old name ``w`` (the usual reason to override)."""

        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(taimatsu.zeros(2))

        def _load_from_state_dict(self, state_dict, prefix, *args):
            if prefix + "w" in state_dict:
                state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")
            super()._load_from_state_dict(state_dict, prefix, *args)

    m = Renamed()
    seen = []
    m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(keys))
    m.load_state_dict({"w": taimatsu.ones(2)})
    assert m.weight.tolist() == [1.0, 1.0]
    assert len(seen) == 1 and seen[0].missing_keys == []


def test_extra_state():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.count = 0

        def get_extra_state(self):
            return {"count": self.count}

        def set_extra_state(self, state):
            self.count = state["count"]

    m = nn.Sequential(WithExtra())
    m[0].count = 3
    sd = m.state_dict()
    assert sd["0._extra_state"] == {"count": 3}
    m2 = nn.Sequential(WithExtra())
    m2.load_state_dict(sd)
    assert m2[0].count == 3
    with pytest.raises(RuntimeError, match='Missing key.*"0._extra_state"'):
        m2.load_state_dict({})


def test_state_dict_hooks():
    m = build(taimatsu)
    calls = []
    m.register_state_dict_pre_hook(lambda mod, prefix, keep: calls.append(prefix))
    h = m.head.register_state_dict_post_hook(
        lambda mod, sd, prefix, meta: sd.pop(prefix + "steps"))
    sd = m.state_dict()
    assert calls == [""] and "head.steps" not in sd
    h.remove()
    assert "head.steps" in m.state_dict()


# ---------------------------------------------------------------------------- hooks
def test_forward_hooks_order_and_results():
    m = build(taimatsu).head
    log = []

    def pre(mod, args):
        log.append("pre")
        return (args[0] * 0,)

    def post(mod, args, out):
        log.append("post")
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    m.register_forward_pre_hook(lambda mod, args: log.append("first"), prepend=True)
    out = m(taimatsu.randn(2, 4))
    assert log == ["first", "pre", "post"]
    assert out.tolist() == [[1.0, 1.0], [1.0, 1.0]]  # zero input, zero bias, +1
    h1.remove()
    h2.remove()
    with m.register_forward_hook(lambda mod, a, o: o * 0):
        assert not m(taimatsu.ones(1, 4)).detach().numpy().any()
    assert m(taimatsu.ones(1, 4)).detach().numpy().any()  # context exit removed it


def test_forward_hooks_with_kwargs():
    class K(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = K()
    m.register_forward_pre_hook(lambda mod, args, kw: (args, {"scale": 3.0}), with_kwargs=True)
    seen = {}
    m.register_forward_hook(lambda mod, args, kw, out: seen.update(kw), with_kwargs=True)
    assert m(taimatsu.ones(1)).tolist() == [3.0]
    assert seen == {"scale": 3.0}
    m2 = K()
    m2.register_forward_pre_hook(lambda mod, args, kw: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        m2(taimatsu.ones(1))


def test_forward_hook_always_call():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    called = []
    m.register_forward_hook(lambda mod, a, o: called.append(o), always_call=True)
    m.register_forward_hook(lambda mod, a, o: called.append("never"))
    with pytest.raises(ValueError, match="boom"):
        m(taimatsu.ones(1))
    assert called == [None]


@needs_torch
def test_full_backward_hook_matches_torch():
    def run(lib):
        m = build(lib).layer1
        rec = {}

        def hook(mod, gin, gout):
            rec["gin"] = [None if g is None else to_np(g) for g in gin]
            rec["gout"] = [to_np(g) for g in gout]
            return (gin[0] * 2,)

        m.register_full_backward_hook(hook)
        m.register_full_backward_pre_hook(lambda mod, gout: (gout[0] * 3,))
        x = lib.tensor(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4), requires_grad=True)
        y = m(x)
        (y * y).sum().backward()
        return rec, to_np(x.grad), to_np(m.self.weight.grad)

    (rec_o, gx_o, gw_o), (rec_r, gx_r, gw_r) = run(taimatsu), run(torch)
    for a, b in zip(rec_o["gout"] + rec_o["gin"], rec_r["gout"] + rec_r["gin"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx_o, gx_r, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gw_o, gw_r, rtol=1e-5, atol=1e-5)


def test_full_backward_hook_inputs_without_grad():
    m = build(taimatsu).head
    rec = []
    m.register_full_backward_hook(lambda mod, gin, gout: rec.append((gin, gout[0].shape)))
    m(taimatsu.randn(3, 4)).sum().backward()
    assert rec == [((None,), (3, 2))]
    assert m.weight.grad is not None


# ---------------------------------------------------------------------------- printing
@needs_torch
def test_repr_matches_torch():
    ours, ref = both()
    assert repr(ours) == repr(ref)
    seq_o = taimatsu.nn.Sequential(ours.head, taimatsu.nn.ModuleList([ours.head] * 3))
    seq_r = torch.nn.Sequential(ref.head, torch.nn.ModuleList([ref.head] * 3))
    assert repr(seq_o) == repr(seq_r)


def test_repr_multiline_extra():
    class M(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(M()) == "M(\n  a=1\n  b=2\n)"
    assert repr(nn.Module()) == "Module()"


@needs_torch
def test_parameter_repr_and_construction():
    p = nn.Parameter(taimatsu.tensor([1.0, 2.0]))
    q = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    assert repr(p) == repr(q)
    assert nn.Parameter().shape == (0,)
    frozen = nn.Parameter(taimatsu.ones(2), requires_grad=False)
    assert not frozen.requires_grad
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        nn.Parameter(taimatsu.ones(2, dtype=taimatsu.int64))
    with taimatsu.no_grad():
        assert nn.Parameter(taimatsu.ones(1)).requires_grad


def test_parameter_shares_storage_with_data():
    t = taimatsu.ones(3)
    p = nn.Parameter(t)
    with taimatsu.no_grad():
        p.mul_(2)
    assert t.tolist() == [2.0, 2.0, 2.0]
    assert p.is_leaf and p.grad_fn is None
