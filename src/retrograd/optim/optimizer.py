"""Optimizer: the base class of every optimizer (param_groups, state, state_dict, hooks).

The updates of the subclasses work on the parameters' arrays directly, in place, with
NumPy ``out=`` ufuncs (no autograd graph, no Tensor temporaries), and bump each
parameter's version counter once per update. With ``differentiable=True`` the same formulas
run on Tensors, recorded by autograd (optim/_update_ops.py). ``state`` is keyed by the
parameter as in torch, and ``state_dict()`` uses torch's layout: ``{'state': {int: {...}},
'param_groups': [{..., 'params': [int, ...]}]}``.
"""

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict

import numpy as np

from .. import _backend, _blocked
from ..autograd import function as _function  # profile_hook: set while a profile records
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.graph import RemovableHandle
from ..tensor import Tensor
from ._update_ops import ARRAYS

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Singleton marking a hyperparameter with no default (an optimizer argument)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()

_global_step_pre_hooks = OrderedDict()
_global_step_post_hooks = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs before every optimizer's ``step``."""
    handle = RemovableHandle(_global_step_pre_hooks)
    _global_step_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs after every optimizer's ``step``."""
    handle = RemovableHandle(_global_step_post_hooks)
    _global_step_post_hooks[handle.id] = hook
    return handle


def _typename(obj):
    if isinstance(obj, Tensor):
        return "torch." + type(obj).__name__
    return type(obj).__module__ + "." + type(obj).__qualname__ if type(obj).__module__ != "builtins" \
        else type(obj).__qualname__


def _run_pre_hooks(self, args, kwargs):
    for hook in (*_global_step_pre_hooks.values(), *self._optimizer_step_pre_hooks.values()):
        result = hook(self, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2):
                raise RuntimeError(
                    f"{hook} must return None or a tuple of (new_args, new_kwargs), but got {result}.")
            args, kwargs = result
    return args, kwargs


def _run_post_hooks(self, args, kwargs):
    for hook in (*self._optimizer_step_post_hooks.values(), *_global_step_post_hooks.values()):
        hook(self, args, kwargs)


def _with_hooks(fn):
    """Wrap the ``step`` of an optimizer written by a user (a subclass): run the step hooks."""

    @functools.wraps(fn)
    def step(self, *args, **kwargs):
        if _function.profile_hook is not None:  # a profile records: the step is a range in it
            with _profile_range(f"Optimizer.step#{type(self).__name__}.step"):
                return _hooked_step(self, fn, args, kwargs, False)
        return _hooked_step(self, fn, args, kwargs, False)

    step._rg_wrapped = True
    return step


def _step(fn):
    """Wrap a built-in optimizer's ``step``: run the step hooks, and the update with grad mode off
    (on for a differentiable update: _differentiable_grad)."""

    @functools.wraps(fn)
    def step(self, *args, **kwargs):
        if _function.profile_hook is not None:  # a profile records: the step is a range in it
            with _profile_range(f"Optimizer.step#{type(self).__name__}.step"):
                return _hooked_step(self, fn, args, kwargs, True)
        return _hooked_step(self, fn, args, kwargs, True)

    step._rg_wrapped = True
    return step


def _hooked_step(self, fn, args, kwargs, no_grad):
    """``fn(self, *args, **kwargs)`` between the step hooks (with grad mode off if ``no_grad``)."""
    if self._optimizer_step_pre_hooks or _global_step_pre_hooks:
        args, kwargs = _run_pre_hooks(self, args, kwargs)
    if no_grad:
        prev = _grad_state.enabled
        _grad_state.enabled = False  # (turned on by _differentiable_grad for a differentiable update)
        try:
            out = fn(self, *args, **kwargs)
        finally:
            _grad_state.enabled = prev
    else:
        out = fn(self, *args, **kwargs)
    self._opt_called = True
    self._step_count = getattr(self, "_step_count", 0) + 1
    if self._optimizer_step_post_hooks or _global_step_post_hooks:
        _run_post_hooks(self, args, kwargs)
    return out


def _profile_range(name):
    """torch's range around an optimizer's step or zero_grad, for the profile now recording
    (imported here: a profile that records has imported the profiler already)."""
    from ..profiler._record import record_function
    return record_function(name)


def _eval_closure(closure):
    """Run the closure with grad mode on (it usually calls backward)."""
    if closure is None:
        return None
    prev = _grad_state.enabled
    _grad_state.enabled = True
    try:
        return closure()
    finally:
        _grad_state.enabled = prev


