"""Dtypes as torch names them, their NumPy storage types, and torch's promotion rules.

bfloat16's NumPy type comes from ml_dtypes (a required dependency), imported the first time
``bfloat16.np`` is read: importing ml_dtypes takes about half a second (it registers all its
types and their NumPy loops), several times the rest of ``import retrograd``.
"""

import builtins
import sys

import numpy as np


def _import_ml_dtypes():
    try:
        import ml_dtypes
    except ImportError as e:
        raise ImportError(
            "torch.bfloat16 on the CPU is stored through the ml_dtypes package, a required dependency "
            "of retrograd that is not importable here: pip install ml_dtypes") from e
    return ml_dtypes


class dtype:
    """A tensor element type: ``retrograd.float32`` and friends.

    ``np`` is the NumPy type that stores it; for a type NumPy lacks (bfloat16) it is set on
    first read by ``__getattr__``, so that nothing pays for ml_dtypes before using it."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed", "_category")

    def __init__(self, name, np_dtype, category, itemsize=None):
        self.name = name
        if np_dtype is not None:
            self.np = np_dtype
        self.itemsize = np_dtype.itemsize if np_dtype is not None else itemsize
        self._category = category  # 0 bool, 1 integer, 2 floating point
        self.is_floating_point = category == 2
        self.is_complex = False
        self.is_signed = name not in ("bool", "uint8")

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))

    def to_real(self):
        return self

    def __getattr__(self, name):  # only reached while a slot is unset: bfloat16's np before first use
        if name != "np" or self.name not in _LAZY_NP:
            raise AttributeError(f"'torch.dtype' object has no attribute '{name}'")
        np_dtype = np.dtype(getattr(_import_ml_dtypes(), self.name))
        self.np = np_dtype
        _FROM_NP[np_dtype] = self
        if self.is_floating_point:
            FLOATING_NP.add(np_dtype)
        return np_dtype


float32 = dtype("float32", np.dtype(np.float32), 2)
float64 = dtype("float64", np.dtype(np.float64), 2)
float16 = dtype("float16", np.dtype(np.float16), 2)
bfloat16 = dtype("bfloat16", None, 2, itemsize=2)  # np: ml_dtypes.bfloat16, on first use
int64 = dtype("int64", np.dtype(np.int64), 1)
int32 = dtype("int32", np.dtype(np.int32), 1)
int16 = dtype("int16", np.dtype(np.int16), 1)
int8 = dtype("int8", np.dtype(np.int8), 1)
uint8 = dtype("uint8", np.dtype(np.uint8), 1)
bool_ = dtype("bool", np.dtype(np.bool_), 0)

# torch's aliases
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
bool = bool_  # noqa: A001

ALL = (float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool_)
_LAZY_NP = ("bfloat16",)  # the dtypes whose NumPy type ml_dtypes provides
_EAGER = tuple(d for d in ALL if d.name not in _LAZY_NP)
_FROM_NP = {d.np: d for d in _EAGER}  # the lazy ones are added when loaded
_BY_NAME = {d.name: d for d in ALL}
# NumPy types of the floating-point dtypes (bfloat16's NumPy kind is 'V', not 'f'), as above
FLOATING_NP = {d.np for d in _EAGER if d.is_floating_point}
if sys.modules.get("ml_dtypes") is not None:  # already imported: nothing to save by waiting
    bfloat16.np  # noqa: B018


def _by_name(name):
    return _BY_NAME[name]


class _DefaultDtype:
    value = float32


_default = _DefaultDtype()


def get_default_dtype():
    """The floating-point dtype that factory functions and float conversions use (float32 at start)."""
    return _default.value


def set_default_dtype(d):
    """Set the default floating-point dtype; TypeError for a non-float dtype."""
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default.value = d


def from_numpy_dtype(np_dtype):
    """The retrograd dtype stored as ``np_dtype``; TypeError for types torch lacks."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    np_dtype = np.dtype(np_dtype)
    if np_dtype in _FROM_NP:
        return _FROM_NP[np_dtype]
    if np_dtype.name in _LAZY_NP and _BY_NAME[np_dtype.name].np == np_dtype:  # e.g. an ml_dtypes array
        return _BY_NAME[np_dtype.name]
    raise TypeError(
        f"can't convert np.ndarray of type {np_dtype}. The only supported types are: "
        "float64, float32, float16, bfloat16, int64, int32, int16, int8, uint8, and bool."
    )


def to_dtype(d):
    """Accept a retrograd dtype, a NumPy dtype or a Python type and return a retrograd dtype."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return get_default_dtype()
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool_
    if isinstance(d, str):
        if d in _BY_NAME:
            return _BY_NAME[d]
        d = d.removeprefix("torch.")
        if d in _BY_NAME:
            return _BY_NAME[d]
    return from_numpy_dtype(np.dtype(d))


def promote_types(a, b):
    """torch.promote_types: the smallest dtype both ``a`` and ``b`` convert to safely."""
    if a is b:
        return a
    if a._category != b._category:
        return a if a._category > b._category else b
    if a._category == 2:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize >= b.itemsize else b
    return from_numpy_dtype(np.promote_types(a.np, b.np))


def _scalar_dtype(x):
    if isinstance(x, builtins.bool):
        return bool_
    if isinstance(x, builtins.int):
        return int64
    if isinstance(x, builtins.float):
        return get_default_dtype()
    if isinstance(x, np.generic):
        return from_numpy_dtype(x.dtype)
    if isinstance(x, np.ndarray):  # (torch hands it to NumPy and wraps NumPy's result, without a graph)
        raise TypeError(f"unsupported operand type ndarray (shape {list(x.shape)}, dtype {x.dtype}): retrograd "
                        "does not compute tensors with NumPy arrays; convert it first with torch.as_tensor(array)")
    raise TypeError(f"unsupported operand type {type(x).__name__}")


def result_type(*operands):
    """torch.result_type: dimensioned tensors decide, unless a 0-dim tensor or a Python
    scalar is of a higher category (bool < integer < floating point)."""
    dim_t = zero_t = scalar_t = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim_t = d if dim_t is None else promote_types(dim_t, d)
            else:
                zero_t = d if zero_t is None else promote_types(zero_t, d)
        elif x is not None:
            s = _scalar_dtype(x)
            scalar_t = s if scalar_t is None else promote_types(scalar_t, s)
    result = dim_t
    for tier in (zero_t, scalar_t):
        if tier is None:
            continue
        if result is None:
            result = tier
        elif tier._category > result._category:
            # a Python scalar of a higher category gives that category's default dtype
            result = tier if tier is zero_t else (get_default_dtype() if tier._category == 2 else int64)
    return result
