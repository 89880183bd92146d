"""DistributedDataParallel and SyncBatchNorm on 2 and 4 MPI ranks.

One job per world size runs every scenario (a launch costs seconds here) and reports arrays;
the tests compare them with one process training on the whole batch (taimatsu, for DDP) or
with PyTorch's BatchNorm on the concatenated batch (for SyncBatchNorm).
"""
from __future__ import annotations

import functools
import textwrap

import numpy as np
import pytest

import taimatsu
from tests.distributed._launch import launch, requires_mpi
from tests.helpers import needs_torch, torch

# Shared by the ranks' script and the single-process references.
COMMON = textwrap.dedent('''
    import numpy as np
    import taimatsu

    GLOBAL_BATCH = 8
    STEPS = 3

    def data(seed, n=GLOBAL_BATCH, features=4, outputs=3):
        rng = np.random.default_rng(seed)
        return (rng.standard_normal((n, features)).astype(np.float32),
                rng.standard_normal((n, outputs)).astype(np.float32))

    def mlp(T, seed, bn=False):
        T.manual_seed(seed)
        layers = [T.nn.Linear(4, 16)]
        if bn:
            layers.append(T.nn.BatchNorm1d(16))
        layers += [T.nn.Tanh(), T.nn.Linear(16, 8), T.nn.Tanh(), T.nn.Linear(8, 3)]
        return T.nn.Sequential(*layers)

    def train(model, chunks, opt, steps=STEPS):
        """``chunks(step)``: this process's (x, y); loss is the mean over them."""
        for step in range(steps):
            x, y = chunks(step)
            opt.zero_grad()
            loss = ((model(taimatsu.tensor(x)) - taimatsu.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
        return {k: v.numpy().copy() for k, v in model.state_dict().items()}

    class Branches(taimatsu.nn.Module):
        """``b`` is used only when asked, ``c`` never."""

        def __init__(self):
            super().__init__()
            self.a = taimatsu.nn.Linear(4, 3)
            self.b = taimatsu.nn.Linear(4, 3)
            self.c = taimatsu.nn.Linear(4, 3)

        def forward(self, x, use_b):
            out = self.a(x)
            return out + self.b(x) if use_b else out

    class TwoHeads(taimatsu.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = taimatsu.nn.Linear(4, 3)
            self.b = taimatsu.nn.Linear(4, 3)

        def forward(self, x):
            return self.a(x), self.b(x)

    class Mixed(taimatsu.nn.Module):
        """A float32 layer, then a float64 one: two kinds of bucket."""

        def __init__(self):
            super().__init__()
            self.a = taimatsu.nn.Linear(4, 3)
            self.b = taimatsu.nn.Linear(3, 3).double()

        def forward(self, x):
            return self.b(self.a(x).double()).float()

    class Scaled(taimatsu.nn.Module):
        def __init__(self, value):
            super().__init__()
            self.lin = taimatsu.nn.Linear(4, 3)
            self.register_buffer("scale", taimatsu.tensor(float(value)))

        def forward(self, x):
            return self.lin(x) * self.scale
''')

