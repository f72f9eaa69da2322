"""DistributedSampler shuffles as torch's: the same indices on each rank for the same seed and
epoch (torch's randperm from an MT19937 seeded with seed + epoch), and set_epoch changes them."""

import pytest

from helpers import requires_torch, torch
from retrograd.utils import data

# torch 2.13: torch.randperm(12, generator=torch.Generator().manual_seed(s)).tolist(), s = 3, 4
TORCH_RANDPERM_12 = {3: [10, 9, 1, 6, 4, 11, 3, 7, 2, 0, 8, 5], 4: [10, 2, 3, 5, 1, 4, 11, 8, 0, 9, 7, 6]}


def shards(sampler_class, n, replicas, seed, epoch, drop_last=False):
    out = []
    for rank in range(replicas):
        s = sampler_class(range(n), replicas, rank, seed=seed, drop_last=drop_last)
        s.set_epoch(epoch)
        out.append(list(s))
    return out


def test_set_epoch_gives_torchs_recorded_order():
    # seed 1 + epoch 2 and seed 0 + epoch 4 draw torch's randperm with seeds 3 and 4
    assert shards(data.DistributedSampler, 12, 1, seed=1, epoch=2) == [TORCH_RANDPERM_12[3]]
    assert shards(data.DistributedSampler, 12, 2, seed=0, epoch=4) == [TORCH_RANDPERM_12[4][0::2],
                                                                      TORCH_RANDPERM_12[4][1::2]]


@requires_torch
@pytest.mark.parametrize("n,replicas,seed,drop_last", [(1797, 2, 0, False), (11, 3, 5, False), (11, 3, 7, True),
                                                       (1, 2, 2**40 + 1, False)])
@pytest.mark.parametrize("epoch", [0, 1, 9])
def test_shards_equal_torchs(n, replicas, seed, drop_last, epoch):
    assert shards(data.DistributedSampler, n, replicas, seed, epoch, drop_last) == \
        shards(torch.utils.data.DistributedSampler, n, replicas, seed, epoch, drop_last)


def test_each_epoch_is_a_new_partition_of_the_data():
    first, second = (shards(data.DistributedSampler, 10, 2, seed=0, epoch=e) for e in (0, 1))
    assert first != second
    for parts in (first, second):
        assert sorted(parts[0] + parts[1]) == list(range(10))


def test_no_process_group_raises_value_error_as_torch():
    dist = pytest.importorskip("retrograd.distributed")
    if not dist.is_available() or dist.is_initialized():
        pytest.skip("needs MPI available and no process group")
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        data.DistributedSampler(range(4))
