"""use_deterministic_algorithms and the float32 matmul precision (src/retrograd/_flags.py)."""

import warnings

import pytest

import retrograd as R
from retrograd import _flags
from tests.helpers import torch


@pytest.fixture(autouse=True)
def restore():
    saved = dict(_flags._state)
    yield
    _flags._state.update(saved)


def _state(M):
    return (M.are_deterministic_algorithms_enabled(), M.is_deterministic_algorithms_warn_only_enabled(),
            M.get_deterministic_debug_mode())


def test_deterministic_mode_states_as_torch():
    modules = (R,) if torch is None else (R, torch)
    try:
        for M in modules:
            assert _state(M) == (False, False, 0)
            M.use_deterministic_algorithms(True)
            assert _state(M) == (True, False, 2)
            M.use_deterministic_algorithms(True, warn_only=True)
            assert _state(M) == (True, True, 1)
            M.set_deterministic_debug_mode("error")
            assert _state(M) == (True, False, 2)
            M.set_deterministic_debug_mode(0)
            assert _state(M) == (False, False, 0)
            with pytest.raises(TypeError):
                M.use_deterministic_algorithms(1)
            with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
                M.set_deterministic_debug_mode("x")
            with pytest.raises(RuntimeError, match="expected 0, 1, or 2, but got 3"):
                M.set_deterministic_debug_mode(3)
    finally:
        for M in modules:
            M.use_deterministic_algorithms(False)


def test_a_nondeterministic_kernel_raises_or_warns_in_deterministic_mode():
    _flags.alert_not_deterministic("k")  # off: nothing
    R.use_deterministic_algorithms(True)
    with pytest.raises(RuntimeError, match="k does not have a deterministic implementation"):
        _flags.alert_not_deterministic("k")
    R.use_deterministic_algorithms(True, warn_only=True)
    with pytest.warns(UserWarning, match="k does not have a deterministic implementation"):
        _flags.alert_not_deterministic("k")


def test_cpu_kernels_run_in_deterministic_mode():
    R.use_deterministic_algorithms(True)
    x = R.randn(2, 3, 8, 8, requires_grad=True)
    idx = R.tensor([0, 0, 1])
    y = R.nn.functional.max_pool2d(x, 2).sum() + x[idx].sum()
    y.backward()
    assert x.grad is not None


def test_float32_matmul_precision():
    for M in (R,) if torch is None else (R, torch):
        try:
            assert M.get_float32_matmul_precision() == "highest"
            M.set_float32_matmul_precision("medium")
            assert M.get_float32_matmul_precision() == "medium"
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                M.set_float32_matmul_precision("fast")
            assert "is not one of 'highest', 'high', or 'medium'" in str(caught[0].message)
            assert M.get_float32_matmul_precision() == "medium"
        finally:
            M.set_float32_matmul_precision("highest")
