r"""``kl_divergence(p, q)`` = E_p[log p(x) - log q(x)] and its registry ``register_kl``.

Pairs are registered by the types of p and q; ``kl_divergence`` uses the most specific
registered pair whose types p and q are instances of (warning when two pairs are each more
specific in one argument), memoized per pair of types. The closed forms below are written as
-H(p) - E_p[log q(x)] (entropy and cross-entropy) where that reads simplest; a q whose support
does not cover p's gives +inf. More pairs (Beta, Gamma, Binomial, Dirichlet, Geometric,
Poisson) are registered in _kl_gamma_count.py."""

from __future__ import annotations

import math
import warnings

import retrograd
from retrograd import inf
from retrograd._float_warnings import silent

from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .cauchy import Cauchy
from .continuous_bernoulli import ContinuousBernoulli
from .distribution import Distribution
from .exp_family import ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .gumbel import Gumbel
from .half_normal import HalfNormal
from .independent import Independent
from .laplace import Laplace
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .pareto import Pareto
from .transformed_distribution import TransformedDistribution
from .uniform import Uniform
from .utils import _sum_rightmost, euler_constant as _euler_gamma

__all__ = ["register_kl", "kl_divergence"]

_KL_REGISTRY = {}  # (type_p, type_q) -> function(p, q)
_KL_MEMOIZE = {}  # (type(p), type(q)) -> the registered function dispatch chose, or NotImplemented


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as the KL divergence of p of type ``type_p`` and q of
    type ``type_q`` (subclasses included, unless a more specific pair is registered)::

        @register_kl(Normal, Normal)
        def kl_normal_normal(p, q):
            ...
    """
    for name, t in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"Expected {name} to be a Distribution subclass but got {t}")

    def decorator(fun):
        _KL_REGISTRY[type_p, type_q] = fun
        _KL_MEMOIZE.clear()  # a new pair may be more specific than one already chosen
        return fun

    return decorator


def _dispatch_kl(type_p, type_q):
    """The registered function for the most specific pair matching (type_p, type_q)."""
    matches = [(sp, sq) for sp, sq in _KL_REGISTRY if issubclass(type_p, sp) and issubclass(type_q, sq)]
    if not matches:
        return NotImplemented
    # specificity: a class's position in the MRO (0 = the type itself); most specific in p
    # first, and most specific in q first: when these differ, neither pair is more specific
    rank_p, rank_q = type_p.__mro__.index, type_q.__mro__.index
    left_p, left_q = min(matches, key=lambda m: (rank_p(m[0]), rank_q(m[1])))
    right_p, right_q = min(matches, key=lambda m: (rank_q(m[1]), rank_p(m[0])))
    left, right = _KL_REGISTRY[left_p, left_q], _KL_REGISTRY[right_p, right_q]
    if left is not right:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({left_p.__name__}, {right_q.__name__})", RuntimeWarning)
    return left


def kl_divergence(p, q):
    r"""The Kullback-Leibler divergence KL(p \| q) = \int p(x) \log(p(x) / q(x)) dx.

    Args:
        p (Distribution): a :class:`~retrograd.distributions.Distribution`.
        q (Distribution): a :class:`~retrograd.distributions.Distribution`.

    Returns:
        Tensor: the divergences, of the batch shape.

    Raises:
        NotImplementedError: if no pair of the types of p and q was registered by
            :meth:`register_kl`.
    """
    key = (type(p), type(q))
    if key not in _KL_MEMOIZE:
        _KL_MEMOIZE[key] = _dispatch_kl(*key)
    fun = _KL_MEMOIZE[key]
    if fun is NotImplemented:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {p.__class__.__name__} "
                                  f"and q type {q.__class__.__name__}")
    return fun(p, q)


def _add_kl_info():
    """Append the registered pairs to kl_divergence's docstring."""
    pairs = sorted(f"* :class:`~retrograd.distributions.{p.__name__}` and "
                   f":class:`~retrograd.distributions.{q.__name__}`" for p, q in _KL_REGISTRY)
    kl_divergence.__doc__ += ("\n    KL divergence is currently implemented for the following "
                              "distribution pairs:\n\t" + "\n\t".join(pairs))


def _infinite_like(tensor):
    """+inf in the shape, dtype and device of ``tensor``."""
    return retrograd.full_like(tensor, inf)


