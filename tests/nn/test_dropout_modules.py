"""Dropout modules: training vs eval, reproducibility with manual_seed, reprs."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from tests.helpers import requires_torch, torch


@pytest.mark.parametrize("name", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                  "FeatureAlphaDropout"])
def test_train_eval(name):
    m = getattr(nn, name)(0.4)
    x = retrograd.randn(4, 3, 2, 2, 2) if name in ("Dropout3d", "FeatureAlphaDropout") else retrograd.randn(4, 3, 5)
    if name == "Dropout2d":
        x = retrograd.randn(4, 3, 2, 2)
    retrograd.manual_seed(5)
    a = m(x).numpy()
    retrograd.manual_seed(5)
    b = m(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, x.numpy())
    m.eval()
    assert m(x) is x


def test_dropout_scale_and_grad():
    m = nn.Dropout(0.25)
    x = retrograd.ones(100, 100, requires_grad=True)
    y = m(x)
    assert set(np.unique(y.detach().numpy())) == {0.0, np.float32(1 / 0.75)}
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


@requires_torch
def test_repr_and_errors():
    for name in ["Dropout", "Dropout2d", "AlphaDropout"]:
        assert repr(getattr(nn, name)(0.3, inplace=True)) == repr(getattr(torch.nn, name)(0.3, inplace=True))
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(-0.1)
