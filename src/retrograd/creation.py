"""Tensor creation: from data, filled, ranges, and random."""

import math
import operator
import warnings

import numpy as np

from . import _backend, _dtype
from ._linspace import linspace_array
from .random import _rng
from .tensor import Tensor, _to_array
from ._unsupported import reject
from ._warn_once import warn_once
from .ops._out import INTO, takes_out

__all__ = ["tensor", "as_tensor", "asarray", "from_numpy", "frombuffer", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "empty_like", "arange", "linspace", "logspace",
           "eye", "range", "rand", "randn", "randint", "randperm", "rand_like", "randn_like",
           "randint_like", "scalar_tensor", "is_tensor", "numel", "set_default_device", "get_default_device",
           "empty_strided"]

# the device factories use when not given one (torch.set_default_device); None: the CPU
_default_device = [None]


def set_default_device(device):
    """Make factories (tensor, zeros, ones, rand, arange, ...) create tensors on ``device`` when not
    given one; None resets to the CPU. Tensors made from others (``zeros_like``, ``from_numpy``)
    keep their source's device, as torch's. Setting 'cuda' without CUDA succeeds, as in torch;
    the factories then raise."""
    if device is None:
        _default_device[0] = None
        return
    device = _backend.device(device)
    _default_device[0] = None if device.type == "cpu" else device


def get_default_device():
    """The device factories use when not given one (RuntimeError when it is CUDA and CUDA is not here)."""
    device = _default_device[0]
    if device is None:
        return _backend.CPU
    if device.index is None:
        return _backend.device("cuda", _backend.module_for(device).cuda.runtime.getDevice())
    return device


def _at(device):
    """``device``, else the default device (None for the CPU)."""
    return device if device is not None else _default_device[0]


def _finish(arr, dtype=None, device=None, requires_grad=False):
    if dtype is not None:
        dtype = _dtype.to_dtype(dtype)
        if arr.dtype != dtype.np:
            arr = arr.astype(dtype.np)
    if device is not None:
        arr = _backend.to_device(arr, device)
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad = True
    return t


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(_size_entry(s, i) for i, s in enumerate(size))
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(size)}")
    return size


def _size_entry(s, position):
    """One entry of a size as torch takes it: an int (or anything with __index__, such as a NumPy int
    or a 0-dim integer tensor); floats, bools and strings raise torch's TypeError."""
    if not isinstance(s, bool):
        try:
            return operator.index(s)
        except TypeError:
            pass
    raise TypeError(f"size must be a tuple of ints, but found element of type {type(s).__name__} at pos "
                    f"{position} ({s!r}); pass integer sizes")


def _check_pin_memory(pin_memory):
    if pin_memory:
        if not _backend.cuda_available():
            raise RuntimeError("pin_memory=True requires a CUDA or other accelerator backend; no pinned memory "
                               "allocator is available on this system.")
        raise NotImplementedError("pin_memory=True: retrograd does not allocate pinned host memory; "
                                  "pass pin_memory=False")


def _deprecated_device_argument(method, device):
    if device is not None:
        warnings.warn(f"The argument 'device' of Tensor.{method}() is deprecated. Please do not pass this argument.",
                      DeprecationWarning, stacklevel=3)


def _is_pinned(self, device=None):
    """Whether this tensor is in pinned (page-locked) host memory: never in retrograd, which
    allocates none (see pin_memory)."""
    _deprecated_device_argument("is_pinned", device)
    return False


def _pin_memory(self, device=None):
    """A copy in pinned host memory. Without an accelerator it raises torch's RuntimeError, as
    torch's does; with CUDA (CuPy) it raises NotImplementedError: retrograd allocates no pinned host
    memory (its host-device copies are synchronous, from pageable memory)."""
    _deprecated_device_argument("pin_memory", device)
    self.is_pinned(device)
    if device is not None and _backend.device(device).type == "cpu":
        raise RuntimeError("CPU device type not an accelerator.")
    if self.device.type != "cpu":
        raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
    if not _backend.cuda_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    raise NotImplementedError("Tensor.pin_memory(): retrograd does not allocate pinned host memory; copy with "
                              ".to('cuda') from pageable memory instead")


Tensor.is_pinned, Tensor.pin_memory = _is_pinned, _pin_memory


def tensor(data, *, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """A new tensor holding a copy of ``data`` (floats default to float32, ints to int64)."""
    if isinstance(data, Tensor):
        warn_copy_construct("torch.tensor(sourceTensor)")
    return copy_of(data, dtype, device, requires_grad, pin_memory)


def warn_copy_construct(call):
    """torch's warning where a tensor is copied by a constructor meant for data (``call``)."""
    warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
                  f"sourceTensor.detach().clone().requires_grad_(True), rather than {call}.", stacklevel=3)


