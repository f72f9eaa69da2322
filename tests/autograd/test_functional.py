"""retrograd.autograd.functional: vjp, jvp, jacobian, hessian, vhp, hvp (values vs torch)."""

import numpy as np
import pytest

import retrograd
from tests.helpers import reference, torch


def X(T):
    return T.tensor([[0.3, -0.5, 1.2], [0.7, 0.1, -0.9]], dtype=T.float64)


def Y(T):
    return T.tensor([1.5, -0.4, 0.2], dtype=T.float64)


def F(x, y):
    return (x.tanh() * y).exp().sum(0) + x.sum(1).mean() * y


def G(x):
    return (x.sigmoid() ** 2 * x).sum()


CASES = {
    "jacobian": lambda T: T.autograd.functional.jacobian(lambda x: x.exp() * 2, Y(T)),
    "jacobian_tuple": lambda T: T.autograd.functional.jacobian(F, (X(T), Y(T))),
    "jacobian_outputs": lambda T: T.autograd.functional.jacobian(
        lambda x, y: (x * 2, (x * y).sum()), (X(T), Y(T))),
    "jacobian_unused": lambda T: T.autograd.functional.jacobian(lambda x, y: x * 2, (Y(T), Y(T))),
    "hessian": lambda T: T.autograd.functional.hessian(G, X(T)),
    "hessian_tuple": lambda T: T.autograd.functional.hessian(lambda x, y: (x.exp() * y).sum(),
                                                             (X(T), Y(T))),
    # vectorize=True: vmap over the output gradients (reverse) or over the tangents (forward mode)
    "jacobian_vectorized": lambda T: T.autograd.functional.jacobian(
        lambda x, y: (x * 2, (x * y).sum(), F(x, y)), (X(T), Y(T)), vectorize=True),
    "jacobian_vectorized_unused": lambda T: T.autograd.functional.jacobian(
        lambda x, y: (x.exp(), y * 0 + 1), (Y(T), Y(T)), vectorize=True),
    "jacobian_forward_mode": lambda T: T.autograd.functional.jacobian(
        lambda x, y: (x * 2, (x * y).sum(), F(x, y)), (X(T), Y(T)), vectorize=True, strategy="forward-mode"),
    "jacobian_forward_mode_single": lambda T: T.autograd.functional.jacobian(
        lambda x: x.exp().cumprod(0), Y(T), vectorize=True, strategy="forward-mode"),
    "hessian_vectorized": lambda T: T.autograd.functional.hessian(
        lambda x, y: (x.exp() * y).sum() + G(x), (X(T), Y(T)), vectorize=True),
    "hessian_forward_mode": lambda T: T.autograd.functional.hessian(
        lambda x, y: (x.exp() * y).sum() + G(x), (X(T), Y(T)), vectorize=True,
        outer_jacobian_strategy="forward-mode"),
    "vjp": lambda T: T.autograd.functional.vjp(F, (X(T), Y(T)), Y(T) * 3),
    "vjp_scalar": lambda T: T.autograd.functional.vjp(G, X(T)),
    "jvp": lambda T: T.autograd.functional.jvp(F, (X(T), Y(T)), (X(T) * 2, Y(T) - 1)),
    "hvp": lambda T: T.autograd.functional.hvp(G, X(T), X(T) + 1),
    "vhp": lambda T: T.autograd.functional.vhp(G, X(T), X(T) + 1),
}


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [y for e in x for y in _flat(e)]
    return [np.asarray(x.detach().tolist(), dtype=np.float64)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_functional_matches_torch(name):
    ours = _flat(CASES[name](retrograd))
    assert all(np.all(np.isfinite(a)) for a in ours)
    theirs = reference(lambda: _flat(CASES[name](torch)))
    assert [a.shape for a in ours] == [b.shape for b in theirs]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_known_values_without_torch():
    fn = retrograd.autograd.functional
    y = retrograd.tensor([1.0, 2.0], dtype=retrograd.float64)
    jac = fn.jacobian(lambda v: v ** 3, y)
    assert jac.tolist() == [[3.0, 0.0], [0.0, 12.0]]
    hess = fn.hessian(lambda v: (v ** 3).sum(), y)
    assert hess.tolist() == [[6.0, 0.0], [0.0, 12.0]]
    out, jv = fn.jvp(lambda v: v ** 2, y, retrograd.tensor([1.0, 1.0], dtype=retrograd.float64))
    assert out.tolist() == [1.0, 4.0] and jv.tolist() == [2.0, 4.0]
    out, hv = fn.hvp(lambda v: (v ** 3).sum(), y, retrograd.ones(2, dtype=retrograd.float64))
    assert out.item() == 9.0 and hv.tolist() == [6.0, 12.0]
    assert not jac.requires_grad and not out.requires_grad


def test_create_graph_keeps_results_differentiable():
    fn = retrograd.autograd.functional
    x = retrograd.tensor([1.0, 2.0], dtype=retrograd.float64, requires_grad=True)
    jac = fn.jacobian(lambda v: v ** 3, x, create_graph=True)
    assert jac.requires_grad
    jac.sum().backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_strict_and_bad_v():
    fn = retrograd.autograd.functional
    y = retrograd.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="independent of input 1"):
        fn.jacobian(lambda a, b: a * 2, (y, y), strict=True)
    with pytest.raises(RuntimeError, match="v can only be None"):
        fn.vjp(lambda a: a * 2, y)
    with pytest.raises(RuntimeError, match="shape"):
        fn.vjp(lambda a: a * 2, y, retrograd.ones(3))


