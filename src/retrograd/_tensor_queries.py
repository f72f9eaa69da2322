"""torch.get_device / Tensor.get_device: the CUDA device index of a tensor, -1 on the CPU."""

from .tensor import Tensor

__all__ = ["get_device"]


def get_device(input):
    """The index of the CUDA device input is on, or -1 for a CPU tensor."""
    if not isinstance(input, Tensor):
        raise TypeError(f"get_device(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    device = input.device
    return -1 if device.type == "cpu" else (device.index or 0)


Tensor.get_device = get_device
