"""Graph breaks: what ends a capture, and the exception ``fullgraph=True`` raises instead.

While a capture records (capture.py), the Tensor methods that hand a tensor's values to
Python (``.item()``, ``.tolist()``, ``.numpy()``, ``bool(t)``, ``int(t)``, printing) and the
calls that cannot be replayed (``backward()``, hooks registered inside the function, functions
wrapped by ``retrograd.compiler.disable``, and ``print``: a side effect a replay would skip)
note a graph break when the user's code calls them
(not when an op calls them inside its forward, which replay runs again). The call itself still
runs eagerly. Each break notes where the compiled function's own frame was (``position``: the
source range of the instruction running there, and whether the break was called from that
frame directly): resume.py splits the function at that statement, so the statements before
and after it are captured and replayed while the breaking one runs eagerly. ``explain`` lists
each break with its reason and the user's source line.
"""

import builtins
import sys
import traceback

from .._callsite import _user_frame, format_site, user_site


class Unsupported(RuntimeError):
    """A graph break under ``fullgraph=True`` (torch's ``torch._dynamo.exc.Unsupported``)."""


class InvalidBackend(RuntimeError):
    """An unknown ``backend=`` (torch's ``torch._dynamo.exc.InvalidBackend``)."""


class GraphBreak:
    """One break: ``reason`` and the user's line (``site``: (filename, lineno)); ``user_stack``
    is a list of FrameSummary as in torch's explain output."""

    def __init__(self, reason, site, position=None, method=None, direct=False, offset=None):
        self.reason, self.site = reason, site
        # in the compiled function's frame: (lineno, end_lineno, col, end_col) of the instruction
        # running and its offset; the Tensor method that broke; whether that frame called it itself
        self.position, self.method, self.direct, self.offset = position, method, direct, offset
        self.user_stack = [traceback.FrameSummary(site[0], site[1], "<user code>")] if site else []

    def __repr__(self):
        return f"GraphBreak({self.reason!r} at {format_site(self.site)})"


# the ``method`` of a break at a volatile call (volatile.py): its result, a Python value read anew at each
# call as a tensor's value read's is, is handled by resume.py as theirs
VOLATILE = "<volatile call>"

# Tensor methods that break the graph when user code calls them, with the reason
BREAKING_METHODS = {
    "item": "Tensor.item() reads a value into Python",
    "tolist": "Tensor.tolist() reads values into Python",
    "numpy": "Tensor.numpy() leaves retrograd's ops",
    "__array__": "NumPy conversion (np.asarray(tensor)) leaves retrograd's ops",
    "__bool__": "Python control flow on a tensor's value (bool(tensor), `if tensor:`)",
    "__int__": "int(tensor) reads a value into Python",
    "__float__": "float(tensor) reads a value into Python",
    "__index__": "a tensor used as a Python index reads its value",
    "__repr__": "printing a tensor reads its values",
    "__format__": "formatting a tensor reads its values",
    "register_hook": "a tensor hook registered inside the compiled function",
    "retain_grad": "retain_grad() inside the compiled function",
}


def install(capture):
    """Patch the breaking Tensor methods and ``print`` to tell ``capture``; returns the undo list."""
    from ..tensor import Tensor

    undo = []
    for name, reason in BREAKING_METHODS.items():
        original = Tensor.__dict__.get(name)
        if original is None:
            continue
        undo.append((Tensor, name, original))
        setattr(Tensor, name, _breaking(original, name, reason, capture))
    original = builtins.print  # a Python side effect a replay would skip: torch breaks the graph there too
    undo.append((builtins, "print", original))
    builtins.print = _breaking(original, "print", "print() (a Python side effect, run eagerly)", capture)
    return undo


def _breaking(original, name, reason, capture):
    def method(*args, **kwargs):
        if not capture.mine():
            return original(*args, **kwargs)
        breaking_call(reason, capture, 2, name)
        capture.depth += 1  # what it calls (printing calls tolist ...) is part of this one break
        try:
            return original(*args, **kwargs)
        finally:
            capture.depth -= 1

    method.__name__ = getattr(original, "__name__", "method")
    return method


def breaking_call(reason, capture, skip=2, method=None, frame=None):
    """Note a break at the user's line (``fullgraph`` raises Unsupported there): the line of the call
    ``skip`` frames up, or of the user's ``frame`` making the call."""
    if frame is None:
        site, frame = user_site(skip), sys._getframe(1)
    else:
        site = (frame.f_code.co_filename, frame.f_lineno)
    if capture.fullgraph:
        raise Unsupported(
            f"torch.compile(fullgraph=True): graph break at {format_site(site)}: {reason}. Remove it from "
            "the compiled function (compute with tensor ops instead of Python values), or compile without "
            "fullgraph=True to let that call run eagerly.")
    position, direct, offset = frame_position(getattr(capture, "target_code", None), frame)
    capture.breaks.append(GraphBreak(reason, site, position, method, direct, offset))


def frame_position(code, frame):
    """(position, direct, offset): the source range ``(lineno, end_lineno, col, end_col)`` of the
    instruction running in the innermost frame of ``code`` (None if no frame runs it), whether
    that frame is the innermost user frame (it made the breaking call itself), and the
    instruction's offset; looking outward from ``frame``."""
    if code is None:
        return None, False, None
    user = _user_frame(frame)
    f = user
    while f is not None and f.f_code is not code:
        f = f.f_back
    if f is None:
        return None, False, None
    index = f.f_lasti // 2
    for i, pos in enumerate(code.co_positions()):
        if i == index:
            if pos[0] is None:
                break
            return pos, f is user, f.f_lasti
    return (f.f_lineno, f.f_lineno, None, None), f is user, f.f_lasti


def global_hooks():
    """Whether global module hooks are registered (nn.modules.module.register_module_*_hook)."""
    m = _module[0]
    if m is None:
        import importlib

        m = _module[0] = importlib.import_module("retrograd.nn.module")  # (nn.module, not nn's attribute)
    return bool(m._global_forward_pre_hooks or m._global_forward_hooks or m._global_backward_hooks
                or m._global_backward_pre_hooks)


_module = [None]  # retrograd.nn.module, imported on first use (it imports this package's users)


def has_hooks(module):
    """Whether calling ``module`` runs hooks (its own or the global ones): the capture does not record them."""
    return bool(module._forward_pre_hooks or module._forward_hooks or module._backward_hooks
                or module._backward_pre_hooks or global_hooks())
