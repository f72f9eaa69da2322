"""Losses: every functional form against finite differences (gradcheck and gradgradcheck in
float64) and torch; modules against torch's modules; stability and errors."""

import warnings

import numpy as np
import pytest
from helpers import assert_values_and_grads, check_op, rand, reference, requires_torch, torch

import retrograd
from retrograd import nn
import retrograd.nn.functional as F
from retrograd.ops import loss as _loss_ops

IDX = np.array([0, 2, 1, 2])
IDX_IGN = np.array([0, -100, 1, 2])
IDX_K = np.array([[0, 2, 1], [1, 1, 0]])
W3 = np.array([0.2, 1.0, 0.7])
PROBS = np.abs(rand(4, 3, seed=7)) + 0.1
PROBS = PROBS / PROBS.sum(1, keepdims=True)
Y01 = (rand(3, 4, seed=5) > 0).astype(np.float64)
SIGN = np.array([1.0, -1.0, 1.0, -1.0])


def T(t, a):
    return t.tensor(a)


RED = ["mean", "sum", "none"]

CASES = {
    # regression
    "mse": (lambda t, x, y, r: t.nn.functional.mse_loss(x, y, reduction=r), (3, 4), (3, 4)),
    "l1": (lambda t, x, y, r: t.nn.functional.l1_loss(x, y, reduction=r), (3, 4), (3, 4)),
    "smooth_l1": (lambda t, x, y, r: t.nn.functional.smooth_l1_loss(x, y, reduction=r, beta=0.5), (3, 4), (3, 4)),
    "smooth_l1_beta0": (lambda t, x, y, r: t.nn.functional.smooth_l1_loss(x, y, reduction=r, beta=0.0),
                        (3, 4), (3, 4)),
    "huber": (lambda t, x, y, r: t.nn.functional.huber_loss(x, y, reduction=r, delta=0.4), (3, 4), (3, 4)),
    # classification from logits
    "ce": (lambda t, x, r: t.nn.functional.cross_entropy(x, T(t, IDX), reduction=r), (4, 3)),
    "ce_weight_ignore": (lambda t, x, r: t.nn.functional.cross_entropy(
        x, T(t, IDX_IGN), weight=T(t, W3), reduction=r), (4, 3)),
    "ce_smooth": (lambda t, x, r: t.nn.functional.cross_entropy(
        x, T(t, IDX_IGN), weight=T(t, W3), reduction=r, label_smoothing=0.2), (4, 3)),
    "ce_kdim": (lambda t, x, r: t.nn.functional.cross_entropy(x, T(t, IDX_K), reduction=r,
                                                              label_smoothing=0.1), (2, 3, 3)),
    "ce_unbatched": (lambda t, x, r: t.nn.functional.cross_entropy(x, T(t, np.array(1)), reduction=r), (3,)),
    "ce_probs": (lambda t, x, y, r: t.nn.functional.cross_entropy(x, y, reduction=r), (4, 3), PROBS),
    "ce_probs_w_smooth": (lambda t, x, y, r: t.nn.functional.cross_entropy(
        x, y, weight=T(t, W3), reduction=r, label_smoothing=0.3), (4, 3), PROBS),
    "nll": (lambda t, x, r: t.nn.functional.nll_loss(x, T(t, IDX_IGN), weight=T(t, W3), reduction=r), (4, 3)),
    "nll_kdim": (lambda t, x, r: t.nn.functional.nll_loss(x, T(t, IDX_K), reduction=r), (2, 3, 3)),
    # binary
    "bce": (lambda t, p, y, r: t.nn.functional.binary_cross_entropy(p, y, reduction=r), (3, 4), (3, 4)),
    "bce_weight": (lambda t, p, y, r: t.nn.functional.binary_cross_entropy(
        p, y, weight=T(t, rand(3, 4, low=0.5, high=1.5, seed=9)), reduction=r), (3, 4), Y01),
    "bce_logits": (lambda t, x, y, r: t.nn.functional.binary_cross_entropy_with_logits(x, y, reduction=r),
                   (3, 4), (3, 4)),
    "bce_logits_pw": (lambda t, x, y, r: t.nn.functional.binary_cross_entropy_with_logits(
        x, y, weight=T(t, rand(4, low=0.5, high=1.5, seed=4)), pos_weight=T(t, rand(4, low=0.5, high=3, seed=8)),
        reduction=r), (3, 4), Y01),
    # distributions
    "kl": (lambda t, x, y, r: t.nn.functional.kl_div(x, y, reduction=r), (3, 4), (3, 4)),
    "kl_log_target": (lambda t, x, y, r: t.nn.functional.kl_div(x, y, reduction=r, log_target=True),
                      (3, 4), (3, 4)),
    "gaussian_nll": (lambda t, x, y, v, r: t.nn.functional.gaussian_nll_loss(x, y, v, reduction=r),
                     (3, 4), (3, 4), (3, 4)),
    "gaussian_nll_full_1d_var": (lambda t, x, y, v, r: t.nn.functional.gaussian_nll_loss(
        x, y, v, full=True, reduction=r), (3, 4), (3, 4), (3,)),
    "poisson": (lambda t, x, y, r: t.nn.functional.poisson_nll_loss(x, y, reduction=r), (3, 4), (3, 4)),
    "poisson_full": (lambda t, x, y, r: t.nn.functional.poisson_nll_loss(
        x, y, log_input=False, full=True, reduction=r), (3, 4), np.array([[0.5, 2.0, 3.0, 1.5]] * 3)),
    # ranking / embedding
    "cosine_embedding": (lambda t, a, b, r: t.nn.functional.cosine_embedding_loss(
        a, b, T(t, SIGN), margin=0.1, reduction=r), (4, 3), (4, 3)),
    "margin_ranking": (lambda t, a, b, r: t.nn.functional.margin_ranking_loss(
        a, b, T(t, SIGN), margin=0.2, reduction=r), (4,), (4,)),
    "triplet": (lambda t, a, p, n, r: t.nn.functional.triplet_margin_loss(a, p, n, margin=0.5, reduction=r),
                (4, 3), (4, 3), (4, 3)),
    "triplet_p1_swap": (lambda t, a, p, n, r: t.nn.functional.triplet_margin_loss(
        a, p, n, margin=2.0, p=1, swap=True, reduction=r), (4, 3), (4, 3), (4, 3)),
    "hinge_embedding": (lambda t, x, r: t.nn.functional.hinge_embedding_loss(x, T(t, SIGN), reduction=r), (4,)),
    "soft_margin": (lambda t, x, r: t.nn.functional.soft_margin_loss(x, T(t, SIGN), reduction=r), (4,)),
    "multilabel_soft_margin": (lambda t, x, y, r: t.nn.functional.multilabel_soft_margin_loss(
        x, y, reduction=r), (3, 4), Y01),
    "multi_margin": (lambda t, x, r: t.nn.functional.multi_margin_loss(x, T(t, IDX), reduction=r), (4, 3)),
    "multi_margin_p2_w": (lambda t, x, r: t.nn.functional.multi_margin_loss(
        x, T(t, IDX), p=2, margin=0.7, weight=T(t, W3), reduction=r), (4, 3)),
    "multilabel_margin": (lambda t, x, r: t.nn.functional.multilabel_margin_loss(
        x, T(t, np.array([[2, 0, -1], [1, -1, 0]])), reduction=r), (2, 3)),
}

