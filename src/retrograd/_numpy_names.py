"""NumPy's keyword names where torch takes them: ``x.sum(axis=1, keepdims=True)``,
``torch.cat(tensors, axis=1)``, ``x.softmax(axis=-1)``.

torch's argument parser lets every native function and Tensor method (those written in C++)
take ``axis`` for ``dim`` and ``keepdims`` for ``keepdim``. The functions torch writes in
Python (``F.softmax``, ``torch.norm``, ``Tensor.split``, ``Tensor.unflatten``, ...) do not:
they raise TypeError, and so do retrograd's. ``NATIVE`` lists, per namespace, the names of
torch 2.13's native callables that have ``dim`` or ``keepdim`` (tests/test_numpy_names.py
derives the list from torch and compares). ``install`` wraps them: a call that gives an
alias gets it renamed; any other call goes straight through.

torch's parser also takes ``x``, ``a`` and ``x1`` for ``input`` and ``x2`` for ``other``;
those names are not accepted here (docs/differences.md).
"""

import functools

ALIASES = {"axis": "dim", "keepdims": "keepdim"}

_REDUCE = ("all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "argsort", "count_nonzero",
           "cross", "cummax", "cummin", "cumprod", "cumsum", "diff", "gather", "index_add",
           "index_copy", "index_fill", "index_select", "kthvalue", "log_softmax", "logcumsumexp",
           "logsumexp", "max", "mean", "median", "min", "mode", "nanmean", "nanmedian",
           "nanquantile", "nansum", "narrow", "narrow_copy", "prod", "quantile", "renorm",
           "repeat_interleave", "scatter", "scatter_add", "scatter_reduce", "select",
           "select_scatter", "slice_scatter", "softmax", "sort", "split_with_sizes", "squeeze",
           "std", "sum", "take_along_dim", "tensor_split", "topk", "unbind", "unsafe_chunk",
           "unsafe_split", "unsafe_split_with_sizes", "unsqueeze", "var", "chunk")

NATIVE = {
    "torch": _REDUCE + ("cat", "concat", "concatenate", "cosine_similarity", "cumulative_trapezoid",
                        "gradient", "pairwise_distance", "stack", "std_mean", "trapezoid", "trapz",
                        "unflatten", "var_mean", "index_reduce", "select_copy", "slice_copy", "split_copy",
                        "split_with_sizes_copy", "squeeze_copy", "unbind_copy", "unsqueeze_copy"),
    "Tensor": _REDUCE + ("size", "stride", "cumprod_", "cumsum_", "index_add_", "index_copy_",
                         "index_fill_", "renorm_", "scatter_", "scatter_add_", "scatter_reduce_", "squeeze_",
                         "unsqueeze_", "index_reduce", "index_reduce_"),
    "nn.functional": ("cosine_similarity", "pairwise_distance"),
    "linalg": ("cross", "matrix_norm", "norm", "vecdot", "vector_norm"),
    "special": ("log_softmax", "logsumexp", "softmax"),
}


def accepting_numpy_names(fn, name):
    """``fn`` taking ``axis``/``keepdims`` for ``dim``/``keepdim``."""

    @functools.wraps(fn, updated=())  # not fn's __dict__: its takes_out marks fn itself
    def accepting(*args, **kwargs):
        if kwargs and not ALIASES.keys().isdisjoint(kwargs):
            kwargs = _renamed(kwargs, name)
        return fn(*args, **kwargs)

    return accepting


def _renamed(kwargs, name):
    renamed = {}
    for key, value in kwargs.items():
        target = ALIASES.get(key, key)
        if target in renamed or (target != key and target in kwargs):
            raise TypeError(f"{name}() got both {target}= and {key}=, its NumPy name; pass one of them")
        renamed[target] = value
    return renamed


def install(retrograd):
    """Wrap the ``NATIVE`` callables of retrograd's namespaces (once, at import)."""
    from . import linalg, special
    from .nn import functional

    namespaces = {"torch": retrograd, "Tensor": retrograd.Tensor, "nn.functional": functional,
                  "linalg": linalg, "special": special}
    for label, names in NATIVE.items():
        namespace = namespaces[label]
        for name in names:
            fn = getattr(namespace, name, None)
            if fn is not None:  # (None: torch has it, retrograd not yet)
                setattr(namespace, name, accepting_numpy_names(fn, name))
