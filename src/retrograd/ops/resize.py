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
from ..autograd.grad_mode import _state as _grad_state
from ..tensor import Tensor
from ._inplace import LEAF_ERROR
from .counting import NotDifferentiable
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


# the C type names torch's set_ prints for a dtype
_C_TYPE = {"float64": "double", "float32": "float", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
           "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
           "bool": "bool", "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


@tensor_method()
def set_(self, source=None, storage_offset=None, size=None, stride=None):
    """Make this tensor use ``source``'s memory (``set_()``: none, an empty tensor): with the
    source's shape, or ``size``/``stride`` (in elements) from ``storage_offset`` of the memory
    the source views (see the module). Later writes through either show in both; this tensor
    keeps its own version counter (bumped), as torch's."""
    if source is None:
        if (storage_offset, size, stride) != (None, None, None):
            raise TypeError("set_() received an invalid combination of arguments: storage_offset, size and "
                            "stride go with a source tensor")
        data = _backend.array_module(self._data).empty((0,), dtype=self._data.dtype)
    elif not isinstance(source, Tensor):
        raise TypeError(f"set_() received an invalid combination of arguments - got ({type(source).__name__}), "
                        "but expected one of:\n * ()\n * (Tensor source)\n * (Tensor source, int storage_offset, "
                        "tuple of ints size, tuple of ints stride)")
    elif source._data.dtype != self._data.dtype:
        raise RuntimeError(f"Could not set tensor of type {_C_TYPE.get(source.dtype.name, source.dtype.name)} to a "
                           f"tensor of type {_C_TYPE.get(self.dtype.name, self.dtype.name)}")
    elif storage_offset is None and size is None and stride is None:
        data = source._data
    else:
        data = _strided(source, storage_offset, size, stride)
    if _grad_state.enabled and (self._requires_grad or (source is not None and source._requires_grad)):
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError(LEAF_ERROR + " (in set_; call it under torch.no_grad())")
        out = NotDifferentiable.apply("set_", data, self, source)  # (torch's node: backward raises)
        self.grad_fn, self._output_nr, self._requires_grad = out.grad_fn, 0, True
    self._data = data
    self._base = self._view_chain = None  # (no longer a view: writes through it reach source's memory)
    self._vc[0] += 1
    return self


def _strided(source, storage_offset, size, stride):
    """The array of ``size``/``stride`` from ``storage_offset`` of the memory ``source`` views."""
    if size is None:
        raise TypeError("set_() received an invalid combination of arguments: storage_offset needs size")
    size = _size((size,) if isinstance(size, int) else tuple(size))
    offset = 0 if storage_offset is None else int(storage_offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    if stride is None:  # row-major
        stride, n = [], 1
        for s in reversed(size):
            stride.insert(0, n)
            n *= s
    stride = tuple(int(s) for s in stride)
    if len(stride) != len(size):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(stride)} strides for {len(size)} sizes")
    storage = _storage(source._data) if type(source._data) is np.ndarray else None
    if storage is None:
        raise NotImplementedError(f"set_(storage_offset=, size=, stride=) of a tensor on {source.device} or over "
                                  "reinterpreted memory: only NumPy memory of one dtype can be restrided")
    need = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else offset
    if need > storage.size:  # (torch grows the storage: NumPy memory cannot grow in place)
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
                           f"requiring a storage size of {need} are out of bounds for storage of size {storage.size}")
    item = storage.itemsize  # (an ndarray over the storage: its base chain leads there, for storage_offset)
    out = np.ndarray(size, storage.dtype, buffer=storage, offset=offset * item, strides=tuple(s * item for s in stride))
    if _overlaps(size, stride):  # elements sharing memory: read-only, so writes raise torch's overlap error
        out.flags.writeable = False  # (NumPy would write them in turn, the last one winning)
    return out


def _overlaps(size, stride):
    """Whether some elements of an array of ``size`` and ``stride`` may share memory (the usual
    sufficient test: each dim's stride, by increasing stride, passes the extent of those before)."""
    extent = 0
    for s, n in sorted((s, n) for n, s in zip(size, stride) if n > 1):
        if s <= extent:
            return True
        extent += (n - 1) * s
    return False


@tensor_method()
def is_set_to(self, tensor):
    """True if both tensors view the same memory with the same shape and strides."""
    a, b = self._data, tensor._data
    return (self.device == tensor.device and a.dtype == b.dtype and a.shape == b.shape and a.strides == b.strides
            and self.data_ptr() == tensor.data_ptr())
