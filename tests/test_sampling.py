"""Sampling (src/retrograd/sampling.py): multinomial, bernoulli, poisson, normal with tensor
arguments and the in-place fills. Distributions are checked statistically with fixed seeds (a
chi-square statistic under its 1e-4 critical value, or a mean within a few standard errors);
shapes, dtypes, exception types and gradients against torch's (run here when torch is installed,
written out from torch 2.13 otherwise)."""

import numpy as np
import pytest

import retrograd as R
from tests.helpers import requires_torch, torch

# chi-square critical values at p = 1e-4 by degrees of freedom (scipy.stats.chi2.ppf(1 - 1e-4, df))
CHI2_CRITICAL = {1: 15.14, 2: 18.42, 3: 21.11, 4: 23.51, 5: 25.74, 8: 31.83}


def chi2(counts, probs):
    """The chi-square statistic of observed counts against probabilities (categories of probability 0 excluded)."""
    counts, probs = np.asarray(counts, dtype=np.float64), np.asarray(probs, dtype=np.float64)
    keep = probs > 0
    expected = counts.sum() * probs[keep] / probs[keep].sum()
    return float(((counts[keep] - expected) ** 2 / expected).sum()), int(keep.sum()) - 1


def assert_fits(counts, probs):
    stat, df = chi2(counts, probs)
    assert stat < CHI2_CRITICAL[df], (stat, df, counts, probs)


def gen(seed=0):
    return R.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ multinomial

WEIGHTS = [0.1, 0.2, 0.0, 0.3, 0.4]


def test_multinomial_with_replacement_follows_the_weights_and_never_draws_zero_weight():
    draws = R.multinomial(R.tensor(WEIGHTS) * 7, 20000, replacement=True, generator=gen())
    assert draws.dtype is R.int64 and tuple(draws.shape) == (20000,)
    counts = np.bincount(draws.numpy(), minlength=5)
    assert counts[2] == 0
    assert_fits(counts, WEIGHTS)


def test_multinomial_batched_rows_each_follow_their_own_weights():
    rows = [[0.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]]
    draws = R.multinomial(R.tensor(rows, dtype=R.float64), 8000, True, generator=gen(1))
    assert tuple(draws.shape) == (3, 8000)
    for row, d in zip(rows, draws.numpy()):
        counts = np.bincount(d, minlength=4)
        assert (counts[np.asarray(row) == 0] == 0).all()
        if sum(p > 0 for p in row) > 1:
            assert_fits(counts, row)


def test_multinomial_without_replacement_draws_distinct_categories_in_weight_order():
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    draws = R.multinomial(R.tensor(np.tile(probs, (20000, 1))), 2, generator=gen(2)).numpy()
    assert (draws[:, 0] != draws[:, 1]).all()
    assert_fits(np.bincount(draws[:, 0], minlength=4), probs)  # the first draw ~ the weights
    # the second draw: P(j) = sum_i p_i p_j / (1 - p_i) over i != j (draws without replacement)
    second = [sum(probs[i] * probs[j] / (1 - probs[i]) for i in range(4) if i != j) for j in range(4)]
    assert_fits(np.bincount(draws[:, 1], minlength=4), second)


def test_multinomial_without_replacement_draws_zero_weights_only_after_the_positive_ones():
    draws = R.multinomial(R.tensor([[0.0, 0.8, 0.0, 0.2]] * 500), 4, generator=gen(3)).numpy()
    assert (np.sort(draws[:, :2], axis=1) == [1, 3]).all()
    assert (np.sort(draws[:, 2:], axis=1) == [0, 2]).all()
    assert (np.sort(R.multinomial(R.ones(6), 6, generator=gen()).numpy()) == np.arange(6)).all()


