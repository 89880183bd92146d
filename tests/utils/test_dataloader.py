"""DataLoader against torch's: batches and order, workers, seeding, errors, clean shutdown."""
from __future__ import annotations

import gc
import multiprocessing
import os
import random
import signal
import time

import numpy as np
import pytest

import taimatsu
from taimatsu.utils import data as D
from tests.helpers import needs_torch
from tests.utils.test_data import same

try:
    import torch
    import torch.utils.data as TD
except ImportError:
    torch = TD = None


class Squares(D.Dataset):
    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(2, i * i, dtype=np.float32), "i": i}


class Range(D.IterableDataset):
    """0..n-1, sharded across workers by worker info."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = self._info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n

    @staticmethod
    def _info():
        return D.get_worker_info()


if TD is not None:
    class TorchRange(TD.IterableDataset):
        __init__, __iter__, __len__ = Range.__init__, Range.__iter__, Range.__len__

        @staticmethod
        def _info():
            return TD.get_worker_info()


class Failing(D.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 3:
            raise KeyError(f"no item {i}")
        return i


class Dying(D.Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return i


class Slow(D.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(2.0)
        return i


class Seeds(D.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = D.get_worker_info()
        return [info.id, info.seed, random.random(), taimatsu.rand(1).item(),
                float(np.random.rand())]


def children():
    return multiprocessing.active_children()


def _batches(loader):
    return [b for b in loader]


# ------------------------------------------------------------------------- same as torch
@needs_torch
@pytest.mark.parametrize("kwargs", [
    {}, {"batch_size": 3}, {"batch_size": 3, "drop_last": True}, {"batch_size": None},
    {"batch_size": 4, "num_workers": 2}, {"batch_size": 2, "num_workers": 3, "prefetch_factor": 1},
])
def test_map_dataset_batches_match_torch(kwargs):
    ours = list(D.DataLoader(Squares(), **kwargs))
    ref = list(TD.DataLoader(Squares(), **kwargs))
    assert len(ours) == len(ref) == len(D.DataLoader(Squares(), **kwargs))
    for a, b in zip(ours, ref):
        same(a, b)


@needs_torch
def test_batch_sampler_subset_concat_match_torch():
    ds = D.ConcatDataset([Squares(4), D.Subset(Squares(10), [9, 1, 5])])
    tds = TD.ConcatDataset([Squares(4), TD.Subset(Squares(10), [9, 1, 5])])
    bs = D.BatchSampler(D.SequentialSampler(range(7)), 3, False)
    for a, b in zip(D.DataLoader(ds, batch_sampler=bs), TD.DataLoader(tds, batch_sampler=list(bs))):
        same(a, b)


@needs_torch
@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterable_dataset_sharding_matches_torch(num_workers):
    ours = [b.tolist() for b in D.DataLoader(Range(10), batch_size=3, num_workers=num_workers)]
    ref = [b.tolist() for b in TD.DataLoader(TorchRange(10), batch_size=3,
                                             num_workers=num_workers)]
    assert ours == ref


def test_shuffle_is_a_seeded_permutation():
    def order(seed, **kw):
        loader = D.DataLoader(list(range(20)), batch_size=5, shuffle=True,
                              generator=taimatsu.Generator().manual_seed(seed), **kw)
        return [int(v) for b in loader for v in b]

    a = order(7)
    assert sorted(a) == list(range(20)) and a == order(7) and a != order(8)
    assert order(7, num_workers=2) == a  # the order comes from the main process


def test_in_order_false_yields_every_batch():
    loader = D.DataLoader(list(range(12)), batch_size=2, num_workers=3, in_order=False)
    assert sorted(int(v) for b in loader for v in b) == list(range(12))


def test_workers_seeding_as_pytorch():
    g = taimatsu.Generator().manual_seed(5)
    loader = D.DataLoader(Seeds(), batch_size=None, num_workers=2, generator=g)
    rows = [r for r in loader]
    base = rows[0][1] - rows[0][0]
    expected_base = int(taimatsu.empty((), dtype=taimatsu.int64).random_(
        generator=taimatsu.Generator().manual_seed(5)).item())
    assert base == expected_base
    for wid, seed, py, tm, npr in rows[:2]:
        assert seed == base + wid
        random.seed(seed)
        taimatsu.manual_seed(seed)
        np.random.seed(np.random.SeedSequence([wid, base]).generate_state(4))
        assert (py, tm, npr) == (random.random(), taimatsu.rand(1).item(), float(np.random.rand()))


def test_worker_init_fn_and_multiprocessing_context(tmp_path):
    def init(worker_id):
        (tmp_path / f"w{worker_id}").write_text(str(D.get_worker_info().num_workers))

    loader = D.DataLoader(list(range(4)), num_workers=2, worker_init_fn=init,
                          multiprocessing_context="fork")
    assert [int(b) for b in loader] == [0, 1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w0", "w1"]
    assert D.get_worker_info() is None


def test_spawn_context_works():
    # (a dataset the child can unpickle without importing this test module and PyTorch)
    ds = D.TensorDataset(taimatsu.arange(4))
    loader = D.DataLoader(ds, batch_size=2, num_workers=1, multiprocessing_context="spawn")
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3]]


def test_persistent_workers_reuse_processes():
    loader = D.DataLoader(Range(6), batch_size=2, num_workers=2, persistent_workers=True)
    first = [b.tolist() for b in loader]
    pids = sorted(w.pid for w in loader._iterator._workers)
    assert [b.tolist() for b in loader] == first
    assert sorted(w.pid for w in loader._iterator._workers) == pids
    it = loader._iterator
    del loader, it
    gc.collect()
    assert not children()


# ------------------------------------------------------------------------- failures
def test_worker_exception_reraised_with_traceback():
    with pytest.raises(KeyError) as info:
        list(D.DataLoader(Failing(), num_workers=2))
    msg = str(info.value)
    assert "Caught KeyError in DataLoader worker process 1" in msg
    assert "Traceback" in msg and "no item 3" in msg and "__getitem__" in msg
    del info  # its traceback holds the iterator
    gc.collect()
    assert not children()


def test_worker_init_exception_reraised():
    def init(worker_id):
        raise ValueError(f"init failed in {worker_id}")

    with pytest.raises(ValueError, match="init failed in"):
        list(D.DataLoader(list(range(4)), num_workers=1, worker_init_fn=init))


def test_killed_worker_is_a_clear_error_not_a_hang():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+, exit code -9 \(killed by "
                       r"signal SIGKILL\)\) exited unexpectedly"):
        list(D.DataLoader(Dying(), num_workers=2))
    assert time.monotonic() - start < 10
    gc.collect()
    assert not children()


def test_timeout():
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.3 seconds"):
        list(D.DataLoader(Slow(), num_workers=1, timeout=0.3))
    gc.collect()
    assert not children()


@pytest.mark.parametrize("how", ["break", "del"])
def test_interrupted_loop_leaves_no_processes(how):
    loader = D.DataLoader(Squares(40), batch_size=2, num_workers=2)
    it = iter(loader)
    next(it)
    assert len(children()) == 2
    if how == "break":
        for _ in it:
            break
    del it
    gc.collect()
    assert not children()


def test_pin_memory_is_accepted():
    assert [int(b) for b in D.DataLoader([1, 2], pin_memory=True)] == [1, 2]


# ------------------------------------------------------------------------- bad arguments
@needs_torch
@pytest.mark.parametrize("kwargs", [
    {"batch_size": 0}, {"num_workers": -1}, {"timeout": -1}, {"prefetch_factor": 2},
    {"num_workers": 1, "prefetch_factor": -1}, {"persistent_workers": True},
    {"sampler": [0, 1], "shuffle": True}, {"batch_sampler": [[0]], "batch_size": 2},
    {"batch_size": None, "drop_last": True}, {"multiprocessing_context": "fork"},
    {"num_workers": 1, "multiprocessing_context": "nope"},
    {"num_workers": 1, "multiprocessing_context": 3},
])
def test_bad_arguments_match_torch(kwargs):
    with pytest.raises(Exception) as ref:
        TD.DataLoader(list(range(4)), **kwargs)
    with pytest.raises(type(ref.value)) as ours:
        D.DataLoader(list(range(4)), **kwargs)
    assert str(ours.value) == str(ref.value)


@needs_torch
@pytest.mark.parametrize("kwargs", [{"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}])
def test_iterable_dataset_bad_arguments_match_torch(kwargs):
    with pytest.raises(ValueError) as ref:
        TD.DataLoader(TorchRange(3), **kwargs)
    with pytest.raises(ValueError) as ours:
        D.DataLoader(Range(3), **kwargs)
    assert str(ours.value).split(" but got")[0] == str(ref.value).split(" but got")[0]


def test_attributes_frozen_after_init():
    loader = D.DataLoader([1, 2])
    with pytest.raises(ValueError, match="batch_size attribute should not be set after "
                       "DataLoader is initialized"):
        loader.batch_size = 3


class FirstIsSlow(D.Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == 0:
            time.sleep(0.5)
        return i


def test_in_order_reorders_and_in_order_false_does_not():
    ordered = [int(b) for b in D.DataLoader(FirstIsSlow(), num_workers=2)]
    assert ordered == list(range(6))
    fast_first = [int(b) for b in D.DataLoader(FirstIsSlow(), num_workers=2, in_order=False)]
    assert sorted(fast_first) == list(range(6)) and fast_first[0] != 0


def test_module_paths_match_pytorch():
    from taimatsu.utils.data import dataloader, sampler
    from taimatsu.utils.data._utils import collate

    assert dataloader.DataLoader is D.DataLoader and dataloader.get_worker_info is D.get_worker_info
    assert collate.default_collate is D.default_collate and sampler.BatchSampler is D.BatchSampler
    assert taimatsu.utils.data.DataLoader is D.DataLoader
