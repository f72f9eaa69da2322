"""Which kernels ``scaled_dot_product_attention`` may use: the switches behind
``torch.nn.attention.sdpa_kernel`` and ``torch.backends.cuda.enable_*_sdp``.

On the CPU, torch has two kernels: its flash-attention kernel, taken first when the inputs suit it,
and the math kernel, which runs any inputs; the memory-efficient, cuDNN and overrideable backends
are never available there. retrograd runs one computation for both (their results agree to
rounding), and refuses inputs as torch's CPU does when the switches leave only backends that
cannot run them. On CUDA, retrograd has only its math kernel: with MATH switched off it raises
NotImplementedError rather than stand in for torch's fused CUDA kernels."""

import enum
import os
import sys
import warnings


class SDPBackend(enum.Enum):
    """A backend of ``scaled_dot_product_attention`` (``torch.nn.attention.SDPBackend``)."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __int__(self):
        return self.value

    __index__ = __int__


SDPBackend.__module__ = "retrograd.nn.attention"  # where torch has it (torch.nn.attention.SDPBackend)

# the real backends in torch's default priority order (ERROR names none)
DEFAULT_ORDER = (SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH,
                 SDPBackend.CUDNN_ATTENTION, SDPBackend.OVERRIDEABLE)

enabled = set(DEFAULT_ORDER)
# the order in which torch tries them; its CPU dispatch tries flash and then math whatever this says
priority = list(DEFAULT_ORDER)
fp16_bf16_reduction_math = [False]  # retrograd's math kernel reduces half types in float32, which False asks


def set_enabled(backend, on, setter):
    """Switch one backend (from ``torch.backends.cuda.enable_<name>_sdp``)."""
    if not isinstance(on, bool):
        raise RuntimeError(f"{setter} expects a bool, but got {type(on).__name__}")
    (enabled.add if on else enabled.discard)(backend)


def set_state(backends, order):
    """Enable exactly ``backends``, tried in ``order`` (a sequence of all five)."""
    enabled.clear()
    enabled.update(b for b in backends if b is not SDPBackend.ERROR)
    priority[:] = order


def state():
    return set(enabled), list(priority)


_NO_KERNEL = "No available kernel.  Aborting execution."
_NO_BACKEND = ("No viable backend for scaled_dot_product_attention was found. This is likely due to turning "
               "off both the math kernel and the fused kernels.")
_HINT = (" (retrograd: torch.nn.attention.sdpa_kernel or torch.backends.cuda.enable_*_sdp left {enabled} on; "
         "add SDPBackend.MATH, which runs any inputs)")


def _sizes(t):
    return list(t.shape)


def _flash_refusal(query, key, value, attn_mask, dropout_p, enable_gqa):
    """Why torch's CPU flash kernel would not take these inputs (None: it would)."""
    q, k, v = query, key, value
    if not all(t.dtype.is_floating_point for t in (q, k, v)):
        return ("Expected query, key and value to all be of dtype: {Float, Double, BFloat16, Half}. Got Query "
                f"dtype: {q.dtype}, Key dtype: {k.dtype}, and Value dtype: {v.dtype} instead.")
    if not (q.ndim == k.ndim == v.ndim == 4):
        return ("All fused kernels requires query, key and value to be 4 dimensional, but got Query dim: "
                f"{q.ndim}, Key dim: {k.ndim}, Value dim: {v.ndim} instead.")
    if dropout_p > 0.0:
        return "Both fused kernels do not support non-zero dropout."
    if not (q.shape[0] == k.shape[0] == v.shape[0]):
        return ("For dense inputs, both fused kernels require query, key and value to have the same batch_size. "
                f"Query.sizes(): {_sizes(q)}, Key.sizes(): {_sizes(k)}, Value.sizes(): {_sizes(v)} instead. To "
                "broadcast dense inputs, try using unsqueeze and expand_to before passing them into the kernel.")
    heads_match = k.shape[1] == v.shape[1] and (q.shape[1] == k.shape[1] or
                                                (enable_gqa and q.shape[1] % k.shape[1] == 0))
    if not heads_match:
        return ("For dense input, both fused kernels require query, key and value to have the same num_heads. "
                f"Query.sizes(): {_sizes(q)}, Key sizes(): {_sizes(k)}, Value sizes(): {_sizes(v)} instead. To "
                "broadcast dense inputs, try using unsqueeze and expand_to before passing them into the kernel.")
    if not (q.shape[-1] == k.shape[-1] == v.shape[-1]):
        return ("Flash attention requires q,k,v to have the same last dimension. Got Query.size(-1): "
                f"{q.shape[-1]}, Key.size(-1): {k.shape[-1]}, Value.size(-1): {v.shape[-1]} instead.")
    strides = [t.stride(-1) for t in (q, k, v)]
    if any(s != 1 and t.shape[-1] > 1 for s, t in zip(strides, (q, k, v))):
        return ("All fused kernels require the last dimension of the input to have stride 1. Got Query.stride(-1): "
                f"{strides[0]}, Key.stride(-1): {strides[1]}, Value.stride(-1): {strides[2]}")
    if attn_mask is not None and attn_mask.requires_grad:
        return "The CPU flash kernel does not take an attn_mask that requires grad."
    return None


def _user_stacklevel():
    """The stacklevel, for a warning raised in check(), of the first frame outside retrograd."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def check(query, key, value, attn_mask, dropout_p, enable_gqa):
    """Raise torch's error when no enabled backend can run these inputs on their device."""
    if SDPBackend.MATH in enabled:
        return
    on = "[" + ", ".join(b.name for b in DEFAULT_ORDER if b in enabled) + "]"
    if query.device.type != "cpu":
        raise NotImplementedError(
            f"scaled_dot_product_attention on {query.device}: retrograd has only the math kernel there, and "
            f"sdpa_kernel / torch.backends.cuda.enable_*_sdp switched it off (enabled: {on}); torch's fused CUDA "
            "kernels are not implemented. Add SDPBackend.MATH.")
    if SDPBackend.FLASH_ATTENTION in enabled:
        reason = _flash_refusal(query, key, value, attn_mask, dropout_p, enable_gqa)
        if reason is None:
            return
        level = _user_stacklevel()
        warnings.warn("Flash attention kernel not used because: ", UserWarning, stacklevel=level)
        warnings.warn(reason, UserWarning, stacklevel=level)
        raise RuntimeError(_NO_KERNEL + _HINT.format(enabled=on))
    raise RuntimeError(_NO_BACKEND + _HINT.format(enabled=on))
