"""torch's sym_* functions on plain Python numbers: retrograd traces no symbolic sizes, so a size
is always an int and these are the arithmetic they stand for (model code calls them so that
torch.export can trace it; in eager torch they compute the same)."""

import builtins
import math
import numbers

import numpy as np

__all__ = ["sym_int", "sym_float", "sym_max", "sym_min", "sym_not", "sym_sqrt", "sym_ite", "sym_sum"]

_NUMBERS = (np.integer, np.floating, int, float)


def _check_number(value):
    if not isinstance(value, _NUMBERS):
        raise AssertionError(f"expected {_NUMBERS}, got {type(value)}")


def sym_int(a):
    """int(a) (truncated toward zero)."""
    return int(a)


def sym_float(a):
    """float(a)."""
    return float(a)


def _pair(fn, a, b):
    _check_number(a)
    _check_number(b)
    result = fn(a, b)
    return float(result) if isinstance(a, (float, np.floating)) or isinstance(b, (float, np.floating)) else result


def sym_max(a, b):
    """max(a, b), a float if either is a float."""
    return _pair(builtins.max, a, b)


def sym_min(a, b):
    """min(a, b), a float if either is a float."""
    return _pair(builtins.min, a, b)


def sym_not(a):
    """not a."""
    return not a


def sym_sqrt(a):
    """math.sqrt(a)."""
    return math.sqrt(a)


def sym_ite(b, t, f):
    """t if b else f; b must be a bool."""
    if not isinstance(b, (bool, np.bool_)):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    return t if b else f


def sym_sum(args):
    """sum(args), 0 for none."""
    total = 0
    for a in args:
        if not isinstance(a, numbers.Number):
            raise TypeError(f"sym_sum: expected numbers, got {type(a).__name__}")
        total = total + a
    return total
