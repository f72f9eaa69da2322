"""interpolate and pixel (un)shuffle against finite differences and torch."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import upsample as U
from tests.helpers import check_op


def F(t):
    return U if t is retrograd else t.nn.functional


CASES = [
    ((1, 2, 3, 4), dict(scale_factor=2)),
    ((1, 2, 3, 4), dict(size=(5, 3))),
    ((1, 2, 3, 4), dict(size=(5, 7), mode="nearest-exact")),
    ((1, 2, 3, 4), dict(scale_factor=1.7, mode="bilinear")),
    ((1, 2, 3, 4), dict(size=(5, 6), mode="bilinear", align_corners=True)),
    ((1, 2, 3, 4), dict(size=(2, 3), mode="bilinear")),
    ((1, 2, 3, 4), dict(size=(5, 6), mode="bicubic")),
    ((1, 2, 3, 4), dict(scale_factor=2, mode="bicubic", align_corners=True)),
    ((1, 2, 6, 5), dict(size=(4, 2), mode="area")),
    ((2, 2, 5), dict(scale_factor=2.5, mode="linear")),
    ((2, 2, 5), dict(size=3, mode="nearest")),
    ((1, 1, 2, 3, 2), dict(scale_factor=(2, 1, 1.5), mode="trilinear")),
    ((1, 2, 3, 4), dict(scale_factor=1.5, mode="bilinear", recompute_scale_factor=True)),
]


@pytest.mark.parametrize("shape,kw", CASES)
def test_interpolate(shape, kw):
    check_op(lambda t, x: F(t).interpolate(x, **kw), shape)


def test_pixel_shuffle_roundtrip():
    check_op(lambda t, x: F(t).pixel_shuffle(x, 2), (2, 8, 2, 3))
    check_op(lambda t, x: F(t).pixel_unshuffle(x, 2), (1, 2, 4, 6))
    x = retrograd.tensor(np.arange(2 * 18 * 2 * 2.0).reshape(2, 18, 2, 2))
    np.testing.assert_array_equal(U.pixel_unshuffle(U.pixel_shuffle(x, 3), 3).numpy(), x.numpy())


def test_interpolate_errors():
    x = retrograd.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        U.interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners"):
        U.interpolate(x, size=3, align_corners=True)
    with pytest.raises(NotImplementedError, match="needs 3D input"):
        U.interpolate(x, size=3, mode="linear")
    with pytest.raises(RuntimeError, match="divisible"):
        U.pixel_shuffle(retrograd.zeros(1, 3, 2, 2), 2)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample(mode, padding_mode, align_corners):
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    check_op(lambda t, x, g: F(t).grid_sample(x, g, **kw), (1, 2, 3, 4), (1, 2, 3, 2), low=-1.3, high=1.3,
             gradgradcheck=mode == "bilinear" and padding_mode == "zeros")


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(align_corners):
    check_op(lambda t, th: F(t).affine_grid(th, (2, 1, 3, 4), align_corners=align_corners), (2, 2, 3))
    check_op(lambda t, th: F(t).affine_grid(th, (1, 1, 2, 3, 2), align_corners=align_corners), (1, 3, 4))


def test_spatial_transformer_gradient_reaches_theta():
    theta = retrograd.tensor([[[0.9, 0.1, 0.0], [-0.1, 0.8, 0.1]]], requires_grad=True)
    x = retrograd.tensor(np.arange(30.0).reshape(1, 1, 5, 6))
    grid = U.affine_grid(theta, (1, 1, 4, 4), align_corners=False)
    U.grid_sample(x, grid, align_corners=False).sum().backward()
    assert theta.grad is not None and np.abs(theta.grad.numpy()).sum() > 0
