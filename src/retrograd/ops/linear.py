"""The affine layer's ops: ``linear`` (Y = X W^T + b) and ``bilinear``."""

import math

from ..amp.autocast_mode import autocast_op
from .. import _backend
from ..autograd.function import Function
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from ._rows import col_sums
from .linalg import check_same_dtype

__all__ = []  # nn-only: exported through retrograd.nn.functional
FUNCTIONAL = ["linear", "bilinear"]


def _matrix(a):
    """Array or tensor ``a`` as a matrix: its last dim the columns, all leading dims one row dim
    (``reshape(-1, n)`` cannot say that when n is 0)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


class Linear(Function):
    """Y = X W^T + b;  dX = G W,  dW = G^T X,  db = sum of G over the batch dims.

    X may have any number of leading (batch) dims; they are flattened into one for the
    two matrix products of the backward."""

    @staticmethod
    def forward(ctx, x, w, b=None):
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              w if ctx.needs_input_grad[0] else None)
        xd = x._data
        if xd.dtype != w._data.dtype or (b is not None and b._data.dtype != xd.dtype):
            _same_dtype(x, w, b)  # here, after autocast's cast of the arguments, as torch
        if xd.ndim > 2 and xd.flags.c_contiguous:  # one GEMM over all rows, not one per batch entry
            y = _backend.matmul(_matrix(xd), w._data.T).reshape(xd.shape[:-1] + w._data.shape[:1])
        else:
            y = _backend.matmul(xd, w._data.T)
        if b is not None:
            y += b._data
        return y

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        need_b = len(need) > 2 and need[2]
        if not _state.enabled:  # plain backward: the same formulas on arrays, no graph
            ga = g._data
            g2 = _matrix(ga)
            gx = Tensor._make((g2 @ w._data).reshape(ga.shape[:-1] + w._data.shape[1:])) if need[0] else None
            gw = Tensor._make(g2.T @ _matrix(x._data)) if need[1] else None
            gb = Tensor._make(col_sums(g2)) if need_b else None
            return gx, gw, gb
        gx = gw = gb = None
        g2 = _matrix(g) if g.ndim != 2 else g
        if need[0]:
            gx = g @ w  # dX = G W
        if need[1]:
            x2 = _matrix(x) if x.ndim != 2 else x
            gw = g2.t() @ x2  # dW = G^T X
        if need_b:
            gb = g2.sum(0)  # db = sum_i G_i
        return gx, gw, gb


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
        if weight.ndim == 2 and bias.ndim == 1 and bias.shape[0] != weight.shape[0]:
            raise RuntimeError(
                f"linear: bias of shape {list(bias.shape)} does not match out_features "
                f"{weight.shape[0]} of weight {list(weight.shape)}"
            )
        if type(bias._data) is not type(input._data) or type(weight._data) is not type(input._data):
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
        if weight.ndim != 2 or (bias is not None and bias.ndim != 1):
            if weight.ndim > 2:
                raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {weight.ndim}D "
                                   f"(linear: weight of shape {list(weight.shape)} must be (out_features, "
                                   "in_features))")
            if bias is not None:  # (the product checks input against weight)
                _same_dtype(input, weight, bias)
            out = input @ weight.t() if weight.ndim == 2 else input @ weight
            return out + bias if bias is not None else out
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


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

