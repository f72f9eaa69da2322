"""Keywords of torch's signatures for what retrograd does not have: dense strided tensors only
(no layout=, memory_format=, sparse gradients). They are accepted with their default values
and raise NotImplementedError naming the keyword otherwise, never silently ignored."""

WHY = {
    "layout": "retrograd tensors are all dense (torch.strided); leave layout unset",
    "memory_format": "retrograd tensors are all row-major (torch.contiguous_format); leave memory_format unset",
    "sparse": "retrograd has no sparse tensors, so no sparse gradients; pass sparse=False",
    "sparse_grad": "retrograd has no sparse tensors, so no sparse gradients; pass sparse_grad=False",
}


# torch's values that mean what retrograd does (retrograd._layouts' objects print as these)
SUPPORTED = {"layout": {"torch.strided"}, "memory_format": {"torch.contiguous_format", "torch.preserve_format"}}


def reject(where, **given):
    """Raise NotImplementedError for the first keyword given a value other than None, False or
    one of SUPPORTED's."""
    for name, value in given.items():
        if value is not None and value is not False and str(value) not in SUPPORTED.get(name, ()):
            raise NotImplementedError(f"{where}({name}={value!r}): {WHY[name]}")
