"""Pooling modules (and Upsample, PixelShuffle, Fold/Unfold) against torch: outputs, gradients, reprs."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from tests.helpers import rand, requires_torch, torch
from tests.nn._layer_helpers import compare_modules


def distinct(*shape):
    n = int(np.prod(shape))
    return (np.random.default_rng(0).permutation(n) * 0.1).reshape(shape)


MODULES = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1), (2, 3, 9)),
    ("MaxPool2d", (2,), dict(), (2, 3, 6, 6)),
    ("MaxPool2d", (3,), dict(stride=2, ceil_mode=True, return_indices=True), (2, 3, 6, 7)),
    ("MaxPool3d", (2,), dict(), (1, 2, 4, 4, 4)),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9)),
    ("AvgPool2d", (2,), dict(), (2, 3, 6, 6)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True, divisor_override=4), (2, 3, 7, 6)),
    ("AvgPool3d", (2,), dict(stride=1), (1, 2, 3, 3, 3)),
    ("AdaptiveAvgPool1d", (4,), dict(), (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), dict(), (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", (1,), dict(), (2, 3, 7, 5)),
    ("AdaptiveMaxPool1d", (4,), dict(return_indices=True), (2, 3, 9)),
    ("AdaptiveMaxPool2d", ((2, 3),), dict(), (2, 3, 7, 5)),
    ("LPPool2d", (2, 2), dict(), (1, 2, 4, 4)),
    ("LPPool3d", (2, 2), dict(), (1, 2, 4, 4, 2)),
    ("ChannelShuffle", (3,), dict(), (2, 6, 2, 2)),
    ("Upsample", (), dict(scale_factor=2, mode="nearest"), (1, 2, 3, 3)),
    ("Upsample", (), dict(size=(5, 4), mode="bilinear", align_corners=False), (1, 2, 3, 3)),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), (1, 2, 2, 3)),
    ("UpsamplingBilinear2d", (), dict(size=(4, 5)), (1, 2, 2, 3)),
    ("PixelShuffle", (2,), dict(), (1, 8, 2, 3)),
    ("PixelUnshuffle", (2,), dict(), (1, 2, 4, 6)),
    ("Unfold", ((2, 3),), dict(padding=1, stride=2), (1, 2, 5, 5)),
    ("Fold", ((4, 5), 2), dict(), (2, 8, 12)),
]


@requires_torch
@pytest.mark.parametrize("name,args,kw,shape", MODULES)
def test_module_like_torch(name, args, kw, shape):
    rg_m, th_m = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    x = distinct(*shape) if "Max" in name else rand(*shape, low=0.1) if "LP" in name else rand(*shape)
    compare_modules(rg_m, th_m, x)
    assert repr(rg_m) == repr(th_m)


@requires_torch
def test_max_unpool2d_like_torch():
    x = distinct(1, 2, 4, 4)
    res = []
    for t in (retrograd, torch):
        xs = t.tensor(x, requires_grad=True)
        y, i = t.nn.MaxPool2d(2, return_indices=True)(xs)
        z = t.nn.MaxUnpool2d(2)(y, i)
        (z * z).sum().backward()
        res.append((z.detach().numpy(), xs.grad.numpy(), repr(t.nn.MaxUnpool2d(2))))
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])
    assert res[0][2] == res[1][2]


def test_no_parameters():
    assert list(nn.MaxPool2d(2).parameters()) == [] and nn.AvgPool2d(2).state_dict() == {}
