"""torch's deprecated per-device autocast queries, which torch still has at top level:
is_autocast_cpu_enabled, get_autocast_cpu_dtype, get_autocast_gpu_dtype (each warns, as torch,
naming its replacement) and is_autocast_cache_enabled; they read amp's autocast state."""

import warnings

from .amp import autocast_mode as _autocast

__all__ = ["is_autocast_cpu_enabled", "get_autocast_cpu_dtype", "get_autocast_gpu_dtype", "is_autocast_cache_enabled"]


def _deprecated(old, new):
    warnings.warn(f"torch.{old}() is deprecated. Please use torch.{new} instead.", DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled():
    """Whether CPU autocast is on (deprecated: is_autocast_enabled('cpu'))."""
    _deprecated("is_autocast_cpu_enabled", "is_autocast_enabled('cpu')")
    return _autocast.is_autocast_enabled("cpu")


def get_autocast_cpu_dtype():
    """CPU autocast's lower-precision dtype (deprecated: get_autocast_dtype('cpu'))."""
    _deprecated("get_autocast_cpu_dtype", "get_autocast_dtype('cpu')")
    return _autocast.get_autocast_dtype("cpu")


def get_autocast_gpu_dtype():
    """CUDA autocast's lower-precision dtype (deprecated: get_autocast_dtype('cuda'))."""
    _deprecated("get_autocast_gpu_dtype", "get_autocast_dtype('cuda')")
    return _autocast.get_autocast_dtype("cuda")


def is_autocast_cache_enabled():
    """Whether autocast caches the lower-precision casts of parameters within a region."""
    return _autocast.current_state()[1]
