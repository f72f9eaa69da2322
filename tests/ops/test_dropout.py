"""Dropout ops: scaling, masks, reproducibility with manual_seed, gradients."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import dropout as D


def test_dropout_scaling_and_grad():
    retrograd.manual_seed(0)
    x = retrograd.ones(200, 50, requires_grad=True)
    y = D.dropout(x, 0.3)
    vals = np.unique(y.detach().numpy())
    np.testing.assert_allclose(vals, [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((y.detach().numpy() == 0).mean() - 0.3) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_dropout_reproducible_and_eval():
    x = retrograd.ones(10, 10)
    retrograd.manual_seed(3)
    a = D.dropout(x, 0.5).numpy()
    retrograd.manual_seed(3)
    b = D.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert D.dropout(x, 0.5, training=False) is x
    assert D.alpha_dropout(x, 0.5) is x
    assert not D.dropout(x, 1.0).numpy().any()


def test_dropout_dtype_inplace_and_errors():
    x = retrograd.ones(4, 4, dtype=retrograd.float32)
    assert D.dropout(x, 0.5).dtype == retrograd.float32
    y = D.dropout(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    with pytest.raises(ValueError, match="between 0 and 1"):
        D.dropout(x, 1.5)


@pytest.mark.parametrize("fn,shape,units", [(D.dropout1d, (8, 16, 5), 128), (D.dropout2d, (8, 16, 3, 3), 128),
                                            (D.dropout3d, (8, 16, 2, 2, 2), 128), (D.dropout2d, (16, 3, 3), 48),
                                            (D.dropout1d, (16, 5), 16)])
def test_feature_dropout_whole_channels(fn, shape, units):
    retrograd.manual_seed(1)
    y = fn(retrograd.ones(*shape), 0.5).numpy()
    for row in y.reshape(units, -1):
        assert len(np.unique(row)) == 1
    assert set(np.unique(y)) == {0.0, 2.0}


def test_dropout_double_backward():
    # y = sum((m * x / 0.6) ** 2) for the kept mask m: dy/dx = 2 m x / 0.36, and d(sum dy/dx)/dx = 2 m / 0.36
    retrograd.manual_seed(0)
    x = retrograd.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)  # no zero entry
    out = D.dropout(x, 0.4)
    kept = out.detach().numpy() != 0
    assert 0 < kept.sum() < kept.size
    (g,) = retrograd.autograd.grad((out ** 2).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 2 * kept * x.detach().numpy() / 0.36, rtol=1e-12)
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * kept / 0.36, rtol=1e-12)


def test_alpha_dropout_statistics():
    retrograd.manual_seed(0)
    x = retrograd.tensor(np.random.default_rng(0).standard_normal((400, 250)))
    y = D.alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    z = D.feature_alpha_dropout(retrograd.ones(8, 6, 5), 0.5, training=True).numpy()
    for row in z.reshape(48, 5):
        assert len(np.unique(row)) == 1


@pytest.mark.parametrize("dtype", [retrograd.float32, retrograd.float64, retrograd.float16])
@pytest.mark.parametrize("p", [0.1, 0.5, 1.0])
def test_scaled_keep_mask_has_the_bits_of_the_mask_times_the_scale(dtype, p):
    """dropout's factor comes from the comparison's bools times 1/(1 - p) in one pass (float32 and
    float64); retrograd.compile's replay draws the 0/1 mask and multiplies it by the scale: the
    same draw gives the same bits both ways, so compiled and eager dropout agree."""
    x = retrograd.ones(6, 7, dtype=dtype)
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    retrograd.manual_seed(4)
    fused = D._keep_mask(x, (6, 7), p, scale)
    retrograd.manual_seed(4)
    keep = D._keep_mask(x, (6, 7), p)
    plain = keep * keep.dtype.type(scale)
    assert fused.dtype == plain.dtype == x.numpy().dtype
    assert np.array_equal(fused.view(np.uint8), plain.view(np.uint8))
    assert set(np.unique(keep).tolist()) <= {0.0, 1.0}
