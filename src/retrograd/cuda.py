"""``retrograd.cuda``: CUDA through CuPy, when it is installed and a GPU is present.

Without CUDA these behave as torch's without a GPU: ``is_available()`` is False,
``device_count()`` 0, the memory counters 0, ``empty_cache``, ``reset_peak_memory_stats`` and
the seeding functions do nothing observable; what needs a device (``synchronize``,
``current_device``, ``get_device_name``, ``initial_seed``, ...) raises RuntimeError saying so.
With CuPy the memory counters are those of CuPy's default memory pool, which holds retrograd's
CUDA tensors.
"""

from . import _backend
from . import random as _random


def is_available():
    """Whether CUDA tensors can be made: CuPy is installed and sees a GPU."""
    return _backend.cuda_available()


def device_count():
    """The number of GPUs CuPy sees (0 without CUDA)."""
    if not _backend.cuda_available():
        return 0
    return _backend.cupy.cuda.runtime.getDeviceCount()


def is_initialized():
    """Whether CUDA can be used here (retrograd initializes CuPy when it is imported)."""
    return _backend.cuda_available()


def _cupy(device=None):
    """CuPy and the index of ``device`` (default: the current one); RuntimeError without CUDA."""
    cupy = _backend.module_for("cuda")
    if device is None:
        return cupy, cupy.cuda.runtime.getDevice()
    if isinstance(device, int):
        return cupy, device
    dev = _backend.device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return cupy, cupy.cuda.runtime.getDevice() if dev.index is None else dev.index


def synchronize(device=None):
    """Wait for the GPU's queued work (RuntimeError without CUDA, as torch's)."""
    cupy, index = _cupy(device)
    cupy.cuda.Device(index).synchronize()


def current_device():
    """The index of the current GPU."""
    return _cupy()[1]


def set_device(device):
    """Make ``device`` the current GPU (retrograd puts a bare 'cuda' on GPU 0, so only 0 is taken)."""
    cupy, index = _cupy(device)
    if index != 0:
        raise NotImplementedError(f"set_device({device!r}): retrograd puts device='cuda' tensors on GPU 0; "
                                  f"name the GPU instead, e.g. device='cuda:{index}'")
    cupy.cuda.runtime.setDevice(index)


def get_device_name(device=None):
    """The GPU's name."""
    cupy, index = _cupy(device)
    name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else name


def get_device_capability(device=None):
    """The GPU's compute capability ``(major, minor)``."""
    cupy, index = _cupy(device)
    props = cupy.cuda.runtime.getDeviceProperties(index)
    return props["major"], props["minor"]


def mem_get_info(device=None):
    """``(free, total)`` bytes of the GPU's memory."""
    cupy, index = _cupy(device)
    with cupy.cuda.Device(index):
        return cupy.cuda.runtime.memGetInfo()


def _pool(device):
    """CuPy's default memory pool, or None without CUDA."""
    if not _backend.cuda_available():
        return None
    return _cupy(device)[0].get_default_memory_pool()


def _pool_bytes(device, which):
    pool = _pool(device)
    if pool is None:
        return 0
    with _backend.cupy.cuda.Device(_cupy(device)[1]):
        return getattr(pool, which)()


def empty_cache():
    """Give the memory CuPy's pool holds but no tensor uses back to the GPU (nothing without CUDA)."""
    pool = _pool(None)
    if pool is not None:
        pool.free_all_blocks()


def memory_allocated(device=None):
    """Bytes held by CUDA tensors (0 without CUDA)."""
    return _pool_bytes(device, "used_bytes")


def memory_reserved(device=None):
    """Bytes CuPy's pool holds from the GPU (0 without CUDA)."""
    return _pool_bytes(device, "total_bytes")


def _peak(device, name):
    if _pool(device) is None:
        return 0
    raise NotImplementedError(f"cuda.{name}: CuPy's memory pool keeps no peak; read memory_allocated() "
                              "at the points of interest instead")


def max_memory_allocated(device=None):
    """The peak of memory_allocated (0 without CUDA; CuPy keeps no peak, so NotImplementedError with it)."""
    return _peak(device, "max_memory_allocated")


def max_memory_reserved(device=None):
    """The peak of memory_reserved (0 without CUDA; NotImplementedError with CuPy, see max_memory_allocated)."""
    return _peak(device, "max_memory_reserved")


def reset_peak_memory_stats(device=None):
    """Reset the peaks: there are none to reset (without CUDA they stay 0; CuPy keeps none)."""
    _pool(device)


def memory_stats(device=None):
    """The allocator's counters: {} without CUDA, else the current allocated and reserved bytes."""
    if _pool(device) is None:
        return {}
    return {"allocated_bytes.all.current": memory_allocated(device),
            "reserved_bytes.all.current": memory_reserved(device)}


def manual_seed(seed):
    """Seed the random numbers of CUDA tensors (see random.cuda_manual_seed)."""
    _random.cuda_manual_seed(seed)


manual_seed_all = manual_seed


def seed():
    """Seed the random numbers of CUDA tensors from fresh OS entropy."""
    _random.cuda_seed()


seed_all = seed


def initial_seed():
    """The seed of CUDA tensors' random numbers (RuntimeError without CUDA, as torch's)."""
    _cupy()
    return _random.cuda_generator.initial_seed()


def get_rng_state(device="cuda"):
    """The state of CUDA tensors' random numbers, as a uint8 tensor."""
    _cupy(device)
    return _random.cuda_generator.get_state()


def set_rng_state(new_state, device="cuda"):
    """Restore the state of CUDA tensors' random numbers."""
    _cupy(device)
    _random.cuda_generator.set_state(new_state)


def get_rng_state_all():
    """One state per GPU ([] without CUDA)."""
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states):
    """Restore one state per GPU."""
    for index, state in enumerate(new_states):
        set_rng_state(state, index)
