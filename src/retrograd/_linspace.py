"""torch's linspace formula on NumPy arrays, shared by ``linspace`` and ``histogram``'s bin edges."""

import numpy as np


def _fma(a, b, c, dtype):
    """a*b + c rounded once to ``dtype`` (float64 arrays in), as the fused multiply-add that torch's
    linspace compiles to: float32 through float64 (the product is exact there), float64 through
    Dekker's exact product and a compensated sum."""
    if dtype != np.float64:
        return (a * b + c).astype(dtype)
    p = a * b

    def split(v):
        t = 134217729.0 * v  # 2^27 + 1
        hi = t - (t - v)
        return hi, v - hi

    (ah, al), (bh, bl) = split(a), split(b)
    product_error = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    s = p + c
    bb = s - p
    sum_error = (p - (s - bb)) + (c - bb)
    return s + (sum_error + product_error)


def linspace_array(start, end, steps, dtype):
    """torch.linspace(start, end, steps) as a NumPy array of the float dtype ``dtype``, bit for
    bit: start + step*i up to the middle, end - step*(steps - 1 - i) after it, each with one
    rounding (NumPy's linspace differs from torch's by an ulp in some places)."""
    dtype = np.dtype(dtype)
    lo, hi = dtype.type(start), dtype.type(end)
    if steps == 1:
        return np.array([lo], dtype=dtype)
    bins = steps - 1
    step = np.float64((hi - lo) / dtype.type(bins))
    i = np.arange(steps)
    first = i < steps // 2
    return _fma(np.where(first, step, -step), np.where(first, i, bins - i).astype(np.float64),
                np.where(first, np.float64(lo), np.float64(hi)), dtype)
