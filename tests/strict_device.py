"""A strict stand-in for CuPy on the CPU (issue 17, item 4): retrograd's CUDA path run without a GPU.

``installed()`` puts this module where retrograd's backend seam looks for CuPy
(``retrograd._backend.cupy``, and ``cupyx`` in ``sys.modules``), so ``device='cuda'`` means one
fake GPU whose arrays are ``ndarray`` objects of this module: they wrap a NumPy array but are not
``np.ndarray``, and behave as ``cupy.ndarray`` does where NumPy and CuPy differ:

- no implicit conversion to NumPy: ``np.asarray(x)`` raises CuPy's TypeError; ``.get()`` copies;
- a ufunc or NumPy function given a host array among device arrays raises TypeError, as CuPy's
  kernels do ("Unsupported type <class 'numpy.ndarray'>");
- ``np.<func>(x)`` runs only where CuPy has that function (``__array_function__``; otherwise
  NumPy's "no implementation found" TypeError), ufunc methods only where CuPy has them
  (``at`` for add/maximum/minimum/bitwise ops, ``reduce`` for add/multiply, ``accumulate`` and
  ``reduceat`` for add);
- reductions and indexing give 0-dim arrays, never NumPy scalars; integer-array indices wrap
  around instead of raising IndexError; no bfloat16 or object dtypes; no read-only arrays;
- CUDA C cannot run: an ``ElementwiseKernel`` runs only where ``EMULATED`` has its NumPy twin
  (Philox, the bfloat16 conversions), and there is no ``RawKernel`` (retrograd's fused kernels then
  keep their array code; tests/cuda_emulator.py supplies them where a test wants them);
  ``cupyx.scipy.special`` computes with SciPy, or without it with retrograd's NumPy kernels.

Each transfer to the host (``get``, ``item``, ``tolist``, ``bool()``/``int()``/``float()``, a
boolean-mask selection, ``nonzero`` and the other functions whose output shape depends on the
values) is a host synchronisation on a GPU; ``syncs`` records each with the line of retrograd
that asked for it, so a test can find the round trips of a training step.

It lives in tests/ because it is a test double: the library never imports it, and it ships
nothing a user could mistake for GPU support. Arithmetic is NumPy's, so results equal the CPU's.
"""

import contextlib
import math
import sys
import traceback
import types
import warnings
import weakref

import numpy as np

_SUPPORTED_KINDS = "biufc"

# some NumPy functions CuPy does not have (its comparison table): np.<name>(device array) raises there
_MISSING = frozenset({
    "frompyfunc", "require", "nditer", "nested_iters", "ndenumerate", "memmap", "fromregex", "asmatrix",
    "bmat", "busday_count", "busday_offset", "is_busday", "datetime_as_string", "datetime_data",
})
# ufunc methods CuPy implements, per method (CuPy's ufunc tracker, v12+): None means every ufunc
_UFUNC_METHODS = {
    "__call__": None, "outer": None,
    "at": {"add", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"},
    "reduce": {"add", "multiply"}, "accumulate": {"add"}, "reduceat": {"add"},
}
# functions whose output shape depends on the values: CuPy copies a count to the host first
_SYNCING = frozenset({"nonzero", "argwhere", "flatnonzero", "unique", "compress", "extract",
                      "trim_zeros", "union1d", "intersect1d", "setdiff1d"})
# creation functions that take host data (a host -> device copy, allowed)
_FROM_HOST = frozenset({"array", "asarray", "asanyarray", "frombuffer", "fromiter", "fromstring",
                        "fromfile", "loadtxt"})
# functions CuPy answers with a 0-dim device array where NumPy gives a Python bool
_BOOL_ARRAYS = frozenset({"allclose", "array_equal", "array_equiv"})

IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a "
            "NumPy array explicitly.")


# ---------------------------------------------------------------------------- host round trips


