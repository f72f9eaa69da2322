r"""The KL pairs of Gamma, Beta, Dirichlet, Poisson, Binomial and Geometric, registered in
kl.py's registry when ``retrograd.distributions`` is imported.

As in kl.py, most are written KL(p || q) = -H(p) - E_p[log q(x)], the cross-entropy from the
moments of p that log q needs (E x, E log x, ...); a q whose support misses part of p's gives
+inf."""

import retrograd

from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .dirichlet import Dirichlet, _log_beta
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .gumbel import Gumbel
from .kl import _kl_infinity, _normal_cross_entropy, register_kl
from .laplace import Laplace
from .normal import Normal
from .poisson import Poisson
from .uniform import Uniform
from .utils import euler_constant

# ------------------------------------------------------------------------- moments of p


def _beta_log_moments(p):
    """(E log x, E log(1 - x)) under Beta(a, b): (psi(a) - psi(a + b), psi(b) - psi(a + b))."""
    a, b = p.concentration1, p.concentration0
    total = retrograd.digamma(a + b)
    return retrograd.digamma(a) - total, retrograd.digamma(b) - total


def _uniform_log_moments(p):
    """(E log x, E log(1 - x)) under Uniform(l, h), from the antiderivative x log x - x:
    E log x = (h log h - l log l) / (h - l) - 1, and the same with 1 - x."""
    lo, hi = p.low, p.high
    width = hi - lo
    mean_log = (retrograd.xlogy(hi, hi) - retrograd.xlogy(lo, lo)) / width - 1
    mean_log1m = (retrograd.xlogy(1 - lo, 1 - lo) - retrograd.xlogy(1 - hi, 1 - hi)) / width - 1
    return mean_log, mean_log1m


# ------------------------------------------------------------------------- cross-entropies


def _gamma_cross_entropy(q, mean, mean_log):
    """-E_p log q(x) for q = Gamma(a, b): log Gamma(a) - a log b - (a - 1) E log x + b E x."""
    a, b = q.concentration, q.rate
    return retrograd.lgamma(a) - a * b.log() - (a - 1) * mean_log + b * mean


def _exponential_cross_entropy(q, mean):
    """-E_p log q(x) for q = Exponential(r): -log r + r E x."""
    return -q.rate.log() + q.rate * mean


# ------------------------------------------------------------------------- same family


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    # KL = log B(beta) - log B(alpha) + sum_i (alpha_i - beta_i) (psi(alpha_i) - psi(alpha_0))
    a, b = p.concentration, q.concentration
    mean_log = retrograd.digamma(a) - retrograd.digamma(a.sum(-1, True))  # E log x_i under p
    return _log_beta(b) - _log_beta(a) + ((a - b) * mean_log).sum(-1)


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    # a Beta is the first coordinate of a two-category Dirichlet: the same KL
    return _kl_dirichlet_dirichlet(p._dirichlet, q._dirichlet)


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    a, b = p.concentration, p.rate
    return -p.entropy() + _gamma_cross_entropy(q, a / b, retrograd.digamma(a) - b.log())


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    # KL = r_p log(r_p / r_q) - r_p + r_q  (0 at r_p = 0 to the first term)
    return retrograd.xlogy(p.rate, p.rate / q.rate) - p.rate + q.rate


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    # same n: KL = n (pi_p log(pi_p / pi_q) + (1 - pi_p) log((1 - pi_p) / (1 - pi_q)))
    #            = n (pi_p (logit_p - logit_q) + log(1 - pi_p) - log(1 - pi_q));
    # n_p > n_q: p reaches counts q cannot, +inf; n_p < n_q has no closed form here (as torch)
    if bool((p.total_count < q.total_count).any()):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + retrograd.log1p(-p.probs) - retrograd.log1p(-q.probs))
    return retrograd.where(p.total_count > q.total_count, float("inf"), kl)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    # -E_p log q = -E[K] log(1 - pi_q) - log pi_q with E K = 1 / pi_p - 1, = -log(1 - pi_q) / pi_p - logit_q
    return -p.entropy() - retrograd.log1p(-q.probs) / p.probs - q.logits


# ------------------------------------------------------------------------- across families


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    # log q(k) = k log r - r for k in {0, 1}: -E_p log q = r - pi log r
    return -p.entropy() + q.rate - p.probs * q.rate.log()


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    return -p.entropy() + _exponential_cross_entropy(q, p.mean)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    return -p.entropy() + _gamma_cross_entropy(q, p.mean, _beta_log_moments(p)[0])


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    return -p.entropy() + _normal_cross_entropy(q, p.mean, p.variance)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    # -E_p log q = log(h - l) when [0, 1] lies in [l, h]; otherwise +inf
    covered = (q.low <= 0) & (q.high >= 1)
    return retrograd.where(covered, -p.entropy() + (q.high - q.low).log(), float("inf"))


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    # Exponential(r) = Gamma(1, r): E x = 1 / r, E log x = psi(1) - log r = -gamma_E - log r
    return -p.entropy() + _gamma_cross_entropy(q, p.rate.reciprocal(), -euler_constant - p.rate.log())


@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() + _exponential_cross_entropy(q, p.mean)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    # log q(x) = -z - e^(-z) - log s, z = (x - m) / s, and under Gamma(a, b)
    # E e^(-x / s) = (1 + 1 / (s b))^(-a):  -E_p log q = log s + (E x - m) / s + e^(m / s) (1 + 1 / (s b))^(-a)
    a, b = p.concentration, p.rate
    m, s = q.loc, q.scale
    mean_exp = (m / s - a * retrograd.log1p(1 / (s * b))).exp()
    return -p.entropy() + s.log() + (p.mean - m) / s + mean_exp


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    return -p.entropy() + _normal_cross_entropy(q, p.mean, p.variance)


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    # -E_p log q = log B(a, b) - (a - 1) E log x - (b - 1) E log(1 - x) when [l, h] lies in [0, 1]
    mean_log, mean_log1m = _uniform_log_moments(p)
    a, b = q.concentration1, q.concentration0
    cross = _log_beta(retrograd.stack([a, b], -1)) - (a - 1) * mean_log - (b - 1) * mean_log1m
    inside = (p.low >= 0) & (p.high <= 1)
    return retrograd.where(inside, -p.entropy() + cross, float("inf"))


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    inside = p.low >= 0
    mean_log = _uniform_log_moments(p)[0]
    return retrograd.where(inside, -p.entropy() + _gamma_cross_entropy(q, p.mean, mean_log), float("inf"))


# q puts no mass on part of p's support: +inf (kl.py's _kl_infinity)
for _p, _q in ((Exponential, Beta), (Gamma, Beta), (Gamma, Uniform), (Gumbel, Beta), (Gumbel, Gamma),
               (Laplace, Beta), (Laplace, Gamma), (Normal, Beta), (Normal, Gamma), (Poisson, Bernoulli),
               (Poisson, Binomial)):
    register_kl(_p, _q)(_kl_infinity)
