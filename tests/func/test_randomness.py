"""vmap's randomness modes (func/_randomness.py): 'error' raises torch's error for every random
op, 'same' draws once for all the samples (the numbers a draw outside vmap gives), 'different'
draws every sample's numbers in one call (the numbers of one draw of the batch's size)."""

import numpy as np
import pytest

import retrograd
from retrograd.func import reset_vmap_fallbacks, vmap, vmap_fallbacks
from retrograd.nn import functional as F
from tests.helpers import torch

B = 4
X = retrograd.ones(B, 6, 5, dtype=retrograd.float64)

RANDOM_OPS = {  # a function of one (6, 5) sample that draws
    "dropout": lambda t, a: t.nn.functional.dropout(a, 0.5),
    "Dropout module": lambda t, a: t.nn.Dropout(0.3)(a),
    "dropout2d": lambda t, a: t.nn.functional.dropout2d(a[None, :, :, None], 0.5)[0, :, :, 0],
    "rrelu": lambda t, a: t.nn.functional.rrelu(-a, training=True),
    "rand": lambda t, a: a * t.rand(6, 5, dtype=t.float64),
    "randn": lambda t, a: a + t.randn(5, dtype=t.float64),
    "rand_like": lambda t, a: t.rand_like(a),
    "randn_like": lambda t, a: t.randn_like(a),
    "randint": lambda t, a: a + t.randint(0, 10, (5,)),
    "normal": lambda t, a: a + t.normal(0.0, 1.0, (6, 5), dtype=t.float64),
    "bernoulli": lambda t, a: a * t.bernoulli(t.full((6, 5), 0.5, dtype=t.float64)),
    "normal_ of a batched tensor": lambda t, a: a.clone().normal_(),
    "attention dropout": lambda t, a: t.nn.functional.scaled_dot_product_attention(a, a, a, dropout_p=0.5),
    "Normal.rsample": lambda t, a: t.distributions.Normal(a, 1.0).rsample(),
    "Bernoulli.sample": lambda t, a: t.distributions.Bernoulli(probs=a * 0.5).sample(),
}
NOT_IN_TORCH = {"rrelu"}  # torch.func.vmap raises "we do not yet support aten::rrelu" in every mode


@pytest.mark.parametrize("name", RANDOM_OPS)
def test_error_mode_raises_torchs_error(name):
    with pytest.raises(RuntimeError, match="called random operation while in randomness error mode"):
        vmap(lambda a: RANDOM_OPS[name](retrograd, a))(X)
    if torch is not None and name not in NOT_IN_TORCH:
        with pytest.raises(RuntimeError, match="called random operation while in randomness error mode"):
            torch.func.vmap(lambda a: RANDOM_OPS[name](torch, a))(torch.ones(B, 6, 5, dtype=torch.float64))


@pytest.mark.parametrize("name", RANDOM_OPS)
def test_same_is_one_draw_shared_and_different_differs(name):
    fn = lambda a: RANDOM_OPS[name](retrograd, a)  # noqa: E731
    retrograd.manual_seed(0)
    same = vmap(fn, randomness="same")(X)
    assert (same == same[0]).all()
    retrograd.manual_seed(0)
    different = vmap(fn, randomness="different")(X)
    assert tuple(different.shape) == tuple(same.shape)
    assert not (different == different[0]).all()
    retrograd.manual_seed(0)
    again = vmap(fn, randomness="different")(X)
    assert (again == different).all()  # a seed reproduces the draws


