"""segment_reduce (ops/segment.py): values and gradients against torch (recorded without it) for
each reduction, lengths and offsets, axis, initial and unsafe; gradcheck; the second backward
raises as torch's; torch's checks and exception types; vmap."""

import numpy as np
import pytest

import retrograd
from tests.helpers import assert_values_and_grads, check_op, requires_torch, torch

I = np.array
REDUCES = ["sum", "mean", "max", "min", "prod"]
DATA = I([1.0, 3.0, -3.0, 0.5, 5.0, 2.0, 4.0])
LENGTHS = I([2, 0, 3, 2])  # an empty segment among them


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("initial", [None, 2.5])
def test_segment_reduce_with_lengths_equals_torch(reduce, initial):
    # (without initial an empty segment's mean, max, min is nan, -inf, inf: no finite differences there)
    check_op(lambda t, x, n: t.segment_reduce(x, reduce, lengths=n, initial=initial), DATA, LENGTHS,
             gradcheck=reduce in ("sum", "prod") or initial is not None, gradgradcheck=False)


@pytest.mark.parametrize("reduce", REDUCES)
def test_segment_reduce_with_offsets_along_an_inner_axis_equals_torch(reduce):
    offsets = I([[0, 2, 2, 6], [1, 3, 4, 6]])  # a second row starting past position 0
    check_op(lambda t, x, o: t.segment_reduce(x, reduce, offsets=o, axis=1), (2, 6, 3), offsets,
             gradcheck=reduce in ("sum", "prod"), gradgradcheck=False)


@pytest.mark.parametrize("reduce", REDUCES)
def test_segment_reduce_gradcheck(reduce):
    x = retrograd.randn(7, 3, dtype=retrograd.float64, requires_grad=True)
    lengths = retrograd.tensor([2, 3, 2])
    assert retrograd.autograd.gradcheck(lambda a: retrograd.segment_reduce(a, reduce, lengths=lengths), (x,))
    assert retrograd.autograd.gradcheck(
        lambda a: retrograd.segment_reduce(a, reduce, lengths=lengths, initial=0.7), (x,))


@pytest.mark.parametrize("reduce", REDUCES)
def test_segment_reduce_of_rows_of_lengths_and_unsafe_equals_torch(reduce):
    check_op(lambda t, x, n: t.segment_reduce(x, reduce, lengths=n, axis=-1, unsafe=True), (2, 6),
             I([[2, 3, 0], [1, 2, 3]]), gradcheck=reduce in ("sum", "prod"), gradgradcheck=False)


def test_segment_reduce_prod_is_exact_at_zeros_as_torch():
    check_op(lambda t, x, n: t.segment_reduce(x, "prod", lengths=n, initial=3.0),
             I([3.0, 3.0, 0.0, 0.0, 2.0, 0.0, 3.0]), I([2, 2, 3]), gradcheck=False, gradgradcheck=False)


TIES = I([3.0, 3.0, 0.0, 0.0, 2.0, 0.0, 3.0])


@pytest.mark.parametrize("reduce, expected", [
    ("max", [[3.0, 3.0, 3.0], [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 1.0]]),  # torch's, recorded
    ("min", [[3.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5, 0.0, 1.0, 0.0]]),
])
def test_segment_reduce_shares_the_gradient_among_ties_as_torch(reduce, expected):
    # shared among the tied elements, not with initial (3.0 ties with them here). torch gives a
    # negative upstream gradient to each tie whole (not linear in it): retrograd shares that too
    assert_values_and_grads(lambda t, x: t.segment_reduce(x, reduce, lengths=t.tensor([2, 2, 3]), initial=3.0),
                            [TIES], expected)
    x = retrograd.tensor(TIES, requires_grad=True)
    y = retrograd.segment_reduce(x, reduce, lengths=retrograd.tensor([2, 2, 3]), initial=3.0)
    (g,) = retrograd.autograd.grad(y, x, -retrograd.ones(3, dtype=retrograd.float64))
    assert g.tolist() == [-v for v in expected[1]]