RANK_SCRIPT = COMMON + textwrap.dedent('''
    import taimatsu.distributed as dist
    from taimatsu.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    per = GLOBAL_BATCH // world
    X, Y = data(1)
    mine = lambda step: (X[rank * per:(rank + 1) * per] + step, Y[rank * per:(rank + 1) * per])
    result = {}

    def catch(fn):
        try:
            fn()
        except Exception as e:  # reported to the test, which checks type and message
            return type(e).__name__, str(e)
        return None

    # Different random inits per rank: the wrap copies rank 0's. Tiny buckets: several of them.
    for name, kw in [("basic", {"bucket_cap_mb": 0.0002}), ("default", {}),
                     ("bucket_view", {"bucket_cap_mb": 0.0002, "gradient_as_bucket_view": True})]:
        model = DDP(mlp(taimatsu, seed=rank), **kw)
        opt = taimatsu.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        result[name] = train(model, mine, opt)
        result[name + "_buckets"] = [b.indices for b in model._buckets]
        result[name + "_grad_in_bucket"] = [
            any(np.shares_memory(p.grad.numpy(), b.buffer.numpy()) for b in model._buckets)
            for p in model.parameters()]

    # Parameters of two dtypes.
    taimatsu.manual_seed(rank)
    model = DDP(Mixed(), bucket_cap_mb=0.00002)
    result["mixed"] = train(model, mine, taimatsu.optim.SGD(model.parameters(), lr=0.1))
    result["mixed_buckets"] = [(b.indices, str(b.buffer.dtype)) for b in model._buckets]

    # SyncBatchNorm inside DDP: the same as one BatchNorm1d over the whole batch.
    model = DDP(taimatsu.nn.SyncBatchNorm.convert_sync_batchnorm(mlp(taimatsu, rank, bn=True)))
    opt = taimatsu.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    result["syncbn"] = train(model, mine, opt)

    # no_sync: two local accumulations, then a synchronised backward.
    model = DDP(mlp(taimatsu, seed=rank), bucket_cap_mb=0.0002)
    for step in range(3):
        x, y = mine(step)
        ctx = model.no_sync() if step < 2 else __import__("contextlib").nullcontext()
        with ctx:
            ((model(taimatsu.tensor(x)) - taimatsu.tensor(y)) ** 2).mean().backward()
        if step == 0:
            result["no_sync_local"] = [p.grad.numpy().copy() for p in model.parameters()]
    result["no_sync"] = [p.grad.numpy().copy() for p in model.parameters()]

    # find_unused_parameters: rank 1 uses b, rank 0 does not; c is unused everywhere.
    taimatsu.manual_seed(0)
    model = DDP(Branches(), find_unused_parameters=True)
    for step in range(2):  # the second step checks the state resets between iterations
        model.zero_grad()
        x, _ = mine(step)
        model(taimatsu.tensor(x), use_b=rank == 1).sum().backward()
    result["unused"] = {n: None if p.grad is None else p.grad.numpy().copy()
                        for n, p in model.module.named_parameters()}

    # An output left out of the loss: its parameters are in the graph but get no gradient.
    model = DDP(TwoHeads(), find_unused_parameters=True)
    for step in range(2):
        model(taimatsu.tensor(mine(step)[0]))[0].sum().backward()
    result["left_out"] = {n: None if p.grad is None else p.grad.numpy().copy()
                          for n, p in model.module.named_parameters()}

    # Without find_unused_parameters the next forward refuses, naming the parameters.
    model = DDP(Branches())
    x = taimatsu.tensor(mine(0)[0])
    model(x, use_b=False).sum().backward()
    result["unused_error"] = catch(lambda: model(x, use_b=False))

    # autograd.grad on the parameters does not run to the model's start: refused next time.
    model = DDP(taimatsu.nn.Linear(4, 3))
    taimatsu.autograd.grad(model(x).sum(), list(model.parameters()))
    result["grad_error"] = catch(lambda: model(x))
    with model.no_sync():  # the way to do it
        grads = taimatsu.autograd.grad(model(x).sum(), list(model.parameters()))
    result["grad_no_sync"] = grads[1].numpy().copy()

    # Buffers: rank 0's at wrap time and before every forward (unless switched off).
    model = DDP(Scaled(rank + 1))
    result["buffer_wrap"] = model.module.scale.item()
    if rank == 0:
        model.module.scale.fill_(7.0)
    model(x)
    result["buffer_forward"] = model.module.scale.item()
    model = DDP(Scaled(rank + 1), forward_sync_buffers=False)
    model.module.scale.fill_(10.0 + rank)
    model(x)
    result["buffer_off"] = model.module.scale.item()

    # Bad models: different shapes per rank, no trainable parameter, device_ids on CPU.
    odd = taimatsu.nn.Linear(4, 3 + rank)
    before = odd.weight.detach().numpy().copy()
    result["shape_error"] = catch(lambda: DDP(odd))
    result["shape_error_unchanged"] = bool((odd.weight.detach().numpy() == before).all())
    frozen = taimatsu.nn.Linear(2, 2).requires_grad_(False)
    result["frozen_error"] = catch(lambda: DDP(frozen))
    result["device_ids_error"] = catch(lambda: DDP(taimatsu.nn.Linear(2, 2), device_ids=[0]))
    result["keys"] = list(DDP(taimatsu.nn.Linear(2, 2)).state_dict())

    # SyncBatchNorm alone, uneven batches (rank r holds r + 2 samples), 2D and 4D inputs.
    offsets = np.cumsum([0] + [r + 2 for r in range(world)])
    for name, shape in [("sbn2d", (5,)), ("sbn4d", (3, 2, 3))]:
        rng = np.random.default_rng(5)
        full_x = rng.standard_normal((offsets[-1], *shape)).astype(np.float32) * 2 + 1
        full_c = rng.standard_normal(full_x.shape).astype(np.float32)
        sl = slice(offsets[rank], offsets[rank + 1])
        bn = taimatsu.nn.SyncBatchNorm(shape[0], momentum=0.3)
        with taimatsu.no_grad():
            bn.weight.copy_(taimatsu.linspace(0.5, 1.5, shape[0]))
            bn.bias.copy_(taimatsu.linspace(-1, 1, shape[0]))
        xt = taimatsu.tensor(full_x[sl], requires_grad=True)
        out = bn(xt)
        (out * taimatsu.tensor(full_c[sl])).sum().backward()
        bn.eval()
        result[name] = {"out": out.detach().numpy(), "gx": xt.grad.numpy(),
                        "gw": bn.weight.grad.numpy(), "gb": bn.bias.grad.numpy(),
                        "rm": bn.running_mean.numpy(), "rv": bn.running_var.numpy(),
                        "nbt": bn.num_batches_tracked.item(),
                        "eval": bn(taimatsu.tensor(full_x[sl])).detach().numpy()}
    # momentum=None (a cumulative average) over two batches; no affine and no running stats.
    sl = slice(offsets[rank], offsets[rank + 1])
    for name, kw in [("sbn_cma", {"momentum": None}),
                     ("sbn_plain", {"affine": False, "track_running_stats": False})]:
        full_x = np.random.default_rng(6).standard_normal((offsets[-1], 5)).astype(np.float32)
        bn = taimatsu.nn.SyncBatchNorm(5, **kw)
        got = []
        for step in range(2):
            xt = taimatsu.tensor(full_x[sl] * (step + 1) + step, requires_grad=True)
            out = bn(xt)
            (out ** 3).sum().backward()
            got.append((out.detach().numpy(), xt.grad.numpy()))
        result[name] = (got, None if bn.running_mean is None else
                        (bn.running_mean.numpy(), bn.running_var.numpy()))
    # An empty batch on rank 0 still takes part in both collectives.
    bn = taimatsu.nn.SyncBatchNorm(2)
    xt = taimatsu.ones(0 if rank == 0 else 3, 2, requires_grad=True)
    bn(xt * taimatsu.arange(2.0)).sum().backward()
    result["sbn_empty"] = (xt.grad.shape, bn.running_mean.numpy().copy())
    # Differentiable once, as PyTorch's: a second derivative through it raises.
    xt = taimatsu.randn(4, 2, requires_grad=True)
    (g,) = taimatsu.autograd.grad((bn(xt) ** 3).sum(), xt, create_graph=True)
    result["sbn_twice"] = catch(lambda: g.sum().backward())
''')


