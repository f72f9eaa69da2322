"""Each lowered op (lowerings.py) replays as generated array code, bitwise equal to eager in values
and gradients, with no op left to the generic path."""

import numpy as np
import pytest

import retrograd
import retrograd.nn.functional as F
from tests.compile.compare import assert_same_as_eager, fresh_compiler  # noqa: F401
from tests.helpers import rand


def _gru_step(x, h, w, b):
    xh = retrograd.cat([x, h], dim=1)
    z = F.sigmoid(F.linear(xh, w, b))
    hbar = F.tanh(F.linear(retrograd.cat([x, z * h], dim=1), w, b))
    return retrograd.stack([(1 - z) * h + z * hbar, h], 1)


CASES = {
    "add_sub_mul_broadcast": (lambda a, b: (a + b - 2.5 * a, (b - a) * b, 3 - a * 2, a + 1), [(3, 4), (4,)]),
    "tanh_sigmoid_relu_clone": (lambda a: (a.tanh(), a.sigmoid() * 2, F.relu(a).clone()), [(4, 6)]),
    "relu_large": (lambda a: F.relu(a) * a, [(80, 60)]),
    "linear_mse": (lambda x, w, b, y: F.mse_loss(F.linear(x, w, b).tanh(), y), [(5, 3), (4, 3), (4,), (5, 4)]),
    # the bias gradient from a non-contiguous output gradient (col_sums' sum, not its BLAS product)
    "linear_transposed": (lambda x, w, b: F.linear(x, w, b).t() * 2, [(50, 3), (4, 3), (4,)]),
    "mse_sum": (lambda x, y: F.mse_loss(x, y, reduction="sum"), [(5, 3), (5, 3)]),
    "softmax_logsoftmax": (lambda a: (F.softmax(a, -1) * a, F.log_softmax(a, 1)), [(3, 5)]),
    "shape": (lambda a: (a.reshape(6, 2).t() * 2, a.unsqueeze(1).expand(3, 2, 4) + 1, a.permute(1, 0)[1:3] * 3,
                         a[1] + 1), [(3, 4)]),
    "split_cat_stack": (lambda a: (retrograd.cat(a.split(2, dim=1)[::-1], 1) * a, retrograd.stack([a, a * 2], 0)),
                        [(3, 6)]),
    "gru_step": (_gru_step, [(4, 3), (4, 5), (5, 8), (5,)]),
    "attention": (lambda q, k, v, m: (((q @ k.transpose(-2, -1)) * 0.5).masked_fill(m == 0, float("-inf"))
                                      .softmax(-1) @ v), [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5), (4, 4)]),
    "powers": (lambda a: (a ** 3.0 + a.pow(2) * a ** 0.5, a ** 0), [(3, 4)]),
    "sum_mean": (lambda a: (a.sum(), (a * 2).sum(1), a.sum((0,), keepdim=True) * a, a.mean(),
                            a.mean(-1, keepdim=True) * a), [(3, 4)]),
}


def _program(compiled):
    graphs = [g for gs in compiled._compiled.cache.values() for g in gs if g is not None]
    assert len(graphs) == 1
    return graphs[0].program


@pytest.mark.parametrize("name", sorted(CASES))
def test_lowered_op_equals_eager(name):
    fn, shapes = CASES[name]
    arrays = [np.abs(rand(*s, seed=i)) + 0.1 for i, s in enumerate(shapes)]
    if name == "attention":
        arrays[-1] = np.tril(np.ones((4, 4)))
    compiled = assert_same_as_eager(fn, arrays)
    assert _program(compiled).generic == 0, _program(compiled).source


def test_float32_inputs_lowered_equal_eager():
    fn, shapes = CASES["linear_mse"]
    compiled = assert_same_as_eager(fn, [rand(*s, seed=i, dtype=np.float32) for i, s in enumerate(shapes)])
    assert _program(compiled).generic == 0