def test_multinomial_same_generator_seed_same_draws_and_tensor_method():
    a = R.multinomial(R.tensor(WEIGHTS), 10, True, generator=gen(5))
    b = R.tensor(WEIGHTS).multinomial(10, replacement=True, generator=gen(5))
    assert a.tolist() == b.tolist()
    R.manual_seed(4)
    c = R.tensor(WEIGHTS).multinomial(3)
    R.manual_seed(4)
    assert R.multinomial(R.tensor(WEIGHTS), 3).tolist() == c.tolist()


MULTINOMIAL_ERRORS = [  # (expression, exception type, torch's message start)
    ("multinomial(M.tensor([0.2, 0.8]), 3)", RuntimeError,
     "cannot sample n_sample > prob_dist.size(-1) samples without replacement"),
    ("multinomial(M.ones(0), 1)", RuntimeError, "cannot sample n_sample > prob_dist.size(-1)"),
    ("multinomial(M.tensor([0.2, -0.8]), 1)", RuntimeError,
     "probability tensor contains either `inf`, `nan` or element < 0"),
    ("multinomial(M.tensor([0.2, float('inf')]), 1, True)", RuntimeError, "probability tensor contains"),
    ("multinomial(M.tensor([0.2, float('nan')]), 1)", RuntimeError, "probability tensor contains"),
    ("multinomial(M.tensor([[1.0, 1.0], [0.0, 0.0]]), 1)", RuntimeError,
     "invalid multinomial distribution (sum of probabilities <= 0)"),
    ("multinomial(M.tensor([0.0, 0.0]), 1, True)", RuntimeError, "invalid multinomial distribution"),
    ("multinomial(M.tensor([1, 2]), 1)", RuntimeError,
     "multinomial only supports floating-point dtypes for input, got: Long"),
    ("multinomial(M.tensor(1.0), 1)", RuntimeError, "prob_dist must be 1 or 2 dim"),
    ("multinomial(M.ones(2, 2, 2), 1)", RuntimeError, "prob_dist must be 1 or 2 dim"),
    ("multinomial(M.ones(2), 0)", RuntimeError, "cannot sample n_sample <= 0 samples"),
    ("multinomial(M.ones(2**24 + 1), 1)", RuntimeError, "number of categories cannot exceed 2^24"),
    ("multinomial(M.ones(2), 1, out=M.zeros(1, dtype=M.int32))", RuntimeError, None),
]


@pytest.mark.parametrize("expr,exc,message", MULTINOMIAL_ERRORS)
def test_multinomial_errors_as_torch(expr, exc, message):
    for M in (R,) if torch is None else (R, torch):
        with pytest.raises(exc) as info:
            eval("M." + expr, {"M": M})
        if message:
            assert str(info.value).startswith(message), (M.__name__, str(info.value))


