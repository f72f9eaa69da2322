"""DataLoader: batches of samples from a dataset, in a sampler's order, collated.

``num_workers > 0`` is accepted but loads in the main process (the results are the same;
``worker_init_fn`` is not called and ``get_worker_info()`` is None). ``pin_memory`` is
accepted and has no effect (NumPy arrays are already host memory).
"""

import numpy as np

from ... import _backend
from ...tensor import Tensor
from .dataset import IterableDataset, Subset, TensorDataset
from ._collate import default_collate, default_convert
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]


def get_worker_info():
    """None: data is always loaded in the main process."""
    return None


class _InfiniteConstantSampler(Sampler):
    def __iter__(self):
        while True:
            yield None


class DataLoader:
    """Iterate over ``dataset`` in batches, with torch's arguments and defaults."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > "
                             "0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.in_order = in_order
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                             "drop_last")
        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is not None:
                n = n // self.batch_size if self.drop_last else -(-n // self.batch_size)
            return n
        return len(self._index_sampler)

    def __iter__(self):
        if self._iterable:
            return self._iter_iterable()
        return self._iter_map()

    def _iter_map(self):
        dataset, collate = self.dataset, self.collate_fn
        fast = self._tensor_rows() if self._auto_collation and collate is default_collate else None
        if fast is not None:
            # default_collate of TensorDataset rows is each tensor indexed by the batch's indices:
            # one gather per tensor instead of a getitem per sample and a stack
            arrays, base = fast
            for indices in self.batch_sampler:
                idx = np.asarray(indices, dtype=np.intp)
                if base is not None:
                    idx = base[idx]
                yield [Tensor._make(a[_backend.as_array(idx, _backend.array_module(a))]) for a in arrays]
            return
        if self._auto_collation:
            getitems = getattr(dataset, "__getitems__", None)
            for indices in self.batch_sampler:
                samples = getitems(indices) if callable(getitems) else [dataset[i] for i in indices]
                yield collate(samples)
        else:
            for idx in self.sampler:
                yield collate(dataset[idx])

    def _tensor_rows(self):
        """(arrays, index map) when the dataset is a TensorDataset (possibly inside Subsets) of
        tensors that need no grad; else None."""
        ds, base = self.dataset, None
        while type(ds) is Subset:
            idx = np.asarray(ds.indices, dtype=np.intp)
            base = idx if base is None else idx[base]
            ds = ds.dataset
        if type(ds) is not TensorDataset or not all(isinstance(t, Tensor) and not t.requires_grad
                                                     for t in ds.tensors):
            return None
        return [t._data for t in ds.tensors], base

    def _iter_iterable(self):
        collate = self.collate_fn
        if not self._auto_collation:
            for sample in self.dataset:
                yield collate(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)
