"""Graph nodes, hook handles, and saved-tensor hooks (the seam for checkpointing and offloading)."""

import threading

from .grad_mode import _state as _grad_state


class RemovableHandle:
    """Returned by every ``register_*hook``; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, container, key=None):
        self._container = container
        self._key = key
        RemovableHandle._next_id += 1
        self.id = RemovableHandle._next_id

    def remove(self):
        hooks = self._container
        if isinstance(hooks, dict):
            hooks.pop(self.id, None)
        elif self._key in hooks:
            hooks.remove(self._key)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Node:
    """A vertex of the backward graph: takes the gradients of its forward outputs and
    returns the gradients of its forward inputs. ``next_functions`` are the nodes that
    produced those inputs (``None`` for inputs that need no gradient)."""

    _next = ()
    _tensor_hooks = None  # {output_nr: [hook]}: hooks of the tensors this node produced
    _retained = None  # {output_nr: weakref to a tensor that called retain_grad()}
    _post_hooks = None
    _pre_hooks = None
    _hooked = False  # True once any of the four above was made (the engine's one test per node)
    _anomaly_trace = None
    _out_meta = (None,)  # (shape, dtype) per output; set on Functions when they record
    _module = None  # the nn.Module whose forward created this node
    # which inputs next_functions lists, as torch does: the first _listed_inputs inputs always
    # (a Python number among them is a wrapped tensor in torch, a None an absent optional
    # tensor: both (None, 0)), and no input in _unlisted_inputs (indices, targets, masks:
    # inputs torch's formula does not differentiate)
    _listed_inputs = 0
    _unlisted_inputs = ()

    @property
    def next_functions(self):
        """(node, output_nr) for each tensor input; (None, 0) where no gradient flows."""
        listed, unlisted = self._listed_inputs, self._unlisted_inputs
        if not (listed or unlisted):
            return tuple(e for e in self._next if e[1] != -1)
        return tuple((None, 0) if e[1] == -1 else e for i, e in enumerate(self._next)
                     if i not in unlisted and (e[1] != -1 or i < listed))

    def name(self):
        return type(self).__name__

    @property
    def metadata(self):
        try:
            return self._metadata
        except AttributeError:
            self._metadata = {}
            return self._metadata

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward."""
        if self._post_hooks is None:
            self._post_hooks = {}
            self._hooked = True
        handle = RemovableHandle(self._post_hooks)
        self._post_hooks[handle.id] = fn
        return handle

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward and may replace them."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
            self._hooked = True
        handle = RemovableHandle(self._pre_hooks)
        self._pre_hooks[handle.id] = fn
        return handle

    def _add_tensor_hook(self, output_nr, hook):
        if self._tensor_hooks is None:
            self._tensor_hooks = {}
            self._hooked = True
        hooks = self._tensor_hooks.setdefault(output_nr, {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def __repr__(self):
        return f"<{self.name()} object at {hex(id(self))}>"


class AccumulateGrad(Node):
    """The node of a leaf tensor: adds the incoming gradient into ``variable.grad``."""

    def __init__(self, variable):
        self.variable = variable
        self._hooked = False  # (see Function.apply: the engine reads it per node)

    def name(self):
        return "torch::autograd::AccumulateGrad"  # torch's name (its repr says AccumulateGrad)

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"

    @property
    def _tensor_hooks(self):
        hooks = self.variable._hooks
        return {0: hooks} if hooks else None


# ---------------------------------------------------------------- saved-tensor hooks


class _HookStack(threading.local):
    def __init__(self):
        self.stack = []
        self.disabled = None  # an error message while saved-tensor hooks are disabled
        self.saving_node = None  # the name of the op whose tensors are being packed


# .stack: the nn.Modules whose forward is running in this thread, innermost last (kept on the
# grad-mode thread-local, which Function.apply reads once per op: see grad_mode._GradState)
_modules = _grad_state


def current_module():
    """The innermost nn.Module whose forward is running (nodes remember it, for reports)."""
    stack = _modules.stack
    return stack[-1] if stack else None


def current_saving_node():
    """Inside a pack hook: the name of the op saving the tensor (e.g. 'MulBackward0')."""
    return _saved_hooks.saving_node


_saved_hooks = _HookStack()
_saved_hooks_entered = []  # one entry per saved_tensors_hooks context entered in any thread (empty: none is)


def current_saved_tensors_hooks():
    """The innermost ``(pack, unpack)`` pair in force, or None."""
    stack = _saved_hooks.stack
    return stack[-1] if stack else None


class saved_tensors_hooks:
    """Inside this context every tensor an op saves for backward goes through
    ``pack_hook(tensor) -> obj`` at save time and ``unpack_hook(obj) -> tensor`` when
    backward reads it. Checkpointing and activation offloading are built on this."""

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _saved_hooks.disabled:
            raise RuntimeError(_saved_hooks.disabled)
        _saved_hooks.stack.append((self.pack_hook, self.unpack_hook))
        _saved_hooks_entered.append(None)
        return self

    def __exit__(self, *exc):
        _saved_hooks.stack.pop()
        _saved_hooks_entered.pop()
        return False


class disable_saved_tensors_hooks:
    """Raise ``error_message`` if saved_tensors_hooks are used inside this context."""

    def __init__(self, error_message):
        self.error_message = error_message

    def __enter__(self):
        self._prev = _saved_hooks.disabled
        _saved_hooks.disabled = self.error_message

    def __exit__(self, *exc):
        _saved_hooks.disabled = self._prev
        return False


from .offload import save_on_cpu, save_on_disk  # noqa: E402,F401  (torch.autograd.graph's names)
