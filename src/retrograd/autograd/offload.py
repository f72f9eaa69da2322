"""Activation offloading: saved-tensor hooks that keep what backward needs outside
device memory (``save_on_cpu``) or outside RAM (``save_on_disk``)."""

import os
import shutil
import tempfile
import weakref

import numpy as np

from .. import _backend
from .graph import saved_tensors_hooks


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors on a GPU are copied to host memory and brought back in backward.
    On CPU tensors this is a no-op (they are already in host memory)."""

    def __init__(self, pin_memory=False, device_type="cuda"):
        def pack(t):
            if t.device.type == "cpu":
                return (None, t)
            return (t.device, _backend.to_device(t._data, "cpu"))

        def unpack(packed):
            device, value = packed
            if device is None:
                return value
            return _tensor_cls()._make(_backend.to_device(value, device))

        super().__init__(pack, unpack)


class _DiskTensor:
    """A saved tensor written to a memory-mapped file; the file is removed when this
    object is freed (after backward, or when the graph is dropped without backward)."""

    __slots__ = ("path", "shape", "dtype", "device", "requires_grad", "__weakref__")

    def __init__(self, tensor, directory, counter, remove_empty_dir=False):
        data = _backend.to_device(tensor._data, "cpu")
        self.path = os.path.join(directory, f"saved-{counter}.bin")
        self.shape, self.dtype, self.device = data.shape, data.dtype, tensor.device
        self.requires_grad = tensor.requires_grad
        if data.size:
            mm = np.memmap(self.path, dtype=data.dtype, mode="w+", shape=data.shape)
            mm[...] = data
            mm.flush()
            del mm
        weakref.finalize(self, _remove, self.path, directory if remove_empty_dir else None)

    def load(self):
        if not self.shape or 0 not in self.shape:
            arr = np.memmap(self.path, dtype=self.dtype, mode="r", shape=self.shape)
            arr = np.asarray(arr) if self.shape else np.array(arr)
        else:
            arr = np.zeros(self.shape, dtype=self.dtype)
        if self.device.type != "cpu":
            arr = _backend.to_device(arr, self.device)
        return _tensor_cls()._make(arr)


def _remove(path, directory=None):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    if directory is not None:
        _remove_dir_if_empty(directory)


class save_on_disk(saved_tensors_hooks):
    """Write every tensor saved for backward to a memory-mapped file in ``directory``
    (a new temporary directory if None) and read it back in backward, so activations
    can exceed RAM. Files disappear when their graph is freed, also when backward
    raises or never runs; a temporary directory is removed once it is empty and the
    context has exited."""

    def __init__(self, directory=None, min_bytes=0):
        self._own_dir = directory is None
        self.directory = tempfile.mkdtemp(prefix="retrograd-saved-") if directory is None else directory
        os.makedirs(self.directory, exist_ok=True)
        self._count = 0
        self.min_bytes = min_bytes

        def pack(t):
            if t.nbytes < self.min_bytes:
                return t
            self._count += 1
            return _DiskTensor(t, self.directory, f"{id(self):x}-{self._count}", self._own_dir)

        def unpack(packed):
            return packed.load() if isinstance(packed, _DiskTensor) else packed

        super().__init__(pack, unpack)

    def __exit__(self, *exc):
        super().__exit__(*exc)
        if self._own_dir:
            _remove_dir_if_empty(self.directory)
        return False


def _remove_dir_if_empty(directory):
    try:
        if os.path.isdir(directory) and not os.listdir(directory):
            shutil.rmtree(directory, ignore_errors=True)
    except OSError:
        pass
