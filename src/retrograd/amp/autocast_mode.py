"""autocast: inside the region, each op runs in the precision its autocast policy names, as
torch's per-device autocast op lists say.

Policies (torch's CastPolicy), declared on the op itself:
- ``"lower"``: floating inputs are cast to the region's dtype (float16/bfloat16): matmul,
  linear, conv, ...;
- ``"fp32"``: floating inputs are cast to float32: losses, and on CUDA also exp/log, softmax,
  sums and norms;
- ``"promote"``: floating inputs are cast to the widest floating type among them (float32 if
  any is float32): cat, stack, and on CUDA dot, atan2, addcmul, ...;
- ``"keep"``: nothing is cast (torch has no autocast kernel for the op), and the ops the
  function is built from run with autocast off. For retrograd functions composed of ops that
  have a policy where torch's op is one kernel without one (``mv`` on the CPU calls the
  matmul Function, which is ``"lower"``);
- ``"unsafe"``: the op raises RuntimeError inside the region (torch bans binary_cross_entropy
  under CUDA autocast).
Float64 tensors and tensors of another device are never cast, as in torch.

A declaration is one policy for every device, or a dict ``{device_type: policy}`` where torch
differs between the CPU and CUDA (a device left out: no policy there). It is declared:
- on a Function subclass, ``_autocast = "lower"``: ``Function.apply`` casts the arguments;
- on a public function built from several Functions (layer_norm, cosine_similarity, the
  losses), or one that checks its inputs' dtypes before its Function runs (linear, mm), with
  the ``@autocast_op(policy)`` decorator: the arguments are cast (tensors, lists of tensors,
  keyword tensors) and the function body runs with autocast off, as torch's autocast
  kernels redispatch below autocast.

The cast is an ordinary differentiable op recorded in the graph, so parameters and their
``.grad`` stay float32 while the activations an op saves are low precision.
"""

import functools
import threading
import warnings
import weakref

import numpy as np

from .. import _backend, _dtype

POLICIES = ("lower", "fp32", "promote", "keep", "unsafe")
DEVICE_TYPES = ("cpu", "cuda")
_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}
_SUPPORTED = {"cpu": ("bfloat16", "float16"), "cuda": ("bfloat16", "float16", "float32")}


class _AutocastState(threading.local):
    enabled = False  # any device's autocast on: the one check on the hot path
    dtypes = {}  # device_type -> lower-precision dtype, for the devices whose autocast is on
    cache_enabled = True
    cache = None  # id(float32 leaf) -> (weakref to it, its lower-precision cast)
    nesting = 0


_state = _AutocastState()
# one entry per region entered, in any thread, that turns autocast on (list appends and pops are
# atomic): while it is empty no thread has autocast on, so Function.apply skips the
# thread-local read of _state.enabled
_on_regions = []


def check_policy(declaration):
    """Raise ValueError unless ``declaration`` is a policy or a {device_type: policy} dict."""
    items = declaration.items() if isinstance(declaration, dict) else [(None, declaration)]
    for device_type, policy in items:
        if device_type is not None and device_type not in DEVICE_TYPES:
            raise ValueError(f"autocast policy for unknown device type {device_type!r}: "
                             f"use one of {DEVICE_TYPES}")
        if policy not in POLICIES:
            raise ValueError(f"unknown autocast policy {policy!r}: use one of {POLICIES}")
    return declaration


def policy_for(declaration, device_type):
    """The policy a declaration gives on device_type (None: no policy there)."""
    if declaration is None or isinstance(declaration, str):
        return declaration
    return declaration.get(device_type)


def is_autocast_enabled(device_type=None):
    """True inside an enabled autocast region for device_type (torch: no argument means CUDA)."""
    return (device_type or "cuda") in _state.dtypes


def is_autocast_available(device_type):
    """Whether autocast runs on ``device_type``: 'cpu' and 'cuda' here, False for torch's other
    device types; RuntimeError for a name that is none of them, as torch."""
    if device_type in DEVICE_TYPES:
        return True
    if device_type in _backend.TORCH_DEVICE_TYPES:
        return False
    raise RuntimeError(f"Expected one of {', '.join(_backend.TORCH_DEVICE_TYPES)} device type at start of device "
                       f"string: {device_type}")


def get_autocast_dtype(device_type):
    """The lower-precision dtype autocast uses for device_type (the current region's, else the device default)."""
    return _state.dtypes.get(device_type) or getattr(_dtype, _DEFAULT_DTYPE[device_type])


