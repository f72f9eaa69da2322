"""Window functions for spectral analysis (``torch.hann_window`` and its siblings), as torch's.

Each is a formula in the position n = 0 .. N-1 over the window's span M: the symmetric window
(``periodic=False``) spans M = N - 1; the periodic one (the default) is the symmetric window
of N + 1 points without its last, M = N, ready for overlapping frames (``stft``). Computed in
float64 and rounded to ``dtype``.
"""

import numpy as np

from . import _dtype
from .creation import _at, _finish
from ._unsupported import reject

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


def _window(name, formula, window_length, periodic, dtype, layout, device, requires_grad):
    reject(name, layout=layout)
    dt = _dtype.to_dtype(dtype) if dtype is not None else _dtype.get_default_dtype()
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    n = int(window_length)
    if n < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if n <= 1:
        values = np.ones(n)
    else:
        span = n if periodic else n - 1
        values = formula(np.arange(n, dtype=np.float64), span)
    return _finish(values, dt, _at(device), requires_grad)


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """w[n] = (1 - cos(2 pi n / M)) / 2 = sin^2(pi n / M)."""
    return _window("hann_window", lambda n, m: 0.5 - 0.5 * np.cos(2 * np.pi * n / m),
                   window_length, periodic, dtype, layout, device, requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, layout=None, device=None,
                   requires_grad=False):
    """w[n] = alpha - beta cos(2 pi n / M)."""
    return _window("hamming_window", lambda n, m: alpha - beta * np.cos(2 * np.pi * n / m),
                   window_length, periodic, dtype, layout, device, requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """w[n] = 0.42 - 0.5 cos(2 pi n / M) + 0.08 cos(4 pi n / M)."""
    return _window("blackman_window",
                   lambda n, m: 0.42 - 0.5 * np.cos(2 * np.pi * n / m) + 0.08 * np.cos(4 * np.pi * n / m),
                   window_length, periodic, dtype, layout, device, requires_grad)


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None, requires_grad=False):
    """The triangle w[n] = 1 - |2n / M - 1|."""
    return _window("bartlett_window", lambda n, m: 1 - np.abs(2 * n / m - 1),
                   window_length, periodic, dtype, layout, device, requires_grad)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None, device=None,
                  requires_grad=False):
    """w[n] = I0(beta sqrt(1 - (2n / M - 1)^2)) / I0(beta), I0 the modified Bessel function."""
    return _window("kaiser_window",
                   lambda n, m: np.i0(beta * np.sqrt(np.maximum(0.0, 1 - (2 * n / m - 1) ** 2))) / np.i0(beta),
                   window_length, periodic, dtype, layout, device, requires_grad)
