"""autograd.set_multithreading_enabled / is_multithreading_enabled (autograd/multithreading.py)."""

import threading

import pytest

import retrograd
from tests.helpers import torch

MODULES = [retrograd] + ([torch] if torch is not None else [])


@pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)
def test_set_multithreading_enabled_as_function_context_and_decorator(m):
    A = m.autograd
    assert A.is_multithreading_enabled() is True
    with A.set_multithreading_enabled(False):
        assert A.is_multithreading_enabled() is False
        with A.set_multithreading_enabled(True):
            assert A.is_multithreading_enabled() is True
        assert A.is_multithreading_enabled() is False
    assert A.is_multithreading_enabled() is True
    A.set_multithreading_enabled(False)
    try:
        assert A.is_multithreading_enabled() is False
        seen = []  # thread-local: another thread has the default
        worker = threading.Thread(target=lambda: seen.append(A.is_multithreading_enabled()))
        worker.start()
        worker.join()
        assert seen == [True]
    finally:
        A.set_multithreading_enabled(True)

    @A.set_multithreading_enabled(False)
    def f():
        return A.is_multithreading_enabled()

    try:
        assert f() is False  # (construction switched it off, and torch leaves it off)
    finally:
        A.set_multithreading_enabled(True)


def test_backward_is_the_same_with_multithreading_off():
    x = retrograd.tensor([1.0, 2.0], requires_grad=True)
    with retrograd.autograd.set_multithreading_enabled(False):
        (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_the_mode_must_be_a_bool():
    for m in MODULES:
        with pytest.raises(TypeError, match=r"argument 'enabled' \(position 1\) must be bool, not int"):
            m.autograd.set_multithreading_enabled(1)
