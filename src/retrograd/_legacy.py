"""The legacy tensor types older tutorials use: ``FloatTensor``, ``LongTensor`` ... and
``Tensor.type()``.

As in torch, these are not subclasses of Tensor: calling one makes an ordinary Tensor of
its dtype, and ``isinstance(x, FloatTensor)`` asks whether ``x`` is a float32 tensor on
its device kind (so ``isinstance(zeros(2), FloatTensor)`` is True). ``FloatTensor(2, 3)``
is zero-filled where torch leaves the memory uninitialised.
"""

import warnings

import numpy as np

from . import _backend, _dtype
from .tensor import Size, Tensor


# (name, dtype name): the order torch lists them in
_TYPES = (
    ("FloatTensor", "float32"), ("DoubleTensor", "float64"), ("HalfTensor", "float16"),
    ("BFloat16Tensor", "bfloat16"), ("LongTensor", "int64"), ("IntTensor", "int32"),
    ("ShortTensor", "int16"), ("CharTensor", "int8"), ("ByteTensor", "uint8"), ("BoolTensor", "bool"),
)


class _LegacyTensorType(type):
    """The metaclass of the legacy types (torch's ``torch.tensortype``)."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype and obj.is_cuda == cls.is_cuda

    def __subclasscheck__(cls, sub):
        return type.__subclasscheck__(cls, sub)

    def __call__(cls, *args, device=None, **kwargs):
        if kwargs:
            raise TypeError(
                f"new() received an invalid combination of arguments - got keyword(s) "
                f"{', '.join(kwargs)}: the legacy constructor {cls.__qualname__}(...) takes data, "
                "sizes or a tensor, and device= only (use torch.tensor(data, dtype=..., "
                "requires_grad=...) for the rest)")
        return _construct(cls, args, device)

    def __repr__(cls):
        return f"<class '{cls.__module__}.{cls.__qualname__}'>"


def _make_type(name, dtype, cuda):
    module = "retrograd.cuda" if cuda else "retrograd"
    return _LegacyTensorType(name, (), {"dtype": dtype, "is_cuda": cuda, "is_sparse": False,
                                        "__module__": module, "__qualname__": name,
                                        "__doc__": f"Legacy constructor of {dtype} tensors "
                                                   f"on the {'cuda' if cuda else 'cpu'}."})


CPU_TYPES = {name: _make_type(name, _dtype._BY_NAME[d], False) for name, d in _TYPES}
CUDA_TYPES = {name: _make_type(name, _dtype._BY_NAME[d], True) for name, d in _TYPES}
globals().update(CPU_TYPES)  # FloatTensor, ... (retrograd.cuda gets CUDA_TYPES)
__all__ = [*CPU_TYPES, "set_default_tensor_type"]


def _device_kind(cls):
    return "cuda" if cls.is_cuda else "cpu"


def _construct(cls, args, device):
    """torch's legacy constructor: () empty, (*sizes) or (torch.Size) uninitialised (zeros
    here), (tensor) an alias of a tensor of this very type, (data) a copy of the data."""
    full = f"{cls.__module__.replace('retrograd', 'torch')}.{cls.__qualname__}"
    if cls.is_cuda and not _backend.cuda_available():
        raise TypeError(f"type {full} not available. Torch not compiled with CUDA enabled.")
    if device is not None and _backend.device(device).type != _device_kind(cls):
        raise RuntimeError(f"legacy constructor expects device type: {_device_kind(cls)} but "
                           f"device type: {_backend.device(device).type} was passed")
    where = _device_kind(cls) if device is None else device
    if not args:
        return _on(Tensor._make(_backend.module_for(where).zeros((0,), dtype=cls.dtype.np)), where)
    if _is_size(args):
        size = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
        for n in size:
            if n < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(size)}")
        return _on(Tensor._make(_backend.module_for(where).zeros(tuple(int(n) for n in size), dtype=cls.dtype.np)),
                   where)  # made on the device
    if len(args) > 1:
        bad = next(a for a in args if not _is_int(a))
        raise TypeError(f"new(): argument 'size' failed to unpack the object at pos {args.index(bad) + 1} "
                        f"with error \"type must be tuple of ints,but got {type(bad).__name__}\"")
    data = args[0]
    if isinstance(data, Tensor):
        if data.dtype is not cls.dtype or data.is_cuda != cls.is_cuda:
            raise TypeError(f"expected {full} (dtype {cls.dtype}, device {_device_kind(cls)}), got a "
                            f"tensor of dtype {data.dtype} on {data.device} (convert it with "
                            f".type({full!r}) or .to(...))")
        return data.view_as(data)  # torch returns an alias: same memory, same autograd history
    if isinstance(data, str):
        raise TypeError(f"new(): invalid data type '{type(data).__name__}'")
    if isinstance(data, (float, bool, complex)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
    from .creation import tensor

    return tensor(data, dtype=cls.dtype, device=where)


def new(self, *args, device=None, **kwargs):
    """The legacy constructor of self's type, on self's device: ``x.new(2, 3)`` (uninitialised
    in torch, zeros here), ``x.new([1, 2])`` (data in x's dtype), ``x.new()`` (empty),
    ``x.new(t)`` (an alias of a tensor of x's very type)."""
    return _type_by_name(type_name(self))(*args, device=self.device if device is None else device, **kwargs)


Tensor.new = new


def _is_int(a):
    return isinstance(a, (int, np.integer)) and not isinstance(a, bool)


def _is_size(args):
    if len(args) == 1 and isinstance(args[0], Size):
        return True
    return all(_is_int(a) for a in args)


def _on(t, device):
    if _backend.device(device).type != "cpu":
        t._data = _backend.to_device(t._data, device)
    return t


def type_name(tensor):
    """``'torch.FloatTensor'``, ``'torch.cuda.LongTensor'``: the legacy name of a tensor's type."""
    name = _NAME_OF_DTYPE.get(tensor.dtype)
    if name is None:
        raise RuntimeError(f"retrograd has no legacy tensor type for dtype {tensor.dtype}")
    return f"torch.cuda.{name}" if tensor.is_cuda else f"torch.{name}"


_NAME_OF_DTYPE = {_dtype._BY_NAME[d]: name for name, d in _TYPES}


def _type_by_name(name):
    prefix, _, short = name.rpartition(".")
    table = {"torch": CPU_TYPES, "torch.cuda": CUDA_TYPES}.get(prefix, {})
    if short == "Tensor" and prefix == "torch":  # the default tensor type
        return CPU_TYPES[_NAME_OF_DTYPE[_dtype.get_default_dtype()]]
    if short not in table:
        raise ValueError(f"invalid type: {name!r}")
    return table[short]


def convert(tensor, dtype, non_blocking=False):
    """``Tensor.type(dtype)``: a legacy type, its name, ``Tensor`` or a dtype; ``tensor``
    itself when it already has that type, else a copy (recorded for autograd)."""
    if isinstance(dtype, str):
        dtype = _type_by_name(dtype)
    elif dtype is Tensor:
        dtype = _type_by_name("torch.Tensor")
    if isinstance(dtype, _LegacyTensorType):
        if dtype.is_cuda and not _backend.cuda_available():
            raise RuntimeError(f"Cannot convert to torch.cuda.{dtype.__qualname__}: CUDA is not "
                               "available (retrograd runs CUDA through CuPy and a GPU)")
        device = _device_kind(dtype) if dtype.is_cuda != tensor.is_cuda else None
        return tensor.to(dtype=dtype.dtype, device=device, non_blocking=non_blocking)
    if isinstance(dtype, _dtype.dtype):
        return tensor.to(dtype=dtype, non_blocking=non_blocking)
    raise TypeError("dtype must be a type, str, or dtype object")


def set_default_tensor_type(t, /):
    """Deprecated in torch: make a floating legacy type (``torch.DoubleTensor`` or its name)
    the default, i.e. set the default dtype, and for a ``torch.cuda`` type the default device."""
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    cls = _type_by_name(t) if isinstance(t, str) else t
    if not isinstance(cls, _LegacyTensorType):
        raise TypeError(f"invalid type object: only floating-point types are supported as the default type "
                        f"(got {t!r}; use torch.set_default_dtype for a dtype)")
    if not cls.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    from .creation import set_default_device

    _dtype.set_default_dtype(cls.dtype)
    set_default_device("cuda" if cls.is_cuda else None)
