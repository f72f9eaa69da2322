"""Parametrizations built on ``parametrize``: ``weight_norm`` (w = g v / ||v||) and
``spectral_norm`` (w / sigma_max(w), sigma by power iteration in training mode)."""

from ... import _backend
from ...autograd.grad_mode import no_grad
from ...random import _rng
from ...tensor import Tensor
from ..modules.module import Module
from . import parametrize
from .weight_norm import norm_except_dim

__all__ = ["weight_norm", "spectral_norm"]
EXPORTS = []


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim).detach(), weight.detach()


def weight_norm(module, name="weight", dim=0):
    """``module.<name>`` = g * v / ||v|| with originals ``parametrizations.<name>.original0``
    (g) and ``original1`` (v)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


def _normalize(a, eps):
    xp = _backend.array_module(a)
    return a / xp.maximum(xp.sqrt((a * a).sum()), eps)  # (on a device the norm stays there)


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(
                "Dimension out of range (expected to be in range of "
                f"[-{ndim}, {ndim - 1}] but got {dim})"
            )
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            rng = _rng()
            xp = _backend.array_module(weight._data)
            dt = weight._data.dtype
            self.register_buffer("_u", Tensor._make(xp.asarray(_normalize(rng.normal(size=h), eps).astype(dt))))
            self.register_buffer("_v", Tensor._make(xp.asarray(_normalize(rng.normal(size=w), eps).astype(dt))))
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, mat, n):
        with no_grad():
            w = mat._data
            u, v = self._u, self._v
            for _ in range(n):
                u._data[...] = _normalize(w @ v._data, self.eps)
                v._data[...] = _normalize(w.T @ u._data, self.eps)
            u._vc[0] += 1
            v._vc[0] += 1

    def forward(self, weight):
        if weight.ndim == 1:
            from .. import functional as F

            return F.normalize(weight, dim=0, eps=self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u = Tensor._make(self._u._data.copy())
        v = Tensor._make(self._v._data.copy())
        sigma = (u * (mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """``module.<name>`` divided by its largest singular value (buffers
    ``parametrizations.<name>.0._u`` / ``_v``)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