@functools.cache
def _job(world: int):
    return launch(RANK_SCRIPT, nprocs=world, timeout=120, check=False)


def _run(world: int) -> list:
    """Every rank's results (one launch per world size, a failed one reported by each test)."""
    job = _job(world)
    assert job.returncode == 0 and not job.timed_out, job.describe()
    return job.results


def _common():
    scope: dict = {}
    exec(COMMON, scope)  # noqa: S102 - the same definitions the ranks ran
    return scope


WORLDS = [pytest.param(2, id="2ranks"), pytest.param(4, id="4ranks")]
pytestmark = requires_mpi


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _reference(bn: bool = False):
    """One process, the whole batch, rank 0's initial weights."""
    c = _common()
    model = c["mlp"](taimatsu, seed=0, bn=bn)
    opt = taimatsu.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = c["data"](1)
    return c["train"](model, lambda step: (x + step, y), opt)


@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("name", ["basic", "default", "bucket_view"])
def test_training_equals_one_process(world, name):
    ref = _reference()
    for res in _run(world):
        assert list(res[name]) == ["module." + k for k in ref]  # PyTorch's state-dict keys
        for k in ref:
            _close(res[name]["module." + k], ref[k])


@pytest.mark.parametrize("world", WORLDS)
def test_gradient_as_bucket_view(world):
    res = _run(world)[0]
    assert all(res["bucket_view_grad_in_bucket"])
    assert not any(res["basic_grad_in_bucket"])


@pytest.mark.parametrize("world", WORLDS)
def test_two_dtypes(world):
    c = _common()
    taimatsu.manual_seed(0)
    model = c["Mixed"]()
    x, y = c["data"](1)
    ref = c["train"](model, lambda step: (x + step, y), taimatsu.optim.SGD(model.parameters(),
                                                                            lr=0.1))
    for res in _run(world):
        for k in ref:
            assert res["mixed"]["module." + k].dtype == ref[k].dtype
            _close(res["mixed"]["module." + k], ref[k])
    # ~21-byte buckets, one dtype each: either float64 parameter fills one, the float32 bias
    # (12 bytes) shares one with the weight
    assert _run(world)[0]["mixed_buckets"] == [
        ([3], "taimatsu.float64"), ([2], "taimatsu.float64"), ([1, 0], "taimatsu.float32")]


