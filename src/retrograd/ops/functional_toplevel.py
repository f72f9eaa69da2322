"""torch's top-level spellings of nn.functional's ops, with their own signatures: torch.dropout(input,
p, train), torch.embedding(weight, indices, ...), torch.batch_norm(input, weight, bias, running_mean,
...), torch.kl_div(input, target, reduction=1), ...

They differ from nn.functional's in argument order, in required arguments, and in the loss
reduction, an int (0: none, 1: mean, 2: sum; torch's at::Reduction, any other value reduces
nothing, as torch). Each maps its arguments onto the nn.functional implementation in ops/*.py.
"""

import numbers

from . import conv as _conv
from . import dropout as _dropout
from . import embedding as _embedding
from . import linear as _linear
from . import loss as _loss
from . import normalization as _normalization
from . import pooling as _pooling
from . import shape as _shape

__all__ = ["dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_",
           "feature_alpha_dropout", "feature_alpha_dropout_", "embedding", "batch_norm", "instance_norm",
           "bilinear", "kl_div", "hinge_embedding_loss", "margin_ranking_loss", "triplet_margin_loss",
           "cosine_embedding_loss", "poisson_nll_loss", "ctc_loss", "binary_cross_entropy_with_logits",
           "constant_pad_nd", "adaptive_max_pool1d", "convolution"]

bilinear = _linear.bilinear  # torch.bilinear(input1, input2, weight, bias=None): nn.functional's signature


def _check_bool(fn, name, position, value):
    if not isinstance(value, bool):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be bool, not {type(value).__name__}")


def _reduction(fn, position, reduction):
    """nn.functional's reduction string for torch's int: 1 mean, 2 sum, any other none."""
    if isinstance(reduction, bool) or not isinstance(reduction, numbers.Integral):
        raise TypeError(f"{fn}(): argument 'reduction' (position {position}) must be int, not "
                        f"{type(reduction).__name__} (0: none, 1: mean, 2: sum)")
    return {1: "mean", 2: "sum"}.get(int(reduction), "none")


# ---------------------------------------------------------------------------- dropout


def _drop(fn, input, p, train, inplace, feature, alpha):
    _check_bool(fn, "train", 3, train)
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")
    shape = tuple(input.shape)
    if feature:
        if input.ndim < 2:
            raise RuntimeError(f"Feature dropout requires at least 2 dimensions in the input (got shape "
                               f"{list(input.shape)}): one mask value per (N, C)")
        shape = shape[:2] + (1,) * (input.ndim - 2)
    apply = _dropout._alpha_dropout if alpha else _dropout._dropout
    return apply(input, p, train, inplace, shape)


def dropout(input, p, train):
    """Zero each element with probability p and scale the rest by 1/(1 - p), when ``train``."""
    return _drop("dropout", input, p, train, False, False, False)


def dropout_(input, p, train):
    """In-place :func:`dropout`."""
    return _drop("dropout_", input, p, train, True, False, False)


def alpha_dropout(input, p, train):
    """Alpha dropout (SELU networks: mean and variance kept), when ``train``."""
    return _drop("alpha_dropout", input, p, train, False, False, True)


def alpha_dropout_(input, p, train):
    """In-place :func:`alpha_dropout`."""
    return _drop("alpha_dropout_", input, p, train, True, False, True)


def feature_dropout(input, p, train):
    """Dropout of whole features: one mask value per (N, C) of an (N, C, *) input, when ``train``."""
    return _drop("feature_dropout", input, p, train, False, True, False)


def feature_dropout_(input, p, train):
    """In-place :func:`feature_dropout`."""
    return _drop("feature_dropout_", input, p, train, True, True, False)


def feature_alpha_dropout(input, p, train):
    """Alpha dropout of whole features (one mask value per (N, C)), when ``train``."""
    return _drop("feature_alpha_dropout", input, p, train, False, True, True)


def feature_alpha_dropout_(input, p, train):
    """In-place :func:`feature_alpha_dropout`."""
    return _drop("feature_alpha_dropout_", input, p, train, True, True, True)


