"""Transforms (src/retrograd/distributions/transforms.py): forward, inverse and
log_abs_det_jacobian with their gradients against torch's, round trips, shapes, .inv, equality."""

from types import SimpleNamespace

import numpy as np
import pytest

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions import transforms as T
from tests.distributions.checks import check_against_torch

X = np.array([[0.3, -1.2, 0.7], [1.5, 0.1, -0.4]])
POS = np.array([[0.3, 1.2, 0.7], [1.5, 0.1, 2.4]])


def _outputs(t, x):
    y = t(x)
    return SimpleNamespace(y=y, x=t.inv(y), ladj=t.log_abs_det_jacobian(x, y))


TRANSFORMS = {  # name: (make(module, *params) -> transform, params, input)
    "Affine": (lambda m, a, b: m.distributions.transforms.AffineTransform(a, b), [np.array([0.5, -1.0, 2.0]), X], X),
    "Affine-event_dim": (lambda m, a, b: m.distributions.transforms.AffineTransform(a, b, event_dim=1),
                         [np.array([0.5, -1.0, 2.0]), X], X),
    "Exp": (lambda m: m.distributions.transforms.ExpTransform(), [], X),
    "Sigmoid": (lambda m: m.distributions.transforms.SigmoidTransform(), [], X),
    "Tanh": (lambda m: m.distributions.transforms.TanhTransform(), [], X),
    "Softplus": (lambda m: m.distributions.transforms.SoftplusTransform(), [], X),
    "Power": (lambda m, e: m.distributions.transforms.PowerTransform(e), [np.array([0.5, 2.0, 3.0])], POS),
    "StickBreaking": (lambda m: m.distributions.transforms.StickBreakingTransform(), [], X),
    "Compose": (lambda m, a: m.distributions.transforms.ComposeTransform(
        [m.distributions.transforms.AffineTransform(0.0, a), m.distributions.transforms.ExpTransform(),
         m.distributions.transforms.PowerTransform(2.0)]), [np.array([0.5, -1.0, 2.0])], X),
    "Independent": (lambda m: m.distributions.transforms.IndependentTransform(
        m.distributions.transforms.ExpTransform(), 1), [], X),
    "Inverse": (lambda m: m.distributions.transforms.ExpTransform().inv, [], POS),
    "Reshape": (lambda m: m.distributions.transforms.ReshapeTransform((3,), (3, 1)), [], X),
    "Cat": (lambda m: m.distributions.transforms.CatTransform(
        [m.distributions.transforms.ExpTransform(), m.distributions.transforms.SigmoidTransform()], dim=1,
        lengths=[1, 2]), [], X),
    "Stack": (lambda m: m.distributions.transforms.StackTransform(
        [m.distributions.transforms.ExpTransform(), m.distributions.transforms.TanhTransform()], dim=0), [], X),
    "CorrCholesky": (lambda m: m.distributions.transforms.CorrCholeskyTransform(), [], X),
    "CumulativeDistribution": (lambda m, loc: m.distributions.transforms.CumulativeDistributionTransform(
        m.distributions.Normal(loc, 2.0)), [np.array([0.5, -1.0, 2.0])], X),
}


@pytest.mark.parametrize("name", TRANSFORMS)
def test_forward_inverse_and_jacobian_match_torch(name):
    make, params, x = TRANSFORMS[name]

    def build(m, *leaves):
        return _outputs(make(m, *leaves[:-1]), leaves[-1])

    check_against_torch(build, [*params, x], ["y", "x", "ladj"], rtol=1e-6, atol=1e-10)


def test_softmax_forward_and_inverse_match_torch():
    # not bijective: no log_abs_det_jacobian; the inverse is log (up to a constant)
    check_against_torch(lambda m, x: SimpleNamespace(y=m.distributions.transforms.SoftmaxTransform()(x),
                                                     x=m.distributions.transforms.SoftmaxTransform().inv(x.softmax(-1))),
                        [X], ["y", "x"])


