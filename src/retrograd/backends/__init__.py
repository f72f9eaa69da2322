"""``retrograd.backends``: switches for how retrograd uses the machine. torch's switches here
(cudnn, mkldnn, ...) concern kernels retrograd does not have; retrograd's own is its malloc
tuning (see ``retrograd._malloc`` and docs/differences.md)."""

from .._malloc import is_malloc_tuning_enabled, set_malloc_tuning_enabled

__all__ = ["is_malloc_tuning_enabled", "set_malloc_tuning_enabled"]