SHAPES = ["multinomial(M.tensor([0.2, 0.8]), 3, True)", "multinomial(M.ones(3, 4), 2)",
          "multinomial(M.ones(0, 3), 1)", "multinomial(M.ones(2, dtype=M.float64), 1)",
          "multinomial(M.ones(2, dtype=M.float16), 2)", "multinomial(M.ones(3, requires_grad=True), 1)",
          "bernoulli(M.full((2, 3), 0.5))", "bernoulli(M.full((2,), 0.5, dtype=M.float64))",
          "bernoulli(M.zeros(2, dtype=M.int64), 0.5)", "bernoulli(M.zeros(2), p=0.5)",
          "bernoulli(M.full((3,), 0.5), out=M.zeros(3, dtype=M.int64))",
          "poisson(M.ones(4))", "poisson(M.ones(2, dtype=M.float64))", "poisson(M.ones(2, dtype=M.float16))",
          "normal(M.zeros(3), M.ones(3))", "normal(M.zeros(3), M.ones(2, 3))", "normal(M.zeros(3), M.ones(3, 1))",
          "normal(M.zeros(3), 2.0)", "normal(0.0, M.ones(2, 2))", "normal(0.0, 1.0, (2,))",
          "normal(2, 3, size=(2, 1))", "normal(0.0, 1.0, (2,), dtype=M.float64)",
          "normal(M.zeros(3, dtype=M.float64), M.ones(3))", "normal(M.zeros(3), M.ones(3, dtype=M.float64))",
          "normal(M.zeros(3, dtype=M.float16), 1.0)",
          "normal(M.zeros(3), M.ones(3), out=M.zeros(3, dtype=M.float64))",
          "normal(M.zeros(3), M.ones(3, dtype=M.int64))",
          "M.zeros(3).bernoulli(0.3)", "M.full((3,), 0.5).bernoulli()",
          "rand_like(M.zeros(2, dtype=M.float64))", "randn_like(M.zeros(2, dtype=M.float16))",
          "randint_like(M.zeros(2), 3, 10)", "randint_like(M.zeros(2), high=10)",
          "randint_like(M.zeros(2, dtype=M.bool), 2)", "randint_like(M.zeros(2, dtype=M.int64), 5, dtype=M.float32)",
          # 0-dim tensors that do not require grad pass for the numbers of normal(mean, std, size)
          "normal(M.tensor(0.), M.tensor(1.), (3,))", "normal(M.tensor(0), 1.0, [2, 1], dtype=M.float64)",
          "normal(M.tensor(0.), M.tensor(1.))", "normal(0.0, 1.0, M.Size([2]))"]
# torch 2.13's (dtype, shape) of each, for the bare install
SHAPES_TORCH = [("int64", (3,)), ("int64", (3, 2)), ("int64", (0, 1)), ("int64", (1,)), ("int64", (2,)),
                ("int64", (1,)), ("float32", (2, 3)), ("float64", (2,)), ("int64", (2,)), ("float32", (2,)),
                ("int64", (3,)), ("float32", (4,)), ("float64", (2,)), ("float16", (2,)),
                ("float32", (3,)), ("float32", (2, 3)), ("float32", (3, 3)), ("float32", (3,)),
                ("float32", (2, 2)), ("float32", (2,)), ("float32", (2, 1)), ("float64", (2,)),
                ("float64", (3,)), ("float32", (3,)), ("float16", (3,)), ("float64", (3,)), ("float32", (3,)),
                ("float32", (3,)), ("float32", (3,)), ("float64", (2,)), ("float16", (2,)), ("float32", (2,)),
                ("float32", (2,)), ("bool", (2,)), ("float32", (2,)),
                ("float32", (3,)), ("float64", (2, 1)), ("float32", ()), ("float32", (2,))]


def _dtype_and_shape(M, expr):
    out = eval(expr if expr.startswith("M.") else "M." + expr, {"M": M})
    return str(out.dtype).replace("torch.", ""), tuple(out.shape)


@pytest.mark.parametrize("expr,expected", list(zip(SHAPES, SHAPES_TORCH)))
def test_dtypes_and_shapes_as_torch(expr, expected):
    assert _dtype_and_shape(R, expr) == expected
    if torch is not None:
        assert _dtype_and_shape(torch, expr) == expected


# -------------------------------------------------------------------------------- bernoulli


def _within(frequency, p, n, sigmas=5):
    return abs(frequency - p) <= sigmas * np.sqrt(p * (1 - p) / n) + 1e-12


def test_bernoulli_of_a_probability_tensor_draws_each_with_its_probability():
    probs = R.tensor([0.0, 0.25, 0.5, 0.9, 1.0]).expand(20000, 5)
    draws = R.bernoulli(probs, generator=gen()).numpy()
    assert set(np.unique(draws)) <= {0.0, 1.0}
    for j, p in enumerate([0.0, 0.25, 0.5, 0.9, 1.0]):
        assert _within(draws[:, j].mean(), p, 20000), (p, draws[:, j].mean())


