"""Recurrent layers, cells and nn.utils.rnn against PyTorch from identical weights; the fused
recurrence against its composed form, gradchecked."""
from __future__ import annotations

import numpy as np
import pytest

import taimatsu
import taimatsu.nn as tnn
from taimatsu.nn.utils import rnn as trnn
from taimatsu.ops.rnn import Recurrence, composed
from tests.helpers import needs_torch, rand, to_np, torch

pytestmark = needs_torch


def _pair(make, dtype=np.float32, device="cpu"):
    """The same module in both libraries, PyTorch's state copied into ours by key."""
    torch.manual_seed(0)
    pm = make(torch.nn)
    tm = make(tnn)
    assert repr(tm) == repr(pm)
    assert list(tm.state_dict()) == list(pm.state_dict())
    tm.load_state_dict({k: taimatsu.tensor(v.detach().numpy()) for k, v in pm.state_dict().items()})
    if dtype == np.float64:
        pm.double()
        tm.double()
    tm.to(device)
    return tm, pm


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    if isinstance(out, (trnn.PackedSequence, torch.nn.utils.rnn.PackedSequence)):
        return [out.data]
    return [out]


def _check(tm, pm, run, arrays, device="cpu", rtol=1e-5, atol=1e-6):
    """``run(lib, module, *tensors)`` on both; compare every output, then the gradients of the
    inputs and of every parameter under the same random upstream gradients."""
    tt = [taimatsu.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    pt = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out_t, out_p = _flat(run(taimatsu, tm, *tt)), _flat(run(torch, pm, *pt))
    assert len(out_t) == len(out_p)
    rng = np.random.default_rng(3)
    gs = []
    for a, b in zip(out_t, out_p):
        assert tuple(a.shape) == tuple(b.shape)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_allclose(to_np(a), to_np(b), rtol=rtol, atol=atol)
        gs.append(rng.standard_normal(tuple(b.shape)).astype(to_np(b).dtype))
    torch.autograd.backward(out_p, [torch.tensor(g) for g in gs])
    taimatsu.autograd.backward(out_t, [taimatsu.tensor(g, device=device) for g in gs])
    for a, b in zip(tt, pt):
        if b.requires_grad:
            np.testing.assert_allclose(to_np(a.grad), b.grad.numpy(), rtol=rtol, atol=atol)
    tp = dict(tm.named_parameters())
    for name, p in pm.named_parameters():
        np.testing.assert_allclose(to_np(tp[name].grad), p.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


CONFIGS = {
    "plain": {},
    "two_layers": {"num_layers": 2},
    "bidirectional": {"bidirectional": True},
    "bi_stack_batch_first": {"num_layers": 2, "bidirectional": True, "batch_first": True},
    "no_bias": {"bias": False, "num_layers": 2},
}
MODES = {
    "RNN": lambda nn, **kw: nn.RNN(3, 5, **kw),
    "RNN_relu": lambda nn, **kw: nn.RNN(3, 5, nonlinearity="relu", **kw),
    "LSTM": lambda nn, **kw: nn.LSTM(3, 5, **kw),
    "LSTM_proj": lambda nn, **kw: nn.LSTM(3, 5, proj_size=2, **kw),
    "GRU": lambda nn, **kw: nn.GRU(3, 5, **kw),
}


def _layer_run(lib, m, x, *states):
    if not states:
        return m(x)
    return m(x, tuple(states) if len(states) == 2 else states[0])


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("mode", MODES)
def test_layers_match_pytorch(mode, config, device):
    kw = CONFIGS[config]
    tm, pm = _pair(lambda nn: MODES[mode](nn, **kw), device=device)
    x = rand(4, 3, 3, seed=1)  # (T, B, in), or (B, T, in) with batch_first
    _check(tm, pm, _layer_run, [x], device=device)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "LSTM_proj", "GRU"])