LOW_HIGH = {"bce": (0.05, 0.95), "bce_weight": (0.05, 0.95), "kl": (0.1, 1.0), "gaussian_nll": (0.2, 1.0),
            "gaussian_nll_full_1d_var": (0.2, 1.0), "poisson_full": (0.2, 1.0)}
NO_GRADGRAD = {"multilabel_margin"}


@pytest.mark.parametrize("reduction", RED)
@pytest.mark.parametrize("name", sorted(CASES))
def test_loss_functional(name, reduction):
    fn, *specs = CASES[name]
    low, high = LOW_HIGH.get(name, (-1.0, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_op(lambda t, *a: fn(t, *a, reduction), *specs, low=low, high=high,
                 gradgradcheck=name not in NO_GRADGRAD)


@pytest.mark.parametrize("make, args", [
    (lambda m: m.CrossEntropyLoss(weight=m_t(m, W3), ignore_index=1, label_smoothing=0.1), "ce"),
    (lambda m: m.NLLLoss(weight=m_t(m, W3)), "ce"),
    (lambda m: m.MSELoss(reduction="sum"), "reg"),
    (lambda m: m.L1Loss(), "reg"),
    (lambda m: m.SmoothL1Loss(beta=0.3), "reg"),
    (lambda m: m.HuberLoss(delta=0.3), "reg"),
    (lambda m: m.BCEWithLogitsLoss(pos_weight=m_t(m, np.full(3, 2.0))), "bin"),
    (lambda m: m.BCELoss(), "prob"),
    (lambda m: m.KLDivLoss(reduction="batchmean", log_target=True), "reg"),
    (lambda m: m.PoissonNLLLoss(), "reg"),
    (lambda m: m.SoftMarginLoss(), "sign"),
])
def test_loss_modules_match_torch(make, args):
    x = rand(4, 3, seed=1)
    if args == "ce":
        y = np.array([0, 2, 1, 1])
    elif args == "bin":
        y = Y01[:, :3][:4] if Y01.shape[0] >= 4 else np.array([[1.0, 0, 1]] * 4)
    elif args == "prob":
        x = rand(4, 3, low=0.1, high=0.9, seed=1)
        y = rand(4, 3, low=0.0, high=1.0, seed=2)
    elif args == "sign":
        y = np.sign(rand(4, 3, seed=3))
    else:
        y = rand(4, 3, seed=2)

    def run(lib):
        loss_fn = make(nn if lib is retrograd else lib.nn)
        xt = lib.tensor(x, requires_grad=True)
        loss = loss_fn(xt, lib.tensor(y))
        loss.backward()
        return repr(loss_fn), loss.item(), xt.grad.numpy()

    (r_repr, r_loss, r_grad), (t_repr, t_loss, t_grad) = run(retrograd), reference(lambda: run(torch), inputs=[x, y])
    assert r_repr == t_repr
    np.testing.assert_allclose(r_loss, t_loss, rtol=1e-10)
    np.testing.assert_allclose(r_grad, t_grad, rtol=1e-9, atol=1e-12)


def m_t(m, a):
    return (retrograd if m is nn else torch).tensor(a)


@requires_torch
def test_three_input_loss_modules_match_torch():
    a, b, c = rand(4, 3, seed=1), rand(4, 3, seed=2), rand(4, 3, seed=3)
    for make in (lambda m: m.TripletMarginLoss(margin=0.7), lambda m: m.CosineEmbeddingLoss(0.2),
                 lambda m: m.MarginRankingLoss(0.1), lambda m: m.GaussianNLLLoss(full=True)):
        rg, th = make(nn), make(torch.nn)
        assert repr(rg) == repr(th)
        if isinstance(rg, nn.CosineEmbeddingLoss):
            args = (a, b, SIGN)
        elif isinstance(rg, nn.MarginRankingLoss):
            args = (a[:, 0], b[:, 0], SIGN)
        elif isinstance(rg, nn.GaussianNLLLoss):
            args = (a, b, np.abs(c) + 0.1)
        else:
            args = (a, b, c)
        lr = rg(*[retrograd.tensor(v) for v in args])
        lt = th(*[torch.tensor(v) for v in args])
        np.testing.assert_allclose(lr.item(), lt.item(), rtol=1e-10)


def test_cross_entropy_stable_for_large_logits():
    x = retrograd.tensor([[1000.0, -1000.0, 0.0], [-5e4, 5e4, 1.0]], requires_grad=True)
    loss = F.cross_entropy(x, retrograd.tensor([1, 1]))
    assert np.isfinite(loss.item()) and abs(loss.item() - 1000.0) < 1e-3
    loss.backward()
    g = x.grad.numpy()
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)


def test_cross_entropy_backward_is_softmax_minus_onehot():
    x = rand(5, 4)
    t = np.array([0, 3, 1, 1, 2])
    xr = retrograd.tensor(x, requires_grad=True)
    F.cross_entropy(xr, retrograd.tensor(t)).backward()
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(xr.grad.numpy(), (p - np.eye(4)[t]) / 5)
    assert F.cross_entropy(xr, retrograd.tensor(t)).grad_fn.name() == "NllLossBackward0"


def test_bce_with_logits_stable_and_bce_clamps():
    x = retrograd.tensor([800.0, -800.0, 0.0], requires_grad=True)
    y = retrograd.tensor([0.0, 1.0, 1.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [800.0, 800.0, np.log(2)], rtol=1e-6)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, -0.5])
    p = retrograd.tensor([0.0, 1.0], requires_grad=True)
    out = F.binary_cross_entropy(p, retrograd.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(out.detach().numpy(), [100.0, 100.0])
    out.sum().backward()
    assert np.all(np.isfinite(p.grad.numpy()))


def test_class_targets_checked_around_ignored_rows():
    """Ignored rows (ignore_index, here negative) are neither checked nor counted; any other
    target outside [0, C) raises torch's IndexError, the first one named."""
    x = retrograd.randn(4, 3, requires_grad=True)
    with pytest.raises(IndexError, match="Target -2 is out of bounds"):
        F.cross_entropy(x, retrograd.tensor([0, -100, -2, 5]))
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.nll_loss(x, retrograd.tensor([-100, 3, 0, 1]))
    loss = F.cross_entropy(x, retrograd.tensor([0, -100, 2, -100]))
    loss.backward()
    logp = np.log(np.exp(x.detach().numpy()) / np.exp(x.detach().numpy()).sum(1, keepdims=True))
    np.testing.assert_allclose(float(loss), -(logp[0, 0] + logp[2, 2]) / 2, rtol=1e-6)
    assert np.all(x.grad.numpy()[[1, 3]] == 0)


def test_loss_errors():
    x = retrograd.randn(4, 3)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(x, retrograd.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(4\) to match target batch_size \(2\)"):
        F.cross_entropy(x, retrograd.tensor([0, 1]))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(x * 10, retrograd.zeros(4, 3))
    with pytest.raises(ValueError, match="different to the input size"):
        F.binary_cross_entropy(retrograd.rand(4, 3), retrograd.zeros(4))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 3 classes"):
        F.cross_entropy(x, retrograd.tensor([0, 1, 2, 1]), weight=retrograd.ones(2))
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(retrograd.randn(3, 1), retrograd.randn(3))
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(x, x, -retrograd.ones(4, 3))


def test_all_ignored_mean_is_nan_like_torch():
    out = F.cross_entropy(retrograd.randn(2, 3), retrograd.tensor([-100, -100]))
    assert np.isnan(out.item())


NAN = float("nan")
# torch 2.13 (recorded): the mean over no weight is nan, its gradient 0 on ignored rows (was nan)
ALL_IGNORED = [
    ("cross_entropy", lambda t, x: t.nn.functional.cross_entropy(x, t.tensor([-100, -100, -100])), [NAN, 0.0]),
    ("cross_entropy_4d", lambda t, x: t.nn.functional.cross_entropy(
        x.reshape(1, 3, 4, 1), t.tensor([[[7], [7], [7], [7]]]), ignore_index=7), [NAN, 0.0]),
    ("cross_entropy_smoothing_weight", lambda t, x: t.nn.functional.cross_entropy(
        x, t.tensor([-100, -100, -100]), weight=t.ones(4, dtype=t.float64), label_smoothing=0.1), [NAN, 0.0]),
    ("nll_loss", lambda t, x: t.nn.functional.nll_loss(x, t.tensor([-100, -100, -100])), [NAN, 0.0]),
    # not ignored but weighted 0: nan everywhere in torch too (smoothing used to give inf)
    ("cross_entropy_zero_weights", lambda t, x: t.nn.functional.cross_entropy(
        x, t.tensor([1, 2, 1]), weight=t.tensor([1.0, 0, 0, 1], dtype=t.float64), label_smoothing=0.2),
     [NAN, NAN]),
]


@pytest.mark.parametrize("name,fn,expected", ALL_IGNORED, ids=[c[0] for c in ALL_IGNORED])
def test_mean_over_ignored_targets_as_torch(name, fn, expected):
    x = rand(3, 4, seed=3)
    value, grad = expected
    with np.errstate(invalid="ignore"):  # nan is the answer here
        assert_values_and_grads(fn, [x], [value, np.full((3, 4), grad)])


# torch 2.13's float16 cross entropy (recorded): log_softmax then nll_loss, each rounding to
# float16 (and nll_loss summing in float32); the fused float16 computation gave other values
HALF_CE = [
    ("mean", 0.1502685546875,
     [[0.00412750244140625, 0.01122283935546875, 0.0305023193359375, 0.08282470703125, -0.128662109375],
      [0.0008287429809570312, 1.8537044525146484e-05, 0.0003361701965332031, -0.001461029052734375,
       5.036592483520508e-05]]),
    ("none", [0.297607421875, 0.002925872802734375],
     [[0.0082550048828125, 0.0224456787109375, 0.061004638671875, 0.1656494140625, -0.25732421875],
      [0.0016574859619140625, 3.707408905029297e-05, 0.0006723403930664062, -0.00292205810546875,
       0.00010073184967041016]]),
]


@pytest.mark.parametrize("reduction,value,grad", HALF_CE, ids=[c[0] for c in HALF_CE])
def test_cross_entropy_float16_like_torch(reduction, value, grad):
    x_values = [[1.0, 2.0, 3.0, 4.0, 5.5], [3.099609375, -0.7001953125, 2.19921875, 9.5, 0.300048828125]]
    for t in (retrograd,) if torch is None else (retrograd, torch):
        x = t.tensor(x_values, dtype=t.float16, requires_grad=True)
        out = t.nn.functional.cross_entropy(x, t.tensor([4, 3]), reduction=reduction)
        out.sum().backward()
        assert out.dtype == t.float16 and x.grad.dtype == t.float16
        np.testing.assert_array_equal(out.detach().numpy(), np.array(value, dtype=np.float16))
        np.testing.assert_array_equal(x.grad.numpy(), np.array(grad, dtype=np.float16))


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64"])
def test_label_smoothing_keeps_the_input_dtype(dtype):
    x = retrograd.randn(3, 4).to(getattr(retrograd, dtype))
    for reduction in ("none", "sum", "mean"):
        for weight in (None, retrograd.ones(4, dtype=x.dtype)):
            out = F.cross_entropy(x, retrograd.tensor([0, 1, -100]), weight=weight, label_smoothing=0.1,
                                  reduction=reduction)
            assert out.dtype == x.dtype, (reduction, weight is not None, out.dtype)


def test_legacy_size_average_reduce():
    x, y = retrograd.randn(3, 2), retrograd.randn(3, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.MSELoss(size_average=False).reduction == "sum"
        assert nn.MSELoss(reduce=False).reduction == "none"
        np.testing.assert_allclose(F.mse_loss(x, y, size_average=False).item(),
                                   F.mse_loss(x, y, reduction="sum").item())


CTC_T = np.array([[1, 2, 2], [3, 1, 0]])


@pytest.mark.parametrize("reduction", RED)
def test_ctc_loss(reduction):
    """Through log_softmax (torch's gradient is exact there); CTC is once differentiable, as in torch."""
    check_op(lambda t, x: t.nn.functional.ctc_loss(t.nn.functional.log_softmax(x, 2), t.tensor(CTC_T),
                                                   t.tensor([6, 5]), t.tensor([3, 2]), reduction=reduction),
             (6, 2, 4), gradgradcheck=False)


@requires_torch
def test_ctc_loss_module_matches_torch_1d_targets_and_infinity():
    x = rand(4, 2, 3, low=-2, high=2)
    targets = np.array([1, 2, 1, 1, 2, 2, 2])  # concatenated: 3 + 4 labels
    for zero_inf in (False, True):
        res = []
        for lib, m in ((retrograd, nn), (torch, torch.nn)):
            lp = lib.tensor(x, requires_grad=True)
            loss_fn = m.CTCLoss(blank=0, reduction="sum", zero_infinity=zero_inf)
            loss = loss_fn(lp.log_softmax(2) if hasattr(lp, "log_softmax") else lib.nn.functional.log_softmax(lp, 2),
                           lib.tensor(targets), (4, 4), (3, 4))  # the 2nd cannot fit 4 labels + a repeat in 4 steps
            res.append(loss.item())
            if zero_inf:
                loss.backward()
                res.append(lp.grad.numpy().copy())
        if zero_inf:
            np.testing.assert_allclose(res[0], res[2], rtol=1e-10)
            np.testing.assert_allclose(res[1], res[3], rtol=1e-9, atol=1e-12)
        else:
            assert res[0] == res[1] == float("inf")
    assert repr(nn.CTCLoss()) == repr(torch.nn.CTCLoss())


# ops/loss.py's array paths: nll_loss's common case (no class weights, every target a class, none
# ignored) in fewer passes, bitwise the general path's values and gradients


def _loss_and_grads(x, y, reduction):
    xt = retrograd.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, retrograd.tensor(y), reduction=reduction)
    loss.backward(retrograd.ones_like(loss))
    xt2 = retrograd.tensor(x, requires_grad=True)
    loss2 = F.cross_entropy(xt2, retrograd.tensor(y), reduction=reduction).sum()
    gg, = retrograd.autograd.grad(loss2, xt2, create_graph=True)  # the recorded backward
    return [a.tobytes() for a in (loss.detach().numpy(), xt.grad.numpy(), gg.detach().numpy())]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(128, 10), (4, 5, 3), (7,)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_nll_loss_of_plain_targets_is_bitwise_the_general_path(monkeypatch, reduction, shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[1] = np.nan
    c = shape[0] if len(shape) == 1 else shape[1]
    y = rng.integers(0, c, () if len(shape) == 1 else (shape[0],) + shape[2:])
    general = _loss_ops._target_weights
    calls = []
    monkeypatch.setattr(_loss_ops, "_target_weights", lambda *a: calls.append(1) or general(*a))
    fast = _loss_and_grads(x, y, reduction)
    assert not calls  # the common case took the short path
    monkeypatch.setattr(_loss_ops, "_every_target_a_class", lambda *a: False)
    assert _loss_and_grads(x, y, reduction) == fast
    assert calls


def test_ignored_and_out_of_range_targets_still_take_the_general_path():
    x = retrograd.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    loss = F.cross_entropy(x, retrograd.tensor([0, 2, 1, 0]), ignore_index=0)
    loss.backward()
    assert x.grad[0].tolist() == [0.0, 0.0, 0.0] and x.grad[3].tolist() == [0.0, 0.0, 0.0]
    a = np.arange(12.0).reshape(4, 3)
    logp = a - np.log(np.exp(a).sum(1, keepdims=True))
    assert np.isclose(loss.item(), -(logp[1, 2] + logp[2, 1]) / 2, rtol=1e-12)
    with pytest.raises(IndexError, match="Target 3 is out of bounds"):
        F.cross_entropy(x, retrograd.tensor([0, 3, 1, 0]))
    with pytest.raises(IndexError, match="Target -1 is out of bounds"):
        F.cross_entropy(x, retrograd.tensor([0, -1, 1, 0]))


@pytest.mark.parametrize("fn", [F.nll_loss, F.cross_entropy])
@pytest.mark.parametrize("dtype", [retrograd.int32, retrograd.int16, retrograd.int8])
def test_class_targets_other_than_int64_or_uint8_are_refused_as_torch(fn, dtype):
    # torch 2.13: "expected target dtype to be Long or Byte, but got Int" (RuntimeError); int64
    # and uint8 targets are taken
    x = retrograd.randn(4, 3)
    with pytest.raises(RuntimeError, match="Long or Byte"):
        fn(x, retrograd.tensor([0, 1, 2, 1], dtype=dtype))
    for ok in (retrograd.int64, retrograd.uint8):
        assert fn(x, retrograd.tensor([0, 1, 2, 1], dtype=ok)).shape == ()


@pytest.mark.parametrize("fn,aten", [(F.nll_loss, "nll_loss_nd"), (F.cross_entropy, "cross_entropy_loss")])
@pytest.mark.parametrize("bad", [True, 1.0, None])
def test_ignore_index_must_be_an_int_as_torch(fn, aten, bad):
    # torch 2.13: "nll_loss_nd(): argument 'ignore_index' (position 5) must be int, not bool" (TypeError)
    x, t = retrograd.randn(4, 3), retrograd.tensor([0, 1, 2, 1])
    with pytest.raises(TypeError, match=rf"{aten}\(\): argument 'ignore_index' \(position 5\) must be int"):
        fn(x, t, ignore_index=bad)
    assert fn(x, t, ignore_index=np.int64(1)).shape == ()


@pytest.mark.parametrize("shape,kernel", [((4, 3), "nll_loss_out_frame"), ((2, 3, 4), "nll_loss2d_forward_out_frame")])
def test_nll_loss_of_an_integer_input_is_refused_as_torch(shape, kernel):
    # torch 2.13: NotImplementedError '"nll_loss_out_frame" not implemented for 'Long''
    target = retrograd.zeros((shape[0],) + shape[2:], dtype=retrograd.int64)
    with pytest.raises(NotImplementedError, match=kernel):
        F.nll_loss(retrograd.ones(shape, dtype=retrograd.int64), target)


def test_triplet_losses_refuse_a_margin_that_is_not_positive_as_torch():
    F = retrograd.nn.functional
    a = retrograd.ones(2, 3)
    for fn in (lambda m: F.triplet_margin_loss(a, a, a, margin=m),
               lambda m: F.triplet_margin_with_distance_loss(a, a, a, margin=m)):
        for m in (0.0, -1.0):
            with pytest.raises(ValueError, match="margin must be greater than 0"):
                fn(m)


def test_nll_loss_of_a_0d_input_raises_value_error_as_torch():
    with pytest.raises(ValueError, match="at least 1 dimension"):
        retrograd.nn.functional.nll_loss(retrograd.tensor(1.0), retrograd.tensor(0))
    with pytest.raises(RuntimeError, match="at least 1 dimension"):
        retrograd.nn.functional.cross_entropy(retrograd.tensor(1.0), retrograd.tensor(0))


def test_integer_inputs_of_kl_div_and_bce_with_logits_raise_as_torch():
    t = retrograd.tensor
    for a, b in ((t([1, 2]), t([1, 2])), (t([1.0, 2.0]), t([1, 2])), (t([1, 2]), t([1.0, 2.0]))):
        with pytest.raises(RuntimeError, match="kl_div: Integral inputs not supported"):
            F.kl_div(a, b, reduction="sum")
    with pytest.raises(NotImplementedError, match="log_sigmoid_cpu"):
        F.binary_cross_entropy_with_logits(t([1, 2]), t([1.0, 2.0]))


def test_bce_with_logits_has_the_target_dtype_and_refuses_integer_targets_as_torch():
    # torch computes into a tensor of target's dtype: float64 logits with a float32 target give
    # float32 (retrograd gave float64), float32 logits with a float64 target float64
    f32, f64 = retrograd.float32, retrograd.float64
    for x_dtype, t_dtype in ((f64, f32), (f32, f64)):
        w = retrograd.ones(2, dtype=f64)
        for kw in ({}, {"weight": w}, {"pos_weight": w}):
            out = F.binary_cross_entropy_with_logits(retrograd.zeros(2, dtype=x_dtype), retrograd.ones(2, dtype=t_dtype),
                                                     reduction="none", **kw)
            assert out.dtype == t_dtype, (x_dtype, t_dtype, kw)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        F.binary_cross_entropy_with_logits(retrograd.zeros(2), retrograd.tensor([1, 0]))
    with pytest.raises(RuntimeError, match="with two bool tensors is not supported"):
        F.binary_cross_entropy_with_logits(retrograd.zeros(2), retrograd.tensor([True, False]))


_X = [[0.2, -1.0, 0.5], [1.5, 0.1, -0.3]]
_Y = [[0.1, 0.2, 0.3], [1.0, 0.0, 1.0]]
_LOGITS = [[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [0.0, 0.0, 0.0], [1.0, 1.0, -2.0]]
_PROBS = [[0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4], [1.0, 0.0, 0.0]]
# torch 2.13's outcome of each call: (value rounded to 4 places, the warnings' first words), or
# (the error type, its first words)
_ARGUMENT_CASES = {
    "mse_loss(x, y, reduction='elementwise_mean')": (0.5733, ["reduction='elementwise_mean' is deprecated"]),
    "l1_loss(x, y, reduction='elementwise_mean')": (0.5667, ["reduction='elementwise_mean' is deprecated"]),
    "huber_loss(x, y, reduction='elementwise_mean')": (0.2758, ["reduction='elementwise_mean' is deprecated"]),
    "kl_div(x, y, reduction='elementwise_mean')": (-0.3472, ["reduction='elementwise_mean' is deprecated"]),
    "cross_entropy(logits, T([0, 2, 1, 0]), reduction='elementwise_mean')":
        (0.8724, ["reduction='elementwise_mean' is deprecated"]),
    "poisson_nll_loss(x, y, reduction='elementwise_mean')": ("ValueError", "elementwise_mean is not a valid value"),
    "multilabel_soft_margin_loss(x, y, reduction='elementwise_mean')": ("ValueError", "elementwise_mean is not"),
    "mse_loss(x, y, size_average=False)": (3.44, ["size_average and reduce args will be deprecated, please use "
                                                  "reduction='sum' instead."]),
    "mse_loss(x, y, reduce=False).sum()": (3.44, ["size_average and reduce args will be deprecated, please use "
                                                  "reduction='none' instead."]),
    "cross_entropy(logits, probs, ignore_index=1)": ("RuntimeError", "ignore_index is not supported for floating "
                                                     "point target"),
    "cross_entropy(logits, T([0, 1, 2, 0]), label_smoothing=-0.1)": (1.6224, []),
    "cross_entropy(logits, T([0, 1, 2, 0]), label_smoothing=1.5)": ("RuntimeError", "label_smoothing must be between"),
    "cross_entropy(T([1.0, 2.0, 0.5]), T([1]), reduction='none')": (0.4644, []),
    "nll_loss(T([1.0, 2.0, 0.5]).log_softmax(0), T([1]), reduction='none')": (0.4644, []),
    "cross_entropy(T([1.0, 2.0, 0.5]), T([1, 2]))": ("ValueError", "For 1D input, 1D target must have size 1, "
                                                      "but got target size: 2"),
    "nll_loss(T([1.0, 2.0, 0.5]), T([[1]]))": ("RuntimeError", "0D or 1D target tensor expected, multi-target"),
    "ctc_loss(T(_CTC).log_softmax(2), T([[1, 2], [1, 1]]), T([3, 3]), T([2, 1]), blank=3)":
        ("RuntimeError", "blank must be in label range"),
}
_CTC = [[[0.1, 0.5, -0.2], [0.3, 0.0, 0.9]], [[1.0, -1.0, 0.2], [0.4, 0.4, 0.1]], [[0.0, 0.2, 0.7], [-0.5, 0.3, 0.0]]]


def _argument_outcome(lib, call):
    env = {name: getattr(lib.nn.functional, name) for name in ("mse_loss", "l1_loss", "huber_loss", "kl_div",
                                                                "cross_entropy", "nll_loss", "poisson_nll_loss",
                                                                "multilabel_soft_margin_loss", "ctc_loss")}
    env.update(T=lib.tensor, x=lib.tensor(_X), y=lib.tensor(_Y), logits=lib.tensor(_LOGITS), probs=lib.tensor(_PROBS),
               _CTC=_CTC)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        try:
            value = eval(call, env)
        except (RuntimeError, ValueError) as e:
            return type(e).__name__, str(e)
    messages = [str(w.message) for w in seen if w.category is UserWarning and "divides the total loss" not in
                str(w.message)]
    return round(value.item(), 4), messages


@pytest.mark.parametrize("call", list(_ARGUMENT_CASES))
def test_loss_arguments_as_torch(call):
    """The deprecated reduction='elementwise_mean' (a warning, then 'mean', where torch's function
    takes it: retrograd raised), the legacy arguments' warning naming the reduction they make (it
    always said 'mean'), cross_entropy's checks (ignore_index with probabilities raises, a negative
    label_smoothing is none, an unbatched input takes a [1] target), ctc_loss's blank out of range
    (an IndexError before)."""
    def agrees(outcome):
        a, b = outcome, _ARGUMENT_CASES[call]
        if isinstance(b[0], str):
            return a[0] == b[0] and a[1].startswith(b[1])
        return a[0] == b[0] and len(a[1]) == len(b[1]) and all(m.startswith(e) for m, e in zip(a[1], b[1]))

    assert agrees(_argument_outcome(retrograd, call)), _argument_outcome(retrograd, call)
    if torch is not None:
        assert agrees(_argument_outcome(torch, call)), _argument_outcome(torch, call)
