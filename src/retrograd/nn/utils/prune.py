"""Pruning, as ``torch.nn.utils.prune``: pruning ``module.<name>`` keeps the original as the
parameter ``<name>_orig``, a 0/1 buffer ``<name>_mask``, and makes ``<name>`` their product,
recomputed before each forward by the method, which stays on the module as a forward pre-hook.
Pruning the same tensor again prunes only what is left (the methods gather in a
``PruningContainer``); ``remove`` makes the pruned values the parameter again.

Masks are computed from the values' NumPy copy (they carry no gradient); the product
``mask * orig`` is recorded, so gradients reach ``<name>_orig``."""

import numbers
from abc import ABC, abstractmethod

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .convert_parameters import parameters_to_vector

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured",
           "custom_from_mask", "remove", "is_pruned"]


def _host(t):
    return np.asarray(t.detach().cpu().numpy())


def _like(t, values):
    """A tensor of ``t``'s dtype and device holding ``values``."""
    from ...creation import tensor
    return tensor(np.asarray(values), dtype=t.dtype, device=t.device)


def _check_amount(amount):
    """An amount is a fraction in [0, 1] or a count >= 0 (torch's TypeError / ValueError)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    bad = amount < 0 if isinstance(amount, numbers.Integral) else not 0.0 <= float(amount) <= 1.0
    if bad:
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _how_many(amount, size):
    """How many of ``size`` entries (or channels) ``amount`` prunes."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={size}")
        return int(amount)
    return round(amount * size)


def _check_structured(t):
    if t.dim() <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. Found tensor "
                         f"of shape {t.shape} with {t.dim()} dims")


def _channel_mask(t, dim, keep, default_mask):
    """Ones on the kept channels (indices ``keep`` along ``dim``), zeros elsewhere, times the old mask."""
    dim = _dim(t, dim)
    mask = np.zeros(tuple(t.shape))
    where = [slice(None)] * t.dim()
    where[dim] = np.asarray(keep, dtype=np.int64)
    mask[tuple(where)] = 1
    return _like(default_mask, mask * _host(default_mask))


def _dim(t, dim):
    if not -t.dim() <= dim < t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")
    return dim % t.dim()


