"""trapezoid, trapz, cumulative_trapezoid and gradient (ops/calculus.py): values and gradients
against torch (samples and sample points both differentiable), integer samples, empty and
one-sample dims, edge_order 1 and 2, and torch's errors."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op

Y = np.array([[1.0, 2.0, 4.0, 7.5], [3.0, 5.0, 9.0, -1.0], [0.5, 0.25, -2.0, 3.0]])
X = np.array([0.0, 1.0, 2.5, 3.0])  # uneven points


@pytest.mark.parametrize("op", ["trapezoid", "cumulative_trapezoid"])
def test_trapezoid_at_points_and_spacings(op):
    check_op(lambda t, y: getattr(t, op)(y), (3, 4))
    check_op(lambda t, y, x: getattr(t, op)(y, x), Y, X)
    check_op(lambda t, y, x: getattr(t, op)(y, x, dim=0), Y, X[:3])
    check_op(lambda t, y: getattr(t, op)(y, dx=0.5, dim=0), (3, 4, 2))
    check_op(lambda t, y, x: getattr(t, op)(y, x), (2, 3, 4), np.array([[0.0, 1.0, 3.0, 3.5]]))  # broadcast x
    check_op(lambda t, y, x: getattr(t, op)(y, x, dim=1), (2, 3, 4), np.array([[0.0], [0.5], [2.0]]))


def test_trapezoid_integers_empty_and_single_samples():
    t = retrograd
    ints = t.tensor([1, 2, 3])
    for result in (t.trapezoid(ints), t.trapezoid(ints, ints), t.trapz(ints, dx=1)):
        assert result.dtype == t.float32 and result.item() == 4.0
    assert t.trapezoid(t.zeros(2, 0)).tolist() == [0.0, 0.0]
    assert t.trapezoid(t.tensor([5.0])).item() == 0.0
    assert tuple(t.cumulative_trapezoid(t.zeros(2, 0)).shape) == (2, 0)
    assert tuple(t.cumulative_trapezoid(t.tensor([5.0])).shape) == (0,)
    assert t.cumulative_trapezoid(ints).tolist() == [1.5, 4.0]
    assert t.trapezoid(t.tensor(Y).float(), t.tensor(X, dtype=t.float64)).dtype == t.float64


def test_trapz_is_trapezoid():
    check_op(lambda t, y, x: t.trapz(y, x), Y, X)
    check_op(lambda t, y: t.trapz(y, dx=2.0, dim=0), (3, 2))


def test_trapezoid_errors():
    t = retrograd
    y = t.tensor(Y)
    with pytest.raises(RuntimeError, match="There must be one `x` value for each sample point"):
        t.trapezoid(y, t.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="cumulative_trapezoid: There must be one `x` value"):
        t.cumulative_trapezoid(y, t.tensor([0.0, 1.0]))
    with pytest.raises(TypeError):
        t.trapezoid(y, t.tensor(X), dx=2)
    with pytest.raises(TypeError, match="argument 'x' must be Tensor"):
        t.trapezoid(y, 2)
    with pytest.raises(IndexError, match="tensor has no dimensions"):
        t.trapezoid(t.tensor(1.0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.trapezoid(y, dim=3)


G = np.array([[1.0, 2.0, 4.0, 8.0, 7.0], [10.0, 20.0, 40.0, 80.0, 60.0], [3.0, 1.0, 4.0, 1.0, 5.0]])
COORDS0 = np.array([0.0, 1.0, 3.0])
COORDS1 = np.array([0.0, 1.0, 1.5, 3.5, 4.0])


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_uniform_and_at_sample_points(edge_order):
    check_op(lambda t, y: t.gradient(y, edge_order=edge_order), G)
    check_op(lambda t, y: t.gradient(y, spacing=2.0, dim=1, edge_order=edge_order), G)
    check_op(lambda t, y: t.gradient(y, spacing=(2.0, 0.5), dim=(1, 0), edge_order=edge_order), G)
    # composed of differentiable ops: second derivatives are theirs (gradgradcheck skipped for time)
    check_op(lambda t, y, a, b: t.gradient(y, spacing=[a, b], edge_order=edge_order), G, COORDS0, COORDS1,
             gradgradcheck=False)
    check_op(lambda t, y, b: t.gradient(y, spacing=(b,), dim=-1, edge_order=edge_order), (2, 5), COORDS1,
             gradgradcheck=False)
    check_op(lambda t, y: t.gradient(y, spacing=[3.0], edge_order=edge_order), (6,))


def test_gradient_results():
    t = retrograd
    y = t.tensor([1.0, 2.0, 4.0, 8.0, 10.0])
    (g,) = t.gradient(y)
    assert g.tolist() == [1.0, 1.5, 3.0, 3.0, 2.0]
    (g,) = t.gradient(y, spacing=t.tensor(2.0))  # a 0-dim tensor is a step
    assert g.tolist() == [0.5, 0.75, 1.5, 1.5, 1.0]
    (g,) = t.gradient(y, spacing=[t.tensor([0.0, 1.0, 1.5, 3.5, 4.0])], edge_order=2)
    np.testing.assert_allclose(g.numpy(), [-1.0, 3.0, 3.6, 3.6, 4.4], rtol=1e-6)
    assert t.gradient(t.tensor([1, 2, 4]))[0].tolist() == [1.0, 1.5, 2.0]  # integers give floats
    assert t.gradient(t.tensor(1.0)) == ()
    assert t.gradient(t.tensor([1.0, 2.0]))[0].tolist() == [1.0, 1.0]
    assert isinstance(t.gradient(t.tensor(G), dim=0), tuple)


def test_gradient_errors():
    t = retrograd
    y = t.tensor(G)
    with pytest.raises(RuntimeError, match="only supports edge_order=1 and edge_order=2"):
        t.gradient(y, edge_order=3)
    with pytest.raises(RuntimeError, match="each dimension size to be at least edge_order\\+1"):
        t.gradient(t.tensor([1.0, 2.0]), edge_order=2)
    with pytest.raises(RuntimeError, match="spacing argument of length 1 and a dim argument of length 2"):
        t.gradient(y, dim=(0, 1), spacing=(2.0,))
    with pytest.raises(RuntimeError, match="got an element with 0 dimensions"):
        t.gradient(y, dim=0, spacing=(t.tensor(2.0),))
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        t.gradient(y, dim=(0, 0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        t.gradient(y, dim=2)
    with pytest.raises(TypeError, match="list or tuple"):
        t.gradient(y, dim=0, spacing=t.tensor(COORDS0))
    with pytest.raises(RuntimeError, match="one sample point per element"):
        t.gradient(y, dim=0, spacing=[t.tensor([0.0, 1.0])])