@pytest.mark.parametrize("t, x", [
    (T.ExpTransform(), X), (T.SigmoidTransform(), X), (T.TanhTransform(), X * 0.5),
    (T.AffineTransform(1.0, 3.0), X), (T.StickBreakingTransform(), X), (T.SoftplusTransform(), X),
    (T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.SigmoidTransform()]), X),
    (T.LowerCholeskyTransform(), np.tril(np.ones((3, 3))) + np.eye(3)),
])
def test_round_trip(t, x):
    x = retrograd.tensor(x)
    np.testing.assert_allclose(t.inv(t(x)).numpy(), x.numpy(), rtol=1e-6, atol=1e-12)


def test_shapes_domains_and_codomains():
    sb = T.StickBreakingTransform()
    assert sb.forward_shape((4, 3)) == (4, 4) and sb.inverse_shape((4, 4)) == (4, 3)
    assert sb.domain.event_dim == 1 and sb.codomain is constraints.simplex
    assert T.ExpTransform().codomain is constraints.positive and T.SigmoidTransform().codomain is constraints.unit_interval
    tanh = T.TanhTransform().codomain
    assert isinstance(tanh, constraints.interval) and (tanh.lower_bound, tanh.upper_bound) == (-1.0, 1.0)
    c = T.ComposeTransform([T.ExpTransform(), T.ReshapeTransform((4,), (2, 2))])
    assert c.domain.event_dim == 1 and c.codomain.event_dim == 2 and c.forward_shape((3, 4)) == (3, 2, 2)
    assert T.identity_transform(retrograd.tensor(2.0)).item() == 2.0


def test_inverse_is_cached_and_equality():
    t = T.ExpTransform()
    assert t.inv.inv is t and t == T.ExpTransform() and t != T.SigmoidTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    assert T.ExpTransform().sign == 1 and T.AffineTransform(0.0, -2.0).sign == -1
    assert T.ExpTransform().bijective and not T.SoftmaxTransform().bijective


def test_cache_size_one_returns_the_input_of_the_last_call():
    t = T.ExpTransform(cache_size=1)
    x = retrograd.tensor([0.5])
    y = t(x)
    assert t.inv(y) is x
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)


def test_transform_of_a_tensor_keeps_gradients():
    a = retrograd.tensor(2.0, requires_grad=True)
    y = T.ComposeTransform([T.AffineTransform(0.0, a), T.ExpTransform()])(retrograd.tensor([1.0, 2.0]))
    y.sum().backward()
    np.testing.assert_allclose(a.grad.item(), np.exp(2.0) * 1 + np.exp(4.0) * 2, rtol=1e-6)


def test_matrix_transforms_match_torch():
    a = np.array([[1.2, 0.3, -0.4], [0.3, 0.8, 0.5], [-0.4, 0.5, 1.5]])
    check_against_torch(lambda m, x: SimpleNamespace(y=m.distributions.transforms.LowerCholeskyTransform()(x)),
                        [a], ["y"])
    check_against_torch(lambda m, x: SimpleNamespace(y=m.distributions.transforms.PositiveDefiniteTransform()(x)),
                        [a], ["y"])
    check_against_torch(lambda m, x: SimpleNamespace(y=m.distributions.transforms.AbsTransform()(x)), [a], ["y"])


def test_pickled_transforms_and_inverses_still_work():
    import pickle

    c = T.ComposeTransform([T.AffineTransform(1.0, 2.0), T.ExpTransform()])
    x = retrograd.tensor([0.3, 1.2])  # inside the inverses' domain too
    for t in (c, c.inv, T.ExpTransform().inv):
        u = pickle.loads(pickle.dumps(t))
        np.testing.assert_allclose(u(x).numpy(), t(x).numpy())
        np.testing.assert_allclose(u.inv(u(x)).numpy(), x.numpy(), rtol=1e-6)
