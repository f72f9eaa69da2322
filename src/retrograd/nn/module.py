"""Module: the base class of every layer, as ``torch.nn.Module``.

Parameters, buffers and submodules are registered by attribute assignment and live in
three ordered dicts (``_parameters``, ``_buffers``, ``_modules``); everything else
(state_dict keys, ``named_parameters``, ``to()``) walks those dicts, so names are
torch's: ``0.weight``, ``net.2.bias``, ``bn.running_mean``.
"""

import itertools
import warnings
from collections import OrderedDict, namedtuple

import numpy as np

from ..autograd.graph import _modules as _module_stack
from .. import _backend, _dtype
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..autograd.graph import RemovableHandle
from .._unsupported import reject
from ..tensor import Tensor
from .parameter import Buffer, Parameter, is_lazy

__all__ = ["Module", "register_module_forward_pre_hook", "register_module_forward_hook",
           "register_module_full_backward_hook", "register_module_full_backward_pre_hook"]

# global hooks (torch.nn.modules.module.register_module_*), applied to every module
_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_backward_hooks = OrderedDict()
_global_backward_pre_hooks = OrderedDict()


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward."""
    handle = RemovableHandle(_global_forward_pre_hooks)
    _global_forward_pre_hooks[handle.id] = hook
    return handle


def register_module_forward_hook(hook, *, always_call=False):
    """``hook(module, args, output)`` after every module's forward."""
    handle = RemovableHandle(_global_forward_hooks)
    _global_forward_hooks[handle.id] = hook
    return handle


def register_module_full_backward_hook(hook):
    handle = RemovableHandle(_global_backward_hooks)
    _global_backward_hooks[handle.id] = hook
    return handle


def register_module_full_backward_pre_hook(hook):
    handle = RemovableHandle(_global_backward_pre_hooks)
    _global_backward_pre_hooks[handle.id] = hook
    return handle


class _Registered:
    """A class attribute that reads a registered parameter, buffer or submodule ``name`` of an
    instance as ``Module.__getattr__`` does, without first failing the ordinary lookup (in
    CPython 3.11 that failure raises an AttributeError inside, ~1 us per read of ``self.weight``).
    It changes no result: the instance's own ``__dict__`` is read first, then ``_parameters``,
    ``_buffers`` and ``_modules``, as before; a name found nowhere raises AttributeError and so
    reaches ``__getattr__``'s message; assignment and deletion act on the instance's ``__dict__``
    (Module.__setattr__ and __delattr__ route registered names to the three stores themselves);
    read on the class it is absent, as in torch."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __get__(self, obj, cls=None):
        name = self.name
        if obj is None:
            raise AttributeError(f"type object '{cls.__name__}' has no attribute '{name}'")
        d = obj.__dict__
        if name in d:
            return d[name]
        params = d.get("_parameters")
        if params is not None:
            if name in params:
                return params[name]
            store = d["_buffers"]
            if name in store:
                return store[name]
            store = d["_modules"]
            if name in store:
                return store[name]
        raise AttributeError(name)

    def __set__(self, obj, value):
        obj.__dict__[self.name] = value

    def __delete__(self, obj):
        try:
            del obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None


def _route_attribute(cls, name):
    """Give ``cls`` a _Registered attribute for ``name`` (read through ``__getattr__`` just
    now), unless some class of its MRO defines ``name`` (then that definition stays in force)."""
    if cls is Module or not isinstance(name, str):
        return
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return
    setattr(cls, name, _Registered(name))


def _class_names(cls):
    """``dir(cls)`` less the names a _Registered attribute answers (an instance lists those it
    has: another instance of the class may have none of that name)."""
    names = []
    for name in dir(cls):
        for klass in cls.__mro__:
            if name in klass.__dict__:
                if type(klass.__dict__[name]) is not _Registered:
                    names.append(name)
                break
    return names


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it did not find and those it did not expect."""

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s, n):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


def _typename(v):
    if isinstance(v, Tensor):
        return v.type()
    return type(v).__name__


def _check_name(kind, name, module):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


