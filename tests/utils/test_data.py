"""utils.data: datasets, samplers, DataLoader and default_collate (structure compared with torch)."""

import collections

import numpy as np
import pytest

import retrograd
from helpers import as_recorded, reference, torch
from retrograd.utils import data

Point = collections.namedtuple("Point", "x y")


def _summary(obj):
    """A library-independent view of a collated batch: containers, dtypes, values."""
    if hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return ("tensor", str(obj.dtype).replace("torch.", ""), obj.tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, {k: _summary(v) for k, v in obj.items()})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("namedtuple", [_summary(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_summary(v) for v in obj])
    return obj


def _batches(lib):
    arr = np.arange(6, dtype=np.float32).reshape(3, 2)
    return [
        [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
        [1, 2, 3],
        [1.5, 2.5],
        [True, False],
        ["a", "b"],
        [arr[0], arr[1]],
        [np.float32(1.5), np.float32(2.0)],
        [np.int64(3), np.int64(4)],
        [{"x": lib.tensor(1.0), "y": (1, 2.0)}, {"x": lib.tensor(2.0), "y": (3, 4.0)}],
        [collections.OrderedDict(a=1, b=[1.0, 2.0]), collections.OrderedDict(a=2, b=[3.0, 4.0])],
        [Point(1, 2.0), Point(3, 4.0)],
        [(lib.tensor([1, 2]), 0), (lib.tensor([3, 4]), 1)],
    ]


@pytest.mark.parametrize("i", range(12))
def test_default_collate_matches_torch(i):
    ours = data.default_collate(_batches(retrograd)[i])
    theirs = reference(lambda: _summary(torch.utils.data.default_collate(_batches(torch)[i])))
    assert as_recorded(_summary(ours)) == theirs


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        data.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        data.default_collate([object(), object()])


def test_default_convert():
    out = data.default_convert({"a": np.ones(2), "b": [np.zeros(1), 3]})
    assert isinstance(out["a"], retrograd.Tensor) and out["a"].dtype == retrograd.float64
    assert isinstance(out["b"][0], retrograd.Tensor) and out["b"][1] == 3


def _tensor_ds(lib, n=10):
    return (data if lib is retrograd else torch.utils.data).TensorDataset(
        lib.arange(n * 2, dtype=lib.float32).reshape(n, 2), lib.arange(n))


@pytest.mark.parametrize("kwargs", [dict(), dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                    dict(batch_size=None), dict(batch_size=4, num_workers=2)])
def test_sequential_loader_matches_torch(kwargs):
    ours = list(data.DataLoader(_tensor_ds(retrograd), **kwargs))
    theirs = reference(lambda: _summary(list(torch.utils.data.DataLoader(_tensor_ds(torch), **kwargs))))
    assert len(data.DataLoader(_tensor_ds(retrograd), **kwargs)) == len(ours) == len(theirs[1])
    assert as_recorded(_summary(ours)) == theirs


def test_shuffle_seeded_and_complete():
    ds = _tensor_ds(retrograd, 17)

    def epoch(seed):
        g = retrograd.Generator().manual_seed(seed)
        loader = data.DataLoader(ds, batch_size=5, shuffle=True, generator=g)
        return [y.tolist() for _, y in loader], [y.tolist() for _, y in loader]

    a1, a2 = epoch(0)
    b1, _ = epoch(0)
    assert a1 == b1  # same seed, same order
    assert a1 != a2  # a new permutation each epoch
    assert sorted(sum(a1, [])) == list(range(17)) and [len(b) for b in a1] == [5, 5, 5, 2]
    retrograd.manual_seed(3)
    c = [y.tolist() for _, y in data.DataLoader(ds, batch_size=5, shuffle=True)]
    retrograd.manual_seed(3)
    d = [y.tolist() for _, y in data.DataLoader(ds, batch_size=5, shuffle=True)]
    assert c == d  # manual_seed makes the global shuffling reproducible


def test_sampler_and_batch_sampler_options():
    ds = _tensor_ds(retrograd)
    loader = data.DataLoader(ds, batch_size=2, sampler=[9, 1, 4])
    assert [y.tolist() for _, y in loader] == [[9, 1], [4]]
    bs = data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    assert len(data.BatchSampler(range(7), 3, drop_last=True)) == 2
    loader = data.DataLoader(ds, batch_sampler=[[0, 1, 2], [5]])
    assert [y.tolist() for _, y in loader] == [[0, 1, 2], [5]]
    loader = data.DataLoader(ds, batch_size=4, collate_fn=lambda b: len(b))
    assert list(loader) == [4, 4, 2]
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        data.DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        data.DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        data.DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        data.BatchSampler(range(3), 0, False)
    data.DataLoader(ds, pin_memory=True, num_workers=2, persistent_workers=True)


def test_samplers():
    g = retrograd.Generator().manual_seed(1)
    rs = list(data.RandomSampler(range(10), generator=g))
    assert sorted(rs) == list(range(10))
    rr = list(data.RandomSampler(range(4), replacement=True, num_samples=50, generator=g))
    assert len(rr) == 50 and set(rr) <= set(range(4))
    more = list(data.RandomSampler(range(4), num_samples=10, generator=g))
    assert len(more) == 10 and sorted(more[:8]) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert sorted(data.SubsetRandomSampler([5, 7, 9], generator=g)) == [5, 7, 9]
    w = list(data.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 40, generator=g))
    assert len(w) == 40 and set(w) <= {1, 3} and w.count(3) > w.count(1)
    w2 = list(data.WeightedRandomSampler(retrograd.tensor([1.0, 1.0, 0.0]), 2, replacement=False, generator=g))
    assert sorted(w2) == [0, 1]
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        data.RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        data.RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        data.WeightedRandomSampler([[1.0]], 1)


def test_weighted_sampler_checks_its_weights_when_drawing_as_torch():
    g = retrograd.Generator().manual_seed(0)
    # more samples than non-zero weights: the zero-weight indices come last, as torch's multinomial
    assert sorted(data.WeightedRandomSampler([0.0, 1.0], 2, replacement=False, generator=g)) == [0, 1]
    for weights, n, replacement, message in [([0.1, 0.9], 5, False, "cannot sample n_sample > prob_dist"),
                                             ([-1.0, 1.0], 2, True, "probability entry < 0"),
                                             ([0.0, 0.0], 2, True, "sum of probabilities <= 0"),
                                             ([float("inf"), 1.0], 2, True, "infinity or NaN")]:
        sampler = data.WeightedRandomSampler(weights, n, replacement=replacement)  # made, as torch's
        with pytest.raises(RuntimeError, match=message):
            list(sampler)


def test_datasets():
    ds = _tensor_ds(retrograd, 5)
    x, y = ds[2]
    assert x.tolist() == [4.0, 5.0] and y.item() == 2 and len(ds) == 5
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        data.TensorDataset(retrograd.zeros(3), retrograd.zeros(4))
    cat = ds + data.TensorDataset(retrograd.zeros(2, 2), retrograd.zeros(2, dtype=retrograd.int64))
    assert isinstance(cat, data.ConcatDataset) and len(cat) == 7 and cat.cumulative_sizes == [5, 7]
    assert cat[5][0].tolist() == [0.0, 0.0] and cat[-3][1].item() == 4
    with pytest.raises(ValueError, match="absolute value of index"):
        cat[-8]
    with pytest.raises(AssertionError, match="empty iterable"):
        data.ConcatDataset([])
    sub = data.Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[0][1].item() == 4
    stacked = data.StackDataset(a=ds, b=list(range(5)))
    assert stacked[1]["b"] == 1


class Stream(data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_iterable_dataset():
    loader = data.DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    loader = data.DataLoader(Stream(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]] and len(loader) == 2
    assert list(data.DataLoader(Stream(2), batch_size=None)) == [0, 1]
    assert list(Stream(2) + Stream(1)) == [0, 1, 0]
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        data.DataLoader(Stream(3), shuffle=True)
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        data.ConcatDataset([Stream(1)])
    assert data.get_worker_info() is None


def test_random_split():
    ds = list(range(10))
    a, b = data.random_split(ds, [7, 3], generator=retrograd.Generator().manual_seed(0))
    assert len(a) == 7 and len(b) == 3 and sorted(list(a) + list(b)) == ds
    parts = data.random_split(range(11), [0.5, 0.3, 0.2], generator=retrograd.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [6, 3, 2]  # torch's rounding: remainder to the first splits
    again = data.random_split(ds, [7, 3], generator=retrograd.Generator().manual_seed(0))
    assert list(again[0]) == list(a)
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        data.random_split(ds, [3, 3])


def test_random_split_lengths_match_torch():
    for lengths in ([0.5, 0.3, 0.2], [0.25, 0.25, 0.5], [0.1] * 10):
        ours = [len(p) for p in data.random_split(range(23), lengths)]
        theirs = reference(lambda: [len(p) for p in torch.utils.data.random_split(range(23), lengths)])
        assert ours == theirs


def test_training_with_loader():
    rng = np.random.default_rng(0)
    X = retrograd.tensor(rng.standard_normal((64, 3)))
    y = X @ retrograd.tensor([1.0, -1.0, 2.0], dtype=retrograd.float64)  # (products do not promote)
    w = retrograd.nn.Parameter(retrograd.zeros(3, dtype=retrograd.float64))
    opt = retrograd.optim.SGD([w], lr=0.1)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=16, shuffle=True,
                             generator=retrograd.Generator().manual_seed(0))
    for _ in range(20):
        for xb, yb in loader:
            opt.zero_grad()
            loss = ((xb @ w - yb) ** 2).mean()
            loss.backward()
            opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [1.0, -1.0, 2.0], atol=1e-3)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (2, 4, False), (12, 4, True)])