def test_same_gives_the_numbers_of_a_draw_outside_vmap():
    retrograd.manual_seed(3)
    out = vmap(lambda a: a + retrograd.randn(5, dtype=retrograd.float64), randomness="same")(X)
    retrograd.manual_seed(3)
    expected = X + retrograd.randn(5, dtype=retrograd.float64)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_different_is_one_draw_of_the_batch():
    """The samples' numbers are one draw of size (B, *sample's size), not B draws in a loop."""
    reset_vmap_fallbacks()
    retrograd.manual_seed(5)
    out = vmap(lambda a: a * 0 + retrograd.rand(6, 5, dtype=retrograd.float64), randomness="different")(X)
    assert vmap_fallbacks() == {}
    retrograd.manual_seed(5)
    np.testing.assert_array_equal(out.numpy(), retrograd.rand(B, 6, 5, dtype=retrograd.float64).numpy())
    retrograd.manual_seed(5)  # nested: one draw of both vmaps' sizes
    nested = vmap(vmap(lambda a: retrograd.rand(2, dtype=retrograd.float64) + a[0, 0] * 0, randomness="different"),
                  randomness="different")(X.reshape(2, 2, 6, 5))
    retrograd.manual_seed(5)
    np.testing.assert_array_equal(nested.numpy(), retrograd.rand(2, 2, 2, dtype=retrograd.float64).numpy())


def test_different_dropout_statistics():
    """Each sample's mask keeps about 1 - p of the elements, independently of the others."""
    x = retrograd.ones(64, 2000, dtype=retrograd.float64)
    retrograd.manual_seed(0)
    kept = (vmap(lambda a: F.dropout(a, 0.3), randomness="different")(x) > 0).double()
    per_sample = kept.mean(1).numpy()
    sd = np.sqrt(0.7 * 0.3 / 2000)
    assert np.all(np.abs(per_sample - 0.7) < 5 * sd)
    corr = np.corrcoef(kept.numpy())[np.triu_indices(64, 1)]
    assert np.abs(corr).max() < 0.12 and abs(corr.mean()) < 0.01  # independent masks
    retrograd.manual_seed(0)
    z = vmap(lambda a: retrograd.randn_like(a), randomness="different")(x).numpy()
    assert abs(z.mean()) < 5 / np.sqrt(z.size) and abs(z.std() - 1) < 0.01


def test_in_place_randomness_of_an_unbatched_tensor_raises_as_torch():
    fn = lambda t, a: a + t.empty(5, dtype=t.float64).normal_()  # noqa: E731
    with pytest.raises(RuntimeError, match="Cannot ask for different inplace randomness on an unbatched tensor"):
        vmap(lambda a: fn(retrograd, a), randomness="different")(X)
    if torch is not None:
        with pytest.raises(RuntimeError, match="Cannot ask for different inplace randomness on an unbatched tensor"):
            torch.func.vmap(lambda a: fn(torch, a), randomness="different")(torch.ones(B, 6, 5, dtype=torch.float64))
    out = vmap(lambda a: fn(retrograd, a), randomness="same")(X)
    assert (out == out[0]).all()


def test_random_ops_of_batched_tensors():
    """Bernoulli of a batched probability: 'same' runs once per sample, replaying the first
    sample's numbers for the others; 'different' draws the batch's numbers in one call."""
    p = retrograd.full((B, 200), 0.5, dtype=retrograd.float64)
    reset_vmap_fallbacks()
    same = vmap(retrograd.bernoulli, randomness="same")(p)
    assert vmap_fallbacks() == {"Bernoulli": 1}
    assert (same == same[0]).all()
    reset_vmap_fallbacks()
    retrograd.manual_seed(2)  # 'different': one draw for the batch (its rule), as bernoulli of the batch
    different = vmap(retrograd.bernoulli, randomness="different")(p)
    assert vmap_fallbacks() == {}
    assert not (different == different[0]).all()
    retrograd.manual_seed(2)
    assert (different == retrograd.bernoulli(p)).all()


def test_permutations_are_shared_as_torchs():
    """torch's randperm under randomness='different' gives every sample the same permutation."""
    out = vmap(lambda a: a[retrograd.randperm(6)], randomness="different")(retrograd.arange(B * 6.0).reshape(B, 6))
    assert (out - out[:, :1] == (out - out[:, :1])[0]).all()