@pytest.mark.parametrize("world", WORLDS)
def test_buckets_reverse_order(world):
    buckets = _run(world)[0]["basic_buckets"]
    # 6 parameters, 0.0002 MiB (209 bytes) each: the last parameters first, each index once.
    assert buckets[0][0] == 5
    assert [i for b in buckets for i in b] == list(range(5, -1, -1))
    assert len(buckets) > 1
    assert _run(world)[0]["default_buckets"] == [[5, 4, 3, 2, 1, 0]]  # all fit in 1 MiB


@pytest.mark.parametrize("world", WORLDS)
def test_sync_batchnorm_in_ddp_equals_one_batchnorm(world):
    # (SGD: Adam would blow up the rounding noise of the first bias, whose true gradient the
    # batch norm after it makes zero)
    ref = _reference(bn=True)
    for res in _run(world):
        assert list(res["syncbn"]) == ["module." + k for k in ref]  # BatchNorm's keys
        for k in ref:
            _close(res["syncbn"]["module." + k], ref[k])


@pytest.mark.parametrize("world", WORLDS)
def test_no_sync_accumulation(world):
    c = _common()
    model = c["mlp"](taimatsu, seed=0)
    x, y = c["data"](1)
    for step in range(3):
        ((model(taimatsu.tensor(x + step)) - taimatsu.tensor(y)) ** 2).mean().backward()
    results = _run(world)
    for res in results:
        for got, p in zip(res["no_sync"], model.parameters()):
            _close(got, p.grad.numpy())
    # Inside no_sync the gradients stay local: the ranks differ after the first backward.
    assert not np.allclose(results[0]["no_sync_local"][0], results[1]["no_sync_local"][0])


@pytest.mark.parametrize("world", WORLDS)
def test_find_unused_parameters(world):
    c = _common()
    per = c["GLOBAL_BATCH"] // world
    x = c["data"](1)[0] + 1  # the second step's data
    taimatsu.manual_seed(0)
    model = c["Branches"]()
    out = model(taimatsu.tensor(x[per:2 * per]), use_b=True)  # rank 1's share
    out.sum().backward()
    for res in _run(world):
        got = res["unused"]
        assert got["c.weight"] is None and got["c.bias"] is None  # unused on every rank
        for name in ("b.weight", "b.bias"):  # used by rank 1 only: its gradient / world
            _close(got[name], dict(model.named_parameters())[name].grad.numpy() / world)
        # a: every rank's share; its mean over ranks is the full-batch sum over ranks / world
        full = c["Branches"]()
        full.load_state_dict(model.state_dict())
        full.a(taimatsu.tensor(x)).sum().backward()
        _close(got["a.weight"], full.a.weight.grad.numpy() / world)


@pytest.mark.parametrize("world", WORLDS)
def test_find_unused_output_left_out_of_loss(world):
    c = _common()
    x = c["data"](1)[0]
    for res in _run(world):
        got = res["left_out"]
        assert got["b.weight"] is None and got["b.bias"] is None
        # two backwards accumulated: the sums over the whole batch of x and x + 1, / world
        expected = (x.sum(0) + (x + 1).sum(0)) / world
        _close(got["a.weight"], np.broadcast_to(expected, (3, 4)))
        _close(got["a.bias"], np.full(3, 2 * c["GLOBAL_BATCH"] / world))


@pytest.mark.parametrize("world", WORLDS)
def test_unused_parameter_without_find_unused_raises(world):
    for rank, res in enumerate(_run(world)):
        kind, msg = res["unused_error"]
        assert kind == "RuntimeError"
        assert "Expected to have finished reduction in the prior iteration" in msg
        assert f"did not receive grad for rank {rank}: 2 3 4 5" in msg  # b and c


@pytest.mark.parametrize("world", WORLDS)
def test_autograd_grad_on_parameters(world):
    for res in _run(world):
        kind, msg = res["grad_error"]
        assert kind == "RuntimeError" and "run such passes under model.no_sync()" in msg
        _close(res["grad_no_sync"], np.full(3, 8.0 / world))  # local: this rank's rows