def _x_log_x(tensor):
    return tensor * tensor.log()


def _log_2pi_var(scale):
    """log(2 pi sigma^2): the Normal's -2 log density at its mean."""
    return math.log(2 * math.pi) + 2 * scale.log()


def _normal_cross_entropy(q, mean, variance):
    """-E_p[log q(x)] for a Normal q and a p of the given mean and variance:
    0.5 log(2 pi sigma^2) + (Var_p + (E_p x - mu)^2) / (2 sigma^2)."""
    return 0.5 * _log_2pi_var(q.scale) + (variance + (mean - q.loc) ** 2) / (2 * q.scale ** 2)


def _cb_cross_entropy(q, mean):
    """-E_p[log q(x)] for a ContinuousBernoulli q: log q(x) is affine in x on [0, 1], so its
    expectation is (1 - E x) log q(0) + E x log q(1)."""
    zero = retrograd.zeros_like(q.probs)
    return -((1 - mean) * q.log_prob(zero) + mean * q.log_prob(zero + 1))


# ---------------------------------------------------------------- same family

@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    # p log(p/q) + (1-p) log((1-p)/(1-q)), with log p = -softplus(-logit), log(1-p) = -softplus(logit);
    # a term whose p-weight is 0 is 0, one whose q-probability is 0 is inf
    sp = retrograd.nn.functional.softplus
    t1 = p.probs * (sp(-q.logits) - sp(-p.logits))
    t1 = retrograd.where(p.probs == 0, 0.0, retrograd.where(q.probs == 0, inf, t1))
    t2 = (1 - p.probs) * (sp(q.logits) - sp(p.logits))
    t2 = retrograd.where(p.probs == 1, 0.0, retrograd.where(q.probs == 1, inf, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    # sum_k p_k (log p_k - log q_k) (logits are normalized log-probabilities)
    t = p.probs * (p.logits - q.logits)
    t = retrograd.where(q.probs == 0, inf, t)
    t = retrograd.where(p.probs == 0, 0.0, t)
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_categorical(p, q)  # the same probs/logits, one-hot coded


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    # log(sigma_q / sigma_p) + (sigma_p^2 + (mu_p - mu_q)^2) / (2 sigma_q^2) - 1/2
    var_ratio = (p.scale / q.scale) ** 2
    shift = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + shift - 1 - var_ratio.log())


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    # the Normal's with both locations 0 (folding both at 0 keeps the ratio of densities)
    var_ratio = (p.scale / q.scale) ** 2
    return 0.5 * (var_ratio - 1 - var_ratio.log())


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    # log(rate_p / rate_q) + rate_q / rate_p - 1
    ratio = q.rate / p.rate
    return ratio - 1 - ratio.log()


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    # log(b_q / b_p) + |mu_p - mu_q| / b_q + (b_p / b_q) exp(-|mu_p - mu_q| / b_p) - 1
    ratio = p.scale / q.scale
    distance = (p.loc - q.loc).abs()
    return -ratio.log() + distance / q.scale + ratio * (-distance / p.scale).exp() - 1


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    # with x = mu_p + beta_p G (G standard Gumbel: E G = gamma, E exp(-t G) = Gamma(1 + t)):
    # log(beta_q / beta_p) + gamma (beta_p / beta_q - 1) + (mu_p - mu_q) / beta_q
    #   + exp((mu_q - mu_p) / beta_q) Gamma(1 + beta_p / beta_q) - 1
    ratio = p.scale / q.scale
    shift = (p.loc - q.loc) / q.scale
    return (-ratio.log() + _euler_gamma * (ratio - 1) + shift
            + (retrograd.lgamma(ratio + 1) - shift).exp() - 1)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    # log(((gamma_p + gamma_q)^2 + (x_p - x_q)^2) / (4 gamma_p gamma_q))  (Chyzak & Nielsen, 2019)
    return (((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2) / (4 * p.scale * q.scale)).log()


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    # log(width_q / width_p) when [low_p, high_p] lies in [low_q, high_q], else inf
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return retrograd.where((q.low > p.low) | (q.high < p.high), inf, result)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    # E_p log x = log s_p + 1/alpha_p:
    # log(alpha_p / alpha_q) + alpha_q log(s_p / s_q) + alpha_q / alpha_p - 1, inf if s_p < s_q
    ratio = q.alpha / p.alpha
    result = -ratio.log() + q.alpha * (p.scale / q.scale).log() + ratio - 1
    return retrograd.where(p.scale < q.scale, inf, result)


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p, q):
    return _cb_cross_entropy(q, p.mean) - _cb_cross_entropy(p, p.mean)


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    r"""The Bregman divergence of the log-normalizer A at the natural parameters:
    KL(p || q) = A(eta_q) - A(eta_p) - <eta_q - eta_p, grad A(eta_p)>."""
    if type(p) is not type(q):
        raise NotImplementedError("The cross KL-divergence between different exponential families "
                                  "cannot be computed using Bregman divergences")
    eta_p = [e.detach().requires_grad_() for e in p._natural_params]
    eta_q = q._natural_params
    log_normalizer_p = p._log_normalizer(*eta_p)
    grads = retrograd.autograd.grad(log_normalizer_p.sum(), eta_p, create_graph=True)
    result = q._log_normalizer(*eta_q) - log_normalizer_p
    for ep, eq, g in zip(eta_p, eta_q, grads):
        result = result - _sum_rightmost((eq - ep) * g, len(q.event_shape))
    return result


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence of Independent distributions needs the same "
                                  f"reinterpreted_batch_ndims, got {p.reinterpreted_batch_ndims} "
                                  f"and {q.reinterpreted_batch_ndims}")
    # independent coordinates: the divergences add up over the reinterpreted dimensions
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    # a bijection applied to both leaves the divergence unchanged
    if p.transforms != q.transforms:
        raise NotImplementedError("kl_divergence of TransformedDistributions needs the same transforms")
    if p.event_shape != q.event_shape:
        raise NotImplementedError("kl_divergence of TransformedDistributions needs the same event_shape, "
                                  f"got {p.event_shape} and {q.event_shape}")
    base = kl_divergence(p.base_dist, q.base_dist)
    return _sum_rightmost(base, len(p.event_shape) - len(p.base_dist.event_shape))


