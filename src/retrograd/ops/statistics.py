"""Covariance and correlation: torch.cov and torch.corrcoef.

Both are made of differentiable ops (as torch's are composites), so their gradients, and
gradients of gradients, follow from those ops' rules; the dtypes follow torch's promotion
of the same expressions.

cov of the variables in the rows of X (observations in the columns), with frequency
weights f and observation weights a (w = f a):
    avg = sum_j w_j X_ij / sum_j w_j
    C   = (X - avg) diag(w) (X - avg)^T / (sum w - correction * sum(w a) / sum w)
(the denominator is sum w - correction without aweights).
"""

import operator
import warnings

import numpy as np

from .. import _dtype
from .._backend import array_module
from ..tensor import Tensor
from ._kernel_dtypes import scalar_name
from ._method import tensor_method

__all__ = ["cov", "corrcoef"]

_DOF_WARNING = ("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                "observations.")


def _check_weights(name, w, observations, integral):
    if w.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                           f"{w.ndim} dimensions")
    if integral and (w.dtype.is_floating_point or w.dtype is _dtype.bool_):
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} with "
                           f"{scalar_name(w.dtype)} dtype")
    if not integral and not w.dtype.is_floating_point:
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got {name} with "
                           f"{scalar_name(w.dtype)} dtype")
    if w.numel() != observations:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in the "
                           f"input but got {w.numel()} != {observations}")
    if observations and bool((w < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")


@tensor_method()
def cov(input, *, correction=1, fweights=None, aweights=None):
    """The covariance matrix of the variables in input's rows (a 1-D input is one variable);
    correction=1 is Bessel's correction, fweights integer frequencies, aweights float weights."""
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    if input.dtype is _dtype.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    try:  # an int, or what converts to one exactly (a 0-d integer tensor), as torch's int arguments
        if isinstance(correction, bool):
            raise TypeError
        correction = operator.index(correction)
    except TypeError:
        raise TypeError(f"cov(): argument 'correction' must be int, not {type(correction).__name__}") from None
    x = input.reshape(1, -1) if input.ndim < 2 else input
    observations = x.shape[1]
    w = None
    if fweights is not None:
        _check_weights("fweights", fweights, observations, integral=True)
        w = fweights
    if aweights is not None:
        _check_weights("aweights", aweights, observations, integral=False)
        w = aweights if w is None else w * aweights
    if w is None:
        w_sum = Tensor._make(array_module(input._data).asarray(observations, dtype=np.int64))
    else:
        w_sum = w.sum()
        if not bool(w_sum != 0):
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = (x if w is None else x * w).sum(1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm = w_sum - correction * (w * aweights).sum() / w_sum
    else:
        norm = w_sum - correction
    if bool(norm <= 0):
        warnings.warn(_DOF_WARNING, UserWarning, stacklevel=2)
        norm = norm * 0
    x = x - avg.unsqueeze(1)
    return (x @ (x if w is None else x * w).t()).true_divide(norm).squeeze()


@tensor_method()
def corrcoef(input):
    """Pearson correlation coefficients of the variables in input's rows: cov(input) scaled by the
    standard deviations, clipped to [-1, 1]; nan for a constant variable."""
    if input.ndim > 2:
        raise RuntimeError(f"corrcoef(): expected input to have two or fewer dimensions but got an input with "
                           f"{input.ndim} dimensions")
    c = cov(input)
    if c.ndim == 0:
        return c / c  # nan for a zero, nan or inf variance, 1 otherwise
    std = c.diagonal().sqrt()
    c = c / std.reshape(-1, 1)
    c = c / std.reshape(1, -1)
    return c.clip(-1, 1)
