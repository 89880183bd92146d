"""DistributedSampler against PyTorch's: index sequences without shuffle, shard properties with
shuffle (taimatsu's randperm draws a different stream than PyTorch's for the same seed, so the
shuffled order is compared with taimatsu's own permutation, not torch's)."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taimatsu
from taimatsu.utils.data.distributed import DistributedSampler
from tests.helpers import needs_torch

sizes = st.integers(0, 40)
replicas = st.integers(1, 6)


@needs_torch
@settings(max_examples=40, deadline=None)
@given(n=sizes, num_replicas=replicas, drop_last=st.booleans())
def test_unshuffled_matches_torch(n, num_replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler

    for rank in range(num_replicas):
        ours = DistributedSampler(range(n), num_replicas, rank, shuffle=False,
                                  drop_last=drop_last)
        theirs = TorchSampler(range(n), num_replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert (len(ours), ours.num_samples, ours.total_size) == (
            len(theirs), theirs.num_samples, theirs.total_size)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), num_replicas=replicas, drop_last=st.booleans(),
       seed=st.integers(0, 1000), epoch=st.integers(0, 5))
def test_shuffled_shards(n, num_replicas, drop_last, seed, epoch):
    shards = []
    for rank in range(num_replicas):
        s = DistributedSampler(range(n), num_replicas, rank, seed=seed, drop_last=drop_last)
        s.set_epoch(epoch)
        shards.append(list(s))
        assert len(shards[-1]) == len(s)
    assert len({len(sh) for sh in shards}) == 1  # equal shards
    # Interleaving the shards gives back the padded (or cut) permutation of seed + epoch.
    perm = taimatsu.randperm(n, generator=taimatsu.Generator().manual_seed(seed + epoch))
    perm = perm.tolist()
    total = len(shards[0]) * num_replicas
    expected = (perm * (total // n + 1))[:total]
    assert [shards[i % num_replicas][i // num_replicas] for i in range(total)] == expected
    everything = list(itertools.chain.from_iterable(shards))
    if drop_last:
        assert len(set(everything)) == total  # no index twice
    else:
        assert set(everything) == set(range(n))  # every index somewhere


def test_epoch_changes_order_and_seed_reproduces():
    a = DistributedSampler(range(50), 2, 0, seed=3)
    first = list(a)
    assert list(a) == first  # same epoch: same order
    a.set_epoch(1)
    assert list(a) != first
    b = DistributedSampler(range(50), 2, 0, seed=3)
    b.set_epoch(1)
    assert list(b) == list(a)
    assert list(DistributedSampler(range(50), 2, 0, seed=4)) != first


def test_with_dataloader():
    data = taimatsu.utils.data.TensorDataset(taimatsu.arange(10))
    s = DistributedSampler(data, num_replicas=3, rank=1, shuffle=False)
    loader = taimatsu.utils.data.DataLoader(data, batch_size=2, sampler=s)
    assert [b[0].tolist() for b in loader] == [[1, 4], [7, 0]]


@pytest.mark.parametrize("rank", [-1, 3])
def test_bad_rank(rank):
    with pytest.raises(ValueError, match=r"Invalid rank .*, rank should be in the interval "
                                         r"\[0, 2\]"):
        DistributedSampler(range(5), num_replicas=3, rank=rank)


def test_needs_process_group_without_num_replicas():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(5))
