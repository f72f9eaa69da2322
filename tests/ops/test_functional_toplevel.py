"""torch's top-level spellings of nn.functional's ops (ops/functional_toplevel.py): each with
torch's top-level signature (argument order, required arguments, the reduction as an int),
values and gradients against torch's top-level function, and torch's errors."""

import numpy as np
import pytest

import retrograd
from tests.helpers import check_op, requires_torch, torch

T3 = np.array([1.0, -1.0, 1.0, -1.0, -1.0, 1.0])
SIGNS = np.array([1.0, -1.0, 1.0, 1.0])


@pytest.mark.parametrize("reduction", [0, 1, 2, 3])
def test_losses_with_int_reductions(reduction):
    r = reduction
    check_op(lambda t, a, b: t.kl_div(a.log_softmax(-1), b.softmax(-1), r), (3, 4), (3, 4))
    check_op(lambda t, a, b: t.kl_div(a, b, r, log_target=True), (3, 4), (3, 4))
    check_op(lambda t, a, s: t.hinge_embedding_loss(a, s, 0.5, r), (6,), T3)
    check_op(lambda t, a, b, s: t.margin_ranking_loss(a, b, s, 0.1, r), (4,), (4,), SIGNS)
    check_op(lambda t, a, b, c: t.triplet_margin_loss(a, b, c, 1.0, 2.0, 1e-6, True, r), (3, 4), (3, 4), (3, 4),
             gradgradcheck=False)
    check_op(lambda t, a, b, s: t.cosine_embedding_loss(a, b, s, 0.2, r), (4, 3), (4, 3), SIGNS,
             gradgradcheck=False)
    check_op(lambda t, a, b: t.poisson_nll_loss(a, b.abs() * 3, True, True, 1e-8, r), (3, 4), (3, 4))
    check_op(lambda t, a, b: t.binary_cross_entropy_with_logits(  # (weights take no gradient in torch)
        a, b.abs(), t.tensor([0.5, 1.0, 2.0, 1.5]), t.tensor([1.0, 3.0, 0.5, 2.0]), r), (3, 4), (3, 4),
        gradgradcheck=False)


@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_ctc_loss_int_reduction(reduction):
    lengths = np.array([5, 4])
    targets = np.array([[1, 2, 1], [2, 2, 0]])
    check_op(lambda t, a, y, il, tl: t.ctc_loss(a.log_softmax(-1), y, il, tl, 0, reduction, True), (5, 2, 3),
             targets, lengths, np.array([3, 2]), gradgradcheck=False, gradcheck=False)


def test_reduction_must_be_an_int():
    x = retrograd.zeros(3)
    for call in (lambda: retrograd.kl_div(x, x, "mean"), lambda: retrograd.hinge_embedding_loss(x, x, 1.0, True),
                 lambda: retrograd.poisson_nll_loss(x, x, True, False, 1e-8, "sum")):
        with pytest.raises(TypeError, match="argument 'reduction' .* must be int"):
            call()


def test_kl_div_mean_does_not_warn(recwarn):
    retrograd.kl_div(retrograd.zeros(2, 3), retrograd.ones(2, 3) / 3)
    assert not [w for w in recwarn if "batchmean" in str(w.message)]


def test_norms_in_torchs_top_level_order():
    def bn(t, x, w, b, training):
        rm, rv = t.zeros(3, dtype=t.float64), t.ones(3, dtype=t.float64)
        y = t.batch_norm(x, w, b, rm, rv, training, 0.2, 1e-4, True)
        return y, rm, rv

    check_op(lambda t, x, w, b: bn(t, x, w, b, True), (4, 3, 2), (3,), (3,))
    check_op(lambda t, x, w, b: bn(t, x, w, b, False), (4, 3, 2), (3,), (3,))
    check_op(lambda t, x: t.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, False), (4, 3))

    def inorm(t, x, w, b):
        rm, rv = t.zeros(3, dtype=t.float64), t.ones(3, dtype=t.float64)
        return t.instance_norm(x, w, b, rm, rv, True, 0.3, 1e-5, True), rm, rv

    check_op(inorm, (2, 3, 5), (3,), (3,))
    with pytest.raises(TypeError, match="cudnn_enabled"):
        retrograd.batch_norm(retrograd.zeros(2, 3), None, None, None, None, True, 0.1, 1e-5, 1)


