"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode; decorators; threads."""

import threading

import pytest

import retrograd as T


def _records():
    return (T.ones(1, requires_grad=True) * 2).requires_grad


def test_no_grad_context():
    x = T.ones(2, requires_grad=True)
    with T.no_grad():
        assert not T.is_grad_enabled()
        y = x * 2
        assert not y.requires_grad and y.grad_fn is None
        with T.enable_grad():
            assert T.is_grad_enabled() and _records()
        assert not T.is_grad_enabled()
    assert T.is_grad_enabled() and (x * 2).requires_grad


def test_decorators_with_and_without_parentheses():
    @T.no_grad()
    def f():
        return _records()

    @T.no_grad
    def g():
        return _records()

    @T.enable_grad()
    def h():
        return _records()

    @T.inference_mode()
    def i():
        return _records(), T.is_inference_mode_enabled()

    @T.inference_mode
    def j():
        return _records()

    @T.set_grad_enabled(False)
    def k():
        return _records()

    assert f() is False and g() is False and k() is False
    assert j() is False and i() == (False, True)
    with T.no_grad():
        assert h() is True
    assert f.__name__ == "f"  # functools.wraps
    assert T.is_grad_enabled()


def test_set_grad_enabled_as_function_and_context():
    with T.set_grad_enabled(False):
        assert not _records()
    assert _records()
    T.set_grad_enabled(False)
    try:
        assert not _records()
    finally:
        T.set_grad_enabled(True)
    assert _records()
    with T.set_grad_enabled(True):
        assert _records()


def test_inference_mode():
    assert not T.is_inference_mode_enabled()
    with T.inference_mode():
        assert T.is_inference_mode_enabled() and not _records()
    with T.inference_mode(False):
        assert not T.is_inference_mode_enabled() and _records()
    assert T.is_grad_enabled()


def test_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with T.no_grad():
            raise ValueError
    assert T.is_grad_enabled()

    @T.no_grad()
    def boom():
        raise KeyError

    with pytest.raises(KeyError):
        boom()
    assert T.is_grad_enabled()


def test_decorated_function_is_reentrant_and_recursive():
    @T.no_grad()
    def depth(n):
        assert not T.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(5) == 5 and T.is_grad_enabled()


def test_grad_mode_is_thread_local():
    results = {}
    entered, checked = threading.Event(), threading.Event()

    def in_no_grad():
        with T.no_grad():
            entered.set()
            checked.wait(5)
            results["no_grad_thread"] = _records()

    def plain():
        entered.wait(5)
        results["other_thread"] = _records()
        checked.set()

    threads = [threading.Thread(target=in_no_grad), threading.Thread(target=plain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"no_grad_thread": False, "other_thread": True}
    assert T.is_grad_enabled()


def test_new_thread_starts_with_grad_enabled():
    out = []
    with T.no_grad():
        t = threading.Thread(target=lambda: out.append(T.is_grad_enabled()))
        t.start()
        t.join()
    assert out == [True]


def test_manual_sgd_under_no_grad():
    w = T.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        with T.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    assert [round(v, 6) for v in w.tolist()] == [0.512, 1.024]