@pytest.mark.parametrize("world", WORLDS)
def test_buffers(world):
    for res in _run(world):
        assert res["buffer_wrap"] == 1.0  # rank 0's at wrap time
        assert res["buffer_forward"] == 7.0  # and before each forward
    assert [r["buffer_off"] for r in _run(world)] == [10.0 + r for r in range(world)]


@pytest.mark.parametrize("world", WORLDS)
def test_bad_models(world):
    for rank, res in enumerate(_run(world)):
        kind, msg = res["shape_error"]
        assert kind == "RuntimeError" and "DDP expects same model across all ranks" in msg
        assert res["shape_error_unchanged"]  # refused before the broadcast
        assert res["frozen_error"] == (
            "RuntimeError", ("DistributedDataParallel is not needed when a module doesn't "
                             "have any parameter that requires a gradient."))
        kind, msg = res["device_ids_error"]
        assert kind == "ValueError" and "device_ids [0], output_device None" in msg
        assert res["keys"] == ["module.weight", "module.bias"]


@needs_torch
@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("name", ["sbn2d", "sbn4d"])
def test_sync_batchnorm_equals_batchnorm_on_concatenated_batch(world, name):
    shape = (5,) if name == "sbn2d" else (3, 2, 3)
    offsets = np.cumsum([0] + [r + 2 for r in range(world)])
    rng = np.random.default_rng(5)
    full_x = rng.standard_normal((offsets[-1], *shape)).astype(np.float32) * 2 + 1
    full_c = rng.standard_normal(full_x.shape).astype(np.float32)
    bn = (torch.nn.BatchNorm1d if name == "sbn2d" else torch.nn.BatchNorm2d)(shape[0],
                                                                            momentum=0.3)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 1.5, shape[0]))
        bn.bias.copy_(torch.linspace(-1, 1, shape[0]))
    xt = torch.tensor(full_x, requires_grad=True)
    out = bn(xt)
    (out * torch.tensor(full_c)).sum().backward()
    bn.eval()
    ev = bn(torch.tensor(full_x)).detach().numpy()
    results = _run(world)
    for r, res in enumerate(results):
        got = res[name]
        sl = slice(offsets[r], offsets[r + 1])
        _close(got["out"], out.detach().numpy()[sl])
        _close(got["gx"], xt.grad.numpy()[sl])
        _close(got["rm"], bn.running_mean.numpy())
        _close(got["rv"], bn.running_var.numpy())
        _close(got["eval"], ev[sl])
        assert got["nbt"] == 1
    # Parameter gradients stay local (DDP averages them): their sum is BatchNorm's.
    _close(sum(res[name]["gw"] for res in results), bn.weight.grad.numpy())
    _close(sum(res[name]["gb"] for res in results), bn.bias.grad.numpy())


@needs_torch
@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("name", ["sbn_cma", "sbn_plain"])
def test_sync_batchnorm_options(world, name):
    offsets = np.cumsum([0] + [r + 2 for r in range(world)])
    full_x = np.random.default_rng(6).standard_normal((offsets[-1], 5)).astype(np.float32)
    kw = {"momentum": None} if name == "sbn_cma" else {"affine": False,
                                                        "track_running_stats": False}
    bn = torch.nn.BatchNorm1d(5, **kw)
    steps = []
    for step in range(2):
        xt = torch.tensor(full_x * (step + 1) + step, requires_grad=True)
        out = bn(xt)
        (out ** 3).sum().backward()
        steps.append((out.detach().numpy(), xt.grad.numpy()))
    for r, res in enumerate(_run(world)):
        got, running = res[name]
        sl = slice(offsets[r], offsets[r + 1])
        for (out, gx), (ref_out, ref_gx) in zip(got, steps):
            _close(out, ref_out[sl])
            np.testing.assert_allclose(gx, ref_gx[sl], rtol=1e-4, atol=1e-5)
        if name == "sbn_cma":
            _close(running[0], bn.running_mean.numpy())
            _close(running[1], bn.running_var.numpy())
        else:
            assert running is None


@pytest.mark.parametrize("world", WORLDS)
def test_sync_batchnorm_differentiable_once(world):
    for res in _run(world):
        assert res["sbn_twice"] == ("RuntimeError", ("trying to differentiate twice a "
                                    "function that was marked with @once_differentiable"))


@pytest.mark.parametrize("world", WORLDS)
def test_sync_batchnorm_empty_rank(world):
    results = _run(world)
    assert results[0]["sbn_empty"][0] == (0, 2)
    for res in results:
        # mean of [0, 1] over the other ranks' rows; rank 0 contributes nothing
        _close(res["sbn_empty"][1], [0.0, 0.1])

