"""The von Mises distribution: a normal distribution wrapped onto the circle [-pi, pi)."""
import math

import numpy as np

import retrograd
from retrograd.distributions import constraints
from retrograd.distributions._params import batch_shape_of, expand_params
from retrograd.distributions.distribution import Distribution
from retrograd.distributions.utils import broadcast_all
from retrograd.random import _host_rng
from retrograd.sampling import _host, _on_device_of
from retrograd.tensor import Tensor

__all__ = ["VonMises"]


# Abramowitz & Stegun 9.8.1-9.8.4: polynomial approximations of I0 and I1 (relative error about
# 1e-7), the ones torch uses, so that values and gradients equal torch's.  Coefficients in
# increasing powers of t = (x / 3.75)^2 below 3.75 and of t = 3.75 / x above.
_I0_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813]
_I0_LARGE = [0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706, 0.02635537,
             -0.01647633, 0.00392377]
_I1_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411]
_I1_LARGE = [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967, -0.02895312,
             0.01787654, -0.00420059]


def _poly(coefficients, t):
    result = coefficients[-1]
    for c in reversed(coefficients[:-1]):  # Horner
        result = result * t + c
    return result


def _log_bessel(x, order):
    """log I_order(x) for x > 0, order 0 or 1: below 3.75, log(x^order P(t)), t = (x/3.75)^2;
    above, x - log(x)/2 + log(Q(3.75/x)) (the e^x factored out, so no overflow)."""
    small, large = (_I0_SMALL, _I0_LARGE) if order == 0 else (_I1_SMALL, _I1_LARGE)
    below = x < 3.75
    x_small = retrograd.where(below, x, 1.0)  # each branch sees only inputs valid for it
    x_large = retrograd.where(below, 3.75, x)
    log_small = _poly(small, (x_small / 3.75).pow(2)).log()
    if order == 1:
        log_small = log_small + x_small.log()
    log_large = x_large - 0.5 * x_large.log() + _poly(large, 3.75 / x_large).log()
    return retrograd.where(below, log_small, log_large)


def _best_fisher(loc, kappa, rng):
    """Best and Fisher's (1979) rejection sampler, float64 arrays of one shape: the wrapped Cauchy
    proposal f = (1 + r z) / (r + z), z = cos(pi u1), accepted with the squeeze c (2 - c) > u2 or
    log(c / u2) + 1 - c >= 0, c = kappa (r - f); theta = +-arccos(f), then shifted by loc."""
    # r = (1 + rho^2) / (2 rho), rho = (tau - sqrt(2 tau)) / (2 kappa), tau = 1 + sqrt(1 + 4 kappa^2);
    # rho rewritten without the cancellation of tau - sqrt(2 tau) at small kappa
    root = np.sqrt(1 + 4 * kappa * kappa)
    tau = 1 + root
    rho = 2 * kappa * tau / ((root + 1) * (tau + np.sqrt(2 * tau)))
    r = (1 + rho * rho) / (2 * rho)
    f = np.empty_like(kappa)
    todo = np.ones(kappa.shape, bool)
    while todo.any():
        n = int(todo.sum())
        u1, u2 = rng.random(n), rng.random(n)
        z = np.cos(np.pi * u1)
        rr, kk = r[todo], kappa[todo]
        ff = (1 + rr * z) / (rr + z)
        c = kk * (rr - ff)
        with np.errstate(divide="ignore"):
            ok = (c * (2 - c) > u2) | (np.log(c / u2) + 1 - c >= 0)
        idx = np.flatnonzero(todo)[ok]
        f.flat[idx] = ff[ok]
        todo.flat[idx] = False
    sign = np.where(rng.random(kappa.shape) < 0.5, -1.0, 1.0)
    theta = sign * np.arccos(np.clip(f, -1, 1)) + loc
    return np.mod(theta + np.pi, 2 * np.pi) - np.pi  # back into [-pi, pi)


class VonMises(Distribution):
    r"""VonMises(loc mu, concentration kappa): p(x) = exp(kappa cos(x - mu)) / (2 pi I0(kappa)),
    x in [-pi, pi)."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(batch_shape_of((loc, concentration), self.loc), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, VonMises, batch_shape, _instance, ("loc", "concentration"))

    def log_prob(self, value):
        # log p(x) = kappa cos(x - mu) - log(2 pi) - log I0(kappa), with
        # log I0 by _log_bessel
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        return k * retrograd.cos(value - self.loc) - math.log(2 * math.pi) - _log_bessel(k, 0)

    @property
    def mean(self):
        # the circular mean
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        # circular variance 1 - I1(kappa) / I0(kappa)
        k = self.concentration
        return 1 - (_log_bessel(k, 1) - _log_bessel(k, 0)).exp()

    def sample(self, sample_shape=retrograd.Size()):
        shape = self._extended_shape(sample_shape)
        with retrograd.no_grad():
            loc, kappa = (t.expand(shape) for t in (self.loc, self.concentration))
            draws = _best_fisher(_host(loc), _host(kappa), _host_rng(None, loc))
            return Tensor._make(_on_device_of(draws, loc, loc.dtype))