class _Syncs:
    """The host synchronisations asked of device arrays: (what, 'file:line' in retrograd)."""

    def __init__(self):
        self.events = []

    def record(self, what):
        site = "?"
        for frame in reversed(traceback.extract_stack()[:-2]):
            if frame.filename != __file__:
                site = f"{frame.filename.rsplit('/src/', 1)[-1]}:{frame.lineno}"
                break
        self.events.append((what, site))

    def clear(self):
        self.events.clear()

    def __len__(self):
        return len(self.events)

    def __repr__(self):
        return "\n".join(f"{what} at {site}" for what, site in self.events) or "no host synchronisation"


syncs = _Syncs()


# ---------------------------------------------------------------------------- wrapping

_live = weakref.WeakValueDictionary()  # id(NumPy array) -> its wrapper, so x.base keeps identity


def _check_dtype(dtype):
    if dtype.kind not in _SUPPORTED_KINDS:
        raise ValueError(f"Unsupported dtype {dtype}")


def _wrap(a):
    """NumPy results as device results: arrays wrapped, NumPy scalars as 0-dim arrays."""
    if isinstance(a, np.ndarray):
        w = _live.get(id(a))
        if w is not None and w._a is a:
            return w
        _check_dtype(a.dtype)
        with contextlib.suppress(ValueError), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy's warn-on-write broadcasts warn when asked
            if not a.flags.writeable:  # CuPy has no read-only arrays (its diagonals, broadcasts are writable)
                a.flags.writeable = True
        w = object.__new__(ndarray)
        w._a = a
        _live[id(a)] = w
        return w
    if isinstance(a, np.generic):
        return _wrap(np.asarray(a))
    if isinstance(a, tuple) and not hasattr(a, "_fields"):
        return tuple(_wrap(x) for x in a)
    if isinstance(a, list):
        return [_wrap(x) for x in a]
    if hasattr(a, "_fields"):  # named tuples (np.linalg's results)
        return type(a)(*(_wrap(x) for x in a))
    return a


def _unwrap(x, host_ok=False):
    """Device arrays (deep in lists and tuples) as their NumPy arrays; a host array is an error
    unless ``host_ok`` (creation from host data)."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        if host_ok:
            return x
        raise TypeError(f"Unsupported type {type(x)}")
    if isinstance(x, (list, tuple)) and not hasattr(x, "_fields"):
        return type(x)(_unwrap(v, host_ok) for v in x)
    return x


def _unwrap_key(key):
    """An index: device arrays unwrapped (host index arrays are copied to the device, as CuPy
    does), integer arrays wrapped around as CuPy does instead of raising IndexError."""
    return key._a if isinstance(key, ndarray) else tuple(k._a if isinstance(k, ndarray) else k for k in key) \
        if isinstance(key, tuple) else key


def _wrapped_key(shape, key):
    """``key`` with its integer-array entries taken modulo their dimension (CuPy wraps)."""
    items = [np.asarray(k) if isinstance(k, list) else k for k in (key if isinstance(key, tuple) else (key,))]
    span = [k.ndim if isinstance(k, np.ndarray) and k.dtype == np.bool_ else 1 for k in items]
    explicit = sum(n for k, n in zip(items, span) if k is not None and k is not Ellipsis)
    out, dim = [], 0
    for k, n in zip(items, span):
        if k is Ellipsis:
            dim += len(shape) - explicit
        elif k is not None:
            if isinstance(k, np.ndarray) and k.dtype.kind in "iu" and dim < len(shape) and shape[dim]:
                k = k % shape[dim]
            dim += n
        out.append(k)
    return tuple(out) if isinstance(key, tuple) else out[0]


def _has_bool_mask(key):
    items = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray) and k.dtype == np.bool_ and k.ndim for k in items)


def _along_axis_wrapped(args, kwargs):
    """take_along_axis/put_along_axis's indices modulo the axis (CuPy indexes with wrap-around)."""
    arr, indices, *rest = args
    axis = kwargs.get("axis", rest[-1] if rest else None)
    if axis is not None and arr.shape[axis]:
        indices = indices % arr.shape[axis]
    return (arr, indices, *rest)


