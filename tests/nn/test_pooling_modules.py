"""Pooling modules (and Upsample, PixelShuffle, Fold/Unfold) against torch: outputs, gradients, reprs."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from tests.helpers import rand, reference, torch


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


@pytest.mark.parametrize("name,args,kw,shape", MODULES)
def test_module_like_torch(name, args, kw, shape):
    """Outputs (each of a tuple), dtype, input gradient from a seeded upstream gradient, repr."""
    x = distinct(*shape) if "Max" in name else rand(*shape, low=0.1) if "LP" in name else rand(*shape)

    def run(lib):
        m = getattr(nn if lib is retrograd else lib.nn, name)(*args, **kw)
        xt = lib.tensor(x, requires_grad=True)
        outs = m(xt)
        outs = list(outs) if isinstance(outs, tuple) else [outs]
        g = np.random.default_rng(7).standard_normal(tuple(outs[0].shape))
        (outs[0] * lib.tensor(g, dtype=outs[0].dtype)).sum().backward()
        return repr(m), str(outs[0].dtype), [o.detach().numpy() for o in outs], xt.grad.numpy()

    (r_repr, r_dtype, r_outs, r_grad), (t_repr, t_dtype, t_outs, t_grad) = run(retrograd), reference(
        lambda: run(torch), inputs=[x])
    assert r_repr == t_repr and r_dtype == t_dtype and len(r_outs) == len(t_outs)
    for r, t in zip(r_outs, t_outs):
        assert r.shape == t.shape
        np.testing.assert_allclose(r, t, atol=1e-6, rtol=1e-5)
    np.testing.assert_allclose(r_grad, t_grad, atol=1e-5, rtol=1e-4)


def test_max_unpool2d_like_torch():
    x = distinct(1, 2, 4, 4)

    def run(t):
        xs = t.tensor(x, requires_grad=True)
        y, i = t.nn.MaxPool2d(2, return_indices=True)(xs)
        z = t.nn.MaxUnpool2d(2)(y, i)
        (z * z).sum().backward()
        return z.detach().numpy(), xs.grad.numpy(), repr(t.nn.MaxUnpool2d(2))

    res = [run(retrograd), reference(lambda: run(torch), inputs=[x])]
    np.testing.assert_allclose(res[0][0], res[1][0])
    np.testing.assert_allclose(res[0][1], res[1][1])
    assert res[0][2] == res[1][2]


def test_no_parameters():
    assert list(nn.MaxPool2d(2).parameters()) == [] and nn.AvgPool2d(2).state_dict() == {}
