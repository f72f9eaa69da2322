"""``torch.nn.attention``: choosing the kernels of ``scaled_dot_product_attention``.

``sdpa_kernel`` enables only the given backends inside its block (a context manager or a decorator)
and restores the switches after. On the CPU only FLASH_ATTENTION (for the inputs torch's CPU flash
kernel takes: 4-D, no dropout, ...) and MATH run; see retrograd/backends/_sdp.py."""

import contextlib

from ...backends import _sdp
from ...backends._sdp import SDPBackend

__all__ = ["SDPBackend", "sdpa_kernel"]


def _backends(backends):
    if isinstance(backends, SDPBackend):
        return [backends]
    if isinstance(backends, list) and all(isinstance(b, SDPBackend) for b in backends):
        return backends
    got = type(backends).__name__
    if isinstance(backends, list):  # (torch's takes any list, and a wrong entry enables nothing)
        got = "a list holding " + ", ".join(sorted({type(b).__name__ for b in backends
                                                      if not isinstance(b, SDPBackend)}))
    raise AssertionError(f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, got {got}")


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Within the block only ``backends`` (one SDPBackend or a list) may run
    ``scaled_dot_product_attention``; with ``set_priority`` their order in the list is the
    order in which they are tried (the rest after, in the default order). The previous
    switches come back on exit."""
    chosen = _backends(backends)
    order = list(_sdp.DEFAULT_ORDER)
    if set_priority:
        first = list(dict.fromkeys(b for b in chosen if b is not SDPBackend.ERROR))
        order = first + [b for b in order if b not in first]
    before = _sdp.state()
    _sdp.set_state(chosen, order)
    try:
        yield {}
    finally:
        _sdp.set_state(*before)
