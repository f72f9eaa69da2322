"""vmap's randomness modes (torch.func.vmap's ``randomness=``): what a random draw does while a
vmap runs. retrograd.random._rng hands every stream it returns to ``view_of`` then.

- 'error' (the default): torch's error.
- 'same': the ordinary stream; one draw, shared by the samples (its tensor is unbatched).
- 'different': one draw for the whole batch: the sizes of the 'different' vmaps are prepended
  to the draw's size (parameters broadcast against it as against the sample's size), and the
  array is marked (PerSampleDraw) so that the tensor made of it (Tensor._make) is batched at
  those vmaps, a different sample for each.

Where vmap runs an op, or the whole function, once per sample (its fallbacks), a draw is one
sample's: 'different' draws afresh for each sample, 'same' replays the first sample's numbers
for every other one, and 'error' raises as it would batched.
"""

import numpy as np

_ERROR = ("vmap: called random operation while in randomness error mode. Please either use the "
          "'same' or 'different' randomness flags on vmap or perform the randomness operation out of vmap")

# where each NumPy Generator method takes its ``size`` (position), for the methods the ops use
_SIZE_AT = {
    "random": 0, "standard_normal": 0, "standard_exponential": 0, "standard_cauchy": 0,
    "standard_gamma": 1, "poisson": 1, "exponential": 1, "geometric": 1, "chisquare": 1,
    "normal": 2, "uniform": 2, "integers": 2, "binomial": 2, "gamma": 2, "beta": 2,
    "lognormal": 2, "laplace": 2, "gumbel": 2, "vonmises": 2, "logistic": 2,
}
_NOT_PARAMS = ("dtype", "endpoint", "method")

_loops = []  # the per-sample loops of vmap's fallbacks running now (innermost last)


class PerSampleDraw(np.ndarray):
    """A draw of randomness='different': the leading dims are the vmapped dims of ``_vmap_levels``
    (ascending); arrays computed from it keep the mark, and a tensor made of it is batched."""

    _vmap_levels = ()

    def __array_finalize__(self, obj):
        self._vmap_levels = getattr(obj, "_vmap_levels", ())

    def batched(self):
        from ..tensor import Tensor
        from ._batched import wrap

        t = Tensor._make(self.view(np.ndarray))
        for level in self._vmap_levels:
            t = wrap(t, level)
        return t


class PerSampleStream:
    """A NumPy Generator whose draws are one per sample of the 'different' vmaps, in one call."""

    def __init__(self, rng, sizes, levels):
        self._rng, self._sizes, self._levels = rng, sizes, levels

    def __getattr__(self, name):
        if name == "permutation":  # torch's randperm under randomness='different': one, shared
            return self._rng.permutation
        if name.startswith("_") or name == "host":  # (a CUDA stream's; asked with getattr(..., None))
            raise AttributeError(name)
        at = _SIZE_AT.get(name)
        if at is None:
            raise NotImplementedError(
                f"vmap(randomness='different'): this random operation draws with {name!r}, which retrograd "
                "does not batch over the samples; use randomness='same', or draw outside vmap and pass the "
                "numbers in with in_dims")
        method = getattr(self._rng, name)

        def draw(*args, **kwargs):
            if "out" in kwargs:
                raise NotImplementedError(f"vmap(randomness='different'): {name}(out=...) is not batched")
            args = list(args)
            size = args.pop(at) if len(args) > at else kwargs.pop("size", None)
            if size is None:
                params = args[:at] + [v for k, v in kwargs.items() if k not in _NOT_PARAMS]
                shape = np.broadcast_shapes(*[np.shape(p) for p in params]) if params else ()
            else:
                shape = (int(size),) if np.ndim(size) == 0 else tuple(int(s) for s in size)
            out = method(*args[:at], self._sizes + shape, *args[at:], **kwargs)
            marked = np.asarray(out).view(PerSampleDraw)
            marked._vmap_levels = self._levels
            return marked

        return draw


def in_place_draw(target, values):
    """The tensor an in-place random op (normal_, uniform_, ...) writes into ``target`` for a
    draw of randomness='different': batched, or torch's error for an unbatched target."""
    from ..ops._batching import batched

    if not batched(target):
        raise RuntimeError(
            "vmap: Cannot ask for different inplace randomness on an unbatched tensor. This will appear like "
            "same randomness. If this is necessary for your usage, please file an issue with functorch.")
    return values.batched().to(target.dtype)


class _Loop:
    def __init__(self, randomness):
        self.randomness, self.sample, self.first, self.replayed = randomness, -1, {}, set()

    def stream(self, rng):
        if self.randomness == "error":
            raise RuntimeError(_ERROR)
        if self.randomness == "same":
            state = getattr(rng, "bit_generator", None)
            if state is None:
                raise NotImplementedError(
                    "vmap(randomness='same'): an op run once per sample draws from a CUDA stream, which "
                    "retrograd cannot replay for every sample; draw outside vmap and pass the numbers in")
            key = id(rng)
            if key in self.first and key not in self.replayed:  # this sample's first draw: the first sample's numbers
                state.state = self.first[key]
            self.first.setdefault(key, state.state)
            self.replayed.add(key)
        return rng


class looping:
    """The context of a per-sample loop of vmap's fallbacks (``next_sample()`` before each sample)."""

    def __init__(self, randomness):
        self.loop = _Loop(randomness)

    def __enter__(self):
        from .. import random

        _loops.append(self.loop)
        self.hook, random.vmap_hook = random.vmap_hook, view_of  # (a whole function's loop runs outside its vmap)
        return self.loop

    def __exit__(self, *exc):
        from .. import random

        _loops.remove(self.loop)
        random.vmap_hook = self.hook


class _WholeBatch:
    def stream(self, rng):
        return rng


class whole_batch:
    """The context of a batching rule that draws for the whole batch itself (its op's size holds
    the batch dim already): the ordinary stream, a different value for each sample."""

    def __enter__(self):
        self.mark = _WholeBatch()
        _loops.append(self.mark)

    def __exit__(self, *exc):
        _loops.remove(self.mark)


def next_sample():
    loop = _loops[-1]
    loop.sample += 1
    loop.replayed = set()


def view_of(rng):
    """retrograd.random._rng's hook while a vmap runs: the stream as the randomness modes see it."""
    if _loops:
        return _loops[-1].stream(rng)
    from ._batched import active_levels

    frames = active_levels()
    if any(f.randomness == "error" for f in frames):
        raise RuntimeError(_ERROR)
    different = [f for f in frames if f.randomness == "different"]
    if not different:
        return rng
    return PerSampleStream(rng, tuple(f.batch_size for f in different), tuple(f.level for f in different))
