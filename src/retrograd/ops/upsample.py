"""Resampling: interpolate (nearest, nearest-exact, linear/bilinear/trilinear, bicubic, area) and
pixel (un)shuffle.

Every interpolation mode is separable: a fixed (out, in) matrix per spatial dim whose rows
hold the source weights of each output position (one 1 for nearest, two lerp weights for
linear, four cubic weights for bicubic, a window mean for area). The output is the input
contracted with these matrices (pooling.SeparablePool: a few BLAS matmuls) and the
gradient the same with the transposed matrices.
"""

import math
import warnings

import numpy as np

from ..amp.autocast_mode import autocast_op, cast_args
from .. import _backend
from ..autograd.function import Function
from ..tensor import Tensor
from . import _batching
from ._kernel_dtypes import not_implemented_for
from .pooling import BlockRepeat, SeparablePool, _adaptive_bounds

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "affine_grid_generator",
           "grid_sampler"]
FUNCTIONAL = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle",
              "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "affine_grid", "grid_sample"]

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "lanczos", "area")
_MODE_LIST = "nearest | linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact"


def _source_scale(n_in, n_out, scale, align_corners):
    """Source positions per destination step, torch's way (from scale_factor when one was given)."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _nearest_matrix(n_in, n_out, scale, exact):
    s = _source_scale(n_in, n_out, scale, False)
    dst = np.arange(n_out)
    src = np.floor((dst + 0.5) * s) if exact else np.floor(dst.astype(np.float32) * np.float32(s))
    src = np.minimum(src.astype(np.int64), n_in - 1)
    a = np.zeros((n_out, n_in))
    a[dst, src] = 1.0
    return a


def _linear_matrix(n_in, n_out, scale, align_corners):
    s = _source_scale(n_in, n_out, scale, align_corners)
    dst = np.arange(n_out)
    src = dst * s if align_corners else np.maximum((dst + 0.5) * s - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    a = np.zeros((n_out, n_in))
    np.add.at(a, (dst, i0), 1.0 - lam)
    np.add.at(a, (dst, i1), lam)
    return a


def _cubic_matrix(n_in, n_out, scale, align_corners, A=-0.75):
    s = _source_scale(n_in, n_out, scale, align_corners)
    dst = np.arange(n_out)
    src = dst * s if align_corners else (dst + 0.5) * s - 0.5
    i = np.floor(src).astype(np.int64)
    t = src - i

    def near(x):  # |x| <= 1
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A

    a = np.zeros((n_out, n_in))
    for off, w in ((-1, far(t + 1)), (0, near(t)), (1, near(1 - t)), (2, far(2 - t))):
        np.add.at(a, (dst, np.clip(i + off, 0, n_in - 1)), w)
    return a


def _triangle(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def _keys_cubic(x, A=-0.5):
    """Keys' cubic convolution kernel with a = -0.5 (Pillow's and torch's antialiased bicubic)."""
    x = np.abs(x)
    return np.where(x < 1, ((A + 2) * x - (A + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * A, 0.0))


def _lanczos3(x):
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


_ANTIALIAS_FILTERS = {"bilinear": (_triangle, 1.0), "bicubic": (_keys_cubic, 2.0), "lanczos": (_lanczos3, 3.0)}


def _antialias_matrix(n_in, n_out, scale, align_corners, mode):
    """Resampling with the filter stretched by the downscale factor s (Pillow's method, torch's
    antialias=True): output i averages the inputs j around its center c = s (i + 1/2) with
    weights filter((j + 1/2 - c) / s), normalized to sum 1; the filter's support r grows to r s.
    Upscaling (s < 1) keeps the filter as it is."""
    filt, radius = _ANTIALIAS_FILTERS[mode]
    s = _source_scale(n_in, n_out, scale, align_corners)
    stretch = max(s, 1.0)
    support = radius * stretch
    a = np.zeros((n_out, n_in))
    for i in range(n_out):
        center = s * (i + 0.5)
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), n_in)
        w = filt((np.arange(lo, hi) + 0.5 - center) / stretch)
        total = w.sum()
        a[i, lo:hi] = w / total if total != 0 else w
    return a