# ---------------------------------------------------------------- Gaussians with a covariance

def _kl_gaussian(loc_p, tril_p, loc_q, tril_q):
    r"""KL of N(mu_p, L_p L_p^T) from N(mu_q, L_q L_q^T), k dimensions:
    0.5 (||L_q^-1 L_p||_F^2 + ||L_q^-1 (mu_q - mu_p)||^2 - k) + log|L_q| - log|L_p|."""
    k = loc_p.shape[-1]
    batch = retrograd.broadcast_shapes(loc_p.shape[:-1], loc_q.shape[:-1], tril_p.shape[:-2], tril_q.shape[:-2])
    tril_q = tril_q.expand(*batch, k, k)
    trace = (retrograd.linalg.solve_triangular(tril_q, tril_p.expand(*batch, k, k), upper=False) ** 2).sum((-2, -1))
    shift = retrograd.linalg.solve_triangular(tril_q, (loc_q - loc_p).expand(*batch, k).unsqueeze(-1), upper=False)
    mahalanobis = (shift ** 2).sum((-2, -1))
    half_logdet = lambda tril: tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)  # noqa: E731  log|L|
    return 0.5 * (trace + mahalanobis - k) + half_logdet(tril_q) - half_logdet(tril_p)


def _scale_tril(d):
    """The Cholesky factor of a Gaussian's covariance (a low-rank one's is formed densely)."""
    if isinstance(d, MultivariateNormal):
        return d.scale_tril
    return retrograd.linalg.cholesky(d.covariance_matrix)


def _kl_gaussians(kind):
    def kl(p, q):
        if p.event_shape != q.event_shape:
            raise ValueError(f"KL-divergence between two {kind} with different event shapes cannot be computed")
        return _kl_gaussian(p.loc, _scale_tril(p), q.loc, _scale_tril(q))
    return kl


_kl_multivariatenormal_multivariatenormal = register_kl(MultivariateNormal, MultivariateNormal)(
    _kl_gaussians("Multivariate Normals"))
_kl_lowrankmultivariatenormal_lowrankmultivariatenormal = register_kl(
    LowRankMultivariateNormal, LowRankMultivariateNormal)(_kl_gaussians("Low Rank Multivariate Normals"))
