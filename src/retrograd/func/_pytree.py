"""Pytrees of the function transforms: nested tuples, lists and dicts with tensors (or anything
else) at the leaves, as torch.utils._pytree flattens them."""


def flatten(tree):
    """(leaves, spec): the leaves in order and what ``unflatten`` needs to rebuild ``tree``."""
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    t = type(tree)
    if t is tuple or t is list:
        return (t, [_flatten(x, leaves) for x in tree])
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # a namedtuple
        return (t, [_flatten(x, leaves) for x in tree])
    if isinstance(tree, dict):
        return (t, list(tree.keys()), [_flatten(tree[k], leaves) for k in tree])
    leaves.append(tree)
    return None


def unflatten(leaves, spec):
    it = iter(leaves)
    return _unflatten(spec, it)


def _unflatten(spec, it):
    if spec is None:
        return next(it)
    t = spec[0]
    if len(spec) == 3:
        return t(zip(spec[1], [_unflatten(s, it) for s in spec[2]]))
    items = [_unflatten(s, it) for s in spec[1]]
    if t is tuple or t is list:
        return t(items)
    return t(*items)


def broadcast_prefix(prefix, tree, what):
    """The leaves of ``prefix`` (a pytree whose leaves apply to whole subtrees of ``tree``,
    torch's in_dims/out_dims) repeated for each leaf of ``tree``; ValueError when the
    structures do not match."""
    out = []
    _broadcast(prefix, tree, out, what)
    return out


def _broadcast(prefix, tree, out, what):
    if prefix is None or isinstance(prefix, int):
        n = len(flatten(tree)[0])
        out.extend([prefix] * n)
        return
    # a tuple for a tuple, a list for a list, a namedtuple for the same namedtuple (as torch's pytrees)
    if isinstance(prefix, (tuple, list)) and type(prefix) is type(tree) and len(prefix) == len(tree):
        for p, t in zip(prefix, tree):
            _broadcast(p, t, out, what)
        return
    if isinstance(prefix, dict) and isinstance(tree, dict) and set(prefix) == set(tree):
        for k in tree:
            _broadcast(prefix[k], tree[k], out, what)
        return
    raise ValueError(what)


def describe(tree):
    """The structure of ``tree`` in words, for error messages."""
    spec = flatten(tree)[1]
    return _describe(spec)


def _describe(spec):
    if spec is None:
        return "*"
    if len(spec) == 3:
        return "{" + ", ".join(f"{k!r}: {_describe(s)}" for k, s in zip(spec[1], spec[2])) + "}"
    inner = ", ".join(_describe(s) for s in spec[1])
    return f"({inner}{',' if len(spec[1]) == 1 else ''})" if spec[0] is tuple else f"[{inner}]"