# ---------------------------------------------------------------------------- embedding, normalization


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    """weight[indices] (weight first, as torch's top level). padding_idx: the row that gets no
    gradient; a negative one (the default -1), or one past the rows, is none."""
    padding = padding_idx if 0 <= padding_idx < weight.shape[0] else None
    return _embedding.embedding(indices, weight, padding_idx=padding, scale_grad_by_freq=scale_grad_by_freq,
                                sparse=sparse)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn_enabled):
    """nn.functional.batch_norm with torch's top-level argument order (all required).
    ``cudnn_enabled`` picks cuDNN's kernels in torch; the values are the same without them."""
    _check_bool("batch_norm", "cudnn_enabled", 9, cudnn_enabled)
    return _normalization.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps, cudnn_enabled):
    """nn.functional.instance_norm with torch's top-level argument order (all required).
    ``cudnn_enabled`` picks cuDNN's kernels in torch; the values are the same without them."""
    _check_bool("instance_norm", "cudnn_enabled", 9, cudnn_enabled)
    return _normalization.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                                        momentum, eps)


# ---------------------------------------------------------------------------- losses (reduction an int)


def kl_div(input, target, reduction=1, *, log_target=False):
    """nn.functional.kl_div with torch's int reduction; 1 averages over every element (without
    nn.functional's warning about 'batchmean', which has no int)."""
    how = _reduction("kl_div", 3, reduction)
    if how == "mean":
        return _loss.kl_div(input, target, reduction="none", log_target=log_target).mean()
    return _loss.kl_div(input, target, reduction=how, log_target=log_target)


def hinge_embedding_loss(input, target, margin=1.0, reduction=1):
    """nn.functional.hinge_embedding_loss with torch's int reduction."""
    return _loss.hinge_embedding_loss(input, target, margin, reduction=_reduction("hinge_embedding_loss", 4, reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=1):
    """nn.functional.margin_ranking_loss with torch's int reduction."""
    return _loss.margin_ranking_loss(input1, input2, target, margin,
                                     reduction=_reduction("margin_ranking_loss", 5, reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-06, swap=False, reduction=1):
    """nn.functional.triplet_margin_loss with torch's int reduction."""
    return _loss.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                     reduction=_reduction("triplet_margin_loss", 8, reduction))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=1):
    """nn.functional.cosine_embedding_loss with torch's int reduction."""
    return _loss.cosine_embedding_loss(input1, input2, target, margin,
                                       reduction=_reduction("cosine_embedding_loss", 5, reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    """nn.functional.poisson_nll_loss with torch's top-level arguments (all required, reduction an int)."""
    return _loss.poisson_nll_loss(input, target, log_input=log_input, full=full, eps=eps,
                                  reduction=_reduction("poisson_nll_loss", 6, reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=1, zero_infinity=False):
    """nn.functional.ctc_loss with torch's int reduction (mean: each loss over its target length,
    then the batch mean, as nn.functional's)."""
    return _loss.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                          reduction=_reduction("ctc_loss", 6, reduction), zero_infinity=zero_infinity)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=1):
    """nn.functional.binary_cross_entropy_with_logits with torch's top-level order (pos_weight
    before the reduction, an int)."""
    return _loss.binary_cross_entropy_with_logits(
        input, target, weight, reduction=_reduction("binary_cross_entropy_with_logits", 5, reduction),
        pos_weight=pos_weight)


# ---------------------------------------------------------------------------- padding, pooling, convolution


def constant_pad_nd(input, pad, value=0):
    """input padded with ``value`` by ``pad`` (nn.functional.pad's constant mode)."""
    return _shape.pad(input, pad, "constant", value)


def adaptive_max_pool1d(input, output_size):
    """nn.functional.adaptive_max_pool1d's (values, indices), always both (torch's top level)."""
    return _pooling.adaptive_max_pool1d(input, output_size, return_indices=True)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    """The convolution of weight's spatial rank (1 to 3), transposed when ``transposed``: torch's
    generic convolution, which conv1d ... conv_transpose3d call. output_padding shapes transposed
    convolutions only (torch does not look at it otherwise either)."""
    n = weight.ndim - 2
    if n not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a weight of 3 to 5 dims (1 to 3 spatial), got shape "
                           f"{list(weight.shape)}")
    _check_bool("convolution", "transposed", 7, transposed)
    if transposed:
        fn = getattr(_conv, f"conv_transpose{n}d")
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return getattr(_conv, f"conv{n}d")(input, weight, bias, stride, padding, dilation, groups)