def test_initial_states_float64(mode, device):
    kw = {"num_layers": 2, "bidirectional": True}
    tm, pm = _pair(lambda nn: MODES[mode](nn, **kw), dtype=np.float64, device=device)
    x = rand(5, 2, 3, seed=2, dtype=np.float64)
    hidden = 2 if mode == "LSTM_proj" else 5
    states = [rand(4, 2, hidden, seed=3, dtype=np.float64)]
    if mode.startswith("LSTM"):
        states.append(rand(4, 2, 5, seed=4, dtype=np.float64))
    _check(tm, pm, _layer_run, [x, *states], device=device, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(mode, device):
    tm, pm = _pair(lambda nn: MODES[mode](nn, num_layers=2, bidirectional=True), device=device)
    states = [rand(4, 5, seed=3)] + ([rand(4, 5, seed=4)] if mode == "LSTM" else [])
    _check(tm, pm, _layer_run, [rand(6, 3, seed=1), *states], device=device)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "LSTM_proj", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences(mode, enforce_sorted, device):
    tm, pm = _pair(lambda nn: MODES[mode](nn, num_layers=2, bidirectional=True,
                                          batch_first=True), device=device)
    lengths = [6, 4, 4, 1] if enforce_sorted else [3, 6, 1, 4]

    def run(lib, m, x, h0):
        utils = lib.nn.utils.rnn if lib is torch else trnn
        packed = utils.pack_padded_sequence(x, lengths, batch_first=True,
                                            enforce_sorted=enforce_sorted)
        states = h0 if not mode.startswith("LSTM") else (h0, h0[..., :1].expand(4, 4, 5) * 2)
        out, hn = m(packed, states)
        assert isinstance(out, utils.PackedSequence)
        padded, lens = utils.pad_packed_sequence(out, batch_first=True, total_length=7)
        assert lens.tolist() == lengths
        return padded, hn

    hidden = 2 if mode == "LSTM_proj" else 5
    _check(tm, pm, run, [rand(4, 6, 3, seed=1), rand(4, 4, hidden, seed=2)], device=device)


def test_dropout_between_layers(device):
    kw = {"num_layers": 3, "dropout": 0.5}
    tm, pm = _pair(lambda nn: nn.LSTM(3, 5, **kw), device=device)
    tm.eval()
    pm.eval()
    _check(tm, pm, _layer_run, [rand(4, 2, 3, seed=1)], device=device)  # eval: no dropout
    tm.train()
    x = taimatsu.tensor(rand(4, 2, 3, seed=1), device=device)
    out_train = tm(x)[0]
    with taimatsu.no_grad():
        out_eval = tm.eval()(x)[0]
    assert not np.allclose(to_np(out_train), to_np(out_eval))  # dropout acted in training


def test_train_mode_zero_dropout_matches(device):
    tm, pm = _pair(lambda nn: nn.GRU(3, 5, num_layers=2, dropout=0.0), device=device)
    assert tm.training and pm.training
    _check(tm, pm, _layer_run, [rand(4, 2, 3, seed=1)], device=device)


def test_dropout_warning_and_errors():
    with pytest.warns(UserWarning, match="num_layers greater than 1, but got dropout=0.3"):
        tnn.LSTM(3, 4, dropout=0.3)
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        tnn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        tnn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        tnn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        tnn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(TypeError, match="hidden_size should be of type int, got: float"):
        tnn.RNN(3, 4.0)


def test_parameter_names_init_and_weights():
    m = tnn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2)
    p = torch.nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2)
    assert m._flat_weights_names == p._flat_weights_names
    assert m._all_weights == p._all_weights
    assert [list(w.shape) for w in m._flat_weights] == [list(w.shape) for w in p._flat_weights]
    assert all(w is getattr(m, n) for w, n in zip(m._flat_weights, m._flat_weights_names))
    assert [[tuple(w.shape) for w in ws] for ws in m.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in p.all_weights]
    bound = 1 / np.sqrt(6)
    for w in m.parameters():
        assert np.abs(to_np(w)).max() <= bound
    assert np.std(np.concatenate([to_np(w).ravel() for w in m.parameters()])) > bound / 3
    before = [to_np(w).copy() for w in m.parameters()]
    m.flatten_parameters()
    assert all(np.array_equal(a, to_np(w)) for a, w in zip(before, m.parameters()))


