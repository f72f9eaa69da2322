"""Graph breaks: what ends a capture, and the exception ``fullgraph=True`` raises instead.

While a capture records (capture.py), the Tensor methods that hand a tensor's values to
Python (``.item()``, ``.tolist()``, ``.numpy()``, ``bool(t)``, ``int(t)``, printing) and the
calls that cannot be replayed (``backward()``, hooks registered inside the function, functions
wrapped by ``retrograd.compiler.disable``) note a graph break when the user's code calls them
(not when an op calls them inside its forward, which replay runs again). The call itself still
runs eagerly. In this first version a break makes the whole function run eagerly for that
guard set (no capture resumes after the break); ``explain`` lists each break with its reason
and the user's source line.
"""

import traceback

from .._callsite import format_site, user_site


class Unsupported(RuntimeError):
    """A graph break under ``fullgraph=True`` (torch's ``torch._dynamo.exc.Unsupported``)."""


class InvalidBackend(RuntimeError):
    """An unknown ``backend=`` (torch's ``torch._dynamo.exc.InvalidBackend``)."""


class GraphBreak:
    """One break: ``reason`` and the user's line (``site``: (filename, lineno)); ``user_stack``
    is a list of FrameSummary as in torch's explain output."""

    def __init__(self, reason, site):
        self.reason, self.site = reason, site
        self.user_stack = [traceback.FrameSummary(site[0], site[1], "<user code>")] if site else []

    def __repr__(self):
        return f"GraphBreak({self.reason!r} at {format_site(self.site)})"


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
    """Patch the breaking Tensor methods to tell ``capture``; returns the undo list."""
    from ..tensor import Tensor

    undo = []
    for name, reason in BREAKING_METHODS.items():
        original = Tensor.__dict__.get(name)
        if original is None:
            continue
        undo.append((Tensor, name, original))
        setattr(Tensor, name, _breaking(original, reason, capture))
    return undo


def _breaking(original, reason, capture):
    def method(self, *args, **kwargs):
        if capture.mine():
            capture.graph_break(reason)
        return original(self, *args, **kwargs)

    method.__name__ = getattr(original, "__name__", "method")
    return method


def breaking_call(reason, capture, skip=2):
    """Note a break at the user's line (``fullgraph`` raises Unsupported there)."""
    site = user_site(skip)
    if capture.fullgraph:
        raise Unsupported(
            f"torch.compile(fullgraph=True): graph break at {format_site(site)}: {reason}. Remove it from "
            "the compiled function (compute with tensor ops instead of Python values), or compile without "
            "fullgraph=True to let that call run eagerly.")
    capture.breaks.append(GraphBreak(reason, site))


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
