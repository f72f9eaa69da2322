"""hann_window, hamming_window, blackman_window, bartlett_window, kaiser_window against torch."""

import numpy as np
import pytest

import retrograd
from tests.reference.store import reference

WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


def _torchs(name, n, **kwargs):
    def compute():
        import torch
        return getattr(torch, name)(n, **kwargs).numpy()
    return reference(compute, inputs=[np.array([n])])


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("n,periodic", [(0, True), (1, True), (2, False), (7, True), (8, False), (33, True)])
def test_window_equals_torchs(name, n, periodic):
    got = getattr(retrograd, name)(n, periodic, dtype=retrograd.float64)
    assert got.dtype == retrograd.float64 and tuple(got.shape) == (n,)
    np.testing.assert_allclose(got.numpy(), _torchs(name, n, periodic=periodic), atol=1e-6)  # torch's float32


def test_window_parameters_dtypes_and_errors():
    np.testing.assert_allclose(retrograd.hamming_window(5, False, 0.5, 0.5).numpy(),
                               retrograd.hann_window(5, False).numpy(), atol=1e-7)
    w = retrograd.kaiser_window(5, False, 3.0)
    np.testing.assert_allclose(w.numpy(), np.kaiser(5, 3.0), rtol=1e-6)
    assert w.dtype == retrograd.float32
    assert retrograd.hann_window(4, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="expects floating point dtypes"):
        retrograd.hann_window(4, dtype=retrograd.long)
    with pytest.raises(RuntimeError, match="requires non-negative window_length, got window_length=-1"):
        retrograd.bartlett_window(-1)