def test_bernoulli_with_a_number_p_and_the_in_place_fill():
    draws = R.bernoulli(R.zeros(20000, dtype=R.int64), 0.3, generator=gen(1))
    assert draws.dtype is R.int64 and _within(draws.double().mean().item(), 0.3, 20000)
    filled = R.zeros(20000, dtype=R.bool).bernoulli_(0.7, generator=gen(2))
    assert filled.dtype is R.bool and _within(filled.double().mean().item(), 0.7, 20000)
    # a probability tensor broadcast over self's rows
    rows = R.zeros(10000, 3).bernoulli_(R.tensor([0.0, 0.5, 1.0]), generator=gen(3)).numpy()
    assert rows[:, 0].max() == 0 and rows[:, 2].min() == 1 and _within(rows[:, 1].mean(), 0.5, 10000)
    assert R.zeros(20000).bernoulli_(generator=gen(4)).mean().item() == pytest.approx(0.5, abs=0.02)


BERNOULLI_ERRORS = [
    ("bernoulli(M.tensor([0.0, 1.5]))", RuntimeError, "Expected p_in >= 0 && p_in <= 1 to be true"),
    ("bernoulli(M.tensor([0.0, -0.5]))", RuntimeError, "Expected p_in >= 0 && p_in <= 1 to be true"),
    ("bernoulli(M.tensor([0.0, float('nan')]))", RuntimeError, "Expected p_in >= 0 && p_in <= 1 to be true"),
    ("bernoulli(M.tensor([0, 1]))", NotImplementedError, "\"bernoulli_tensor_cpu_p_\" not implemented for 'Long'"),
    ("bernoulli(M.tensor([0, 1]), 2.0)", RuntimeError, "bernoulli_ expects p to be in [0, 1], but got p=2"),
    ("zeros(3).bernoulli_(-0.1)", RuntimeError, "bernoulli_ expects p to be in [0, 1], but got p=-0.1"),
    ("zeros(3).bernoulli_(M.tensor([0.0, 1.0]))", RuntimeError, None),
    ("zeros(3).bernoulli_(M.tensor([[0.0, 1.0, 1.0]] * 2))", RuntimeError, None),
    ("zeros(3).bernoulli_(M.tensor([0, 1, 1]))", NotImplementedError, "\"bernoulli_tensor_cpu_p_\""),
    ("zeros(3, requires_grad=True).bernoulli_(0.5)", RuntimeError, "a leaf Variable that requires grad"),
]


@pytest.mark.parametrize("expr,exc,message", BERNOULLI_ERRORS)
def test_bernoulli_errors_as_torch(expr, exc, message):
    for M in (R,) if torch is None else (R, torch):
        with pytest.raises(exc) as info:
            eval("M." + expr, {"M": M})
        if message:
            assert str(info.value).startswith(message), (M.__name__, str(info.value))


# ---------------------------------------------------------------------------------- poisson


def test_poisson_counts_follow_the_poisson_law():
    from math import exp, factorial

    rate = 3.0
    draws = R.poisson(R.full((20000,), rate), generator=gen()).numpy()
    assert draws.dtype == np.float32 and (draws == np.round(draws)).all()
    counts = np.bincount(draws.astype(int))
    pmf = [exp(-rate) * rate**k / factorial(k) for k in range(8)]
    assert_fits(list(counts[:8]) + [counts[8:].sum()], pmf + [1 - sum(pmf)])
    assert R.poisson(R.zeros(5)).tolist() == [0.0] * 5
    big = R.poisson(R.full((4000,), 1000.0, dtype=R.float64), gen(1)).numpy()
    assert abs(big.mean() - 1000) < 5 * np.sqrt(1000 / 4000)


@pytest.mark.parametrize("expr,exc", [("poisson(M.tensor([0.0, -1.0]))", RuntimeError),
                                      ("poisson(M.tensor([0.0, float('nan')]))", RuntimeError),
                                      ("poisson(M.tensor([0, 1]))", NotImplementedError)])
