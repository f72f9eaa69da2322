"""torch's deprecated per-device autocast spellings: the queries torch still has at top level
(is_autocast_cpu_enabled, get_autocast_cpu_dtype, get_autocast_gpu_dtype, each warning as torch
and naming its replacement, and is_autocast_cache_enabled), which read amp's autocast state; and
torch.cpu.amp / torch.cuda.amp's autocast and GradScaler (``device_amp``): subclasses of amp's
with the device fixed, warning FutureWarning as torch's."""

import warnings

from . import _dtype
from .amp import autocast_mode as _autocast
from .amp import grad_scaler as _grad_scaler

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


def device_amp(device_type):
    """torch.<device_type>.amp's names: autocast and GradScaler classes, and on CUDA the
    custom_fwd / custom_bwd decorators."""
    default_dtype = _dtype.float16 if device_type == "cuda" else _dtype.bfloat16
    spelled = f"torch.{device_type}.amp"

    def deprecated(name, replacement):
        warnings.warn(f"`{spelled}.{name}(args...)` is deprecated. Please use `torch.amp.{replacement}` instead.",
                      FutureWarning, stacklevel=3)

    class autocast(_autocast.autocast):
        """amp.autocast on this device (deprecated: torch.amp.autocast(device_type, ...))."""

        def __init__(self, enabled=True, dtype=default_dtype, cache_enabled=True):
            deprecated("autocast", f"autocast('{device_type}', args...)")
            super().__init__(device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)

    class GradScaler(_grad_scaler.GradScaler):
        """amp.GradScaler on this device (deprecated: torch.amp.GradScaler(device_type, ...))."""

        def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
                     enabled=True):
            deprecated("GradScaler", f"GradScaler('{device_type}', args...)")
            super().__init__(device_type, init_scale, growth_factor, backoff_factor, growth_interval, enabled)

    for cls in (autocast, GradScaler):
        cls.__module__, cls.__qualname__ = f"retrograd.{device_type}.amp", cls.__name__
    names = {"autocast": autocast, "GradScaler": GradScaler}
    if device_type == "cuda":
        def custom_fwd(fwd=None, *, cast_inputs=None):
            """amp.custom_fwd(device_type='cuda') (deprecated: torch.amp.custom_fwd)."""
            deprecated("custom_fwd", "custom_fwd(args..., device_type='cuda')")
            return _autocast.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)

        def custom_bwd(bwd):
            """amp.custom_bwd(device_type='cuda') (deprecated: torch.amp.custom_bwd)."""
            deprecated("custom_bwd", "custom_bwd(args..., device_type='cuda')")
            return _autocast.custom_bwd(bwd, device_type="cuda")

        names.update(custom_fwd=custom_fwd, custom_bwd=custom_bwd)
    return names
