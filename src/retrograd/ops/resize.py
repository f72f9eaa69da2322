"""Tensor.resize_ / resize_as_: change a tensor's shape in place, reinterpreting its memory as
row-major from its storage offset, as torch's.

A tensor's "storage" here is the memory of the array its data views (the root of its NumPy/CuPy
``base`` chain, read in memory order). When the new size fits in that memory from the tensor's
storage offset, the result views it (shrinking keeps the leading values and the memory stays
shared with the tensor's base and views, as torch's). When it does not fit, a new buffer is
allocated, the old memory copied to its start and the rest zeros (torch leaves it
uninitialized); the tensors that shared the old memory then no longer share this one's (torch
grows the shared storage in place, which NumPy cannot).
"""

import math

import numpy as np

from .. import _backend
from ..creation import _size
from .._layouts import channels_last, channels_last_3d, contiguous_format, preserve_format
from .._unsupported import reject
from ..tensor import Tensor
from ._method import tensor_method

__all__ = ["resize_as_"]  # (torch.resize_as_; resize_ is a method only, as torch's)

_RANK = {channels_last: (4, "channels_last"), channels_last_3d: (5, "channels_last_3d")}


def _storage(data):
    """The 1-D array over the memory ``data`` lives in, in memory order, or None when that memory
    is not one contiguous array of data's dtype (a strided root or a reinterpreted dtype)."""
    root = data
    while getattr(root, "base", None) is not None and hasattr(root.base, "dtype"):
        root = root.base
    if root.dtype != data.dtype or not (root.flags.c_contiguous or root.flags.f_contiguous):
        return None
    return root.ravel(order="A")  # a view for a contiguous array


def _check_memory_format(memory_format, ndim):
    if memory_format is preserve_format:
        raise RuntimeError("Unsupported memory formatPreserve")
    if memory_format in _RANK:
        rank, name = _RANK[memory_format]
        if ndim != rank:
            raise RuntimeError(f"required rank {rank} tensor to use {name} format")
    if memory_format is not contiguous_format:
        reject("resize_", memory_format=memory_format)


@tensor_method()
def resize_(self, *sizes, memory_format=None):
    """Resize in place to ``sizes`` (row-major from the storage offset; see the module)."""
    sizes = _size(sizes)
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    if memory_format is not None:
        _check_memory_format(memory_format, len(sizes))
    data = self._data
    if tuple(data.shape) == sizes:
        return self
    xp = _backend.array_module(data)
    if xp is not np and not hasattr(data, "__cuda_array_interface__"):
        raise NotImplementedError(f"resize_ of a {self.dtype} tensor on {self.device}: its array "
                                  f"({type(data).__name__}) has no flat view to resize; use reshape or new_empty")
    numel = math.prod(sizes)
    storage = _storage(data)
    offset = self.storage_offset() if storage is not None else 0
    if storage is None or offset + numel > storage.size:
        if self.is_shared() and xp is np:  # (torch: "Tensors in shared memory cannot be resized")
            raise RuntimeError(f"Trying to resize storage that is not resizable: a tensor in shared memory "
                               f"(share_memory_(), or received from another process) cannot grow to {numel} "
                               "elements; resize a copy (.clone()) instead")
        grown = xp.zeros(offset + numel, dtype=data.dtype)
        old = storage if storage is not None else data.ravel()
        kept = min(old.size, grown.size)
        grown[:kept] = old[:kept]
        storage = grown
    self._data = storage[offset:offset + numel].reshape(sizes)
    self._vc[0] += 1
    return self


@tensor_method()
def resize_as_(input, the_template, memory_format=None):
    """``input.resize_(the_template.size())``."""
    if not isinstance(the_template, Tensor):
        raise TypeError(f"resize_as_(): argument 'the_template' (position 1) must be Tensor, not "
                        f"{type(the_template).__name__}")
    return input.resize_(the_template.shape, memory_format=memory_format)