def _seeing_batches(seen):
    """x**2 as a custom Function that records whether its backward and jvp got a batch (vmap)."""
    from retrograd.func import BatchedTensor

    class Square(retrograd.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            seen.append(("backward", isinstance(g, BatchedTensor)))
            return 2 * ctx.saved_tensors[0] * g

        @staticmethod
        def jvp(ctx, t):
            seen.append(("jvp", isinstance(t, BatchedTensor)))
            return 2 * ctx._fw_args[0] * t

    return Square.apply


@pytest.mark.parametrize("kwargs,expected", [
    (dict(), [("backward", False)] * 3),  # one backward per row
    (dict(vectorize=True), [("backward", True)]),  # all the rows at once
    (dict(vectorize=True, strategy="forward-mode"), [("jvp", True)]),  # all the columns at once
])
def test_vectorize_batches_the_rows_or_columns_with_vmap(kwargs, expected):
    seen = []
    x = Y(retrograd)
    jac = retrograd.autograd.functional.jacobian(_seeing_batches(seen), x, **kwargs)
    assert seen == expected
    np.testing.assert_allclose(jac.numpy(), np.diag(2 * x.numpy()), rtol=1e-15)


def test_vectorized_jacobian_with_create_graph_stays_differentiable():
    fn = retrograd.autograd.functional
    x = Y(retrograd).requires_grad_()
    jac = fn.jacobian(lambda a: a.exp() * a.sum(), x, create_graph=True, vectorize=True)
    assert jac.requires_grad
    (g,) = retrograd.autograd.grad(jac.sum(), x)
    expected = fn.jacobian(lambda a: fn.jacobian(lambda b: b.exp() * b.sum(), a, create_graph=True).sum(), x)
    np.testing.assert_allclose(g.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("call, what", [
    (lambda F, x: F.jacobian(lambda a, b: a * b, [x, x]), "inputs given to jacobian"),
    (lambda F, x: F.hessian(lambda a, b: (a * b).sum(), [x, x]), "inputs given to hessian"),
    (lambda F, x: F.vjp(lambda a: a * 2, [x]), "inputs given to vjp"),
    (lambda F, x: F.vjp(lambda a: a, 3), "inputs given to vjp"),
    (lambda F, x: F.jvp(lambda a, b: a * b, (x, x), [x, x]), "v given to jvp"),
    (lambda F, x: F.vjp(lambda a: a * 2, x, 2.0), "v given to vjp"),
    (lambda F, x: F.hvp(lambda a: (a * a).sum(), [x], [x]), "inputs given to hvp"),
    (lambda F, x: F.vjp(lambda a: 3.0, x), "outputs of the user-provided function given to vjp"),
    (lambda F, x: F.jacobian(lambda a: [a * 2], x), "outputs of the user-provided function given to jacobian"),
    (lambda F, x: F.hessian(lambda a: 3.0, x), "outputs of the user-provided function given to hessian"),
    (lambda F, x: F.jacobian(lambda a, b: a, (x, 3)), "inputs given to jacobian"),
])
def test_lists_and_non_tensors_are_refused_with_type_error_as_torch(call, what):
    """torch takes a Tensor or a tuple of Tensors only (a list was accepted, a float output
    gave an AttributeError)."""
    with pytest.raises(TypeError, match=f"The {what} must be either a Tensor or a tuple of Tensors"):
        call(retrograd.autograd.functional, retrograd.ones(3))


def test_hessian_of_a_non_scalar_function_raises_as_torch():
    F = retrograd.autograd.functional
    with pytest.raises(RuntimeError, match="The Tensor returned by the function given to hessian should contain a "
                                           "single element"):
        F.hessian(lambda a: a * a, retrograd.ones(3))
    with pytest.raises(RuntimeError, match="The function given to hvp should return a single Tensor"):
        F.hvp(lambda a: ((a * a).sum(),), retrograd.ones(3), retrograd.ones(3))