class Optimizer:
    """Base class of the optimizers: holds ``param_groups``, ``defaults`` and ``state``.

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts each
    defining a parameter group (``{'params': [...], 'lr': ...}``).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and callable(step) and not getattr(step, "_rg_wrapped", False):
            cls.step = _with_hooks(step)  # users' optimizers get the step hooks too, as in torch

    def __init__(self, params, defaults):
        if defaults.get("differentiable") and defaults.get("fused"):
            raise RuntimeError("`fused` does not support `differentiable`")
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {_typename(params)}")
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks", "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        for group in self.param_groups:  # groups saved by older versions lack newer options
            for k, v in self.defaults.items():
                if v is not required:
                    group.setdefault(k, v)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # ------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group of parameters with its own options (the missing ones from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering "
                "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        names = None
        if params and isinstance(params[0], tuple):
            names = [n for n, _ in params]
            params = [p for _, p in params]
        param_group["params"] = params
        if names is not None:
            param_group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        if len(set(map(id, params))) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will "
                "cause an error; see github.com/pytorch/pytorch/issues/40967 for more information",
                stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(map(id, group["params"]))
        if not seen.isdisjoint(map(id, params)):
            raise ValueError("some parameters appear in more than one parameter group")
        if any("param_names" in g for g in self.param_groups) != ("param_names" in param_group) \
                and self.param_groups:
            raise ValueError("all optimizer param groups with be with or without names.")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none=True):
        """Reset the gradients: to None (the default) or to zeros in place."""
        if _function.profile_hook is not None:  # a profile records: zero_grad is a range in it
            with _profile_range(f"Optimizer.zero_grad#{type(self).__name__}.zero_grad"):
                return self._zero_grad(set_to_none)
        return self._zero_grad(set_to_none)

    def _zero_grad(self, set_to_none):
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad  # (the slot: the .grad property's read and write are two Python calls per parameter)
                if g is None:
                    if p.grad_fn is not None:  # the property's non-leaf warning, as torch's zero_grad gives it
                        p.grad  # noqa: B018
                    continue
                if set_to_none:
                    p._grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g._requires_grad = False
                    g._data[...] = 0
                    g._vc[0] += 1

    def step(self, closure=None):
        raise NotImplementedError(f"{type(self).__name__} must define step(): the Optimizer base class is abstract")

    # ------------------------------------------------------------ hooks
    def _add_hook(self, store, hook, prepend=False):
        handle = RemovableHandle(store)
        store[handle.id] = hook
        if prepend:
            store.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` before ``step``; may return ``(args, kwargs)``."""
        return self._add_hook(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` after ``step``."""
        return self._add_hook(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        return self._add_hook(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        return self._add_hook(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        return self._add_hook(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        return self._add_hook(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ------------------------------------------------------------ state dict
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [...]}`` with parameters as indices
        numbered in group order, as torch writes it."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        mapping = {}
        index = 0
        packed_groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                if id(p) not in mapping:
                    mapping[id(p)] = index
                    index += 1
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            packed_groups.append(packed)
        packed_state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        out = {"state": packed_state, "param_groups": packed_groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            result = hook(self, out)
            if result is not None:
                out = result
        return out

    @staticmethod
    def _cast_state_value(param, value, key):
        """A loaded state tensor as a new array of the parameter's dtype and device ('step' kept)."""
        if isinstance(value, Tensor):
            arr = value._data
            if key != "step":
                if param.dtype.is_floating_point and arr.dtype != param._data.dtype:
                    arr = arr.astype(param._data.dtype)
                if _backend.device_of(arr) != param.device:
                    arr = _backend.to_device(arr, param.device)
            out = Tensor._make(arr.copy() if arr is value._data else arr)
            return out
        if isinstance(value, dict):
            return {k: Optimizer._cast_state_value(param, v, k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(Optimizer._cast_state_value(param, v, key) for v in value)
        return value

    def load_state_dict(self, state_dict):
        """Load a state made by ``state_dict()`` (of this or an identically built optimizer)."""
        state_dict = dict(state_dict)
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for g, sg in zip(groups, saved_groups):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of "
                    "optimizer's group")
        id_map = {}
        for g, sg in zip(groups, saved_groups):
            for old, p in zip(sg["params"], g["params"]):
                id_map[old] = p
        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = self._cast_state_value(param, v, None)
            else:
                state[k] = v
        new_groups = []
        for g, sg in zip(groups, saved_groups):
            sg["params"] = g["params"]
            if "param_names" in g and "param_names" not in sg:
                sg["param_names"] = g["param_names"]
            new_groups.append(sg)
        self.__setstate__({"state": state, "param_groups": new_groups})
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)


# ---------------------------------------------------------------- helpers for the subclasses
def _check(cond, message):
    if not cond:
        raise ValueError(message)


def _check_lr(lr):
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    _check(0.0 <= float(lr), f"Invalid learning rate: {lr}")


def _check_betas(betas):
    for i in range(2):
        b = betas[i]
        if isinstance(b, Tensor) and b.numel() != 1:
            raise ValueError("Tensor betas[i] must be 1-element")
        _check(0.0 <= float(b) < 1.0, f"Invalid beta parameter at index {i}: {b}")


def _zeros_like(p):
    return Tensor._make(_backend.array_module(p._data).zeros_like(p._data))


def _step_tensor():
    """The 'step' counter: a float32 scalar tensor on the CPU, as torch keeps it."""
    return Tensor._make(np.zeros((), dtype=np.float32))


_CAPTURABLE_DEVICES = ("cuda", "xpu", "hpu", "privateuseone", "xla")


def _check_capturable(group, p, what="params and state_steps", xla=True, foreach_xla=False):
    """torch's AssertionError at step() for ``capturable=True`` with a parameter on a device that
    graph capture does not support (the CPU): the devices listed as torch 2.13 lists them, 'xla'
    left out by its foreach update (but RMSprop's and Rprop's, ``foreach_xla``) and by Adadelta's
    (``xla=False``)."""
    if not group["capturable"] or p.device.type in _CAPTURABLE_DEVICES:
        return
    with_xla = xla and (foreach_xla or not group.get("foreach"))
    devices = list(_CAPTURABLE_DEVICES if with_xla else _CAPTURABLE_DEVICES[:-1])
    raise AssertionError(f"If capturable=True, {what} must be on supported devices: {devices}.")


def _incr_step(state):
    """Add one to the state's step counter and return it as a Python float."""
    s = state["step"]
    if isinstance(s, Tensor):
        arr = s._data
        arr += 1
        return float(arr)
    state["step"] = s + 1
    return float(s + 1)


def _grad_array(p, maximize):
    """p's gradient array, negated (as a new array) when the optimizer maximizes."""
    g = p.grad._data
    return np.negative(g) if maximize else g


def _lerp_(start, end, weight, xp=ARRAYS):
    """start <- start + weight*(end - start), rounded as torch's lerp (two formulas by weight);
    ``xp``: optim/_update_ops.py's ARRAYS, or TENSORS on slots (differentiable=True). torch's
    lerp rounds its multiply-add once, as an axpy would (measured: Adam's exp_avg then equals
    torch's bitwise), but axpy after the subtraction made Adam's steps slower (chrt -f 10, min
    of 40 x 5 interleaved: the mlp 4.33 -> 4.42 ms, deep 323 -> 334 ms), so NumPy's passes stay.
    torch takes 1 - weight in the kernel's type, float32 for float32 tensors (Adam's betas
    (0.1, 0.999): 1 - 0.9 in double, rounded, is an ulp off; exp_avg then differed from torch's
    in 32% of 4096 elements at the first step, now 4%, those of the fused multiply-add)."""
    diff = xp.subtract(end, start)
    if weight < 0.5:
        diff *= weight
        start += diff
    else:
        single = xp is ARRAYS and start.dtype == np.float32
        diff *= float(np.float32(1) - np.float32(weight)) if single else 1.0 - weight
        xp.subtract(end, diff, out=start)


def _mul_addcmul_(buf, decay, a, b, value, xp=ARRAYS):
    """buf <- buf*decay + (value*a)*b (the running average of squares), in torch's order of
    ``buf.mul_(decay).addcmul_(a, b, value=value)``. torch's addcmul fuses the product and the
    sum (one rounding: measured 0 differences from fma(value*a, b, buf) on 32K float32
    elements, the loop's tail included); NumPy has no fused multiply-add, so buf rounds twice
    here and differs from torch's by an ulp where buf was nonzero (equal at the first step,
    buf = 0). Emulating the fusion in float64 measured 3-4x slower per call (4K-16K elements),
    BLAS has no elementwise product to fuse, so the two roundings stay. Returns the product's
    temporary as a scratch array (or None: _scratch)."""
    buf *= decay
    if _is_one(value):
        tmp = xp.multiply(a, b)
    elif xp is not ARRAYS or buf.size < BLOCKED_FROM:  # (blocks: *= b reads b again, in cache)
        tmp = xp.multiply(a, value)
        tmp *= b
    else:  # (a whole array out of cache: one pass less, (a*b)*value, measured 377 us against 459 on 401K float32)
        tmp = xp.multiply(a, b)
        tmp *= value
    buf += tmp
    return _scratch(tmp)


def _scratch(tmp):
    """A temporary that an update may write again (``out=`` of a later step: one allocation less,
    measured faster on arrays of MBs), None for a 0-dim one (NumPy gives a scalar there)."""
    return tmp if tmp.ndim else None


def _addcdiv_(d, a, b, value, xp=ARRAYS, out=None):
    """d <- d + (value*a)/b, torch's ``d.addcdiv_(a, b, value=value)`` in its rounding: value times
    a first, then the quotient, then the sum (measured bitwise on 32K elements, float32 and
    float64; (a/b)*value differed in 2.4%). The quotient goes into ``out`` (a new array by
    default; never ``b``)."""
    if _is_one(value):
        q = xp.divide(a, b, out=out)
    else:
        q = xp.multiply(a, value, out=out)
        q /= b
    d += q


def _is_one(value):
    return type(value) in (int, float) and value == 1


# Elements from which an update runs block by block (retrograd._blocked: its temporaries, and the
# extra pass of torch's order (value*a)/b of addcdiv_, stay in cache), down from _blocked.MIN_SIZE
# as SGD's BLOCKED_FROM. Measured (Adam's update on float32 arrays, wall clock under chrt -f 10,
# min of 40 x 4, HEAD's and torch's order interleaved, whole arrays / 64K blocks): 512x784 1244 us
# HEAD whole, 1419 torch's order whole, 965 in blocks; 512x512 587 / 701 / 565; 256x512 244 / 257
# / 270 (blocks lose below this size).
BLOCKED_FROM = 1 << 18


def _run_update(update, arrays, *args, whole=False):
    """``update(*arrays, *args)``: on the whole arrays (the parameter's, then its states', None for
    an absent state), or block by block from BLOCKED_FROM elements unless ``whole`` (an update
    whose own step is an axpy: torch's one rounding where retrograd._blas runs it, on arrays of
    _blas.MIN_BYTES, larger than the blocks). A weight decay's axpy (_signed_decayed) rounds
    twice in blocks, as it did on arrays of _blocked.MIN_SIZE before."""
    if whole or arrays[0].size < BLOCKED_FROM:
        update(*arrays, *args)
    else:
        _blocked.run(lambda out, *a: update(*out, *a), tuple(arrays), *args, min_size=0)


def _signed_decayed(g, d, wd, maximize, xp=ARRAYS):
    """The gradient an update uses, as torch's: negated to maximize, then with weight decay
    ``g.add(d, alpha=wd)``, an axpy (torch's rounding where _blas runs it). A new array when
    either applies, else g itself (the .grad's array: not to be written)."""
    if maximize:
        g = xp.negative(g)
    if wd != 0:
        g = xp.axpy(wd, d, g if maximize else xp.copy(g))
    return g


def _adam_moments(d, m, v, g, lr, beta1, beta2, wd, decoupled, maximize, xp=ARRAYS):
    """The start of Adam's family's update (Adam, AdamW, NAdam, RAdam): g negated to maximize, the
    weight decay (decoupled: d shrunk by 1 - lr*wd; else wd*d added to g), then the moments
    m = lerp(m, g, 1 - beta1) and v = beta2*v + (1 - beta2)*g*g. Returns g as decayed and a
    scratch array (_mul_addcmul_'s)."""
    if decoupled and wd != 0:
        d *= 1 - lr * wd
    g = _signed_decayed(g, d, 0 if decoupled else wd, maximize, xp)
    _lerp_(m, g, 1 - beta1, xp)
    return g, _mul_addcmul_(v, beta2, g, g, 1 - beta2, xp)


def _differentiable_grad(opt, p, group, tensor_lr=True, foreach=False):
    """p's gradient for a differentiable update (the .grad property: torch's warning for a non-leaf
    parameter), after torch's checks: foreach's AssertionError (but SGD's, ``foreach=True``), and
    the TypeError of the optimizers whose differentiable update takes lr as a number only
    (``tensor_lr=False``). Turns grad mode on for the rest of the step (_hooked_step restores it):
    as torch's, the update is recorded even under no_grad. (Here, not in _hooked_step: the
    non-differentiable step reads nothing more.)"""
    if group.get("foreach") and not foreach:
        raise AssertionError("_foreach ops don't support autograd")
    if not tensor_lr and isinstance(group["lr"], Tensor) and group["lr"].requires_grad:
        raise TypeError(
            f"{type(opt).__name__}(differentiable=True) takes lr as a number, not a Tensor that requires grad (as "
            "torch 2.13, whose update passes it as a scalar argument): give float(lr), or use SGD, Adam, AdamW or "
            "RAdam to learn lr")
    _grad_state.enabled = True
    return p.grad


def _value(x):
    return float(x) if isinstance(x, Tensor) else x


def _bump(p):
    p._vc[0] += 1
