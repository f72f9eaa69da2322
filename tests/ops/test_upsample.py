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
    ((1, 2, 9, 11), dict(size=(4, 5), mode="bilinear", antialias=True)),
    ((1, 2, 9, 11), dict(size=(4, 13), mode="bicubic", antialias=True)),
    ((1, 2, 10, 7), dict(size=(3, 4), mode="lanczos", antialias=True)),
    ((1, 2, 9, 11), dict(scale_factor=0.4, mode="bicubic", antialias=True, align_corners=True)),
    ((1, 2, 5, 6), dict(scale_factor=2.5, mode="bilinear", antialias=True)),
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


def test_antialiased_uint8_images_equal_torchs_bit_for_bit():
    """uint8 is resampled in fixed point (width pass, then height pass), as torch and Pillow."""
    from tests.reference.store import reference

    rng = np.random.default_rng(5)
    for mode, size in (("bilinear", (7, 9)), ("bicubic", (13, 4)), ("lanczos", (6, 6)), ("bilinear", (20, 3))):
        img = rng.integers(0, 256, (2, 3, 17, 12)).astype(np.uint8)

        def torchs():
            import torch
            return torch.nn.functional.interpolate(torch.from_numpy(img), size=size, mode=mode,
                                                   antialias=True).numpy()

        got = U.interpolate(retrograd.from_numpy(img), size=size, mode=mode, antialias=True)
        assert got.dtype == retrograd.uint8
        np.testing.assert_array_equal(got.numpy(), reference(torchs, inputs=[img]))


def test_antialias_is_a_normalized_filter_stretched_by_the_downscale_factor():
    """Downscaling by 3 with the triangle filter: output i weighs input j by
    triangle((j + 1/2 - c_i)/3), c_i = 3 (i + 1/2): 1, 2, 3, 2, 1 (ninths) around j = 3i + 1."""
    x = retrograd.tensor(np.random.default_rng(0).normal(size=(1, 1, 1, 12)))
    y = U.interpolate(x, size=(1, 4), mode="bilinear", antialias=True).numpy().ravel()
    v = x.numpy().ravel()
    for i in (1, 2):
        assert abs(y[i] - np.dot([1, 2, 3, 2, 1], v[3 * i - 1:3 * i + 4]) / 9) < 1e-12
    assert abs(y[0] - np.dot([2, 3, 2, 1], v[:4]) / 8) < 1e-12  # cut at the border, renormalized


def test_antialias_errors_are_torchs():
    x = retrograd.randn(1, 1, 8, 8)
    with pytest.raises(ValueError, match="Anti-alias option is restricted to bilinear, bicubic, and lanczos"):
        U.interpolate(x, size=4, mode="nearest", antialias=True)
    with pytest.raises(ValueError, match="requires a 4-D tensor"):
        U.interpolate(retrograd.randn(1, 1, 8), size=4, mode="bilinear", antialias=True)
    with pytest.raises(ValueError, match="Lanczos mode requires antialias=True"):
        U.interpolate(x, size=4, mode="lanczos")
    with pytest.raises(ValueError, match="Lanczos mode does not support align_corners=True"):
        U.interpolate(x, size=4, mode="lanczos", antialias=True, align_corners=True)
    with pytest.raises(NotImplementedError, match="lanczos"):
        U.interpolate(retrograd.randn(1, 1, 8, 8, 8), size=4, mode="lanczos")
    with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
        U.interpolate(x.half(), size=4, mode="bilinear", antialias=True)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        U.interpolate(x.long(), size=4, mode="bicubic", antialias=True)


def test_antialias_to_width_one_is_the_separable_filter():
    """torch 2.13's antialiased forward is wrong when it resamples the height of a width-1
    image (its backward is right); retrograd computes the resampling its backward differentiates."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 1, 12, 21))
    both = U.interpolate(retrograd.tensor(x), size=(17, 1), mode="bilinear", antialias=True).numpy()
    width_first = U.interpolate(U.interpolate(retrograd.tensor(x), size=(12, 1), mode="bilinear", antialias=True),
                                size=(17, 1), mode="bilinear", antialias=True).numpy()
    height_first = U.interpolate(U.interpolate(retrograd.tensor(x), size=(17, 21), mode="bilinear", antialias=True),
                                 size=(17, 1), mode="bilinear", antialias=True).numpy()
    np.testing.assert_allclose(both, width_first, atol=1e-12)
    np.testing.assert_allclose(both, height_first, atol=1e-12)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "trilinear"])
def test_size_and_scale_factor_are_checked_before_the_input_rank_as_torch(mode):
    """torch's interpolate checks size/scale_factor first: a 3-D input with both, neither, or a
    size of another rank gives its ValueError (retrograd raised the rank's NotImplementedError)."""
    x = retrograd.arange(8.0).reshape(1, 1, 8)
    for kwargs, message in ((dict(size=4, scale_factor=2), "only one of size or scale_factor should be defined"),
                            (dict(), "either size or scale_factor should be defined"),
                            (dict(size=(4, 4)), "Input and output must have the same number of spatial dimensions")):
        with pytest.raises(ValueError, match=message):
            retrograd.nn.functional.interpolate(x, mode=mode, **kwargs)
    with pytest.raises(NotImplementedError):
        retrograd.nn.functional.interpolate(x, mode=mode, size=4)


@pytest.mark.parametrize("name", ["upsample", "upsample_nearest", "upsample_bilinear"])
def test_the_deprecated_upsample_functions_warn_as_torchs(name):
    x = retrograd.ones(1, 1, 2, 2)
    with pytest.warns(UserWarning, match=f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate`"):
        y = getattr(retrograd.nn.functional, name)(x, scale_factor=2)
    assert y.shape == (1, 1, 4, 4)