@pytest.mark.parametrize("padding_idx", [-1, -2, 0, 4, 5])
def test_embedding_weight_first_and_padding_idx(padding_idx):
    idx = np.array([[0, 4, 4], [1, 0, 2]])
    exact = not 0 <= padding_idx < 5  # the padding row gets no gradient: not the derivative
    check_op(lambda t, w, i: t.embedding(w, i, padding_idx), (5, 3), idx, gradcheck=exact, gradgradcheck=exact)
    # scale_grad_by_freq: the gradient is not the derivative (no gradcheck), torch's is the reference
    check_op(lambda t, w, i: t.embedding(w, i, padding_idx, True), (5, 3), idx, gradcheck=False,
             gradgradcheck=False)


def test_bilinear_pad_pool_and_convolution():
    check_op(lambda t, a, b, w, c: t.bilinear(a, b, w, c), (2, 3), (2, 4), (5, 3, 4), (5,), gradgradcheck=False)
    check_op(lambda t, a, b, w: t.bilinear(a, b, w), (2, 3), (2, 4), (5, 3, 4), gradgradcheck=False)
    check_op(lambda t, x: t.constant_pad_nd(x, [1, 2, 0, 1], 2.5), (2, 3))
    check_op(lambda t, x: t.constant_pad_nd(x, (1, 1)), (2, 3))
    check_op(lambda t, x: t.adaptive_max_pool1d(x, 3)[0], (1, 2, 7))
    values, indices = retrograd.adaptive_max_pool1d(retrograd.tensor([[[1.0, 5.0, 2.0, 0.0]]]), 2)
    assert values.tolist() == [[[5.0, 2.0]]] and indices.tolist() == [[[1, 2]]]
    check_op(lambda t, x, w, b: t.convolution(x, w, b, [2], [1], [1], False, [0], 1), (1, 2, 7), (3, 2, 3), (3,),
             gradgradcheck=False)
    check_op(lambda t, x, w: t.convolution(x, w, None, [1, 1], [0, 1], [1, 1], False, [0, 0], 2), (1, 4, 5, 5),
             (2, 2, 3, 3), gradgradcheck=False)
    check_op(lambda t, x, w: t.convolution(x, w, None, [2], [1], [1], True, [1], 1), (1, 2, 5), (2, 3, 3),
             gradgradcheck=False)


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"])
def test_dropouts_take_input_p_train(name):
    fn, fn_ = getattr(retrograd, name), getattr(retrograd, name + "_")
    x = retrograd.ones(4, 6, 5)
    assert fn(x, 0.5, False) is x and fn(x, 0.0, True) is x and fn_(x, 0.5, False) is x
    y = fn(x, 0.5, True)
    assert tuple(y.shape) == (4, 6, 5) and len(np.unique(y.numpy())) == 2  # kept and dropped values
    if name.startswith("feature"):  # one mask value per (N, C)
        assert (y.numpy() == y.numpy()[:, :, :1]).all()
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
            fn(retrograd.ones(4), 0.5, True)
    else:
        assert not (y.numpy() == y.numpy()[:, :, :1]).all()
    z = retrograd.ones(3, 4)
    assert fn_(z, 0.5, True) is z and len(np.unique(z.numpy())) == 2  # in place
    with pytest.raises(RuntimeError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        fn(x, 1.5, True)
    with pytest.raises(TypeError, match="argument 'train' \\(position 3\\) must be bool"):
        fn(x, 0.5, "yes")
    with pytest.raises(TypeError):
        fn(x, 0.5)  # train is required


def test_dropout_scales_kept_elements():
    y = retrograd.dropout(retrograd.ones(1000), 0.25, True)
    kept = y.numpy()[y.numpy() != 0]
    np.testing.assert_allclose(kept, 1 / 0.75, rtol=1e-6)
    assert 600 < kept.size < 900
    assert retrograd.dropout(retrograd.ones(5), 1.0, True).tolist() == [0.0] * 5


@requires_torch
@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout", "embedding",
                                  "batch_norm", "instance_norm", "bilinear", "kl_div", "hinge_embedding_loss",
                                  "margin_ranking_loss", "triplet_margin_loss", "cosine_embedding_loss",
                                  "poisson_nll_loss", "ctc_loss", "binary_cross_entropy_with_logits",
                                  "constant_pad_nd", "adaptive_max_pool1d", "convolution"])
def test_parameter_names_are_torchs(name):
    """The names retrograd's signature gives are those of torch's schema (keywords work alike)."""
    import inspect

    schema = getattr(torch.ops.aten, name).overloads()[0]
    want = [a.name for a in getattr(getattr(torch.ops.aten, name), schema)._schema.arguments]
    want = ["input" if n == "self" else n for n in want]
    got = list(inspect.signature(getattr(retrograd, name)).parameters)
    assert got == [n for n in want if n != "out"]
