"""Convolutions (1-, 2- and 3-d, plain and transposed) and unfold/fold, by im2col + BLAS.

Forward gathers every receptive field with a strided view of the (padded) input
(``as_strided``: no copy), lays the fields out once as columns ``cols`` of shape
(N, groups, C/groups * K, L) (K = kernel elements, L = output positions) and computes
all outputs with one batched matmul:  Y = W @ cols  (+ b). With one BLAS thread the
matmuls run per sample, small enough for OpenBLAS's small-matrix kernel; with several (and
when the columns have at least as many rows as the output has channels, see _channel_major)
the columns are stored channel major, (groups, C/groups * K, N, L), and the forward and the
weight gradient are each one matmul over all N*L positions, split over BLAS's threads
(see _blas_threads). A forward whose columns are not kept for a weight gradient lays them
out position major, (N*L, K*C), from a channel-last copy of the input, on several threads
(see _im2col_positions).

Backward is two more matmuls:  dW = sum_n G @ cols^T (the forward's columns are kept,
below a size limit) and  dX = col2im(W^T @ G), where col2im adds each kernel offset's
slice of columns back into the padded input (a loop over the K kernel offsets only, each
a vectorised slice-add; for stride 1 each add is one contiguous run over the whole batch,
see _col2im_grid).

Three Functions are closed under differentiation, so double backward works:
    y  = conv(x, w)                 dx = conv_input_grad(g, w),   dw = conv_weight_grad(x, g)
    z  = conv_input_grad(g, w)      dg = conv(gz, w),             dw = conv_weight_grad(gz, g)
    z  = conv_weight_grad(x, g)     dx = conv_input_grad(g, gz),  dg = conv(x, gz)
``conv_input_grad`` is the transposed convolution (conv_transpose*d).
"""

import itertools
from . import _batching
from ..amp.autocast_mode import autocast_op
from typing import NamedTuple

import numpy as np

from .. import _backend
from .._threads import SMALL_GEMM, blas_threads as _blas_threads  # (module globals: tests patch them here)
from . import _rows
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.function import Function
from ..autograd.forward_ad import fsum, linear_jvp
from ..tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]
FUNCTIONAL = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
              "unfold", "fold"]


# conv keeps its input's columns (K times the input) for the weight gradient instead of recomputing
# them, up to this size per layer: a saving for small layers, whose im2col costs as much as the matmul,
# without holding K copies of every activation of a big network
SAVE_COLUMNS_MAX_BYTES = 1 << 25
# conv's bias rides in its matmul (a row of ones in the columns) below this many column rows
# (C * K); above, the extra row costs more than adding the bias to the output (cnn's conv2,
# 144 rows: matmul +70 us against a 50 us add)
BIAS_ROW_MAX = 32


class ConvParams(NamedTuple):
    stride: tuple
    pads: tuple  # ((lo, hi), ...) per spatial dim
    dilation: tuple
    groups: int


# ---------------------------------------------------------------------------- array kernels


def _xp(arr):
    return _backend.array_module(arr)


# Kernels' temporaries (padded input, gradient columns, ...) are fresh arrays, freed when the
# call returns; nothing is kept between calls. Their page faults are avoided by glibc keeping
# freed memory for reuse (retrograd._malloc), not by a cache here: per-thread scratch buffers
# reused from call to call were no faster with it (cnn step 24.5 ms CPU with them, 22.5 without;
# peak RSS 89 MB with, 78 without).
CHUNK_BYTES = 1 << 19  # the temporary columns of one chunk of samples (stay in L2)
ROW_PAD = 16  # elements (64 bytes of float32) between the rows of long temporary matrices, see _padded


def _padded(xp, shape, dtype, pad, zero=False):
    """A new array of `shape` whose rows lie `pad` elements further apart than their length:
    rows a power of two bytes apart (here 64 KiB: 64 samples of a 16x16 grid) share cache sets,
    which makes a matmul writing or reading them ~1.6x slower."""
    new = xp.zeros if zero else xp.empty
    if not pad or xp is not np:  # (NumPy's CPU caches only)
        return new(shape, dtype=dtype)
    return new(shape[:-1] + (shape[-1] + pad,), dtype=dtype)[..., :shape[-1]]


def _as_strided(xp, arr, shape, strides):
    return xp.lib.stride_tricks.as_strided(arr, shape=shape, strides=strides)


