"""LazyModuleMixin, as ``torch.nn.modules.lazy``: a module whose parameters are
UninitializedParameter / UninitializedBuffer placeholders until its first call, which gives them
their shapes (``initialize_parameters``) and turns the module into its ``cls_to_become``.

``state_dict`` holds the placeholders as they are; ``load_state_dict`` of a checkpoint with
real tensors materializes them with its shapes first (the module stays lazy until its first
call, which then leaves the loaded values alone)."""

from collections import OrderedDict

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


def _shape(value):
    return tuple(value.shape) if hasattr(value, "shape") else np.shape(value)


class LazyModuleMixin:
    """Mix in before a Module class: its placeholders get their shapes from the first input
    (the subclass's ``initialize_parameters(*args, **kwargs)``), then the module becomes a
    ``cls_to_become`` (e.g. LazyLinear -> Linear). Parameters keep their objects, so an
    optimizer made before the first call trains them."""

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self):
        """Whether any of this module's own parameters or buffers is still a placeholder."""
        return any(is_lazy(t) for t in (*self._parameters.values(), *self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs):
        """Materialize the placeholders from the first call's arguments (each lazy module's own)."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def _materialize(self, shapes):
        """Give the placeholders among ``shapes`` (name: shape) their shapes and initialize them
        (``reset_parameters``), keeping the values a checkpoint gave the others."""
        loaded = {name: getattr(self, name).detach().clone() for name in shapes
                  if getattr(self, name) is not None and not is_lazy(getattr(self, name))}
        with no_grad():
            for name, shape in shapes.items():
                if is_lazy(getattr(self, name)):
                    getattr(self, name).materialize(shape)
            self.reset_parameters()
            for name, value in loaded.items():
                getattr(self, name).copy_(value)

    def _infer_parameters(self, module, args, kwargs=None):
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        del module._initialize_hook
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        kept = OrderedDict()
        super()._save_to_state_dict(kept, prefix, True)
        for key, value in kept.items():  # placeholders as they are (detach() would refuse them)
            own = key[len(prefix):] != "_extra_state"
            detach = own and not keep_vars and isinstance(value, Tensor) and not is_lazy(value)
            destination[key] = value.detach() if detach else value

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        placeholders = [(prefix + name, t) for name, t in (*self._parameters.items(), *self._buffers.items())
                        if is_lazy(t) and prefix + name in state_dict]
        still_lazy = set()
        with no_grad():
            for key, t in placeholders:
                if is_lazy(state_dict[key]):  # a placeholder into a placeholder: nothing to copy
                    still_lazy.add(key)
                else:
                    t.materialize(_shape(state_dict[key]))
        if still_lazy:
            state_dict = {k: v for k, v in state_dict.items() if k not in still_lazy}
        before = len(missing_keys)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        missing_keys[before:] = [k for k in missing_keys[before:] if k not in still_lazy]
