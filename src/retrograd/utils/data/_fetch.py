"""Fetchers: turn one index (or one batch of indices) from the sampler into collated data.

The same fetcher runs in the main process (``num_workers=0``) and in each worker process,
so a batch is built the same way wherever it is loaded (torch's ``_utils.fetch``).
"""

import numpy as np

from ... import _backend
from ...tensor import Tensor
from ._collate import default_collate
from .dataset import Subset, TensorDataset


class _MapDatasetFetcher:
    """``dataset[i]`` for each index of the batch (or ``__getitems__`` of the batch), collated."""

    def __init__(self, dataset, auto_collation, collate_fn):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self._rows = _tensor_rows(dataset) if auto_collation and collate_fn is default_collate else None

    def fetch(self, possibly_batched_index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[possibly_batched_index])
        if self._rows is not None:
            # default_collate of TensorDataset rows is each tensor indexed by the batch's indices:
            # one gather per tensor instead of a getitem per sample and a stack
            arrays, base = self._rows
            idx = np.asarray(possibly_batched_index, dtype=np.intp)
            if base is not None:
                idx = base[idx]
            return [Tensor._make(a[_backend.as_array(idx, _backend.array_module(a))]) for a in arrays]
        getitems = getattr(self.dataset, "__getitems__", None)
        if callable(getitems):
            return self.collate_fn(getitems(possibly_batched_index))
        return self.collate_fn([self.dataset[i] for i in possibly_batched_index])


def _tensor_rows(dataset):
    """(arrays, index map) when ``dataset`` is a TensorDataset (possibly inside Subsets) of
    tensors that need no grad; else None."""
    ds, base = dataset, None
    while type(ds) is Subset:
        idx = np.asarray(ds.indices, dtype=np.intp)
        base = idx if base is None else idx[base]
        ds = ds.dataset
    if type(ds) is not TensorDataset or not all(isinstance(t, Tensor) and not t.requires_grad for t in ds.tensors):
        return None
    return [t._data for t in ds.tensors], base


class _IterableDatasetFetcher:
    """The next ``len(batch)`` items of one iterator over the dataset, collated; StopIteration
    when it is exhausted (or when only a short last batch is left and ``drop_last``)."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in possibly_batched_index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
            raise StopIteration
        return self.collate_fn(data)


def create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last):
    """The fetcher for an IterableDataset (``iterable``) or a map-style one (where ``drop_last``
    is already applied by the BatchSampler)."""
    if iterable:
        return _IterableDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)
    return _MapDatasetFetcher(dataset, auto_collation, collate_fn)