class BasePruningMethod(ABC):
    """A way of choosing a mask; subclasses define ``compute_mask(t, default_mask)`` and
    ``PRUNING_TYPE`` ('unstructured', 'structured' or 'global')."""

    _tensor_name: str

    def __call__(self, module, inputs):
        """The forward pre-hook: recompute ``module.<name>`` from the original and the mask."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t, default_mask):
        """The new mask for ``t`` given the mask it already has."""

    def apply_mask(self, module):
        """``<name>_mask * <name>_orig`` of ``module`` (recorded for autograd)."""
        if not hasattr(self, "_tensor_name"):
            raise AttributeError(f"Module {module} has to be pruned")
        orig = getattr(module, self._tensor_name + "_orig")
        mask = getattr(module, self._tensor_name + "_mask")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)`` and return the method (or the
        container it joined, when ``name`` was pruned before)."""
        method = cls(*args, **kwargs)
        method._tensor_name = name
        earlier = [(key, hook) for key, hook in module._forward_pre_hooks.items()
                   if isinstance(hook, BasePruningMethod) and hook._tensor_name == name]
        if len(earlier) > 1:
            raise RuntimeError(f"More than one pruning hook is registered for parameter {name} of {module}; "
                               "remove them with prune.remove first")
        if earlier:
            key, old = earlier[0]
            container = old if isinstance(old, PruningContainer) else PruningContainer(old)
            container.add_pruning_method(method)
            del module._forward_pre_hooks[key]
            method = container
        orig = getattr(module, name)
        scores = orig if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(orig.shape):
            raise AssertionError(f"importance_scores should have the same shape as parameter {name} of "
                                 f"{module}, got {scores.shape} vs {orig.shape}")
        if earlier:
            default_mask = getattr(module, name + "_mask").detach().clone()
        else:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = _like(orig, np.ones(tuple(orig.shape)))
        try:
            mask = method.compute_mask(scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if not earlier:  # leave the module as it was
                restored = module._parameters.pop(name + "_orig")
                module._buffers.pop(name + "_mask", None)
                if name in module.__dict__:
                    del module.__dict__[name]
                module.register_parameter(name, restored)
            raise
        return method

    def prune(self, t, default_mask=None, importance_scores=None):
        """``t`` times the mask this method computes for it (from ``importance_scores`` if given)."""
        scores = t if importance_scores is None else importance_scores
        if tuple(scores.shape) != tuple(t.shape):
            raise AssertionError("importance_scores should have the same shape as tensor t")
        if default_mask is None:
            default_mask = _like(t, np.ones(tuple(t.shape)))
        return t * self.compute_mask(scores, default_mask=default_mask)

    def remove(self, module):
        """Make the pruned values the parameter ``<name>`` again, dropping ``_orig`` and ``_mask``."""
        name = self._tensor_name
        if name + "_orig" not in module._parameters:
            raise AssertionError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")
        pruned = self.apply_mask(module)
        if name in module.__dict__:
            del module.__dict__[name]
        orig = module._parameters.pop(name + "_orig")
        with no_grad():
            orig.data = pruned.data
        module._buffers.pop(name + "_mask", None)
        setattr(module, name, orig)


class PruningContainer(BasePruningMethod):
    """Successive pruning methods of one tensor: each new one prunes only what the earlier
    ones left (the unpruned entries, or the unpruned channels for a structured method; a
    'global' method such as a custom mask sees the whole tensor and the old mask)."""

    def __init__(self, *args):
        self._pruning_methods = ()
        if len(args) == 1 and not isinstance(args[0], BasePruningMethod):  # an iterable of methods
            args = tuple(args[0])
        if args:
            self._tensor_name = args[0]._tensor_name
        for method in args:
            self.add_pruning_method(method)

    def add_pruning_method(self, method):
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on the parameter named "
                             f"'{self._tensor_name}' to PruningContainer {self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self):
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx):
        return self._pruning_methods[idx]

    def compute_mask(self, t, default_mask):
        method = self._pruning_methods[-1]
        old = _host(default_mask)
        values = _host(t)
        kind = method.PRUNING_TYPE
        if kind == "global":  # a method over the whole tensor (a custom mask): it sees the old mask
            return method.compute_mask(t, default_mask=default_mask)
        if kind == "unstructured":
            alive = old == 1
            part = method.compute_mask(_like(t, values[alive]), default_mask=_like(default_mask, old[alive]))
            new = old.copy()
            new[alive] = _host(part)
        elif kind == "structured":
            if not hasattr(method, "dim"):
                raise AttributeError("Pruning methods of PRUNING_TYPE 'structured' need to have the attribute `dim` "
                                     "defined.")
            dim = _dim(t, method.dim)
            others = tuple(d for d in range(t.dim()) if d != dim)
            kept = np.flatnonzero(old.sum(axis=others) != 0)  # channels not pruned yet
            take = [slice(None)] * t.dim()
            take[dim] = kept
            take = tuple(take)
            part = method.compute_mask(_like(t, values[take]), default_mask=_like(default_mask, old[take]))
            new = old.copy()
            new[take] = _host(part)
        else:
            raise ValueError(f"Unrecognized PRUNING_TYPE {kind}")
        return _like(default_mask, new)


class Identity(BasePruningMethod):
    """Prunes nothing: the mask stays as it is (all ones on a fresh tensor)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        return default_mask

    @classmethod
    def apply(cls, module, name):
        return super().apply(module, name)


class _Unstructured(BasePruningMethod):
    """Prunes ``amount`` entries (a fraction or a count): the first ones of ``_order``."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        _check_amount(amount)
        self.amount = amount

    def compute_mask(self, t, default_mask):
        k = _how_many(self.amount, t.numel())
        mask = _host(default_mask).copy()
        if k:
            mask.reshape(-1)[self._order(t)[:k]] = 0
        return _like(default_mask, mask)

    @classmethod
    def apply(cls, module, name, amount):
        return super().apply(module, name, amount=amount)


