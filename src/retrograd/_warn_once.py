"""torch's once-per-process warnings (its TORCH_WARN_ONCE) and the switch that makes them warn
every time: ``set_warn_always(True)``.

``warn_once(key, message)`` warns the first time a key is seen in the process; while
``is_warn_always_enabled()`` it warns on every call, as torch's warn-once sites do under the flag.
"""

import warnings

_state = {"always": False}
_seen = set()


def set_warn_always(b):
    """While True, the warnings torch gives once per process are given every time."""
    if not isinstance(b, bool):
        raise RuntimeError(f"setWarnOnlyOnce expects a bool, but got {type(b).__name__}")
    _state["always"] = b


def is_warn_always_enabled():
    """Whether ``set_warn_always(True)`` is in force."""
    return _state["always"]


def warn_once(key, message, category=UserWarning, stacklevel=2):
    """Warn ``message`` the first time ``key`` is seen in this process (every time while the
    warn-always flag is on). ``stacklevel`` counts from the caller of warn_once."""
    if key in _seen and not _state["always"]:
        return
    _seen.add(key)
    warnings.warn(message, category, stacklevel=stacklevel + 1)
