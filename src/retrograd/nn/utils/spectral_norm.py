"""Spectral normalisation (the hook form, ``torch.nn.utils.spectral_norm``): the weight is
divided by its largest singular value sigma, estimated by power iteration on the buffers
``weight_u`` / ``weight_v`` (updated in training mode only); ``weight_orig`` is the parameter."""

from ... import _backend
from ...autograd.grad_mode import no_grad
from ...random import _rng
from ...tensor import Tensor
from ..parameter import Parameter

__all__ = ["spectral_norm", "remove_spectral_norm", "SpectralNorm"]
EXPORTS = __all__


def _normalize(a, eps):
    xp = _backend.array_module(a)
    return a / max(float(xp.sqrt((a * a).sum())), eps)


class SpectralNorm:
    """The forward pre-hook of spectral_norm: sets ``module.<name>`` to weight_orig / sigma, sigma
    estimated by power iteration on ``<name>_u`` / ``<name>_v``."""

    def __init__(self, name="weight", n_power_iterations=1, dim=0, eps=1e-12):
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        self.name = name
        self.dim = dim
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight):
        if self.dim != 0:
            weight = weight.movedim(self.dim, 0)
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                w = mat._data
                ua, va = u._data, v._data
                for _ in range(self.n_power_iterations):
                    va[...] = _normalize(w.T @ ua, self.eps)
                    ua[...] = _normalize(w @ va, self.eps)
                u._vc[0] += 1
                v._vc[0] += 1
        uc, vc = Tensor._make(u._data.copy()), Tensor._make(v._data.copy())
        sigma = (uc * (mat @ vc)).sum()
        return weight / sigma

    def remove(self, module):
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module, name, n_power_iterations, dim, eps):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        with no_grad():
            mat = fn.reshape_weight_to_matrix(weight)
            h, w = mat.shape
            rng = _rng()
            xp = _backend.array_module(weight._data)
            u = xp.asarray(_normalize(rng.normal(size=h), eps).astype(weight._data.dtype))
            v = xp.asarray(_normalize(rng.normal(size=w), eps).astype(weight._data.dtype))
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", Tensor._make(u))
        module.register_buffer(fn.name + "_v", Tensor._make(v))
        fn.handle = module.register_forward_pre_hook(fn)
        return fn


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm before each forward."""
    if dim is None:
        dim = 1 if type(module).__name__.startswith("ConvTranspose") else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module, name="weight"):
    """Undo spectral_norm: ``module.<name>`` becomes a plain parameter again (the current normalized
    weight)."""
    for hook in list(module._forward_pre_hooks.values()):
        if isinstance(hook, SpectralNorm) and hook.name == name:
            hook.remove(module)
            hook.handle.remove()
            return module
    raise ValueError(f"spectral_norm of '{name}' not found in {module}")
