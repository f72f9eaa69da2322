"""``out=``: the functions whose torch signature has it write their result into a given tensor.

One decorator, ``takes_out``, gives an op function torch's keyword-only ``out=``; the op
itself never sees it. The Tensor method registered from the same op (``tensor_method``,
applied under ``takes_out``) keeps the signature without ``out``, as torch's methods do.
With ``out`` given, as in torch:

- with grad mode on, ``out`` or an input that requires grad raises RuntimeError: functions
  with ``out=`` are not differentiable (torch's composite ops instead copy_ the result into
  out, which autograd records; ops without a derivative ignore requires_grad);
- the result's dtype must fit ``out``'s (the rule is the op's, ``dtype=`` below);
- an ``out`` of another shape is resized, with torch's deprecation UserWarning unless it
  has no elements;
- the values are written into ``out``'s memory (its version goes up, as for any in-place
  write) and ``out`` is returned; an op returning several tensors (sort, topk, max along a
  dim, ...) takes a tuple of tensors and returns them in its result's (named) tuple type.
"""

import functools
import inspect
import warnings

from .. import _backend
from ..autograd.function import note_inplace
from ..autograd.grad_mode import _state
from ..tensor import Tensor
from ._inplace import _TORCH_TYPE, _write as write

RESIZE_WARNING = (
    "An output with one or more elements was resized since it had shape {old}, which does not "
    "match the required output shape {new}. This behavior is deprecated, and in a future "
    "PyTorch release outputs will not be resized unless they have zero elements. You can "
    "explicitly reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0)."
)

# dtype= of takes_out: how the result's dtype must relate to out's (each op's rule is torch's)
CAST = "cast"  # torch.can_cast(result, out), else RuntimeError (TensorIterator ops: add, exp, ...)
SAME = "same"  # equal dtypes, else RuntimeError (mm, sort, where, abs, ...)
ANY = "any"  # any dtype; the result is converted (comparisons, logical ops)
INTO = "into"  # the op's dtype= (and device=) default to out's, then as SAME (cumsum, zeros, rand, ...)
_RULES = (CAST, SAME, ANY, INTO)


# grad= of takes_out: what autograd does with out (each op's rule is torch's)
CHECK = "check"  # out or an input requiring grad raises RuntimeError (ops with a derivative of their own)
COPY = "copy"  # out receives the result by a differentiable copy_ (torch's composite ops: inner, tensordot, ...)
NONE = "none"  # no derivative: written like any tensor (comparisons, histc, bucketize, ...)
_GRADS = (CHECK, COPY, NONE)


def takes_out(fn=None, *, dtype=CAST, grad=CHECK, cast_error=RuntimeError, resize_warning=RESIZE_WARNING):
    """Decorate the op ``fn`` (which has no ``out`` parameter) with torch's ``out=``.

    dtype: CAST, SAME, ANY or INTO (above). cast_error: the exception type of a CAST
    failure (torch.cat raises TypeError where elementwise ops raise RuntimeError).
    grad: CHECK, COPY or NONE (above).
    resize_warning: the warning when out has elements and another shape, formatted with
    old/new (shapes as lists), old_numel/new_numel and new_tuple; None: resize silently
    (torch's factories)."""
    if fn is None:
        return functools.partial(takes_out, dtype=dtype, grad=grad, cast_error=cast_error,
                                 resize_warning=resize_warning)
    if dtype not in _RULES or grad not in _GRADS:
        raise ValueError(f"takes_out: dtype must be one of {_RULES} and grad one of {_GRADS}, "
                         f"got {dtype!r} and {grad!r}")
    signature = inspect.signature(fn)
    if "out" in signature.parameters:
        raise TypeError(f"takes_out: {fn.__name__} already has an out parameter")
    name = fn.__name__
    takes_device = "device" in signature.parameters

    first_is_input = next(iter(signature.parameters), None) == "input"

    @functools.wraps(fn)
    def with_out(*args, out=None, **kwargs):
        if out is None:
            try:
                return fn(*args, **kwargs)
            except AttributeError:  # (checked only on failure: the call itself stays lean)
                if first_is_input and args and not isinstance(args[0], Tensor):
                    raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, "
                                    f"not {type(args[0]).__name__}") from None
                raise
        outs = _as_tensors(out, name)
        if grad == CHECK:
            _check_not_differentiated(name, outs, args, kwargs)
        if dtype == INTO:
            kwargs = _into_kwargs(outs[0], kwargs, takes_device)
        result = fn(*args, **kwargs)
        results = result if isinstance(result, tuple) else (result,)
        if len(results) != len(outs) or isinstance(out, Tensor) == isinstance(result, tuple):
            raise TypeError(f"{name}(): out must be {_expected(result)}, got {_describe(out)}")
        for r, o in zip(results, outs):
            _check_dtype(name, r, o, dtype, cast_error)
        for r, o in zip(results, outs):
            _write(o, r, resize_warning, grad == COPY, name)
        if kwargs.get("requires_grad"):  # a factory's requires_grad=True makes out a leaf that requires grad
            out.requires_grad_(True)
        if isinstance(out, Tensor):
            return out
        return type(result)(*outs) if hasattr(result, "_fields") else tuple(outs)

    params = list(signature.parameters.values())
    keyword = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    at = next((i for i, p in enumerate(params) if p.kind == p.VAR_KEYWORD), len(params))
    with_out.__signature__ = signature.replace(parameters=params[:at] + [keyword] + params[at:])
    with_out.takes_out = dtype
    return with_out


