"""``torch.nn.utils.skip_init``: build a module without initializing its parameters and buffers.

torch builds the module on its ``meta`` device (shapes, no memory) and then allocates it empty with
``to_empty``. retrograd has no meta device: the module is built on its target device with the
``torch.nn.init`` functions doing nothing (no random numbers are drawn), then ``to_empty`` gives
every parameter and buffer fresh uninitialized memory, as torch's does."""

import contextlib
import inspect

from .. import init
from ..module import Module

__all__ = ["skip_init"]
EXPORTS = __all__


@contextlib.contextmanager
def _init_skipped():
    before = getattr(init._skip, "on", False)
    init._skip.on = True
    try:
        yield
    finally:
        init._skip.on = before


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with its parameters and buffers left uninitialized (as
    ``torch.empty``'s). The class must take a ``device`` argument that it passes on to the
    tensors it makes, and its constructor must compute nothing from them but ``torch.nn.init``
    fills."""
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    device = kwargs.pop("device", "cpu")
    with _init_skipped():
        module = module_cls(*args, device=device, **kwargs)
    return module.to_empty(device=device)
