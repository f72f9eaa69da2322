"""vmap: a function of one sample turned into a function of a batch, by batching each op."""

import functools

from ..tensor import Tensor
from . import _batched, _pytree, _randomness

_RANDOMNESS = ("error", "different", "same")


def _name(func):
    return getattr(func, "__name__", repr(func))


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``func`` mapped over a dim of its inputs: each op runs once on the whole batch through
    its batching rule (torch.func.vmap). ``in_dims``/``out_dims``: the mapped dim of each input
    and output (an int, None, or a pytree matching the inputs/outputs); ``randomness``: 'error',
    'same' (one draw shared by the samples) or 'different' (a draw per sample, all in one call:
    func/_randomness.py); ``chunk_size``: samples per call of ``func``."""
    if randomness not in _RANDOMNESS:
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        return _vmap_call(func, in_dims, out_dims, randomness, chunk_size, args, kwargs)

    return wrapped


def _vmap_call(func, in_dims, out_dims, randomness, chunk_size, args, kwargs):
    name = _name(func)
    head = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)):
        raise ValueError(f"{head}: expected `in_dims` to be int or a (potentially nested) tuple matching "
                         f"the structure of inputs, got: {type(in_dims)}.")
    if not args:
        raise ValueError(f"{head}: got no inputs. Maybe you forgot to add inputs, or you are trying to "
                         "vmap over a function with no inputs. The latter is unsupported.")
    leaves, spec = _pytree.flatten(args)
    dims = _pytree.broadcast_prefix(
        in_dims if isinstance(in_dims, tuple) else in_dims, args,
        f"{head}: in_dims is not compatible with the structure of `inputs`. in_dims has structure "
        f"{_pytree.describe(in_dims)} but inputs has structure {_pytree.describe(args)}.")
    sizes = []
    for x, d in zip(leaves, dims):
        if d is None:
            continue
        if not isinstance(d, int):
            raise ValueError(f"{head}: in_dims must be int or None, got {type(d)}")
        if not isinstance(x, Tensor):
            raise ValueError(f"{head}: Got in_dim={d} for an input but the input is of type {type(x)}. We "
                             "cannot vmap over non-Tensor arguments, please use None as the respective in_dim")
        if not -x.ndim <= d < x.ndim:
            raise ValueError(f"{head}: Got in_dim={d} for some input, but that input is a Tensor of "
                             f"dimensionality {x.ndim} so expected in_dim to satisfy -{x.ndim} <= in_dim < {x.ndim}.")
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError(f"{head}: at least one input must be batched (in_dims all None)")
    if any(s != sizes[0] for s in sizes):
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, "
                         f"got sizes {sizes} for the mapped dimension")
    size = sizes[0]
    if chunk_size is None or chunk_size >= size:
        return _run(func, name, leaves, dims, spec, kwargs, size, out_dims, randomness)
    from ..ops.join import cat

    chunks = []
    for start in range(0, size, chunk_size):
        n = min(chunk_size, size - start)
        part = [x if d is None else x.narrow(d, start, n) for x, d in zip(leaves, dims)]
        chunks.append(_run(func, name, part, dims, spec, kwargs, n, out_dims, randomness))
    flat = [_pytree.flatten(c)[0] for c in chunks]
    out_spec = _pytree.flatten(chunks[0])[1]
    odims = _out_dims(out_dims, chunks[0], name)
    joined = [flat[0][i] if d is None else cat([f[i] for f in flat], d) for i, d in enumerate(odims)]
    return _pytree.unflatten(joined, out_spec)


def _out_dims(out_dims, out, name):
    return _pytree.broadcast_prefix(
        out_dims, out,
        f"vmap({name}, ...): out_dims is not compatible with the structure of `outputs`. out_dims has "
        f"structure {_pytree.describe(out_dims)} but outputs has structure {_pytree.describe(out)}.")


def _run(func, name, leaves, dims, spec, kwargs, size, out_dims, randomness):
    frame = _batched.push(size, randomness)
    try:
        wrapped = [x if d is None else _batched.wrap(x if d in (0, -x.ndim) else x.movedim(d, 0), frame.level)
                   for x, d in zip(leaves, dims)]
        out = func(*_pytree.unflatten(wrapped, spec), **kwargs)
    except _batched.ReadsValues as e:
        if e.level != frame.level:
            raise
        reader = _reader(e)
    else:
        reader = None
    finally:
        _batched.pop()
    if reader is not None:  # a function read values outside an op: the whole func once per sample
        _batched.count_fallback(f"{reader} (reads values)")
        with _randomness.looping(randomness):  # a random op's draws: one sample's each
            return _per_sample(func, name, leaves, dims, spec, kwargs, size, out_dims)
    out_leaves, out_spec = _pytree.flatten(out)
    odims = _out_dims(out_dims, out, name)
    result = []
    for o, d in zip(out_leaves, odims):
        batched = type(o) is _batched.BatchedTensor and o._level == frame.level
        if d is None:
            if batched:
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when out_dim is None")
            result.append(o)
            continue
        if not isinstance(o, Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(o)}. "
                             "Did you mean to set out_dims= to None for output?")
        value = o._value if batched else o.unsqueeze(0).expand((size,) + tuple(o.shape))
        result.append(value if d in (0, -value.ndim) else value.movedim(0, d))
    return _pytree.unflatten(result, out_spec)


def _reader(error):
    """The name of the retrograd function that read a batched tensor's values."""
    tb, name = error.__traceback__, "?"
    while tb is not None:
        code = tb.tb_frame.f_code
        if "retrograd" in code.co_filename and "/func/" not in code.co_filename:
            name = code.co_name
        tb = tb.tb_next
    return name


def _per_sample(func, name, leaves, dims, spec, kwargs, size, out_dims):
    from ..ops.join import stack

    outs = []
    for i in range(size):
        _randomness.next_sample()
        sample = [x if d is None else x.select(d, i) for x, d in zip(leaves, dims)]
        outs.append(func(*_pytree.unflatten(sample, spec), **kwargs))
    flat = [_pytree.flatten(o)[0] for o in outs]
    out_spec = _pytree.flatten(outs[0])[1]
    odims = _out_dims(out_dims, outs[0], name)
    result = []
    for j, d in enumerate(odims):
        if d is None:
            result.append(flat[0][j])
            continue
        if not isinstance(flat[0][j], Tensor):
            raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type {type(flat[0][j])}. "
                             "Did you mean to set out_dims= to None for output?")
        result.append(stack([f[j] for f in flat], d))
    return _pytree.unflatten(result, out_spec)