def _as_array(value, key):
    """The array of a state_dict entry: a retrograd tensor, a NumPy array, or anything
    that converts to one (a torch tensor from ``model.state_dict()``)."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return value.detach().cpu().numpy()
    if hasattr(value, "__array__"):
        return np.asarray(value)
    raise RuntimeError(
        f'While copying the parameter named "{key}", expected torch.Tensor or Tensor-like '
        f"object from checkpoint but received {type(value)}"
    )


def _shape_str(shape):
    return f"torch.Size({list(shape)})"


# ------------------------------------------------------------------ full backward hooks


class _BackwardHookState:
    """Links the identity nodes put on a module's inputs and outputs for one call."""

    def __init__(self, module, n_args, positions):
        self.module = module
        self.n_args = n_args  # grad_input has one entry per positional argument
        self.positions = positions  # the arguments that are floating-point tensors
        self.grad_output = None


class _InputsHook(Function):
    """Identity on the module's tensor inputs; its backward sees the gradients with
    respect to them (``grad_input``) and runs the full backward hooks. As torch's
    BackwardHookFunction, a custom Function returning its inputs as-is: its outputs are views
    that may not be modified in place (``ReLU(inplace=True)`` on them raises, as torch)."""

    _custom = True
    _backward_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, state, *xs):
        ctx.state = state
        return xs

    @staticmethod
    def jvp(ctx, _state, *tangents):
        """The identity on the inputs' tangents (no hook runs in forward mode)."""
        return tangents

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        full = [None] * state.n_args
        for pos, g in zip(state.positions, grads):
            full[pos] = g
        full = _call_backward_hooks(state.module, tuple(full), state.grad_output)
        return (None,) + tuple(full[pos] for pos in state.positions)


class _OutputsHook(Function):
    """Identity on the module's tensor outputs; its backward sees ``grad_output``, runs
    the backward pre-hooks (which may replace it) and keeps it for the hooks. Its outputs are
    views of the module's outputs, as _InputsHook's."""

    _custom = True
    _backward_name = "BackwardHookFunctionBackward"

    @staticmethod
    def forward(ctx, state, *ys):
        ctx.state = state
        return ys

    @staticmethod
    def jvp(ctx, _state, *tangents):
        """The identity on the outputs' tangents (no hook runs in forward mode)."""
        return tangents

    @staticmethod
    def backward(ctx, *grads):
        state = ctx.state
        module = state.module
        grads = tuple(grads)
        for hook in itertools.chain(_global_backward_pre_hooks.values(),
                                    module._backward_pre_hooks.values()):
            res = hook(module, grads)
            if res is not None:
                grads = _check_hook_result(res, len(grads), "backward pre-hook")
        state.grad_output = grads
        if not state.positions:  # no input needs grad: the hooks run now, grad_input all None
            warnings.warn("Full backward hook is firing when gradients are computed with respect to module outputs "
                          "since no inputs require gradients. See https://docs.pytorch.org/docs/main/generated/"
                          "torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more details.")
            _call_backward_hooks(module, (None,) * state.n_args, grads)
        return (None,) + grads


def _check_hook_result(res, n, what):
    res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
    if len(res) != n:
        raise RuntimeError(
            f"Backward hook returned an invalid number of grad_input, got {len(res)}, but "
            f"expected {n} (in a {what})"
        )
    return res


def _call_backward_hooks(module, grad_input, grad_output):
    for hook in itertools.chain(_global_backward_hooks.values(), module._backward_hooks.values()):
        res = hook(module, grad_input, grad_output)
        if res is not None:
            grad_input = _check_hook_result(res, len(grad_input), "full backward hook")
    return grad_input


def _replace_tensors(obj, tensors, new):
    """``obj`` (a tensor or a tuple/list/dict nesting them) with each tensor in
    ``tensors`` replaced by its counterpart in ``new``."""
    mapping = {id(t): n for t, n in zip(tensors, new)}

    def sub(o):
        if isinstance(o, Tensor):
            return mapping.get(id(o), o)
        if isinstance(o, tuple) and not hasattr(o, "_fields"):
            return tuple(sub(x) for x in o)
        if isinstance(o, list):
            return [sub(x) for x in o]
        if isinstance(o, dict):
            return type(o)((k, sub(v)) for k, v in o.items())
        return o

    return sub(obj)