def _call(name, func, args, kwargs, host_ok=False):
    """func (NumPy's) on the unwrapped arguments, its results wrapped; ``out=`` keeps its object."""
    if name in _SYNCING:
        syncs.record(name)
    out = kwargs.get("out")
    args = _unwrap(args, host_ok)
    kwargs = {k: _unwrap(v, host_ok) for k, v in kwargs.items()}
    if name in ("take_along_axis", "put_along_axis"):
        args = _along_axis_wrapped(args, kwargs)
    with np.errstate(all="ignore"):  # GPU kernels never warn
        result = func(*args, **kwargs)
    if out is not None:
        return out
    if name in _BOOL_ARRAYS:
        return _wrap(np.asarray(result))
    return _wrap(result)


# ---------------------------------------------------------------------------- the array


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata


class _MemoryPointer:
    __slots__ = ("ptr",)

    def __init__(self, ptr):
        self.ptr = ptr


class Device:
    """``cupy.cuda.Device``: the one fake GPU, 0."""

    def __init__(self, device=None):
        device = 0 if device is None else int(getattr(device, "id", device))
        if device != 0:
            raise RuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {device}")
        self.id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def use(self):
        pass

    def synchronize(self):
        pass

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


def _method(name, syncing=False):
    def method(self, *args, **kwargs):
        if syncing:
            syncs.record(name)
        return _call(name, getattr(self._a, name), args, kwargs)

    method.__name__ = name
    return method


def _inplace_method(name):
    def method(self, *args, **kwargs):
        _call(name, getattr(self._a, name), args, kwargs)

    method.__name__ = name
    return method


def _binary(ufunc, reflected=False):
    def op(self, other):
        return ufunc(other, self) if reflected else ufunc(self, other)

    return op


def _inplace(ufunc):
    def op(self, other):
        ufunc(self, other, out=self)
        return self

    return op


