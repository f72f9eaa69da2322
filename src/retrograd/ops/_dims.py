"""Dimension arguments as torch takes them: an int, a tuple or list, or None for all."""

from ..tensor import _wrap_dim
from ._broadcast import broadcast_view


def normalize_dims(dim, ndim):
    """A sorted tuple of non-negative dims; None means every dim. Repeats raise as torch does."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    out = tuple(sorted(_wrap_dim(d, ndim) for d in dims))
    if len(set(out)) != len(out):
        raise RuntimeError(f"dim {out[0]} appears multiple times in the list of dims")
    return out if ndim else ()  # a 0-dim tensor takes dim 0 / -1 and reduces nothing


def expand_reduced(g, shape, dims, keepdim):
    """Broadcast the gradient of a reduction back over the reduced dims of ``shape``."""
    if not keepdim and dims and len(shape) and g._data.ndim:
        g = g.reshape(tuple(1 if i in dims else s for i, s in enumerate(shape)))
    return g.expand(shape)


def expand_reduced_array(g, shape, dims, keepdim):
    """``expand_reduced`` on arrays (a read-only broadcast view), for backward without a graph."""
    if not keepdim and dims and len(shape) and g.ndim:
        g = g.reshape(tuple(1 if i in dims else s for i, s in enumerate(shape)))
    return broadcast_view(g, tuple(shape))