def test_poisson_errors_as_torch(expr, exc):
    for M in (R,) if torch is None else (R, torch):
        with pytest.raises(exc):
            eval("M." + expr, {"M": M})


def test_poisson_of_a_0_dim_rate_draws_a_0_dim_tensor():
    """NumPy draws a Python int for a 0-dim rate: poisson(tensor(3.)) raised AttributeError."""
    for dtype in (R.float32, R.float64):
        draw = R.poisson(R.tensor(3.0, dtype=dtype), generator=gen())
        assert draw.shape == () and draw.dtype == dtype and draw.item() == int(draw.item())


def test_poisson_of_an_infinite_rate_raises():
    """torch returns a meaningless count (-9.2e18) for an infinite rate; retrograd refuses it."""
    with pytest.raises(RuntimeError, match="inf has no finite sample"):
        R.poisson(R.tensor([1.0, float("inf")]))


# ----------------------------------------------------------------------------------- normal


def test_normal_with_tensor_mean_and_std_has_their_moments():
    mean, std = R.tensor([-5.0, 0.0, 5.0]), R.tensor([[0.5], [2.0]])
    draws = R.normal(mean.expand(5000, 2, 3), std.expand(5000, 2, 1), generator=gen()).numpy()
    assert draws.shape == (5000, 2, 3)
    n = 5000
    for i, s in enumerate([0.5, 2.0]):
        for j, m in enumerate([-5.0, 0.0, 5.0]):
            x = draws[:, i, j]
            assert abs(x.mean() - m) < 5 * s / np.sqrt(n)
            assert abs(x.std() - s) < 5 * s / np.sqrt(2 * n)


