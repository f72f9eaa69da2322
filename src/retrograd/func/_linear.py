"""The linear layer of per-sample gradients: samples that share one weight, each with its own
gradient of it.

Under ``vmap(grad(loss))`` the parameters are expanded over the batch (a stride-0 view), so
that autograd gives each sample its own gradient. Multiplying by that expansion as a batch
of matrices would run one small product per sample; this op knows the samples' weights are
one array and multiplies all the rows at once, and only its gradient with respect to the
weight is per sample.
"""

from .. import _backend
from ..autograd.forward_ad import fsum
from ..autograd.function import Function
from ..autograd.grad_mode import _state
from ..ops.elementwise import _device_error
from ..ops.linalg import check_same_dtype
from ..tensor import Tensor


def shares_weight(m):
    """True when the batch of matrices ``m`` (batch dim first) is one matrix repeated: a plain
    tensor whose batch dim has stride 0."""
    return type(m) is Tensor and m.ndim == 3 and m.shape[0] > 1 and m._data.strides[0] == 0


class PerSampleMatmul(Function):
    """Y_b = X_b M for the samples b (X (B, N, k), M (B, k, n) one matrix repeated);
    dX_b = G_b M^T,  dM_b = X_b^T G_b (each sample's own)."""

    @staticmethod
    def forward(ctx, x, m):
        xd, md = x._data, m._data[0]
        if type(xd) is not type(md):
            raise _device_error(xd, md)
        if xd.dtype != md.dtype:  # products do not promote: torch's error for mm
            check_same_dtype("mm", x, m)
        ctx.save_for_backward(x, m)
        b, n, k = xd.shape
        return _backend.matmul(xd.reshape(b * n, k), md).reshape(b, n, md.shape[1])

    @staticmethod
    def jvp(ctx, tx, tm):
        """dY = dX M + X dM."""
        x, m = ctx._fw_args
        return fsum(None if tx is None else PerSampleMatmul.apply(tx, m), None if tm is None else x @ tm)

    @staticmethod
    def backward(ctx, g):
        x, m = ctx.saved_tensors
        need = ctx.needs_input_grad
        md = m._data[0]
        if not _state.enabled:  # plain backward: the same formulas on arrays, no graph
            gd, xd = g._data, x._data
            b, n, k = xd.shape
            gx = Tensor._make(_backend.matmul(gd.reshape(b * n, -1), md.T).reshape(b, n, k)) if need[0] else None
            gm = Tensor._make(_weight_grads(xd, gd, md)) if need[1] else None
            return gx, gm
        gx = g @ m.transpose(-1, -2) if need[0] else None  # dX_b = G_b M^T
        if need[1]:  # dM_b = X_b^T G_b, laid out as M is (see _weight_grads)
            gm = (g.transpose(-1, -2) @ x).transpose(-1, -2) if _transposed(md) else x.transpose(-1, -2) @ g
        else:
            gm = None
        return gx, gm


def _transposed(md):
    """True when the shared matrix is stored column by column (M = W^T of a linear layer)."""
    return md.ndim == 2 and md.strides[0] < md.strides[1]


def _weight_grads(xd, gd, md):
    """dM_b = X_b^T G_b for every sample b, as one array (B, k, n): the result writes
    B * k * n numbers (the per-sample gradients are B times the weight), so it is computed
    in one pass over the output, as a broadcast outer product when a sample has one row, and
    in M's own memory order: for M = W^T the array is (B, n, k) in memory, so that the
    weight's gradient W_b = M_b^T is contiguous (as torch.func returns it) and later
    reshapes of it need no copy."""
    n = xd.shape[1]
    if _transposed(md):  # computed as (G_b^T X_b)^T
        gmt = gd[:, 0, :, None] * xd[:, 0, None, :] if n == 1 else gd.transpose(0, 2, 1) @ xd
        return gmt.transpose(0, 2, 1)
    return xd[:, 0, :, None] * gd[:, 0, None, :] if n == 1 else xd.transpose(0, 2, 1) @ gd
