"""``torch.accelerator``: the device-generic spelling of ``torch.cuda``. retrograd's only
accelerator is CUDA (through CuPy). Without one, ``is_available()`` is False,
``current_accelerator()`` None, ``device_count()`` 0, and every call that needs the device
raises RuntimeError("Cannot access accelerator device when none is available."), as torch's.
"""

from . import _backend
from . import cuda as _cuda

__all__ = ["current_accelerator", "current_device_index", "device_count", "empty_cache", "is_available",
           "max_memory_allocated", "max_memory_reserved", "memory_allocated", "memory_reserved", "memory_stats",
           "reset_peak_memory_stats", "set_device_index", "synchronize"]


def is_available():
    """Whether an accelerator (CUDA) can be used."""
    return _cuda.is_available()


def current_accelerator(check_available=False):
    """``device('cuda')`` when CuPy is installed (and, with check_available, a GPU is seen), else None."""
    if _backend.cupy is None or (check_available and not is_available()):
        return None
    return _backend.device("cuda")


def device_count():
    """The number of accelerator devices (0 without one)."""
    return _cuda.device_count()


def _device(device):
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    return device


def current_device_index():
    """The index of the current accelerator device."""
    _device(None)
    return _cuda.current_device()


def set_device_index(device, /):
    """Make ``device`` the current accelerator device."""
    _cuda.set_device(_device(device))


def synchronize(device=None, /):
    """Wait for the device's queued work."""
    _cuda.synchronize(_device(device))


def empty_cache():
    """Give unused cached memory back to the device."""
    _device(None)
    _cuda.empty_cache()


def memory_allocated(device_index=None, /):
    """Bytes held by tensors on the device."""
    return _cuda.memory_allocated(_device(device_index))


def memory_reserved(device_index=None, /):
    """Bytes the allocator holds from the device."""
    return _cuda.memory_reserved(_device(device_index))


def max_memory_allocated(device_index=None, /):
    """The peak of memory_allocated (see retrograd.cuda.max_memory_allocated)."""
    return _cuda.max_memory_allocated(_device(device_index))


def max_memory_reserved(device_index=None, /):
    """The peak of memory_reserved (see retrograd.cuda.max_memory_reserved)."""
    return _cuda.max_memory_reserved(_device(device_index))


def memory_stats(device_index=None, /):
    """The allocator's counters."""
    return _cuda.memory_stats(_device(device_index))


def reset_peak_memory_stats(device_index=None, /):
    """Reset the peak counters."""
    _cuda.reset_peak_memory_stats(_device(device_index))
