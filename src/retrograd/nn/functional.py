"""``torch.nn.functional``: the functional forms of the layers, activations and losses.

The functions live with their ops (``retrograd.ops.*``); each ops module lists its
nn-facing names in ``FUNCTIONAL`` (and its top-level ones in ``__all__``), and this
module re-exports them, so a name appears here as soon as its op is written. The few
definitions below are nn.functional's names that no op module defines.
"""

import importlib as _importlib

import numpy as _np

from ..ops import elementwise as _elementwise
from ..ops import loss as _loss
from ..ops import softmax as _softmax
from ..ops.loss import legacy_reduction as _legacy_reduction  # noqa: F401
from ..ops._out import CAST, takes_out


# ------------------------------------------------- functions without an op module


def tanh(input):
    """Elementwise hyperbolic tangent: z = (e^a - e^-a)/(e^a + e^-a)."""
    return _elementwise.tanh(input)


def sigmoid(input):
    """Elementwise logistic sigmoid: z = 1/(1 + e^-a)."""
    return _elementwise.sigmoid(input)


@takes_out(dtype=CAST)
def normalize(input, p=2.0, dim=1, eps=1e-12):
    """v / max(||v||_p, eps) along ``dim`` (the norm's gradient is 0 at a zero v, as torch's:
    finite gradients for an all-zero row)."""
    return input / _loss._clamp_min(input.norm(p, dim, keepdim=True), eps)


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) with g ~ Gumbel(0, 1); ``hard``: the one-hot of its
    argmax in the forward, the soft sample's gradient in the backward (straight-through).
    ``eps`` is deprecated in torch and has no effect there either (it warns, as torch)."""
    if eps != 1e-10:
        import warnings

        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    from .. import _backend
    from ..random import _rng
    from ..tensor import Tensor

    arr = logits._data
    xp = _backend.array_module(arr)
    g = -_np.log(_rng(None, logits).exponential(size=arr.shape))
    gumbels = Tensor._make(xp.asarray(g.astype(arr.dtype)))
    y = _softmax.softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y
    idx = xp.expand_dims(y._data.argmax(axis=dim), dim)
    onehot = xp.zeros_like(y._data)
    xp.put_along_axis(onehot, idx, 1.0, axis=dim)
    return Tensor._make(onehot) - y.detach() + y


# ---------------------------------------------------------------- re-exports

_SOURCES = ("elementwise", "activation", "softmax", "linear", "linear_cross_entropy", "loss", "conv", "pooling",
            "fractional_pooling", "normalization", "dropout", "embedding", "upsample", "distance", "counting", "rnn",
            "attention", "shape")


def _export():
    """Top-level names of the activation-like families, and every ``FUNCTIONAL``."""
    g = globals()
    for name in _SOURCES:
        mod = _importlib.import_module(f"retrograd.ops.{name}")
        names = list(getattr(mod, "FUNCTIONAL", []))
        if name in ("activation", "softmax", "distance"):
            names = list(getattr(mod, "__all__", [])) + names
        for n in names:
            g[n] = getattr(mod, n)


_export()
