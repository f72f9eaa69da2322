"""Parametrizations, as ``torch.nn.utils.parametrize``: ``module.<name>`` becomes a
property computed from stored originals by a chain of modules
(``module.parametrizations.<name>``), so ``state_dict`` holds
``parametrizations.<name>.original`` (or ``original0``, ``original1``, ...)."""

import contextlib

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "ParametrizationList", "type_before_parametrizations", "transfer_parametrizations_and_params"]
EXPORTS = []

_cache_enabled = 0
_cache = {}


@contextlib.contextmanager
def cached():
    """Inside this context each parametrized tensor is computed once, at its first use."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register(module, name, value):
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set_data(tensor, value):
    tensor._data = value._data.astype(tensor._data.dtype, copy=True)
    tensor._vc[0] += 1


class ParametrizationList(ModuleList):
    """The chain of parametrizations of one tensor and its original(s)."""

    def __init__(self, modules, original, unsafe=False):
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:  # as torch: then the original is stored as it is
                        pass
        if not isinstance(new, (Tensor, tuple, list)):
            raise ValueError(
                "'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                f"Got {type(new).__name__}"
            )
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new is not original:
                _set_data(original, new) if tuple(new.shape) == tuple(original.shape) else \
                    setattr(original, "_data", new._data.copy())
            _register(self, "original", original)
        else:
            for i, value in enumerate(new):
                if not isinstance(value, Tensor):
                    raise ValueError(f"'right_inverse' must return a sequence of tensors. Got {type(value).__name__}")
                value = value.detach()
                if isinstance(original, Parameter):
                    value = Parameter(Tensor._make(value._data.copy()), original.requires_grad)
                _register(self, f"original{i}", value)
        if not unsafe:
            z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(z).__name__}.")
            if z.dtype != original.dtype or tuple(z.shape) != tuple(original.shape):
                raise ValueError(
                    "Registering a parametrization may not change the shape or dtype of the tensor, "
                    f"unless `unsafe` flag is enabled.\nunparametrized shape: {original.shape}\n"
                    f"parametrized shape: {z.shape}"
                )

    def right_inverse(self, value):
        """Store the originals that make this parametrization produce ``value``."""
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
                else:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
            if self.is_tensor:
                _set_data(self.original, value)
            else:
                for i, v in enumerate(value):
                    _set_data(getattr(self, f"original{i}"), v)

    def forward(self):
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x


def _inject_new_class(module):
    cls = module.__class__

    def getstate(self):
        raise RuntimeError(
            "Serialization of parametrized modules is only supported through state_dict(). See:\n"
            "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
        )

    param_cls = type(f"Parametrized{cls.__name__}", (cls,), {"__getstate__": getstate,
                                                             "__reduce_ex__": _reduce_parametrized})
    module.__class__ = param_cls


def _reduce_parametrized(self, protocol):
    if protocol is None or protocol < 0:
        raise RuntimeError("Serialization of parametrized modules is only supported through state_dict().")
    # deepcopy: rebuild through the unparametrized base class and restore the dict
    return (_rebuild_parametrized, (type(self),), dict(self.__dict__))


def _rebuild_parametrized(cls):
    return object.__new__(cls)


def _inject_property(module, tensor_name):
    def get_parametrized(self):
        parametrization = self.parametrizations[tensor_name]
        if _cache_enabled:
            key = (id(self), tensor_name)
            if key not in _cache:
                _cache[key] = parametrization()
            return _cache[key]
        return parametrization()

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def is_parametrized(module, tensor_name=None):
    """Whether ``module`` (or its ``tensor_name``) has a parametrization."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if parametrizations is None or not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Make ``module.<tensor_name>`` the output of ``parametrization`` applied to the stored
    original (set, through ``right_inverse`` when it has one, from the current value)."""
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor) or x.shape != y.shape or x.dtype != y.dtype:
                raise ValueError(
                    "Registering a parametrization may not change the shape or dtype of the tensor, "
                    "unless `unsafe` flag is enabled."
                )
        plist.append(parametrization)
        plist.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(
            f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with name "
            f"'{tensor_name}'"
        )
    return module


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Undo the parametrization of ``tensor_name``: it becomes a plain parameter (or
    buffer) holding the parametrized value (``leave_parametrized``) or the original."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
            _set_data(original, t) if tuple(t.shape) == tuple(original.shape) else \
                setattr(original, "_data", t._data.copy())
    else:
        if not leave_parametrized:
            raise ValueError(
                "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized in "
                "terms of a sequence of tensors."
            )
        with no_grad():
            t = getattr(module, tensor_name)
        if isinstance(plist.original0, Parameter):
            original = Parameter(Tensor._make(t._data.copy()), plist.original0.requires_grad)
        else:
            original = Tensor._make(t._data.copy())
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module):
    """The class of ``module`` before any parametrization was registered."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


def transfer_parametrizations_and_params(from_module, to_module, tensor_name=None):
    """Copy the parametrizations (and their originals) of ``from_module`` to ``to_module``."""
    if not is_parametrized(from_module):
        return to_module
    names = [tensor_name] if tensor_name else list(from_module.parametrizations)
    for name in names:
        if not hasattr(to_module, name):
            setattr(to_module, name, Parameter(getattr(from_module, name).detach()))
        for p in from_module.parametrizations[name]:
            register_parametrization(to_module, name, p)
        src, dst = from_module.parametrizations[name], to_module.parametrizations[name]
        for key in ("original",) + tuple(f"original{i}" for i in range(src.ntensors)):
            if hasattr(src, key) and hasattr(dst, key):
                _set_data(getattr(dst, key), getattr(src, key))
    return to_module