def current_state():
    """A snapshot of the autocast state (checkpoint's recompute restores it)."""
    return dict(_state.dtypes), _state.cache_enabled


def restore_state(snapshot):
    """A context manager that runs its body in the autocast state of ``snapshot``."""
    return _Region(*snapshot)


def _device_type(array):
    return "cpu" if isinstance(array, np.ndarray) else "cuda"


def _eligible(arg):
    """Cast candidates: floating tensors other than float64 (torch never casts double)."""
    from ..tensor import Tensor

    if not isinstance(arg, Tensor):
        return False
    dt = arg._data.dtype
    return dt.kind == "V" or (dt.kind == "f" and dt.itemsize < 8)


def _promote_type(args, device_type, lower):
    """torch's promote: float32 if any eligible input is float32, else the region's dtype."""
    target = lower
    for a in _flat(args):
        if _eligible(a) and _device_type(a._data) == device_type and a.dtype is not lower:
            if a.dtype is not _dtype.float32:
                raise RuntimeError(
                    f"autocast promote: unexpected floating type {a.dtype} in a {device_type} "
                    f"autocast region of {lower} (cast it to float32 or {lower} first)")
            target = _dtype.float32
    return target


def _flat(args):
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


def _cast(arg, device_type, target):
    if isinstance(arg, (list, tuple)):
        return type(arg)(_cast(a, device_type, target) for a in arg)
    if not _eligible(arg) or arg.dtype is target or _device_type(arg._data) != device_type:
        return arg
    return _cached_cast(arg, target) if target is _state.dtypes[device_type] else arg.to(target)


def _cached_cast(arg, target):
    """torch's weight cache: a float32 leaf that requires grad is cast once per region."""
    from ..autograd.grad_mode import is_grad_enabled

    if not (_state.cache_enabled and arg.is_leaf and arg.requires_grad and is_grad_enabled()
            and arg.dtype is _dtype.float32 and arg._base is None):
        return arg.to(target)
    hit = _state.cache.get(id(arg))
    if hit is not None and hit[0]() is arg and hit[1].dtype is target:
        return hit[1]
    out = arg.to(target)
    _state.cache[id(arg)] = (weakref.ref(arg), out)
    return out


def cast_args(declaration, args, kwargs=None, name="this op"):
    """``args`` (and ``kwargs``) cast as ``declaration`` says for each device whose autocast is on."""
    for device_type, lower in _state.dtypes.items():
        policy = policy_for(declaration, device_type)
        if policy is None or policy == "keep":
            continue
        if policy == "unsafe":
            if any(_eligible(a) and _device_type(a._data) == device_type for a in _flat(args)):
                raise RuntimeError(
                    f"{name} is unsafe to autocast on {device_type}: many models use a sigmoid right "
                    "before it, and its log underflows in low precision. Combine the two layers with "
                    "torch.nn.functional.binary_cross_entropy_with_logits (nn.BCEWithLogitsLoss), which "
                    "is safe to autocast, or run this op outside the autocast region.")
            continue
        if policy == "lower":
            target = lower
        elif policy == "fp32":
            target = _dtype.float32
        else:
            target = _promote_type(tuple(args) + tuple((kwargs or {}).values()), device_type, lower)
        args = tuple(_cast(a, device_type, target) for a in args)
        if kwargs:
            kwargs = {k: _cast(v, device_type, target) for k, v in kwargs.items()}
    return args if kwargs is None else (args, kwargs)


