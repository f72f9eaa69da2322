"""``functional_call``: run a module with some of its parameters and buffers replaced by
given tensors (which receive the gradients), then put the originals back."""

import contextlib

from ...tensor import Tensor

__all__ = ["functional_call"]
EXPORTS = []


def _owner(module, name):
    path, _, attr = name.rpartition(".")
    return (module.get_submodule(path) if path else module), attr


@contextlib.contextmanager
def _reparametrize(module, tensors, tie_weights=False, strict=False):
    if tie_weights:
        # a replaced parameter replaces every name sharing it (before the strict check: a
        # tied name is given when one of its names is)
        by_id = {}
        for n, p in module.named_parameters(remove_duplicate=False):
            by_id.setdefault(id(p), []).append(n)
        for n, b in module.named_buffers(remove_duplicate=False):
            by_id.setdefault(id(b), []).append(n)
        extra = {}
        for names in by_id.values():
            given = [n for n in names if n in tensors]
            if len(given) > 1:
                raise ValueError(f"functional_call got multiple values for keys {given}, which are tied. "
                                 "Consider using tie_weights=False")
            for n in names:
                if given and n not in tensors:
                    extra[n] = tensors[given[0]]
        tensors = {**tensors, **extra}
    if strict:
        expected = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        expected |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing = sorted(expected - set(tensors))
        unexpected = sorted(set(tensors) - expected)
        if missing or unexpected:
            msgs = []
            if unexpected:
                msgs.append("Unexpected key(s): {}.".format(", ".join(map(repr, unexpected))))
            if missing:
                msgs.append("Missing key(s): {}.".format(", ".join(map(repr, missing))))
            raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
                type(module).__name__, "\n\t".join(msgs)))
    saved = []
    try:
        for name, value in tensors.items():
            mod, attr = _owner(module, name)
            if attr in mod._parameters:
                saved.append((mod._parameters, attr, mod._parameters[attr]))
                mod._parameters[attr] = value
            elif attr in mod._buffers:
                saved.append((mod._buffers, attr, mod._buffers[attr]))
                mod._buffers[attr] = value
            else:
                saved.append((mod.__dict__, attr, mod.__dict__.get(attr, _MISSING)))
                mod.__dict__[attr] = value
        yield
    finally:
        for store, attr, old in reversed(saved):
            if old is _MISSING:
                store.pop(attr, None)
            else:
                store[attr] = old


_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True,
                    strict=False):
    """``module(*args, **kwargs)`` with the named parameters/buffers replaced by the tensors
    of ``parameter_and_buffer_dicts`` (a dict, or a sequence of dicts merged)."""
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = dict(parameter_and_buffer_dicts)
    else:
        tensors = {}
        for d in parameter_and_buffer_dicts:
            overlap = set(tensors) & set(d)
            if overlap:
                raise ValueError(f"{sorted(overlap)} appeared in multiple dictionaries; behavior of "
                                 "functional call is ambiguous")
            tensors.update(d)
    for k, v in tensors.items():
        if not isinstance(v, Tensor):
            raise TypeError(f"functional_call: expected a tensor for {k!r}, got {type(v).__name__}")
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, tensors, tie_weights, strict):
        return module(*args, **(kwargs or {}))