def test_bad_input_raises_and_changes_nothing():
    m = tnn.LSTM(3, 5, num_layers=2)
    before = {k: to_np(v).copy() for k, v in m.state_dict().items()}
    x = taimatsu.randn(4, 2, 3)
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. "
                                           "Expected 3, got 4"):
        m(taimatsu.randn(4, 2, 4))
    h = taimatsu.zeros(2, 3, 5)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 2, 5\), got \[2, 3, 5\]"):
        m(x, (h, taimatsu.zeros(2, 2, 5)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 2, 5\), got \[1, 2, 5\]"):
        m(x, (taimatsu.zeros(2, 2, 5), taimatsu.zeros(1, 2, 5)))
    with pytest.raises(RuntimeError, match="For batched 3-D input, hx and cx should also be 3-D "
                                           "but got \\(2-D, 3-D\\) tensors"):
        m(x, (taimatsu.zeros(2, 5), taimatsu.zeros(2, 2, 5)))
    with pytest.raises(ValueError, match="LSTM: Expected input to be 2D or 3D, got 4D instead"):
        m(taimatsu.randn(1, 4, 2, 3))
    with pytest.raises(ValueError, match="RNN input dtype \\(taimatsu.float64\\) does not match "
                                         "weight dtype \\(taimatsu.float32\\)"):
        m(x.double())
    g = tnn.GRU(3, 5)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 5\), got \[2, 2, 5\]"):
        g(x, taimatsu.zeros(2, 2, 5))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D but "
                                           "got 3-D tensor"):
        g(taimatsu.randn(4, 3), taimatsu.zeros(1, 1, 5))
    assert all(np.array_equal(before[k], to_np(v)) for k, v in m.state_dict().items())


# ------------------------------------------------------------------------------ cells
CELLS = {
    "RNNCell": lambda nn: nn.RNNCell(3, 4),
    "RNNCell_relu": lambda nn: nn.RNNCell(3, 4, nonlinearity="relu"),
    "RNNCell_nobias": lambda nn: nn.RNNCell(3, 4, bias=False),
    "LSTMCell": lambda nn: nn.LSTMCell(3, 4),
    "GRUCell": lambda nn: nn.GRUCell(3, 4),
}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_pytorch(cell, batched, device):
    tm, pm = _pair(CELLS[cell], device=device)
    lead = (2,) if batched else ()
    states = [rand(*lead, 4, seed=2)] + ([rand(*lead, 4, seed=3)] if cell == "LSTMCell" else [])
    _check(tm, pm, _layer_run, [rand(*lead, 3, seed=1), *states], device=device)
    tm2, pm2 = _pair(CELLS[cell], device=device)
    _check(tm2, pm2, _layer_run, [rand(*lead, 3, seed=1)], device=device)  # zero state


def test_cell_errors():
    cell = tnn.LSTMCell(3, 4)
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 5 expected 3"):
        cell(taimatsu.randn(2, 5))
    with pytest.raises(RuntimeError, match="hidden1 has inconsistent hidden_size: got 2, "
                                           "expected 4"):
        cell(taimatsu.randn(2, 3), (taimatsu.randn(2, 4), taimatsu.randn(2, 2)))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0 batch size 3"):
        tnn.GRUCell(3, 4)(taimatsu.randn(2, 3), taimatsu.randn(3, 4))
    with pytest.raises(ValueError, match="RNNCell: Expected hidden to be 1D or 2D, got 3D"):
        tnn.RNNCell(3, 4)(taimatsu.randn(2, 3), taimatsu.randn(1, 2, 4))