def test_distributed_sampler_unshuffled_matches_torch(n, replicas, drop_last):
    def run(sampler):
        return [(list(s), len(s)) for s in (sampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                                             for rank in range(replicas))]

    assert as_recorded(run(data.DistributedSampler)) == reference(lambda: run(torch.utils.data.DistributedSampler))


def test_distributed_sampler_shuffled_partition():
    shards = [list(data.DistributedSampler(range(11), 3, r, seed=5)) for r in range(3)]
    assert sorted(set(sum(shards, []))) == list(range(11)) and all(len(s) == 4 for s in shards)
    s = data.DistributedSampler(range(11), 3, 0, seed=5)
    first = list(s)
    s.set_epoch(1)
    assert list(s) != first
    with pytest.raises(ValueError, match="Invalid rank 3"):
        data.DistributedSampler(range(4), 3, 3)


@pytest.mark.parametrize("subset", [False, True])
def test_tensor_dataset_fast_path_equals_per_sample_collate(subset):
    ds = data.TensorDataset(retrograd.randn(30, 3), retrograd.arange(30), retrograd.randn(30, 2, 2).double())
    if subset:
        ds = data.Subset(data.Subset(ds, list(range(29, -1, -1))), [0, 5, 7, 9, 11, 2, 3, 4, 20, 21, 22])

    def batches(collate):
        g = retrograd.Generator().manual_seed(4)
        kwargs = {} if collate is None else {"collate_fn": collate}
        return list(data.DataLoader(ds, batch_size=4, shuffle=True, generator=g, **kwargs))

    fast = batches(None)
    slow = batches(lambda b: data.default_collate(b))  # not the default_collate object: per-sample path
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert isinstance(a, list) and len(a) == len(b) == 3
        for x, y in zip(a, b):
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_default_collate_keeps_graph_and_promotes():
    a = retrograd.ones(2, requires_grad=True)
    out = data.default_collate([a, a * 2])
    assert out.requires_grad and out.shape == (2, 2)
    out.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]
    mixed = data.default_collate([retrograd.ones(2), retrograd.ones(2, dtype=retrograd.float64)])
    assert mixed.dtype == retrograd.float64


