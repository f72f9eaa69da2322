"""Grad mode: whether ops record the graph. Thread-local, like torch's."""

import functools
import importlib
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
        self.inference_grad = False  # grad mode as is_grad_enabled() reports it inside inference mode
        self.stack = []
        self.callbacks = []


_state = _GradState()


def is_grad_enabled():
    """True if grad mode is on in this thread (ops record the graph, except in inference mode)."""
    return _state.enabled or _state.inference_grad


def _set_grad(mode):
    """Set this thread's grad mode; returns what to restore. Inside inference mode, as torch's,
    ``is_grad_enabled()`` says ``mode`` but nothing is recorded (``_state.enabled`` stays off)."""
    prev = (_state.enabled, _state.inference_grad)
    if _state.inference:
        _state.inference_grad = mode
    else:
        _state.enabled = mode
    return prev


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
        self._prev = _set_grad(self._mode)

    def __exit__(self, *exc):
        _state.enabled, _state.inference_grad = self._prev
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
        self._prev = _set_grad(self._mode)

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _state.enabled, _state.inference_grad = self._prev
        return False

    def __call__(self, func):
        # used as a decorator: construction switched the mode; switch it back (as torch)
        _state.enabled, _state.inference_grad = self._prev
        return super().__call__(func)

    def clone(self):
        return set_grad_enabled(self._mode)


class inference_mode(_DecoratorContextManager):
    """Like no_grad, for inference: nothing is recorded, and the tensors made inside are
    inference tensors (``is_inference()``): outside the mode they cannot be modified in place nor
    saved for backward. ``inference_mode(False)`` leaves the mode and turns grad mode on, as torch."""

    def __init__(self, mode=True):
        self._mode = bool(mode)

    def __new__(cls, mode=True):
        if callable(mode):
            return inference_mode()(mode)
        return super().__new__(cls)

    def __enter__(self):
        self._prev = (_state.enabled, _state.inference, _state.inference_grad)
        _state.enabled, _state.inference, _state.inference_grad = not self._mode, self._mode, False
        if self._mode:
            _count_inference(1)

    def __exit__(self, *exc):
        _state.enabled, _state.inference, _state.inference_grad = self._prev
        if self._mode:
            _count_inference(-1)
        return False

    def clone(self):
        return inference_mode(self._mode)


# ------------------------------------------------------------------ inference tensors
# A tensor made while its thread is in inference mode is an inference tensor: torch keeps no
# version counter for it, so the two uses of a version counter become torch's errors: bumping it
# outside inference mode (an in-place op) and watching it (saving the tensor for backward). Its
# ``_vc`` is an _InferenceVersion, which does that; views and detach() share it, so they are
# inference tensors too. Ordinary tensors pay nothing: Tensor._make marks a new tensor only while
# some thread is inside inference_mode (tensor._inference_on), and checks nothing else.

_INPLACE_ERROR = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to "
                  "get a normal tensor before doing inplace update.See https://github.com/pytorch/rfcs/pull/17 for "
                  "more details.")
_SAVE_ERROR = ("Inference tensors cannot be saved for backward. Please do not use Tensors created in inference "
               "mode in computation tracked by autograd. To work around this, you can make a clone to get a normal "
               "tensor and use it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`.")


class _InferenceVersion(list):
    """The version counter (``Tensor._vc``) of an inference tensor. As torch's, an in-place op
    outside inference mode writes, then raises where it bumps the version."""

    __slots__ = ()

    def __setitem__(self, index, value):  # an in-place op bumps the version
        if not _state.inference:
            raise RuntimeError(_INPLACE_ERROR)
        list.__setitem__(self, index, value)

    def append(self, entry):  # autograd starts watching the version of a tensor it saves
        raise RuntimeError(_SAVE_ERROR)


def is_inference(input):
    """True if ``input`` is an inference tensor (made inside ``torch.inference_mode()``)."""
    from ..tensor import Tensor

    if not isinstance(input, Tensor):
        raise TypeError(f"is_inference(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return type(input._vc) is _InferenceVersion


def mark_inference(tensor):
    """Make ``tensor``, just made, an inference tensor if its thread is in inference mode."""
    if _state.inference:
        tensor._vc = _InferenceVersion(tensor._vc)


_entered = 0  # inference_mode contexts open, in all threads
_entered_lock = threading.Lock()


def _count_inference(delta):
    global _entered
    tensor = importlib.import_module("..tensor", __package__)  # (the module: retrograd.tensor is the function)
    with _entered_lock:
        _entered += delta
        tensor._inference_on = _entered > 0
