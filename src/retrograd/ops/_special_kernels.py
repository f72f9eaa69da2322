"""NumPy kernels of the special functions (ops/special.py): float64 arrays in, float64 arrays out.

Each follows the algorithm torch's CPU kernel uses (Cephes, as in ATen's Math.h), vectorized with
masks where the scalar code loops or returns early, so that values agree with torch's to a few
ulps, its infinities and nans at poles included. Callers convert dtypes and silence NumPy's
floating-point warnings (inf and nan results are the answers there, not accidents).
"""

import math

import numpy as np

MACHEP = 1.11022302462515654042e-16  # 2^-53
LS2PI = 0.91893853320467274178  # ln sqrt(2 pi)
LOGPI = 1.14472988584940017414  # ln pi


def polevl(x, coefs):
    """sum coefs[i] * x^(N - i): Horner's rule, highest power first."""
    out = np.full_like(x, coefs[0])
    for c in coefs[1:]:
        out = out * x + c
    return out


def p1evl(x, coefs):
    """polevl with an implicit leading coefficient 1."""
    return polevl(x, (1.0,) + tuple(coefs))


# ---------------------------------------------------------------------------- log gamma

# Cephes lgam: Stirling's series above 13, a rational function B/C on [2, 3) below
_LGAMMA_A = (8.11614167470508450300e-4, -5.95061904284301438324e-4, 7.93650340457716943945e-4,
             -2.77777777730099687205e-3, 8.33333333333331927722e-2)
_LGAMMA_B = (-1.37825152569120859100e3, -3.88016315134637840924e4, -3.31612992738871184744e5,
             -1.16237097492762307383e6, -1.72173700820839662146e6, -8.53555664245765465627e5)
_LGAMMA_C = (-3.51815701436523470549e2, -1.70642106651881159223e4, -2.20528590553854454839e5,
             -1.13933444367982507207e6, -2.53252307177582951285e6, -2.01889141433532773231e6)


def _lgamma_stirling(x):
    """ln Gamma(x) for x >= 13 by Stirling's series (x finite)."""
    q = (x - 0.5) * np.log(x) - x + LS2PI
    p = 1.0 / (x * x)
    series = np.where(x >= 1000.0,
                      ((7.9365079365079365079365e-4 * p - 2.7777777777777777777778e-3) * p
                       + 0.0833333333333333333333) / x,
                      polevl(p, _LGAMMA_A) / x)
    return np.where(x > 1e8, q, q + series)


def _lgamma_small(x):
    """ln |Gamma(x)| for -34 <= x < 13: shifted into [2, 3) by Gamma(x + 1) = x Gamma(x)."""
    z = np.ones_like(x)
    u = x.copy()
    while True:  # down to below 3
        high = u >= 3.0
        if not high.any():
            break
        u = np.where(high, u - 1.0, u)
        z = np.where(high, z * u, z)
    pole = np.zeros(x.shape, bool)
    while True:  # up to at least 2
        low = u < 2.0
        if not low.any():
            break
        pole |= low & (u == 0.0)
        z = np.where(low, z / u, z)
        u = np.where(low, u + 1.0, u)
    t = u - 2.0
    out = np.log(np.abs(z)) + t * polevl(t, _LGAMMA_B) / p1evl(t, _LGAMMA_C)
    return np.where(pole, np.inf, out)


def _lgamma_near_one(e):
    """ln Gamma(1 + e) for |e| <= 0.25 by its Taylor series -gamma e + sum_k (-1)^k zeta(k)/k e^k:
    accurate relative to the value, which vanishes at e = 0 (the rational function, reached by
    a shift, loses digits there)."""
    return e * polevl(e, _LGAMMA_TAYLOR)


def lgamma(x):
    """ln |Gamma(x)|: +inf at 0, the negative integers and +-inf; nan at nan."""
    out = np.full_like(x, np.nan)
    finite = np.isfinite(x)
    out[np.isinf(x)] = np.inf
    big = finite & (x >= 13.0)
    out[big] = _lgamma_stirling(x[big])
    small = finite & (x < 13.0) & (x >= -34.0)
    out[small] = _lgamma_small(x[small])
    neg = finite & (x < -34.0)  # reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x)
    if neg.any():
        q = -x[neg]
        p = np.floor(q)
        z = q - p
        z = np.where(z > 0.5, p + 1.0 - q, z)
        s = q * np.sin(np.pi * z)
        out[neg] = np.where((p == q) | (s == 0), np.inf, LOGPI - np.log(np.abs(s)) - _lgamma_stirling(q))
    near1 = np.abs(x - 1.0) <= 0.25
    out[near1] = _lgamma_near_one(x[near1] - 1.0)
    near2 = np.abs(x - 2.0) <= 0.25  # ln Gamma(2 + e) = ln Gamma(1 + e) + ln(1 + e)
    out[near2] = _lgamma_near_one(x[near2] - 2.0) + np.log1p(x[near2] - 2.0)
    return out


# ---------------------------------------------------------------------------- digamma and trigamma

