"""Numerical integration and differentiation of sampled values: trapezoid (and its older name
trapz), cumulative_trapezoid and gradient, torch's top-level names.

Each is composed of differentiable ops (narrow, arithmetic, sum, cumsum, cat), so gradients
flow to the samples and to the sample points ``x`` / ``spacing`` with no formula of its own.
"""

import numbers

from .. import _dtype
from ..tensor import Tensor, _wrap_dim

__all__ = ["trapezoid", "trapz", "cumulative_trapezoid", "gradient"]


def _float(t):
    """t, as the default float dtype when it holds integers or bools (the rules' results are floats)."""
    return t if t.dtype.is_floating_point else t.to(_dtype.get_default_dtype())


def _along(t, dim, ndim):
    """The 1-D tensor t shaped to broadcast along dim ``dim`` of an ``ndim``-dim tensor."""
    return t.reshape((-1,) + (1,) * (ndim - 1 - dim))


def _trapezoid_parts(name, y, x, dx, dim):
    """(dim, the trapezoids' areas along dim) of samples y at points x or at a spacing dx."""
    if x is not None and dx is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments: give the sample points x "
                        f"or the spacing dx, not both")
    if x is not None and not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'x' must be Tensor, not {type(x).__name__} "
                        f"(pass a constant spacing as dx=)")
    if y.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    dim = _wrap_dim(dim, y.ndim)
    y = _float(y)
    n = y.shape[dim]
    if x is not None and x.ndim == 1 and x.shape[0] != n:
        raise RuntimeError(f"{name}: There must be one `x` value for each sample point (x has {x.shape[0]} "
                           f"values, y has {n} samples along dim {dim})")
    if n == 0:
        return dim, None
    mean = (y.narrow(dim, 0, n - 1) + y.narrow(dim, 1, n - 1))  # twice each interval's mean height
    if x is None:
        widths = 1 if dx is None else dx
    elif x.ndim == 1:
        widths = _along(x.diff(), dim, y.ndim)
    else:  # x broadcasts against y, aligned from the last dim
        widths = x.diff(dim=dim - y.ndim)
    return dim, widths * mean


def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule's integral of samples ``y`` along ``dim``: at sample points ``x`` (a 1-D
    tensor of y.shape[dim] points, or a tensor broadcasting against y) or at a constant spacing
    ``dx`` (default 1). Integer samples give floats; no samples give 0."""
    dim, areas = _trapezoid_parts("trapezoid", y, x, dx, dim)
    if areas is None:
        return _float(y).sum(dim)
    return areas.sum(dim) / 2


def trapz(y, x=None, *, dx=None, dim=-1):
    """The older name of :func:`trapezoid`."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The trapezoidal rule's running integral of ``y`` along ``dim`` (one fewer element there than y):
    sample points ``x`` or spacing ``dx`` as in :func:`trapezoid`."""
    dim, areas = _trapezoid_parts("cumulative_trapezoid", y, x, dx, dim)
    if areas is None:
        return _float(y).narrow(dim, 0, 0)
    return (areas / 2).cumsum(dim)


def _dims(input, dim):
    if dim is None:
        return list(range(input.ndim))
    dims = [dim] if isinstance(dim, numbers.Integral) else list(dim)
    dims = [_wrap_dim(d, input.ndim) for d in dims]
    for d in dims:
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return dims


def _spacings(spacing, dims):
    """One spacing per dim: a number (a uniform step) or a 1-D tensor (the sample points)."""
    if spacing is None:
        return [1] * len(dims)
    if isinstance(spacing, Tensor):
        if spacing.ndim != 0:
            raise TypeError("gradient(): a tensor of sample points goes in a list or tuple: spacing=[coords] "
                            "(a bare tensor must be a 0-dim step)")
        return [spacing] * len(dims)
    if isinstance(spacing, numbers.Number):
        return [spacing] * len(dims)
    spacing = list(spacing)
    if len(spacing) != len(dims):
        raise RuntimeError(
            f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim arguments to "
            f"have the same length, but got a spacing argument of length {len(spacing)} and a dim argument of "
            f"length {len(dims)}.")
    for s in spacing:
        if isinstance(s, Tensor) and s.ndim != 1:
            raise RuntimeError(f"torch.gradient expected each element of spacing to have one dimension, but got "
                               f"an element with {s.ndim} dimensions!")
    return spacing


def _uniform(f, dim, h, edge_order):
    """The differences of f along dim at a uniform step h: (first edge, interior, last edge)."""
    n = f.shape[dim]

    def at(start, length=1):
        return f.narrow(dim, start % n, length)

    interior = (at(2, n - 2) - at(0, n - 2)) / (2 * h)
    if edge_order == 1:
        return (at(1) - at(0)) / h, interior, (at(-1) - at(-2)) / h
    first = (-1.5 * at(0) + 2 * at(1) - 0.5 * at(2)) / h
    last = (0.5 * at(-3) - 2 * at(-2) + 1.5 * at(-1)) / h
    return first, interior, last


def _coordinates(f, dim, x, edge_order):
    """The differences of f along dim at sample points x (second order inside, as numpy.gradient)."""
    n = f.shape[dim]
    if x.shape[0] != n:
        raise RuntimeError(f"torch.gradient expected each tensor of spacing to hold one sample point per element "
                           f"of its dim, but got {x.shape[0]} points for dim {dim} of size {n}")

    def at(start, length=1):
        return f.narrow(dim, start % n, length)

    steps = _along(x.diff(), dim, f.ndim)  # its dim 0 broadcasts along f's dim

    def step(start, length=1):
        return steps.narrow(0, start, length)

    hl, hr = step(0, n - 2), step(1, n - 2)
    interior = (hl ** 2 * at(2, n - 2) - hr ** 2 * at(0, n - 2) + (hr ** 2 - hl ** 2) * at(1, n - 2)) \
        / (hl * hr * (hl + hr))
    h0, h1 = step(0), step(n - 2)
    if edge_order == 1:
        return (at(1) - at(0)) / h0, interior, (at(-1) - at(-2)) / h1
    d1, d2 = h0, step(1)  # the first two steps
    first = (-(2 * d1 + d2) / (d1 * (d1 + d2)) * at(0) + (d1 + d2) / (d1 * d2) * at(1)
             - d1 / (d2 * (d1 + d2)) * at(2))
    d1, d2 = step(n - 3), h1  # the last two steps
    last = (d2 / (d1 * (d1 + d2)) * at(-3) - (d1 + d2) / (d1 * d2) * at(-2)
            + (2 * d2 + d1) / (d2 * (d1 + d2)) * at(-1))
    return first, interior, last


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """The derivative of the samples ``input`` along each dim in ``dim`` (default: every dim), a tuple
    of tensors of input's shape: central differences inside, one-sided differences of order
    ``edge_order`` (1 or 2) at the edges. ``spacing``: a number (the step of every dim), a list of
    numbers (one step per dim) or a list of 1-D tensors (each dim's sample points)."""
    from .join import cat

    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = _dims(input, dim)
    spacings = _spacings(spacing, dims)
    f = _float(input)
    results = []
    for d, h in zip(dims, spacings):
        if f.shape[d] < edge_order + 1:
            raise RuntimeError(f"torch.gradient expected each dimension size to be at least edge_order+1 "
                               f"(dim {d} has size {f.shape[d]}, edge_order is {edge_order})")
        if isinstance(h, Tensor) and h.ndim == 1:
            parts = _coordinates(f, d, h, edge_order)
        else:
            parts = _uniform(f, d, h, edge_order)
        results.append(cat(parts, d))
    return tuple(results)