def autocast_op(declaration):
    """Declare the autocast policy of a public function (see the module docstring)."""
    check_policy(declaration)

    def decorate(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            if not _on_regions or not _state.enabled:  # (no region open anywhere: no thread-local read)
                return fn(*args, **kwargs) if kwargs else fn(*args)  # (**{} costs ~450 machine instructions)
            args, kwargs = cast_args(declaration, args, kwargs, fn.__name__)
            # the body runs with autocast off on the devices the op has a policy for; on the
            # others its parts autocast as their own policies say (torch's decomposition)
            rest = {d: t for d, t in _state.dtypes.items() if policy_for(declaration, d) is None}
            with _Region(rest, _state.cache_enabled):
                return fn(*args, **kwargs)

        op._autocast = declaration
        return op

    return decorate


class _Region:
    """Sets the autocast state for a block and restores the previous one after it."""

    def __init__(self, dtypes, cache_enabled):
        self.dtypes, self.cache_enabled = dtypes, cache_enabled

    def __enter__(self):
        self._prev = (_state.enabled, _state.dtypes, _state.cache_enabled)
        _state.dtypes, _state.cache_enabled = self.dtypes, self.cache_enabled
        _state.enabled = bool(self.dtypes)
        if self.dtypes:
            _on_regions.append(None)
        _state.nesting += 1
        if _state.cache is None:
            _state.cache = {}
        return self

    def __exit__(self, *exc):
        _state.enabled, _state.dtypes, _state.cache_enabled = self._prev
        if self.dtypes:
            _on_regions.pop()
        _state.nesting -= 1
        if _state.nesting == 0:  # leaving the outermost region: drop the cached weight casts
            _state.cache = None
        return False


class autocast:
    """Run ops in mixed precision inside this context (or decorated function).

    ``autocast(device_type='cpu', dtype=retrograd.bfloat16)``; on CPU the default dtype is
    bfloat16, on CUDA float16. Only tensors of ``device_type`` are cast; a region for one
    device leaves the other's autocast state as it was. ``cache_enabled`` (default True):
    a float32 leaf that requires grad (a parameter) is cast once per outermost region.
    """

    def __init__(self, device_type="cpu", dtype=None, enabled=True, cache_enabled=None):
        if device_type not in DEVICE_TYPES:
            raise RuntimeError(
                f"User specified an unsupported autocast device_type '{device_type}': "
                f"retrograd supports {list(DEVICE_TYPES)}")
        self.device = device_type
        self.fast_dtype = _dtype.to_dtype(dtype) if dtype is not None else get_autocast_dtype(device_type)
        self._enabled = bool(enabled)
        self._cache_enabled = _state.cache_enabled if cache_enabled is None else bool(cache_enabled)
        if self._enabled and self.fast_dtype.name not in _SUPPORTED[device_type]:
            warnings.warn(
                f"In {device_type} autocast, but the target dtype {self.fast_dtype} is not supported. "
                f"Disabling autocast. {device_type} autocast supports "
                f"{', '.join('torch.' + d for d in _SUPPORTED[device_type])}.", UserWarning, stacklevel=2)
            self._enabled = False
        if self._enabled and device_type == "cuda":
            from .. import _backend

            if not _backend.cuda_available():
                warnings.warn("CUDA is not available (retrograd's CUDA needs CuPy and a GPU). "
                              "Disabling autocast.", UserWarning, stacklevel=2)
                self._enabled = False

    @property
    def device_type(self):
        return self.device

    @property
    def enabled(self):
        return self._enabled

    def __enter__(self):
        dtypes = dict(_state.dtypes)
        if self._enabled:
            dtypes[self.device] = self.fast_dtype
        else:
            dtypes.pop(self.device, None)
        self._region = _Region(dtypes, self._cache_enabled)
        self._region.__enter__()
        return self

    def __exit__(self, *exc):
        return self._region.__exit__(*exc)

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with autocast(self.device, self.fast_dtype, self._enabled, self._cache_enabled):
                return func(*args, **kwargs)

        return wrapper


def _cast_inputs(value, device_type, dtype):
    if _eligible(value) and _device_type(value._data) == device_type:
        return value.to(dtype)
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_inputs(v, device_type, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _cast_inputs(v, device_type, dtype) for k, v in value.items()}
    return value


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """Decorator for a custom Function's forward, as torch.amp.custom_fwd.

    Without ``cast_inputs`` the forward runs in the caller's autocast state (and backward,
    decorated with ``custom_bwd``, in the same one). With ``cast_inputs=dtype``, inside an
    autocast region of ``device_type`` the forward's floating tensor arguments of that device
    are cast to ``dtype`` and the forward runs with autocast off."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(ctx, *args, **kwargs):
        ctx._dtype = get_autocast_dtype(device_type)
        enabled = is_autocast_enabled(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = enabled
            return fwd(ctx, *args, **kwargs)
        ctx._fwd_used_autocast = False
        if not enabled:
            return fwd(ctx, *args, **kwargs)
        dtype = _dtype.to_dtype(cast_inputs)
        with autocast(device_type, enabled=False):
            return fwd(ctx, *_cast_inputs(args, device_type, dtype), **_cast_inputs(kwargs, device_type, dtype))

    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """Decorator for a custom Function's backward: it runs in the autocast state its
    ``custom_fwd`` forward ran in."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(ctx, *args, **kwargs):
        with autocast(device_type, dtype=ctx._dtype, enabled=ctx._fwd_used_autocast):
            return bwd(ctx, *args, **kwargs)

    return decorate_bwd
