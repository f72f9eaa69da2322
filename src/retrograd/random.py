"""Random number generators: a global one (``manual_seed``) and ``Generator`` objects.

Streams are NumPy's PCG64, so seeded results are reproducible within retrograd but do
not equal torch's numbers for the same seed.
"""

import numpy as np


class Generator:
    """A source of random numbers with its own state, like ``torch.Generator``."""

    def __init__(self, device="cpu"):
        self.device = device
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed):
        self._seed = int(seed)
        self._rng = np.random.Generator(np.random.PCG64(self._seed & (2**64 - 1)))
        return self

    def seed(self):
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from .tensor import Tensor

        state = self._rng.bit_generator.state
        encoded = np.frombuffer(repr(state).encode(), dtype=np.uint8).copy()
        return Tensor._make(encoded)

    def set_state(self, state):
        import ast

        raw = bytes(state._data.astype(np.uint8).tolist()).decode()
        self._rng.bit_generator.state = ast.literal_eval(raw)
        return self


default_generator = Generator()
default_generator.manual_seed(0)
# the stream of CUDA tensors' random numbers (drawn on the host, then copied), seeded by
# torch.manual_seed and torch.cuda.manual_seed as torch's CUDA generator is
cuda_generator = Generator(device="cuda")
cuda_generator.manual_seed(0)


def _rng(generator=None, device=None):
    """The NumPy stream to draw from: ``generator``'s, else the CUDA one for a CUDA ``device``
    (a device, its name, or a tensor on it), else the CPU one."""
    if generator is not None:
        return generator._rng
    device = getattr(device, "device", device)
    if device is not None and str(getattr(device, "type", device)).startswith("cuda"):
        return cuda_generator._rng
    return default_generator._rng


def manual_seed(seed):
    """Seed the global generators, the CPU one and the CUDA one, as torch's (returns the CPU one)."""
    cuda_generator.manual_seed(seed)
    return default_generator.manual_seed(seed)


def cuda_manual_seed(seed):
    """torch.cuda.manual_seed: seed the generator of CUDA tensors only. Without CUDA it changes
    nothing observable, as torch's (which defers it until CUDA starts, and silently ignores it
    without CUDA)."""
    cuda_generator.manual_seed(seed)


def seed():
    """Seed the global generator from fresh OS entropy; returns the new seed."""
    return default_generator.seed()


def initial_seed():
    """The seed the global generator was last seeded with."""
    return default_generator.initial_seed()


def get_rng_state():
    """The global generator's state, as a uint8 tensor (for set_rng_state; not torch's byte layout)."""
    return default_generator.get_state()


def set_rng_state(state):
    """Restore the global generator's state from a tensor returned by get_rng_state."""
    default_generator.set_state(state)


class fork_rng:
    """Restore the global generators' states on exit (used by checkpoint's recompute): the CPU
    one, and the CUDA one unless ``devices`` is an empty list (torch: the CUDA devices to fork)."""

    def __init__(self, devices=None, enabled=True, device_type="cuda"):
        if device_type != "cuda":
            raise NotImplementedError(f"fork_rng(device_type={device_type!r}): retrograd's only accelerator is "
                                      "'cuda'")
        self.enabled = enabled
        self.generators = [default_generator] + ([cuda_generator] if devices is None or len(devices) else [])

    def __enter__(self):
        if self.enabled:
            self._states = [g._rng.bit_generator.state for g in self.generators]

    def __exit__(self, *exc):
        if self.enabled:
            for g, state in zip(self.generators, self._states):
                g._rng.bit_generator.state = state
        return False


# ---------------------------------------------------------------- in-place random fills


def _fill_random(self, values, name):
    """Write ``values`` into ``self`` as an in-place op (version bump; leaf check; a
    non-leaf's gradient through the old values becomes zero, as after copy_)."""
    from .tensor import Tensor

    self.copy_(Tensor._make(np.asarray(values).astype(self._data.dtype, copy=False)))
    return self


def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    """Fill with samples of U(from, to)."""
    return _fill_random(self, _rng(generator, self).uniform(from_, to, size=self._data.shape), "uniform_")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with samples of N(mean, std^2)."""
    return _fill_random(self, _rng(generator, self).normal(mean, std, size=self._data.shape), "normal_")


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 1 with probability p, else 0."""
    prob = p._data if hasattr(p, "_data") else p
    return _fill_random(self, _rng(generator, self).random(self._data.shape) < prob, "bernoulli_")


def random_(self, from_=0, to=None, *, generator=None):
    """Fill with integers uniform in [from, to) (``random_(to)`` is [0, to))."""
    if to is None:
        from_, to = 0, from_
    return _fill_random(self, _rng(generator, self).integers(from_, to, size=self._data.shape), "random_")


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with samples of Exp(lambd)."""
    return _fill_random(self, _rng(generator, self).exponential(1.0 / lambd, size=self._data.shape),
                        "exponential_")


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with samples of exp(N(mean, std^2))."""
    return _fill_random(self, _rng(generator, self).lognormal(mean, std, size=self._data.shape),
                        "log_normal_")


def _register_tensor_methods():
    from .tensor import Tensor

    for fn in (uniform_, normal_, bernoulli_, random_, exponential_, log_normal_):
        if not hasattr(Tensor, fn.__name__):
            setattr(Tensor, fn.__name__, fn)
