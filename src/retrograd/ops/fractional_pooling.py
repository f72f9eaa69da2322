"""Fractional max pooling (Graham, "Fractional Max-Pooling", 2014), over 2 or 3 spatial dims.

Each output element is the max over a window of ``kernel_size`` input elements, as in max
pooling, but the windows' starts step by a pseudo-random mix of floor(alpha) and ceil(alpha),
alpha = (in - k) / (out - 1), so that ``out`` windows cover the input for any ratio in/out.
One random number u in [0, 1) per (sample, channel, spatial dim) fixes the steps: window i
starts at int((i + u) * alpha) - int(u * alpha), the last one at in - k (computed in the input's
dtype, as torch does, so the same u give torch's windows exactly).

The maxima are found with a loop over the kernel offsets (each step one vectorised comparison
over all windows), as flat indices into each input plane; the gradient is max pooling's: g
scattered (added, since windows may overlap) to those indices (pooling.MaxPool).
"""

import itertools
import math

import numpy as np

from . import _batching
from .. import _backend
from ..amp.autocast_mode import autocast_op
from ..autograd.function import Function
from ..tensor import Tensor
from .pooling import GatherFlat, ScatterFlat, _tuple

FUNCTIONAL = ["fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
              "fractional_max_pool3d_with_indices"]

_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


class FractionalMaxPool(Function):
    """z = max over each window (values found beforehand, with their flat indices idx);
    dx = g scattered (added: windows overlap) to idx. x may be unbatched (C, *spatial), as
    torch's node takes it."""

    _unlisted_inputs = (1, 2)  # the values and their indices

    def name(self):
        return f"FractionalMaxPool{self.nd}DBackward0"

    @staticmethod
    def forward(ctx, x, values, idx, nd):
        ctx.x_shape, ctx.nd = x.shape, nd
        ctx.save_for_backward(idx)
        return values._data

    @staticmethod
    def jvp(ctx, tx, *_):
        """dz = dx at each window's maximum."""
        x, values, idx, nd = ctx._fw_args
        return _planes(lambda t, i: GatherFlat.apply(t, i, False), nd, tx, idx)

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved_tensors
        shape = ctx.x_shape if len(ctx.x_shape) == ctx.nd + 2 else (1,) + tuple(ctx.x_shape)
        return _planes(lambda gb, i: ScatterFlat.apply(gb, i, shape, False), ctx.nd, g, idx), None, None, None


def _planes(op, nd, t, idx):
    """op(t, idx) on (N, C, ...) tensors, an unbatched pair given a batch of one around it."""
    if t.ndim == nd + 2:
        return op(t, idx)
    return op(t.unsqueeze(0), idx.unsqueeze(0)).squeeze(0)


def _starts(u, size, out, k):
    """Window starts along one spatial dim, shape u.shape + (out,), for the samples u (an array
    of the input's dtype): int((i + u) * alpha) - int(u * alpha) for i < out - 1, then size - k."""
    last = np.full(u.shape + (min(out, 1),), size - k, dtype=np.int64)
    if out <= 1:
        return last
    dtype = u.dtype
    alpha = np.asarray(size - k, dtype) / np.asarray(out - 1, dtype)
    i = np.arange(out - 1).astype(dtype)
    u = u[..., None]
    steps = ((i + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)
    return np.concatenate([steps, last], axis=-1)


def _fractional_max_arrays(x, samples, k, out):
    """(max values, flat input indices) of each window of x (N, C, *spatial); samples (N, C, nd)
    holds u of each spatial dim, as torch orders them: (width, height) in 2-d, (time, height,
    width) in 3-d."""
    xp = _backend.array_module(x)
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    nd = len(k)
    u = _backend.to_device(samples, "cpu")  # the window starts are computed on the host
    strides = [math.prod(spatial[j + 1:]) for j in range(nd)]
    base = np.zeros((n, c) + tuple(out), dtype=np.int64)  # flat index of each window's first element
    for j in range(nd):
        s = _starts(u[:, :, nd - 1 - j if nd == 2 else j], spatial[j], out[j], k[j])
        base = base + (s * strides[j]).reshape((n, c) + (1,) * j + (out[j],) + (1,) * (nd - 1 - j))
    base = xp.asarray(base)
    planes = x.reshape(n * c, math.prod(spatial))
    best = xp.full(base.shape, -np.inf, dtype=x.dtype)
    idx = base
    for off in itertools.product(*(range(kj) for kj in k)):  # row-major, as torch scans a window
        flat = base + sum(o * st for o, st in zip(off, strides))
        v = xp.take_along_axis(planes, flat.reshape(n * c, -1), axis=1).reshape(flat.shape)
        take = (v > best) | xp.isnan(v)  # a later NaN wins, ties keep the first maximum (torch's rule)
        best = xp.where(take, v, best)
        idx = xp.where(take, flat, idx)
    return best, idx


def _output_size(name, nd, spatial, output_size, output_ratio):
    if output_size is not None:
        out = _tuple(output_size, nd, f"{name}: output_size")
    elif output_ratio is not None:
        ratio = (output_ratio,) * nd if isinstance(output_ratio, (int, float)) else tuple(output_ratio)
        if len(ratio) != nd:
            raise ValueError(f"{name}: output_ratio must be a number or a tuple of {nd} numbers, got {output_ratio}")
        out = tuple(int(n * r) for n, r in zip(spatial, ratio))
    else:
        raise ValueError(f"{name} requires specifying either an output_size or an output_ratio")
    if any(o < 0 for o in out):
        raise RuntimeError(f"{name}(): output_size must be non-negative, got {list(out)}")
    return out


def _check_samples(name, nd, x, samples):
    if samples.ndim != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.ndim} (shape "
                           f"{list(samples.shape)}; it is (N, C, {nd}) for an input of size {list(x.shape)})")
    if samples.dtype != x.dtype:
        raise RuntimeError(f"Expect _random_samples to have the same dtype as input: got {samples.dtype} "
                           f"for an input of {x.dtype}")
    if samples.device != x.device:
        raise RuntimeError(f"Expected all tensors to be on the same device: _random_samples is on "
                           f"{samples.device}, the input on {x.device}")
    n, c = x.shape[:2]
    if samples.shape[0] < n:
        raise RuntimeError(f"Expect _random_samples.size(0) no less then input batch size: got "
                           f"{samples.shape[0]} for a batch of {n}")
    if samples.shape[1] != c:
        raise RuntimeError(f"Expect _random_samples.size(1) equals to input channel size: got "
                           f"{samples.shape[1]} for {c} channels")
    if samples.shape[2] != nd:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {nd}; got {samples.shape[2]}.")


