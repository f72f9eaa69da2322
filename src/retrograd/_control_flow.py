"""torch.cond and torch.while_loop, eagerly: retrograd runs Python, so the branch taken and each
iteration are Python's (what torch computes in eager mode; gradients flow through the ops the
chosen branch or the iterations ran)."""

from .tensor import Tensor

__all__ = ["cond", "while_loop"]


def _truth(pred, what):
    if isinstance(pred, Tensor):
        if pred.numel() != 1:
            raise RuntimeError(f"Expected {what} to be bool or single-element tensor, but got a tensor of shape "
                               f"{list(pred.shape)}.")
        return bool(pred.item())
    if not isinstance(pred, (bool, int, float)):
        raise RuntimeError(f"Expected {what} to be bool or single-element tensor, but got {type(pred).__name__}.")
    return bool(pred)


def cond(pred, true_fn, false_fn, operands=()):
    """true_fn(*operands) if pred (a bool, number or one-element tensor) is true, else false_fn(*operands)."""
    if not callable(true_fn) or not callable(false_fn):
        raise RuntimeError("Expect both branches to be callable.")
    if not isinstance(operands, (tuple, list)):
        raise RuntimeError(f"Expect operands to be a tuple or list of tensors, got {type(operands).__name__}.")
    return (true_fn if _truth(pred, "pred") else false_fn)(*operands)


def while_loop(cond_fn, body_fn, carried_inputs):
    """carried = body_fn(*carried) while cond_fn(*carried) holds; the final carried values, a tuple."""
    if not callable(cond_fn) or not callable(body_fn):
        raise RuntimeError("Expect cond_fn and body_fn to be callable.")
    if not isinstance(carried_inputs, (tuple, list)):
        raise RuntimeError(f"Expect carried_inputs to be a tuple or a list, got {type(carried_inputs).__name__}.")
    carried = tuple(carried_inputs)
    while _truth(cond_fn(*carried), "cond_fn's output"):
        out = body_fn(*carried)
        out = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        if len(out) != len(carried):
            raise RuntimeError(f"body_fn must return as many values as carried_inputs ({len(carried)}), "
                               f"got {len(out)}.")
        carried = out
    return carried
