"""Helpers shared by the families whose whole state is their parameter tensors."""
from numbers import Number

import retrograd


def batch_shape_of(given, broadcast):
    """A family built from plain Python numbers (`given`) has no batch dimensions; otherwise the
    batch shape is the shape of its parameters after broadcasting (`broadcast`, one of them)."""
    if all(isinstance(p, Number) for p in given):
        return retrograd.Size()
    return broadcast.size()


def expand_params(dist, cls, batch_shape, _instance, names):
    """`expand` for a family whose state is the parameters `names`, each of shape batch_shape:
    the new instance holds the parameters broadcast (as views) to the new batch shape.

    Names not set on `dist` are skipped, so a family given by probs or by logits carries
    whichever of the two exist (computed lazily or given)."""
    new = dist._get_checked_instance(cls, _instance)
    batch_shape = retrograd.Size(batch_shape)
    for name in names:
        if name in dist.__dict__:
            value = dist.__dict__[name]
            setattr(new, name, value.expand(batch_shape + value.shape[len(dist.batch_shape):]))
    super(cls, new).__init__(batch_shape, dist.event_shape, validate_args=False)
    new._validate_args = dist._validate_args
    return new
