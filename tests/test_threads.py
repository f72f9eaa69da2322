"""set_num_threads / get_num_threads (src/retrograd/_threads.py): the BLAS pools under NumPy,
through threadpoolctl; the inter-op pair as torch's, with retrograd's single inter-op thread."""

import numpy as np
import pytest

import retrograd as R
from tests.helpers import torch

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


def test_set_num_threads_limits_the_blas_pools():
    before = R.get_num_threads()
    assert before >= 1
    try:
        R.set_num_threads(1)
        assert R.get_num_threads() == 1
        assert all(n == 1 for n in _blas_threads())
        a = R.tensor(np.random.default_rng(0).standard_normal((64, 64)))
        assert np.allclose((a @ a).numpy(), a.numpy() @ a.numpy())
    finally:
        R.set_num_threads(before)
    assert R.get_num_threads() == before


@pytest.mark.parametrize("fn", ["set_num_threads", "set_num_interop_threads"])
@pytest.mark.parametrize("n", [0, -1])
def test_a_non_positive_count_raises_as_torch(fn, n):
    for M in (R,) if torch is None else (R, torch):
        with pytest.raises(RuntimeError, match=f"{fn} expects a positive integer"):
            getattr(M, fn)(n)


def test_interop_threads():
    R.set_num_interop_threads(4)
    assert R.get_num_interop_threads() == 1  # retrograd runs ops one at a time
    with pytest.raises(TypeError):
        R.set_num_threads(2.5)