def test_random_sampler_with_replacement_draws_lazily():
    """num_samples=10**10 allocates nothing up front (it asked NumPy for 74.5 GiB before); the
    first indices are those of a short sampler with the same generator seed (the chunks are one
    stream); len() is num_samples, as torch's."""
    import itertools
    import tracemalloc

    sampler = data.RandomSampler(range(10), replacement=True, num_samples=10**10,
                                 generator=retrograd.Generator().manual_seed(4))
    assert len(sampler) == 10**10
    tracemalloc.start()
    head = list(itertools.islice(sampler, 100))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20
    short = data.RandomSampler(range(10), replacement=True, num_samples=100,
                               generator=retrograd.Generator().manual_seed(4))
    assert head == list(short) and set(head) == set(range(10))
    batches = data.BatchSampler(sampler, 4, drop_last=False)
    assert len(batches) == 10**10 // 4 and len(next(iter(batches))) == 4
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        next(iter(data.RandomSampler([], replacement=True, num_samples=3)))


def test_weighted_random_sampler_with_replacement_draws_lazily():
    """Also lazy (torch's multinomial would allocate 80 GB here); the frequencies follow the
    weights (5-sigma bounds over 20,000 draws) and zero weights are never drawn."""
    import itertools
    import tracemalloc

    weights = [0.0, 1.0, 0.0, 3.0, 4.0]
    sampler = data.WeightedRandomSampler(weights, 10**10, generator=retrograd.Generator().manual_seed(0))
    assert len(sampler) == 10**10
    tracemalloc.start()
    draws = np.array(list(itertools.islice(sampler, 20000)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 << 20  # the 20,000 Python ints drawn, not 10**10
    counts = np.bincount(draws, minlength=5)
    assert counts[0] == counts[2] == 0
    for k, p in ((1, 1 / 8), (3, 3 / 8), (4, 4 / 8)):
        assert abs(counts[k] - 20000 * p) < 5 * np.sqrt(20000 * p * (1 - p))
    again = data.WeightedRandomSampler(weights, 50, generator=retrograd.Generator().manual_seed(0))
    assert list(again) == draws[:50].tolist()  # one stream, whatever num_samples


def test_sampler_generators_as_torch():
    """generator=None: RandomSampler seeds a private stream from the global generator each epoch;
    SubsetRandomSampler permutes with the global generator itself (torch's randperm(generator=None));
    a given generator carries on from epoch to epoch."""
    idx = [10, 11, 12, 13, 14, 15, 16]
    retrograd.manual_seed(7)
    ours = list(data.SubsetRandomSampler(idx))
    after = retrograd.rand(3).tolist()
    retrograd.manual_seed(7)
    assert ours == [idx[i] for i in retrograd.randperm(len(idx)).tolist()]
    assert retrograd.rand(3).tolist() == after
    g = retrograd.Generator().manual_seed(1)
    sub = data.SubsetRandomSampler(idx, generator=g)
    first, second = list(sub), list(sub)
    assert first != second and sorted(first) == sorted(second) == idx
    assert first == list(data.SubsetRandomSampler(idx, generator=retrograd.Generator().manual_seed(1)))
    retrograd.manual_seed(2)
    a = list(data.RandomSampler(range(9)))
    retrograd.manual_seed(2)
    assert a == list(data.RandomSampler(range(9))) and sorted(a) == list(range(9))


class _Tens(data.Dataset):
    """A dataset with its own batched __getitems__ (returning ``short`` fewer samples than asked)."""

    def __init__(self, short=0):
        self.short = short

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return i

    def __getitems__(self, indices):
        return [10 * i for i in indices][: len(indices) - self.short]


def test_stack_dataset_getitems_reads_batches_as_torch():
    assert data.StackDataset(_Tens(), list(range(5))).__getitems__([1, 3]) == [(10, 1), (30, 3)]
    assert data.StackDataset(a=_Tens(), b=list(range(5))).__getitems__([1, 3]) == [{"a": 10, "b": 1},
                                                                                  {"a": 30, "b": 3}]
    with pytest.raises(ValueError, match="Nested dataset's output size mismatch. Expected 2, got 1"):
        data.StackDataset(list(range(5)), _Tens(short=1)).__getitems__([1, 3])
    batches = list(data.DataLoader(data.StackDataset(_Tens(), list(range(5))), batch_size=2))
    assert [[b.tolist() for b in batch] for batch in batches] == [[[0, 10], [0, 1]], [[20, 30], [2, 3]], [[40], [4]]]


def test_stack_dataset_of_no_dataset_raises_value_error_as_torch():
    with pytest.raises(ValueError, match="At least one dataset should be passed"):
        data.StackDataset()
