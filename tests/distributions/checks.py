"""Shared checks of the distribution tests: a distribution's methods, values and parameter
gradients, against torch's (recorded for the bare install), and its samples' moments."""

import numpy as np

import retrograd
from tests.reference.store import reference

# methods taking a value, and the properties/methods without one
_WITH_VALUE = ("log_prob", "cdf", "icdf")


def evaluate(module, build, params, methods, values):
    """{method: [value, gradient of its sum w.r.t. each parameter (None where unused)]} of the
    distribution ``build(module, *params)``; ``values[method]`` is the argument of log_prob/cdf/icdf."""
    out = {}
    for name in methods:
        leaves = [module.tensor(p, dtype=module.float64, requires_grad=True) for p in params]
        d = build(module, *leaves)
        if name in _WITH_VALUE:
            result = getattr(d, name)(module.tensor(values[name]))
        else:
            result = getattr(d, name)
            result = result() if callable(result) else result
        grads = [None] * len(leaves)
        if result.requires_grad:
            grads = module.autograd.grad(result.sum(), leaves, allow_unused=True)
        out[name] = [result.detach().numpy()] + [None if g is None else g.numpy() for g in grads]
    return out


def check_against_torch(build, params, methods, values=None, rtol=1e-7, atol=1e-10):
    """Each method's value and parameter gradients equal torch's (in float64)."""
    values = values or {}
    params = [np.asarray(p, dtype=np.float64) for p in params]
    values = {k: np.asarray(v) for k, v in values.items()}
    inputs = [*params, *(values[k] for k in sorted(values)), *methods]
    expected = reference(lambda: evaluate(__import__("torch"), build, params, methods, values), inputs)
    got = evaluate(retrograd, build, params, methods, values)
    for name in methods:
        assert len(got[name]) == len(expected[name])
        for i, (g, e) in enumerate(zip(got[name], expected[name])):
            what = f"{name}: " + ("value" if i == 0 else f"gradient w.r.t. parameter {i - 1}")
            assert (g is None) == (e is None), f"{what}: present in one only"
            if g is not None:
                assert g.shape == np.shape(e), (what, g.shape, np.shape(e))
                np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, err_msg=what)


def check_moments(samples, mean, variance, n_se=5.0):
    """The sample mean of ``samples`` (sample dimension first) within ``n_se`` standard errors
    of ``mean``, and the sample variance within ``n_se`` standard errors of ``variance``
    (the latter's standard error from the sample's fourth central moment)."""
    x = np.asarray(samples, dtype=np.float64)
    n = x.shape[0]
    mean, variance = np.broadcast_to(mean, x.shape[1:]), np.broadcast_to(variance, x.shape[1:])
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), n_se * np.sqrt(variance / n) + 1e-12)
    m4 = ((x - x.mean(0)) ** 4).mean(0)
    se_var = np.sqrt(np.maximum(m4 - x.var(0) ** 2, 0) / n)
    np.testing.assert_array_less(np.abs(x.var(0) - variance), n_se * se_var + 1e-12)


def chi_square_statistic(counts, probs):
    """Pearson's statistic of observed ``counts`` against category ``probs``."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = counts.sum() * np.asarray(probs, dtype=np.float64)
    return float(((counts - expected) ** 2 / expected).sum())


def rsample_gradcheck(build, params, sample_shape=(), seed=0):
    """gradcheck of ``build(retrograd, *params).rsample(sample_shape)`` w.r.t. the parameters,
    the generator reseeded on each call so the sample is a deterministic function of them."""
    leaves = [retrograd.tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in params]

    def sample(*ps):
        retrograd.manual_seed(seed)
        return build(retrograd, *ps).rsample(sample_shape)

    return retrograd.autograd.gradcheck(sample, leaves, eps=1e-6, atol=1e-5, rtol=1e-4)
