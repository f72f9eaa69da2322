"""``autograd.set_multithreading_enabled`` / ``is_multithreading_enabled``.

torch runs the backward of accelerator tensors on a worker thread per device unless this
(thread-local) flag is off, when the backward runs on the calling thread. retrograd's engine
always runs backward on the calling thread, for every device (what ``False`` asks for; torch's
CPU backward runs there too), so the flag changes no computation here: it is kept and reported,
per thread, as torch's.
"""

import threading

from .grad_mode import _DecoratorContextManager

__all__ = ["set_multithreading_enabled", "is_multithreading_enabled"]


class _State(threading.local):
    enabled = True


_state = _State()


def is_multithreading_enabled():
    """Whether multithreaded backward is enabled (in this thread)."""
    return _state.enabled


class set_multithreading_enabled(_DecoratorContextManager):
    """Enable or disable multithreaded backward from now on, or inside a ``with`` block (the
    previous setting is restored at its end)."""

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_multithreading_enabled(): argument 'enabled' (position 1) must be bool, not "
                            f"{type(mode).__name__}")
        self.mode = mode
        self.prev = _state.enabled
        _state.enabled = mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False

    def clone(self):
        return set_multithreading_enabled(self.mode)
