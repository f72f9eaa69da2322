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
