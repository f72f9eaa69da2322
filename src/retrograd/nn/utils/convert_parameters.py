"""One flat vector from many parameters, and back."""

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check_same_device(param, old_device):
    dev = param.device
    if old_device is not None and dev != old_device:
        raise TypeError(
            "Found two parameters on different devices, this is currently not supported."
        )
    return dev


def parameters_to_vector(parameters):
    """Concatenate the flattened parameters into one vector (differentiable)."""
    from ... import cat

    device = None
    vec = []
    for p in parameters:
        device = _check_same_device(p, device)
        vec.append(p.reshape(-1))
    return cat(vec)


def vector_to_parameters(vec, parameters):
    """Make each parameter's data the next slice of ``vec``, as torch: the parameters then share
    ``vec``'s memory and take its dtype (an integer ``vec`` raises for parameters that require grad)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    device = None
    pointer = 0
    with no_grad():
        for p in parameters:
            device = _check_same_device(p, device)
            n = p.numel()
            p.data = vec[pointer:pointer + n].view_as(p).data
            p._vc[0] += 1
            pointer += n
