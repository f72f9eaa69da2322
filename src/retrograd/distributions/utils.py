"""Helpers shared by the distributions: broadcasting parameters, converting between
probabilities and logits, the cached ``lazy_property``, and packing lower triangles."""

from __future__ import annotations

from numbers import Number

import numpy as np

import retrograd
from retrograd import Tensor

# what a parameter may be besides a tensor (bool is a Number too)
_Number = (int, float)

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant, gamma = -digamma(1)

__all__ = ["broadcast_all", "logits_to_probs", "probs_to_logits", "clamp_probs", "lazy_property",
           "tril_matrix_to_vec", "vec_to_tril_matrix", "euler_constant"]


def broadcast_all(*values):
    """The arguments as tensors of one broadcast shape. Numbers become tensors of the dtype and
    device of the first tensor argument (the default dtype when all are numbers), so that a
    float64 parameter beside a Python float stays float64."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or "
                         "objects implementing __torch_function__.")
    first = next((v for v in values if isinstance(v, Tensor)), None)
    if first is None:
        like = dict(dtype=retrograd.get_default_dtype())
    else:
        like = dict(dtype=first.dtype, device=first.device)
    tensors = [v if isinstance(v, Tensor) else retrograd.tensor(v, **like) for v in values]
    return tuple(retrograd.broadcast_tensors(*tensors))


def _standard_normal(shape, dtype, device):
    """Draws of N(0, 1) of ``shape`` from retrograd's generator (no gradient)."""
    with retrograd.no_grad():
        return retrograd.randn(tuple(shape), dtype=dtype, device=device)


def _sum_rightmost(value, dim):
    """``value`` summed over its ``dim`` rightmost dimensions (``dim == 0``: unchanged)."""
    if dim == 0:
        return value
    return value.reshape(*value.shape[: value.dim() - dim], -1).sum(-1)


def logits_to_probs(logits, is_binary=False):
    """Probabilities from logits: the sigmoid of each (binary), or the softmax over the last
    dimension (categorical)."""
    return retrograd.sigmoid(logits) if is_binary else retrograd.softmax(logits, dim=-1)


def clamp_probs(probs):
    """``probs`` kept inside [eps, 1 - eps] of its dtype, so that their logs stay finite."""
    eps = retrograd.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Logits from probabilities: log(p) - log(1 - p) (binary) or log(p) (categorical: the
    logits of a softmax, up to a constant), of the clamped probabilities."""
    p = clamp_probs(probs)
    return retrograd.log(p) - retrograd.log1p(-p) if is_binary else retrograd.log(p)


class lazy_property:
    """A property computed on first access and then stored on the instance (so later reads are
    attribute lookups). Read on the class it gives itself, so that ``Distribution`` can tell a
    not-yet-computed lazy parameter from a given one."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__
        self.__name__ = wrapped.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with retrograd.enable_grad():  # cached values keep their graph even if first read under no_grad
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value  # shadows this descriptor from now on
        return value


def tril_matrix_to_vec(mat, diag=0):
    """The entries of the last two (square) dimensions on and below diagonal ``diag``, row by
    row, as the last dimension."""
    n = mat.shape[-1]
    if mat.dim() < 2 or mat.shape[-2] != n:
        raise IndexError(f"tril_matrix_to_vec expects square matrices, got shape {tuple(mat.shape)}")  # (torch: IndexError)
    rows, cols = np.tril_indices(n, diag)
    return mat[..., rows, cols]


def vec_to_tril_matrix(vec, diag=0):
    """The inverse of ``tril_matrix_to_vec``: n x n matrices with ``vec`` (last dimension)
    filled row by row on and below diagonal ``diag`` and zeros elsewhere."""
    m = vec.shape[-1]
    n = 0
    while np.tril_indices(n, diag)[0].size < m:
        n += 1
    if np.tril_indices(n, diag)[0].size != m:
        raise ValueError(f"vec_to_tril_matrix: a last dimension of {m} is not the size of a lower "
                         f"triangle with diagonal offset {diag}")
    # gather from [0, vec...]: position 0 is the zero above the diagonal
    index = np.zeros((n, n), dtype=np.int64)
    rows, cols = np.tril_indices(n, diag)
    index[rows, cols] = np.arange(1, m + 1)
    padded = retrograd.cat([retrograd.zeros(*vec.shape[:-1], 1, dtype=vec.dtype, device=vec.device), vec], -1)
    return padded[..., index.reshape(-1)].reshape(*vec.shape[:-1], n, n)
