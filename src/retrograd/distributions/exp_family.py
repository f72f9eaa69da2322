"""ExponentialFamily: distributions with densities p(x; eta) = h(x) exp(<eta, t(x)> - A(eta))
(natural parameters eta, sufficient statistic t, carrier measure h, log-normalizer A). Knowing
A gives the entropy, and (kl.py) the KL divergence between two members, as Bregman divergences
of A, whose gradient is the mean of t."""

from __future__ import annotations

import retrograd

from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Base of exponential-family distributions. Subclasses give ``_natural_params`` (the
    tuple eta), ``_log_normalizer(*eta)`` (A) and ``_mean_carrier_measure`` (E[log h(x)])."""

    @property
    def _natural_params(self):
        """The natural parameters eta, a tuple of tensors of the batch shape (and event)."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        """A(eta), the log of the normalizing constant, per batch element."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        """E[log h(x)] under the distribution."""
        raise NotImplementedError

    def entropy(self):
        """H = -E[log p(x)] = A(eta) - <eta, grad A(eta)> - E[log h(x)]  (grad A(eta) = E[t(x)]).
        As torch's, the natural parameters enter detached: no gradient to the parameters."""
        eta = [p.detach().requires_grad_() for p in self._natural_params]
        log_normalizer = self._log_normalizer(*eta)
        grads = retrograd.autograd.grad(log_normalizer.sum(), eta, create_graph=True)
        entropy = log_normalizer - self._mean_carrier_measure
        for e, g in zip(eta, grads):  # the inner product over each parameter's event dims
            entropy = entropy - (e * g).reshape(*self._batch_shape, -1).sum(-1)
        return entropy