_kl_multivariatenormal_lowrankmultivariatenormal = register_kl(MultivariateNormal, LowRankMultivariateNormal)(
    _kl_gaussians("(Low Rank) Multivariate Normals"))
_kl_lowrankmultivariatenormal_multivariatenormal = register_kl(LowRankMultivariateNormal, MultivariateNormal)(
    _kl_gaussians("(Low Rank) Multivariate Normals"))


# ---------------------------------------------------------------- across families: inf
# q puts no mass on part of p's support (q bounded where p is not, or q on [0, inf) where p
# reaches below 0)

@register_kl(Beta, Pareto)
@register_kl(ContinuousBernoulli, Pareto)
@register_kl(Exponential, ContinuousBernoulli)
@register_kl(Exponential, Pareto)
@register_kl(Exponential, Uniform)
@register_kl(Gamma, ContinuousBernoulli)
@register_kl(Gamma, Pareto)
@register_kl(Gumbel, ContinuousBernoulli)
@register_kl(Gumbel, Exponential)
@register_kl(Gumbel, Pareto)
@register_kl(Gumbel, Uniform)
@register_kl(Laplace, ContinuousBernoulli)
@register_kl(Laplace, Exponential)
@register_kl(Laplace, Pareto)
@register_kl(Laplace, Uniform)
@register_kl(Normal, ContinuousBernoulli)
@register_kl(Normal, Exponential)
@register_kl(Normal, Pareto)
@register_kl(Normal, Uniform)
@register_kl(Pareto, Beta)
@register_kl(Pareto, ContinuousBernoulli)
@register_kl(Pareto, Uniform)
def _kl_infinity(p, q):
    return _infinite_like(p.mean)


# ---------------------------------------------------------------- across families: closed forms

@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_continuous_bernoulli(p, q):
    return -p.entropy() + _cb_cross_entropy(q, p.mean)


@register_kl(ContinuousBernoulli, Exponential)
def _kl_continuous_bernoulli_exponential(p, q):
    # -E_p log q = -log rate + rate E_p x
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_continuous_bernoulli_normal(p, q):
    return -p.entropy() + _normal_cross_entropy(q, p.mean, p.variance)


@register_kl(ContinuousBernoulli, Uniform)
def _kl_continuous_bernoulli_uniform(p, q):
    # log(high - low) - H(p) when [low, high] covers [0, 1]; as torch's, a bound on 0 or 1 counts as not
    result = -p.entropy() + (q.high - q.low).log()
    return retrograd.where((q.low >= 0) | (q.high <= 1), inf, result)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    # -H(p) = log rate - 1; with z = (x - mu) / beta, -E_p log q = log beta + E z + E exp(-z),
    # E x = 1 / rate and E exp(-x / beta) = rate beta / (rate beta + 1)
    rate_beta = p.rate * q.scale
    shift = q.loc / q.scale
    return (rate_beta.log() - 1 + 1 / rate_beta - shift
            + shift.exp() * rate_beta / (rate_beta + 1))


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    # -H(p) = log rate - 1; mean 1 / rate, variance 1 / rate^2
    return p.rate.log() - 1 + _normal_cross_entropy(q, p.rate.reciprocal(), p.rate ** -2)


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    # H(p) = log beta + gamma + 1; mean mu + beta gamma, variance (pi beta)^2 / 6
    entropy = p.scale.log() + _euler_gamma + 1
    mean = p.loc + p.scale * _euler_gamma
    return -entropy + _normal_cross_entropy(q, mean, (math.pi * p.scale) ** 2 / 6)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    # H(p) = 1 + log(2 b); mean mu, variance 2 b^2
    entropy = 1 + (2 * p.scale).log()
    return -entropy + _normal_cross_entropy(q, p.loc, 2 * p.scale ** 2)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    # H(p) = 0.5 log(2 pi e sigma^2); with z = (x - mu_q) / beta, -E_p log q = log beta + E z + E exp(-z),
    # E exp(-z) = exp(-(mu_p - mu_q) / beta + sigma^2 / (2 beta^2)) (the Normal's moment generating function)
    entropy = 0.5 * (_log_2pi_var(p.scale) + 1)
    shift = (p.loc - q.loc) / q.scale
    return -entropy + q.scale.log() + shift + (-shift + 0.5 * (p.scale / q.scale) ** 2).exp()


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # -E_p log q = log(2 b) + E|x - mu_q| / b, the mean of a folded Normal with m = mu_p - mu_q:
    # E|x - mu_q| = sigma sqrt(2 / pi) exp(-m^2 / (2 sigma^2)) + m erf(m / (sqrt(2) sigma))
    entropy = 0.5 * (_log_2pi_var(p.scale) + 1)
    m = p.loc - q.loc
    folded_mean = (p.scale * math.sqrt(2 / math.pi) * (-0.5 * (m / p.scale) ** 2).exp()
                   + m * retrograd.erf(m / (math.sqrt(2) * p.scale)))
    return -entropy + (2 * q.scale).log() + folded_mean / q.scale


