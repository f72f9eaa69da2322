"""The one seam to the array libraries: NumPy on the CPU, CuPy on CUDA devices."""

import numpy as np

from . import _device_checks, _malloc
from ._bfloat16 import DeviceBFloat16, into, opmath, to_bits

try:  # CuPy is optional; without it only the CPU exists
    import cupy
except ImportError:
    cupy = None


_ndarray = np.ndarray  # (np.ndarray reads are not specialised by CPython 3.11: numpy has a module __getattr__)

_malloc.tune()  # large NumPy arrays reuse freed heap memory instead of fresh page faults


# torch's device types: the ones other than cpu and cuda are refused by name (NotImplementedError)
TORCH_DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
                      "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:
    """Where a tensor's memory lives: ``device('cpu')`` or ``device('cuda', 0)``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 - torch's argument name
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, int):
            type, index = "cuda", type
        elif ":" in type:
            type, _, idx = type.partition(":")
            index = int(idx)
        if type not in ("cpu", "cuda"):
            if type in TORCH_DEVICE_TYPES:
                raise NotImplementedError(
                    f"retrograd has no '{type}' device: tensors live on cpu or cuda (docs/differences.md, "
                    "'Devices and speed'); keep the module or tensor on the CPU instead"
                )
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}"
            )
        self.type = type
        self.index = index

    def __eq__(self, other):
        """Equal to a device of the same type and index only, as torch's: never to a string
        (``device('cpu') == 'cpu'`` is False), and an index is no wildcard (``device('cuda')`` is
        not ``device('cuda', 0)``, ``device('cpu', 0)`` not ``device('cpu')``). Code asking where a
        tensor is compares ``.type``, or normalises the device first (``with_current_index``)."""
        if other.__class__ is not device:
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


def with_current_index(dev):
    """``dev`` as a device, with the current GPU's index when it is ``'cuda'`` without one: the
    device a tensor made or moved there reports (torch's ``.to('cuda')`` of a tensor on the current
    GPU is that tensor). A CPU device keeps its index: torch's ``.to('cpu:0')`` copies."""
    dev = dev if dev.__class__ is device else device(dev)
    if dev.index is None and dev.type == "cuda" and cuda_available():  # (else module_for's error follows)
        return device("cuda", cupy.cuda.runtime.getDevice())
    return dev


def cuda_available():
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, or no device
        return False


def array_module(arr):
    """numpy or cupy: the module that computes on ``arr`` (for a CUDA bfloat16 array, CuPy through
    _bfloat16's float32 opmath)."""
    if type(arr) is _ndarray:
        return np
    if type(arr) is DeviceBFloat16:
        return arr.module
    if cupy is None:
        return np
    return cupy.get_array_module(arr)


def device_of(arr):
    if type(arr) is _ndarray:
        return CPU
    if type(arr) is DeviceBFloat16:
        arr = arr.bits
    if cupy is None or not isinstance(arr, cupy.ndarray):
        return CPU
    return device("cuda", arr.device.id)


class CudaUnavailableError(RuntimeError, AssertionError):
    """A call needs CUDA and there is none. torch raises RuntimeError there in its CUDA build on a
    machine without a GPU, and AssertionError ("Torch not compiled with CUDA enabled") in its
    CPU-only build; code written for either catches this."""


class OutOfMemoryError(RuntimeError):
    """Exception raised when device is out of memory (torch.OutOfMemoryError, which is also
    torch.cuda.OutOfMemoryError): a CUDA allocation that CuPy's pool could not make."""


class AcceleratorError(RuntimeError):
    """Exception raised while executing on device (torch.AcceleratorError): a CUDA error, such as a
    failed device-side check."""


def device_allocator(malloc):
    """CuPy's allocator ``malloc(nbytes)`` (its memory pool's) with its errors made torch's: CuPy's
    OutOfMemoryError (a MemoryError) becomes OutOfMemoryError, a CUDA runtime error AcceleratorError,
    each naming the request and chained to CuPy's. ``install_device_allocator`` makes it CuPy's
    allocator, so every CUDA array retrograd makes is allocated through it."""
    def allocate(nbytes):
        try:
            return malloc(nbytes)
        except cupy.cuda.memory.OutOfMemoryError as e:
            raise OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate {_format_bytes(nbytes)} ({e}). Free tensors that "
                "are no longer needed (del, then torch.cuda.empty_cache() to give the cached blocks back) or "
                "use a smaller batch") from e
        except cupy.cuda.runtime.CUDARuntimeError as e:
            raise AcceleratorError(f"CUDA error: {e} (allocating {_format_bytes(nbytes)})") from e

    return allocate


def install_device_allocator():
    """Make CuPy allocate from its default pool through ``device_allocator`` (cuda.py, with CUDA)."""
    cupy.cuda.set_allocator(device_allocator(cupy.get_default_memory_pool().malloc))


def _format_bytes(n):
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024:
            return f"{n} {unit}" if unit == "bytes" else f"{n:.2f} {unit}"
        n /= 1024
    return f"{n:.2f} GiB"


