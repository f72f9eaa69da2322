"""functional_call, stack_module_state and replace_all_batch_norm_modules_: modules as functions
of their parameters."""

from ..nn.utils import stateless


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """``module(*args, **kwargs)`` with the named parameters/buffers replaced by the tensors of
    ``parameter_and_buffer_dicts``: a dict, or a list/tuple of dicts (merged; a name in two
    raises), as torch.func.functional_call (nn.utils.stateless's computes it)."""
    if not isinstance(parameter_and_buffer_dicts, (dict, list, tuple)):
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    if not isinstance(parameter_and_buffer_dicts, dict) and \
            not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
        raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
    return stateless.functional_call(module, parameter_and_buffer_dicts, args, kwargs, tie_weights=tie_weights,
                                     strict=strict)


def stack_module_state(models):
    """(params, buffers): each parameter and buffer name mapped to the models' tensors stacked
    along a new first dim, for vmap over an ensemble (torch.func.stack_module_state). The
    stacked parameters are new leaves that require grad; buffers are stacked as they are."""
    from ..ops.join import stack

    if len(models) == 0:  # (a sized sequence, as torch's: a generator raises its TypeError)
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    first = type(models[0])
    if not all(type(m) is first for m in models):
        raise RuntimeError(f"stack_module_state: Expected all models to be of the same class, got: "
                           f"{[type(m) for m in models]}")
    names = [n for n, _ in models[0].named_parameters()]
    params = {}
    for name in names:
        ps = [dict(m.named_parameters())[name] for m in models]
        if len({p.requires_grad for p in ps}) > 1:
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        params[name] = stack([p.detach() for p in ps]).requires_grad_(ps[0].requires_grad)
    buffers = {name: stack([dict(m.named_buffers())[name] for m in models])
               for name, _ in models[0].named_buffers()}
    return params, buffers


def replace_all_batch_norm_modules_(root):
    """Stop every batch norm module in ``root`` (itself included) tracking running statistics, in
    place: running_mean, running_var and num_batches_tracked become None and
    track_running_stats False, so they normalize by the batch's statistics in eval mode too (as
    vmap needs: no in-place update of a shared buffer). Returns root (torch.func's)."""
    from ..nn.modules.batchnorm import _BatchNorm

    for module in root.modules():
        if isinstance(module, _BatchNorm):
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
