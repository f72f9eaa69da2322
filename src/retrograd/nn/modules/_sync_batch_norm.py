"""SyncBatchNorm's autograd function: batch norm whose statistics, and the gradient statistics
of its backward, are summed over the ranks of a process group, so each rank's output and input
gradient equal those of BatchNorm on the ranks' batches put together.

Forward: all_reduce(per-channel sum, count) gives the mean; all_reduce(per-channel sum of
squared deviations) the biased variance (two passes, no cancellation). Backward (torch's
batch_norm_backward_reduce / _elemt): all_reduce(sum dy, sum dy*(x - mean)) over the ranks;
then dx = (dy - sum_dy/N - (x - mean) * invstd^2 * sum_dy_xmu/N) * invstd * weight. The weight
and bias gradients stay local: DistributedDataParallel averages them as it does every gradient.
"""

from ..._backend import array_module
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad


def _sum_over_channels(arr):
    """Per-channel sums of an (N, C, *) array: shape (C,)."""
    return arr.sum(axis=tuple(i for i in range(arr.ndim) if i != 1))


def _per_channel(vec, ndim):
    """A (C,) vector shaped to broadcast against (N, C, *)."""
    return vec.reshape((1, -1) + (1,) * (ndim - 2))


def _compute(arr):
    """The array to compute statistics in: float16/bfloat16 in float32 (torch's accumulate type)."""
    return arr.astype("float32") if arr.dtype.itemsize < 4 else arr


def _zeros_like_stats(arr, n):
    """A tensor of n zeros in arr's dtype and array module, to all-reduce statistics in."""
    from ...tensor import Tensor

    return Tensor._make(array_module(arr).zeros(n, dtype=arr.dtype))


def _result(arr, dtype):
    from ...tensor import Tensor

    return Tensor._make(arr.astype(dtype, copy=False))


class SyncBatchNormFunction(Function):
    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum, process_group, world_size):
        from ... import distributed as dist

        x = _compute(input._data)
        c = x.shape[1]
        totals = _zeros_like_stats(x, c + 1)  # per-channel sums, then the count
        totals._data[:-1] = _sum_over_channels(x)
        totals._data[-1] = x.size // c
        dist.all_reduce(totals, group=process_group)
        n = float(totals._data[-1])
        mean = totals._data[:-1] / n
        xmu = x - _per_channel(mean, x.ndim)
        sq = _zeros_like_stats(x, c)
        sq._data[...] = _sum_over_channels(xmu * xmu)
        dist.all_reduce(sq, group=process_group)
        var = sq._data / n
        invstd = 1.0 / (var + eps) ** 0.5
        out = xmu * _per_channel(invstd, x.ndim)
        if weight is not None:
            out = out * _per_channel(weight._data, x.ndim)
        if bias is not None:
            out = out + _per_channel(bias._data, x.ndim)
        with no_grad():
            if running_mean is not None:
                running_mean._data *= 1 - momentum
                running_mean._data += momentum * mean
                running_mean._vc[0] += 1
            if running_var is not None:
                running_var._data *= 1 - momentum
                running_var._data += momentum * var * (n / (n - 1) if n > 1 else float("inf"))
                running_var._vc[0] += 1
        ctx.save_for_backward(input, weight)
        ctx.xmu, ctx.invstd, ctx.n, ctx.process_group = xmu, invstd, n, process_group
        return _result(out, input._data.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        from ... import distributed as dist

        input, weight = ctx.saved_tensors
        dtype = grad_output._data.dtype
        dy = _compute(grad_output._data)
        xmu, invstd, n = ctx.xmu, ctx.invstd, ctx.n
        nd, c = dy.ndim, dy.shape[1]
        sum_dy = _sum_over_channels(dy)
        sum_dy_xmu = _sum_over_channels(dy * xmu)
        grad_weight = grad_bias = grad_input = None
        if weight is not None and ctx.needs_input_grad[1]:
            grad_weight = _result(sum_dy_xmu * invstd, weight._data.dtype)
        if ctx.needs_input_grad[2]:
            grad_bias = _result(sum_dy, dtype)
        if ctx.needs_input_grad[0]:
            combined = _zeros_like_stats(dy, 2 * c)
            combined._data[:c] = sum_dy
            combined._data[c:] = sum_dy_xmu
            dist.all_reduce(combined, group=ctx.process_group)
            mean_dy = combined._data[:c] / n
            mean_dy_xmu = combined._data[c:] / n
            scale = invstd if weight is None else invstd * weight._data
            gi = (dy - _per_channel(mean_dy, nd) - xmu * _per_channel(invstd * invstd * mean_dy_xmu, nd)) \
                * _per_channel(scale, nd)
            grad_input = _result(gi, input._data.dtype)
        return grad_input, grad_weight, grad_bias, None, None, None, None, None, None
