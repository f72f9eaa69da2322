"""index_reduce (ops/index_reduce.py): values and gradients against torch (recorded without it),
gradcheck, torch's checks and exception types, out= and the in-place method."""

import warnings

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, requires_torch, torch

I = np.array
# rows 0 and 2 of a (4, 3) tensor get two and one source rows, rows 1 and 3 none
SOURCE_ROWS = I([0, 2, 0])

pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce_values_and_gradients_equal_torch(reduce, include_self):
    check_op(lambda t, x, i, s: t.index_reduce(x, 0, i, s, reduce, include_self=include_self),
             (4, 3), SOURCE_ROWS, (3, 3))


def test_index_reduce_along_the_last_dim_and_the_method():
    check_op(lambda t, x, i, s: x.index_reduce(-1, i, s, "mean", include_self=False), (2, 4), I([3, 3, 1]), (2, 3))


def test_index_reduce_ties_and_zeros_share_the_gradient_as_torch():
    # amax shares its gradient evenly among tied maxima; prod's is exact at zeros (ties are not
    # differentiable points: no gradcheck, torch's gradients)
    x = I([[1.0, 0, 2], [3, 3, 0]])
    s = I([[1.0, 2, 2], [1, 0, 0], [3, 3, 0]])
    for reduce in ("amax", "amin", "prod"):
        check_op(lambda t, x, i, s: x.index_reduce(0, i, s, reduce), x, I([0, 0, 1]), s, gradcheck=False,
                 gradgradcheck=False)


def test_index_reduce_of_integers_floors_the_mean():
    x = retrograd.arange(6).reshape(2, 3)
    out = retrograd.index_reduce(x, 0, retrograd.tensor([0, 0]), x + 1, "mean")
    assert out.dtype == retrograd.int64
    assert out.tolist() == [[1, 2, 3], [3, 4, 5]]  # torch's: (0 + 1 + 4) // 3, ...


def test_index_reduce_of_a_bool_matrix_with_self_as_torch():
    b = retrograd.tensor([[True, False, True], [False, False, True]])
    s = retrograd.tensor([[False, True, False], [True, False, False]])
    assert b.index_reduce(0, retrograd.tensor([0, 0]), s, "amax").tolist() == [[True, True, True], [False, False, True]]
    assert b.index_reduce(0, retrograd.tensor([0, 0]), s, "prod").tolist() == [[False] * 3, [False, False, True]]


def test_index_reduce_in_place_and_out():
    a = retrograd.tensor([2.0, 3.0])
    assert a.index_reduce_(0, retrograd.tensor([1, 1]), retrograd.tensor([3.0, 4.0]), "prod") is a
    assert a.tolist() == [2.0, 36.0]
    out = retrograd.empty(2)
    r = retrograd.index_reduce(retrograd.tensor([2.0, 3.0]), 0, retrograd.tensor([0, 0]),
                               retrograd.tensor([3.0, 4.0]), "amin", include_self=False, out=out)
    assert r is out and out.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError):
        retrograd.index_reduce(retrograd.tensor([2.0]), 0, retrograd.tensor([0]), retrograd.tensor([1.0]), "amin",
                               out=retrograd.empty(1, dtype=retrograd.float64))


def test_index_reduce_of_a_0_dim_tensor():
    out = retrograd.index_reduce(retrograd.tensor(2.0), 0, retrograd.tensor([0]), retrograd.tensor(3.0), "prod")
    assert out.shape == () and out.item() == 6.0


ERRORS = [
    (lambda t, x: x.index_reduce(0, t.tensor([0, 1]), t.ones(2, 3), "sum"), RuntimeError),
    (lambda t, x: x.index_reduce(0, t.tensor([0, 1]), t.ones(2, 2), "prod"), RuntimeError),
    (lambda t, x: x.index_reduce(0, t.tensor([0, 1]), t.ones(3, 3), "prod"), RuntimeError),
    (lambda t, x: x.index_reduce(0, t.tensor([[0, 1]]), t.ones(2, 3), "prod"), IndexError),
    (lambda t, x: x.index_reduce(2, t.tensor([0, 1]), t.ones(2, 3), "prod"), IndexError),
    (lambda t, x: x.index_reduce(0, t.tensor([0, 4]), t.ones(2, 3), "prod"), IndexError),
    (lambda t, x: x.index_reduce(0, t.tensor([0, -1]), t.ones(2, 3), "prod"), IndexError),
    (lambda t, x: x.index_reduce(0, t.tensor([0, 1], dtype=t.int16), t.ones(2, 3), "prod"), RuntimeError),
    (lambda t, x: x.index_reduce(0, t.tensor([0, 1]), t.ones(2, 3, dtype=t.float64), "prod"), RuntimeError),
    (lambda t, x: x.index_reduce(0, t.tensor([0, 1]), 5, "prod"), TypeError),
    (lambda t, x: (x[0] > 0).index_reduce(0, t.tensor([0, 1]), t.ones(2) > 0, "amax"), NotImplementedError),
    (lambda t, x: (x > 0).index_reduce(0, t.tensor([0, 1]), t.ones(2, 3) > 0, "amax", include_self=False),
     NotImplementedError),
    (lambda t, x: (x > 0).index_reduce(0, t.tensor([0, 1]), t.ones(2, 3) > 0, "mean"), NotImplementedError),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_index_reduce_raises_torchs_exception_types(case):
    fn, error = ERRORS[case]
    with pytest.raises(error):
        fn(retrograd, retrograd.ones(4, 3))


@requires_torch
@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_torch_raises_the_same_types(case):
    fn, error = ERRORS[case]
    with pytest.raises(error):
        fn(torch, torch.ones(4, 3))


def test_index_reduce_batches_under_vmap_as_a_loop():
    x, s = retrograd.randn(5, 4, 3, dtype=retrograd.float64), retrograd.randn(5, 3, 3, dtype=retrograd.float64)
    idx = retrograd.tensor(SOURCE_ROWS)
    got = retrograd.vmap(lambda a, b: a.index_reduce(0, idx, b, "amax"))(x, s)
    want = retrograd.stack([a.index_reduce(0, idx, b, "amax") for a, b in zip(x, s)])
    assert retrograd.equal(got, want)


def test_index_reduce_warns_once_that_it_is_beta_as_torch(monkeypatch):
    monkeypatch.setattr("retrograd._warn_once._seen", set())
    x = retrograd.ones(2)
    with pytest.warns(UserWarning, match="in beta"):
        x.index_reduce(0, retrograd.tensor([0]), retrograd.ones(1), "prod")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.index_reduce(0, retrograd.tensor([0]), retrograd.ones(1), "prod")
