"""nn.functional re-exports every family's functions, with nn.functional's signatures."""

import numpy as np
import pytest
from helpers import assert_values_and_grads, check_op, requires_torch, torch

import retrograd
import retrograd.nn.functional as F
from retrograd.ops import linear as linear_ops
from retrograd.ops import loss as loss_ops

MINE = ["linear", "bilinear", "relu", "tanh", "sigmoid", "softmax", "log_softmax", "softmin", "mse_loss",
        "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
        "l1_loss", "smooth_l1_loss", "huber_loss"]


@pytest.mark.parametrize("name", MINE)
def test_names_present(name):
    assert callable(getattr(F, name))


def test_functional_lists_are_exported():
    for mod in (linear_ops, loss_ops):
        for name in mod.FUNCTIONAL:
            assert getattr(F, name) is getattr(mod, name)
    import importlib

    for fam in ("activation", "softmax", "conv", "pooling", "normalization", "dropout", "embedding", "upsample",
                "counting"):
        try:
            mod = importlib.import_module(f"retrograd.ops.{fam}")
        except ImportError:
            continue
        for name in getattr(mod, "FUNCTIONAL", []):
            assert hasattr(F, name), f"nn.functional lacks {name} from ops.{fam}"


def test_relu_inplace():
    x = retrograd.tensor([-1.0, 2.0])
    assert F.relu(x, inplace=True) is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 2.0])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim):
    check_op(lambda t, x: t.nn.functional.softmax(x, dim=dim), (3, 4))
    check_op(lambda t, x: t.nn.functional.log_softmax(x, dim=dim), (3, 4))
    check_op(lambda t, x: t.nn.functional.softmin(x, dim=dim), (3, 4))


def test_softmax_stable():
    x = retrograd.tensor([[1000.0, 0.0, -1000.0]])
    np.testing.assert_allclose(F.softmax(x, dim=1).numpy(), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(F.log_softmax(x, dim=1).numpy(), [[0.0, -1000.0, -2000.0]])


@requires_torch
def test_mlp_functional_matches_torch():
    rng = np.random.default_rng(0)
    x, w1, b1, w2 = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4), \
        rng.standard_normal((2, 4))
    tgt = np.array([0, 1, 1, 0, 1])
    out = []
    for lib in (retrograd, torch):
        ps = [lib.tensor(a, requires_grad=True) for a in (w1, b1, w2)]
        h = lib.nn.functional.relu(lib.nn.functional.linear(lib.tensor(x), ps[0], ps[1]))
        loss = lib.nn.functional.cross_entropy(lib.nn.functional.linear(h, ps[2]), lib.tensor(tgt))
        loss.backward()
        out.append([loss.item()] + [p.grad.numpy().copy() for p in ps])
    for a, b in zip(*out):
        np.testing.assert_allclose(a, b, rtol=1e-10)


@pytest.mark.parametrize("p, dim", [(2, 1), (2, 0), (1, 1), (3, -1)])
def test_normalize(p, dim):
    check_op(lambda t, x: t.nn.functional.normalize(x, p=p, dim=dim), (3, 4))


# torch 2.13 (recorded) for rows [0, 0, 0], [1, -2, 3], [0, 1, -2]: the norm's gradient is 0 at
# a zero row and at zero entries, so d/dx of x / max(||x||, eps) is 1/eps on a zero row (was nan)
NORMALIZE_AT_ZERO = {
    2: ([[0.2672612419124244, -0.5345224838248488, 0.8017837257372732], [0.0, 0.4472135954999579, -0.8944271909999159]],
        [[0.22908106449636378, 0.3436215967445456, 0.1527207096642425], [0.4472135954999579, 0.5366563145999494,
                                                                         0.2683281572999748]]),
    1: ([[1 / 6, -2 / 6, 3 / 6], [0.0, 1 / 3, -2 / 3]], [[1 / 9, 2 / 9, 1 / 9], [1 / 3, 4 / 9, 2 / 9]]),
    3: ([[0.30285343213869, -0.60570686427738, 0.90856029641607], [0.0, 0.4807498567691361, -0.9614997135382722]],
        [[0.2860282414643183, 0.3701541948361767, 0.15142671606934496], [0.4807498567691361, 0.5341665075212624,
                                                                          0.2670832537606312]]),
    float("inf"): ([[1 / 3, -2 / 3, 1.0], [0.0, 0.5, -1.0]], [[1 / 3, 1 / 3, 1 / 9], [0.5, 0.5, 0.25]]),
    1.5: ([[0.23070057753660797, -0.46140115507321594, 0.6921017326098239], [0.0, 0.4086201168114481,
                                                                             -0.8172402336228962]],
          [[0.17957341392227139, 0.30300530572567097, 0.1421457325096902], [0.4086201168114481, 0.515353274710735,
                                                                             0.2576766373553675]]),
    0.5: ([[0.05816825300525991, -0.11633650601051981, 0.17450475901577972], [0.0, 0.1715728752538099,
                                                                              -0.3431457505076198]],
          [[0.030110103396206407, 0.07800836086136831, 0.04196887277551008], [0.1715728752538099, 0.24264068711928516,
                                                                               0.12132034355964258]]),
}


@pytest.mark.parametrize("p", list(NORMALIZE_AT_ZERO))
def test_normalize_of_zeros_has_torchs_finite_gradient(p):
    value, grad = NORMALIZE_AT_ZERO[p]
    assert_values_and_grads(lambda t, x: t.nn.functional.normalize(x, p), [[[0.0, 0, 0], [1, -2, 3], [0, 1, -2]]],
                            [[[0.0, 0, 0]] + value, [[1e12] * 3] + grad], rtol=1e-7)


def test_gumbel_softmax():
    retrograd.manual_seed(0)
    x = retrograd.randn(5, 4, requires_grad=True)
    y = F.gumbel_softmax(x, tau=0.5)
    np.testing.assert_allclose(y.detach().numpy().sum(1), np.ones(5), rtol=1e-6)
    h = F.gumbel_softmax(x, hard=True)
    assert set(np.unique(h.detach().numpy())) <= {0.0, 1.0} and np.all(h.detach().numpy().sum(1) == 1)
    (h * retrograd.arange(4.0)).sum().backward()  # straight-through: the soft sample's gradient
    assert x.grad is not None and np.abs(x.grad.numpy()).sum() > 0