# ---------------------------------------------------- fused node vs composed, gradcheck
_SHAPES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _recurrence_args(mode, proj=False, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    H, I, B = 3, 2, 3
    out_h = 2 if proj else H
    G = _SHAPES[mode] * H
    shapes = [(6, I), (B, out_h), (B, H) if mode == "LSTM" else None, (G, I), (G, out_h),
              (G,) if bias else None, (G,) if bias else None, (out_h, H) if proj else None]
    return [None if s is None else
            taimatsu.tensor(rng.uniform(-1, 1, s), dtype=taimatsu.float64, requires_grad=True)
            for s in shapes]


_CASES = [("LSTM", False, True), ("LSTM", True, False), ("GRU", False, True),
          ("GRU", False, False), ("RNN_TANH", False, True), ("RNN_RELU", False, True)]


@pytest.mark.parametrize("mode,proj,bias", _CASES)
@pytest.mark.parametrize("reverse", [False, True])
def test_fused_matches_composed_to_second_order(mode, proj, bias, reverse):
    args = _recurrence_args(mode, proj, bias)
    steps = (3, 2, 1)  # a packed batch: sequences of lengths 3, 2, 1
    fused = Recurrence.apply(*args, mode, steps, reverse)
    ref = composed(*args, mode, steps, reverse)
    inputs = [a for a in args if a is not None]
    loss_f = sum((o * o).sum() for o in fused)
    loss_r = sum((o * o).sum() for o in ref)
    gf = taimatsu.autograd.grad(loss_f, inputs, create_graph=True)
    gr = taimatsu.autograd.grad(loss_r, inputs, create_graph=True)
    for a, b in zip(gf, gr):
        np.testing.assert_allclose(to_np(a), to_np(b), rtol=1e-10, atol=1e-12)
    # The create_graph path: second derivatives through the fused node equal the composed ones.
    hf = taimatsu.autograd.grad(sum((g * g).sum() for g in gf), inputs)
    hr = taimatsu.autograd.grad(sum((g * g).sum() for g in gr), inputs)
    for a, b in zip(hf, hr):
        np.testing.assert_allclose(to_np(a), to_np(b), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode,proj,bias", _CASES[:3] + _CASES[4:5])
def test_recurrence_gradcheck(mode, proj, bias):
    args = _recurrence_args(mode, proj, bias, seed=1)
    slots = [i for i, a in enumerate(args) if a is not None]

    def fn(*ts):
        full = list(args)
        for i, t in zip(slots, ts):
            full[i] = t
        return Recurrence.apply(*full, mode, (3, 2, 1), True)

    inputs = [args[i] for i in slots]
    assert taimatsu.autograd.gradcheck(fn, inputs)
    assert taimatsu.autograd.gradgradcheck(fn, inputs)


# ------------------------------------------------------------------------ nn.utils.rnn
def test_pack_pad_round_trip_matches_pytorch():
    x = rand(5, 4, 2, seed=1)
    lengths = [2, 5, 1, 3]

    def run(lib):
        u = lib.nn.utils.rnn if lib is torch else trnn
        t = lib.tensor(x, requires_grad=True)
        packed = u.pack_padded_sequence(t, lib.tensor(lengths), enforce_sorted=False)
        padded, lens = u.pad_packed_sequence(packed, padding_value=-1.0)
        padded.mul(lib.tensor(np.arange(40.0, dtype=np.float32).reshape(5, 4, 2))).sum() \
            .backward()
        return packed, padded, lens, t.grad

    (pt, padt, lt, gt), (pp, padp, lp, gp) = run(taimatsu), run(torch)
    np.testing.assert_array_equal(to_np(pt.data), to_np(pp.data))
    for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert getattr(pt, name).tolist() == getattr(pp, name).tolist()
    assert pt.batch_sizes.dtype == taimatsu.int64 and pt.batch_sizes.device.type == "cpu"
    np.testing.assert_array_equal(to_np(padt), to_np(padp))
    assert lt.tolist() == lp.tolist() and lt.dtype == taimatsu.int64
    np.testing.assert_array_equal(to_np(gt), to_np(gp))


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(batch_first, side):
    seqs = [rand(3, 2, seed=1), rand(5, 2, seed=2), rand(1, 2, seed=3)]
    a = trnn.pad_sequence([taimatsu.tensor(s) for s in seqs], batch_first, 7.0, side)
    b = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 7.0, side)
    np.testing.assert_array_equal(to_np(a), b.numpy())


def test_pack_sequence_unpack_and_unpad():
    seqs = [np.array([1, 2, 3]), np.array([4, 5, 6, 7]), np.array([8])]
    for sort in (True, False):
        ordered = sorted(seqs, key=len, reverse=True) if sort else seqs
        a = trnn.pack_sequence([taimatsu.tensor(s) for s in ordered], enforce_sorted=sort)
        b = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in ordered],
                                             enforce_sorted=sort)
        assert a.data.tolist() == b.data.tolist()
        assert a.batch_sizes.tolist() == b.batch_sizes.tolist()
        assert [s.tolist() for s in trnn.unpack_sequence(a)] == [s.tolist() for s in ordered]
    padded = taimatsu.tensor(rand(4, 3, 2))
    parts = trnn.unpad_sequence(padded, taimatsu.tensor([4, 1, 2]))
    ref = torch.nn.utils.rnn.unpad_sequence(torch.tensor(rand(4, 3, 2)), torch.tensor([4, 1, 2]))
    assert [to_np(p).tolist() for p in parts] == [r.numpy().tolist() for r in ref]
    assert tuple(padded.shape) == (4, 3, 2)  # (PyTorch transposes its argument in place)


