"""Datasets, samplers and collation against torch.utils.data."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import taimatsu
from taimatsu.utils import data as D
from tests.helpers import needs_torch, to_np

try:
    import torch
    import torch.utils.data as TD
except ImportError:
    torch = TD = None


def same(a, b):
    """Structural equality of a taimatsu result and a torch one (tensors by value and dtype)."""
    if isinstance(a, taimatsu.Tensor):
        assert isinstance(b, torch.Tensor), (a, b)
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1]
        np.testing.assert_array_equal(to_np(a), to_np(b))
    elif isinstance(a, dict):
        assert type(a).__name__ == type(b).__name__ and list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a).__name__ == type(b).__name__ and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            same(x, y)
    else:
        assert a == b and type(a) is type(b)


# ------------------------------------------------------------------------- datasets
@needs_torch
def test_tensor_dataset_and_errors():
    x, y = np.arange(12.0).reshape(6, 2), np.arange(6)
    ds = D.TensorDataset(taimatsu.tensor(x), taimatsu.tensor(y))
    ref = TD.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ds) == len(ref) == 6
    for i in (0, 3, -1):
        same(ds[i], ref[i])
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        D.TensorDataset(taimatsu.zeros(3), taimatsu.zeros(4))


@needs_torch
def test_concat_subset_stack_chain():
    a, b = list(range(5)), list(range(10, 13))
    cat, tcat = D.ConcatDataset([a, b]), TD.ConcatDataset([a, b])
    assert [cat[i] for i in range(-8, 8)] == [tcat[i] for i in range(-8, 8)]
    assert cat.cumulative_sizes == tcat.cumulative_sizes
    with pytest.raises(ValueError, match="absolute value of index"):
        cat[-9]
    with pytest.raises(AssertionError, match="empty iterable"):
        D.ConcatDataset([])
    sub = D.Subset(cat, [7, 0, 5])
    assert [sub[i] for i in range(3)] == [12, 0, 10] and sub.__getitems__([0, 2]) == [12, 10]
    st, tst = D.StackDataset(a, a), TD.StackDataset(a, a)
    assert st[2] == tst[2] and st.__getitems__([1, 2]) == tst.__getitems__([1, 2])
    kd, tkd = D.StackDataset(x=a, y=a), TD.StackDataset(x=a, y=a)
    assert kd[1] == tkd[1] and kd.__getitems__([0, 4]) == tkd.__getitems__([0, 4])
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        D.StackDataset(a, b)
    with pytest.raises(ValueError, match="both types are given"):
        D.StackDataset(a, y=a)

    class Stream(D.IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n

    chain = Stream(2) + Stream(3)
    assert isinstance(chain, D.ChainDataset) and list(chain) == [0, 1, 0, 1, 2] and len(chain) == 5
    assert isinstance(D.TensorDataset(taimatsu.zeros(2)) + D.TensorDataset(taimatsu.zeros(3)),
                      D.ConcatDataset)
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        D.ConcatDataset([Stream(1)])
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        D.Dataset()[0]


def test_random_split_lengths_fractions_generator():
    parts = D.random_split(range(10), [3, 7], generator=taimatsu.Generator().manual_seed(42))
    again = D.random_split(range(10), [3, 7], generator=taimatsu.Generator().manual_seed(42))
    assert [list(p) for p in parts] == [list(p) for p in again]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10)) and len(parts[0]) == 3
    fr = D.random_split(range(11), [0.3, 0.3, 0.4])
    assert [len(p) for p in fr] == [4, 3, 4]  # floor 3,3,4 then the remainder round-robin
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        D.random_split(range(2), [1.0, 0.0])
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        D.random_split(range(10), [3, 6])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        D.random_split(range(10), [-0.5, 1.5])


# ------------------------------------------------------------------------- samplers
@needs_torch
def test_deterministic_samplers_match_torch():
    src = list(range(7))
    assert list(D.SequentialSampler(src)) == list(TD.SequentialSampler(src))
    for bs in (1, 3, 7, 10):
        for drop in (False, True):
            ours = D.BatchSampler(D.SequentialSampler(src), bs, drop)
            ref = TD.BatchSampler(TD.SequentialSampler(src), bs, drop)
            assert list(ours) == list(ref) and len(ours) == len(ref)


def test_random_samplers_are_seeded_permutations():
    src = list(range(10))
    g = taimatsu.Generator().manual_seed(1)
    order = list(D.RandomSampler(src, generator=g))
    assert sorted(order) == src
    assert list(D.RandomSampler(src, generator=taimatsu.Generator().manual_seed(1))) == order
    taimatsu.manual_seed(3)
    a = list(D.RandomSampler(src))
    taimatsu.manual_seed(3)
    assert list(D.RandomSampler(src)) == a
    long = list(D.RandomSampler(src, num_samples=25))
    assert len(long) == 25 and sorted(long[:10]) == src and sorted(long[10:20]) == src
    rep = list(D.RandomSampler(src, replacement=True, num_samples=50))
    assert len(rep) == 50 and set(rep) <= set(src)
    sub = list(D.SubsetRandomSampler([3, 5, 9]))
    assert sorted(sub) == [3, 5, 9]


def test_weighted_random_sampler():
    g = taimatsu.Generator().manual_seed(0)
    draws = list(D.WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g))
    counts = np.bincount(draws, minlength=3)
    assert counts[0] == 0 and 0.2 < counts[1] / 4000 < 0.3
    nr = list(D.WeightedRandomSampler([1.0, 1.0, 1.0, 0.0], 3, replacement=False))
    assert sorted(nr) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist"):
        list(D.WeightedRandomSampler([1.0, 0.0], 2, replacement=False))
    with pytest.raises(RuntimeError, match="encountering probability entry < 0"):
        list(D.WeightedRandomSampler([1.0, -1.0], 2))
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        list(D.WeightedRandomSampler([0.0, 0.0], 2))
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        D.WeightedRandomSampler([[1.0]], 2)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda M: M.RandomSampler([1], num_samples=0),
    lambda M: M.RandomSampler([1], replacement=1),
    lambda M: M.WeightedRandomSampler([1.0], num_samples=-1),
    lambda M: M.BatchSampler([1], batch_size=0, drop_last=False),
    lambda M: M.BatchSampler([1], batch_size=2, drop_last=None),
])
def test_sampler_errors_match_torch(make):
    with pytest.raises(Exception) as ref:
        make(TD)
    with pytest.raises(type(ref.value)) as ours:
        make(D)
    assert str(ours.value) == str(ref.value)


# ------------------------------------------------------------------------- collation
Point = collections.namedtuple("Point", "x y")


def _samples(lib):
    t = (lambda a: taimatsu.tensor(a)) if lib is taimatsu else (lambda a: torch.tensor(a))
    return [
        [t(np.arange(3.0)), t(np.ones(3))],
        [np.arange(4, dtype=np.int32), np.zeros(4, dtype=np.int32)],
        [np.float32(1.5), np.float32(2.5)],
        [np.int64(1), np.int64(7)],
        [1.5, 2.0], [1, 2], [True, False], ["a", "b"], [b"x", b"y"],
        [{"a": 1, "b": (2.0, "s")}, {"a": 3, "b": (4.0, "t")}],
        [collections.OrderedDict(k=1), collections.OrderedDict(k=2)],
        [Point(1, 2.0), Point(3, 4.0)],
        [[1, 2], [3, 4]], [(t(np.zeros(2)), 1), (t(np.ones(2)), 2)],
    ]


@needs_torch
@pytest.mark.parametrize("i", range(14))
def test_default_collate_matches_torch(i):
    same(D.default_collate(_samples(taimatsu)[i]), TD.default_collate(_samples(torch)[i]))


@needs_torch
@pytest.mark.parametrize("sample", [
    np.arange(3.0), np.float64(2.0), {"a": np.zeros(2), "b": [np.int8(1), "s"]},
    (np.ones(2), 3), Point(np.zeros(1), 1), "text", 5,
])
def test_default_convert_matches_torch(sample):
    same(D.default_convert(sample), TD.default_convert(sample))


@needs_torch
@pytest.mark.parametrize("batch", [
    [np.array(["a"]), np.array(["b"])],  # numpy strings: TypeError naming the dtype
    [object(), object()],  # unknown type
    [[1, 2], [3]],  # unequal sequence lengths
])
def test_default_collate_errors_match_torch(batch):
    with pytest.raises(Exception) as ref:
        TD.default_collate(batch)
    with pytest.raises(type(ref.value)) as ours:
        D.default_collate(batch)
    assert str(ours.value) == str(ref.value)


@needs_torch
def test_collate_mixed_types_and_sizes_match_torch():
    for a, b in ((np.zeros(3), np.zeros(4)), (np.zeros(3), 1)):
        ta = [torch.tensor(a), torch.tensor(b) if isinstance(b, np.ndarray) else b]
        oa = [taimatsu.tensor(a), taimatsu.tensor(b) if isinstance(b, np.ndarray) else b]
        with pytest.raises(Exception) as ref:
            TD.default_collate(ta)
        with pytest.raises(type(ref.value)) as ours:
            D.default_collate(oa)
        assert str(ours.value) == str(ref.value)
