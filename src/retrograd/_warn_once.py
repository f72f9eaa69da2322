"""torch's once-per-process warnings (its TORCH_WARN_ONCE) and the switch that makes them warn
every time: ``set_warn_always(True)``.

``warn_once(key, message)`` warns the first time a key is seen in the process; while
``is_warn_always_enabled()`` it warns on every call, as torch's warn-once sites do under the flag.
"""

import os
import sys
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


def warn_once(key, message, category=UserWarning):
    """Warn ``message`` the first time ``key`` is seen in this process (every time while the
    warn-always flag is on), attributed to the first caller outside retrograd, as torch's warnings
    name the Python line that called into torch."""
    if key in _seen and not _state["always"]:
        return
    _seen.add(key)
    warnings.warn(message, category, stacklevel=_user_stacklevel())


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep  # retrograd's own files


def _user_stacklevel():
    """warnings.warn's stacklevel, called from warn_once, of the first frame outside retrograd."""
    level, frame = 2, sys._getframe(2)  # (level 1 is warn_once, 2 its caller)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