_PSI_10 = 2.25175258906672110764  # digamma(10)
# B_2k / 2k for k = 7 .. 1: the asymptotic series of digamma in 1/x^2
_DIGAMMA_A = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
              -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
              8.33333333333333333333e-2)


def _digamma_positive(x):
    """digamma(x) for x > 0 (or nan/inf): recurrence up to 10, then the asymptotic series."""
    result = np.zeros_like(x)
    x = x.copy()
    while True:
        low = x < 10.0
        if not low.any():
            break
        result = np.where(low, result - 1.0 / x, result)
        x = np.where(low, x + 1.0, x)
    z = 1.0 / (x * x)
    y = np.where(x < 1e17, z * polevl(z, _DIGAMMA_A), 0.0)
    return np.where(x == 10.0, result + _PSI_10, result + np.log(x) - 0.5 / x - y)


def digamma(x):
    """psi(x) = d/dx ln Gamma(x): -inf at +0, +inf at -0, nan at the negative integers and -inf."""
    negative = x < 0
    integer = x == np.trunc(x)
    # reflection: psi(x) = psi(1 - x) - pi / tan(pi frac(x)) for x < 0
    base = np.where(negative, 1.0 - x, x)
    out = _digamma_positive(np.where(x == 0, 1.0, base))
    frac = x - np.trunc(x)
    out = np.where(negative, out - np.pi / np.tan(np.pi * frac), out)
    out = np.where(negative & integer, np.nan, out)
    return np.where(x == 0, np.copysign(np.inf, -x), out)


def trigamma(x):
    """psi'(x): reflection below 1/2, six steps of the recurrence, then the asymptotic series."""
    reflect = x < 0.5
    s = np.sin(np.pi * x)
    result = np.where(reflect, -(np.pi * np.pi) / (s * s), 0.0)
    x = np.where(reflect, 1.0 - x, x)
    for _ in range(6):
        result = result + 1.0 / (x * x)
        x = x + 1.0
    ixx = 1.0 / (x * x)
    result = result + (1.0 + 1.0 / (2.0 * x) + ixx * (1.0 / 6 - ixx * (1.0 / 30 - ixx * (1.0 / 42)))) / x
    return np.where(reflect, -result, result)


# ---------------------------------------------------------------------------- Hurwitz zeta

# (2k)! / B_2k for k = 1 .. 12: the Euler-Maclaurin correction terms
_ZETA_A = (12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18)


def zeta(x, q):
    """Hurwitz zeta(x, q) = sum_k (k + q)^-x by Euler-Maclaurin summation: inf at x = 1, nan
    for x < 1, inf at q a non-positive integer, nan at other q <= 0 unless x is an integer."""
    x, q = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(q, np.float64))
    special = np.where(q <= 0, np.where(q == np.floor(q), np.inf, np.where(x != np.floor(x), np.nan, 0.0)), 0.0)
    special = np.where(x < 1.0, np.nan, np.where(x == 1.0, np.inf, special))
    s = np.array(np.power(q, -x), np.float64)  # an array even when 0-d (written through .flat)
    a = q.copy()
    b = np.zeros(s.shape)
    done = (special != 0) | np.isnan(special)  # answered without summing
    i = 0
    while True:  # direct summation of the first terms (at least 9, and up to a > 9)
        active = np.flatnonzero(~done & ((i < 9) | (a <= 9.0)))  # (a far below 0 takes ~|a| steps)
        if not active.size:
            break
        i += 1
        a.flat[active] += 1.0
        b.flat[active] = np.power(a.flat[active], -x.flat[active])
        s.flat[active] += b.flat[active]
        sa, ba = s.flat[active], b.flat[active]
        done.flat[active] = (-MACHEP * sa < ba) & (ba < MACHEP * sa)
    w = a
    s = np.where(done, s, s + b * w / (x - 1.0) - 0.5 * b)
    a = np.ones_like(s)
    k = np.zeros_like(s)
    for coef in _ZETA_A:  # the Euler-Maclaurin tail
        active = ~done
        a = a * (x + k)
        b = b / w
        t = a * b / coef
        s = np.where(active, s + t, s)
        done |= active & (np.abs(t / s) < MACHEP)
        k = k + 1.0
        a = a * (x + k)
        b = b / w
        k = k + 1.0
    return np.where(special == 0, s, special)


# the Taylor coefficients of ln Gamma(1 + e) / e, highest power first: (-1)^k zeta(k)/k for
# k = 40 .. 2, then -Euler's gamma (40 terms: 0.25^40 / 40 is far below double rounding)
_EULER_GAMMA = 0.57721566490153286061
_LGAMMA_TAYLOR = tuple((-1.0) ** k * float(zeta(float(k), 1.0)) / k for k in range(40, 1, -1)) + (-_EULER_GAMMA,)


def polygamma(n, x):
    """The n-th derivative of digamma: digamma, trigamma, else (-1)^(n+1) n! zeta(n + 1, x)."""
    if n == 0:
        return digamma(x)
    if n == 1:
        return trigamma(x)
    return (1.0 if n % 2 else -1.0) * np.exp(math.lgamma(n + 1.0)) * zeta(float(n + 1), x)