def _resample_uint8(x, mats, xp):
    """uint8 images as torch (and Pillow) resample them: the width pass, then the height pass,
    each rounding back to 0..255, with the weights in fixed point (the most fraction bits, up to
    22, that keep the largest weight within int16)."""
    y = x.astype(xp.int64)
    for axis, m in ((3, mats[1]), (2, mats[0])):
        if m.shape[0] == m.shape[1] and np.array_equal(m, np.eye(m.shape[0])):
            continue  # the size is unchanged along this axis: no pass
        bits = 0
        while bits < 22 and int(0.5 + np.abs(m).max() * (1 << (bits + 1))) < (1 << 15):
            bits += 1
        q = xp.asarray(np.floor(m * (1 << bits) + 0.5).astype(np.int64))
        y = xp.moveaxis(xp.tensordot(q, xp.moveaxis(y, axis, 0), axes=(1, 0)), 0, axis)
        y = xp.clip((y + (1 << (bits - 1))) >> bits, 0, 255)
    return y.astype(xp.uint8)


def _area_matrix(n_in, n_out):
    a = np.zeros((n_out, n_in))
    for o, (lo, hi) in enumerate(_adaptive_bounds(n_in, n_out)):
        a[o, lo:hi] = 1.0 / (hi - lo)
    return a


