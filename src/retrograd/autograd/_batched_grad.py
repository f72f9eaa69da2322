"""``autograd.grad(..., is_grads_batched=True)``: the first dimension of each grad_output is a
batch; the gradients are computed once per batch entry and stacked (torch vectorises the same
computation with vmap; the values are the same)."""


def _batch_size(outputs, grad_outputs):
    """The common leading size of the grad_outputs, each checked against its output (torch's errors)."""
    sizes = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if g is None:
            continue
        if g.dim() == 0 or tuple(g.shape[1:]) != tuple(out.shape):
            raise RuntimeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each grad_output as the batch "
                "dimension. The sizes of the remaining dimensions are expected to match the shape of "
                f"corresponding output, but a mismatch was detected: grad_output[{i}] has a shape of {g.shape} "
                f"and output[{i}] has a shape of {out.shape}. If you only want some tensors in `grad_output` to "
                "be considered batched, consider using vmap.")
        sizes.append(g.shape[0])
    if len(set(sizes)) > 1:
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got sizes "
                         f"{sizes} for the mapped dimension")
    return sizes[0] if sizes else None


def batched_grad(grad, outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads):
    """``grad`` (engine.grad) run once per batch entry of the grad_outputs, the results stacked;
    an unused input's gradient is None, or its zeros (not batched, as torch's) if materialize_grads."""
    from .. import stack, zeros_like

    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(outputs)} tensors and {len(grad_outputs)} gradients: pass one gradient "
                           "(or None) per output")
    n = _batch_size(outputs, grad_outputs)
    if n is None:  # no batched grad_output: torch's error for an implicit gradient
        return grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused=allow_unused,
                    materialize_grads=materialize_grads)
    if retain_graph is None:
        retain_graph = create_graph
    per_entry = []
    for b in range(n):
        entry = [None if g is None else g[b] for g in grad_outputs]
        per_entry.append(grad(outputs, inputs, entry, retain_graph=retain_graph or b < n - 1,
                              create_graph=create_graph, allow_unused=allow_unused or materialize_grads))
    result = []
    for i, t in enumerate(inputs):
        column = [entry[i] for entry in per_entry]
        if column[0] is None:
            result.append(zeros_like(t).detach() if materialize_grads else None)
        else:
            result.append(stack(column))
    return tuple(result)
