"""default_collate: a list of samples -> one batch (tensors stacked, numbers to tensors,
containers collated field by field); default_convert: arrays -> tensors, no batching."""

import collections.abc
import copy
import re

import numpy as np

from ... import _backend
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_np_str_obj = re.compile(r"[SaUO]")

_ERR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _rebuild_like(elem, values):
    """A mapping of elem's type holding ``values``, or a plain dict if that type cannot be built."""
    if isinstance(elem, collections.abc.MutableMapping):
        out = copy.copy(elem)  # keeps the mapping's type and attributes (OrderedDict, defaultdict...)
        out.update(values)
        return out
    try:
        return type(elem)(values)
    except TypeError:
        return dict(values)


def _stack(tensors, stack):
    """stack(tensors, 0); samples that need no grad, of one dtype and shape, are stacked as
    arrays in one call (data batches rarely need the graph)."""
    first = tensors[0]._data
    if all(isinstance(t, Tensor) and not t._requires_grad and t._data.dtype == first.dtype
           and t._data.shape == first.shape for t in tensors):
        xp = _backend.array_module(first)
        if all(_backend.array_module(t._data) is xp for t in tensors):
            return Tensor._make(xp.stack([t._data for t in tensors], 0))
    return stack(tensors, 0)


def default_collate(batch):
    """Collate a list of samples into a batch, as torch's ``default_collate``."""
    from ...creation import as_tensor, tensor
    from ...ops.join import stack

    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch, stack)
    if isinstance(elem, np.ndarray):
        if _np_str_obj.search(elem.dtype.str) is not None:
            raise TypeError(_ERR.format(elem.dtype))
        return _stack([as_tensor(np.asarray(b)) for b in batch], stack)
    if isinstance(elem, np.generic):
        if _np_str_obj.search(elem.dtype.str) is not None:
            return batch
        return as_tensor(np.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        from ... import _dtype

        return tensor(batch, dtype=_dtype.float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_like(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        size = len(next(it))
        if not all(len(e) == size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]
        try:
            return type(elem)([default_collate(samples) for samples in transposed])
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """NumPy arrays (and arrays inside containers) to tensors; everything else unchanged."""
    from ...creation import as_tensor

    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        if _np_str_obj.search(data.dtype.str) is not None:
            return data
        return as_tensor(data)
    if isinstance(data, np.generic):
        return as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_like(data, {k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