def _pareto_entropy(p):
    # H = log(s / alpha) + 1 + 1 / alpha
    return (p.scale / p.alpha).log() + 1 + p.alpha.reciprocal()


def _pareto_mean(p):
    """alpha s / (alpha - 1); the inf where alpha <= 1 is set by the caller."""
    return p.alpha * p.scale / (p.alpha - 1)


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    # -E_p log q = -log rate + rate E_p x, infinite where the mean is (alpha <= 1)
    result = -_pareto_entropy(p) - q.rate.log() + q.rate * _pareto_mean(p)
    return retrograd.where(p.alpha <= 1, inf, result)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    # log q = k log r - lgamma(k) + (k - 1) log x - r x; E_p log x = log s + 1/alpha
    mean_log = p.scale.log() + p.alpha.reciprocal()
    cross = (retrograd.lgamma(q.concentration) - q.concentration * q.rate.log()
             - (q.concentration - 1) * mean_log + q.rate * _pareto_mean(p))
    return retrograd.where(p.alpha <= 1, inf, -_pareto_entropy(p) + cross)


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    # variance s^2 alpha / ((alpha - 1)^2 (alpha - 2)), infinite where alpha <= 2
    variance = p.scale ** 2 * p.alpha / ((p.alpha - 1) ** 2 * (p.alpha - 2))
    with silent():  # at alpha = 1 the formula's -inf plus the mean's inf squared is a nan (torch's too, masked
        # below, silently: NumPy warned "invalid value encountered in add" under warnings.simplefilter("error"))
        result = -_pareto_entropy(p) + _normal_cross_entropy(q, _pareto_mean(p), variance)
    return retrograd.where(p.alpha <= 2, inf, result)


def _uniform_entropy(p):
    return (p.high - p.low).log()


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    # finite when [low, high] lies in [0, 1]; as torch's, touching 0 or 1 counts as outside
    result = -_uniform_entropy(p) + _cb_cross_entropy(q, p.mean)
    return retrograd.where((p.low <= 0) | (p.high >= 1), inf, result)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponetial(p, q):
    # -E_p log q = -log rate + rate (low + high) / 2, infinite where p reaches below 0
    result = -_uniform_entropy(p) - q.rate.log() + q.rate * (p.high + p.low) / 2
    return retrograd.where(p.low < 0, inf, result)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    # with z = (x - mu) / beta: E z = ((low + high) / 2 - mu) / beta and
    # E exp(-z) = beta (exp((mu - low) / beta) - exp((mu - high) / beta)) / (high - low)
    width = p.high - p.low
    mean_z = ((p.high + p.low) / 2 - q.loc) / q.scale
    mean_exp = q.scale * (((q.loc - p.low) / q.scale).exp() - ((q.loc - p.high) / q.scale).exp()) / width
    return -width.log() + q.scale.log() + mean_z + mean_exp


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    # mean (low + high) / 2, variance (high - low)^2 / 12
    return -_uniform_entropy(p) + _normal_cross_entropy(q, p.mean, (p.high - p.low) ** 2 / 12)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    # log q = log alpha + alpha log s - (alpha + 1) log x on x >= s;
    # E_p log x = (high log high - low log low) / (high - low) - 1
    mean_log = (_x_log_x(p.high) - _x_log_x(p.low)) / (p.high - p.low) - 1
    result = -_uniform_entropy(p) - q.alpha.log() - q.alpha * q.scale.log() + (q.alpha + 1) * mean_log
    return retrograd.where(p.low < q.scale, inf, result)