class ndarray:
    """``cupy.ndarray`` on the CPU: a NumPy array that refuses to be one (see the module)."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("strict_device.ndarray: memptr and strides are not simulated")
        self._a = np.empty(shape, dtype, order=order)
        _check_dtype(self._a.dtype)
        _live[id(self._a)] = self

    # -- NumPy's protocols: no implicit host copy, device-only arithmetic
    def __array__(self, dtype=None, copy=None):
        raise TypeError(IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        allowed = _UFUNC_METHODS.get(method, ())
        if allowed is not None and ufunc.__name__ not in allowed:
            raise NotImplementedError(f"{ufunc.__name__}.{method} is not supported by CuPy")
        if method == "at":  # a host index array is copied to the device, as in indexing
            inputs = (inputs[0], _unwrap_key(inputs[1])) + inputs[2:]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o) for o in (out if isinstance(out, tuple) else (out,)))
        args = _unwrap(inputs) if method != "at" else (_unwrap(inputs[0]), inputs[1]) + _unwrap(inputs[2:])
        with np.errstate(all="ignore"):
            result = getattr(ufunc, method)(*args, **kwargs)
        if method == "at":
            return None
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        module = func.__module__ or "numpy"
        sub = next((p for p in ("linalg", "fft", "random") if module.startswith("numpy." + p)), None)
        if (f"{sub}.{func.__name__}" if sub else func.__name__) in _MISSING:
            return NotImplemented
        return _call(func.__name__, func, args, kwargs)

    # -- explicit host transfers (each one a synchronisation on a GPU)
    def get(self, stream=None, order="C", out=None, blocking=True):
        syncs.record("get")
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order)

    def set(self, arr, stream=None):
        if not isinstance(arr, np.ndarray) or arr.shape != self._a.shape:
            raise ValueError("Shape mismatch")
        self._a[...] = arr

    def item(self, *args):
        syncs.record("item")
        return self._a.item(*args)

    def tolist(self):
        syncs.record("tolist")
        return self._a.tolist()

    def __bool__(self):
        syncs.record("bool")
        return bool(self._a)

    def __int__(self):
        syncs.record("int")
        return int(self._a)

    def __float__(self):
        syncs.record("float")
        return float(self._a)

    def __complex__(self):
        syncs.record("complex")
        return complex(self._a)

    def __index__(self):
        syncs.record("index")
        return self._a.__index__()

    def __repr__(self):
        syncs.record("repr")
        return repr(self._a)

    def __str__(self):
        syncs.record("str")
        return str(self._a)

    def __format__(self, spec):
        syncs.record("format")
        return format(self._a, spec)

    def __reduce__(self):
        syncs.record("pickle")
        return (array, (self._a.copy(),))

    # -- attributes
    shape = property(lambda self: self._a.shape)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    dtype = property(lambda self: self._a.dtype)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: _wrap(self._a.T))
    mT = property(lambda self: _wrap(self._a.mT))
    real = property(lambda self: _wrap(self._a.real))
    imag = property(lambda self: _wrap(self._a.imag))
    device = property(lambda self: Device(0))
    data = property(lambda self: _MemoryPointer(self._a.__array_interface__["data"][0]))

    @property
    def __cuda_array_interface__(self):
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "version": 3,
                "data": (self._a.__array_interface__["data"][0], False),
                "strides": None if self._a.flags.c_contiguous else self._a.strides}

    @property
    def base(self):
        b = self._a.base
        return _wrap(b) if isinstance(b, np.ndarray) else None

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    # -- methods CuPy's ndarray has
    for _name in ("all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "choose", "clip",
                  "conj", "conjugate", "copy", "cumprod", "cumsum", "diagonal", "dot", "flatten", "max", "mean",
                  "min", "prod", "ravel", "repeat", "reshape", "round", "squeeze", "std", "sum", "swapaxes",
                  "take", "trace", "transpose", "var", "view"):
        locals()[_name] = _method(_name)
    for _name in ("nonzero", "compress"):
        locals()[_name] = _method(_name, syncing=True)
    for _name in ("fill", "sort", "partition", "put"):
        locals()[_name] = _inplace_method(_name)
    del _name

    def __copy__(self):
        return _wrap(self._a.copy())

    def __deepcopy__(self, memo):
        return _wrap(self._a.copy())

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self._a.shape[0]))

    def __getitem__(self, key):
        key = _unwrap_key(key)
        if _has_bool_mask(key):
            syncs.record("boolean mask")
        return _wrap(self._a[_wrapped_key(self._a.shape, key)])

    def __setitem__(self, key, value):
        key = _unwrap_key(key)
        if isinstance(value, np.ndarray) and value.ndim:
            if not (isinstance(key, slice) and key == slice(None)):
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        elif isinstance(value, ndarray):
            value = value._a
        with np.errstate(all="ignore"):
            self._a[_wrapped_key(self._a.shape, key)] = value

    # -- operators through the ufuncs (so host operands raise)
    __add__, __radd__, __iadd__ = _binary(np.add), _binary(np.add, True), _inplace(np.add)
    __sub__, __rsub__, __isub__ = _binary(np.subtract), _binary(np.subtract, True), _inplace(np.subtract)
    __mul__, __rmul__, __imul__ = _binary(np.multiply), _binary(np.multiply, True), _inplace(np.multiply)
    __truediv__, __rtruediv__ = _binary(np.true_divide), _binary(np.true_divide, True)
    __itruediv__ = _inplace(np.true_divide)
    __floordiv__, __rfloordiv__ = _binary(np.floor_divide), _binary(np.floor_divide, True)
    __ifloordiv__ = _inplace(np.floor_divide)
    __mod__, __rmod__, __imod__ = _binary(np.remainder), _binary(np.remainder, True), _inplace(np.remainder)
    __pow__, __rpow__, __ipow__ = _binary(np.power), _binary(np.power, True), _inplace(np.power)
    __matmul__, __rmatmul__ = _binary(np.matmul), _binary(np.matmul, True)
    __and__, __rand__, __iand__ = _binary(np.bitwise_and), _binary(np.bitwise_and, True), _inplace(np.bitwise_and)
    __or__, __ror__, __ior__ = _binary(np.bitwise_or), _binary(np.bitwise_or, True), _inplace(np.bitwise_or)
    __xor__, __rxor__, __ixor__ = _binary(np.bitwise_xor), _binary(np.bitwise_xor, True), _inplace(np.bitwise_xor)
    __lshift__, __rshift__ = _binary(np.left_shift), _binary(np.right_shift)
    __eq__, __ne__ = _binary(np.equal), _binary(np.not_equal)
    __lt__, __le__ = _binary(np.less), _binary(np.less_equal)
    __gt__, __ge__ = _binary(np.greater), _binary(np.greater_equal)

    def __neg__(self):
        return np.negative(self)

    def __pos__(self):
        return np.positive(self)

    def __abs__(self):
        return np.absolute(self)

    def __invert__(self):
        return np.invert(self)

    def __divmod__(self, other):
        return np.divmod(self, other)


# ---------------------------------------------------------------------------- the module namespace


def _function(name, func):
    host_ok = name.rsplit(".", 1)[-1] in _FROM_HOST

    def wrapper(*args, **kwargs):
        return _call(name, func, args, kwargs, host_ok)

    wrapper.__name__ = func.__name__
    wrapper.__qualname__ = f"strict_device.{name}"
    return wrapper


class _Namespace(types.ModuleType):
    """A module of device functions mirroring ``numpy.<path>`` (``cupy``, ``cupy.linalg``, ...)."""

    def __init__(self, name, source, prefix=""):
        super().__init__(name)
        self._source, self._prefix = source, prefix

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        full = self._prefix + attr
        if full in _MISSING:
            raise AttributeError(f"module 'cupy' has no attribute '{full}' (CuPy lacks it)")
        value = getattr(self._source, attr)
        if isinstance(value, np.ufunc):
            value = _Ufunc(value)
        elif callable(value) and not isinstance(value, type) and not isinstance(value, np.dtype):
            value = _function(full, value)
        setattr(self, attr, value)
        return value


class _Ufunc:
    """A ufunc of the device module (``cupy.add``): calls and methods go through ndarray's protocol."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__
        self.nin, self.nout, self.nargs = ufunc.nin, ufunc.nout, ufunc.nargs

    def _apply(self, method, inputs, kwargs):
        for x in inputs[:1] if method != "__call__" else inputs:
            if isinstance(x, ndarray):
                return x.__array_ufunc__(self._ufunc, method, *inputs, **kwargs)
        if method == "__call__":  # scalars only: a 0-dim device result
            return ndarray.__array_ufunc__(None, self._ufunc, method, *inputs, **kwargs)
        raise TypeError(f"Unsupported type {type(inputs[0])}")

    def __call__(self, *inputs, **kwargs):
        return self._apply("__call__", inputs, kwargs)

    def __getattr__(self, method):
        if method not in _UFUNC_METHODS:
            raise AttributeError(method)
        return lambda *inputs, **kwargs: self._apply(method, inputs, kwargs)


