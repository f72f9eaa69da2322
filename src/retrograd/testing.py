"""``torch.testing.assert_close``: tensors (and numbers, sequences and mappings of them) equal up to
tolerances, with torch's default tolerances per dtype, its checks (shape, dtype, device, stride)
and its messages (the mismatched count, the greatest absolute and relative differences and where).

A pair is close where |actual - expected| <= atol + rtol * |expected| (nan equal to nan only with
``equal_nan``). Left out, rtol and atol are the larger defaults of the two dtypes.
"""

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from . import _dtype
from .tensor import Tensor

__all__ = ["assert_close"]

# dtype name -> (rtol, atol) defaults, torch's
_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def _defaults(*dtypes):
    pairs = [_TOLERANCES.get(str(d).replace("torch.", ""), (0.0, 0.0)) for d in dtypes]
    return max(p[0] for p in pairs), max(p[1] for p in pairs)


class _Mismatch(AssertionError):
    """A failed comparison; ``path`` is where in nested sequences and mappings it happened."""

    def __init__(self, message, path=""):
        super().__init__(message)
        self.message, self.path = message, path


def _no_pair(actual, expected):
    return TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and {type(expected)}.")


def _scalar_message(actual, expected, rtol, atol):
    equal = rtol == 0 and atol == 0
    diff = abs(actual - expected)
    rel = diff / abs(expected) if expected != 0 else (math.inf if diff != 0 else 0.0)
    if isinstance(diff, bool):
        diff = int(diff)
    what = "equal" if equal else "close"
    limit = (lambda v: "") if equal else (lambda v: f" (up to {v} allowed)")
    return (f"Scalars are not {what}!\n\nExpected {expected} but got {actual}.\n"
            f"Absolute difference: {diff}{limit(atol)}\nRelative difference: {rel}{limit(rtol)}")


def _close_numbers(actual, expected, rtol, atol, equal_nan):
    if isinstance(actual, float) and isinstance(expected, float) and math.isnan(actual) and math.isnan(expected):
        return equal_nan
    if actual == expected:
        return True
    return abs(actual - expected) <= atol + rtol * abs(expected)


def _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype):
    if check_dtype and type(actual) is not type(expected):
        raise _Mismatch(f"The (d)types do not match: {type(actual)} != {type(expected)}.")
    if rtol is None:
        kinds = {type(actual), type(expected)}
        rtol, atol = (0.0, 0.0) if kinds <= {bool, int} else _TOLERANCES["float64"]
    if not _close_numbers(actual, expected, rtol, atol, equal_nan):
        raise _Mismatch(_scalar_message(actual, expected, rtol, atol))


def _attribute(name, a, b):
    if a != b:
        raise _Mismatch(f"The values for attribute '{name}' do not match: {a} != {b}.")


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, check_layout,
                     check_stride):
    _attribute("shape", actual.shape, expected.shape)
    if check_device:
        _attribute("device", actual.device, expected.device)
    if check_dtype:
        _attribute("dtype", actual.dtype, expected.dtype)
    if check_layout:
        _attribute("layout", actual.layout, expected.layout)
    if check_stride:
        _attribute("stride()", actual.stride(), expected.stride())
    if rtol is None:
        rtol, atol = _defaults(actual.dtype, expected.dtype)
    a, e = _host(actual), _host(expected)
    common = np.dtype(_dtype.promote_types(actual.dtype, expected.dtype).np)  # torch's promotion
    if common == _dtype.bfloat16.np:
        common = np.dtype(np.float32)
    if common.kind == "b":
        common = np.dtype(np.int64)
    a, e = a.astype(common), e.astype(common)
    if common.kind == "f":
        close = np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan)
    else:  # integers: exact differences in int64 (no wrap-around of unsigned types)
        a, e = a.astype(np.int64), e.astype(np.int64)
        close = np.abs(a - e) <= atol + rtol * np.abs(e)
    if close.all():
        return
    if actual.ndim == 0:
        raise _Mismatch(_scalar_message(actual.item(), expected.item(), rtol, atol))
    raise _Mismatch(_tensor_message(a, e, close, rtol, atol))


