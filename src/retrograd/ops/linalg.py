"""Matrix multiplication: Y = A @ B, with the seed's backward dA = G B^T, dB = A^T G."""

from ..autograd.function import Function
from ._broadcast import sum_to_shape
from ..tensor import Tensor
from ._method import tensor_method
from .elementwise import operands

__all__ = ["matmul"]


def _matmul_error(a_shape, b_shape):
    if len(a_shape) == 0 or len(b_shape) == 0:
        return RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {len(a_shape)}D "
            f"and {len(b_shape)}D"
        )
    fmt = "x".join
    if len(a_shape) <= 2 and len(b_shape) <= 2:
        a2 = a_shape if len(a_shape) == 2 else (1,) + tuple(a_shape)
        b2 = b_shape if len(b_shape) == 2 else tuple(b_shape) + (1,)
        return RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({fmt(map(str, a2))} and "
            f"{fmt(map(str, b2))})"
        )
    return RuntimeError(
        f"Expected size for first two dimensions of batch2 tensor to match: matmul of shapes "
        f"{list(a_shape)} and {list(b_shape)} (inner dimensions {a_shape[-1]} and "
        f"{b_shape[-2] if len(b_shape) > 1 else b_shape[0]} differ, or batch dims do not broadcast)"
    )


class Matmul(Function):
    """Y = A @ B (1-D operands are treated as a row / a column, batch dims broadcast);
    dA = G @ B^T,  dB = A^T @ G, each summed back over broadcast batch dims."""

    @staticmethod
    def forward(ctx, a, b):
        x, y = operands(a, b)
        if x.ndim == 0 or y.ndim == 0:
            raise _matmul_error(x.shape, y.shape)
        ctx.save_for_backward(a, b)
        try:
            return x @ y
        except ValueError:
            raise _matmul_error(x.shape, y.shape) from None

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        if a.ndim == 1 and b.ndim == 1:  # dot product
            return (g * b if ctx.needs_input_grad[0] else None,
                    g * a if ctx.needs_input_grad[1] else None)
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2)
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = sum_to_shape(g2 @ b2.mT, a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = sum_to_shape(a2.mT @ g2, b2.shape).reshape(b.shape)
        return ga, gb


@tensor_method("matmul", "__matmul__")
def matmul(input, other, *, out=None):
    """Matrix product with torch's rules for 1-D and batched operands."""
    return Matmul.apply(input, other)




def _rmatmul(self, other):
    return Matmul.apply(other, self)


Tensor.__rmatmul__ = _rmatmul