def module_for(dev):
    """The array module for a device, with a clear error when CUDA is not there."""
    dev = device(dev) if not isinstance(dev, device) else dev
    if dev.type == "cpu":
        return np
    if not cuda_available():
        raise CudaUnavailableError(
            f"Cannot use device '{dev}': retrograd runs CUDA tensors through CuPy, and "
            "CuPy or a CUDA device is not available here. Install cupy (for example "
            "`pip install cupy-cuda12x`) on a machine with an NVIDIA GPU, or use device='cpu'."
        )
    return cupy


def to_device(arr, dev):
    """Copy ``arr`` to ``dev`` (no copy when it is already there: on the CPU, or on the GPU of
    ``dev``'s index, the current one for ``'cuda'``)."""
    dev = with_current_index(dev)
    here = device_of(arr)
    if here.type == dev.type and (dev.type == "cpu" or here.index == dev.index):
        return arr
    if dev.type == "cpu":  # the host waits for the device: the device's queued checks are read too
        _device_checks.raise_pending()
    if type(arr) is DeviceBFloat16:  # bfloat16 moves as its bits
        return arr.get() if dev.type == "cpu" else DeviceBFloat16(to_device(arr.bits, dev))
    if dev.type == "cpu":
        return cupy.asnumpy(arr)
    if arr.dtype.name == "bfloat16":  # an ml_dtypes array: its bits go, held as DeviceBFloat16
        return DeviceBFloat16(to_device(np.asarray(arr).view(np.uint16), dev))
    xp = module_for(dev)  # (CUDA there: with_current_index gave 'cuda' the current GPU's index)
    with xp.cuda.Device(dev.index):  # from another GPU: CuPy's copy() lands on the current device
        return arr.copy() if isinstance(arr, xp.ndarray) else xp.asarray(arr)


def as_array(x, xp=np):
    """``x`` as an array of module ``xp`` (NumPy scalars become 0-dim arrays)."""
    return xp.asarray(x)


def cast(x, dtype):
    """``x`` converted to the NumPy dtype ``dtype`` as torch converts. bfloat16 goes to integer
    types through float32: ml_dtypes' own conversion gives 0 for values that torch wraps
    (-2 -> 254 as uint8, 300 -> 44), as float32 -> integer does; and float64 and integers go
    to bfloat16 through float32, rounding twice as torch does (1 + 2^-8 + 2^-30 -> 1.0)."""
    if type(x) is not np.ndarray:
        if type(x) is DeviceBFloat16:  # CUDA bfloat16: through float32 (see _bfloat16)
            return x.astype(dtype)
        if cupy is not None and isinstance(x, cupy.ndarray) and np.dtype(dtype).name == "bfloat16":
            return DeviceBFloat16(to_bits(x))  # CuPy has no bfloat16: its bits, rounded on the device
    target = np.dtype(dtype)  # (bfloat16's kind is "V": tested first, as reading .name makes a string)
    if target.kind in "iu" and x.dtype.kind == "V" and x.dtype.name == "bfloat16":
        x = x.astype(np.float32)
    elif target.kind == "V" and target.name == "bfloat16" and x.dtype not in (np.float32, np.float16):
        with np.errstate(over="ignore"):  # beyond float32's range: inf, as torch's
            x = x.astype(np.float32)  # torch rounds float64 and integers to float32 first, then to bfloat16
    return x.astype(target)


def full(xp, shape, value, dtype):
    """``xp.full``, also for bfloat16 on CUDA (which CuPy cannot allocate: a DeviceBFloat16)."""
    if xp is not np and np.dtype(dtype).name == "bfloat16":
        return DeviceBFloat16(to_bits(xp.full(shape, value, dtype=np.float32)))
    return xp.full(shape, value, dtype=dtype)


def call(fn, *args):
    """``fn(*args)`` for a device function outside the array module (cupyx's): CUDA bfloat16
    arguments through _bfloat16's float32 opmath."""
    if any(type(a) is DeviceBFloat16 for a in args):
        return opmath(fn, args, {})
    return fn(*args)


def call_into(fn, out, *args):
    """``fn(out, *args)`` for a device function writing into ``out`` (cupyx.scatter_add, ...),
    CUDA bfloat16 arrays written in float32 and rounded back once."""
    if type(out) is DeviceBFloat16 or any(type(a) is DeviceBFloat16 for a in args):
        return into(fn, out, *args)
    return fn(out, *args)


def matmul(x, y):
    """``x @ y``. On the CPU float16 and bfloat16 go through float32 BLAS and are rounded back, as
    torch accumulates low-precision products in float32 (NumPy has no fast half matmul). On CUDA
    CuPy's cuBLAS multiplies float16 itself (tensor cores, float32 accumulation) and a bfloat16
    array (_bfloat16.DeviceBFloat16) multiplies in float32 and rounds back; two GPUs raise."""
    if type(x) is _ndarray:
        dt = x.dtype
        if dt.itemsize == 2 and dt.kind in "fV":
            return np.matmul(x.astype(np.float32), y.astype(np.float32)).astype(dt)
        return x @ y
    if type(y) is not _ndarray and x.device != y.device:
        raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                           f"{device_of(x)} and {device_of(y)}! Move them with .to(device).")
    return x @ y