def test_packed_sequence_is_a_namedtuple_and_moves():
    p = trnn.pack_sequence([taimatsu.randn(3, 2), taimatsu.randn(2, 2)])
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert sorted_indices is None and unsorted_indices is None
    d = p.to(taimatsu.float64)
    assert d.data.dtype == taimatsu.float64 and d.batch_sizes is batch_sizes
    assert p.to(taimatsu.float32) is p and not p.is_cuda
    q = trnn.PackedSequence(data, batch_sizes, taimatsu.tensor([1, 0]))
    assert q.unsorted_indices.tolist() == [1, 0]


def test_pack_errors_change_nothing():
    x = taimatsu.randn(3, 2, 4)
    before = to_np(x).copy()
    with pytest.raises(RuntimeError, match="`lengths` array must be sorted in decreasing order "
                                           "when `enforce_sorted` is True"):
        trnn.pack_padded_sequence(x, [1, 3])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        trnn.pack_padded_sequence(x, [3, 0])
    with pytest.raises(RuntimeError, match="Expected `len\\(lengths\\)` to be equal to "
                                           "batch_size, but got 1 \\(batch_size=2\\)"):
        trnn.pack_padded_sequence(x, [3])
    packed = trnn.pack_padded_sequence(x, [3, 2])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        trnn.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right"):
        trnn.pad_sequence([x[0]], padding_side="middle")
    np.testing.assert_array_equal(to_np(x), before)



def test_state_dict_loads_into_pytorch():
    tm = tnn.GRU(3, 4, num_layers=2, bidirectional=True, bias=False)
    pm = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True, bias=False)
    pm.load_state_dict({k: torch.tensor(to_np(v)) for k, v in tm.state_dict().items()})
    x = rand(5, 2, 3)
    np.testing.assert_allclose(to_np(tm(taimatsu.tensor(x))[0]),
                               pm(torch.tensor(x))[0].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_non_contiguous_input(device):
    tm, pm = _pair(lambda nn: nn.LSTM(3, 4, batch_first=True), device=device)

    def run(lib, m, x):
        return m(x.transpose(0, 1))  # (T, B, in) data given as a (B, T, in) view

    _check(tm, pm, run, [rand(5, 2, 3)], device=device)


def test_char_lstm_example_runs():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "char_lstm" / "train.py"
    spec = importlib.util.spec_from_file_location("char_lstm_train", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(steps=2, batch=4, max_chars=20_000, sample_chars=10, quiet=True)
    assert np.isfinite(result["val_loss"]) and 0 < result["baseline"] < np.log(96)
    assert result["sample"].startswith("def ") and len(result["sample"]) == 14
