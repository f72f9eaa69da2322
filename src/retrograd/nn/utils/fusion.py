"""Folding an eval-mode batch norm into the convolution or linear layer before it, as
``torch.nn.utils.fusion``.

In eval mode a batch norm is the affine map ``y = (x - mean) * s + beta`` per channel, with
``s = gamma / sqrt(var + eps)``. Applied to ``x = W u + b`` it is the layer ``W' u + b'`` with
``W' = W * s`` (each output channel's row scaled) and ``b' = (b - mean) * s + beta``."""

import copy

from ...autograd.grad_mode import no_grad
from ...creation import ones_like, zeros_like
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]
EXPORTS = __all__


def _check_eval(*modules):
    if any(m.training for m in modules):
        raise AssertionError("Fusion only for eval!")


def _check_running_stats(bn):
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")


def _fused(w, b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, channel_shape):
    """``(w * s, (b - mean) * s + beta)`` with ``s`` reshaped to ``channel_shape`` for ``w``, as
    Parameters of ``w``'s dtype (the bias: ``b``'s, or ``w``'s without one)."""
    with no_grad():
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        weight = (w * scale.reshape(channel_shape)).to(w.dtype)
        bias_in = zeros_like(bn_rm) if b is None else b
        bias = ((bias_in - bn_rm) * scale + bn_b).to(w.dtype if b is None else b.dtype)
    return Parameter(weight, w.requires_grad), Parameter(bias, b is not None and b.requires_grad)


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The weight and bias of the convolution that computes ``bn(conv(x))`` (eval mode).
    ``bn_w``/``bn_b`` None (``affine=False``) mean 1 and 0; ``transpose=True`` for a
    ConvTranspose weight, whose output channels are its dimension 1."""
    if bn_w is None:
        bn_w = ones_like(bn_rm)
    if bn_b is None:
        bn_b = zeros_like(bn_rm)
    rest = [1] * (conv_w.ndim - 2)
    channel_shape = [1, -1] + rest if transpose else [-1, 1] + rest
    return _fused(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, channel_shape)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` (eval mode) computing ``bn(conv(x))`` with ``bn``'s running statistics."""
    _check_eval(conv, bn)
    _check_running_stats(bn)
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The weight and bias of the linear layer that computes ``bn(linear(x))`` (eval mode)."""
    if bn_w is None or bn_b is None:
        raise TypeError(
            "fuse_linear_bn_weights needs the batch norm's weight and bias (bn_w, bn_b): got None, which a "
            "BatchNorm with affine=False has; pass ones and zeros of the running mean's shape instead")
    return _fused(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, [-1, 1])


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` (eval mode) computing ``bn(linear(x))`` with ``bn``'s running
    statistics; ``bn`` has ``linear.out_features`` features, or 1 (shared by all)."""
    _check_eval(linear, bn)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
            f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    _check_running_stats(bn)
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                      bn.eps, bn.weight, bn.bias)
    return fused
