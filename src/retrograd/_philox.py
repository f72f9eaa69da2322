"""Random numbers for CUDA tensors, drawn on the device: the counter-based Philox4x32-10 generator.

A stream is two numbers, as torch's CUDA generator: a 64-bit ``seed`` (Philox's key) and an
``offset`` that every draw advances by one. Element ``i`` of a draw at offset ``o`` is the Philox
block of counter ``(i mod 2**32, i div 2**32, o mod 2**32, o div 2**32)``: four independent 32-bit
words computed from nothing but (seed, offset, i), so a CUDA kernel computes all elements at once
with no state in device memory, and ``get_state``/``set_state`` are 16 bytes (torch's layout:
seed then offset, little-endian). CuPy's own generators cannot save or restore their state, which
torch.cuda.get_rng_state/set_rng_state need; that is why the generator is written here.

The same blocks come from NumPy (``blocks(np, ...)``, the reference the tests check against
Random123's known answers) and from the CUDA kernel ``_KERNEL`` (``blocks(cupy, ...)``); the
transforms from words to floats, normals and integers are array expressions shared by both, so a
CPU machine tests everything but the kernel text, and a GPU test checks the kernel equals NumPy.

Draws that need an algorithm of their own (poisson, binomial, standard_gamma, ...) come from a
NumPy Philox stream on the host keyed by the same (seed, offset), as NumPy arrays: their callers
in sampling/distributions prepare them on the host and copy the result (one host round trip,
documented in docs/cuda.md).
"""

import numpy as np

from . import _backend

_M0, _M1 = 0xD2511F53, 0xCD9E8D57  # Philox4x32's multipliers
_W0, _W1 = 0x9E3779B9, 0xBB67AE85  # its key schedule's increments (golden ratio, sqrt(3) - 1)
_MASK32 = 0xFFFFFFFF
_ROUNDS = 10

# the CUDA kernel: one thread per element, four words out, the same rounds as _philox_numpy
_KERNEL_SOURCE = r"""
unsigned long long idx = (unsigned long long)i;
unsigned int c0 = (unsigned int)idx, c1 = (unsigned int)(idx >> 32);
unsigned int c2 = (unsigned int)offset, c3 = (unsigned int)(offset >> 32);
unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
for (int r = 0; r < 10; ++r) {
    if (r > 0) { k0 += 0x9E3779B9u; k1 += 0xBB67AE85u; }
    unsigned long long p0 = (unsigned long long)0xD2511F53u * c0;
    unsigned long long p1 = (unsigned long long)0xCD9E8D57u * c2;
    unsigned int n0 = (unsigned int)(p1 >> 32) ^ c1 ^ k0;
    unsigned int n2 = (unsigned int)(p0 >> 32) ^ c3 ^ k1;
    c1 = (unsigned int)p1; c3 = (unsigned int)p0; c0 = n0; c2 = n2;
}
out[4 * i] = c0; out[4 * i + 1] = c1; out[4 * i + 2] = c2; out[4 * i + 3] = c3;
"""
_kernels = {}  # array module -> its compiled ElementwiseKernel, made on first use


def philox4x32(counter, key):
    """The Philox4x32-10 block of ``counter`` (4 uint32 arrays) under ``key`` (2 Python ints):
    4 uint32 arrays, computed in NumPy (64-bit products split into high and low words)."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in counter)
    k0, k1 = np.uint64(key[0] & _MASK32), np.uint64(key[1] & _MASK32)
    m0, m1, mask, shift = np.uint64(_M0), np.uint64(_M1), np.uint64(_MASK32), np.uint64(32)
    for r in range(_ROUNDS):
        if r:
            k0, k1 = (k0 + np.uint64(_W0)) & mask, (k1 + np.uint64(_W1)) & mask
        p0, p1 = m0 * c0, m1 * c2  # < 2**64: no wrap
        c0, c1, c2, c3 = (p1 >> shift) ^ c1 ^ k0, p1 & mask, (p0 >> shift) ^ c3 ^ k1, p0 & mask
    return tuple(c.astype(np.uint32) for c in (c0, c1, c2, c3))


def blocks(xp, n, seed, offset):
    """The (n, 4) uint32 words of a draw of ``n`` elements at (seed, offset), on xp's device."""
    if xp is np:
        idx = np.arange(n, dtype=np.uint64)
        counter = (idx & np.uint64(_MASK32), idx >> np.uint64(32),
                   np.full(n, offset & _MASK32, np.uint64), np.full(n, offset >> 32, np.uint64))
        return np.stack(philox4x32(counter, (seed & _MASK32, seed >> 32)), axis=1)
    kernel = _kernels.get(xp)
    if kernel is None:
        kernel = _kernels[xp] = xp.ElementwiseKernel("uint64 seed, uint64 offset", "raw uint32 out",
                                                     _KERNEL_SOURCE, "retrograd_philox4x32_10")
    out = xp.empty((n, 4), dtype=xp.uint32)
    if n:
        kernel(np.uint64(seed), np.uint64(offset), out, size=n)
    return out


def _shape(size):
    if size is None:
        return ()
    return (int(size),) if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)


def _unit53(xp, hi, lo):
    """Uniform float64 in [0, 1) from two words: the top 53 of their 64 bits, times 2**-53."""
    bits = (hi.astype(xp.uint64) << xp.uint64(32)) | lo.astype(xp.uint64)
    return (bits >> xp.uint64(11)).astype(xp.float64) * (2.0 ** -53)