class RandomUnstructured(_Unstructured):
    """Prunes ``amount`` entries (a fraction or a count) chosen at random."""

    @staticmethod
    def _order(t):
        from ... import rand
        return np.argsort(-_host(rand(t.numel())).reshape(-1), kind="stable")


class L1Unstructured(_Unstructured):
    """Prunes the ``amount`` entries (a fraction or a count) of smallest absolute value."""

    @staticmethod
    def _order(t):
        return np.argsort(np.abs(_host(t)).reshape(-1), kind="stable")

    @classmethod
    def apply(cls, module, name, amount, importance_scores=None):
        return super(_Unstructured, cls).apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim``, chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, dim=-1):
        _check_amount(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t, default_mask):
        _check_structured(t)
        size = t.shape[_dim(t, self.dim)]
        k = _how_many(self.amount, size)
        if not k:
            return default_mask
        from ... import rand
        draw = _host(rand(size))
        return _channel_mask(t, self.dim, np.sort(np.argsort(draw, kind="stable")[:size - k]), default_mask)

    @classmethod
    def apply(cls, module, name, amount, dim=-1):
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` channels along ``dim`` of smallest ``n``-norm (``n`` a number, inf,
    -inf or 'fro')."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        _check_amount(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t, default_mask):
        _check_structured(t)
        dim = _dim(t, self.dim)
        size = t.shape[dim]
        k = _how_many(self.amount, size)
        if not k:
            return default_mask
        from ... import linalg
        others = [d for d in range(t.dim()) if d != dim]
        p = 2 if self.n == "fro" else self.n
        norms = _host(linalg.vector_norm(t.detach(), p, dim=others))
        keep = np.argsort(-norms, kind="stable")[:size - k]
        return _channel_mask(t, dim, np.sort(keep), default_mask)

    @classmethod
    def apply(cls, module, name, amount, n, dim, importance_scores=None):
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where the given ``mask`` is 0."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = mask

    def compute_mask(self, t, default_mask):
        if tuple(default_mask.shape) != tuple(self.mask.shape):
            raise AssertionError(f"default_mask shape {default_mask.shape} must match self.mask shape "
                                 f"{self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module, name, mask):
        return super().apply(module, name, mask=mask)


def identity(module, name):
    """Prune nothing, but give ``module.<name>`` the pruning layout (``_orig``, ``_mask``)."""
    Identity.apply(module, name)
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` (a fraction or a count) of ``module.<name>``'s entries, chosen at random."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` entries of ``module.<name>`` of smallest |importance| (the values by default)."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module, name, amount, dim):
    """Prune ``amount`` whole channels of ``module.<name>`` along ``dim``, chosen at random."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune the ``amount`` channels along ``dim`` of smallest ``n``-norm of the importance scores."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` is 0."""
    CustomFromMask.apply(module, name, mask)
    return module


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune the ``(module, name)`` pairs as one vector with an unstructured method (e.g. the
    smallest 20% of all of them together, by L1)."""
    if not hasattr(parameters, "__iter__") or isinstance(parameters, Tensor):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = {} if importance_scores is None else importance_scores
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = parameters_to_vector([importance_scores.get((m, n), getattr(m, n)) for m, n in parameters])
    old = parameters_to_vector([getattr(m, n + "_mask", None) if hasattr(m, n + "_mask")
                                else _like(getattr(m, n), np.ones(tuple(getattr(m, n).shape)))
                                for m, n in parameters])
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"{pruning_method} of type {method.PRUNING_TYPE}")
    container = PruningContainer(method)
    mask = container.compute_mask(scores.detach(), old)
    start = 0
    for module, name in parameters:
        param = getattr(module, name)
        custom_from_mask(module, name, mask=mask[start:start + param.numel()].view_as(param))
        start += param.numel()


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent: ``<name>`` becomes a parameter holding the
    pruned values, and ``_orig``, ``_mask`` and the forward pre-hook go."""
    for key, hook in list(module._forward_pre_hooks.items()):
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module):
    """Whether any submodule of ``module`` has a pruning forward pre-hook."""
    return any(isinstance(hook, BasePruningMethod)
               for m in module.modules() for hook in m._forward_pre_hooks.values())