def _host(t):
    """t's values as a NumPy array on the host (bfloat16 as float32, which holds them exactly)."""
    t = t.detach()
    if t.dtype is _dtype.bfloat16:
        t = t.float()
    return np.asarray(t.cpu()._data)


def _tensor_message(a, e, close, rtol, atol):
    equal = rtol == 0 and atol == 0
    total, bad = close.size, int((~close).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(a - e)
        real = np.float32 if a.dtype.kind != "f" else a.dtype  # integers' relative difference: float32, as torch
        rel = diff.astype(real) / np.abs(e).astype(real)
    lines = [f"Tensor-likes are not {'equal' if equal else 'close'}!", "",
             f"Mismatched elements: {bad} / {total} ({100 * bad / total:.1f}%)"]
    for name, values, limit in (("absolute", diff, atol), ("relative", rel, rtol)):
        flat = np.where(close, 0, values).reshape(-1)  # the greatest among the mismatched
        nan = np.isnan(flat)
        at = int(np.argmax(nan)) if nan.any() else int(np.argmax(flat))
        index = tuple(int(i) for i in np.unravel_index(at, a.shape))
        allowed = "" if equal else f" (up to {limit} allowed)"
        lines.append(f"Greatest {name} difference: {flat[at].item()} at index {index}{allowed}")
    return "\n".join(lines)


def _compare(actual, expected, options, path=""):
    rtol, atol, equal_nan, check_device, check_dtype, check_layout, check_stride, allow_subclasses = options
    if not allow_subclasses and type(actual) is not type(expected):
        raise _no_pair(actual, expected)
    if actual is None and expected is None:
        return
    if isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray):
        actual, expected = Tensor._make(actual), Tensor._make(expected)
    try:
        if isinstance(actual, Tensor) and isinstance(expected, Tensor):
            return _compare_tensors(actual, expected, rtol, atol, equal_nan, check_device, check_dtype, check_layout,
                                    check_stride)
        if isinstance(actual, Tensor) or isinstance(expected, Tensor):
            raise _no_pair(actual, expected)
        if isinstance(actual, numbers.Number) and isinstance(expected, numbers.Number):
            return _compare_numbers(actual, expected, rtol, atol, equal_nan, check_dtype)
    except _Mismatch as m:
        raise _Mismatch(m.message, path) from None
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            missing = sorted(set(expected) - set(actual), key=repr)
            extra = sorted(set(actual) - set(expected), key=repr)
            raise _Mismatch(f"The keys of the mappings do not match:\nMissing keys in the actual mapping: "
                            f"{missing}\nAdditional keys in the actual mapping: {extra}", path)
        for key in expected:
            _compare(actual[key], expected[key], options, f"{path}[{key!r}]")
        return
    if isinstance(actual, Sequence) and isinstance(expected, Sequence) \
            and not isinstance(actual, str) and not isinstance(expected, str):
        if len(actual) != len(expected):
            raise _Mismatch(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}", path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, options, f"{path}[{i}]")
        return
    raise _no_pair(actual, expected)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None, equal_nan=False,
                 check_device=True, check_dtype=True, check_layout=True, check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` (tensors, NumPy arrays, numbers, or
    sequences and mappings of them) are close: same shape, dtype (``check_dtype``), device
    (``check_device``), strides (``check_stride``), and values within rtol/atol (both or neither;
    left out, the dtypes' defaults), layout (``check_layout``; retrograd's tensors are all strided).
    ``msg``: a message, or a function of the generated one."""
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got no "
                         f"{'rtol' if rtol is None else 'atol'}.")
    options = (rtol, atol, equal_nan, check_device, check_dtype, check_layout, check_stride, allow_subclasses)
    try:
        _compare(actual, expected, options)
    except _Mismatch as m:
        message = m.message + (f"\n\nThe failure occurred for item {m.path}" if m.path else "")
        if msg is not None:
            message = msg(message) if callable(msg) else msg
        raise AssertionError(message) from None