def _pad(x, pads):
    """x zero-padded on its spatial dims (no copy when there is no padding)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    xp = _xp(x)
    shape = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    out = xp.zeros(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], pads))] = x
    return out


def _im2col(x, kshape, out, p, channel_major=False, ones=False):
    """Columns of x: (N, G, C/G * K, L) (the one copy of the forward); contiguous, or with
    channel_major the view of a contiguous (G, C/G * K, N, L) array, whose weight gradient is
    one matmul over all N * L positions (see _channel_major). With ones (one group only), a
    last row of ones, (N, 1, C * K + 1, L): for a bias folded into the matmul."""
    n, c = x.shape[:2]
    G = p.groups
    L = int(np.prod(out))
    K = int(np.prod(kshape))
    if not ones and all(k == 1 for k in kshape) and all(s == 1 for s in p.stride) and not any(
            lo or hi for lo, hi in p.pads):  # 1x1 convolution: the input already is its columns
        return x.reshape(n, G, c // G, L)
    xp = _xp(x)
    xpad = _pad(x, p.pads)
    # one gather, cols[n, c, k.., o..] = xpad[n, c, o*s + k*d ..]: its runs are output rows (stride 1);
    # on this CPU ~1.1-1.5x faster than two gathers (the last dim's kernel offsets first, then the
    # rest from that copy), and than gathering channel major from a (C, N, ...) copy of the input
    st = xpad.strides
    k_st = tuple(st[2 + i] * d for i, d in enumerate(p.dilation))
    o_st = tuple(st[2 + i] * s for i, s in enumerate(p.stride))
    if channel_major:
        shape = (c,) + tuple(kshape) + (n,) + tuple(out)
        strides = (st[1],) + k_st + (st[0],) + o_st
        rows = (G, c // G * K + ones, n, L)
    else:
        shape = (n, c) + tuple(kshape) + tuple(out)
        strides = st[:2] + k_st + o_st
        rows = (n, G, c // G * K + ones, L)
    cols = xp.empty(rows, dtype=x.dtype)
    if ones:
        at = (slice(None),) * (1 - channel_major)  # the rows' axis
        cols[at + (0, -1)] = 1
        cols[at + (0, slice(-1))].reshape(shape)[...] = _as_strided(xp, xpad, shape, strides)
    else:
        cols.reshape(shape)[...] = _as_strided(xp, xpad, shape, strides)
    return cols.transpose(2, 0, 1, 3) if channel_major else cols


# conv's columns go position major (see _im2col_positions) from this many input channels: their
# runs, kernel width x channels, are then long enough for the copy to run near memory speed
POSITION_MAJOR_MIN_CHANNELS = 8


def _position_major(x, p, fold):
    """Whether a conv forward whose columns are not kept (no weight gradient: no_grad, frozen
    weights, the input gradient as a full correlation) takes position-major columns: a NumPy
    float32/float64 input of one group with at least POSITION_MAJOR_MIN_CHANNELS channels, no
    bias row folded in, BLAS on several threads. (On one thread the per-sample products of
    batch-major columns are faster: cnn's conv2 1.91 vs 2.12 ms CPU; a weight gradient from
    position-major columns cost more than the forward saved: cnn step unchanged.)"""
    return (type(x) is np.ndarray and p.groups == 1 and not fold and x.dtype.char in "fd"
            and x.shape[1] >= POSITION_MAJOR_MIN_CHANNELS and _blas_threads() > 1)


def _im2col_positions(x, kshape, out, p):
    """Columns position major: (N*L, K*C), row (n, o...) the window of output position o of
    sample n, its values ordered (k..., c). The input is copied channel-last (and padded) once;
    each window is then runs of (kernel width * C) contiguous values (dilation 1), where the
    batch-major gather copies runs of one output row (cnn's conv2, (64,16,14,14) 3x3: the copies
    0.78 -> 0.44 ms CPU), and the forward is one product over all positions, split over BLAS's
    threads (its no_grad forward at 2 threads 1.83 -> 1.48 ms wall)."""
    n, c = x.shape[:2]
    space = x.shape[2:]
    grid = tuple(s + lo + hi for s, (lo, hi) in zip(space, p.pads))
    xh = (np.zeros if any(lo or hi for lo, hi in p.pads) else np.empty)((n,) + grid + (c,), dtype=x.dtype)
    xh[(slice(None),) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(space, p.pads))] = np.moveaxis(x, 1, -1)
    st = xh.strides
    shape = (n,) + tuple(out) + tuple(kshape) + (c,)
    strides = ((st[0],) + tuple(st[1 + i] * s for i, s in enumerate(p.stride))
               + tuple(st[1 + i] * d for i, d in enumerate(p.dilation)) + (st[-1],))
    cols = np.empty((n * int(np.prod(out)), int(np.prod(kshape)) * c), dtype=x.dtype)
    cols.reshape(shape)[...] = _as_strided(np, xh, shape, strides)
    return cols


def _channel_major(c, k, o):
    """Whether conv's columns go channel major (see _im2col): its weight gradient is then one
    matmul instead of N small ones (~1.5x faster), for a transposed copy of the output gradient,
    which is cheap next to the matmul when the columns have at least as many rows (C*K) as it
    has (O)."""
    return c * k >= o


def _col2im(cols, x_shape, kshape, out, p):
    """The adjoint of _im2col: add the columns (N, C, *k, *out) back into an input-shaped array."""
    n, c = x_shape[:2]
    if all(k == 1 for k in kshape) and all(s == 1 for s in p.stride) and not any(
            lo or hi for lo, hi in p.pads):
        return cols.reshape(x_shape)
    xp = _xp(cols)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(x_shape[2:], p.pads))
    gx = xp.zeros((n, c) + padded, dtype=cols.dtype)
    cols = cols.reshape((n, c) + tuple(kshape) + tuple(out))
    for offset in itertools.product(*(range(k) for k in kshape)):
        target = tuple(slice(d * i, d * i + s * (o - 1) + 1, s)
                       for i, d, s, o in zip(offset, p.dilation, p.stride, out))
        gx[(slice(None), slice(None)) + target] += cols[(slice(None), slice(None)) + offset]
    if any(lo or hi for lo, hi in p.pads):
        gx = gx[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x_shape[2:], p.pads))]
    return gx


def _shares(a, b):
    return a.base is not None and (a.base is b or a.base is b.base)


def _out_shape(in_shape, kshape, p):
    return tuple((s + lo + hi - d * (k - 1) - 1) // st + 1
                 for s, k, (lo, hi), d, st in zip(in_shape, kshape, p.pads, p.dilation, p.stride))


def _spread_bias(b, shape):
    """b (C,) as a (1, C, *space) array to add to a (N, C, *space) one: adding whole planes runs
    NumPy's vectorised loop, while b broadcast along space (a stride-0 operand) takes its slow
    one (~1.6x slower)."""
    xp = _xp(b)
    return xp.ascontiguousarray(xp.broadcast_to(b.reshape((1, -1) + (1,) * (len(shape) - 2)), (1,) + tuple(shape[1:])))


def conv_forward(x, w, b, p, keep_cols=False):
    """y[n, o] = sum_{c, k} w[o, c, k] x_window[n, c, k] + b[o], on arrays (and the columns when
    keep_cols)."""
    n = x.shape[0]
    o = w.shape[0]
    kshape = w.shape[2:]
    out = _out_shape(x.shape[2:], kshape, p)
    G = p.groups
    # with one BLAS thread batch major columns: each sample's matmul reads its own contiguous block,
    # ~1.3x faster than channel major columns, whose weight gradient, one matmul, gains less (cnn's
    # conv2 forward and weight gradient 3.6 -> 3.1 ms); with more, the whole-batch matmuls of
    # channel-major columns run on all threads
    cm = _channel_major(x.shape[1] // G, int(np.prod(kshape)), o // G) and (_xp(x) is not np or _blas_threads() > 1)
    # the bias of a conv with few column rows as a last column of w against a row of ones in the
    # columns: one more row in the matmul instead of a pass over y (cnn's conv1, 9 rows: forward
    # + weight gradient 1006 -> 868 us), and half precision rounded once, as torch's
    fold = b is not None and G == 1 and x.shape[1] * int(np.prod(kshape)) < BIAS_ROW_MAX
    if not keep_cols and _position_major(x, p, fold):
        # y = cols @ W^T (W's rows ordered as the columns'), one product, then batch major (+ b)
        cols = _im2col_positions(x, kshape, out, p)
        wk = np.moveaxis(w, 1, -1).reshape(o, -1)
        L = int(np.prod(out))
        yp = (cols @ wk.T).reshape(n, L, o).transpose(0, 2, 1)
        y = np.empty((n, o) + out, dtype=x.dtype)
        y.reshape(n, o, L)[...] = yp
        if b is not None:  # (whole planes: faster than adding b during the transposing copy)
            y += _spread_bias(b, y.shape)
        return y
    cols = _im2col(x, kshape, out, p, cm, ones=fold)
    wk = w.reshape(G, o // G, -1)
    if fold:
        wk = _xp(x).concatenate((wk, b.reshape(1, o, 1)), axis=2)
    if cm:  # one matmul over all N*L positions, then batch major (cnn's conv2 at 2 threads: 2.3 -> 1.7 ms)
        ck = cols.transpose(1, 2, 0, 3)  # (G, C/G*K, N, L), contiguous
        L = int(np.prod(out))
        yk = _backend.matmul(wk, ck.reshape(ck.shape[:2] + (n * L,)))  # (G, O/G, N*L)
        y = _xp(x).empty((n, o) + out, dtype=yk.dtype)
        y.reshape(n, G, o // G, L)[...] = yk.reshape(G, o // G, n, L).transpose(2, 0, 1, 3)
    else:
        y = _backend.matmul(wk, cols).reshape((n, o) + out)  # (N, G, O/G, L)
    if b is not None and not fold:
        y += _spread_bias(b, y.shape)
    return (y, cols) if keep_cols else y  # (folded: the columns with their row of ones)


def conv_input_grad(g, w, x_shape, p):
    """dx = col2im(W^T @ G): the transposed convolution of g, to an input of shape x_shape."""
    xp = _xp(g)
    n, o = g.shape[:2]
    out = g.shape[2:]
    G = p.groups
    wt = w.reshape(G, o // G, -1).transpose(0, 2, 1)  # (G, C/G*K, O/G)
    if all(k == 1 for k in w.shape[2:]) and all(s == 1 for s in p.stride) and not any(
            lo or hi for lo, hi in p.pads):  # 1x1 convolution: no columns to fold
        return _backend.matmul(wt, g.reshape(n, G, o // G, int(np.prod(out)))).reshape(x_shape)
    if all(s == 1 for s in p.stride):
        full = tuple(d * (k - 1) for d, k in zip(p.dilation, w.shape[2:]))
        if o <= x_shape[1] and all(lo <= f and hi <= f for (lo, hi), f in zip(p.pads, full)):
            return _full_correlation(g, w, full, p)
        if xp is np and _blas_threads() == 1:
            return _col2im_grid(xp, w, g, x_shape, p)
        return _col2im_grid_whole(xp, w, g, x_shape, p)
    cols = _backend.matmul(wt, g.reshape(n, G, o // G, int(np.prod(out))))  # (N, G, C/G*K, L)
    return _col2im(cols, x_shape, w.shape[2:], out, p)


def _full_correlation(g, w, full, p):
    """dx for stride 1 as a forward convolution of g with the flipped, transposed kernel
    (padding d*(k-1) - pad): its columns hold O*K rows against col2im's C*K, so it wins when O <= C."""
    o, cg = w.shape[:2]
    G = p.groups
    kshape = w.shape[2:]
    nd = len(kshape)
    wf = w.reshape((G, o // G, cg) + kshape).swapaxes(1, 2)[(slice(None),) * 3 + (slice(None, None, -1),) * nd]
    wf = _xp(w).ascontiguousarray(wf).reshape((G * cg, o // G) + kshape)
    pads = tuple((f - lo, f - hi) for f, (lo, hi) in zip(full, p.pads))
    return conv_forward(g, wf, None, ConvParams((1,) * nd, pads, p.dilation, G))


def _grid(x_shape, kshape, p):
    """(the padded input grid, its size S, each kernel offset's flat shift on it (the first 0))."""
    grid = tuple(s + lo + hi for s, (lo, hi) in zip(x_shape[2:], p.pads))
    strides = [int(np.prod(grid[i + 1:])) for i in range(len(grid))]
    shifts = [sum(d * k * st for d, k, st in zip(p.dilation, offset, strides))
              for offset in itertools.product(*(range(k) for k in kshape))]
    return grid, int(np.prod(grid)), shifts


def _col2im_grid_whole(xp, w, g, x_shape, p):
    """_col2im_grid over the whole batch at once (for a BLAS on several threads, or a device):
    one matmul per group over all N*S grid positions, channel major, then K adds of (C, N*S)."""
    n, o = g.shape[:2]
    c = x_shape[1]
    G = p.groups
    kshape = w.shape[2:]
    grid, S, shifts = _grid(x_shape, kshape, p)
    total = n * S
    wt = xp.ascontiguousarray(w.reshape(G, o // G, -1).transpose(0, 2, 1))  # (G, C/G*K, O/G): rows (c, k)
    gk = _padded(xp, (o, total), g.dtype, ROW_PAD, zero=True)
    gk.reshape((o, n) + grid)[(slice(None), slice(None)) + tuple(slice(0, s) for s in g.shape[2:])] = g.swapaxes(0, 1)
    if g.dtype.itemsize == 2:
        cols = _backend.matmul(wt, gk.reshape(G, o // G, total))
    else:
        cols = xp.matmul(wt, gk.reshape(G, o // G, total), out=_padded(xp, (G, wt.shape[1], total), g.dtype, ROW_PAD))
    cols = cols.reshape(c, len(shifts), total)
    gx = xp.empty((c, total + max(shifts)), dtype=g.dtype)
    gx[:, :total] = cols[:, 0]
    gx[:, total:] = 0
    for i, sh in enumerate(shifts[1:], 1):
        gx[:, sh:sh + total] += cols[:, i]
    gx = gx[:, :total].reshape((c, n) + grid)
    inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(x_shape[2:], p.pads))
    dx = xp.empty(x_shape, dtype=g.dtype)  # batch major again (gx is channel major)
    dx[...] = gx[(slice(None), slice(None)) + inner].swapaxes(0, 1)
    return dx


def _col2im_grid(xp, w, g, x_shape, p):
    """dx = col2im(W^T @ G) for stride 1, in chunks of samples, every slice-add one long
    contiguous run per sample (K adds of (b, C*S) arrays; per-row runs are ~3x slower).

    g is placed on each sample's padded input grid (S its size), output position o at
    sum_i o_i S_i (S_i the grid's row-major strides), zeros elsewhere; so the columns
    W^T @ G, (K, C, S) per sample, lie on that grid too, and kernel offset k is the flat shift
    sum_i d_i k_i S_i. What spills past a channel's grid comes from zero positions and adds nothing.

    The matmul runs per sample and per part of the kernel offsets, each at most SMALL_GEMM
    multiply-adds where it can be (OpenBLAS's small-matrix kernel: cnn's conv2 at ~150 GFLOP/s,
    against ~110 for its whole-grid matmul); a chunk's columns (CHUNK_BYTES) stay in cache
    for the adds.
    """
    n, o = g.shape[:2]
    c = x_shape[1]
    G = p.groups
    kshape = w.shape[2:]
    K = int(np.prod(kshape))
    out = g.shape[2:]
    grid, S, shifts = _grid(x_shape, kshape, p)
    og, cg = o // G, c // G
    # parts of the kernel offsets: P matmuls of (K/P * C/G, O/G) @ (O/G, S) per sample and group
    P = next((q for q in range(1, K + 1) if K % q == 0 and K // q * cg * og * S <= SMALL_GEMM), 1)
    if xp is not np:
        P = 1
    wk = w.reshape(G, og, cg, K).transpose(0, 3, 2, 1)  # (G, K, C/G, O/G): rows by kernel offset
    wk = xp.ascontiguousarray(wk.reshape(G, P, K // P * cg, og).swapaxes(0, 1))[:, None]  # (P, 1, G, M, O/G)
    b = n if xp is not np else max(1, min(n, CHUNK_BYTES // max(1, c * K * S * g.dtype.itemsize)))
    b = -(-n // -(-n // b)) if n else 1  # chunks of equal size
    place = (slice(None), slice(None)) + tuple(slice(0, s) for s in out)
    inner = (slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x_shape[2:], p.pads))
    gk = xp.zeros((b, o) + grid, dtype=g.dtype)  # the positions outside `place` stay 0
    cols = xp.empty((P, b, G, K // P * cg, S), dtype=g.dtype)
    gx = xp.empty((b, c * S + max(shifts)), dtype=g.dtype)
    gx[:, c * S:] = 0
    dx = xp.empty(x_shape, dtype=g.dtype)
    cm = cols.reshape(P, b, G, K // P, cg * S)
    # (b, G, C/G * S) each; a shorter last chunk adds stale rows past its m too, never read
    adds = [(gx[:, sh:sh + c * S].reshape(b, G, cg * S), cm[j // (K // P), :, :, j % (K // P)])
            for j, sh in enumerate(shifts)]
    for i in range(0, n, b):
        m = min(b, n - i)
        gk[:m][place] = g[i:i + m]
        gm = gk[:m].reshape(1, m, G, og, S)
        if g.dtype.itemsize == 2 or xp is not np:
            cols[:, :m] = _backend.matmul(wk, gm)
        else:
            xp.matmul(wk, gm, out=cols[:, :m])
        xp.copyto(*adds[0])
        for dst, src in adds[1:]:
            dst += src
        dx[i:i + m] = gx[:m, :c * S].reshape((m, c) + grid)[inner]
    return dx


def conv_weight_grad(x, g, w_shape, p, cols=None):
    """dw[o, c, k] = sum_{n, l} g[n, o, l] x_window[n, c, k, l]  (= sum_n G @ cols^T)."""
    xp = _xp(g)
    n, o = g.shape[:2]
    out = g.shape[2:]
    L = int(np.prod(out))
    G = p.groups
    if cols is None:
        cols = _im2col(x, w_shape[2:], out, p, _channel_major(w_shape[1], int(np.prod(w_shape[2:])), o // G))
    g4 = g.reshape(n, G, o // G, L)
    ck = cols.transpose(1, 2, 0, 3)  # (G, C/G*K, N, L)
    if ck.flags.c_contiguous:  # channel-major columns: one matmul over all N * L positions
        gk = xp.empty((G, o // G, n, L), dtype=g.dtype)
        gk[...] = g4.transpose(1, 2, 0, 3)
        gwt = _backend.matmul(ck.reshape(G, ck.shape[1], n * L), gk.reshape(G, o // G, n * L).swapaxes(1, 2))
    else:
        # dw^T = cols @ G^T runs faster in BLAS than G @ cols^T (the long L axis is contiguous in both);
        # OpenBLAS's small-matrix kernel runs it faster still with G^T copied contiguous, a copy
        # that pays when its rows are long (cnn's conv2: 1.29 -> 1.09 ms; O/G = 16: slower)
        gt = g4.transpose(0, 1, 3, 2)
        if o // G >= 32 and cols.shape[2] * L * (o // G) <= SMALL_GEMM:
            gt = xp.ascontiguousarray(gt)
        gwt = _backend.matmul(cols, gt).sum(0)  # (G, C/G*K, O/G)
    return gwt.transpose(0, 2, 1).reshape(w_shape)


# ---------------------------------------------------------------------------- Functions


def _bias_grad(g):
    """db[o] = sum of g[:, o] over batch and space."""
    space = tuple(range(2, g.ndim))
    if space and not _grad_state.enabled and _rows.numpy_rows_ok(g._data):
        # plain backward: over the batch, then over space, as two BLAS matrix-vector products
        # (_rows: memory speed); cnn's (64, 16, 28, 28) 104 -> 22 us, (64, 32, 14, 14) 37 -> 18 us;
        # cnn step min/median 10.78/11.01 -> 10.66/10.99 ms CPU (1 BLAS thread), 11.08/11.30 ->
        # 10.91/11.14 ms wall (2), interleaved under chrt -f. Summed in another order: not bitwise
        n, c = g.shape[:2]
        return Tensor._make(_rows.row_sums(_rows.col_sums(g._data.reshape(n, -1)).reshape(c, -1)))
    if g.dtype.itemsize >= 4 and space:
        # batch first (contiguous adds of whole samples), then space: ~2x faster than one
        # reduction over (0, *space), whose inner loop runs along the short spatial rows
        return g.sum(0).sum(tuple(i - 1 for i in space))
    return g.sum((0,) + space)


def _fit(t, shape):
    """Crop t's spatial dims to shape (conv of a transposed conv with output_padding >= stride)."""
    if tuple(t.shape[2:]) == tuple(shape):
        return t
    return t[(slice(None), slice(None)) + tuple(slice(0, s) for s in shape)]


def _samples_as_groups(info, x, d, n=None):
    """A batch (B, N, C, ...) of per-sample inputs as one input (N, B*C, ...) whose channel groups
    are the samples' (an unbatched one expanded first; ``n``: N for an unbatched (C, ...) weight)."""
    b = info.batch_size
    x = x.expand((b,) + tuple(x.shape)) if d is None else _batching.front(x, d)
    return x.movedim(0, 1).reshape((x.shape[1], -1) + tuple(x.shape[3:]))


def _stacked_params(info, t, d):
    """A per-sample weight or bias (B, O, ...) (an unbatched one expanded) as (B*O, ...)."""
    if t is None:
        return None
    t = t.expand((info.batch_size,) + tuple(t.shape)) if d is None else _batching.front(t, d)
    return t.reshape((-1,) + tuple(t.shape[2:]))


def _from_groups(info, y):
    """(N, B*O, ...) back to the samples' (B, N, O, ...)."""
    return y.reshape((y.shape[0], info.batch_size, -1) + tuple(y.shape[2:])).movedim(1, 0)


def _grouped_rule(cls, info, in_dims, x, w, b, *rest):
    """Conv and conv_transpose under vmap. Unbatched weights: the batch folded into N. Batched
    weights (an ensemble's, or vmap(grad(f))'s parameters): the samples as groups of one grouped
    convolution, (N, B*C, ...) with (B*O, ...) weights and B times the groups."""
    if in_dims[1] is None and in_dims[2] is None:
        return _batching.fold_batch(cls, info, in_dims, x, w, b, *rest)
    *args, p = rest
    y = cls.apply(_samples_as_groups(info, x, in_dims[0]), _stacked_params(info, w, in_dims[1]),
                  _stacked_params(info, b, in_dims[2]), *args, p._replace(groups=p.groups * info.batch_size))
    return _from_groups(info, y), 0


class Conv(Function):
    """y = conv(x, w) + b;  dx = conv_transpose(g, w),  dw = conv_weight_grad(x, g),  db = sum of g
    over batch and space."""
    vmap = classmethod(_grouped_rule)  # batching rule (retrograd.func.vmap)

    _backward_name = "ConvolutionBackward0"
    _listed_inputs = 3  # (input, weight, bias), bias None when absent, as torch

    @staticmethod
    def forward(ctx, x, w, b, p):
        ctx.p, ctx.x_shape, ctx.w_shape = p, x.shape, w.shape
        need = ctx.needs_input_grad
        keep = need[1] and x._data.nbytes * int(np.prod(w.shape[2:])) <= SAVE_COLUMNS_MAX_BYTES
        y = conv_forward(x._data, w._data, None if b is None else b._data, p, keep_cols=keep)
        cols = None
        if keep:
            y, cols = y
            cols = Tensor._make(cols)
        ctx.save_for_backward(x if need[1] else None, w if need[0] else None, cols)
        return y

    @staticmethod
    def jvp(ctx, tx, tw, tb, _p):
        """dy = conv(dx, w) + db + conv(x, dw)."""
        x, w, b, p = ctx._fw_args
        return fsum(Conv.apply(tx, w, tb, p), Conv.apply(x, tw, None, p))

    @staticmethod
    def backward(ctx, g):
        x, w, cols = ctx.saved_tensors
        need = ctx.needs_input_grad
        gx = ConvInputGrad.apply(g, w, None, ctx.x_shape[2:], ctx.p) if need[0] else None
        o, rows = ctx.w_shape[0], int(np.prod(ctx.w_shape[1:]))
        if cols is not None and cols.shape[2] > rows:  # the columns of a folded bias (its row of ones last)
            if need[2] and not _grad_state.enabled:
                # plain backward: the row of ones makes the bias gradient (g summed over batch and
                # space) the weight gradient's last column, one matmul for both (cnn's conv1: dw +
                # db 534 -> 345 us; db summed in another order than _bias_grad's)
                dwb = conv_weight_grad(x._data, g._data, (o, rows + 1), ctx.p, cols._data)
                return gx, Tensor._make(dwb[:, :-1].reshape(ctx.w_shape)), Tensor._make(dwb[:, -1].copy()), None
            cols = Tensor._make(cols._data[:, :, :-1])
        gw = ConvWeightGrad.apply(x, g, ctx.w_shape, ctx.p, cols) if need[1] else None
        gb = _bias_grad(g) if need[2] else None
        return gx, gw, gb, None


class ConvInputGrad(Function):
    """z = conv_transpose(g, w) + b (the input gradient of conv, to spatial size `size`);
    dg = conv(gz, w),  dw = conv_weight_grad(gz, g),  db = sum of gz over batch and space."""
    vmap = classmethod(_grouped_rule)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, g, w, b, size, p):
        ctx.p, ctx.g_shape, ctx.w_shape = p, g.shape, w.shape
        need = ctx.needs_input_grad
        ctx.save_for_backward(g if need[1] else None, w if need[0] else None)
        z = conv_input_grad(g._data, w._data, (g.shape[0], w.shape[1] * p.groups) + tuple(size), p)
        if b is not None:
            z = z + _spread_bias(b._data, z.shape)
        return z

    @staticmethod
    def jvp(ctx, tg, tw, tb, *_):
        """Bilinear in (g, w): dz = op(dg, w) + db + op(g, dw)."""
        g, w, b, size, p = ctx._fw_args
        op = type(ctx).apply
        return fsum(op(tg, w, tb, size, p), op(g, tw, None, size, p))

    @staticmethod
    def backward(ctx, gz):
        g, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        dg = _fit(Conv.apply(gz, w, None, ctx.p), ctx.g_shape[2:]) if need[0] else None
        dw = ConvWeightGrad.apply(gz, g, ctx.w_shape, ctx.p) if need[1] else None
        db = _bias_grad(gz) if need[2] else None
        return dg, dw, db, None, None


class ConvTranspose(ConvInputGrad):
    """conv_transpose's forward is conv's input gradient; torch names both ConvolutionBackward0."""

    _backward_name = "ConvolutionBackward0"
    _listed_inputs = 3  # (input, weight, bias), bias None when absent


class ConvWeightGrad(Function):
    """z = conv_weight_grad(x, g) (the weight gradient of conv);
    dx = conv_transpose(g, gz),  dg = conv(x, gz)."""

    @classmethod
    def vmap(cls, info, in_dims, x, g, w_shape, p, cols=None):
        """Each sample's weight gradient: the samples as groups of one grouped weight gradient,
        (B*O, C/groups, ...). (``cols``, im2col of an unbatched x kept by conv's forward, is
        recomputed for the grouped input.)"""
        z = cls.apply(_samples_as_groups(info, x, in_dims[0]), _samples_as_groups(info, g, in_dims[1]),
                      (info.batch_size * w_shape[0],) + tuple(w_shape[1:]), p._replace(groups=p.groups * info.batch_size))
        return z.reshape((info.batch_size,) + tuple(w_shape)), 0

    @staticmethod
    def forward(ctx, x, g, w_shape, p, cols=None):
        ctx.p, ctx.x_shape, ctx.g_shape = p, x.shape, g.shape
        need = ctx.needs_input_grad
        ctx.save_for_backward(x if need[1] else None, g if need[0] else None)
        return conv_weight_grad(x._data, g._data, tuple(w_shape), p, None if cols is None else cols._data)

    @staticmethod
    def jvp(ctx, tx, tg, *_):
        """Bilinear in (x, g): dz = op(dx, g) + op(x, dg)."""
        x, g, w_shape, p, *cols = ctx._fw_args
        return fsum(ConvWeightGrad.apply(tx, g, w_shape, p), ConvWeightGrad.apply(x, tg, w_shape, p, *cols))

    @staticmethod
    def backward(ctx, gz):
        x, g = ctx.saved_tensors
        need = ctx.needs_input_grad
        dx = ConvInputGrad.apply(g, gz, None, ctx.x_shape[2:], ctx.p) if need[0] else None
        dg = _fit(Conv.apply(x, gz, None, ctx.p), ctx.g_shape[2:]) if need[1] else None
        return dx, dg, None, None, None


# ---------------------------------------------------------------------------- argument handling


def _tuple(v, n, name):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    if len(v) == 1 and n > 1:
        return v * n
    if len(v) != n:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match "
                           f"the convolution dimensions, but got {name}={list(v)}")
    return v


def _check_dtypes(name, input, weight, bias):
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{name}: Input type ({input.dtype}) and weight type ({weight.dtype}) should be "
                           "the same; convert one with .to(dtype)")
    if bias is not None and bias.dtype != input.dtype:
        raise RuntimeError(f"{name}: Input type ({input.dtype}) and bias type ({bias.dtype}) should be "
                           "the same; convert one with .to(dtype)")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{name}: expected a floating point input, got {input.dtype}")


def _batched(input, nd, name):
    """(input with a batch dim, whether one was added)."""
    if input.ndim == nd + 1:
        return input.unsqueeze(0), True
    if input.ndim != nd + 2:
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")
    return input, False


def _conv(name, nd, input, weight, bias, stride, padding, dilation, groups):
    _check_dtypes(name, input, weight, bias)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{name}: expected weight to be {nd + 2}-dimensional (out_channels, "
                           f"in_channels/groups, *kernel), but got weight of size {list(weight.shape)}"
                           " (a module made with a kernel_size of another length than its dims has "
                           "such a weight: give one int or one per dim)")
    x, unbatched = _batched(input, nd, name)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    kshape = tuple(weight.shape[2:])
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0),) * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, kshape)]
            pads = tuple((t // 2, t - t // 2) for t in total)
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of 'valid' or 'same'")
    else:
        pads = tuple((q, q) for q in _tuple(padding, nd, "padding"))
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{name}: non-positive stride is not supported (stride={list(stride)})")
    if any(lo < 0 for lo, _ in pads):
        raise RuntimeError(f"{name}: negative padding is not supported")
    if groups <= 0 or weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
            f"{weight.shape[1] * groups} channels, but got {x.shape[1]} channels instead")
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"{name}: expected bias of shape [{weight.shape[0]}], got {list(bias.shape)}")
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    eff = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kshape))
    if any(pd < e for pd, e in zip(padded, eff)):
        raise RuntimeError(
            f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel size: "
            f"({' x '.join(map(str, eff))}). Kernel size can't be greater than actual input size")
    y = Conv.apply(x, weight, bias, ConvParams(stride, pads, dilation, int(groups)))
    return y.squeeze(0) if unbatched else y


@autocast_op("lower")
def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-d convolution (cross-correlation) over (N, C, L) input with an (O, C/groups, k) weight."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


@autocast_op("lower")
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-d convolution (cross-correlation) over (N, C, H, W) input with an (O, C/groups, kh, kw) weight."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


@autocast_op("lower")
def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-d convolution (cross-correlation) over (N, C, D, H, W) input."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation,
                    output_size=None):
    _check_dtypes(name, input, weight, bias)
    if weight.ndim != nd + 2:
        raise RuntimeError(f"{name}: expected weight to be {nd + 2}-dimensional (in_channels, "
                           f"out_channels/groups, *kernel), but got weight of size {list(weight.shape)}"
                           " (a module made with a kernel_size of another length than its dims has "
                           "such a weight: give one int or one per dim)")
    x, unbatched = _batched(input, nd, name)
    stride = _tuple(stride, nd, "stride")
    dilation = _tuple(dilation, nd, "dilation")
    padding = _tuple(padding, nd, "padding")
    output_padding = _tuple(output_padding, nd, "output_padding")
    kshape = tuple(weight.shape[2:])
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} to have "
            f"{weight.shape[0]} channels, but got {x.shape[1]} channels instead")
    if groups <= 0 or weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError(f"{name}: output padding must be smaller than either stride or dilation, but got "
                               f"output_padding={list(output_padding)}, stride={list(stride)}, "
                               f"dilation={list(dilation)}")
    if bias is not None and tuple(bias.shape) != (weight.shape[1] * groups,):
        raise RuntimeError(f"{name}: expected bias of shape [{weight.shape[1] * groups}], got {list(bias.shape)}")
    size = tuple((i - 1) * s - 2 * q + d * (k - 1) + op + 1
                 for i, s, q, d, k, op in zip(x.shape[2:], stride, padding, dilation, kshape, output_padding))
    if output_size is not None:
        size = tuple(output_size)[-nd:]
    if any(s <= 0 for s in size):
        raise RuntimeError(f"{name}: the computed output size {list(size)} is not positive (input "
                           f"{list(x.shape)}, weight {list(weight.shape)})")
    p = ConvParams(stride, tuple((q, q) for q in padding), dilation, int(groups))
    y = ConvTranspose.apply(x, weight, bias, size, p)
    return y.squeeze(0) if unbatched else y


@autocast_op("lower")
def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-d transposed convolution (the gradient of conv1d with respect to its input); weight (C_in, C_out/groups, k)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


@autocast_op("lower")
def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-d transposed convolution (the gradient of conv2d w.r.t. its input); weight (C_in, C_out/groups, kh, kw)."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


@autocast_op("lower")
def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-d transposed convolution; weight (C_in, C_out/groups, kd, kh, kw)."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


# ---------------------------------------------------------------------------- unfold / fold


class Unfold(Function):
    """z = im2col(x): (N, C*K, L) columns of sliding blocks;  dx = fold(g) (col2im)."""
    vmap = classmethod(_batching.fold_batch)  # batching rule (retrograd.func.vmap)

    @staticmethod
    def forward(ctx, x, kshape, out, p):
        ctx.x_shape, ctx.kshape, ctx.out, ctx.p = x.shape, kshape, out, p
        n, c = x.shape[:2]
        cols = _im2col(x._data, kshape, out, p).reshape(n, c * int(np.prod(kshape)), int(np.prod(out)))
        return cols.copy() if _shares(cols, x._data) else cols

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return Fold.apply(g, ctx.x_shape, ctx.kshape, ctx.out, ctx.p), None, None, None


class Fold(Function):
    """z = col2im(cols): sum of the (N, C*K, L) blocks into (N, C, *size);  dcols = unfold(g)."""

    @classmethod
    def vmap(cls, info, in_dims, cols, x_shape, kshape, out, p):
        """The batch folded into N, of the columns and of the output shape."""
        shape = (info.batch_size * x_shape[0],) + tuple(x_shape[1:])
        return _batching.fold_batch(cls, info, in_dims, cols, shape, kshape, out, p)

    @staticmethod
    def forward(ctx, cols, x_shape, kshape, out, p):
        ctx.x_shape, ctx.kshape, ctx.out, ctx.p = x_shape, kshape, out, p
        z = _col2im(cols._data, tuple(x_shape), kshape, out, p)
        return z.copy() if _shares(z, cols._data) else z

    jvp = staticmethod(linear_jvp)  # linear in the tensor inputs: the op applied to the tangents

    @staticmethod
    def backward(ctx, g):
        return Unfold.apply(g, ctx.kshape, ctx.out, ctx.p), None, None, None, None


def _pair(v, name):
    """unfold's and fold's sizes: an int, or exactly 2 ints (torch expands no 1-element tuple here)."""
    if isinstance(v, (int, np.integer)):
        return (int(v),) * 2
    v = tuple(int(i) for i in v)
    if len(v) != 2:
        raise RuntimeError(f"It is expected {name} equals to 2, but got size {len(v)} ({name}={list(v)}: give "
                           "one int or 2 ints)")
    return v


def _block_params(kernel_size, dilation, padding, stride):
    k = _pair(kernel_size, "kernel_size")
    d = _pair(dilation, "dilation")
    q = _pair(padding, "padding")
    s = _pair(stride, "stride")
    return k, ConvParams(s, tuple((i, i) for i in q), d, 1)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a (N, C, H, W) input as columns (N, C*kh*kw, L) (im2col)."""
    x, unbatched = _batched(input, 2, "unfold")
    k, p = _block_params(kernel_size, dilation, padding, stride)
    out = _out_shape(x.shape[2:], k, p)
    if any(o <= 0 for o in out):
        raise RuntimeError(f"unfold: the kernel {list(k)} with padding and dilation does not fit in the input "
                           f"of shape {list(x.shape)}")
    y = Unfold.apply(x, k, out, p)
    return y.squeeze(0) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum (N, C*kh*kw, L) columns of sliding blocks into an (N, C, *output_size) tensor (col2im)."""
    if input.ndim == 2:
        cols, unbatched = input.unsqueeze(0), True
    elif input.ndim == 3:
        cols, unbatched = input, False
    else:
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to fold, but got input of size: "
                           f"{list(input.shape)}")
    k, p = _block_params(kernel_size, dilation, padding, stride)
    size = _pair(output_size, "output_size")
    out = _out_shape(size, k, p)
    K = k[0] * k[1]
    if cols.shape[1] % K:
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={cols.shape[1]} and kernel_size={list(k)}")
    if cols.shape[2] != out[0] * out[1]:
        raise RuntimeError(f"Given output_size={list(size)}, kernel_size={list(k)}, dilation, padding, stride, "
                           f"expected size of input's dimension 2 to match the calculated number of sliding "
                           f"blocks {out[0]} * {out[1]} = {out[0] * out[1]}, but got input.size(2)={cols.shape[2]}.")
    y = Fold.apply(cols, (cols.shape[0], cols.shape[1] // K) + size, k, out, p)
    return y.squeeze(0) if unbatched else y
