"""Calls the tracer records as one op although retrograd runs them as several, or without
``Function.apply`` at all.

A few functional forms are one ONNX op but several retrograd ops (eval-mode ``batch_norm`` is a
scale and a shift; ``max_pool2d``'s Function receives its windows already computed, without their
sizes), and comparisons and bool logic run without ``Function.apply`` (they have no gradient), so
the op hook never sees them. While the tracer runs, each name listed here is wrapped (``wrappers``):
a call that ``accept`` takes (its arguments bound to the function's signature, defaults filled in)
records as one op keyed by the function (the ops it runs inside are not recorded); a call it
declines, or a call through a reference bound before the export, runs as usual. Their lowerings
are in _symbolic.SYMBOLIC under the same key.
"""

import sys

import numpy as np

from ..ops import attention, comparison
from ..tensor import Tensor


def _pool_accept(nd, max_pool):
    def accept(input, kernel_size, stride=None, padding=0, *rest, **_):
        if input.ndim != nd + 2:
            return False  # unbatched: the Function ops (an unsqueeze, then the pooling) are recorded
        if max_pool:  # (dilation, ceil_mode, return_indices)
            return not rest[2]
        ceil_mode, _, divisor_override = (rest + (None,))[:3]  # avg_pool1d has no divisor_override
        return not ceil_mode and divisor_override is None  # torch's ceil windows differ from ONNX's
    return accept


def _adaptive_accept(nd):
    def accept(input, output_size, **_):
        size = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
        return input.ndim == nd + 2 and all(v == 1 for v in size)  # GlobalAveragePool
    return accept


# name in retrograd.nn.functional: accept(*args bound to the function's signature with its defaults)
COMPOSITES = {
    "batch_norm": lambda input, rm, rv, w, b, training, momentum, eps, **_: not training,
    "embedding": lambda input, weight, padding_idx, max_norm, *rest, **_: max_norm is None,
    # in training mode only (in eval mode dropout is the identity: no op at all)
    **{name: lambda input, p, training, *rest, **_: bool(training) and p > 0
       for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")},
    "max_pool1d": _pool_accept(1, True), "max_pool2d": _pool_accept(2, True), "max_pool3d": _pool_accept(3, True),
    "avg_pool1d": _pool_accept(1, False), "avg_pool2d": _pool_accept(2, False), "avg_pool3d": _pool_accept(3, False),
    "adaptive_avg_pool1d": _adaptive_accept(1), "adaptive_avg_pool2d": _adaptive_accept(2),
    "adaptive_avg_pool3d": _adaptive_accept(3),
}


def _comparable(input, other, **_):
    return isinstance(other, (Tensor, int, float, np.generic))  # the operator form answers NotImplemented else


def _bools(*operands, **_):
    return all(isinstance(t, Tensor) and t.dtype.np == np.bool_ for t in operands)


# Tensor methods and operators, and functions:
# key: (the names it goes by, accept, the owners of those names: Tensor and modules; a function
# also under the same name at the top level)
_MASKS = (Tensor, comparison)
OPERATORS = {
    comparison.eq: (("eq", "__eq__"), _comparable, _MASKS),
    comparison.ne: (("ne", "__ne__", "not_equal"), _comparable, _MASKS),
    comparison.lt: (("lt", "__lt__", "less"), _comparable, _MASKS),
    comparison.le: (("le", "__le__", "less_equal"), _comparable, _MASKS),
    comparison.gt: (("gt", "__gt__", "greater"), _comparable, _MASKS),
    comparison.ge: (("ge", "__ge__", "greater_equal"), _comparable, _MASKS),
    comparison.bitwise_and: (("bitwise_and", "__and__"), _bools, _MASKS),  # on bool tensors (masks)
    comparison.bitwise_or: (("bitwise_or", "__or__"), _bools, _MASKS),
    comparison.bitwise_xor: (("bitwise_xor", "__xor__"), _bools, _MASKS),
    comparison.bitwise_not: (("bitwise_not", "__invert__"), _bools, _MASKS),
    comparison.logical_not: (("logical_not",), lambda input, **_: isinstance(input, Tensor), _MASKS),
    # MultiheadAttention's bool masks made additive (-inf where True)
    attention._float_mask: (("_float_mask",), lambda mask, *_, **__: _bools(mask), (attention,)),
}


def wrappers():
    """(owner, attribute, accept, key) for each name the tracer wraps: COMPOSITES in nn.functional (and
    at the top level where the same function is there), OPERATORS under each of their names in each
    of their owners (and at the top level where the same function is there)."""
    functional, top = sys.modules["retrograd.nn.functional"], sys.modules["retrograd"]
    out = [(module, name, accept, None) for name, accept in COMPOSITES.items()
           for module in (functional, top)
           if module is functional or getattr(top, name, None) is getattr(functional, name)]
    for key, (names, accept, owners) in OPERATORS.items():
        for owner in owners:
            for name in names:
                if name in vars(owner):
                    out.append((owner, name, accept, key))
                    if not isinstance(owner, type) and getattr(top, name, None) is vars(owner)[name]:
                        out.append((top, name, accept, key))
    return out