def _pool(input, samples, k, out):
    """Values and flat indices of input (N, C, *spatial) or (C, *spatial) under samples
    (N', C, nd), N' >= N."""
    nd = len(k)
    x = input._data if input.ndim == nd + 2 else input._data[None]
    values, idx = _fractional_max_arrays(x, samples._data[:x.shape[0]], k, out)
    if input.ndim == nd + 1:
        values, idx = values[0], idx[0]
    idx_t = Tensor._make(idx)
    return FractionalMaxPool.apply(input, Tensor._make(values), idx_t, nd), idx_t


def _on_batch(x, samples, k, out):
    """_pool under vmap: once on the whole batch (B, N, C, ...), its B folded into N."""
    b, n = x.shape[:2]
    folded = samples[:, :n].reshape((b * n,) + tuple(samples.shape[2:]))
    y, idx = _pool(x.reshape((b * n,) + tuple(x.shape[2:])), folded, k, out)
    return y.reshape((b, n) + tuple(y.shape[1:])), idx.reshape((b, n) + tuple(idx.shape[1:]))


def _fractional_max_pool(name, nd, input, kernel_size, output_size, output_ratio, return_indices, samples):
    if input.ndim not in (nd + 1, nd + 2):
        error = IndexError if input.ndim < nd + 1 else RuntimeError
        raise error(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"{name}: not implemented for {input.dtype} input (it needs a floating "
                                  "point tensor; convert it with .float())")
    k = _tuple(kernel_size, nd, f"{name}: kernel_size")
    if any(kj < 0 for kj in k):
        raise RuntimeError(f"{name}(): kernel_size must be non-negative, got {list(k)}")
    unbatched = input.ndim == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    for d in range(1, x.ndim):
        if x.shape[d] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, "
                               f"but got{list(input.shape)} with dimension {d - unbatched} being empty.")
    spatial = tuple(x.shape[2:])
    out = _output_size(name, nd, spatial, output_size, output_ratio)
    for dim, o, kj, n in zip(_DIM_NAMES[nd], out, k, spatial):
        if o + kj - 1 > n or (nd == 3 and o + kj - 1 == n):  # torch's 3-d check is strict
            raise RuntimeError(f"{name}(): pool {dim} {kj} too large relative to input {dim} {n} (output {dim} "
                               f"{o} needs output + kernel_size - 1 {'<' if nd == 3 else '<='} input)")
    if samples is None:
        from ..creation import rand

        samples = rand(x.shape[0], x.shape[1], nd, dtype=x.dtype, device=x.device)
    else:
        _check_samples(name, nd, x, samples)
    if _batching.batched(input, samples):
        y, idx = _batching.on_batch(lambda a, s: _on_batch(a, s, k, out), x, samples)
        if unbatched:
            y, idx = y.squeeze(0), idx.squeeze(0)
    else:
        y, idx = _pool(input, samples, k, out)
    return (y, idx) if return_indices else y


@autocast_op({"cpu": "fp32"})
def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Max over (N, C, H, W) or (C, H, W) input in kernel_size windows at fractional steps, to
    output_size, or to int(input size * output_ratio) (a number or a pair); _random_samples
    (N, C, 2) of the input's dtype, u of the width then of the height, fix the windows (drawn
    uniform in [0, 1) from retrograd's generator when None). Indices are h * W + w."""
    return _fractional_max_pool("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


@autocast_op({"cpu": "fp32"})
def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Max over (N, C, T, H, W) or (C, T, H, W) input in kernel_size windows at fractional steps
    (see fractional_max_pool2d); _random_samples (N, C, 3): u of the time, height, then width."""
    return _fractional_max_pool("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                                return_indices, _random_samples)


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """fractional_max_pool2d returning (values, flat input indices) whatever return_indices says
    (as torch's)."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """fractional_max_pool3d returning (values, flat input indices) whatever return_indices says
    (as torch's)."""
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)
