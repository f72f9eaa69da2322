"""Attach op functions to Tensor as methods (one place, so every op module reads the same)."""

from ..tensor import Tensor


def tensor_method(*names):
    """Register the decorated function as ``Tensor.<name>`` for each name (default: its own)."""

    def register(fn):
        for name in names or (fn.__name__,):
            setattr(Tensor, name, fn)
        return fn

    return register
