"""Samplers: the order in which a DataLoader visits a map-style dataset's indices."""

import numpy as np

from ...tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler"]


# draws with replacement are made this many at a time, as torch's RandomSampler does, so that
# num_samples=10**10 costs no memory up front (the stream is the same as one large draw)
_CHUNK = 32


def _draw_seed(generator=None):
    """One int64 seed in [0, 2**63) from ``generator``, or from the global generator."""
    from ...random import _rng

    return int(_rng(generator).integers(0, 2**63))


def _seeded_rng(generator):
    """The NumPy generator to draw from: ``generator``'s, or a fresh one seeded from the global
    generator (so ``manual_seed`` makes shuffling reproducible, as in torch)."""
    if generator is not None:
        return generator._rng
    return np.random.Generator(np.random.PCG64(_draw_seed()))


def _chunks(total, draw):
    """``total`` values, ``draw(k)`` producing the next ``k`` of them, ``_CHUNK`` at a time."""
    for _ in range(total // _CHUNK):
        yield from draw(_CHUNK).tolist()
    yield from draw(total % _CHUNK).tolist()


class Sampler:
    """Base class: iterating yields dataset indices."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__ (Sampler is abstract)")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation (each epoch), or ``num_samples`` draws with replacement, drawn
    lazily 32 at a time as torch's (``num_samples=10**10`` allocates nothing up front).

    Without ``generator``, each epoch draws one seed from the global generator for a private
    stream (as torch); with one, it draws from ``generator`` itself, whose state carries on.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        rng = _seeded_rng(self.generator)
        if self.replacement:
            if n == 0:
                raise RuntimeError("random_ expects 'from' to be less than 'to', but got from=0 >= to=0")
            yield from _chunks(self.num_samples, lambda k: rng.integers(0, n, size=k))
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[: self.num_samples % n].tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order: a permutation drawn from ``generator``, or from the
    global generator itself when there is none (torch's ``randperm(generator=None)``)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        from ...random import _rng

        for i in _rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    Without replacement, all are drawn at the first ``next()`` by ``multinomial`` from
    ``generator`` (the global generator if None), as torch's; invalid weights raise there too. With replacement they are drawn lazily, 32 at
    a time (``num_samples=10**10`` allocates nothing up front; torch's would allocate 80 GB), from
    a private stream seeded by one draw from ``generator`` at the first ``next()``, so the indices
    do not depend on other random draws made while iterating.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights._host_array() if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        from ...creation import tensor

        self.weights = tensor(w)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        from ...sampling import multinomial

        w = self.weights._data
        if not self.replacement:  # (multinomial's checks; zero weights come last, as torch's)
            yield from multinomial(self.weights, self.num_samples, False, generator=self.generator).tolist()
            return
        if (w < 0).any():  # the weights are checked when drawn, as torch's multinomial does
            raise RuntimeError("invalid multinomial distribution (encountering probability entry < 0)")
        if not np.isfinite(w).all():
            raise RuntimeError("invalid multinomial distribution (encountering probability entry = infinity or NaN)")
        if w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        rng = np.random.Generator(np.random.PCG64(_draw_seed(self.generator)))
        cdf = np.cumsum(w)
        cdf /= cdf[-1]
        yield from _chunks(self.num_samples, lambda k: cdf.searchsorted(rng.random(k), side="right"))

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size