def _sizes(input, nd, size, scale_factor, recompute_scale_factor):
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    spatial = tuple(input.shape[2:])
    if size is not None:
        size = (size,) * nd if isinstance(size, (int, np.integer)) else tuple(size)
        if len(size) != nd:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(spatial)} and output size of {list(size)}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                             "...,oK) format.")
        return tuple(int(s) for s in size), (None,) * nd
    scales = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
    if len(scales) != nd:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {list(spatial)} and scale_factor of shape {list(scales)}.")
    out = tuple(int(math.floor(n * float(s))) for n, s in zip(spatial, scales))
    if recompute_scale_factor:
        scales = (None,) * nd
    return out, tuple(None if s is None else float(s) for s in scales)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None, recompute_scale_factor=None,
                antialias=False):
    """Resample (N, C, *spatial) input to `size` (or spatial * scale_factor) with `mode`.
    ``antialias=True`` (4-D input; 'bilinear', 'bicubic', and 'lanczos', which needs it) widens
    the filter by the downscale factor, as Pillow and torch do; uint8 images are resampled in
    fixed point as theirs."""
    if mode not in _MODES:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  f"the modes: {_MODE_LIST} (got {mode})")
    if antialias and (mode not in _ANTIALIAS_FILTERS or input.ndim != 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a 4-D "
                         "tensor as input")
    if mode in ("nearest", "nearest-exact", "area") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    nd = input.ndim - 2
    if nd < 1 or nd > 3 or (mode == "lanczos" and nd != 2):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  f"the modes: {_MODE_LIST} (got {mode})")
    if mode == "lanczos":
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    out, scales = _sizes(input, nd, size, scale_factor, recompute_scale_factor)  # (torch checks these first)
    if mode in _LINEAR and _LINEAR[mode] != nd:
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {_LINEAR[mode] + 2}D input")
    if mode == "bicubic" and nd != 2:
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for "
                                  f"the modes: {_MODE_LIST} (got {mode}; bicubic needs 4D input)")
    if any(o <= 0 for o in out):
        raise RuntimeError(f"interpolate: output size {list(out)} must be greater than 0 (input of size "
                           f"{list(input.shape)})")
    # autocast: torch's upsample kernels run in float32 on CUDA; area mode is adaptive_avg_pool,
    # float32 on the CPU in 3-d
    input, = cast_args(({"cpu": "fp32"} if nd == 3 else None) if mode == "area" else {"cuda": "fp32"}, (input,))
    spatial = tuple(input.shape[2:])
    if mode == "nearest" and all(o % n == 0 for o, n in zip(out, spatial)):  # whole-number upscaling
        return BlockRepeat.apply(input, tuple(o // n for o, n in zip(out, spatial)), 1.0)
    ac = bool(align_corners)
    xp = _backend.array_module(input._data)
    if antialias:
        cpu = input.device.type == "cpu"
        if input.dtype.name not in (("float32", "float64", "uint8") if cpu else ("float16", "bfloat16", "float32",
                                                                                  "float64")):
            raise not_implemented_for("compute_index_ranges_weights", input.dtype,
                                      "antialiased resampling takes float32, float64 or uint8 images on the CPU, "
                                      "floating point ones on CUDA")
        mats = [_antialias_matrix(n, o, s, ac, mode) for n, o, s in zip(input.shape[2:], out, scales)]
        if input.dtype.name == "uint8":
            return Tensor._make(_resample_uint8(input._data, mats, xp))
        return SeparablePool.apply(input, [xp.asarray(m) for m in mats], _node_name(mode, nd, True))
    mats = []
    for n, o, s in zip(input.shape[2:], out, scales):
        if mode == "nearest":
            a = _nearest_matrix(n, o, s, False)
        elif mode == "nearest-exact":
            a = _nearest_matrix(n, o, s, True)
        elif mode == "area":
            a = _area_matrix(n, o)
        elif mode == "bicubic":
            a = _cubic_matrix(n, o, s, ac)
        else:
            a = _linear_matrix(n, o, s, ac)
        mats.append(a)
    return SeparablePool.apply(input, [xp.asarray(m) for m in mats], _node_name(mode, nd, False))


_KERNEL_NAMES = {"nearest": "UpsampleNearest", "nearest-exact": "UpsampleNearestExact", "linear": "UpsampleLinear",
                 "bilinear": "UpsampleBilinear", "bicubic": "UpsampleBicubic", "trilinear": "UpsampleTrilinear",
                 "lanczos": "UpsampleLanczos", "area": "AdaptiveAvgPool"}


def _node_name(mode, nd, antialias):
    """torch's node for the mode's kernel (UpsampleBicubic2DAaBackward0); 1-d area mode is
    adaptive_avg_pool2d between an unsqueeze and a squeeze there, so its node has its own name."""
    if mode == "area" and nd == 1:
        return None
    return f"{_KERNEL_NAMES[mode]}{nd}D{'Aa' if antialias else ''}Backward0"


def _deprecated(name):
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (it warns so, as torch's)."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(..., mode='nearest') (it warns so, as torch's)."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(..., mode='bilinear', align_corners=True) (it warns so, as torch's)."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor):
    """(*, C*r^2, H, W) -> (*, C, H*r, W*r): each group of r^2 channels becomes an r x r block."""
    r = int(upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H*r, W*r) -> (*, C*r^2, H, W): the inverse of pixel_shuffle."""
    r = int(downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} and input.size(-1)={w} are not divisible by {r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """(N, g*k, *) -> (N, k*g, *): channel c = i*k + j moves to j*g + i (ShuffleNet)."""
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    n, c = input.shape[:2]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    rest = tuple(input.shape[2:])
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle


# ---------------------------------------------------------------------------- spatial transformers


def _base_coords(n, align_corners):
    """Normalized [-1, 1] coordinates of n pixel centres (or corners with align_corners)."""
    if n <= 1:
        return np.zeros(max(n, 0))
    c = np.linspace(-1.0, 1.0, n)
    return c if align_corners else c * (n - 1) / n


def affine_grid(theta, size, align_corners=None):
    """Sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of the affine maps theta (N, 2, 3) (or (N, 3, 4)):
    grid[n, i, j] = theta[n] @ (x_j, y_i, 1). Differentiable in theta."""
    align_corners = bool(align_corners)
    size = tuple(size)
    nd = len(size) - 2
    if nd not in (2, 3):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {list(size)}.")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (nd, nd + 1) or theta.shape[0] != size[0]:
        raise ValueError(f"Expected a batch of {nd}D affine matrices of shape Nx{nd}x{nd + 1} for size "
                         f"{list(size)}. Got {list(theta.shape)}.")
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    spatial = size[2:]
    axes = [_base_coords(n, align_corners) for n in spatial]  # (D,) H, W
    mesh = np.meshgrid(*axes, indexing="ij")  # coordinate arrays over (D,) H, W
    base = np.stack([m.ravel() for m in reversed(mesh)] + [np.ones(mesh[0].size)], axis=1)  # (L, nd + 1): x, y, (z), 1
    xp = _backend.array_module(theta._data)
    base_t = Tensor._make(xp.asarray(base, dtype=theta._data.dtype))
    grid = base_t @ theta.transpose(1, 2)  # (N, L, nd)
    return grid.reshape(size[0], *spatial, nd)


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, twice_low, twice_high):
    """Coordinates reflected into [twice_low/2, twice_high/2] (torch's reflect_coordinates)."""
    if twice_low == twice_high:
        return coord * 0.0
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    coord = (coord - lo).abs()
    flips = (coord.detach() / span).floor()
    extra = coord - flips * span
    even = (flips.remainder(2) == 0)
    from .. import where

    return where(even, extra + lo, span - extra + lo)


def _source_coord(coord, size, padding_mode, align_corners):
    c = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        c = c.clamp(0, size - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
        c = c.clamp(0, size - 1)
    return c


@autocast_op({"cpu": "fp32", "cuda": "promote"})
def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """out[n, c, i, j] = input[n, c] sampled at grid[n, i, j] = (x, y) in [-1, 1] (bilinear or nearest;
    zeros, border or reflection outside). Differentiable in input and grid (4-D input only)."""
    from .. import gather

    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if mode == "bicubic" or input.ndim != 4:
        raise NotImplementedError("grid_sample: retrograd supports 4-D input with bilinear or nearest mode")
    if grid.ndim != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid to have size 2 in last dimension and the batch size of "
                           f"input, but got grid with sizes {list(grid.shape)} for input {list(input.shape)}")
    align_corners = bool(align_corners)
    if _batching.batched(input, grid):  # under vmap: the samples' rows side by side, (B*N, ...)
        return _batching.on_batch(lambda x, g: grid_sample(
            x.flatten(0, 1), g.flatten(0, 1), mode, padding_mode, align_corners).unflatten(0, tuple(x.shape[:2])),
            input, grid)
    n, c, h, w = input.shape
    ho, wo = grid.shape[1:3]
    ix = _source_coord(grid[..., 0], w, padding_mode, align_corners)
    iy = _source_coord(grid[..., 1], h, padding_mode, align_corners)
    flat = input.reshape(n, c, h * w)
    xp = _backend.array_module(input._data)

    def corner(xi, yi):
        """input at integer (xi, yi) (arrays (N, Ho, Wo)), zero outside the image; and the mask."""
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        idx = (xp.clip(yi, 0, h - 1) * w + xp.clip(xi, 0, w - 1)).astype(np.int64).reshape(n, 1, ho * wo)
        vals = gather(flat, 2, Tensor._make(xp.broadcast_to(idx, (n, c, ho * wo)).copy()))
        return vals.reshape(n, c, ho, wo), Tensor._make(inside.astype(input._data.dtype))

    if mode == "nearest":
        xi = xp.rint(ix._data)
        yi = xp.rint(iy._data)
        vals, inside = corner(xi, yi)
        return _ZeroGradTo.apply(vals * inside.unsqueeze(1), grid)  # the grid gets a zero gradient, as in torch
    x0 = xp.floor(ix._data)
    y0 = xp.floor(iy._data)
    fx = ix - Tensor._make(x0)  # weight of the right neighbours, differentiable in the grid
    fy = iy - Tensor._make(y0)
    out = None
    for dx, dy, wgt in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        vals, inside = corner(x0 + dx, y0 + dy)
        term = vals * (wgt * inside).unsqueeze(1)
        out = term if out is None else out + term
    return out


class _ZeroGradTo(Function):
    """z = y (with `other` as an input whose gradient is zero);  dy = g,  dother = 0."""

    @classmethod
    def vmap(cls, info, in_dims, y, other):
        """Both with the batch dim first (an unbatched one expanded over it)."""
        b = info.batch_size
        y, other = (t.expand((b,) + tuple(t.shape)) if d is None else _batching.front(t, d)
                    for t, d in zip((y, other), in_dims))
        return cls.apply(y, other), 0

    @staticmethod
    def forward(ctx, y, other):
        ctx.other_shape, ctx.other_dtype = other.shape, other._data.dtype
        return y._data.copy()

    @staticmethod
    def jvp(ctx, ty, tother):
        """dz = ty (other only lends its place in the graph)."""
        return ty

    @staticmethod
    def backward(ctx, g):
        xp = _backend.array_module(g._data)
        return g, Tensor._make(xp.zeros(ctx.other_shape, dtype=ctx.other_dtype))


def affine_grid_generator(theta, size, align_corners):
    """torch.affine_grid_generator: affine_grid with every argument given."""
    return affine_grid(theta, size, align_corners)


def grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners):
    """torch.grid_sampler: grid_sample with the modes given as integers (0 bilinear / 1 nearest; 0 zeros /
    1 border / 2 reflection)."""
    modes = ("bilinear", "nearest", "bicubic")
    pads = ("zeros", "border", "reflection")
    return grid_sample(input, grid, modes[interpolation_mode], pads[padding_mode], align_corners)