def copy_of(data, dtype=None, device=None, requires_grad=False, pin_memory=False):
    """``tensor(data, ...)`` without its warning about a tensor given as data."""
    device = _at(device)
    _check_pin_memory(pin_memory)
    arr = _to_array(data, _dtype.to_dtype(dtype) if dtype is not None else None)
    return _finish(arr, None, device, requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory with a NumPy array or tensor when it can."""
    device = _at(device)
    if isinstance(data, Tensor):
        out = data if dtype is None else data.to(dtype)
        return out if device is None else out.to(device)
    if isinstance(data, np.ndarray) or _backend.device_of(data).type == "cuda":  # NumPy or CuPy: shared
        shared = _finish(data, dtype)  # then moved as Tensor.to moves: 'cpu:0' names another device than
        return shared if device is None else shared.to(device)  # 'cpu' (a CPU tensor's), so it copies, as torch
    return tensor(data, dtype=dtype, device=device)


asarray = as_tensor


def from_numpy(array):
    """A tensor sharing memory with ``array``. A read-only array warns once, as torch (whose writes
    into it are undefined behaviour; retrograd's in-place ops refuse them)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dtype.from_numpy_dtype(array.dtype)
    if not array.flags.writeable:
        warn_once("from_numpy read-only",
                  "The given NumPy array is not writable, and PyTorch does not support non-writable tensors. "
                  "This means writing to this tensor will result in undefined behavior. You may want to copy "
                  "the array to protect its data or make it writable before converting it to a tensor. This "
                  "type of warning will be suppressed for the rest of this program.")
    return Tensor._make(array)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    """A 1-D tensor of ``dtype`` viewing the bytes of a Python buffer (bytes, bytearray, memoryview,
    array.array, ...) from ``offset``: ``count`` elements, or all that remain (count=-1). It shares
    memory with a writable buffer; a read-only one warns, as torch, and writing to it fails."""
    dtype = _dtype.to_dtype(dtype)
    view = memoryview(buffer)
    length, size = view.nbytes, np.dtype(dtype.np).itemsize
    if length == 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if not 0 <= offset < length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({length} bytes) minus 1")
    if count < 0:
        if (length - offset) % size:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} bytes) must be a "
                             f"multiple of element size ({size})")
        count = (length - offset) // size
    elif count * size > length - offset:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset ({offset} bytes) must "
                         f"not be greater than actual buffer length ({length} bytes)")
    if view.readonly:
        warn_once("frombuffer read-only",
                  "The given buffer is not writable, and PyTorch does not support non-writable tensors. "
                  "This means you can write to the underlying (supposedly non-writable) buffer using the "
                  "tensor. You may want to copy the buffer to protect its data or make it writable before "
                  "converting it to a tensor. This type of warning will be suppressed for the rest of this "
                  "program.")
    array = np.frombuffer(buffer, dtype=dtype.np, count=count, offset=offset)
    return Tensor._make(array).requires_grad_(requires_grad)


def is_tensor(obj):
    """True if obj is a retrograd Tensor."""
    return isinstance(obj, Tensor)


def numel(input):
    """The number of elements of input."""
    return input.numel()


def _filled(size, value, dtype, device, requires_grad, default=None):
    dtype = _dtype.to_dtype(dtype) if dtype is not None else (default or _dtype.get_default_dtype())
    xp = _backend.module_for(device) if device is not None else np
    arr = _backend.full(xp, _size(size), value, dtype.np)
    return _finish(arr, None, None, requires_grad)


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def zeros(*size, dtype=None, device=None, requires_grad=False, layout=None):
    """A tensor of the given size filled with 0 (default dtype unless dtype is given)."""
    device = _at(device)
    reject("zeros", layout=layout)
    return _filled(size, 0, dtype, device, requires_grad)


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def ones(*size, dtype=None, device=None, requires_grad=False, layout=None):
    """A tensor of the given size filled with 1 (default dtype unless dtype is given)."""
    device = _at(device)
    reject("ones", layout=layout)
    return _filled(size, 1, dtype, device, requires_grad)


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def empty(*size, dtype=None, device=None, requires_grad=False, layout=None,
          memory_format=None, pin_memory=False):
    """A tensor of the given size; unlike torch's, its memory is initialized (zeros)."""
    device = _at(device)
    reject("empty", layout=layout, memory_format=memory_format)
    _check_pin_memory(pin_memory)
    return _filled(size, 0, dtype, device, requires_grad)


def _tuple_of_ints(where, name, position, value):
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{where}(): argument '{name}' (position {position}) must be tuple of ints, not "
                        f"{type(value).__name__}")
    return tuple(_size_entry(s, i) for i, s in enumerate(value))