def test_normal_number_and_tensor_mixes_and_size():
    a = R.normal(R.full((20000,), 3.0), 2.0, generator=gen(1)).numpy()
    b = R.normal(-1.0, R.full((20000,), 0.5), generator=gen(2)).numpy()
    c = R.normal(10.0, 4.0, (20000,), generator=gen(3)).numpy()
    for x, m, s in ((a, 3.0, 2.0), (b, -1.0, 0.5), (c, 10.0, 4.0)):
        assert abs(x.mean() - m) < 5 * s / np.sqrt(20000) and abs(x.std() - s) < 5 * s / np.sqrt(40000)
    assert R.normal(R.zeros(3), R.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    assert R.normal(0.0, 1.0, (3,), requires_grad=True).requires_grad


NORMAL_ERRORS = [
    ("normal(0.0, 1.0)", TypeError, None),
    ("normal(M.zeros(3), 1.0, size=(3,))", TypeError, None),
    ("normal(M.zeros(3), M.ones(3), requires_grad=True)", TypeError, None),
    ("normal(M.zeros(3), -1.0)", RuntimeError, "normal expects std >= 0.0, but found std -1"),
    ("normal(0.0, -1.0, (2,))", RuntimeError, "normal expects std >= 0.0, but found std -1"),
    ("normal(M.zeros(3), float('nan'))", RuntimeError, "normal expects std >= 0.0, but found std nan"),
    ("normal(M.zeros(3), M.tensor([1.0, -1.0, 1.0]))", RuntimeError, "normal expects all elements of std >= 0.0"),
    ("normal(M.zeros(3), M.ones(2))", RuntimeError, None),
    ("normal(M.zeros(3, dtype=M.int64), M.ones(3))", NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Long'"),
    ("normal(0.0, M.ones(3, dtype=M.int64))", NotImplementedError, "\"normal_kernel_cpu\" not implemented"),
    ("normal(0.0, 1.0, (2,), dtype=M.int64)", NotImplementedError, None),
    # torch's four overloads: with a tensor mean or std only generator= and out=, size only with numbers
    ("normal(M.zeros(3), M.ones(3), device='cpu')", TypeError, "normal() received an invalid combination of "
     "arguments - got (Tensor, Tensor, device=str), but expected one of:\n * (Tensor mean, Tensor std, *, "
     "torch.Generator generator = None, Tensor out = None)\n"),
    ("normal(M.zeros(3), 1.0, dtype=M.float64)", TypeError, "normal() received an invalid combination of "
     "arguments - got (Tensor, float, dtype=torch.dtype), but expected one of:"),
    ("normal(0.0, M.ones(3), device=M.device('cpu'))", TypeError, None),
    ("normal(M.zeros(3), M.ones(3), layout=M.strided)", TypeError, None),
    ("normal(M.zeros(3), M.ones(3), pin_memory=True)", TypeError, None),
    ("normal(M.tensor(0.), M.tensor(1.), dtype=M.float64)", TypeError, None),
    ("normal(0.0, 1.0, 5)", TypeError, "normal() received an invalid combination of arguments - got (float, "
     "float, int), but expected one of:"),
    ("normal(0.0, 1.0, M.tensor([2, 3]))", TypeError, None),
    ("normal(M.zeros(1), 1.0, (3,))", TypeError, None),
    ("normal(M.tensor(0., requires_grad=True), 1.0, (3,))", TypeError, None),
]


@pytest.mark.parametrize("expr,exc,message", NORMAL_ERRORS)
def test_normal_errors_as_torch(expr, exc, message):
    for M in (R,) if torch is None else (R, torch):
        with pytest.raises(exc) as info:
            eval("M." + expr, {"M": M})
        if message:
            assert str(info.value).startswith(message), (M.__name__, str(info.value))


# -------------------------------------------------------------------------------- gradients

GRADS = [  # (expression of the sample from leaves x (and s), grad_fn name in torch)
    ("M.normal(x, 1.0)", "NormalBackward1"), ("M.normal(0.0, s)", "NormalBackward2"),
    ("M.normal(x, s)", "NormalBackward3"), ("M.bernoulli(x)", "BernoulliBackward0"),
    ("M.poisson(x)", "PoissonBackward0"), ("x.bernoulli()", "BernoulliBackward0"),
]


@pytest.mark.parametrize("expr,name", GRADS)
def test_samples_have_torchs_node_and_a_zero_gradient(expr, name):
    for M in (R,) if torch is None else (R, torch):
        x = M.full((2, 3), 0.5, requires_grad=True)
        s = M.full((3,), 0.5, dtype=M.float64, requires_grad=True)
        y = eval(expr, {"M": M, "x": x, "s": s})
        assert type(y.grad_fn).__name__ == name if M is torch else y.grad_fn.name() == name
        y.sum().backward()
        for leaf in (x, s):
            if leaf.grad is not None:
                assert leaf.grad.tolist() == M.zeros_like(leaf).tolist() and leaf.grad.dtype == leaf.dtype


def test_bernoulli_with_a_number_p_cannot_be_differentiated():
    for M in (R,) if torch is None else (R, torch):
        y = M.bernoulli(M.full((3,), 0.5, requires_grad=True), 0.3)
        assert y.requires_grad
        with pytest.raises(RuntimeError, match="derivative for aten::bernoulli is not implemented"):
            y.sum().backward()


def test_multinomial_is_not_differentiable():
    assert not R.multinomial(R.ones(3, requires_grad=True), 2).requires_grad


# ------------------------------------------------------------------------ fills and *_like


def test_in_place_fills_follow_their_laws():
    n = 20000
    cases = [(R.zeros(n).uniform_(2.0, 4.0, generator=gen()), 3.0, np.sqrt(4 / 12)),
             (R.zeros(n).normal_(1.0, 3.0, generator=gen()), 1.0, 3.0),
             (R.zeros(n).exponential_(2.0, generator=gen()), 0.5, 0.5),
             (R.zeros(n, dtype=R.float64).geometric_(0.25, generator=gen()), 4.0, np.sqrt(0.75) / 0.25),
             (R.zeros(n).random_(0, 10, generator=gen()), 4.5, np.sqrt(99 / 12))]
    for t, mean, std in cases:
        x = t.numpy().astype(np.float64)
        assert abs(x.mean() - mean) < 5 * std / np.sqrt(n), (mean, x.mean())
    median = np.median(R.zeros(n).cauchy_(2.0, 0.5, generator=gen()).numpy())
    assert abs(median - 2.0) < 0.05
    full = R.zeros(n, dtype=R.int8).random_(generator=gen()).numpy()
    assert full.min() >= 0 and full.max() == 127
    assert R.zeros(n).random_(generator=gen()).max().item() <= 2**24


@pytest.mark.parametrize("expr,exc", [
    ("zeros(3).random_(5, 2)", RuntimeError), ("zeros(3).random_(0)", RuntimeError),
    ("randint(5, 3, (2,))", RuntimeError), ("randint_like(M.zeros(2), -1)", RuntimeError),
    ("zeros(3).normal_(0.0, -1.0)", RuntimeError), ("zeros(3).geometric_(1.5)", RuntimeError),
    ("rand_like(M.zeros(2, dtype=M.int64))", NotImplementedError),
    ("randn_like(M.zeros(2, dtype=M.int64))", NotImplementedError),
])
def test_fill_and_like_errors_as_torch(expr, exc):
    for M in (R,) if torch is None else (R, torch):
        with pytest.raises(exc):
            eval("M." + expr, {"M": M})


def test_like_constructors_take_a_generator_and_requires_grad():
    x = R.zeros(3, 4, dtype=R.float64)
    for fn, args in ((R.rand_like, ()), (R.randn_like, ()), (R.randint_like, (10,))):
        a, b = fn(x, *args, generator=gen(7)), fn(x, *args, generator=gen(7))
        assert a.tolist() == b.tolist() and a.dtype is R.float64 and tuple(a.shape) == (3, 4)
        assert fn(x, *args, requires_grad=True).requires_grad
    assert 0 <= R.rand_like(x).min().item() and R.rand_like(x).max().item() < 1


@requires_torch
def test_tensor_methods_exist_as_in_torch():
    for name in ("multinomial", "bernoulli", "bernoulli_", "normal_", "cauchy_", "geometric_", "exponential_",
                 "log_normal_", "random_", "uniform_"):
        assert hasattr(torch.Tensor, name) and hasattr(R.Tensor, name), name


def test_binomial_draws_counts_of_successes():
    t = R
    g = t.Generator().manual_seed(3)
    draws = t.binomial(t.full((4000,), 10.0), t.full((4000,), 0.3), generator=g)
    assert draws.dtype == t.float32 and set(np.unique(draws.numpy())) <= set(range(11))
    assert abs(draws.mean().item() - 3.0) < 0.15 and abs(draws.var().item() - 2.1) < 0.3
    again = t.binomial(t.full((4000,), 10.0), t.full((4000,), 0.3), generator=t.Generator().manual_seed(3))
    assert t.equal(draws, again)
    edges = t.binomial(t.tensor([5.0, 0.0, -1.0, 4.0]), t.tensor([1.5, 0.3, 0.5, 0.0]))  # p clipped, n < 0 draws 0
    assert edges.tolist() == [5.0, 0.0, 0.0, 0.0]
    assert t.binomial(t.tensor([5.0, 10.0], dtype=t.float64), t.tensor([0.5])).dtype == t.float64  # p broadcasts
    with pytest.raises(ValueError, match="binomial only supports floating-point dtypes for count, got: Long"):
        t.binomial(t.tensor([5, 10]), t.tensor([0.5, 0.1]))
    x = t.tensor([5.0], requires_grad=True)
    r = t.binomial(x, t.tensor([0.5]))
    assert r.requires_grad and r.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::binomial is not implemented"):
        r.sum().backward()
