r"""Gamma and Dirichlet samples with implicit reparameterization gradients (torch's
``_standard_gamma``, ``_standard_gamma_grad``, ``_sample_dirichlet`` and ``_dirichlet_grad``).

A sample ``z ~ F(.; alpha)`` has no explicit path from ``alpha``, but holding its CDF value fixed
gives one (Figurnov et al. 2018, "Implicit Reparameterization Gradients"):

    F(z(alpha); alpha) = u   =>   dz/dalpha = -(dF/dalpha) / (dF/dz) = -(dF/dalpha) / p(z; alpha).

With ``dF/dalpha = integral_0^z p(t) dlog p(t)/dalpha dt`` (and, the score having mean zero, also
``-integral_z^inf`` of the same), and ``w = log t`` (Gamma) or ``w = logit t`` (Beta), where the
density ``exp(l(w))`` is log-concave, both become

    dz/dalpha = -J integral_{-inf}^{w0} exp(l(w) - l(w0)) s(w) dw      (z below the mode of l)
              = +J integral_{w0}^{inf}  exp(l(w) - l(w0)) s(w) dw      (z above it)

with ``w0`` the sample's ``w``, ``s`` the score ``dlog p/dalpha`` and ``J = dz/dw``. Integrating
over the tail away from the mode, the weight falls from 1 at ``w0`` and is log-concave, so a
Gauss-Legendre rule on ``[0, V]`` (geometric panels), with ``V`` where the weight reaches
exp(-40), gives the derivative to about 1e-7 relative (1e-10 typically) with no normalizing
constant and no overflow, for any alpha. Also here: P(a, x), the Gamma CDF (``Gamma.cdf``).
The forward draws are NumPy's ``standard_gamma`` (Marsaglia and Tsang's method, with the
``U^(1/alpha)`` boost below alpha = 1) from retrograd's generator.
"""

import numpy as np

from ..autograd.function import Function
from ..ops._kernel_dtypes import check_floating, not_implemented_for
from ..ops._special_kernels import digamma, lgamma
from ..ops.shape import broadcast_tensors
from ..random import _rng
from ..sampling import _host, _on_device_of
from ..tensor import Tensor

_TAIL = 40.0  # the weight is integrated down to exp(-_TAIL)


def _panel_rule(nodes=8, panels=13):
    """Gauss-Legendre nodes and weights on [0, 1] in panels [0, 2^-12], [2^-12, 2^-11], ..., [1/2, 1]:
    fine near 0, where the weight is largest and may fall steeply."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    edges = np.concatenate([[0.0], 2.0 ** np.arange(1 - panels, 1)])
    lo, width = edges[:-1, None], np.diff(edges)[:, None]
    return (lo + width * (x + 1) / 2).ravel(), (width * w / 2).ravel()


_NODES, _WEIGHTS = _panel_rule()


def _tail_integral(profile, direction, slope, curvature, mean_log):
    """integral_0^inf exp(drop(v)) (log t(v) - mean_log) dv elementwise, where
    ``profile(v) = (drop(v), log t(v))`` at w = w0 + direction v: drop(v) = l(w) - l(w0) <= 0 is
    concave and decreasing in v >= 0 with drop'(0) = -|slope|, drop''(0) = -|curvature|."""
    # V within a factor 2 of where the weight reaches exp(-_TAIL): from the root of the quadratic
    # -|slope| v - |curvature| v^2 / 2 = -_TAIL, doubled or halved
    s, c = np.abs(slope), np.abs(curvature)
    with np.errstate(divide="ignore", invalid="ignore"):
        span = np.where(c * _TAIL > 1e-8 * s * s, 2 * _TAIL / (s + np.sqrt(s * s + 2 * c * _TAIL)), _TAIL / s)
    span = np.where(np.isfinite(span) & (span > 0), span, 1.0)
    for _ in range(2100):
        low = profile(span)[0] > -_TAIL
        if not low.any():
            break
        span = np.where(low, span * 2, span)
    for _ in range(2100):
        high = profile(span / 2)[0] <= -_TAIL
        if not high.any():
            break
        span = np.where(high, span / 2, span)
    drop, log_t = profile(span[..., None] * _NODES, expand=True)  # (..., nodes)
    return span * ((np.exp(drop) * (log_t - mean_log[..., None])) @ _WEIGHTS)