class _State:
    """NumPy's ``bit_generator.state`` protocol over (seed, offset), for fork_rng and compile."""

    def __init__(self, stream):
        self._stream = stream

    @property
    def state(self):
        return {"seed": self._stream.seed, "offset": self._stream.offset}

    @state.setter
    def state(self, value):
        self._stream.seed, self._stream.offset = int(value["seed"]), int(value["offset"])


class DeviceStream:
    """The draws of one CUDA generator: NumPy Generator's method names, arrays on the device
    (``xp``: CuPy, or NumPy to run the same arithmetic on the host)."""

    def __init__(self, seed, offset=0, xp=None):
        self.seed, self.offset, self._xp = int(seed) % 2**64, int(offset), xp

    @property
    def bit_generator(self):
        return _State(self)

    def _words(self, shape):
        """The (numel, 4) words of the next draw of ``shape``; advances the offset."""
        xp = self._xp or _backend.module_for("cuda")
        n = int(np.prod(shape, dtype=np.int64))
        words = blocks(xp, n, self.seed, self.offset)
        self.offset += 1
        return xp, words

    def random(self, size=None, dtype=np.float64):
        """Uniform in [0, 1): float32 from 24 bits of one word, float64 from 53 bits of two."""
        shape = _shape(size)
        xp, w = self._words(shape)
        if np.dtype(dtype) == np.float32:
            u = (w[:, 0] >> xp.uint32(8)).astype(xp.float32) * xp.float32(2.0 ** -24)
        else:
            u = _unit53(xp, w[:, 0], w[:, 1])
        return u.reshape(shape)

    def standard_normal(self, size=None, dtype=np.float64):
        """N(0, 1) by Box-Muller in float64 from the block's two 53-bit uniforms (one normal per element)."""
        shape = _shape(size)
        xp, w = self._words(shape)
        u1 = 1.0 - _unit53(xp, w[:, 0], w[:, 1])  # (0, 1]: log(u1) is finite
        u2 = _unit53(xp, w[:, 2], w[:, 3])
        z = xp.sqrt(-2.0 * xp.log(u1)) * xp.cos((2.0 * np.pi) * u2)
        return z.astype(dtype).reshape(shape)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        """Integers uniform in [low, high) ([low, high] with endpoint): 64 random bits modulo the
        range's width (a bias below width / 2**64)."""
        if high is None:
            low, high = 0, low
        low, high = int(low), int(high) + bool(endpoint)
        width = high - low
        if width <= 0:
            raise ValueError(f"integers: high <= low ({low}, {high})")
        shape = _shape(size)
        xp, w = self._words(shape)
        bits = (w[:, 0].astype(xp.uint64) << xp.uint64(32)) | w[:, 1].astype(xp.uint64)
        if width < 2**64:
            bits = bits % xp.uint64(width)
        values = (bits + xp.uint64(low % 2**64)).view(xp.int64)  # wraps as two's complement
        return values.astype(dtype).reshape(shape)

    def permutation(self, n):
        """A random order of 0..n-1: the stable argsort of n random 64-bit keys."""
        xp, w = self._words((int(n),))
        keys = (w[:, 0].astype(xp.uint64) << xp.uint64(32)) | w[:, 1].astype(xp.uint64)
        return xp.argsort(keys, kind="stable") if xp is np else xp.argsort(keys)

    def uniform(self, low=0.0, high=1.0, size=None):
        return low + (high - low) * self.random(size)

    def normal(self, loc=0.0, scale=1.0, size=None):
        return loc + scale * self.standard_normal(size)

    def exponential(self, scale=1.0, size=None):
        u = self.random(size)
        return -scale * _backend.array_module(u).log1p(-u)  # -log(1 - u), u in [0, 1): finite

    def lognormal(self, mean=0.0, sigma=1.0, size=None):
        u = self.normal(mean, sigma, size)
        return _backend.array_module(u).exp(u)

    def standard_cauchy(self, size=None):
        u = self.random(size)
        return _backend.array_module(u).tan(np.pi * (u - 0.5))

    def geometric(self, p, size=None):
        """Trials up to the first success: 1 + floor(log(1 - u) / log(1 - p)), u in [0, 1)."""
        u = self.random(size)
        xp = _backend.array_module(u)
        return (xp.floor(xp.log1p(-u) / np.log1p(-p)) + 1).astype(xp.int64)

    def host(self):
        """A NumPy Generator for draws prepared on the host, keyed by (seed, offset); advances the offset."""
        rng = np.random.Generator(np.random.Philox(key=self.seed, counter=self.offset))
        self.offset += 1
        return rng

    def __getattr__(self, name):
        """Other NumPy Generator methods (poisson, binomial, standard_gamma, ...): drawn on the host
        from ``host()``, device arguments copied there; the result is a NumPy array."""
        method = getattr(np.random.Generator, name, None)
        if name.startswith("_") or method is None:
            raise AttributeError(f"'DeviceStream' object has no attribute {name!r}")

        def on_host(*args, **kwargs):
            args = [_backend.to_device(a, "cpu") if _backend.device_of(a).type == "cuda" else a for a in args]
            return getattr(self.host(), name)(*args, **kwargs)
        return on_host
