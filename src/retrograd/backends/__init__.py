"""``retrograd.backends``: switches for how retrograd uses the machine. torch's ``cudnn``,
``cuda`` and ``mps`` switches are here with torch's values; they choose among kernels
retrograd does not have, so they change no result (each module says what the switch means).
retrograd's own switch is its malloc tuning (see ``retrograd._malloc`` and docs/differences.md)."""

from .._malloc import is_malloc_tuning_enabled, set_malloc_tuning_enabled
from . import cuda, cudnn, mps  # noqa: F401

__all__ = ["is_malloc_tuning_enabled", "set_malloc_tuning_enabled"]