def standard_gamma_grad(z, alpha):
    """dz/dalpha for z ~ Gamma(alpha, 1) at fixed CDF value (float64 arrays; torch's
    ``_standard_gamma_grad(z, alpha)``). l(w) = alpha w - e^w, the score log t - psi(alpha)."""
    z, alpha = np.broadcast_arrays(np.asarray(z, np.float64), np.asarray(alpha, np.float64))
    z = np.maximum(z, np.finfo(np.float64).tiny)
    w0 = np.log(z)
    direction = np.where(w0 <= np.log(alpha), -1.0, 1.0)  # integrate away from the mode log(alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = digamma(alpha)

    def profile(v, expand=False):
        a, zz, d, ww = (t[..., None] for t in (alpha, z, direction, w0)) if expand else (alpha, z, direction, w0)
        return a * d * v - zz * np.expm1(d * v), ww + d * v

    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return direction * z * _tail_integral(profile, direction, alpha - z, z, psi)


def beta_grad(x, a, b):
    """dx/da for x ~ Beta(a, b) at fixed CDF value, b held fixed (float64 arrays). With w = logit t,
    l(w) = a log t + b log(1 - t) = (a + b) log t - b w; the score log t - (psi(a) - psi(a + b))."""
    x, a, b = np.broadcast_arrays(*(np.asarray(t, np.float64) for t in (x, a, b)))
    eps = np.finfo(np.float64).eps
    x = np.clip(x, np.finfo(np.float64).tiny, 1 - eps / 2)
    w0 = np.log(x) - np.log1p(-x)
    direction = np.where(w0 <= np.log(a) - np.log(b), -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_log = digamma(a) - digamma(a + b)
    log_x = np.log(x)

    def profile(v, expand=False):
        n, bb, d, ww, l0 = ((t[..., None] for t in (a + b, b, direction, w0, log_x)) if expand
                            else (a + b, b, direction, w0, log_x))
        log_t = -np.logaddexp(0, -(ww + d * v))
        return n * (log_t - l0) - bb * d * v, log_t

    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return direction * x * (1 - x) * _tail_integral(profile, direction, a * (1 - x) - b * x,
                                                             (a + b) * x * (1 - x), mean_log)


def dirichlet_grad(x, concentration, total):
    """torch's ``_dirichlet_grad(x, concentration, total)``: dx/dconcentration for x's Beta
    marginal Beta(concentration, total - concentration) (second parameter held fixed), over 1 - x."""
    x = np.asarray(x, np.float64)
    return beta_grad(x, concentration, np.asarray(total, np.float64) - concentration) / (1 - x)


def _draw_gammas(concentration, generator, kernel):
    """Gamma(concentration, 1) draws in float64, at least the dtype's smallest normal number
    (torch's samplers never return 0). A concentration <= 0 or nan draws that smallest number,
    as torch's (NegativeBinomial's total_count 0 is valid and samples through it)."""
    check_floating(kernel, concentration)
    if concentration.dtype.itemsize == 2 and concentration.device.type == "cpu":  # torch's CPU samplers have
        # no float16/bfloat16 version
        raise not_implemented_for(kernel, concentration.dtype, "convert the concentration with .float() first")
    alpha = _host(concentration)
    positive = alpha > 0
    draw = _rng(generator, concentration).standard_gamma(np.where(positive, alpha, 1.0))
    return np.maximum(np.where(positive, draw, 0.0), np.finfo(concentration.dtype.np).tiny)


class StandardGamma(Function):
    """z ~ Gamma(alpha, 1) elementwise;  dalpha = g * dz/dalpha at fixed CDF value (implicit
    reparameterization, standard_gamma_grad above; the derivative itself is not differentiated,
    as torch's _standard_gamma_grad)."""

    @staticmethod
    def forward(ctx, concentration, generator):
        z = _draw_gammas(concentration, generator, "gamma_cpu")
        z = Tensor._make(_on_device_of(z, concentration, concentration.dtype))
        ctx.save_for_backward(concentration, z)
        return z

    @staticmethod
    def jvp(ctx, talpha, *_):
        """dz = dalpha * dz/dalpha (at fixed CDF value; torch's forward AD raises here)."""
        concentration, z = ctx.saved_tensors
        return talpha * StandardGammaGrad.apply(concentration, z)

    @staticmethod
    def backward(ctx, g):
        concentration, z = ctx.saved_tensors
        return g * StandardGammaGrad.apply(concentration, z), None


class StandardGammaGrad(Function):
    """z = dsample/dalpha (standard_gamma_grad); its own derivative is not implemented, as torch's."""

    @staticmethod
    def forward(ctx, concentration, sample):
        return _on_device_of(standard_gamma_grad(_host(sample), _host(concentration)), concentration,
                             concentration.dtype)

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError("the derivative for '_standard_gamma_grad' is not implemented.")

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("the derivative for '_standard_gamma_grad' is not implemented.")


def _standard_gamma(concentration, generator=None):
    """Gamma(concentration, 1) samples with implicit reparameterization gradients."""
    return StandardGamma.apply(concentration, generator)


def _sample_dirichlet(concentration, generator=None):
    """Dirichlet(concentration) samples over the last dim, with torch's reparameterized gradient."""
    return SampleDirichlet.apply(concentration, generator)


class SampleDirichlet(Function):
    """x = g / sum(g) with g_i ~ Gamma(alpha_i, 1) over the last dim;
    dalpha_i = D_i (grad_i - sum_j x_j grad_j), D = dirichlet_grad(x, alpha, sum(alpha)), as
    torch's _Dirichlet backward (the derivative is not differentiated again).

    Why: moving alpha_i moves x_i along its Beta(alpha_i, A - alpha_i) marginal at fixed CDF value
    (dx_i = B_i dalpha_i, B = beta_grad, A the total) while the other components shrink in
    proportion to keep the sum 1 (dx_j = -x_j / (1 - x_i) dx_i, which leaves their law given x_i
    unchanged). So sum_j grad_j dx_j/dalpha_i = B_i / (1 - x_i) (grad_i (1 - x_i) - sum_{j != i}
    x_j grad_j) = D_i (grad_i - sum_j x_j grad_j) with D_i = B_i / (1 - x_i)."""

    @staticmethod
    def forward(ctx, concentration, generator):
        gammas = _draw_gammas(concentration, generator, "dirichlet")
        x = gammas / gammas.sum(-1, keepdims=True)
        x = Tensor._make(_on_device_of(x, concentration, concentration.dtype))
        ctx.save_for_backward(concentration, x)
        return x

    @staticmethod
    def _d(ctx):
        """D = dirichlet_grad(x, alpha, sum(alpha)): dx_i/dalpha_j = D_j (delta_ij - x_i)."""
        concentration, x = ctx.saved_tensors
        alpha = _host(concentration)
        grad = dirichlet_grad(_host(x), alpha, alpha.sum(-1, keepdims=True))
        return Tensor._make(_on_device_of(grad, concentration, concentration.dtype)), x

    @staticmethod
    def jvp(ctx, talpha, *_):
        """dx = D dalpha - x sum(D dalpha) (torch's forward AD raises here)."""
        D, x = SampleDirichlet._d(ctx)
        w = D * talpha
        return w - x * w.sum(-1, True)

    @staticmethod
    def backward(ctx, g):
        D, x = SampleDirichlet._d(ctx)
        return D * (g - (x * g).sum(-1, True)), None


def regularized_gamma_p(a, x):
    """P(a, x) = gamma(a, x) / Gamma(a), the Gamma(a, 1) CDF at x (float64 arrays, a > 0, x >= 0):
    the series x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n)) below x = a + 1, else
    1 - Q from Legendre's continued fraction for Q (modified Lentz), both to double precision."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    out = np.full(a.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        log_front = a * np.log(x) - x  # log(x^a e^-x)
        series = (x < a + 1) & (x >= 0)
        fraction = x >= a + 1
        aa, xx = a[series], x[series]
        term, total, n = 1.0 / aa, 1.0 / aa, aa.copy()
        for _ in range(100000):
            n = n + 1
            term = term * xx / n
            total = total + term
            if not (np.abs(term) > np.abs(total) * 1e-17).any():
                break
        out[series] = np.exp(log_front[series] + np.log(total) - lgamma(aa))
        aa, xx = a[fraction], x[fraction]
        tiny = 1e-300
        b = xx + 1 - aa
        c = np.full_like(b, 1 / tiny)
        d = 1 / b
        h = d.copy()
        for i in range(1, 100000):
            an = -i * (i - aa)
            b = b + 2
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1 / d
            step = d * c
            h = h * step
            if not (np.abs(step - 1) > 1e-16).any():
                break
        out[fraction] = -np.expm1(log_front[fraction] + np.log(h) - lgamma(aa))
    out[np.isposinf(x)] = 1.0
    return out


class GammaIncP(Function):
    """z = P(a, x) (torch.special.gammainc);  dx = g * x^(a-1) e^-x / Gamma(a), the Gamma density;
    da: not implemented, as in torch."""

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        return _on_device_of(regularized_gamma_p(_host(a), _host(x)), x, x.dtype)

    @staticmethod
    def jvp(ctx, ta, tx):
        """dz = dx * x^(a-1) e^-x / Gamma(a); no derivative in a."""
        from ..autograd.forward_ad import tangent_of

        a, x = ctx.saved_tensors
        if tangent_of(ctx._fw_args[0]) is not None:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        return tx * ((a - 1) * x.log() - x - a.lgamma()).exp()

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'igamma: input' is not implemented.")
        return None, g * ((a - 1) * x.log() - x - a.lgamma()).exp()


def _gammainc(a, x):
    """P(a, x) over broadcast tensors, differentiable in x."""
    a, x = broadcast_tensors(a, x)
    return GammaIncP.apply(a, x)
