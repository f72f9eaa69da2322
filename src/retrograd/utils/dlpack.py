"""DLPack exchange (``torch.utils.dlpack``, also at top level): ``from_dlpack`` makes a tensor that
shares memory with any object that exports DLPack (a NumPy or CuPy array, a PyTorch or JAX
tensor) or with a DLPack capsule; ``to_dlpack`` exports a tensor as a capsule; and a retrograd
tensor exports itself (``__dlpack__``), so ``numpy.from_dlpack(t)`` and ``torch.from_dlpack(t)``
share its memory too. A tensor that requires grad refuses, as torch's (detach it first)."""

import numpy as np

from .. import _dtype
from ..tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]

_CPU, _CUDA = 1, 2  # DLPack's device types kDLCPU, kDLCUDA


class _Capsule:
    """A legacy DLPack capsule, as an object that exports it (what numpy.from_dlpack reads)."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, **_):
        return self.capsule

    def __dlpack_device__(self):
        return (_CPU, 0)


def _array(ext_tensor):
    if type(ext_tensor).__name__ == "PyCapsule":
        try:
            return np.from_dlpack(_Capsule(ext_tensor))
        except (BufferError, RuntimeError, TypeError):
            import cupy  # a device capsule: CuPy reads legacy capsules itself

            return cupy.from_dlpack(ext_tensor)
    if not hasattr(ext_tensor, "__dlpack__"):
        raise RuntimeError(f"from_dlpack received an invalid capsule: a {type(ext_tensor).__name__} exports no "
                           f"DLPack (it needs __dlpack__ or to be a DLPack capsule)")
    device_type = ext_tensor.__dlpack_device__()[0]
    if device_type == _CPU:
        return np.from_dlpack(ext_tensor)
    if device_type == _CUDA:
        import cupy

        return cupy.from_dlpack(ext_tensor)
    raise RuntimeError(f"from_dlpack: DLPack device type {device_type} is neither the CPU nor CUDA; retrograd "
                       f"has no such device")


def from_dlpack(ext_tensor):
    """A tensor sharing memory with ``ext_tensor`` (an object with ``__dlpack__``, or a capsule)."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    array = _array(ext_tensor)
    _dtype.from_numpy_dtype(array.dtype)  # a dtype retrograd has, else TypeError
    return Tensor._make(array)


def to_dlpack(tensor):
    """A DLPack capsule of ``tensor``'s memory (consumed once by a from_dlpack): a versioned one
    (DLPack 1.0, which torch.from_dlpack reads too) where the array module makes them, so that the
    consumer may write to it; NumPy imports the older unversioned capsules read-only."""
    try:
        return tensor.__dlpack__(max_version=(1, 0))
    except TypeError:  # an array module without DLPack 1.0
        return tensor.__dlpack__()


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """Export this tensor's memory as a DLPack capsule (the array protocol's arguments passed on)."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    given = (("stream", stream), ("max_version", max_version), ("dl_device", dl_device), ("copy", copy))
    return self._data.__dlpack__(**{name: value for name, value in given if value is not None})


def _dlpack_device(self):
    """(DLPack device type, device index) of this tensor's memory."""
    return self._data.__dlpack_device__()


Tensor.__dlpack__ = _dlpack
Tensor.__dlpack_device__ = _dlpack_device
