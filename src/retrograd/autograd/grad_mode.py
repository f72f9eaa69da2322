"""Grad mode: whether ops record the graph. Thread-local, like torch's."""

import functools
import threading


class _GradState(threading.local):
    """This thread's autograd state: grad mode, inference mode, the nn.Modules whose forward is
    running (innermost last; graph._modules is this object) and the final-callback list of each
    backward running (engine.queue_callback). All are set per thread in __init__, so they live in
    the thread's ``__dict__``: Function.apply and the engine take that dict once (one thread-local
    lookup, ~450 machine instructions; each attribute read is one, ~580) and read and write the
    entries there (a dict write ~60 against ~720 for a thread-local attribute)."""

    def __init__(self):
        self.enabled = True
        self.inference = False
        self.stack = []
        self.callbacks = []


_state = _GradState()


def is_grad_enabled():
    """True if grad mode is on in this thread (ops record the graph)."""
    return _state.enabled


def is_inference_mode_enabled():
    """True if this thread is inside inference_mode."""
    return _state.inference


class _DecoratorContextManager:
    """A context manager that also decorates functions (each call runs inside it)."""

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class _SetMode(_DecoratorContextManager):
    _mode = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False


class no_grad(_SetMode):
    """Ops inside record no graph: results do not require grad."""

    _mode = False

    def __new__(cls, orig_func=None):
        # `@no_grad` without parentheses decorates, as in torch
        if orig_func is not None and callable(orig_func):
            return no_grad()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func=None):
        pass


class enable_grad(_SetMode):
    """Re-enable graph recording inside a no_grad region."""

    _mode = True

    def __new__(cls, orig_func=None):
        if orig_func is not None and callable(orig_func):
            return enable_grad()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func=None):
        pass


class set_grad_enabled(_DecoratorContextManager):
    """Set grad mode on or off; usable as a function, a context manager or a decorator."""

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, func):
        # used as a decorator: construction switched the mode; switch it back (as torch)
        _state.enabled = self._prev
        return super().__call__(func)

    def clone(self):
        return set_grad_enabled(self._mode)


class inference_mode(_DecoratorContextManager):
    """Like no_grad, for inference: nothing is recorded."""

    def __init__(self, mode=True):
        self._mode = bool(mode)

    def __new__(cls, mode=True):
        if callable(mode):
            return inference_mode()(mode)
        return super().__new__(cls)

    def __enter__(self):
        self._prev = (_state.enabled, _state.inference)
        if self._mode:
            _state.enabled, _state.inference = False, True

    def __exit__(self, *exc):
        _state.enabled, _state.inference = self._prev
        return False

    def clone(self):
        return inference_mode(self._mode)
