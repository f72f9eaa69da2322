"""bfloat16 on CUDA. CuPy has no bfloat16 dtype, so a CUDA bfloat16 tensor holds a
``DeviceBFloat16``: the 16-bit patterns in a CuPy uint16 array, reporting ml_dtypes' bfloat16 as its
dtype, as a CPU bfloat16 array does. Arithmetic on it is torch's "opmath": the operands widen to
float32 (exact: a bfloat16 is the top half of a float32), CuPy computes in float32 (matmul in
cuBLAS float32 with float32 accumulation; reductions accumulate in float32), and a floating result
rounds back to bfloat16 once, unless a float32/float64/float16 array took part (then the result
is that wider type, as torch promotes). Layout operations (reshape, transpose, indexing, copy)
move the bit patterns untouched. docs/cuda.md describes the design.

The conversions are the only new arithmetic, written twice: as NumPy expressions on uint32/uint16
arrays (``to_bits``/``from_bits`` with NumPy, checked bit for bit against ml_dtypes over every
bfloat16 value and every rounding case) and as the CUDA kernels beside them. float32 -> bfloat16
rounds to nearest, ties to even; NaN stays NaN (sign kept, quiet: 0x7FC0), infinities and
subnormals convert as ml_dtypes'. Other types go through float32 first, as torch's
``c10::BFloat16(float)`` does (float64 1 + 2**-8 + 2**-30 -> 1.0; ml_dtypes' direct rounding
gives 1.0078125).

Everything here runs on NumPy arrays too (``DeviceBFloat16(numpy_bits)``), so a CPU machine tests
the whole design; on a GPU only the kernels differ, and a GPU test checks them against NumPy.
"""

import operator

import numpy as np

from . import _dtype

# float32 bits -> bfloat16 bits: NaN -> sign | 0x7FC0, else round to nearest even on the low 16 bits
_TO_BITS_SOURCE = r"""
unsigned int b = __float_as_uint(x);
if ((b & 0x7FFFFFFFu) > 0x7F800000u) y = (unsigned short)(((b >> 16) & 0x8000u) | 0x7FC0u);
else y = (unsigned short)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
"""
# bfloat16 bits -> float32: the bits are the top half of the float32
_FROM_BITS_SOURCE = "x = __uint_as_float(((unsigned int)y) << 16);"
_kernels = {}  # (array module, name) -> its compiled cupy.ElementwiseKernel, made on first use


def _kernel(xp, name):
    kernel = _kernels.get((xp, name))
    if kernel is None:
        if name == "to_bits":
            kernel = xp.ElementwiseKernel("float32 x", "uint16 y", _TO_BITS_SOURCE, "retrograd_f32_to_bf16")
        else:
            kernel = xp.ElementwiseKernel("uint16 y", "float32 x", _FROM_BITS_SOURCE, "retrograd_bf16_to_f32")
        _kernels[(xp, name)] = kernel
    return kernel


def _module(arr):
    """NumPy for host arrays, else the backend's CuPy (or the tests' stand-in for it)."""
    if isinstance(arr, (np.ndarray, np.generic)):
        return np
    from . import _backend

    return _backend.cupy


def to_bits(x):
    """The bfloat16 bit patterns (uint16) of array ``x`` (any real dtype; converted to float32 first)."""
    xp = _module(x)
    x = x.astype(np.float32, copy=False)
    if xp is not np:
        return _kernel(xp, "to_bits")(x)
    b = x.view(np.uint32)
    nan = (b & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    rounded = (b + (np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1)))) >> np.uint32(16)
    quiet_nan = ((b >> np.uint32(16)) & np.uint32(0x8000)) | np.uint32(0x7FC0)
    return np.where(nan, quiet_nan, rounded).astype(np.uint16)


def from_bits(bits):
    """The float32 values of bfloat16 bit patterns ``bits`` (uint16): exact."""
    xp = _module(bits)
    if xp is not np:
        return _kernel(xp, "from_bits")(bits)
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def _bf16():
    return _dtype.bfloat16.np  # ml_dtypes' bfloat16 (imported on first use)


def _is_bf16(dtype):
    return dtype is not None and np.dtype(dtype) == _bf16()


def _is_dtype_bf16(x):
    try:
        return np.dtype(x) == _bf16()
    except TypeError:  # a type that is no dtype
        return False