def _flat_tensors(obj):
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _flat_tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _flat_tensors(o)]
    return []


# ------------------------------------------------------------------ Module


class Module:
    """Base class for all neural network modules; subclasses define ``forward``."""

    dump_patches = False
    T_destination = OrderedDict
    _version = 1
    call_super_init = False

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got an unexpected keyword argument "
                f"'{next(iter(kwargs))}'" if kwargs else
                f"{type(self).__name__}.__init__() takes 1 positional argument but "
                f"{len(args) + 1} were given"
            )
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_pre_hooks_with_kwargs"] = set()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_hooks_with_kwargs"] = set()
        d["_forward_hooks_always_called"] = set()
        d["_backward_hooks"] = OrderedDict()
        d["_backward_pre_hooks"] = OrderedDict()
        d["_is_full_backward_hook"] = None  # True/False once a full/legacy backward hook is registered
        d["_state_dict_hooks"] = OrderedDict()
        d["_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_pre_hooks"] = OrderedDict()
        d["_load_state_dict_post_hooks"] = OrderedDict()

    def forward(self, *input):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function'
        )

    # ------------------------------------------------------------ calling
    _compiled_call_impl = None  # Module.compile()'s compiled call

    def __call__(self, *args, **kwargs):
        if self._compiled_call_impl is not None:
            return self._compiled_call_impl(*args, **kwargs)
        # ops created inside remember this module (retrograd.inspect names them by it)
        stack = _module_stack.stack
        stack.append(self)
        try:
            if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                    or self._backward_pre_hooks or _global_forward_pre_hooks or _global_forward_hooks
                    or _global_backward_hooks or _global_backward_pre_hooks):
                if len(args) == 1 and not kwargs:  # (one input spelled out: a call through *args
                    return self.forward(args[0])  # costs ~1000 machine instructions more)
                return self.forward(*args, **kwargs)
            return self._call_with_hooks(args, kwargs)
        finally:
            stack.pop()

    def _call_impl(self, *args, **kwargs):
        """The call without Module.compile's compiled path (what the compiled call captures)."""
        compiled = self._compiled_call_impl
        if compiled is None:
            return self(*args, **kwargs)
        self._compiled_call_impl = None
        try:
            return self(*args, **kwargs)
        finally:
            self._compiled_call_impl = compiled

    _wrapped_call_impl = __call__

    def compile(self, *args, **kwargs):
        """torch.compile in place: later calls of this module run through
        ``retrograd.compile(self._call_impl, *args, **kwargs)`` (state_dict keys unchanged)."""
        from ..compiler import compile as compile_fn

        self._compiled_call_impl = compile_fn(self._call_impl, *args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hid, hook in itertools.chain(_global_forward_pre_hooks.items(),
                                         self._forward_pre_hooks.items()):
            if hid in self._forward_pre_hooks_with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise RuntimeError(
                            "forward pre-hook must return None or a tuple of (new_args, "
                            f"new_kwargs), but got {res}."
                        )
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)

        state = None
        if self._backward_hooks or self._backward_pre_hooks or _global_backward_hooks \
                or _global_backward_pre_hooks:
            positions = [i for i, a in enumerate(args)
                         if isinstance(a, Tensor) and a.dtype.is_floating_point]
            if not any(args[i].requires_grad for i in positions):
                positions = []
            state = _BackwardHookState(self, len(args), positions)
            if positions and self._is_full_backward_hook is False and is_grad_enabled():
                warnings.warn(
                    "Using a non-full backward hook (register_backward_hook) is deprecated; retrograd runs "
                    "it as a full backward hook (grad_input with respect to the module's inputs), where "
                    "torch passes the gradients of the forward's last autograd node. Please use "
                    "register_full_backward_hook to get the documented behavior.", FutureWarning, stacklevel=2)
            if positions:
                new = _InputsHook.apply(state, *(args[i] for i in positions))
                args = list(args)
                for i, t in zip(positions, new):
                    args[i] = t
                args = tuple(args)

        try:
            result = self.forward(*args, **kwargs)
        except Exception:
            for hid, hook in self._forward_hooks.items():
                if hid in self._forward_hooks_always_called:
                    hook(self, args, kwargs, None) if hid in self._forward_hooks_with_kwargs \
                        else hook(self, args, None)
            raise

        for hid, hook in itertools.chain(_global_forward_hooks.items(), self._forward_hooks.items()):
            if hid in self._forward_hooks_with_kwargs:
                res = hook(self, args, kwargs, result)
            else:
                res = hook(self, args, result)
            if res is not None:
                result = res

        if state is not None:
            outs = [t for t in _flat_tensors(result) if t.requires_grad]
            if outs:
                new = _OutputsHook.apply(state, *outs)
                result = _replace_tensors(result, outs, new)
        return result

    # ------------------------------------------------------------ attribute registration
    def __getattr__(self, name):
        d = self.__dict__
        if "_parameters" in d:
            for store in (d["_parameters"], d["_buffers"], d["_modules"]):
                if name in store:
                    _route_attribute(type(self), name)
                    return store[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name, value):
        d = self.__dict__

        def remove_from(*dicts_or_sets):
            for ds in dicts_or_sets:
                if name in ds:
                    if isinstance(ds, dict):
                        del ds[name]
                    else:
                        ds.discard(name)

        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(torch.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            remove_from(d, self._parameters, self._buffers, self._non_persistent_buffers_set)
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as child module '{name}' "
                    "(torch.nn.Module or None expected)"
                )
            modules[name] = value
            return
        buffers = d.get("_buffers")
        if isinstance(value, Buffer) or (buffers is not None and name in buffers):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as buffer '{name}' "
                    "(torch.nn.Buffer, torch.Tensor or None expected)"
                )
            if isinstance(value, Buffer):
                persistent = value.persistent
                value = value._registered()
            else:
                persistent = name not in self._non_persistent_buffers_set
            if buffers is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            remove_from(d, self._parameters, self._modules)
            self.register_buffer(name, value, persistent)
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        attrs = _class_names(type(self)) + list(self.__dict__)
        keys = attrs + list(self._parameters) + list(self._modules) + list(self._buffers)
        return sorted(k for k in set(keys) if not k[0].isdigit())

    def __getstate__(self):
        """The instance's state less Module.compile()'s compiled call (as torch's: a pickled or deep-copied
        module is not compiled)."""
        state = self.__dict__.copy()
        state.pop("_compiled_call_impl", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        for k, default in (("_forward_pre_hooks_with_kwargs", set), ("_forward_hooks_with_kwargs", set),
                           ("_forward_hooks_always_called", set), ("_backward_pre_hooks", OrderedDict),
                           ("_state_dict_pre_hooks", OrderedDict),
                           ("_load_state_dict_post_hooks", OrderedDict),
                           ("_is_full_backward_hook", lambda: None)):
            self.__dict__.setdefault(k, default())

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is state but not a parameter (``running_mean``); it goes in
        state_dict unless ``persistent=False`` and moves with ``to()``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(torch Tensor or None required)"
            )
        if isinstance(tensor, Buffer):
            tensor = tensor._registered()
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name, param):
        """Add a parameter (a ``Parameter`` or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(torch.nn.Parameter or None required)"
            )
        if param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                f"created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        self._parameters[name] = param

    def add_module(self, name, module):
        """Add a child module (or None) under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        _check_name("module", name, self)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def _get_path(self, target, kind):
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(mod._get_name() + " has no attribute `" + item + "`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError("`" + item + "` is not an nn.Module")
        return mod

    def get_submodule(self, target):
        """The submodule at dotted path ``target`` (``'net.0'``)."""
        return self._get_path(target, "module")

    def set_submodule(self, target, module, strict=False):
        if target == "":
            raise ValueError("Cannot set the submodule without a target name!")
        if not isinstance(module, Module):  # None too: set_submodule never removes a child
            raise ValueError(f"`module` is not an nn.Module, found {type(module)}")
        parent, _, name = target.rpartition(".")
        mod = self.get_submodule(parent)
        if strict and not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if hasattr(mod, name) and not isinstance(getattr(mod, name), Module):
            raise AttributeError("`" + name + "` is not an nn.Module")  # a parameter, buffer or attribute
        setattr(mod, name, module)

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        param = getattr(mod, name)
        if not isinstance(param, Parameter):
            raise AttributeError("`" + name + "` is not an nn.Parameter")
        return param

    def get_buffer(self, target):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(mod._get_name() + " has no attribute `" + name + "`")
        if name not in mod._buffers:
            raise AttributeError("`" + name + "` is not a buffer")
        return mod._buffers[name]

    def get_extra_state(self):
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called."
        )

    def set_extra_state(self, state):
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called."
        )

    def _has_extra_state(self):
        return type(self).get_extra_state is not Module.get_extra_state

    # ------------------------------------------------------------ iteration
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield (module_prefix + ("." if module_prefix else "") + k), v

    def parameters(self, recurse=True):
        """The parameters of this module and (if ``recurse``) its submodules, each once."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(name, parameter)`` pairs with dotted names (``0.weight``)."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_children(self):
        memo = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in memo:
                memo.add(id(m))
                yield name, m

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """``(name, module)`` for this module (name ``''``) and every submodule, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from m.named_modules(memo, sub, remove_duplicate)

    # ------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        """Set training mode (dropout active, batch norm uses batch statistics)."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Set evaluation mode (same as ``train(False)``)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear the ``.grad`` of every parameter (set it to None, or zero it in place)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g = g.detach()
                    p.grad = g
                else:
                    g.requires_grad_(False)
                g._data[...] = 0
                g._vc[0] += 1

    def apply(self, fn):
        """Call ``fn`` on every submodule (children first) and on self; return self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def share_memory(self):
        """Move every parameter, its ``.grad`` and every buffer to shared memory (``share_memory_()``),
        for processes that train one model (Hogwild); the tensors stay the same objects. Returns self."""
        for p in self.parameters():
            p.share_memory_()  # (each tensor's own: an uninitialized parameter refuses, as torch's)
            if p.grad is not None:
                p.grad.share_memory_()
        for b in self.buffers():
            b.share_memory_()
        return self

    # ------------------------------------------------------------ dtype and device
    def _apply(self, fn, recurse=True):
        if recurse:
            for m in self.children():
                m._apply(fn)
        with no_grad():
            for p in self._parameters.values():
                if p is None:
                    continue
                new = fn(p)
                if new._data is not p._data:
                    p._data = new._data
                    p._vc[0] += 1
                if p.grad is not None:
                    g = fn(p.grad)
                    if g._data is not p.grad._data:
                        p.grad._data = g._data
            for key, b in self._buffers.items():
                if b is not None:
                    self._buffers[key] = fn(b)
        return self

    def to(self, *args, **kwargs):
        """Move and/or cast parameters and buffers: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``. Only floating-point tensors change dtype."""
        device, dtype = _parse_to(args, kwargs)
        if dtype is not None:
            dtype = _dtype.to_dtype(dtype)
            if not dtype.is_floating_point:
                raise TypeError(
                    "nn.Module.to only accepts floating point or complex dtypes, but got "
                    f"desired dtype={dtype}"
                )

        def convert(t):
            if dtype is not None and t.dtype.is_floating_point:
                return t.to(device=device, dtype=dtype)
            return t.to(device=device) if device is not None else t

        return self._apply(convert)

    def _cast(self, dtype):
        return self._apply(lambda t: t.to(dtype) if t.dtype.is_floating_point else t)

    def float(self):
        return self._cast(_dtype.float32)

    def double(self):
        return self._cast(_dtype.float64)

    def half(self):
        return self._cast(_dtype.float16)

    def bfloat16(self):
        return self._cast(_dtype.bfloat16)

    def type(self, dst_type):
        return self._apply(lambda t: t.type(dst_type))

    def cpu(self):
        return self._apply(lambda t: t.to("cpu"))

    def cuda(self, device=None):
        dev = "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device)
        return self._apply(lambda t: t.to(dev))

    def to_empty(self, *, device=None, recurse=True):
        return self._apply(lambda t: t.new_empty(t.shape, device=device), recurse)

    # ------------------------------------------------------------ state dict
    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        if self._has_extra_state():
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def state_dict(self, *args, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer by dotted name
        (detached, sharing memory with the module)."""
        if args:  # torch's deprecated positional form state_dict(destination, prefix, keep_vars)
            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to https://pytorch.org/"
                          "docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict for details.",
                          FutureWarning, stacklevel=2)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        meta = getattr(destination, "_metadata", None)
        if meta is not None:
            meta[prefix[:-1]] = {"version": self._version}
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            res = hook(self, destination, prefix, meta)
            if res is not None:
                destination = res
        return destination

    def register_state_dict_pre_hook(self, hook):
        handle = RemovableHandle(self._state_dict_pre_hooks)
        self._state_dict_pre_hooks[handle.id] = hook
        return handle

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)`` runs after state_dict; it must return
        None (torch's RuntimeError otherwise: edit the state_dict in place)."""
        def checked(module, state_dict, prefix, local_metadata):
            if hook(module, state_dict, prefix, local_metadata) is not None:
                raise RuntimeError("state_dict post-hook must return None; modify the state_dict in place")
        return self._register_state_dict_hook(checked)

    def _register_state_dict_hook(self, hook):
        """torch's private form: the hook may return a replacement state_dict."""
        handle = RemovableHandle(self._state_dict_hooks)
        self._state_dict_hooks[handle.id] = hook
        return handle

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` runs before this module loads its entries."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def _register_load_state_dict_pre_hook(self, hook, with_module=False):
        if with_module:
            inner = hook

            def hook(*args):
                return inner(self, *args)

        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = hook
        return handle

    def register_load_state_dict_post_hook(self, hook):
        handle = RemovableHandle(self._load_state_dict_post_hooks)
        self._load_state_dict_post_hooks[handle.id] = hook
        return handle

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        """Copy this module's own entries of ``state_dict`` in (no recursion); record
        missing keys, unexpected keys under this prefix, and size mismatches. torch's signature,
        so overrides written for torch work; load_state_dict's ``assign`` comes in
        ``local_metadata["assign_to_params_buffers"]``, as in torch."""
        assign = local_metadata.get("assign_to_params_buffers", False)
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        local = [(k, p) for k, p in self._parameters.items() if p is not None]
        local += [(k, b) for k, b in self._buffers.items()
                  if b is not None and k not in self._non_persistent_buffers_set]
        for name, param in local:
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            value = state_dict[key]
            if is_lazy(value):  # an unrun lazy module's placeholder: its shape raises torch's error
                value.shape  # noqa: B018
            try:
                arr = _as_array(value, key)
            except RuntimeError as e:
                error_msgs.append(str(e))
                continue
            if tuple(arr.shape) != tuple(param.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {_shape_str(arr.shape)} "
                    f"from checkpoint, the shape in current model is {_shape_str(param.shape)}."
                )
                continue
            try:
                if assign and isinstance(value, Tensor):
                    if name in self._parameters:
                        new = value if isinstance(value, Parameter) else Parameter(
                            value, requires_grad=param.requires_grad)
                        self._parameters[name] = new
                    else:
                        self._buffers[name] = value
                else:
                    _copy_into(param, arr)
            except Exception as e:  # e.g. a dtype that cannot be cast
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model are '
                    f"{_shape_str(param.shape)} and whose dimensions in the checkpoint are "
                    f"{_shape_str(arr.shape)}, an exception occurred : {e.args}."
                )
        extra_key = prefix + "_extra_state"
        if self._has_extra_state():
            if extra_key in state_dict:
                self.set_extra_state(state_dict[extra_key])
            elif strict:
                missing_keys.append(extra_key)
        if strict:
            for key in state_dict:
                if not key.startswith(prefix) or key == extra_key:
                    continue
                rest = key[len(prefix):]
                head = rest.split(".", 1)[0]
                if head not in self._modules and rest not in dict(local):
                    unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from ``state_dict`` into this module (in place).

        Raises RuntimeError listing missing and unexpected keys (when ``strict``) and
        size mismatches (always); returns ``(missing_keys, unexpected_keys)``.
        Values may be retrograd tensors, NumPy arrays or torch tensors.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)

        def load(module, prefix=""):
            local_meta = dict({} if metadata is None else metadata.get(prefix[:-1], {}))
            if assign:
                local_meta["assign_to_params_buffers"] = assign
            module._load_from_state_dict(state_dict, prefix, local_meta, True, missing,
                                         unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    load(child, prefix + name + ".")
            result = _IncompatibleKeys(missing, unexpected)
            for hook in module._load_state_dict_post_hooks.values():
                hook(module, result)

        load(self)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ hooks
    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` (or ``hook(module, args, kwargs)``) runs before forward
        and may return replacement args."""
        handle = RemovableHandle(self._forward_pre_hooks)
        handle.remove = _remover(handle, self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs.add(handle.id)
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """``hook(module, args, output)`` (or ``hook(module, args, kwargs, output)``) runs
        after forward and may return a replacement output."""
        handle = RemovableHandle(self._forward_hooks)
        handle.remove = _remover(handle, self._forward_hooks, self._forward_hooks_with_kwargs,
                                 self._forward_hooks_always_called)
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs.add(handle.id)
        if always_call:
            self._forward_hooks_always_called.add(handle.id)
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs once the gradients with respect
        to the module's tensor inputs are computed; it may return a new grad_input."""
        _check_backward_hook_kind(self, True)
        return self._add_backward_hook(hook, prepend)

    def _add_backward_hook(self, hook, prepend):
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs before the module's gradients are computed;
        it may return a new grad_output."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook):
        """Deprecated in torch; here it runs as a full backward hook (grad_input with respect to the
        module's inputs, not torch's gradients of the last autograd node), and each forward that
        records a graph warns as torch's does."""
        _check_backward_hook_kind(self, False)
        return self._add_backward_hook(hook, prepend=False)

    # ------------------------------------------------------------ printing
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside the parentheses of this module's repr (override it)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(m), 2) for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _parse_to(args, kwargs):
    """(device, dtype) from Module.to's forms, as torch takes them: (device=None, dtype=None,
    non_blocking=False), (dtype, non_blocking=False), (tensor, non_blocking=False); anything else is
    torch's TypeError. non_blocking changes nothing here: every copy completes before to() returns."""
    kwargs = dict(kwargs)
    reject("Module.to", memory_format=kwargs.pop("memory_format", None))
    first = args[0] if args else None
    if isinstance(first, (Tensor, _dtype.dtype)):
        names = ("non_blocking",)
        device, dtype = (first.device, first.dtype) if isinstance(first, Tensor) else (None, first)
    else:
        names = ("device", "dtype", "non_blocking")
        device, dtype = None, None
    rest = args[1:] if isinstance(first, (Tensor, _dtype.dtype)) else args
    given = dict(zip(names, rest))
    if len(rest) > len(names) or set(given) & set(kwargs) or set(kwargs) - set(names):
        raise _to_type_error(args, kwargs)
    given.update(kwargs)
    device = given.get("device", device)
    dtype = given.get("dtype", dtype)
    if (dtype is not None and not isinstance(dtype, _dtype.dtype)) or \
            not isinstance(device, (str, int, _backend.device, type(None))) or isinstance(device, bool) or \
            not isinstance(given.get("non_blocking", False), bool):
        raise _to_type_error(args, kwargs)
    return device, dtype


def _to_type_error(args, kwargs):
    got = ", ".join([type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()])
    return TypeError(f"to() received an invalid combination of arguments - got ({got}), but expected one "
                     "of: (device=None, dtype=None, non_blocking=False), (dtype, non_blocking=False), "
                     "(tensor, non_blocking=False)")


def _check_backward_hook_kind(module, full):
    """A module takes either full backward hooks or legacy ones, never both (torch's RuntimeError)."""
    if module._is_full_backward_hook is (not full):
        raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a single "
                           "Module. Please use only one of them.")
    module._is_full_backward_hook = full


def _remover(handle, hooks, *sets):
    def remove():
        hooks.pop(handle.id, None)
        for s in sets:
            s.discard(handle.id)

    return remove


def _copy_into(param, arr):
    """Write ``arr`` into ``param``'s memory (cast to its dtype, moved to its device)."""
    from .. import _backend

    data = param._data
    if not isinstance(arr, type(data)):
        arr = _backend.to_device(arr, param.device)
    data[...] = arr.astype(data.dtype, copy=False)
    param._vc[0] += 1
