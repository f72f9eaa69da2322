"""Process-wide switches of torch's top level that choose among kernels: deterministic
algorithms and the internal precision of float32 matrix products.

- ``use_deterministic_algorithms``: retrograd's NumPy (CPU) kernels are all deterministic, so on
  the CPU the switch changes nothing, as in torch. On CUDA, the ops that accumulate through
  CuPy's atomic scatter-add (indexing backward, max-pool backward) call ``alert_not_deterministic``
  first, which raises RuntimeError (or warns, with ``warn_only=True``) as torch's
  nondeterministic CUDA kernels do.
- ``set_float32_matmul_precision``: 'high' and 'medium' *permit* torch to compute float32
  products with TF32 or bfloat16 internally; retrograd always computes them in float32 (what
  'highest' asks), which every setting permits. ``backends.cuda.matmul.allow_tf32`` is the
  same setting seen as a flag ('highest' <-> False), as in torch.
"""

import warnings

_state = {"deterministic": False, "warn_only": False, "matmul_precision": "highest"}
PRECISIONS = ("highest", "high", "medium")
_DEBUG_MODES = ("default", "warn", "error")


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Make ops that have no deterministic implementation raise (or warn, with ``warn_only``)."""
    for name, value in (("mode", mode), ("warn_only", warn_only)):
        if not isinstance(value, bool):
            raise TypeError(f"use_deterministic_algorithms(): argument '{name}' must be bool, not "
                            f"{type(value).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled():
    """Whether ``use_deterministic_algorithms(True)`` is in force."""
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    """Whether deterministic mode only warns."""
    return _state["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """0/'default': off; 1/'warn': deterministic, warn only; 2/'error': deterministic, raise."""
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, `error`, "
                               f"but got {debug_mode}")
        debug_mode = _DEBUG_MODES.index(debug_mode)
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    """0 when deterministic mode is off, 1 when it warns, 2 when it raises."""
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2


def alert_not_deterministic(caller):
    """Called by a kernel whose result may vary run to run: raise (or warn) in deterministic mode."""
    if not _state["deterministic"]:
        return
    message = (f"{caller} does not have a deterministic implementation, but you set "
               "'torch.use_deterministic_algorithms(True)'. You can turn off determinism just for this "
               "operation, or you can use the 'warn_only=True' option, if that's acceptable for your "
               "application.")
    if _state["warn_only"]:
        warnings.warn(message, UserWarning, stacklevel=3)
    else:
        raise RuntimeError(message)


def set_float32_matmul_precision(precision):
    """'highest', 'high' or 'medium': how low an internal precision float32 products may use.
    retrograd computes them in float32 under every setting (which each permits); the value is
    kept, returned by ``get_float32_matmul_precision`` and mirrored in
    ``backends.cuda.matmul.allow_tf32``. Another string warns and changes nothing, as torch's."""
    if precision not in PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _state["matmul_precision"] = precision


def get_float32_matmul_precision():
    """The float32 matmul precision setting: 'highest' unless set."""
    return _state["matmul_precision"]
