"""The affine layer's ops: ``linear`` (Y = X W^T + b) and ``bilinear``."""

import math

import numpy as np

from . import _batching
from ..amp.autocast_mode import autocast_op
from .. import _backend
from ..autograd.function import Function
from ..autograd.forward_ad import fsum
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from ._rows import col_sums
from .shape import UnsafeView
from .linalg import Matmul, check_same_dtype

_dot, _ndarray = np.dot, np.ndarray  # (module globals: np.X reads are not specialised, see tensor.py)

__all__ = []  # nn-only: exported through retrograd.nn.functional
FUNCTIONAL = ["linear", "bilinear"]


class Addmm(Function):
    """Y = b + X M, torch's addmm(bias, input, weight.t()) of a linear layer (Mm without b);
    db = sum of G over the rows,  dX = G M^T,  dM = X^T G."""
    vmap = classmethod(_batching.addmm)  # batching rule (retrograd.func.vmap)
    _array_forward = True  # (Function._array_forward)

    def name(self):
        return "AddmmBackward0" if self._next[0][1] != -1 else "MmBackward0"

    @staticmethod
    def forward(ctx, b, x, m):
        ctx.save_for_backward(x if ctx.needs_input_grad[2] else None,
                              m if ctx.needs_input_grad[1] else None)
        xd = x._data
        if xd.dtype != m._data.dtype or (b is not None and b._data.dtype != xd.dtype):
            _same_dtype(x, m, b)  # here, after autocast's cast of the arguments, as torch
        if b is not None and xd.dtype.itemsize == 2 and type(xd) is _ndarray:
            # float16/bfloat16: the product and the bias summed in float32, rounded once, as torch's addmm
            f32 = np.float32
            return (_product(xd.astype(f32), m._data.astype(f32)) + b._data.astype(f32)).astype(xd.dtype)
        y = _product(xd, m._data)
        if b is not None:
            y += b._data
        return y

    @staticmethod
    def jvp(ctx, tb, tx, tm):
        """dY = db + dX M + X dM."""
        b, x, m = ctx._fw_args
        return fsum(tb, None if tx is None else Addmm.apply(None, tx, m),
                    None if tm is None else Addmm.apply(None, x, tm))

    @staticmethod
    def backward(ctx, g):
        x, m = ctx.saved_tensors
        need = ctx.needs_input_grad
        # dM is computed as (G^T X)^T: its transpose, the weight's gradient, is then contiguous
        if not _state.enabled:  # plain backward: the same formulas on arrays, no graph
            ga = g._data
            gb = Tensor._make(col_sums(ga)) if need[0] else None
            gx = Tensor._make(_mm(ga, m._data.T)) if need[1] else None
            gm = Tensor._make(_mm(ga.T, x._data).T) if need[2] else None
            return gb, gx, gm
        gb = g.sum(0) if need[0] else None  # db = sum_i G_i
        gx = g @ m.t() if need[1] else None  # dX = G M^T
        gm = (g.t() @ x).t() if need[2] else None  # dM = X^T G
        return gb, gx, gm


def _product(x, m):
    """x @ m, where m is usually W^T, a transposed view of the weight. A small float product in
    that shape is computed with x copied to column-major order first: OpenBLAS's small-matrix
    kernels (the SkylakeX ones, used on AVX-512 CPUs) leave the row-major x @ W^T shape to its
    general path once rows*out > 1200, which costs ~4 us more per call than the copy (x 32x128
    float32, W 64x128: 7.8 -> 5.4 us; the same kernel sums, results bitwise equal). Only up to
    2^18 multiply-adds, where OpenBLAS runs on one thread either way."""
    if type(x) is np.ndarray and x.ndim == m.ndim == 2:
        rows, inner = x.shape
        n = rows * m.shape[1]
        if n * inner <= _DOT_MAX and type(m) is _ndarray and x.dtype.char in "fd":
            return _dot(x, m)
        if 1200 < n and n * inner <= 262144 and x.dtype.char in "fd" and m.dtype == x.dtype \
                and x.flags.c_contiguous and m.flags.f_contiguous and not m.flags.c_contiguous:
            return np.asfortranarray(x) @ m
    return _backend.matmul(x, m)


# multiply-adds up to which np.dot multiplies two matrices faster than @ (callgrind, float32 x @ W^T,
# G @ W, (G^T X)^T: 32x16x16 34.6K against 44.0K machine instructions; 32x32x32 85.4K against 83.2K,
# where OpenBLAS's path for dot's arguments is the slower one)
_DOT_MAX = 8192


def _mm(a, b):
    """``a @ b`` for matrices: a small product of NumPy float32/float64 arrays through np.dot, the
    same BLAS routine as the matmul ufunc's (bitwise equal in every layout tested) without its dispatch (~3K
    machine instructions per call, more than a (32,16)x(16,16) product costs)."""
    if type(a) is _ndarray and type(b) is _ndarray and a.dtype.char in "fd":
        rows, inner = a.shape
        if rows * inner * b.shape[1] <= _DOT_MAX:
            return _dot(a, b)
    return a @ b