def get_array_module(*args):
    return cupy if any(isinstance(a, ndarray) for a in args) else np


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(stream, order, out, blocking)
    return np.asarray(a, order=order)


class _IndexTrick:
    """``cupy.r_`` / ``cupy.c_``: NumPy's index tricks on device arrays."""

    def __init__(self, trick):
        self._trick = trick

    def __getitem__(self, key):
        return _call("r_", self._trick.__getitem__, (key,), {})


class _MemoryPool:
    def used_bytes(self):
        return sum(w._a.nbytes for w in list(_live.values()) if w._a.base is None)

    total_bytes = used_bytes

    def free_all_blocks(self):
        pass


_POOL = _MemoryPool()


class _Runtime:
    @staticmethod
    def getDeviceCount():
        return 1

    @staticmethod
    def getDevice():
        return 0

    @staticmethod
    def setDevice(index):
        Device(index)

    @staticmethod
    def getDeviceProperties(index):
        Device(index)
        return {"name": b"strict CPU stand-in for CuPy", "major": 9, "minor": 0, "totalGlobalMem": 2**33}

    @staticmethod
    def memGetInfo():
        return 2**33 - _POOL.used_bytes(), 2**33


class _Draws:
    """A NumPy generator whose draws land on the device (``cupy.random.RandomState``, ``Generator``)."""

    def __init__(self, source):
        self._source = source

    def __getattr__(self, name):
        return _function(f"random.{name}", getattr(self._source, name))


