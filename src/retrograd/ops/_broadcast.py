"""Undo broadcasting in backward, and torch's broadcasting error."""

import numpy as np

from .._backend import array_module

_ndarray = np.ndarray  # (np.ndarray reads are not specialised by CPython 3.11: numpy has a module __getattr__)


def sum_to_shape(grad, shape):
    """Sum ``grad`` over the dimensions that broadcasting added or stretched, so that it
    has ``shape`` again: the backward of every broadcasting op."""
    gshape = grad._data.shape
    if gshape == shape:
        return grad
    shape = tuple(shape)
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    stretched = tuple(lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1)
    if not stretched:  # only leading dims were added (a bias): one sum, no reshape
        return grad.sum(tuple(range(lead)))
    dims = tuple(range(lead)) + stretched
    if dims:
        grad = grad.sum(dims, keepdim=True)
    return grad.reshape(shape) if grad._data.shape != shape else grad


def broadcast_error(a_shape, b_shape, names=("a", "b")):
    """RuntimeError in torch's words for two shapes that do not broadcast."""
    n = max(len(a_shape), len(b_shape))
    a = (1,) * (n - len(a_shape)) + tuple(a_shape)
    b = (1,) * (n - len(b_shape)) + tuple(b_shape)
    for dim in range(n - 1, -1, -1):
        if a[dim] != b[dim] and 1 not in (a[dim], b[dim]):
            return RuntimeError(
                f"The size of tensor {names[0]} ({a[dim]}) must match the size of tensor "
                f"{names[1]} ({b[dim]}) at non-singleton dimension {dim} "
                f"(shapes {list(a_shape)} and {list(b_shape)} do not broadcast)"
            )
    return RuntimeError(f"shapes {list(a_shape)} and {list(b_shape)} do not broadcast")


def broadcast_shapes(*shapes):
    """torch.broadcast_shapes."""
    out = []
    for shape in shapes:
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if len(shape) > len(out):
            out = [1] * (len(shape) - len(out)) + out
        for i, s in enumerate(shape):
            j = len(out) - len(shape) + i
            if out[j] == 1:
                out[j] = s
            elif s != 1 and s != out[j]:
                raise broadcast_error(tuple(out), shape)
    return tuple(out)


def broadcast_view(x, shape):
    """A read-only view of array ``x`` broadcast to ``shape`` (what np.broadcast_to makes, built
    directly for C-contiguous NumPy arrays: np.broadcast_to costs microseconds per call)."""
    if type(x) is _ndarray and x.flags.c_contiguous and x.size:
        lead = len(shape) - x.ndim
        if lead >= 0:
            strides = [0] * lead
            for s, n, st in zip(x.shape, shape[lead:], x.strides):
                if s == n:
                    strides.append(st)
                elif s == 1:
                    strides.append(0)
                else:
                    break
            else:
                view = _ndarray(shape, x.dtype, x, 0, tuple(strides))
                view.setflags(write=False)  # (~1.4K machine instructions less than .flags.writeable = False)
                return view
    return array_module(x).broadcast_to(x, shape)