def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """A tensor of ``size`` whose elements are ``stride`` elements apart in a new buffer just large
    enough; initialized to zeros (torch leaves it uninitialized)."""
    size = _tuple_of_ints("empty_strided", "size", 1, size)
    stride = _tuple_of_ints("empty_strided", "stride", 2, stride)
    reject("empty_strided", layout=layout)
    _check_pin_memory(pin_memory)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
                           f"({len(stride)})")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
    if any(st < 0 for st in stride):
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    extent = 0 if 0 in size else 1 + sum((n - 1) * st for n, st in zip(size, stride))
    buffer = _filled((extent,), 0, dtype, _at(device), False)._data
    xp = _backend.array_module(buffer)
    itemsize = buffer.dtype.itemsize
    arr = xp.lib.stride_tricks.as_strided(buffer, size, tuple(st * itemsize for st in stride))
    return _finish(arr, None, None, requires_grad)


def _new_empty_strided(self, size, stride, dtype=None, device=None, requires_grad=False, layout=None,
                       pin_memory=False):
    """empty_strided with this tensor's dtype and device unless given."""
    return empty_strided(size, stride, dtype=dtype if dtype is not None else self.dtype, layout=layout,
                         device=device if device is not None else self.device, requires_grad=requires_grad,
                         pin_memory=pin_memory)


Tensor.new_empty_strided = _new_empty_strided


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def full(size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None):
    """A tensor of ``size`` filled with ``fill_value`` (its dtype inferred as torch does)."""
    device = _at(device)
    reject("full", layout=layout)
    default = _dtype.result_type(fill_value) if not isinstance(fill_value, Tensor) else fill_value.dtype
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return _filled((size,) if isinstance(size, int) else (tuple(size),), fill_value, dtype, device,
                   requires_grad, default)


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-dim tensor holding s (default dtype unless dtype is given)."""
    device = _at(device)
    return _filled((), s, dtype, device, requires_grad)


def _like(input, value, dtype, device, requires_grad):
    return _filled((tuple(input.shape),), value, dtype or input.dtype,
                   device or input.device, requires_grad)


def zeros_like(input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    """Zeros with input's shape (and its dtype and device unless given)."""
    reject("zeros_like", layout=layout, memory_format=memory_format)
    return _like(input, 0, dtype, device, requires_grad)