def _random_namespace():
    """``cupy.random``: NumPy's generators whose draws land on the device."""
    rnd = types.ModuleType("cupy.random")
    state = [_Draws(np.random.RandomState())]
    rnd.RandomState = lambda seed=None: _Draws(np.random.RandomState(seed))
    rnd.Generator = lambda bit_generator: _Draws(np.random.Generator(bit_generator))
    rnd.default_rng = lambda seed=None: _Draws(np.random.default_rng(seed))
    rnd.PCG64, rnd.XORWOW, rnd.Philox4x3210 = np.random.PCG64, np.random.PCG64, np.random.Philox
    rnd.seed = lambda seed=None: state.__setitem__(0, _Draws(np.random.RandomState(seed)))
    rnd.get_random_state = lambda: state[0]
    for name in ("rand", "randn", "random", "random_sample", "uniform", "normal", "randint", "permutation",
                 "standard_normal", "choice", "shuffle", "exponential", "gamma", "beta", "binomial",
                 "poisson", "multinomial", "standard_gamma"):
        setattr(rnd, name, (lambda n: lambda *a, **k: getattr(state[0], n)(*a, **k))(name))
    return rnd


def _cuda_namespace():
    cuda = types.ModuleType("cupy.cuda")
    cuda.Device, cuda.runtime = Device, _Runtime()
    cuda.get_current_stream = lambda: _Stream()
    cuda.Stream, cuda.Event = _Stream, _Event
    return cuda


class _Stream:
    null = None

    def __init__(self, non_blocking=False):
        pass

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        pass

    def record(self, stream=None):
        pass

    def synchronize(self):
        pass


# ---------------------------------------------------------------------------- cupy and cupyx


cupy = _Namespace("cupy", np)
for _attr in ("ndarray", "get_array_module", "asnumpy"):
    setattr(cupy, _attr, globals()[_attr])
cupy.linalg = _Namespace("cupy.linalg", np.linalg, "linalg.")
cupy.fft = _Namespace("cupy.fft", np.fft, "fft.")
cupy.lib = types.ModuleType("cupy.lib")
cupy.lib.stride_tricks = types.ModuleType("cupy.lib.stride_tricks")
cupy.lib.stride_tricks.as_strided = lambda x, shape=None, strides=None: _wrap(
    np.lib.stride_tricks.as_strided(_unwrap(x), shape, strides))
cupy.lib.stride_tricks.sliding_window_view = _function("sliding_window_view", np.lib.stride_tricks.sliding_window_view)
cupy.random = _random_namespace()
cupy.cuda = _cuda_namespace()
cupy.get_default_memory_pool = lambda: _POOL
cupy.get_default_pinned_memory_pool = lambda: _POOL
cupy.r_ = _IndexTrick(np.r_)
cupy.c_ = _IndexTrick(np.c_)
cupy.newaxis, cupy.inf, cupy.nan, cupy.pi, cupy.e = None, math.inf, math.nan, math.pi, math.e


class ElementwiseKernel:
    """``cupy.ElementwiseKernel``: CUDA C cannot run here, so a kernel runs only where its name has
    a NumPy emulation in ``EMULATED`` (a retrograd NumPy reference of the same computation);
    any other kernel raises NotImplementedError naming it."""

    def __init__(self, in_params, out_params, operation, name="kernel", **options):
        self.name = name

    def __call__(self, *args, size=None, **kwargs):
        if self.name not in EMULATED:
            raise NotImplementedError(f"strict_device cannot run the CUDA kernel {self.name!r}: add a NumPy "
                                      "emulation of it to strict_device.EMULATED")
        return EMULATED[self.name](*args, size=size, **kwargs)


