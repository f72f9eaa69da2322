"""Anomaly detection: remember where each node was created, fail on NaN gradients, and (a
retrograd extension, ``check_forward=True``) fail at the first op whose forward output is not
finite, naming the op, the user's line and summary statistics of its inputs.

As torch's, the mode is process-wide: turned on in one thread, it is on in all of them. The
forward check looks at every op's outputs through ``function.add_apply_observer``; the
observer is installed only while the check is on, so ops pay nothing otherwise.
"""

import sys

import numpy as np

from .._backend import array_module
from .._callsite import format_site, user_site
from . import function


class _AnomalyState:
    """The process's anomaly mode (one for all threads, as torch's). Instance attributes: every
    recorded op and backward node reads ``enabled``, and CPython specialises an instance's own
    attribute reads, not reads that fall through to a class attribute (~250 machine instructions)."""

    def __init__(self):
        self.enabled = False
        self.check_nan = True
        self.check_forward = False


_state = _AnomalyState()


def is_anomaly_enabled():
    """Whether anomaly detection is on (torch.is_anomaly_enabled)."""
    return _state.enabled


def is_anomaly_check_nan_enabled():
    """Whether anomaly detection raises on NaN gradients (torch.is_anomaly_check_nan_enabled)."""
    return _state.check_nan


def set_anomaly_enabled(enabled, check_nan=True):
    """Turn anomaly detection on or off (torch.set_anomaly_enabled; detect_anomaly's
    state, without a context). ``check_nan``: raise on NaN gradients while on. A forward check
    that detect_anomaly(check_forward=True) turned on stays on while enabled."""
    for i, (name, value) in enumerate((("enabled", enabled), ("check_nan", check_nan))):
        if not isinstance(value, bool):
            raise TypeError(f"set_anomaly_enabled(): argument '{name}' (position {i + 1}) must be bool, not "
                            f"{type(value).__name__}")
    _set(enabled, check_nan, _state.check_forward and enabled)


def _set(enabled, check_nan, check_forward):
    """Set the anomaly mode; install or remove the forward check as needed."""
    before = _state.enabled and _state.check_forward
    _state.enabled, _state.check_nan, _state.check_forward = enabled, check_nan, check_forward
    after = enabled and check_forward
    if after and not before:
        function.add_apply_observer(_check_forward)
    elif before and not after:
        function.remove_apply_observer(_check_forward)


def _get():
    return _state.enabled, _state.check_nan, _state.check_forward


class detect_anomaly:
    """Inside this context, a failing backward names the forward line that created the
    failing node, and a backward that produces NaN raises RuntimeError.

    ``check_forward`` (a retrograd extension; torch checks only the backward): also raise
    RuntimeError at the first op whose forward output has a NaN, or an infinity that none
    of its inputs had (so ``masked_fill(mask, -inf)`` passes), naming the op, the line that
    called it and statistics of its inputs (shape, dtype, min, max, mean, nan and inf counts).
    """

    def __init__(self, check_nan=True, check_forward=False):
        self.check_nan = check_nan
        self.check_forward = check_forward

    def __enter__(self):
        self._prev = _get()
        _set(True, self.check_nan, self.check_forward)
        return self

    def __exit__(self, *exc):
        _set(*self._prev)
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan, self.check_forward):
                return fn(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):
    """Turn anomaly detection on or off (``mode``) when created; used as a context manager, it
    restores the previous setting on exit. ``check_forward``: see detect_anomaly (a retrograd
    extension)."""

    def __init__(self, mode, check_nan=True, check_forward=False):
        super().__init__(check_nan, check_forward)
        self._prev = _get()
        _set(bool(mode), check_nan, check_forward)

    def __enter__(self):
        return self


# ------------------------------------------------------------------ the forward check


def _check_forward(cls, args, outputs):
    """function's apply observer: raise at an op whose output has a new non-finite value."""
    if not (_state.enabled and _state.check_forward):
        return  # another thread's check is on, not this one's
    for i, out in enumerate(outputs):
        data = getattr(out, "_data", None)
        if data is None or data.dtype not in function._FLOATING:
            continue
        xp = array_module(data)
        if bool(xp.isfinite(data).all()):
            continue
        has_nan = bool(xp.isnan(data).any())
        if not has_nan and not all(_finite(a) for a in args):
            continue  # an infinity it was given (a -inf mask), not one it made
        if _in_backward():
            continue  # a backward rule's op: check_nan's gradient check reports there
        raise RuntimeError(_forward_message(cls, args, i, "nan" if has_nan else "inf"))


def _finite(value):
    data = getattr(value, "_data", None)
    if data is not None:
        return data.dtype not in function._FLOATING or bool(array_module(data).isfinite(data).all())
    if isinstance(value, float):
        return np.isfinite(value)
    if isinstance(value, (tuple, list)):
        return all(_finite(v) for v in value)
    return True


def _in_backward():
    from .engine import _run_node

    code = _run_node.__code__
    f = sys._getframe(2)
    while f is not None:
        if f.f_code is code:
            return True
        f = f.f_back
    return False


def _forward_message(cls, args, index, kind):
    inputs = "\n".join(f"  input {j}: {_describe(a)}" for j, a in enumerate(args))
    return (
        f"Function '{cls.__name__}' returned {kind} values in its {index}th output in the forward "
        f"pass, at {format_site(user_site(3))} (anomaly mode's forward check: the first op whose "
        f"output is not finite). Its inputs:\n{inputs}\n"
        "Hint: log, sqrt, pow or division of values at or below zero, exp of large values, or "
        "inf - inf make nan and inf: clamp the input (x.clamp_min(1e-12)), add an epsilon, or "
        "use the stable form (log_softmax, logsumexp, binary_cross_entropy_with_logits); a "
        "learning rate too high also drives values there."
    )


def _describe(value):
    """``Tensor float32 [3, 4] min=-1 max=2 mean=0.25 nan=0 inf=1`` (min, max and mean over
    the finite elements), or the repr of a non-tensor argument."""
    data = getattr(value, "_data", None)
    if data is None:
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    host = data if isinstance(data, np.ndarray) else array_module(data).asnumpy(data)
    dtype = str(value.dtype).replace("torch.", "")
    head = f"Tensor {dtype} {list(host.shape)}"
    if host.dtype.kind not in "fiub" and host.dtype not in function._FLOATING:
        return head
    wide = host.astype(np.float64)
    finite = wide[np.isfinite(wide)]
    stats = f" min={finite.min():.6g} max={finite.max():.6g} mean={finite.mean():.6g}" \
        if finite.size else " (no finite element)"
    return f"{head}{stats} nan={int(np.isnan(wide).sum())} inf={int(np.isinf(wide).sum())}"