def _widen(x, seen):
    """``x`` with DeviceBFloat16 arrays (also inside lists) as float32; ``seen`` records what took part."""
    if type(x) is DeviceBFloat16:
        seen["bf16"] = True
        return from_bits(x.bits)
    if isinstance(x, (list, tuple)):
        return type(x)(_widen(v, seen) for v in x)
    if isinstance(x, (np.dtype, type)) and _is_dtype_bf16(x):  # a dtype argument: computed in float32
        seen["bf16 dtype"] = True
        return np.dtype(np.float32)
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype == _bf16():  # an ml_dtypes operand (a number
        seen["bf16"] = True  # a bfloat16 op made): its float32 value; a 0-d one as a number
        x = x.astype(np.float32)
        return float(x) if x.ndim == 0 else x
    if getattr(x, "dtype", None) is not None and getattr(x, "ndim", 0) and np.dtype(x.dtype).kind == "f":
        seen["float"] = True  # a float16/32/64 array: the result is its (wider) type
    return x


def _narrow(result, seen, dtype=None):
    """A computed result as torch returns it: floating float32 arrays back to bfloat16 when only
    bfloat16 floats took part (or ``dtype`` asks for bfloat16)."""
    if isinstance(result, tuple):
        return tuple(_narrow(r, seen, dtype) for r in result)
    kind = getattr(getattr(result, "dtype", None), "kind", None)
    if kind != "f" or getattr(result, "ndim", None) is None:
        return result
    if _is_bf16(dtype) or seen.get("bf16 dtype") or (dtype is None and seen.get("bf16") and not seen.get("float")):
        return DeviceBFloat16(to_bits(result))
    return result


def opmath(fn, args, kwargs):
    """``fn(*args, **kwargs)`` computed in float32 for DeviceBFloat16 operands, rounded back (see above)."""
    seen = {}
    dtype = kwargs.get("dtype")
    if _is_bf16(dtype):
        kwargs = dict(kwargs, dtype=np.float32)
    out = kwargs.get("out")
    if type(out) is DeviceBFloat16:
        kwargs = {k: v for k, v in kwargs.items() if k != "out"}
    result = _narrow(fn(*_widen(args, seen), **_widen(kwargs, seen)), seen, dtype)
    if type(out) is DeviceBFloat16:
        out[...] = result
        return out
    return result


def into(fn, out, *args):
    """``fn(out, *args)`` for a function that writes into ``out`` (cupyx.scatter_add, ...): a
    DeviceBFloat16 ``out`` is written in float32 and rounded back once; bfloat16 arguments widen."""
    seen = {}
    target = from_bits(out.bits) if type(out) is DeviceBFloat16 else out
    fn(target, *_widen(args, seen))
    if type(out) is DeviceBFloat16:
        out[...] = target
    return out


class _StrideTricks:
    """``lib.stride_tricks`` for DeviceBFloat16: windows over the bits (the same 2-byte strides)."""

    def __init__(self, xp):
        self.xp = xp

    def as_strided(self, x, shape=None, strides=None, **kwargs):
        if type(x) is not DeviceBFloat16:
            return self.xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides, **kwargs)
        return DeviceBFloat16(self.xp.lib.stride_tricks.as_strided(x.bits, shape=shape, strides=strides, **kwargs))

    def sliding_window_view(self, x, *args, **kwargs):
        if type(x) is not DeviceBFloat16:
            return self.xp.lib.stride_tricks.sliding_window_view(x, *args, **kwargs)
        return DeviceBFloat16(self.xp.lib.stride_tricks.sliding_window_view(x.bits, *args, **kwargs))


# functions that only move elements (views and copies): for bfloat16 operands they run on the
# bits, so a view stays a view of the array's memory and nothing rounds (0 bits are +0.0, the
# fill of tril/triu/diag/pad)
_LAYOUT = frozenset({"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze",
                     "broadcast_to", "diagonal", "diag", "tril", "triu", "flip", "fliplr", "flipud", "rot90",
                     "roll", "atleast_1d", "atleast_2d", "atleast_3d", "take", "take_along_axis", "repeat",
                     "tile", "ascontiguousarray", "copy", "concatenate", "stack", "hstack", "vstack",
                     "split", "array_split", "broadcast_arrays", "pad", "asarray", "array"})
