"""DataLoader(num_workers > 0): real worker processes, as torch's.

Workers start by fork where the platform has it (as torch's default on Linux with Python < 3.14),
so each loader costs a few milliseconds; the datasets are a handful of items. No timing is
asserted: the ordering tests synchronise the workers with events, not sleeps.
"""

import gc
import multiprocessing
import os
import pickle
import random
import warnings

import numpy as np
import pytest

import retrograd
from helpers import as_recorded, reference, torch
from retrograd.utils import data
from retrograd.utils.data import _worker

CTX = "fork" if "fork" in multiprocessing.get_all_start_methods() else None


def loader(dataset, **kwargs):
    kwargs.setdefault("multiprocessing_context", CTX if kwargs.get("num_workers") else None)
    return data.DataLoader(dataset, **kwargs)


class Items(data.Dataset):
    """``n`` items: (index, worker id or -1, worker seed or -1, pid) as an int64 tensor."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = data.get_worker_info()
        if info is None:
            return retrograd.tensor([i, -1, -1, os.getpid()])
        return retrograd.tensor([i, info.id, info.seed % 2**62, os.getpid()])


def _assert_reaped(pids):
    """Each worker has exited and was waited for: neither running nor a zombie."""
    for pid in set(pids):
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # returns (0, 0) if running, reaps a zombie
    assert not [p for p in multiprocessing.active_children() if p.pid in pids]


@pytest.mark.parametrize("workers,prefetch", [(1, None), (2, None), (2, 1), (3, 3)])
def test_batches_equal_main_process(workers, prefetch):
    """Shuffled, with the global generator and with a loader generator: the batches (and len)
    equal num_workers=0's, and task i is loaded by worker i % num_workers."""
    retrograd.manual_seed(0)
    ref = [b[:, 0].tolist() for b in loader(Items(23), batch_size=4, shuffle=True)]
    retrograd.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 3 workers on a 2-CPU machine warn, as torch
        dl = loader(Items(23), batch_size=4, shuffle=True, num_workers=workers, prefetch_factor=prefetch)
        got = list(dl)
    assert [b[:, 0].tolist() for b in got] == ref and len(dl) == len(ref) == 6
    assert [set(b[:, 1].tolist()) for b in got] == [{i % workers} for i in range(6)]
    assert all(b[0, 3].item() != os.getpid() for b in got)
    g = [retrograd.Generator().manual_seed(5) for _ in range(2)]
    ref = [b[:, 0].tolist() for b in loader(Items(23), batch_size=4, shuffle=True, generator=g[0])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = [b[:, 0].tolist() for b in loader(Items(23), batch_size=4, shuffle=True, generator=g[1],
                                                num_workers=workers, prefetch_factor=prefetch)]
    assert got == ref


def test_get_worker_info_and_worker_init_fn():
    """In each worker: id, num_workers, seed = base_seed + id, this process's copy of the dataset;
    worker_init_fn(worker_id) runs first in each worker; one BLAS thread. In the main process: None."""
    got = list(loader(WithInit(), batch_size=None, num_workers=2, worker_init_fn=_init_worker))
    assert data.get_worker_info() is None
    ids = [g[0] for g in got]
    assert ids == [0, 1, 0, 1]
    assert all(g[1] == 2 and g[3] for g in got)  # num_workers, and the dataset is the worker's copy
    assert [g[4] for g in got] == [f"init {i}" for i in ids]
    assert all(g[5] == 1 for g in got)  # one BLAS thread per worker, as torch's set_num_threads(1)
    base = {g[2] - g[0] for g in got}
    assert len(base) == 1 and 0 <= base.pop() < 2**63
    assert isinstance(_worker.WorkerInfo(id=0, num_workers=1, seed=0, dataset=None).worker_method, str)


class WithInit(data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = data.get_worker_info()
        return (info.id, info.num_workers, info.seed, isinstance(info.dataset, WithInit) and info.dataset is not None,
                getattr(info.dataset, "tag", None), retrograd.get_num_threads())


def _init_worker(worker_id):
    data.get_worker_info().dataset.tag = f"init {worker_id}"


class Randoms(data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        info = data.get_worker_info()
        return info.id, info.seed, random.random(), float(np.random.rand()), retrograd.rand(()).item()


def test_worker_seeds_follow_torch_scheme():
    """Each worker seeds Python's random and retrograd's generator with base_seed + id and NumPy's
    global generator with torch's _generate_state(base_seed, id); base_seed is drawn from the
    loader's generator (the global one without), so a seeded loader repeats its augmentations."""
    def run(seed):
        return list(loader(Randoms(), batch_size=None, num_workers=2,
                           generator=retrograd.Generator().manual_seed(seed)))

    first = run(3)
    assert first == run(3) and first != run(4)
    for wid, seed, py, npy, rg in first[:2]:
        base = seed - wid
        assert py == random.Random(seed).random()
        assert npy == np.random.RandomState(_worker._generate_state(base, wid)).rand()
        assert rg == retrograd.rand((), generator=retrograd.Generator().manual_seed(seed)).item()
    assert first[0][2:] != first[1][2:]  # workers draw different numbers
    cases = [(0, 0), (1, 3), (2**63 - 1, 7), (123456789012345, 1)]
    theirs = reference(lambda: [torch.utils.data._utils.worker._generate_state(b, w) for b, w in cases])
    assert as_recorded([_worker._generate_state(b, w) for b, w in cases]) == theirs


class Failing(data.Dataset):
    def __init__(self, exc):
        self.exc = exc

    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == 2:
            raise self.exc
        return i


def test_worker_exception_reraised_with_traceback():
    """torch's message: "Caught ValueError in DataLoader worker process 0.\\nOriginal Traceback
    (most recent call last): ..." with the worker's frames; a KeyError's message stays readable;
    an exception type that cannot take a message becomes RuntimeError."""
    with pytest.raises(ValueError) as info:
        list(loader(Failing(ValueError("item 2 is bad")), num_workers=2))
    msg = str(info.value)
    assert msg.startswith("Caught ValueError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                          "last):\n")
    assert "raise self.exc" in msg and msg.rstrip().endswith("ValueError: item 2 is bad")
    with pytest.raises(KeyError) as info:
        list(loader(Failing(KeyError("k")), num_workers=2, batch_size=2))
    assert repr(info.value).startswith("KeyError(Caught KeyError in DataLoader worker process 1.\nOriginal")
    with pytest.raises(RuntimeError, match="Caught NeedsTwo in DataLoader worker process 0"):
        list(loader(Failing(NeedsTwo(1, 2)), num_workers=1))
    with pytest.raises(ZeroDivisionError, match="Caught ZeroDivisionError in DataLoader worker process 1"):
        list(loader(Items(4), num_workers=2, worker_init_fn=_init_fails_in_worker_1))
    theirs = reference(lambda: _torch_worker_error())
    assert theirs.startswith("Caught ValueError in DataLoader worker process 0.\nOriginal Traceback (most recent call "
                             "last):\n")


class NeedsTwo(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


def _init_fails_in_worker_1(worker_id):
    if worker_id == 1:
        1 / 0


def _torch_worker_error():
    """The message torch's worker gives (its ExceptionWrapper, without starting a worker)."""
    from torch._utils import ExceptionWrapper

    try:
        raise ValueError("bad")
    except ValueError:
        wrapper = ExceptionWrapper(where="in DataLoader worker process 0")
    try:
        wrapper.reraise()
    except ValueError as e:
        return str(e)


class Blocking(data.Dataset):
    """Item 0 waits until ``event`` is set; the others load at once."""

    def __init__(self, event, n=6):
        self.event, self.n = event, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == 0:
            assert self.event.wait(30)
        if i == 1 and self.set_by_item_1:
            self.event.set()
        return i


def test_in_order():
    """in_order=True yields task order whatever order the workers finish in (item 0 waits until
    item 1 was loaded); in_order=False yields each batch as it arrives: item 0 waits until the
    main process has received a first batch, which can then only be another one."""
    ctx = multiprocessing.get_context(CTX)
    ds = Blocking(ctx.Event())
    ds.set_by_item_1 = True
    assert [b.item() for b in loader(ds, num_workers=2)] == list(range(6))
    ds = Blocking(ctx.Event())
    ds.set_by_item_1 = False
    it = iter(loader(ds, num_workers=2, in_order=False))
    first = next(it).item()
    ds.event.set()
    assert first != 0 and sorted([first] + [b.item() for b in it]) == list(range(6))


class CountingBatches:
    """A batch sampler that records how many batches the loader has drawn from it."""

    def __init__(self, n, size):
        self.batches = [list(range(i, min(i + size, n))) for i in range(0, n, size)]
        self.drawn = 0

    def __iter__(self):
        for b in self.batches:
            self.drawn += 1
            yield b

    def __len__(self):
        return len(self.batches)


@pytest.mark.parametrize("workers,prefetch", [(2, None), (2, 1), (1, 3)])
def test_prefetch_factor(workers, prefetch):
    """prefetch_factor (default 2) batches per worker are sent ahead, then one per batch taken."""
    sampler = CountingBatches(40, 2)
    it = iter(loader(Items(40), batch_sampler=sampler, num_workers=workers, prefetch_factor=prefetch))
    ahead = (prefetch or 2) * workers
    assert sampler.drawn == ahead
    next(it)
    assert sampler.drawn == ahead + 1
    assert len(list(it)) == 19 and sampler.drawn == 20


def test_argument_errors():
    with pytest.raises(ValueError, match="prefetch_factor option should be non-negative"):
        data.DataLoader(Items(2), num_workers=1, prefetch_factor=-1)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified in multiprocessing"):
        data.DataLoader(Items(2), prefetch_factor=2)
    with pytest.raises(AssertionError, match="prefetch_factor must be greater than 0"):
        iter(data.DataLoader(Items(2), num_workers=1, prefetch_factor=0))
    with pytest.raises(AssertionError, match="requires timeout == 0"):
        iter(data.DataLoader(Items(2), timeout=1))
    with pytest.raises(ValueError, match="multiprocessing_context can only be used with multi-process loading"):
        data.DataLoader(Items(2), multiprocessing_context="spawn")
    with pytest.raises(ValueError, match="should specify a valid start method in"):
        data.DataLoader(Items(2), num_workers=1, multiprocessing_context="threads")
    with pytest.raises(TypeError, match="should be a valid context object or a string"):
        data.DataLoader(Items(2), num_workers=1, multiprocessing_context=3)
    dl = data.DataLoader(Items(2), num_workers=1, multiprocessing_context="spawn")
    assert dl.multiprocessing_context is multiprocessing.get_context("spawn") and dl.prefetch_factor == 2
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        dl.batch_size = 3
    dl.num_workers = 2  # allowed, as torch
    with pytest.raises(NotImplementedError, match="cannot be pickled"):
        pickle.dumps(iter(data.DataLoader(Items(2))))


def test_more_workers_than_cpus_warns(monkeypatch):
    from retrograd.utils.data import dataloader

    monkeypatch.setattr(dataloader, "_cpu_count", lambda: 1)
    with pytest.warns(UserWarning, match="This DataLoader will create 2 worker processes in total. Our suggested "
                                         "max number of worker in current system is 1"):
        data.DataLoader(Items(2), num_workers=2)


class Sleeping(data.Dataset):
    def __init__(self, event):
        self.event = event

    def __len__(self):
        return 2

    def __getitem__(self, i):
        self.event.wait(5)  # until the test releases it, so that shutting down is quick
        return i


def test_timeout():
    """No batch within ``timeout`` seconds: RuntimeError as torch's; the worker is still shut down."""
    event = multiprocessing.get_context(CTX).Event()
    it = iter(loader(Sleeping(event), num_workers=1, timeout=0.05))
    pids = [w.pid for w in it._workers]
    with pytest.raises(RuntimeError, match=r"^DataLoader timed out after 0.05 seconds$"):
        next(it)
    event.set()
    del it
    _assert_reaped(pids)


class Crashing(data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


def test_worker_that_dies_is_reported(monkeypatch):
    monkeypatch.setattr(_worker, "MP_STATUS_CHECK_INTERVAL", 0.05)
    it = iter(loader(Crashing(), num_workers=1))
    pid = it._workers[0].pid
    with pytest.raises(RuntimeError, match=rf"DataLoader worker \(pid\(s\) {pid}\) exited unexpectedly"):
        next(it)
    del it
    _assert_reaped([pid])


def test_workers_shut_down_without_zombies():
    """After a full epoch, after leaving an epoch early, after a worker's exception, and when a
    persistent loader goes away, every worker has exited and been waited for."""
    dl = loader(Items(12), batch_size=2, num_workers=2)
    pids = [b[0, 3].item() for b in dl]
    assert len(set(pids)) == 2
    _assert_reaped(pids)
    it = iter(dl)
    pids = [w.pid for w in it._workers]
    next(it)
    del it
    _assert_reaped(pids)
    it = iter(loader(Failing(ValueError("x")), num_workers=2))
    pids = [w.pid for w in it._workers]
    with pytest.raises(ValueError):
        list(it)
    del it
    _assert_reaped(pids)
    dl = loader(Items(12), batch_size=2, num_workers=2, persistent_workers=True)
    pids = {b[0, 3].item() for b in dl}
    assert all(p.is_alive() for p in dl._iterator._workers)
    del dl
    _assert_reaped(pids)


def test_iterator_collected_in_a_cycle_stops_its_workers_cleanly():
    """An iterator that dies in a reference cycle (an exception's traceback holds it) is collected
    by the garbage collector: its workers still get the stop message and exit by themselves (exit
    code 0), rather than being terminated after a 5-second wait (as with torch's __del__)."""
    it = iter(loader(Failing(ValueError("x")), num_workers=2))
    workers = list(it._workers)
    try:
        list(it)
    except ValueError as e:
        cycle = [e, it]
        cycle.append(cycle)
    del it, cycle
    gc.collect()
    assert [w.exitcode for w in workers] == [0, 0]
    _assert_reaped([w.pid for w in workers])


def test_persistent_workers():
    """The same worker processes serve every epoch (their generators carry on). As torch's, the
    base seed is drawn once, when the workers start: the first epoch equals num_workers=0's, and
    each later one (also after an epoch left early) is the sampler's next epoch, with no draw
    for a base seed in between."""
    g0, g1 = retrograd.Generator().manual_seed(9), retrograd.Generator().manual_seed(9)
    ref = loader(Items(10), batch_size=3, shuffle=True, generator=g0)
    dl = loader(Items(10), batch_size=3, shuffle=True, generator=g1, num_workers=2, persistent_workers=True)
    assert [b[:, 0].tolist() for b in dl] == [b[:, 0].tolist() for b in ref]
    sampler = data.BatchSampler(data.RandomSampler(range(10), generator=g0), 3, False)
    assert [b[:, 0].tolist() for b in dl] == list(sampler)
    it = iter(dl)
    pids = {w.pid for w in it._workers}
    next(it)
    list(sampler)  # the epoch left early drew its whole permutation: its 4 batches were all sent ahead
    assert [b[:, 0].tolist() for b in dl] == list(sampler)
    assert iter(dl) is it and {w.pid for w in it._workers} == pids
    rand = list(loader(Randoms(), batch_size=None, num_workers=2, persistent_workers=True,
                       generator=retrograd.Generator().manual_seed(1)))
    dl = loader(Randoms(), batch_size=None, num_workers=2, persistent_workers=True,
                generator=retrograd.Generator().manual_seed(1))
    first, second = list(dl), list(dl)
    assert first == rand and [r[2:] for r in second] != [r[2:] for r in first]  # the workers' streams go on


class Stream(data.IterableDataset):
    def __init__(self, n, shard):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = data.get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self):
        return self.n


@pytest.mark.parametrize("kwargs", [dict(batch_size=3, shard=True), dict(batch_size=3, drop_last=True, shard=True),
                                    dict(batch_size=None, shard=True), dict(batch_size=2, shard=False)])
def test_iterable_dataset_with_workers(kwargs):
    """Each worker iterates its own copy (get_worker_info shards it); the batches interleave by
    worker as torch's, and an unsharded copy repeats per worker, past len(loader), with torch's warning."""
    def run(lib, loader_cls):
        kw = dict(kwargs)
        shard = kw.pop("shard")
        ds = (Stream if lib is retrograd else TorchStream)(10, shard)
        dl = loader_cls(ds, num_workers=2, **kw)
        n = len(dl)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out = [b.tolist() if hasattr(b, "tolist") else b for b in dl]
        return out, n, sorted({str(x.message).split(" <")[0] for x in w if str(x.message).startswith("Length of")})

    ours = run(retrograd, loader)
    theirs = reference(lambda: run(torch, torch.utils.data.DataLoader))
    assert as_recorded(ours) == theirs


if torch is not None:
    class TorchStream(torch.utils.data.IterableDataset):
        def __init__(self, n, shard):
            self.n, self.shard = n, shard

        def __iter__(self):
            info = torch.utils.data.get_worker_info()
            if info is None or not self.shard:
                return iter(range(self.n))
            return iter(range(info.id, self.n, info.num_workers))

        def __len__(self):
            return self.n


@pytest.mark.skipif(retrograd.cuda.is_available(), reason="with CUDA, pin_memory=True raises (no pinned memory)")
def test_pin_memory_warns_as_torch_without_accelerator():
    """pin_memory=True loads the same batches and warns at iteration, as torch's without an
    accelerator; pin_memory_device adds torch's deprecation warning."""
    def run(lib, **kwargs):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            dl = lib.utils.data.DataLoader(list(range(5)), batch_size=2, **kwargs)
            out = [b.tolist() for b in dl]
        return out, [str(x.message) for x in w]

    for kwargs in (dict(pin_memory=True), dict(pin_memory=True, pin_memory_device="cuda"),
                   dict(pin_memory_device="cuda")):
        ours = run(retrograd, **kwargs)
        assert as_recorded(ours) == reference(lambda: run(torch, **kwargs))
    assert ours[1] == []


def test_tensors_cross_processes():
    """Tensors of each dtype (and NumPy arrays, nested in containers) pickle to the workers and back
    (bfloat16 too; left out here as its first use imports ml_dtypes, a second or more)."""
    items = [{"x": retrograd.arange(3).to(dt), "np": np.arange(2, dtype=np.float16), "s": "a"}
             for dt in (retrograd.float32, retrograd.float16, retrograd.int64, retrograd.bool, retrograd.uint8)]
    got = list(loader(items, batch_size=None, num_workers=2, collate_fn=_in_worker))
    assert all(pid != os.getpid() for _, pid in got)
    for a, (b, _) in zip(items, got):
        assert b["x"].dtype == a["x"].dtype and b["x"].tolist() == a["x"].tolist()
        assert b["np"].dtype == np.float16 and b["s"] == "a"
    t = retrograd.ones(2, requires_grad=True)
    back = pickle.loads(pickle.dumps(t))
    assert back.requires_grad and back.is_leaf and back.tolist() == [1.0, 1.0]


def test_spawn_context():
    """multiprocessing_context='spawn': workers start as fresh interpreters, the dataset pickled
    (a retrograd class, so that the worker imports no test module, and so not torch)."""
    ds = data.TensorDataset(retrograd.arange(10.0), retrograd.arange(10))
    ref = [y.tolist() for _, y in data.DataLoader(ds, batch_size=4)]
    it = iter(data.DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn"))
    assert type(it._workers[0]) is multiprocessing.get_context("spawn").Process
    assert [y.tolist() for _, y in it] == ref


def _in_worker(sample):
    return sample, os.getpid()