def _as_tensors(out, name):
    if isinstance(out, Tensor):
        return (out,)
    if isinstance(out, (tuple, list)) and out and all(isinstance(o, Tensor) for o in out):
        return tuple(out)
    raise TypeError(f"{name}(): argument 'out' must be a Tensor or a tuple of Tensors, not {_describe(out)}")


def _describe(out):
    if isinstance(out, (tuple, list)):
        return f"{type(out).__name__} of {len(out)} {'/'.join(sorted({type(o).__name__ for o in out}))}"
    return type(out).__name__


def _expected(result):
    if isinstance(result, tuple):
        return f"a tuple of {len(result)} Tensors"
    return "a Tensor"


def _requires_grad(value):
    if isinstance(value, Tensor):
        return value._requires_grad
    if isinstance(value, (tuple, list)):
        return any(_requires_grad(v) for v in value)
    return False


def _check_not_differentiated(name, outs, args, kwargs):
    if _state.enabled and (_requires_grad(outs) or _requires_grad(args) or _requires_grad(tuple(kwargs.values()))):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic differentiation, "
            "but one of the arguments requires grad. Call it under torch.no_grad(), or drop out= "
            "to get a result that autograd tracks."
        )


def _into_kwargs(out, kwargs, takes_device):
    """An INTO op computes in out's dtype (a factory also on out's device) unless told otherwise."""
    kwargs = dict(kwargs)
    if kwargs.get("dtype") is None:
        kwargs["dtype"] = out.dtype
    if takes_device and kwargs.get("device") is None:
        kwargs["device"] = out.device
    return kwargs


def _check_dtype(name, result, out, rule, cast_error):
    if result.device != out.device:
        raise RuntimeError(f"Expected out tensor to be on device {result.device}, but got {out.device} "
                           f"instead (in {name}(out=...)); move out with .to({str(result.device)!r})")
    have, want = result.dtype, out.dtype
    if rule in (SAME, INTO) and have != want:
        raise RuntimeError(f"Expected out tensor to have dtype {have}, but got {want} instead "
                           f"(in {name}(out=...)); pass an out tensor of dtype {have}")
    if rule == CAST and have._category > want._category:  # torch.can_cast
        raise cast_error(f"result type {_TORCH_TYPE[have.name]} can't be cast to the desired output "
                         f"type {_TORCH_TYPE[want.name]} (in {name}(out=...)); pass an out tensor of "
                         f"dtype {have}")


def _write(out, result, resize_warning, copy, name):
    data = result._data
    tracked = copy and _state.enabled and (out._requires_grad or result._requires_grad)
    if out._data.shape != data.shape:
        if tracked and out._requires_grad:
            raise RuntimeError(f"cannot resize variables that require grad (out of shape {list(out.shape)} "
                               f"for a result of shape {list(data.shape)}): pass an out of that shape")
        if out._data.size and resize_warning:
            warnings.warn(resize_warning.format(old=list(out._data.shape), new=list(data.shape),
                                                old_numel=out._data.size, new_numel=data.size,
                                                new_tuple=tuple(data.shape)), UserWarning, stacklevel=3)
        out._data = _backend.array_module(out._data).empty(data.shape, dtype=out._data.dtype)
    if tracked:  # the result reaches out through copy_, which autograd records
        out.copy_(result)
        return
    if out._data is not data:
        write(out, data, name)  # (an expanded out: torch's overlap error)
    vc = out._vc
    vc[0] += 1
    if len(vc) > 1:  # saved for backward: log who changed it (autograd.function)
        note_inplace(vc, f"{name}(out=...)")
