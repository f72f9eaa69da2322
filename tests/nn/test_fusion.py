"""nn.utils.fuse_conv_bn_eval / fuse_linear_bn_eval and their *_weights: the fused layer computes
what the unfused eval-mode pair computes, its parameters equal torch's fusion of the same
parameters, and torch's asserts, dtypes and requires_grad."""

import numpy as np
import pytest
from helpers import rand, requires_torch, torch

import retrograd
from retrograd import nn
from retrograd.nn.utils import fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval, fuse_linear_bn_weights

# (conv, batch norm, transpose, input shape)
CASES = [
    ("Conv1d", "BatchNorm1d", False, (2, 3, 7)),
    ("Conv2d", "BatchNorm2d", False, (2, 3, 6, 5)),
    ("Conv3d", "BatchNorm3d", False, (1, 3, 4, 4, 3)),
    ("ConvTranspose2d", "BatchNorm2d", True, (2, 3, 4, 5)),
]


def _randomize_bn(bn, seed, affine=True):
    n = bn.num_features
    bn.running_mean.copy_(retrograd.tensor(rand(n, seed=seed)))
    bn.running_var.copy_(retrograd.tensor(rand(n, low=0.5, high=2.0, seed=seed + 1)))
    if affine:
        with retrograd.no_grad():
            bn.weight.copy_(retrograd.tensor(rand(n, low=0.5, high=1.5, seed=seed + 2)))
            bn.bias.copy_(retrograd.tensor(rand(n, seed=seed + 3)))
    return bn.eval()


@pytest.mark.parametrize("conv_name,bn_name,transpose,shape", CASES)
@pytest.mark.parametrize("bias,affine", [(True, True), (False, False)])
def test_fused_conv_computes_the_unfused_eval_pair(conv_name, bn_name, transpose, shape, bias, affine):
    conv = getattr(nn, conv_name)(3, 4, 3, bias=bias, padding=1).double().eval()
    bn = _randomize_bn(getattr(nn, bn_name)(4, affine=affine).double(), seed=1, affine=affine)
    fused = fuse_conv_bn_eval(conv, bn, transpose=transpose)
    assert type(fused) is type(conv) and fused is not conv and not fused.training
    assert isinstance(fused.weight, nn.Parameter) and isinstance(fused.bias, nn.Parameter)
    assert conv.bias is None if not bias else conv.bias is not fused.bias  # conv itself is unchanged
    x = retrograd.tensor(rand(*shape, seed=5))
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_fused_linear_computes_the_unfused_eval_pair():
    linear = nn.Linear(3, 5).double().eval()
    x = retrograd.tensor(rand(4, 3, seed=2))
    for n, seed in ((5, 1), (1, 7)):  # a batch norm of one feature scales every output alike
        bn = _randomize_bn(nn.BatchNorm1d(n).double(), seed=seed)
        fused = fuse_linear_bn_eval(linear, bn)
        expected = bn(linear(x)) if n == 5 else bn(linear(x).unsqueeze(1)).squeeze(1)
        np.testing.assert_allclose(fused(x).detach().numpy(), expected.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_training_mode_and_missing_running_stats_raise_torchs_assertions():
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        fuse_conv_bn_eval(nn.Conv2d(3, 4, 1).eval(), nn.BatchNorm2d(4))
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        fuse_linear_bn_eval(nn.Linear(3, 4), nn.BatchNorm1d(4).eval())
    with pytest.raises(AssertionError, match="running_mean and bn.running_var must not be None"):
        fuse_conv_bn_eval(nn.Conv2d(3, 4, 1).eval(), nn.BatchNorm2d(4, track_running_stats=False).eval())
    with pytest.raises(AssertionError, match="linear.out_features=5 and bn.num_features=4"):
        fuse_linear_bn_eval(nn.Linear(3, 5).eval(), nn.BatchNorm1d(4).eval())
    with pytest.raises(TypeError, match="bn_w, bn_b"):  # torch: unsupported operand for None * Tensor
        fuse_linear_bn_weights(retrograd.ones(4, 3), None, retrograd.zeros(4), retrograd.ones(4), 1e-5, None, None)


def test_dtypes_and_requires_grad_follow_the_layer_as_torch():
    w = retrograd.randn(4, 3, 1, 1, requires_grad=True)
    fw, fb = fuse_conv_bn_weights(w, None, retrograd.zeros(4, dtype=retrograd.float64), retrograd.ones(4), 1e-5,
                                  None, None)
    assert (fw.dtype, fb.dtype, fw.requires_grad, fb.requires_grad) == (retrograd.float32, retrograd.float32, True,
                                                                        False)
    assert fw.is_leaf and fw.grad_fn is None
    b = retrograd.zeros(4, dtype=retrograd.float64, requires_grad=True)
    fw, fb = fuse_linear_bn_weights(w.detach().reshape(4, 3), b, retrograd.zeros(4), retrograd.ones(4), 1e-5,
                                    retrograd.ones(4), retrograd.zeros(4))
    assert (fw.dtype, fb.dtype, fw.requires_grad, fb.requires_grad) == (retrograd.float32, retrograd.float64, False,
                                                                        True)


@requires_torch
@pytest.mark.parametrize("conv_name,bn_name,transpose,shape", CASES)
def test_fused_conv_parameters_equal_torchs(conv_name, bn_name, transpose, shape):
    tconv = getattr(torch.nn, conv_name)(3, 4, 3).eval()
    tbn = getattr(torch.nn, bn_name)(4).eval()
    conv, bn = getattr(nn, conv_name)(3, 4, 3).eval(), getattr(nn, bn_name)(4)
    _randomize_bn(bn, seed=3)
    conv.load_state_dict({k: v.numpy() for k, v in tconv.state_dict().items()})
    tbn.load_state_dict({k: torch.tensor(v.numpy()) for k, v in bn.state_dict().items()})
    ours, theirs = fuse_conv_bn_eval(conv, bn, transpose), torch.nn.utils.fuse_conv_bn_eval(tconv, tbn, transpose)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(ours, name).detach().numpy(), getattr(theirs, name).detach().numpy(),
                                   rtol=1e-6, atol=1e-7)
    x = rand(*shape, seed=4, dtype=np.float32)
    np.testing.assert_allclose(ours(retrograd.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)


@requires_torch
def test_fused_linear_parameters_equal_torchs():
    tlin, tbn = torch.nn.Linear(3, 5).eval(), torch.nn.BatchNorm1d(5).eval()
    lin, bn = nn.Linear(3, 5).eval(), _randomize_bn(nn.BatchNorm1d(5), seed=6)
    lin.load_state_dict({k: v.numpy() for k, v in tlin.state_dict().items()})
    tbn.load_state_dict({k: torch.tensor(v.numpy()) for k, v in bn.state_dict().items()})
    ours, theirs = fuse_linear_bn_eval(lin, bn), torch.nn.utils.fuse_linear_bn_eval(tlin, tbn)
    for name in ("weight", "bias"):
        np.testing.assert_allclose(getattr(ours, name).detach().numpy(), getattr(theirs, name).detach().numpy(),
                                   rtol=1e-6, atol=1e-7)
