"""``torch.backends.cuda``: switches of CUDA kernels.

``matmul.allow_tf32`` permits float32 products on CUDA to use TF32 (it is the same setting as
``set_float32_matmul_precision``: True <-> not 'highest'); ``allow_fp16_reduced_precision_reduction``
and ``allow_bf16_reduced_precision_reduction`` permit half-precision partial sums. retrograd's
products (NumPy, or CuPy on CUDA) use float32 accumulation whatever these say, which each
setting permits; torch on the CPU ignores them too. The values are kept and returned as torch's.

The ``*_sdp`` switches choose the kernels of ``scaled_dot_product_attention`` (see ``_sdp.py``):
on the CPU they decide which inputs it runs, as torch's do.
"""

import contextlib
import warnings

from .. import _backend, _flags
from . import _sdp
from ._sdp import SDPBackend  # noqa: F401  (torch.backends.cuda.SDPBackend)


def is_built():
    """Whether retrograd can use CUDA at all: CuPy is installed."""
    return _backend.cupy is not None


class _Matmul:
    """``torch.backends.cuda.matmul``: its switches; setting another name is AttributeError."""

    _reduced = {"allow_fp16_reduced_precision_reduction": True, "allow_bf16_reduced_precision_reduction": True}

    @property
    def allow_tf32(self):
        return _flags.get_float32_matmul_precision() != "highest"

    @allow_tf32.setter
    def allow_tf32(self, value):
        if not isinstance(value, bool):
            raise RuntimeError(f"set_allow_tf32_cublas expects a bool, but got {type(value).__name__}")
        _flags.set_float32_matmul_precision("high" if value else "highest")

    def __getattr__(self, name):
        if name in _Matmul._reduced:
            return _Matmul._reduced[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name == "allow_tf32":
            object.__setattr__(self, name, value)
        elif name in _Matmul._reduced:
            if not isinstance(value, bool):
                raise RuntimeError(f"set_{name} expects a bool, but got {type(value).__name__}")
            _Matmul._reduced[name] = value
        else:
            raise AttributeError(f"Unknown attribute {name}")


matmul = _Matmul()


# ---------------------------------------------------------------- scaled_dot_product_attention's kernels
# (the switches of torch.nn.attention.sdpa_kernel; on the CPU they decide which inputs run, see _sdp.py)

def _sdp_switch(backend, name):
    def enable(enabled):
        _sdp.set_enabled(backend, enabled, f"enable_{name}_sdp")

    def is_enabled():
        return backend in _sdp.enabled

    enable.__name__, is_enabled.__name__ = f"enable_{name}_sdp", f"{name}_sdp_enabled"
    enable.__qualname__, is_enabled.__qualname__ = enable.__name__, is_enabled.__name__
    enable.__doc__ = f"Let scaled_dot_product_attention use the {backend.name} backend (a bool), or not."
    is_enabled.__doc__ = f"Whether scaled_dot_product_attention may use the {backend.name} backend."
    return enable, is_enabled


enable_flash_sdp, flash_sdp_enabled = _sdp_switch(SDPBackend.FLASH_ATTENTION, "flash")
enable_mem_efficient_sdp, mem_efficient_sdp_enabled = _sdp_switch(SDPBackend.EFFICIENT_ATTENTION, "mem_efficient")
enable_math_sdp, math_sdp_enabled = _sdp_switch(SDPBackend.MATH, "math")
enable_cudnn_sdp, cudnn_sdp_enabled = _sdp_switch(SDPBackend.CUDNN_ATTENTION, "cudnn")


def allow_fp16_bf16_reduction_math_sdp(enabled):
    """Permit the math kernel to reduce float16/bfloat16 attention in that precision. False (the
    default), as torch's: it computes in float32 and rounds the output once; True: each product
    and the softmax round to the half type (the products still accumulate in float32)."""
    if not isinstance(enabled, bool):
        raise RuntimeError(f"allow_fp16_bf16_reduction_math_sdp expects a bool, but got {type(enabled).__name__}")
    _sdp.fp16_bf16_reduction_math[0] = enabled


def fp16_bf16_reduction_math_sdp_allowed():
    """Whether allow_fp16_bf16_reduction_math_sdp(True) was called (False by default)."""
    return _sdp.fp16_bf16_reduction_math[0]


def is_flash_attention_available():
    """Whether torch's fused flash-attention CUDA kernel is there: never in retrograd."""
    return False


def is_ck_sdpa_available():
    """Whether AMD's Composable Kernel attention is there: never in retrograd."""
    return False


@contextlib.contextmanager
def sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True, enable_cudnn=True):
    """Deprecated (FutureWarning) form of torch.nn.attention.sdpa_kernel: enables exactly the
    backends given True (OVERRIDEABLE off) within the block."""
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will be "
                  "removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with "
                  "updated signature.", FutureWarning, stacklevel=3)
    from ..nn.attention import sdpa_kernel

    wanted = [(enable_flash, SDPBackend.FLASH_ATTENTION), (enable_math, SDPBackend.MATH),
              (enable_mem_efficient, SDPBackend.EFFICIENT_ATTENTION), (enable_cudnn, SDPBackend.CUDNN_ATTENTION)]
    with sdpa_kernel([backend for on, backend in wanted if on]):
        yield {}
