"""Queries of what a tensor is: torch.get_device / Tensor.get_device (the CUDA device index, -1
on the CPU), and torch's kind flags that programs test before they branch (``if
grad.is_sparse: ...``, ``if p.is_meta: ...``): a retrograd tensor is dense (strided), on the CPU or
CUDA, so is_sparse, is_meta, is_nested, ... are all False, and to_dense returns the tensor."""

from .tensor import Tensor

__all__ = ["get_device"]


def get_device(input):
    """The index of the CUDA device input is on, or -1 for a CPU tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"get_device(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    device = input.device
    return -1 if device.type == "cpu" else (device.index or 0)


Tensor.get_device = get_device

# torch's flags of the layouts, kinds and devices retrograd has none of
_NEVER = {
    "is_sparse": "a sparse COO tensor", "is_sparse_csr": "a sparse CSR tensor",
    "is_quantized": "a quantized tensor", "is_nested": "a nested tensor", "is_mkldnn": "an MKL-DNN tensor",
    "is_meta": "on the meta device", "is_xpu": "on an XPU", "is_mps": "on an MPS device",
    "is_ipu": "on an IPU", "is_vulkan": "on a Vulkan device", "is_mtia": "on an MTIA device",
    "is_maia": "on a MAIA device",
}
for _name, _what in _NEVER.items():
    setattr(Tensor, _name, property(lambda self: False,
                                    doc=f"False: a retrograd tensor is never {_what} (dense, on the CPU or CUDA)."))


def to_dense(self, dtype=None, *, masked_grad=True):
    """The tensor itself, as torch's to_dense of a strided tensor (converted when ``dtype`` is given);
    masked_grad concerns sparse inputs only, which retrograd does not have."""
    if not isinstance(masked_grad, bool):
        raise TypeError(f"to_dense(): argument 'masked_grad' must be bool, not {type(masked_grad).__name__}")
    return self if dtype is None else self.to(dtype)


Tensor.to_dense = to_dense