# functions that write into their first argument
_WRITERS = frozenset({"copyto", "put", "putmask", "place", "fill_diagonal"})


def _all_bf16(args):
    """Every array among ``args`` (also inside a first list argument) is a DeviceBFloat16."""
    items = args[0] if args and isinstance(args[0], (list, tuple)) else args[:1]
    return bool(items) and all(type(a) is DeviceBFloat16 for a in items)


def _on_bits(fn, args, kwargs):
    """``fn`` applied to the bits of DeviceBFloat16 arguments; array results wrapped back."""
    bits = [x.bits if type(x) is DeviceBFloat16 else x for x in args]
    if args and isinstance(args[0], (list, tuple)):  # concatenate, stack, ...: a sequence of arrays
        bits[0] = [a.bits for a in args[0]]
    out = fn(*bits, **kwargs)
    if isinstance(out, (list, tuple)):
        return type(out)(DeviceBFloat16(o) for o in out)
    return DeviceBFloat16(out)


def _layout_ok(name, args, kwargs):
    if name not in _LAYOUT or not _all_bf16(args):
        return False
    if name in ("asarray", "array") and kwargs.get("dtype") is not None and not _is_bf16(kwargs["dtype"]):
        return False
    return name != "pad" or kwargs.get("mode", "constant") == "constant" and not kwargs.get("constant_values")


class _Ufunc:
    """A ufunc of BFloat16Module: calls and reductions through opmath, ``at`` writing through ``into``."""

    def __init__(self, ufunc):
        self.ufunc = ufunc

    def __call__(self, *args, **kwargs):
        return opmath(self.ufunc, args, kwargs)

    def at(self, a, *args):
        return into(self.ufunc.at, a, *args)

    def __getattr__(self, method):  # reduce, accumulate, outer, reduceat
        return lambda *args, **kwargs: opmath(getattr(self.ufunc, method), args, kwargs)


class BFloat16Module:
    """The array module of DeviceBFloat16 arrays (what _backend.array_module returns for them):
    CuPy's (or NumPy's) functions through ``opmath``, layout functions on the bits, writers
    through ``into``; types and constants as they are."""

    def __init__(self, xp):
        self.xp = xp

    @property
    def lib(self):
        import types

        return types.SimpleNamespace(stride_tricks=_StrideTricks(self.xp))

    def __getattr__(self, name):
        attr = getattr(self.xp, name)
        if not callable(attr) or isinstance(attr, type):
            return attr
        if type(attr).__name__ == "ufunc":
            return _Ufunc(attr)
        if name in _WRITERS:
            return lambda out, *args, **kwargs: into(lambda o, *a: attr(o, *a, **kwargs), out, *args)

        def call(*args, **kwargs):
            if _layout_ok(name, args, kwargs):
                return _on_bits(attr, args, {k: v for k, v in kwargs.items() if k != "dtype"})
            return opmath(attr, args, kwargs)
        call.__name__ = name
        return call


def _binary(op, reflected=False):
    def method(self, other):
        return opmath(op, (other, self) if reflected else (self, other), {})
    return method


def _inplace(op):
    def method(self, other):
        self[...] = opmath(op, (self, other), {})
        return self
    return method


_METHOD_LAYOUT = frozenset({"diagonal", "repeat", "take", "flatten", "compress", "choose", "__copy__"})


