"""Random number generators: a global one (``manual_seed``) and ``Generator`` objects.

Streams are NumPy's PCG64, so seeded results are reproducible within retrograd but do
not equal torch's numbers for the same seed. As in torch, a process starts from a fresh
random seed (``initial_seed()`` tells it; ``manual_seed`` fixes it), while a new
``Generator()`` starts from torch's fixed default seed. The distributions drawn from
these streams are in ``retrograd.sampling``.
"""

import numpy as np

from . import _philox

DEFAULT_SEED = 67280421310721  # torch's seed of a new Generator (default_rng_seed_val)
_SEED_RANGE = (-2**63, 2**64 - 1)  # torch takes a signed or unsigned 64-bit seed


def _fresh_seed():
    """A non-deterministic 64-bit seed from the OS's entropy."""
    return int(np.random.SeedSequence().entropy % 2**64)


class Generator:
    """A source of random numbers with its own state, like ``torch.Generator``."""

    def __init__(self, device="cpu"):
        from ._backend import device as _device

        self.device = _device(device)
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed):
        """Seed the stream: ``seed`` is an integer in [-2**63, 2**64) (negative ones wrap to
        unsigned, as torch's); returns the generator."""
        seed = int(seed)
        if not _SEED_RANGE[0] <= seed <= _SEED_RANGE[1]:
            raise ValueError(f"Overflow when unpacking long long: a seed must lie in [-2**63, 2**64), got {seed}")
        self._seed = seed % 2**64
        if self.device.type == "cuda":  # drawn on the device (Philox, see _philox)
            self._rng = _philox.DeviceStream(self._seed)
        else:
            self._rng = np.random.Generator(np.random.PCG64(self._seed))
        return self

    def seed(self):
        """Seed from fresh OS entropy; returns the new seed."""
        return self.manual_seed(_fresh_seed())._seed

    def initial_seed(self):
        """The seed the stream was last seeded with (unsigned 64-bit)."""
        return self._seed

    def get_state(self):
        """The stream's state as a uint8 CPU tensor: for a CUDA generator torch's 16 bytes (seed,
        then offset, little-endian); for the CPU one NumPy's PCG64 state (not torch's layout)."""
        from .tensor import Tensor

        if self.device.type == "cuda":
            encoded = np.array([self._rng.seed, self._rng.offset], dtype="<u8").view(np.uint8)
            return Tensor._make(encoded.copy())
        state = self._rng.bit_generator.state
        encoded = np.frombuffer(repr(state).encode(), dtype=np.uint8).copy()
        return Tensor._make(encoded)

    def set_state(self, state):
        import ast

        raw = bytes(state._data.astype(np.uint8).tolist())
        if self.device.type == "cuda":
            if len(raw) != 16:
                raise RuntimeError(f"RNG state is wrong size: a CUDA generator's state is 16 bytes (seed, offset), "
                                   f"got {len(raw)}; pass a tensor from torch.cuda.get_rng_state()")
            self._seed, offset = (int(v) for v in np.frombuffer(raw, dtype="<u8"))
            self._rng = _philox.DeviceStream(self._seed, offset)
            return self
        self._rng.bit_generator.state = ast.literal_eval(raw.decode())
        return self


# the process's streams start from fresh random seeds, as torch's: unseeded runs differ
default_generator = Generator()
default_generator.seed()
# the stream of CUDA tensors' random numbers (drawn on the device by _philox's kernel), seeded
# by torch.manual_seed and torch.cuda.manual_seed as torch's CUDA generator is
cuda_generator = Generator(device="cuda")
cuda_generator.seed()


# retrograd.func.vmap's view of a stream while a vmap runs (torch's randomness modes: it raises,
# passes the stream on, or draws for every sample at once), else None
vmap_hook = None


def _rng(generator=None, device=None):
    """The NumPy stream to draw from: ``generator``'s, else the CUDA one for a CUDA ``device``
    (a device, its name, or a tensor on it), else the CPU one."""
    if generator is not None:
        rng = generator._rng
    else:
        device = getattr(device, "device", device)
        cuda = device is not None and str(getattr(device, "type", device)).startswith("cuda")
        rng = cuda_generator._rng if cuda else default_generator._rng
    return rng if vmap_hook is None else vmap_hook(rng)


def _host_rng(generator=None, like=None):
    """A NumPy stream for draws computed on the host next to host arrays (multinomial, Bernoulli
    with tensor probabilities, ...): _rng's for the CPU; for CUDA, NumPy's Philox keyed by the CUDA
    generator's (seed, offset), which it advances."""
    rng = _rng(generator, like)
    host = getattr(rng, "host", None)  # a DeviceStream's (also through compile's watcher)
    return rng if host is None else host()


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
    """Seed the global generators (CPU and CUDA) from fresh OS entropy, as torch.seed; returns
    the new seed."""
    new = default_generator.seed()
    cuda_generator.manual_seed(new)
    return new


def cuda_seed():
    """torch.cuda.seed / seed_all: seed the generator of CUDA tensors from fresh OS entropy."""
    cuda_generator.seed()


def initial_seed():
    """The seed the global CPU generator was last seeded with: a random one chosen when the
    process started, unless ``manual_seed`` or ``seed`` set another."""
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
