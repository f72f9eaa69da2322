"""NumPy arrays as operands of Tensor's operators and NumPy ufuncs of tensors (ops/_numpy_operands.py),
checked against torch 2.13's answers (recorded here for the bare install, rechecked when torch is there)."""

import warnings

import numpy as np
import pytest

import retrograd
from tests.helpers import torch

# expression (M is the module) -> torch 2.13's outcome: (dtype, values) of a tensor, ("python", value)
# of a plain Python answer, or the exception type
OUTCOMES = [
    ("M.tensor([1., 2., 3.]) + np.array([1., 2., 4.])", ("float64", [2.0, 4.0, 7.0])),
    ("M.tensor([1., 2., 3.]) + np.array(2.0)", ("float64", [3.0, 4.0, 5.0])),  # NumPy's promotion: 0-dim too
    ("M.tensor([1., 2., 3.]) + np.float64(2.0)", ("float32", [3.0, 4.0, 5.0])),  # a NumPy scalar is a number
    ("np.float64(2.0) - M.tensor([1., 2., 3.])", ("float32", [1.0, 0.0, -1.0])),
    ("M.tensor([1, 2, 3]) * np.array([1., 2., 3.], dtype=np.float32)", ("float64", [1.0, 4.0, 9.0])),
    ("M.tensor([1, 2, 3]) + np.array([True, False, True])", ("int64", [2, 2, 4])),
    ("M.tensor([1, 2, 3], dtype=M.int32) + np.array(2)", ("int64", [3, 4, 5])),
    ("M.tensor([1., 2.]) + np.ones((2, 2))", ("float64", [[2.0, 3.0], [2.0, 3.0]])),
    ("M.tensor([1, 2], dtype=M.int16) + np.array([1, 2], dtype=np.uint16)", ("int32", [2, 4])),
    ("M.tensor([1., 2., 4.]) - np.array([1., 1., 1.])", ("float64", [0.0, 1.0, 3.0])),
    ("M.tensor([1., 2., 4.]) / np.array([2., 2., 2.])", ("float64", [0.5, 1.0, 2.0])),
    ("M.tensor([5, 6]) ** np.array([2, 1])", ("int64", [25, 6])),
    ("M.tensor([5, 6]) // np.array([2, 4])", ("int64", [2, 1])),
    ("M.tensor([5, 6]) % np.array([2, 4])", ("int64", [1, 2])),
    ("M.tensor([5, 6]) & np.array([1, 2])", ("int64", [1, 2])),
    ("M.tensor([5, 6]) | np.array([1, 2])", ("int64", [5, 6])),
    ("M.tensor([5, 6]) ^ np.array([1, 2])", ("int64", [4, 4])),
    ("M.tensor([5, 6]) << np.array([1, 2])", ("int64", [10, 24])),
    ("M.tensor([5, 6]) >> np.array([1, 2])", ("int64", [2, 1])),
    ("M.tensor([1., 2., 3.]) @ np.array([1., 2., 4.])", ("float64", 17.0)),
    ("np.array([1., 2., 4.]) / M.tensor([1., 2., 4.])", ("float64", [1.0, 1.0, 1.0])),  # t.reciprocal() * a
    ("np.array([1., 2., 4.], dtype=np.float32) / M.tensor([1, 2, 4])", ("float32", [1.0, 1.0, 1.0])),
    ("M.tensor([1., 2., 3.]) == np.array([1., 2., 4.])", ("bool", [True, True, False])),
    ("np.array([1., 2., 4.]) == M.tensor([1., 2., 3.])", ("bool", [True, True, False])),
    ("M.tensor([1.]) == np.array([1.0000001])", ("bool", [False])),  # compared as tensors: in float64
    ("M.tensor([1., 2.], requires_grad=True) == np.array([1., 3.])", ("bool", [True, False])),
    ("M.tensor([1., 2., 3.]) == np.array(['a', 'b', 'c'])", ("python", False)),
    ("M.tensor([1., 2., 3.]) != np.array([1., 2., 4.])", ("python", True)),  # NotImplemented both ways
    ("np.exp(M.tensor([0., 0.]))", ("float32", [1.0, 1.0])),
    ("np.exp(M.tensor(0.))", ("float32", 1.0)),
    ("np.add(M.tensor([1., 2.]), np.array([1., 1.]))", ("float64", [2.0, 3.0])),
    ("np.maximum(M.tensor([1., 5.]), np.array([2., 2.]))", ("float64", [2.0, 5.0])),
    ("np.isnan(M.tensor([1., float('nan')]))", ("uint8", [0, 1])),  # torch's wrap: bool as uint8
    ("np.add.reduce(M.tensor([1., 2.]))", ("float32", 3.0)),
    ("np.array([1., 2.]) + M.tensor([1., 2.])", TypeError),  # NumPy defers, the tensor refuses
    ("np.array([1., 2.]) * M.tensor([1., 2.])", TypeError),
    ("np.array([1., 2.]) - M.tensor([1., 2.])", TypeError),
    ("np.array([1., 2.]) ** M.tensor([1., 2.])", TypeError),
    ("np.array([1., 2.]) @ M.tensor([1., 2.])", TypeError),
    ("M.tensor([1., 2.]) < np.array([1., 2.])", TypeError),
    ("np.array([1., 2.]) >= M.tensor([1., 2.])", TypeError),
    ("M.tensor([1., 2.]) & np.array([1., 2.])", TypeError),  # NumPy's: no bitwise_and of floats
    ("M.tensor([1., 2.], requires_grad=True) + np.array([1., 2.])", RuntimeError),  # numpy() refuses
    ("np.exp(M.tensor([1., 2.], requires_grad=True))", RuntimeError),
    ("np.array([1., 2.]) / M.tensor([1., 2.], requires_grad=True)", RuntimeError),
    ("M.tensor([1., 2., 3.]) == np.ones(2)", RuntimeError),
    ("M.tensor([1., 2.]).add(np.array([1., 2.]))", TypeError),  # the methods take no arrays
]