class DeviceBFloat16:
    """A bfloat16 array held as its bit patterns ``bits`` (a uint16 CuPy or NumPy array)."""

    __slots__ = ("bits",)
    __array_ufunc__ = None  # NumPy defers to our reflected operators
    __array_priority__ = 100  # so does CuPy

    def __init__(self, bits):
        self.bits = bits

    # ------------------------------------------------------------------ what an array tells
    dtype = property(lambda self: _bf16())
    def _reshape_in_place(self, shape):  # ``a.shape = s``: a view's reshape that must not copy
        self.bits.shape = shape

    shape = property(lambda self: self.bits.shape, _reshape_in_place)
    ndim = property(lambda self: self.bits.ndim)
    size = property(lambda self: self.bits.size)
    strides = property(lambda self: self.bits.strides)
    nbytes = property(lambda self: self.bits.nbytes)
    itemsize = 2
    flags = property(lambda self: self.bits.flags)
    data = property(lambda self: self.bits.data)
    device = property(lambda self: self.bits.device)
    base = property(lambda self: None if self.bits.base is None else DeviceBFloat16(self.bits.base))
    T = property(lambda self: DeviceBFloat16(self.bits.T))
    module = property(lambda self: BFloat16Module(_module(self.bits)))

    def __len__(self):
        return len(self.bits)

    def __repr__(self):
        return f"DeviceBFloat16({from_bits(self.bits)!r})"

    # ------------------------------------------------------------------ conversions
    def astype(self, dtype, copy=True, **kwargs):
        """To ``dtype`` through float32 (torch's rule); to bfloat16 a copy of the bits (or self)."""
        if _is_bf16(dtype):
            return DeviceBFloat16(self.bits.copy()) if copy else self
        return from_bits(self.bits).astype(dtype, copy=False, **kwargs)

    def get(self):
        """The values on the host as an ml_dtypes bfloat16 NumPy array (bit for bit)."""
        bits = self.bits if type(self.bits) is np.ndarray else self.bits.get()
        return bits.view(_bf16())

    # ------------------------------------------------------------------ layout: the bits move
    def copy(self, order="C"):
        return DeviceBFloat16(self.bits.copy(order=order))

    def reshape(self, *shape, **kwargs):
        return DeviceBFloat16(self.bits.reshape(*shape, **kwargs))

    def transpose(self, *axes):
        return DeviceBFloat16(self.bits.transpose(*axes))

    def swapaxes(self, a, b):
        return DeviceBFloat16(self.bits.swapaxes(a, b))

    def ravel(self, order="C"):
        return DeviceBFloat16(self.bits.ravel(order))

    def squeeze(self, axis=None):
        return DeviceBFloat16(self.bits.squeeze(axis))

    def view(self, dtype=None):
        if dtype is None or _is_bf16(dtype):
            return DeviceBFloat16(self.bits.view())
        return self.bits.view(dtype)

    def __getitem__(self, key):
        return DeviceBFloat16(self.bits[key])

    def __setitem__(self, key, value):
        if type(value) is DeviceBFloat16:
            self.bits[key] = value.bits
        else:
            xp = _module(self.bits)
            self.bits[key] = to_bits(xp.asarray(value, dtype=np.float32))

    # ------------------------------------------------------------------ arithmetic: opmath
    def __getattr__(self, name):
        """Other methods (sum, mean, max, clip, any, argmax, ...): the float32 array's, via opmath;
        layout methods (diagonal, repeat, take, flatten, ...) on the bits; fill and sort in place."""
        if name.startswith("__"):  # no array protocol (__array__, ...): NumPy/CuPy must not see float32 here
            raise AttributeError(f"'DeviceBFloat16' object has no attribute {name!r}")
        if name in _METHOD_LAYOUT:
            return lambda *args, **kwargs: DeviceBFloat16(getattr(self.bits, name)(*args, **kwargs))
        if name in ("fill", "sort"):
            return lambda *args, **kwargs: into(lambda t, *a: getattr(t, name)(*a, **kwargs), self, *args) and None
        method = getattr(from_bits(self.bits), name)
        if not callable(method):
            return method

        def call(*args, **kwargs):
            return opmath(lambda *a, **k: getattr(a[0], name)(*a[1:], **k), (self,) + args, kwargs)
        return call

    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv), _binary(operator.floordiv, True)
    __mod__, __rmod__ = _binary(operator.mod), _binary(operator.mod, True)
    __pow__, __rpow__ = _binary(operator.pow), _binary(operator.pow, True)
    __matmul__, __rmatmul__ = _binary(operator.matmul), _binary(operator.matmul, True)
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)
    __eq__, __ne__ = _binary(operator.eq), _binary(operator.ne)
    __iadd__, __isub__ = _inplace(operator.add), _inplace(operator.sub)
    __imul__, __itruediv__ = _inplace(operator.mul), _inplace(operator.truediv)
    __hash__ = None

    def __neg__(self):
        return DeviceBFloat16(self.bits ^ self.bits.dtype.type(0x8000))  # flip the sign bit (NaN too)

    def __abs__(self):
        return DeviceBFloat16(self.bits & self.bits.dtype.type(0x7FFF))

    def __bool__(self):
        return bool(from_bits(self.bits))

    def __float__(self):
        return float(from_bits(self.bits))

    def item(self):
        return from_bits(self.bits).item()