def ones_like(input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    """Ones with input's shape (and its dtype and device unless given)."""
    reject("ones_like", layout=layout, memory_format=memory_format)
    return _like(input, 1, dtype, device, requires_grad)


def empty_like(input, *, dtype=None, device=None, requires_grad=False, layout=None, memory_format=None):
    """A tensor with input's shape (and its dtype and device unless given); initialized to zeros, unlike torch's."""
    reject("empty_like", layout=layout, memory_format=memory_format)
    return _like(input, 0, dtype, device, requires_grad)


def full_like(input, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None,
              memory_format=None):
    """A tensor with input's shape filled with fill_value (input's dtype and device unless given)."""
    reject("full_like", layout=layout, memory_format=memory_format)
    return _like(input, fill_value, dtype, device, requires_grad)


ARANGE_RESIZE_WARNING = (
    "The number of elements in the out tensor of shape {old} is {old_numel} which does not match the "
    "computed number of elements {new_numel}. Note that this may occur as a result of rounding error. "
    "The out tensor will be resized to a tensor of shape {new_tuple}.")


@takes_out(dtype=INTO, resize_warning=ARANGE_RESIZE_WARNING)
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False):
    """Values from start to end (exclusive) by step; int64 unless a bound is a float."""
    device = _at(device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    is_float = any(isinstance(v, float) for v in vals)
    default = _dtype.get_default_dtype() if is_float else _dtype.int64
    dt = _not_bool(_dtype.to_dtype(dtype) if dtype is not None else default, "arange_cpu")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError(
            f"upper bound and lower bound inconsistent with step sign (start={vals[0]}, "
            f"end={vals[1]}, step={vals[2]})"
        )
    n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    arr = (vals[0] + np.arange(n, dtype=np.float64) * vals[2]) if is_float else np.arange(*vals)
    return _finish(arr.astype(dt.np), None, device, requires_grad)


@takes_out(dtype=INTO, resize_warning=None)
def range(start, end, step=1, *, dtype=None, device=None, requires_grad=False):  # noqa: A001
    """Deprecated in torch: values from start to end INCLUDED by step,
    ``floor((end - start) / step) + 1`` of them, in the default dtype unless dtype is given
    (integer bounds too). Use ``arange``, which excludes end."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior "
                  "is inconsistent with Python's range builtin. Instead, use torch.arange, which produces "
                  "values in [start, end).", UserWarning, stacklevel=3)
    device = _at(device)
    vals = [float(v.item() if isinstance(v, Tensor) else v) for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError(f"upper bound and lower bound inconsistent with step sign (start={vals[0]}, "
                           f"end={vals[1]}, step={vals[2]})")
    dt = _not_bool(_dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype(), "range_cpu")
    n = math.floor((vals[1] - vals[0]) / vals[2]) + 1
    return _finish((vals[0] + np.arange(n, dtype=np.float64) * vals[2]).astype(dt.np), None, device, requires_grad)


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """steps values evenly spaced from start to end, both included."""
    device = _at(device)
    _check_steps(steps)
    dtype = _dtype.to_dtype(_not_bool(dtype or _dtype.get_default_dtype(), "linspace_cpu"))
    if dtype.name in ("float32", "float64") and int(steps) > 0:
        arr = linspace_array(float(start), float(end), int(steps), dtype.np)  # torch's values, bit for bit
    else:
        arr = np.linspace(float(start), float(end), int(steps))
    return _finish(arr, dtype, device, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """steps values base^x for x evenly spaced from start to end, both included."""
    device = _at(device)
    _check_steps(steps)
    arr = np.logspace(float(start), float(end), int(steps), base=base)
    return _finish(arr, dtype or _dtype.get_default_dtype(), device, requires_grad)


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def eye(n, m=None, *, dtype=None, device=None, requires_grad=False):
    """An n x m (default n x n) tensor with ones on the diagonal, zeros elsewhere."""
    device = _at(device)
    for name, size in (("n", n), ("m", m)):
        if size is not None and size < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {size}")
    return _finish(np.eye(n, m), dtype or _dtype.get_default_dtype(), device, requires_grad)


def _check_steps(steps):
    """torch's error for a negative count of linspace/logspace (NumPy's is a ValueError)."""
    if int(steps) < 0:
        raise RuntimeError(f"number of steps must be non-negative (got steps={steps})")


def _not_bool(dtype, kernel):
    """torch has no bool kernel for ranges and permutations."""
    if dtype is not None and _dtype.to_dtype(dtype) is _dtype.bool_:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool': pass an integer or float dtype")
    return dtype


# ---------------------------------------------------------------------------- random


def _float_dtype(dtype):
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    if not dt.is_floating_point:  # torch's kernels for random floats have no integer version
        raise NotImplementedError(f"random floats need a floating point dtype, got {dt}")
    return dt


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    device = _at(device)
    dt = _float_dtype(dtype)
    arr = _rng(generator, device).random(_size(size), dtype=np.float64 if dt is not _dtype.float32 else np.float32)
    return _finish(arr, dt, device, requires_grad)


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    device = _at(device)
    dt = _float_dtype(dtype)
    arr = _rng(generator, device).standard_normal(
        _size(size), dtype=np.float64 if dt is not _dtype.float32 else np.float32)
    return _finish(arr, dt, device, requires_grad)


def check_from_to(low, high):
    """torch's check of an integer range [low, high) to draw from."""
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False):
    """Integers uniform in [low, high)."""
    device = _at(device)
    if size is None:  # randint(high, size)
        low, high, size = 0, low, high
    check_from_to(low, high)
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.int64
    if not dt.is_floating_point:
        bounds = (0, 1) if dt is _dtype.bool_ else (np.iinfo(dt.np).min, np.iinfo(dt.np).max)
        if high - 1 > bounds[1] or low < bounds[0]:
            raise RuntimeError(f"randint: [{low}, {high}) is out of bounds for {dt} (values from "
                               f"{bounds[0]} to {bounds[1]}): pass a wider dtype")
    arr = _rng(generator, device).integers(low, high, size=tuple(size))
    return _finish(arr, dtype or _dtype.int64, device, requires_grad)


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """A random permutation of 0..n-1."""
    device = _at(device)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    return _finish(_rng(generator, device).permutation(n), _not_bool(dtype, "randperm") or _dtype.int64, device,
                   requires_grad)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None, memory_format=None):
    """Uniform samples in [0, 1) with input's shape (and its dtype and device unless given)."""
    reject("rand_like", memory_format=memory_format)
    return rand(tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                device=device or input.device, requires_grad=requires_grad)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None, memory_format=None):
    """Standard normal samples with input's shape (and its dtype and device unless given)."""
    reject("randn_like", memory_format=memory_format)
    return randn(tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                 device=device or input.device, requires_grad=requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, device=None, requires_grad=False, generator=None,
                 memory_format=None):
    """Integers uniform in [low, high) with input's shape (and its dtype and device unless given)."""
    reject("randint_like", memory_format=memory_format)
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                   device=device or input.device, requires_grad=requires_grad)