def test_a_second_backward_raises_as_torch():
    x = retrograd.randn(5, dtype=retrograd.float64, requires_grad=True)
    y = retrograd.segment_reduce(x, "prod", lengths=retrograd.tensor([2, 3]))
    (g,) = retrograd.autograd.grad(y.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for aten::_segment_reduce_backward is not implemented"):
        g.sum().backward()


def test_empty_segments_and_half_types():
    x = retrograd.tensor([1.0, 2.0, 3.0], dtype=retrograd.float16)
    out = retrograd.segment_reduce(x, "mean", lengths=retrograd.tensor([0, 3]))
    assert out.dtype == retrograd.float16 and np.isnan(out[0].item()) and out[1].item() == 2.0
    empty = retrograd.segment_reduce(retrograd.zeros(0, 2), "max", lengths=retrograd.tensor([0, 0]))
    assert empty.shape == (2, 2) and empty.tolist() == [[-np.inf] * 2] * 2


def test_segment_reduce_batches_under_vmap_as_a_loop():
    xs = retrograd.randn(3, 5, dtype=retrograd.float64)
    lengths = retrograd.tensor([[2, 3], [5, 0], [1, 4]])
    loop = retrograd.stack([retrograd.segment_reduce(x, "max", lengths=n) for x, n in zip(xs, lengths)])
    batched = retrograd.vmap(lambda x, n: retrograd.segment_reduce(x, "max", lengths=n))(xs, lengths)
    assert retrograd.equal(batched, loop)
    shared = retrograd.tensor([2, 3])
    loop = retrograd.stack([retrograd.segment_reduce(x, "prod", lengths=shared) for x in xs])
    assert retrograd.equal(retrograd.vmap(lambda x: retrograd.segment_reduce(x, "prod", lengths=shared))(xs), loop)


ERRORS = [
    (lambda t, x: t.segment_reduce(x, "avg", lengths=t.tensor([2, 4])), RuntimeError),
    (lambda t, x: t.segment_reduce(x, "sum"), RuntimeError),
    (lambda t, x: t.segment_reduce(x, "sum", indices=t.tensor([0, 0, 1, 1, 1, 1])), RuntimeError),
    (lambda t, x: t.segment_reduce(x, "sum", lengths=t.tensor([2, 3])), RuntimeError),
    (lambda t, x: t.segment_reduce(x, "sum", lengths=t.tensor([-1, 7])), RuntimeError),
    (lambda t, x: t.segment_reduce(x, "sum", offsets=t.tensor([0, 3, 2, 6])), RuntimeError),
    (lambda t, x: t.segment_reduce(x, "sum", lengths=t.tensor([2.0, 4.0])), NotImplementedError),
    (lambda t, x: t.segment_reduce(x.long(), "sum", lengths=t.tensor([2, 4])), NotImplementedError),
    (lambda t, x: t.segment_reduce(x > 0, "max", lengths=t.tensor([2, 4])), NotImplementedError),
    (lambda t, x: t.segment_reduce(x, "sum", lengths=t.tensor(6)), RuntimeError),
    (lambda t, x: t.segment_reduce(x, "sum", lengths=t.tensor([2, 4]), axis=1), IndexError),
    (lambda t, x: t.segment_reduce(x, "sum", offsets=t.tensor([[0, 2, 6]])), RuntimeError),
    (lambda t, x: t.segment_reduce(x, "sum", lengths=[2, 4]), TypeError),
    (lambda t, x: t.segment_reduce(x, "sum", lengths=t.tensor([2, 4]), initial="a"), TypeError),
    (lambda t, x: t.segment_reduce(x, "sum", lengths=t.tensor([], dtype=t.int64)), RuntimeError),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_segment_reduce_raises_torchs_exception_types(case):
    fn, error = ERRORS[case]
    with pytest.raises(error):
        fn(retrograd, retrograd.arange(6.0))


@requires_torch
@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_torch_raises_the_same_types(case):
    fn, error = ERRORS[case]
    with pytest.raises(error):
        fn(torch, torch.arange(6.0))


def test_segments_reaching_past_the_data_raise_even_when_unsafe():
    # torch reads past the end of its memory there; retrograd refuses
    with pytest.raises(RuntimeError, match="outside the data"):
        retrograd.segment_reduce(retrograd.arange(6.0), "sum", lengths=retrograd.tensor([2, 5]), unsafe=True)
    with pytest.raises(RuntimeError, match="leading shape"):
        retrograd.segment_reduce(retrograd.zeros(2, 6), "sum", lengths=retrograd.tensor([[2, 4]]), axis=1)