def _philox(seed, offset, out, size=None):
    from retrograd import _philox

    out[...] = _wrap(_philox.blocks(np, size, int(seed), int(offset)))


def _bfloat16(name):
    def convert(x, size=None):
        from retrograd import _bfloat16

        return _wrap(getattr(_bfloat16, name)(_unwrap(x)))  # the kernels' NumPy twins
    return convert


EMULATED = {"retrograd_philox4x32_10": _philox, "retrograd_f32_to_bf16": _bfloat16("to_bits"),
            "retrograd_bf16_to_f32": _bfloat16("from_bits")}
cupy.ElementwiseKernel = ElementwiseKernel


def _scatter(ufunc):
    def scatter(a, slices, value):
        ufunc.at(a, slices, value)

    return scatter


cupyx = types.ModuleType("cupyx")
cupyx.scatter_add = _scatter(np.add)
cupyx.scatter_max = _scatter(np.maximum)
cupyx.scatter_min = _scatter(np.minimum)
cupyx.scipy = types.ModuleType("cupyx.scipy")


def _host_special(name):
    """cupyx.scipy.special's ``name`` as a host function: SciPy's where it is installed, else
    retrograd's own float64 NumPy kernels (CuPy needs no SciPy, so neither does the stand-in)."""
    try:
        import scipy.special as host

        return getattr(host, name, None)
    except ImportError:
        pass
    from retrograd.ops import _special_kernels as K
    from retrograd.ops.math import _erfinv_array

    xlog1py = lambda x, y: np.where((x == 0) & ~np.isnan(y), 0.0, x * np.log1p(y))  # noqa: E731
    return {"erfinv": _erfinv_array, "gammaln": K.lgamma, "xlog1py": xlog1py,
            "gammainc": lambda a, x: K.incomplete_gamma(a, x, upper=False),
            "gammaincc": lambda a, x: K.incomplete_gamma(a, x, upper=True)}.get(name, getattr(K, name, None))


def _special_function(name, host):
    """A device function of cupyx.scipy.special: host's values, in the inputs' float dtype."""
    def f(*args):
        arrays = [a._a for a in args if isinstance(a, ndarray)]
        dtype = np.result_type(*arrays, np.float32) if arrays else np.float64
        with np.errstate(all="ignore"):
            out = host(*(a._a if isinstance(a, ndarray) else a for a in args))
        return _wrap(np.asarray(out).astype(dtype, copy=False))

    f.__name__ = name
    return f


def _scipy_special():
    special = types.ModuleType("cupyx.scipy.special")
    for name in ("erf", "erfc", "erfinv", "erfcx", "gammaln", "digamma", "polygamma", "i0", "i0e", "i1", "i1e",
                 "ndtr", "ndtri", "log_ndtr", "zeta", "gammainc", "gammaincc", "xlog1py"):
        host = _host_special(name)
        if host is not None:
            setattr(special, name, _special_function(name, host))
    return special


cupyx.scipy.special = _scipy_special()


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0):
    return cupy.array(obj, dtype=dtype, copy=copy, order=order, ndmin=ndmin)


@contextlib.contextmanager
def installed():
    """Within: retrograd's 'cuda' device is this module (one fake GPU); ``syncs`` starts empty."""
    from retrograd import _backend, _device_checks

    saved = _backend.cupy, {k: sys.modules.get(k) for k in ("cupyx", "cupyx.scipy", "cupyx.scipy.special")}
    _backend.cupy = cupy
    sys.modules.update({"cupyx": cupyx, "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special})
    syncs.clear()
    try:
        yield cupy
    finally:
        _device_checks._pending.clear()  # checks of this fake device's arrays die with it
        _backend.cupy = saved[0]
        for k, v in saved[1].items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


# one module under both names it is imported by (``strict_device`` on pytest's path and
# ``tests.strict_device``), so that arrays of one are arrays of the other
sys.modules.setdefault("strict_device", sys.modules[__name__])
sys.modules.setdefault("tests.strict_device", sys.modules[__name__])
