"""Dropout: y = x * mask / (1 - p) in training (mask ~ Bernoulli(1 - p)), y = x otherwise.

The scaled mask is a constant of the graph, so y = x * m is differentiated by Mul
(dx = g * m), twice if need be. Masks come from retrograd's global generator
(``manual_seed`` reproduces them; they are not torch's numbers for the same seed).
Feature (channel) variants draw one mask value per (sample, channel).
"""

import numpy as np

from .. import _backend
from ..random import _rng
from ..tensor import Tensor

__all__ = []
FUNCTIONAL = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]

# -scale * alpha of SELU: alpha dropout's value for dropped units
_ALPHA_PRIME = -1.7580993408473766


def _check_p(p):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input, shape, p, scale=None):
    """A 0/1 array of `shape` in input's dtype and device: 1 with probability 1 - p; times
    ``scale`` where given (for a NumPy float32/float64 input in one pass from the comparison's
    bools: the bits of the 0/1 array times scale, which retrograd.compile's replay computes)."""
    dt = input._data.dtype
    draw = _rng(None, input).random(shape, dtype=np.float32 if dt == np.float32 else np.float64)
    if scale is not None and type(draw) is np.ndarray and dt in (np.float32, np.float64):
        return np.multiply(draw >= p, dt.type(scale))
    keep = _backend.cast(draw >= p, dt)
    xp = _backend.array_module(input._data)
    keep = keep if xp is np else xp.asarray(keep)
    return keep if scale is None else keep * keep.dtype.type(scale)


def _apply(input, factor, inplace, shift=None):
    """input * factor (+ shift), in place when asked."""
    f = Tensor._make(factor)
    if inplace:
        input.mul_(f)
        return input.add_(Tensor._make(shift)) if shift is not None else input
    y = input * f
    return y + Tensor._make(shift) if shift is not None else y


def _dropout(input, p, training, inplace, mask_shape):
    _check_p(p)
    if not training or p == 0.0:
        return input
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"dropout: expected a floating point input, got {input.dtype}")
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return _apply(input, _keep_mask(input, mask_shape, p, scale), inplace)


def _feature_shape(input, nd, name):
    """Mask shape for channel dropout: one value per (N, C) (or per C when unbatched)."""
    if input.ndim == nd + 2:
        return tuple(input.shape[:2]) + (1,) * nd
    if input.ndim == nd + 1:
        return (input.shape[0],) + (1,) * nd
    raise RuntimeError(f"{name}: Expected {nd + 1}D or {nd + 2}D input, but received a {input.ndim}D input. "
                       f"Note that {name} exists to provide channel-wise dropout on inputs with {nd} spatial "
                       "dimension(s), a channel dimension, and an optional batch dimension (i.e. "
                       f"{nd + 1}D or {nd + 2}D inputs).")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability p and scale the rest by 1/(1 - p) (training only)."""
    return _dropout(input, p, training, inplace, tuple(input.shape))


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) / (C, L) input with probability p; scale by 1/(1 - p)."""
    return _dropout(input, p, training, inplace, _feature_shape(input, 1, "dropout1d"))


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) / (C, H, W) input with probability p; scale by 1/(1 - p)."""
    if input.ndim == 3:  # torch: a 3-D input is taken as (N, C, L), channel-wise 1-D dropout
        return _dropout(input, p, training, inplace, tuple(input.shape[:2]) + (1,))
    return _dropout(input, p, training, inplace, _feature_shape(input, 2, "dropout2d"))


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) / (C, D, H, W) input with probability p."""
    return _dropout(input, p, training, inplace, _feature_shape(input, 3, "dropout3d"))


def _alpha_dropout(input, p, training, inplace, mask_shape):
    """y = a * (x * m + alpha' * (1 - m)) + b, keeping zero mean and unit variance for SELU nets."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = _keep_mask(input, mask_shape, p)
    a = ((1.0 - p) * (1.0 + p * _ALPHA_PRIME ** 2)) ** -0.5
    b = -a * _ALPHA_PRIME * p
    t = keep.dtype.type
    factor = keep * t(a)
    shift = (1.0 - keep) * t(a * _ALPHA_PRIME) + t(b)
    return _apply(input, factor, inplace, shift)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units take SELU's negative saturation value, then an affine
    map restores mean and variance."""
    return _alpha_dropout(input, p, training, inplace, tuple(input.shape))


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout of whole channels (one mask value per (N, C))."""
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if input.ndim >= 2 else tuple(input.shape)
    return _alpha_dropout(input, p, training, inplace, shape)
