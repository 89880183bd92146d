"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict; names, printing
and state_dict keys compared with PyTorch."""
from __future__ import annotations

import itertools
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taimatsu
from taimatsu import nn
from tests.helpers import needs_torch, to_np, torch


def keys_shapes(m):
    return [(k, tuple(v.shape)) for k, v in m.state_dict().items()]


def mlp(lib):
    L = lib.nn
    return L.Sequential(L.Linear(1000, 100), L.ReLU(), L.Linear(100, 10))


# ---------------------------------------------------------------------------- Sequential
@needs_torch
def test_sequential_repr_and_keys_match_torch():
    ours, ref = mlp(taimatsu), mlp(torch)
    assert str(ours) == str(ref)
    assert str(ours) == ("Sequential(\n  (0): Linear(in_features=1000, out_features=100, "
                         "bias=True)\n  (1): ReLU()\n  (2): Linear(in_features=100, "
                         "out_features=10, bias=True)\n)")
    assert keys_shapes(ours) == keys_shapes(ref)


@needs_torch
def test_sequential_ordered_dict_and_nesting_match_torch():
    def net(lib):
        L = lib.nn
        return L.Sequential(OrderedDict([
            ("features", L.Sequential(L.Linear(4, 8), L.Tanh())),
            ("blocks", L.ModuleList([L.Linear(8, 8) for _ in range(3)])),
            ("heads", L.ModuleDict({"cls": L.Linear(8, 2), "reg": L.Linear(8, 1, bias=False)})),
        ]))

    ours, ref = net(taimatsu), net(torch)
    assert str(ours) == str(ref)
    assert keys_shapes(ours) == keys_shapes(ref)
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in ref.named_modules()]


def test_sequential_forward_chains():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = taimatsu.randn(5, 3)
    expected = m[2](m[1](m[0](x)))
    np.testing.assert_array_equal(to_np(m(x)), to_np(expected))
    assert nn.Sequential()(x) is x


@needs_torch
def test_sequential_forward_matches_torch_with_same_weights():
    ours, ref = mlp(taimatsu), mlp(torch)
    ref.load_state_dict({k: torch.tensor(to_np(v)) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((8, 1000)).astype(np.float32)
    np.testing.assert_allclose(to_np(ours(taimatsu.tensor(x))), to_np(ref(torch.tensor(x))),
                               rtol=1e-4, atol=1e-5)


def test_sequential_indexing():
    layers = [nn.Linear(2, 2) for _ in range(4)]
    m = nn.Sequential(*layers)
    assert m[0] is layers[0] and m[-1] is layers[3]
    sub = m[1:3]
    assert type(sub) is nn.Sequential and list(sub) == layers[1:3]
    assert list(sub._modules) == ["1", "2"]  # slicing keeps the original names, as PyTorch
    with pytest.raises(IndexError, match="index 4 is out of range"):
        m[4]
    with pytest.raises(IndexError, match="index -5 is out of range"):
        m[-5]
    new = nn.Linear(2, 2)
    m[-1] = new
    assert m[3] is new and len(m) == 4


def test_sequential_mutation():
    a, b, c, d = (nn.Linear(2, 2) for _ in range(4))
    m = nn.Sequential(a, b)
    assert m.append(c) is m
    assert list(m) == [a, b, c]
    m.insert(1, d)
    assert list(m) == [a, d, b, c] and list(m._modules) == ["0", "1", "2", "3"]
    m.insert(-1, nn.ReLU())
    assert type(m[3]) is nn.ReLU
    del m[3]
    del m[0]
    assert list(m) == [d, b, c] and list(m._modules) == ["0", "1", "2"]
    del m[0:2]
    assert list(m) == [c] and list(m._modules) == ["0"]
    m.extend([a, b])
    assert list(m) == [c, a, b]
    assert m.pop(1) is a and list(m) == [c, b]
    with pytest.raises(IndexError, match="Index out of range: 5"):
        m.insert(5, a)
    with pytest.raises(AssertionError, match="module should be of type"):
        m.insert(0, 3)


def test_sequential_arithmetic():
    a, b = nn.ReLU(), nn.Tanh()
    s = nn.Sequential(a) + nn.Sequential(b)
    assert list(s) == [a, b]
    s += nn.Sequential(a)
    assert list(s) == [a, b, a]
    assert list(nn.Sequential(a, b) * 2) == [a, b, a, b]
    assert list(2 * nn.Sequential(a)) == [a, a]
    t = nn.Sequential(a)
    t *= 3
    assert list(t) == [a, a, a]
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential"):
        nn.Sequential(a) + [b]
    with pytest.raises(ValueError, match="Non-positive multiplication factor 0"):
        nn.Sequential(a) * 0
    with pytest.raises(TypeError, match="unsupported operand"):
        nn.Sequential(a) * 1.5


def test_sequential_parameters_shared_layer():
    lin = nn.Linear(3, 3)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(m.parameters())) == 2
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


# ---------------------------------------------------------------------------- ModuleList
@needs_torch
def test_module_list_repr_compresses_repeats_like_torch():
    def ml(lib):
        L = lib.nn
        return L.ModuleList([L.Linear(2, 2), L.Linear(2, 2), L.Linear(2, 2), L.ReLU(),
                             L.Linear(2, 2)])

    assert str(ml(taimatsu)) == str(ml(torch))
    assert str(nn.ModuleList()) == str(torch.nn.ModuleList()) == "ModuleList()"


def test_module_list_ops():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    m = nn.ModuleList([a, b])
    assert len(m) == 2 and m[-1] is b and list(m[0:1]) == [a]
    assert type(m[0:1]) is nn.ModuleList
    m.append(c)
    m.insert(0, c)
    assert list(m) == [c, a, b, c]
    m[1] = b
    assert m[1] is b
    del m[0]
    assert list(m._modules) == ["0", "1", "2"]
    m += [a]
    assert list(m) == [b, b, c, a]
    assert list(m + nn.ModuleList([c])) == [b, b, c, a, c]
    assert m.pop(-1) is a and len(m) == 3
    del m[::2]
    assert list(m) == [b]
    with pytest.raises(IndexError):
        m[3]
    with pytest.raises(TypeError, match="ModuleList.extend should be called with an iterable"):
        m.extend(3)
    with pytest.raises(NotImplementedError):
        m(1)


def test_module_list_registers_parameters():
    m = nn.ModuleList([nn.Linear(2, 3), nn.Linear(3, 1)])
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


# ---------------------------------------------------------------------------- ModuleDict
def test_module_dict_ops():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    m = nn.ModuleDict({"x": a, "y": b})
    assert list(m) == ["x", "y"] and m["x"] is a and "y" in m and len(m) == 2
    m["z"] = c
    assert list(m.keys()) == ["x", "y", "z"]
    assert list(m.values()) == [a, b, c]
    assert list(m.items())[2] == ("z", c)
    assert m.pop("y") is b and "y" not in m
    m.update([("w", b)])
    assert list(m) == ["x", "z", "w"]
    del m["x"]
    m.clear()
    assert len(m) == 0
    with pytest.raises(TypeError, match="ModuleDict update sequence element #0 should be "
                                        "Iterable"):
        m.update([1])
    with pytest.raises(ValueError, match="has length 1; 2 is required"):
        m.update([("a",)])
    with pytest.raises(TypeError, match="ModuleDict.update should be called with an iterable"):
        m.update(3)


# ---------------------------------------------------------------------------- ParameterList
@needs_torch
def test_parameter_list_matches_torch():
    def pl(lib):
        return lib.nn.ParameterList([lib.nn.Parameter(lib.ones(2, 3)), lib.zeros(4)])

    ours, ref = pl(taimatsu), pl(torch)
    assert str(ours) == str(ref).replace("torch", "taimatsu")
    assert keys_shapes(ours) == keys_shapes(ref)
    assert all(isinstance(p, nn.Parameter) for p in ours)  # tensors are wrapped


def test_parameter_list_ops():
    p = [nn.Parameter(taimatsu.ones(i + 1)) for i in range(3)]
    m = nn.ParameterList(p[:2])
    m.append(p[2])
    assert len(m) == 3 and m[-1] is p[2] and list(m) == p
    sub = m[1:]
    assert type(sub) is nn.ParameterList and list(sub) == p[1:]
    m[0] = taimatsu.zeros(5)
    assert isinstance(m[0], nn.Parameter) and m[0].shape == (5,)
    m += [taimatsu.ones(1)]
    assert len(m) == 4 and len(list(m.parameters())) == 4
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an "
                                        "iterable, but got Tensor"):
        m.extend(taimatsu.ones(2))
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        m()
    with pytest.raises(IndexError):
        m[4]


def test_parameter_list_non_tensor_entries():
    m = nn.ParameterList([1, "a"])
    assert m[0] == 1 and list(m.parameters()) == []
    assert "(0): Object of type: int" in repr(m)


# ---------------------------------------------------------------------------- ParameterDict
@needs_torch
def test_parameter_dict_matches_torch():
    def pd(lib):
        return lib.nn.ParameterDict({"b": lib.nn.Parameter(lib.ones(2)), "a": lib.zeros(3)})

    ours, ref = pd(taimatsu), pd(torch)
    assert list(ours) == list(ref) == ["a", "b"]  # a plain dict is inserted sorted
    assert str(ours) == str(ref)
    assert keys_shapes(ours) == keys_shapes(ref)
    ordered = OrderedDict([("b", taimatsu.ones(1)), ("a", taimatsu.ones(1))])
    assert list(nn.ParameterDict(ordered)) == ["b", "a"]


def test_parameter_dict_ops():
    m = nn.ParameterDict()
    m["w"] = taimatsu.ones(2)
    assert isinstance(m["w"], nn.Parameter) and "w" in m and len(m) == 1
    assert m.get("nope", 3) == 3
    assert m.setdefault("v", taimatsu.zeros(1)) is m["v"]
    assert list(m.keys()) == ["w", "v"] and len(list(m.values())) == 2
    assert list(reversed(m)) == ["v", "w"]
    c = m.copy()
    assert c["w"] is m["w"] and list(c) == ["w", "v"]
    k, _ = m.popitem()
    assert k == "v" and "v" not in m
    merged = m | nn.ParameterDict({"z": taimatsu.ones(1)})
    assert list(merged) == ["w", "z"]
    m |= {"q": taimatsu.ones(1)}
    assert list(m) == ["w", "q"]
    assert list(m.fromkeys(["a", "b"])) == ["a", "b"]
    assert m.pop("q").shape == (1,)
    m.clear()
    assert len(m) == 0 and list(m.parameters()) == []
    with pytest.raises(TypeError, match="Index given to ParameterDict cannot be used as a key"):
        m[1]
    with pytest.raises(RuntimeError, match="ParameterDict should not be called."):
        m(1)


# ---------------------------------------------------------------------------- property test
_ACTS = ["ReLU", "Tanh", "Sigmoid", None]


@needs_torch
@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 5), min_size=2, max_size=5),
       biases=st.lists(st.booleans(), min_size=4, max_size=4),
       acts=st.lists(st.sampled_from(_ACTS), min_size=4, max_size=4))
def test_random_mlp_matches_torch(widths, biases, acts):
    """Any Sequential MLP: same keys, shapes and printout as PyTorch, and once PyTorch loads our
    state_dict, the same outputs and gradients."""

    def net(lib):
        layers = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
            layers.append(lib.nn.Linear(n_in, n_out, bias=biases[i]))
            if acts[i] is not None:
                layers.append(getattr(lib.nn, acts[i])())
        return lib.nn.Sequential(*layers)

    ours, ref = net(taimatsu), net(torch)
    assert str(ours) == str(ref)
    assert keys_shapes(ours) == keys_shapes(ref)
    ref.load_state_dict({k: torch.tensor(to_np(v)) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(len(widths)).standard_normal((3, widths[0])).astype(np.float32)
    y_o, y_r = ours(taimatsu.tensor(x)), ref(torch.tensor(x))
    np.testing.assert_allclose(to_np(y_o), to_np(y_r), rtol=1e-5, atol=1e-6)
    y_o.sum().backward()
    y_r.sum().backward()
    for (name, p_o), (_, p_r) in zip(ours.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(to_np(p_o.grad), to_np(p_r.grad), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
