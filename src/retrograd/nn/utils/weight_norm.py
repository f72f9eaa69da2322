"""Weight normalisation (the hook form, ``torch.nn.utils.weight_norm``):
w = g * v / ||v||, the norm taken over every dim except ``dim``; ``g`` and ``v`` are the
parameters (``weight_g``, ``weight_v``) and ``w`` is recomputed before each forward."""

import warnings

from ..parameter import Parameter

__all__ = ["weight_norm", "remove_weight_norm", "WeightNorm"]
EXPORTS = __all__


def norm_except_dim(v, pow=2, dim=0):  # noqa: A002 - torch's argument name
    """||v||_pow over every dim but ``dim`` (kept as size-1 dims); dim None: over all."""
    if dim is None or dim == -1:
        return (v.abs() ** pow).sum() ** (1.0 / pow) if pow != 2 else (v * v).sum().sqrt()
    dim = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    if not others:
        return v.abs()
    if pow == 2:
        return (v * v).sum(others, keepdim=True).sqrt()
    return (v.abs() ** pow).sum(others, keepdim=True) ** (1.0 / pow)


class WeightNorm:
    """The forward pre-hook of weight_norm: sets ``module.<name>`` = g * v / ||v|| (norm over every
    dim but ``dim``)."""

    def __init__(self, name, dim):
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module):
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return v * (g / norm_except_dim(v, 2, self.dim))

    @staticmethod
    def apply(module, name, dim):
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, fn.dim).detach().clone()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        fn.handle = module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module):
        weight = self.compute_weight(module).detach()
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight))
        self.handle.remove()

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module))


def weight_norm(module, name="weight", dim=0):
    """Reparametrise ``module.<name>`` as g * v / ||v|| (g: one magnitude per slice along
    ``dim``; ``dim=None``: one for the whole tensor)."""
    warnings.warn("torch.nn.utils.weight_norm is deprecated in favor of "
                  "torch.nn.utils.parametrizations.weight_norm.", FutureWarning, stacklevel=2)
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module, name="weight"):
    """Undo ``weight_norm``: ``module.<name>`` becomes a plain parameter again."""
    for hook in list(module._forward_pre_hooks.values()):
        if isinstance(hook, WeightNorm) and hook.name == name:
            hook.remove(module)
            return module
    raise ValueError(f"weight_norm of '{name}' not found in {module}")