def _outcome(M, expr):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # (torch's __array_wrap__ signature, NumPy 2)
            out = eval(expr, {"M": M, "np": np})
    except Exception as e:  # noqa: BLE001 - the outcome compared is the exception's type
        return type(e)
    if isinstance(out, (bool, np.bool_)):
        return ("python", bool(out))
    assert type(out).__name__ == "Tensor", (expr, type(out))
    return (str(out.dtype).removeprefix("torch."), out.tolist())


@pytest.mark.parametrize("expr,expected", OUTCOMES)
def test_numpy_operands_as_torch(expr, expected):
    assert _outcome(retrograd, expr) == expected
    if torch is not None:
        assert _outcome(torch, expr) == expected


@pytest.mark.parametrize("M", [retrograd] + ([torch] if torch is not None else []))
def test_in_place_operators_with_an_array_rebind_the_name(M):
    """t += a: __iadd__ and __add__ refuse the array, so NumPy's t + a is a new tensor bound to t; the
    old tensor keeps its values (torch 2.13's behaviour, for each in-place operator)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        x = old = M.tensor([1.0, 2.0, 3.0])
        x += np.array([1.0, 2.0, 4.0])
        assert x is not old and str(x.dtype) == str(M.float64) and x.tolist() == [2.0, 4.0, 7.0]
        assert old.tolist() == [1.0, 2.0, 3.0]
        y = old_y = M.tensor([6, 8])
        y //= np.array([4, 3])
        assert y is not old_y and y.tolist() == [1, 2] and old_y.tolist() == [6, 8]
        z = M.tensor([1.0, 2.0])
        z *= np.float64(2.0)  # a NumPy scalar is a number: in place, float32 kept
        assert str(z.dtype) == str(M.float32) and z.tolist() == [2.0, 4.0]
        b = np.array([1.0, 2.0])
        with pytest.raises(TypeError):
            b += M.tensor([1.0, 2.0])  # NumPy defers to the tensor, which refuses


def test_a_ufunc_result_is_a_tensor_sharing_numpys_result():
    t = retrograd.tensor([1.0, 2.0])
    out = np.multiply(t, np.array([2.0, 2.0]))
    assert type(out) is retrograd.Tensor and out.device == retrograd.device("cpu") and not out.requires_grad
    out.add_(1)  # an ordinary, writable tensor
    assert out.tolist() == [3.0, 5.0] and t.tolist() == [1.0, 2.0]
    o = np.empty(2)
    assert np.add(t, 1.0, out=o) is o  # NumPy's out=: its own array, as with torch


def test_a_numpy_result_of_a_dtype_retrograd_lacks_is_a_type_error():
    """torch wraps a complex128 (or uint16) NumPy result; retrograd has no such dtype (docs/differences.md):
    from_numpy's TypeError, naming it, rather than a tensor of a dtype it cannot handle."""
    with pytest.raises(TypeError, match="can't convert np.ndarray of type complex128"):
        retrograd.tensor([1.0, 2.0]) + np.array([1j, 2j])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type uint16"):
        retrograd.tensor([1], dtype=retrograd.uint8) + np.array([1], dtype=np.uint16)