# (a bound method kept: Op.apply looks the classmethod up and binds it on every call, ~460 machine instructions)
_addmm_apply = Addmm.apply


def _linear(x, w, b):
    """Y = X W^T + b decomposed as torch's at::linear does, so that the graph has torch's nodes:
    addmm(b, X, W.t()) for a matrix X; a contiguous X of other rank folded to a matrix first
    (views before and after); else the product of the folded X and b added after it."""
    wt = w.t()
    if x.ndim == 2:
        return _addmm_apply(b, x, wt)
    if x.ndim == 1 and b is None:
        return Matmul.apply(x, wt)
    lead = tuple(x.shape[:-1])
    fold = b is None or x.is_contiguous()
    y = Addmm.apply(b if fold else None, x.reshape(math.prod(lead), x.shape[-1]), wt)
    if b is not None:
        return y.view(lead + (w.shape[0],)) if fold else UnsafeView.apply(y, lead + (w.shape[0],)) + b
    return UnsafeView.apply(y, lead + (w.shape[0],))


def _same_dtype(x, w, b):
    """torch's error for operands of different dtypes: linear is mm (no bias) or addmm (bias)."""
    if b is None:
        check_same_dtype("mm", x, w, names=("input", "weight"))
    else:
        check_same_dtype("addmm", b, x, w, names=("bias", "input", "weight"))


def _check(input, weight, bias):
    for name, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linear(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input.ndim == 0:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D and "
                           f"{weight.ndim}D")
    if weight.ndim == 2 and input.shape[-1] != weight.shape[1]:
        rows = input.numel() // max(input.shape[-1], 1) if input.ndim > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
            f"{weight.shape[1]}x{weight.shape[0]}) (linear: input {list(input.shape)}, weight "
            f"{list(weight.shape)}; the input's last dim must equal in_features)"
        )
    if bias is not None:
        if weight.ndim == 2 and bias.ndim == 1 and bias.shape[0] not in (1, weight.shape[0]):
            raise RuntimeError(
                f"linear: bias of shape {list(bias.shape)} does not match out_features "
                f"{weight.shape[0]} of weight {list(weight.shape)}"
            )
        if bias.device != input.device or weight.device != input.device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices "
                f"(input on {input.device}, weight on {weight.device}, bias on {bias.device})"
            )


@autocast_op("lower")
def linear(input, weight, bias=None):
    """Y = input @ weight^T + bias: input (*, in_features), weight (out_features,
    in_features), bias (out_features) or None; result (*, out_features)."""
    try:
        x, w = input._data, weight._data
        ok = w.ndim == 2 and x.ndim >= 1 and x.shape[-1] == w.shape[1] and type(x) is type(w)
        if ok and bias is not None:
            b = bias._data
            ok = b.shape == (w.shape[0],) and type(b) is type(x)
    except AttributeError:
        ok = False
    if not ok:  # the slow path: a precise error, or a weight/bias of unusual rank
        _check(input, weight, bias)
        if weight.ndim != 2 or (bias is not None and tuple(bias.shape) != (weight.shape[0],)):  # (bias [1] broadcasts)
            if weight.ndim > 2:
                raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {weight.ndim}D "
                                   f"(linear: weight of shape {list(weight.shape)} must be (out_features, "
                                   "in_features))")
            if bias is not None:  # (the product checks input against weight)
                _same_dtype(input, weight, bias)
            out = input @ weight.t() if weight.ndim == 2 else input @ weight
            return out + bias if bias is not None else out
    return _linear(input, weight, bias)


@autocast_op({"cuda": "promote"})
def bilinear(input1, input2, weight, bias=None):
    """y_k = x1^T A_k x2 + b_k: input1 (*, in1), input2 (*, in2), weight (out, in1, in2)."""
    operands = (input1, input2, weight) + ((bias,) if bias is not None else ())
    check_same_dtype("bilinear", *operands, names=("input1", "input2", "weight", "bias"))
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(
            f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
            f"{list(input2.shape[:-1])}"
        )
    if weight.ndim != 3 or weight.shape[1] != input1.shape[-1] or weight.shape[2] != input2.shape[-1]:
        raise RuntimeError(
            f"bilinear(): weight of shape {list(weight.shape)} does not match input1 "
            f"{list(input1.shape)} and input2 {list(input2.shape)} (expected (out, "
            f"{input1.shape[-1]}, {input2.shape[-1]}))"
        )
    out, in1, in2 = weight.shape
    # (x2 @ W_(out*in1, in2)^T) -> (*, out, in1), then contract in1 with x1
    t = (input2 @ weight.reshape(out * in1, in2).t()).reshape(*input2.shape[:-1], out, in1)
    y = (t * input1.unsqueeze(-2)).sum(-1)
    return y + bias if bias is not None else y

