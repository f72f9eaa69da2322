"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode; decorators; threads."""

import threading

import pytest

import retrograd as T
from tests.helpers import requires_torch
from tests.helpers import torch as real_torch


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


# inference tensors: the same program on retrograd and on torch (skipped where torch is not installed)
_BOTH = [pytest.param(T, id="retrograd"), pytest.param(real_torch, id="torch", marks=requires_torch)]
_INPLACE = "Inplace update to inference tensor outside InferenceMode is not allowed"
_SAVE = "Inference tensors cannot be saved for backward"
_REQUIRES_GRAD = "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed"


@pytest.mark.parametrize("lib", _BOTH)
def test_tensors_made_in_inference_mode_are_inference_tensors_as_torch(lib):
    normal = lib.ones(3)
    with lib.inference_mode():
        a = lib.ones(3)
        b = a * 2
        leaf = lib.ones(2, requires_grad=True)
        view_of_normal = normal.view(3)
        normal.add_(1)  # an ordinary tensor may change inside the mode, and stays ordinary
        a.add_(1)
        assert a.is_inference() and b.is_inference() and lib.is_inference(a)
        assert leaf.requires_grad and leaf.is_inference()
        assert not view_of_normal.is_inference() and not normal.is_inference()
        with lib.inference_mode(False):  # leaves the mode and turns grad mode on
            assert not lib.is_inference_mode_enabled() and lib.is_grad_enabled()
            assert not lib.ones(1).is_inference()
            with pytest.raises(RuntimeError, match=_INPLACE):
                a.add_(1)
        assert lib.ones(1).is_inference()
    with lib.no_grad():
        assert not lib.ones(1).is_inference()
        with lib.inference_mode(False):
            assert lib.is_grad_enabled()
    assert a.view(3).is_inference() and a[0].is_inference() and a.detach().is_inference() and a.data.is_inference()
    assert not (a * 2).is_inference() and not a.clone().is_inference()
    assert normal.tolist() == [2.0, 2.0, 2.0]
    assert a.tolist() == [3.0, 3.0, 3.0]  # (as torch, the refused add_ wrote, then raised at the version bump)
    with pytest.raises(TypeError, match=r"is_inference\(\): argument 'input' \(position 1\) must be Tensor, not int"):
        lib.is_inference(3)


@pytest.mark.parametrize("lib", _BOTH)
def test_inference_tensors_outside_the_mode_as_torch(lib):
    with lib.inference_mode():
        a = lib.ones(3)
    for change in (lambda: a.zero_(), lambda: a.copy_(lib.zeros(3)), lambda: a.__setitem__(0, 5.0), lambda: a.add_(1),
                   lambda: a.view(3).mul_(2), lambda: lib.add(a, a, out=a)):
        with pytest.raises(RuntimeError, match=_INPLACE):
            change()
        with lib.no_grad(), pytest.raises(RuntimeError, match=_INPLACE):
            change()
    assert a.tolist() == [112.0, 32.0, 32.0]  # (as torch: each op wrote, then raised at the version bump)
    with pytest.raises(RuntimeError, match="Inference tensors do not track version counter"):
        a._version
    for set_requires_grad in (lambda: a.requires_grad_(), lambda: setattr(a, "requires_grad", True),
                              lambda: lib.nn.Parameter(a)):
        with pytest.raises(RuntimeError, match=_REQUIRES_GRAD):
            set_requires_grad()
    a.requires_grad_(False)
    w = lib.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=_SAVE):
        w * a  # mul saves a for w's gradient
    with pytest.raises(RuntimeError, match=_SAVE), lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        w * a

    class Keep(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(y)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g, None

    with pytest.raises(RuntimeError, match=_SAVE):
        Keep.apply(w, a)
    (w + a).sum().backward()  # add saves nothing: an inference tensor may take part
    assert w.grad.tolist() == [1.0, 1.0, 1.0]
    normal = a.clone()  # a clone made outside the mode is an ordinary tensor
    normal.add_(1)
    (w * normal).sum().backward()
    assert w.grad.tolist() == [114.0, 34.0, 34.0] and normal.requires_grad_().requires_grad
    with pytest.raises(RuntimeError, match=_INPLACE):
        a.add_(w)  # tracked: as torch it writes, then raises before it records anything
    assert a.grad_fn is None and not a.requires_grad and a.tolist() == [113.0, 33.0, 33.0]


@pytest.mark.parametrize("lib", _BOTH)
def test_grad_mode_inside_inference_mode_records_nothing_as_torch(lib):
    x = lib.ones(2, requires_grad=True)
    with lib.inference_mode():
        for switch_on in (lib.enable_grad, lambda: lib.set_grad_enabled(True)):
            assert not lib.is_grad_enabled()
            with switch_on():
                assert lib.is_grad_enabled()  # reported on, as torch: but inference mode records nothing
                y = x * x
                assert not y.requires_grad and y.grad_fn is None and y.is_inference()
                with lib.inference_mode(False):
                    assert (x * x).requires_grad
            assert not lib.is_grad_enabled()
        jacobian = lib.autograd.functional.jacobian(lambda t: t.sin() * t, lib.ones(2))
        assert jacobian.tolist() == [[0.0, 0.0], [0.0, 0.0]]  # (nothing recorded: torch's zeros too)
    assert lib.is_grad_enabled() and (x * x).requires_grad


@pytest.mark.parametrize("lib", _BOTH)
def test_function_transforms_work_inside_inference_mode_as_torch(lib):
    f = lambda t: t.sin() * t  # noqa: E731
    with lib.inference_mode():
        y = lib.tensor([1.0, 2.0])
        expected = [1.3817732, 0.0770037]  # d/dt t sin t = sin t + t cos t
        results = {
            "grad": lib.func.grad(lambda t: f(t).sum())(y),
            "jacrev": lib.func.jacrev(f)(y).diagonal(),
            "jacfwd": lib.func.jacfwd(f)(y).diagonal(),
            "vjp": lib.func.vjp(f, y)[1](lib.ones(2))[0],
            "jvp": lib.func.jvp(f, (y,), (lib.ones(2),))[1],
            "vmap(grad)": lib.vmap(lib.func.grad(lambda t: f(t).sum()))(y.unsqueeze(0))[0],
        }
        for name, result in results.items():
            assert result.tolist() == pytest.approx(expected, rel=1e-5), name
            assert not result.is_inference(), name  # (made outside inference mode, as torch's)
        assert lib.func.hessian(lambda t: f(t).sum())(y).diagonal().tolist() == \
            pytest.approx([0.2391337, -2.6508884], rel=1e-5)  # 2 cos t - t sin t
        assert lib.vmap(f)(y.unsqueeze(0)).is_inference()  # vmap alone stays in the mode