def test_unlowered_cases_take_the_generic_path_and_equal_eager():
    # an int tensor in tanh (float_data casts it), an alpha != 1, a tensor fill value: each op's own code
    fn = lambda a, b, v: (a.tanh() if a.dtype.is_floating_point else a, b.add(b, alpha=2),  # noqa: E731
                          b.masked_fill(b > 0.5, v))
    compiled = assert_same_as_eager(fn, [rand(3), rand(3, seed=1), rand(seed=2)])
    assert _program(compiled).generic == 2


def test_an_input_changed_in_place_before_backward_raises_as_eager():
    # the backward reads x (for w's gradient): CompiledFunction saved it, so its version is checked
    w = retrograd.tensor(rand(3, 3), requires_grad=True)
    f = retrograd.compile(lambda x: (x @ w).tanh().sum())
    x = retrograd.tensor(rand(2, 3))
    f(x)
    y = f(x)
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def _lowered_equal(fn, arrays):
    compiled = assert_same_as_eager(fn, arrays)
    program = _program(compiled)
    assert program.generic == 0, program.source
    return program


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm_lowered_equals_eager(dtype):
    # (rows, features) layer norm with and without a bias, over a 3-d input: values and x, w, b gradients
    fn = lambda x, w, b: (F.layer_norm(x, (6,), w, b) * x, F.layer_norm(x * 2, (6,), w))  # noqa: E731
    _lowered_equal(fn, [rand(2, 5, 6, seed=0, dtype=dtype), rand(6, seed=1, dtype=dtype) + 1,
                        rand(6, seed=2, dtype=dtype)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_lowered_equals_eager(reduction):
    # log_softmax then nll_loss, an ignored target included
    target = np.array([1, 0, 4, -100, 2, 4])
    fn = lambda x, t: F.cross_entropy(x * 3, t, reduction=reduction)  # noqa: E731
    _lowered_equal(fn, [rand(6, 5, seed=0), target])


def test_nll_loss_replays_new_targets_and_their_checks():
    compiled = retrograd.compile(lambda x, t: F.nll_loss(x.log_softmax(1), t), fullgraph=True)
    x = retrograd.tensor(rand(4, 3), requires_grad=True)
    for targets in ([0, 1, 2, 1], [2, 2, 0, 1], [1, 0, 0, 0]):
        t = retrograd.tensor(targets)
        ref_x = retrograd.tensor(rand(4, 3), requires_grad=True)
        ref = F.nll_loss(ref_x.log_softmax(1), t)
        ref.backward()
        x.grad = None
        out = compiled(x, t)
        out.backward()
        np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
        np.testing.assert_array_equal(x.grad.numpy(), ref_x.grad.numpy())
    assert _program(compiled).generic == 0
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        compiled(x, retrograd.tensor([0, 3, 1, 1]))


def test_embedding_lowered_equals_eager_with_repeated_indices():
    # repeated rows add up in the weight's gradient; a table indexed twice (two lookups)
    idx = np.array([[1, 3, 1], [0, 3, 3]])
    fn = lambda w, i: F.embedding(i, w) * 2 + F.embedding(i[:, :1], w)  # noqa: E731
    _lowered_equal(fn, [rand(5, 4), idx])


def test_view_of_a_split_is_lowered():
    # .view of a non-contiguous slice (attention's q, k, v of one projection): a copy-free view, as eager
    fn = lambda a: tuple(p.view(2, 3, 2, 2).transpose(1, 2) * (k + 1) for k, p in enumerate(a.split(4, dim=2)))  # noqa: E731
    program = _lowered_equal(fn, [rand(2, 3, 12)])
    assert ".view()" in program.source


def test_float32_cube_written_as_products_equals_eager():
    # the tanh GELU's x ** 3.0: x * x * x, its backward's x ** 2.0 as x * x (bitwise powf's)
    fn = lambda a: 0.5 * a * (1.0 + retrograd.tanh(0.79788456 * (a + 0.044715 * retrograd.pow(a, 3.0))))  # noqa: E731
    program = _lowered_equal(fn, [rand(16, 64, dtype=np.float32, low=-4, high=4)])
    from retrograd.ops.elementwise import _pow

    assert "_sq = v0 * v0" in program.source and _pow not in program.em.ns.values()
    # the backward's x ** 2.0 is the forward's x * x, kept: one pass fewer
    assert program.source.split("def backward")[1].count(" * v0") == 0, program.source


def test_cube_backward_reads_the_forward_square_and_leaves_it_for_a_second_backward():
    a = retrograd.tensor(rand(33, 5, dtype=np.float32), requires_grad=True)
    compiled = retrograd.compile(lambda x: (retrograd.pow(x, 3.0) * 2).sum())
    compiled(a)
    out = compiled(a)
    out.backward(retrograd.tensor(1.0), retain_graph=True)
    first = a.grad.numpy().copy()
    out.backward(retrograd.tensor(1.0))
    eager = retrograd.tensor(a.detach().numpy(), requires_grad=True)
    (retrograd.pow(eager, 3.0) * 2).sum().backward()
    np.testing.assert_array_equal(first, eager.grad.numpy())
    np.testing.assert_array_equal(a.grad.numpy(), first + first)


def test_float32_power_two_is_the_product_for_every_mantissa():
    # why the lowering may write x ** 2.0 as x * x: equal for each float32 in [1, 2) (other exponents
    # scale both exactly), in the normal, subnormal and overflowing ranges
    m = (np.arange(2 ** 23, dtype=np.uint32) | np.uint32(0x3F800000)).view(np.float32)
    for scale in (1.0, 2.0 ** -70, 2.0 ** 63, -3.0):
        x = m * np.float32(scale)
        with np.errstate(under="ignore", over="ignore"):
            np.testing.assert_array_equal(x ** 2.0, x * x)


def test_softmax_and_log_softmax_over_many_rows_equal_eager():
    # eager's plain backward runs by blocks of rows (their row sums in another order than one pass): the
    # lowering calls that backward itself
    fn = lambda x: (F.softmax(x, -1) * x, F.log_softmax(x * 2, -1))  # noqa: E731
    _lowered_equal(fn, [rand(512, 300, dtype=np.float32)])


def test_a_sum_loss_leaves_every_gradient_unconditional():
    # a generic op's backward may give None, so each gradient after it was tested (if g is not None);
    # sum is lowered: none is
    w = retrograd.tensor(rand(3, 4), requires_grad=True)
    compiled = retrograd.compile(lambda x: ((x @ w).tanh() * 2).sum(), fullgraph=True)
    x = retrograd.tensor(rand(5, 3))
    for _ in range(2):
        compiled(x).backward()
    assert "is not None" not in _program(compiled).source


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # (nan and inf inputs, as eager)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_masked_fill_bit_select_equals_eager_copyto(dtype):
    # the fill as (bits AND keep) OR (fill's bits where mask): eager's np.copyto bits exactly, for nan, -0.0
    # and inf inputs and fills, a causal mask at gpt2's shape and at an odd one; a mask that widens the
    # input keeps copyto
    def fn(a, m):
        return (a.masked_fill(m == 0, float("-inf")) * 1.5, a.masked_fill(m > 0.5, float("nan")),
                a.masked_fill(m == 0, -0.0) * a, (a * 2).masked_fill(m == 1, 0.0).softmax(-1))

    for shape in [(32, 4, 16, 16), (3, 5, 7)]:
        a = rand(*shape, dtype=dtype)
        a.reshape(-1)[:3] = [np.nan, -0.0, np.inf]
        m = np.tril(np.ones(shape[-2:], dtype=dtype))
        compiled = assert_same_as_eager(fn, [a, m])
        source = _program(compiled).source
        assert "np.bitwise_and" in source and "np.copyto" not in source, source
    widened = assert_same_as_eager(lambda a, m: a.masked_fill(m == 0, 2.0) * a,
                                   [rand(5, 1, dtype=dtype), np.tril(np.ones((5, 6), dtype=dtype))])
    assert "np.copyto" in _program(widened).source
