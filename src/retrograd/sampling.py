"""Sampling from distributions: ``multinomial``, ``bernoulli``, ``poisson``, ``normal`` and the
in-place fills (``Tensor.uniform_``, ``normal_``, ``bernoulli_``, ...).

Draws come from retrograd's generators (``retrograd.random``): a ``generator=`` argument,
else the global stream of the tensor's device. They are drawn on the host in float64 and
converted, so seeded results are reproducible within retrograd but are not torch's numbers
for the same seed. As in torch, a sample's gradient with respect to its parameters is zero
(``normal``, ``bernoulli``, ``poisson``): autograd records the op and passes zeros back.
"""

import numpy as np

from . import _backend, _dtype
from .autograd.function import Function
from ._unsupported import reject
from .creation import _at, _check_pin_memory, _float_dtype, _size, check_from_to
from .ops import _batching
from .ops._kernel_dtypes import check_floating, not_implemented_for, scalar_name
from .ops._method import tensor_method
from .ops._broadcast import broadcast_shapes
from .ops._out import ANY, INTO, NONE, SAME, takes_out
from .random import _host_rng, _rng
from .tensor import Tensor

__all__ = ["multinomial", "bernoulli", "poisson", "normal", "binomial"]

MAX_CATEGORIES = 2**24  # torch's limit on multinomial's categories


def _host(t):
    """A tensor's values as a float64 NumPy array on the host (for drawing)."""
    data = t._data
    if _backend.array_module(data) is not np:
        data = _backend.cupy.asnumpy(data)
    return np.asarray(data, dtype=np.float64)


def _on_device_of(arr, like, dtype):
    """``arr`` in ``dtype`` (a retrograd dtype) on the device of tensor ``like``."""
    if hasattr(arr, "_vmap_levels"):  # a draw per sample of vmap(randomness='different'): keep its mark
        return arr.astype(dtype.np, copy=False)
    arr = _backend.cast(_backend.as_array(arr, _backend.array_module(arr)), dtype.np)  # a device draw stays there
    return arr if like is None else _backend.to_device(arr, like.device)


# --------------------------------------------------------------------------- multinomial


def _check_multinomial(input, num_samples, replacement):
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{scalar_name(input.dtype)} (convert the probabilities with .float())")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim (got a {input.ndim}-dim tensor of shape "
                           f"{list(input.shape)}): pass one row of probabilities or a batch of rows")
    if num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples (num_samples={num_samples})")
    categories = input.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"({num_samples} > {categories}): pass replacement=True or fewer samples")
    if categories > MAX_CATEGORIES:
        raise RuntimeError(f"number of categories cannot exceed 2^24 (got {categories})")


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the categories of each row of ``input`` (weights, not necessarily
    normalized): int64 of shape ``(num_samples,)`` for a 1-D input, ``(rows, num_samples)`` for
    a 2-D one. Without replacement a category is drawn at most once per row, and categories of
    weight zero come only after every positive one is drawn; with replacement a zero-weight
    category is never drawn. Weights that are negative, inf or nan, or a row summing to 0,
    raise RuntimeError as in torch."""
    num_samples = int(num_samples)
    _check_multinomial(input, num_samples, replacement)
    p = _host(input).reshape(-1, input.shape[-1])
    if not np.isfinite(p).all() or (p < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0 "
                           "(multinomial's weights must be finite and non-negative)")
    if p.size and (p.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0): every row needs a "
                           "positive weight")
    rng = _host_rng(generator, input)
    if replacement:
        cdf = np.cumsum(p, axis=1)
        # u < the row's total, so u falls in a category of positive weight (side='right' skips
        # the empty intervals of zero weights)
        u = rng.random((p.shape[0], num_samples)) * cdf[:, -1:]
        idx = np.stack([np.searchsorted(c, row, side="right") for c, row in zip(cdf, u)]) if p.size else \
            np.zeros((p.shape[0], num_samples), dtype=np.int64)
    else:
        # the exponential race: keys w / E with E ~ Exp(1); the num_samples largest keys are a
        # draw without replacement in proportion to the weights (zero weights key 0, last)
        keys = p / rng.exponential(size=p.shape)
        idx = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    idx = idx.astype(np.int64).reshape(tuple(input.shape[:-1]) + (num_samples,))
    return Tensor._make(_on_device_of(idx, input, _dtype.int64))


multinomial = takes_out(dtype=SAME, grad=NONE, resize_warning=None)(multinomial)  # torch resizes out silently
Tensor.multinomial = multinomial.__wrapped__


# ----------------------------------------------------------------------------- bernoulli


def _check_p(p, name="bernoulli_"):
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"{name} expects p to be in [0, 1], but got p={p:g}")


def _check_p_tensor(p):
    check_floating("bernoulli_tensor_cpu_p_", p)
    values = _host(p)
    if not ((values >= 0) & (values <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false (bernoulli's "
                           "probabilities must lie in [0, 1]; found a value outside it or nan)")
    return values


class Bernoulli(Function):
    """z ~ Bernoulli(p), elementwise;  dp = 0 (torch's derivative of a sample)."""
    vmap = classmethod(_batching.random_draws)  # batching rule (retrograd.func.vmap's randomness modes)

    @staticmethod
    def forward(ctx, p, generator):
        draw = _host_rng(generator, p).random(tuple(p.shape)) < _check_p_tensor(p)
        return _on_device_of(draw, p, p.dtype)

    @staticmethod
    def jvp(ctx, tp, *_):
        """dz = 0 (as torch's)."""
        return tp * 0

    @staticmethod
    def backward(ctx, g):
        return g * 0, None


class BernoulliScalar(Function):
    """z ~ Bernoulli(p) for a number p, in input's shape and dtype. torch records it and raises
    when differentiated ("derivative for aten::bernoulli is not implemented")."""
    vmap = classmethod(_batching.random_draws)  # batching rule (retrograd.func.vmap's randomness modes)

    _backward_name = "NotImplemented"

    @staticmethod
    def forward(ctx, input, p, generator):
        _check_p(p)
        return _on_device_of(_rng(generator, input).random(tuple(input.shape)) < p, input, input.dtype)

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError("Trying to use forward AD with aten::bernoulli that does not support it "
                                  "(bernoulli(input, p) with a number p; bernoulli(p_tensor) has a zero tangent)")

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::bernoulli is not implemented (bernoulli(input, p) with a "
                           "number p; use bernoulli(p_tensor) for a zero gradient)")


@takes_out(dtype=ANY, resize_warning=None)  # torch resizes out silently
def bernoulli(input, p=None, *, generator=None):
    """0/1 samples: ``bernoulli(probs)`` draws 1 with probability ``probs[i]`` (a float tensor in
    [0, 1]); ``bernoulli(input, p)`` draws 1 with probability ``p`` in input's shape and dtype."""
    if p is None:
        return Bernoulli.apply(input, generator)
    return BernoulliScalar.apply(input, float(p), generator)


def _tensor_bernoulli(self, p=None, *, generator=None):
    """0/1 samples with probabilities ``self`` (or the number ``p``); see torch.bernoulli."""
    return bernoulli.__wrapped__(self, p, generator=generator)


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 1 with probability p (a number, or a float tensor broadcast to self's shape), else
    0; self may have any dtype."""
    shape = tuple(self._data.shape)
    if isinstance(p, Tensor):
        probs = _check_p_tensor(p.detach().expand(shape))  # torch's errors when p does not broadcast to self
    else:
        _check_p(float(p))
        probs = float(p)
    rng = (_host_rng if isinstance(p, Tensor) else _rng)(generator, self)  # tensor probabilities are on the host
    return _fill_random(self, rng.random(shape) < probs)


# ------------------------------------------------------------------------------- poisson


class Poisson(Function):
    """z ~ Poisson(rate), elementwise;  drate = 0 (torch's derivative of a sample)."""
    vmap = classmethod(_batching.random_draws)  # batching rule (retrograd.func.vmap's randomness modes)

    @staticmethod
    def forward(ctx, rate, generator):
        check_floating("poisson_cpu", rate)
        lam = _host(rate)
        if not (lam >= 0).all():
            raise RuntimeError("invalid Poisson rate, expected rate to be non-negative (found a negative rate or nan)")
        if not np.isfinite(lam).all():  # torch returns a meaningless huge negative count here
            raise RuntimeError("invalid Poisson rate: inf has no finite sample; pass finite rates")
        draws = np.asarray(_rng(generator, rate).poisson(lam), np.float64)  # a 0-dim rate draws a Python int
        return _on_device_of(draws, rate, rate.dtype)

    @staticmethod
    def jvp(ctx, trate, *_):
        """dz = 0 (as torch's)."""
        return trate * 0

    @staticmethod
    def backward(ctx, g):
        return g * 0, None


def poisson(input, generator=None):
    """Counts drawn from Poisson(input) elementwise (input: non-negative float rates); input's dtype."""
    return Poisson.apply(input, generator)


def binomial(count, prob, generator=None):
    """Successes among ``count`` trials of probability ``prob`` (float tensors that broadcast),
    elementwise: counts in count's dtype. No derivative: torch records the draw without one (a
    backward through it raises)."""
    from .ops.counting import NotDifferentiable

    if not count.dtype.is_floating_point:
        raise ValueError(f"binomial only supports floating-point dtypes for count, got: {scalar_name(count.dtype)}")
    if count.dtype.itemsize == 2 and count.device.type == "cpu":  # torch's CPU kernel: no float16/bfloat16
        raise not_implemented_for("binomial_cpu", count.dtype, "convert count and prob with .float() first")
    shape = broadcast_shapes(tuple(count.shape), tuple(prob.shape))
    n = np.broadcast_to(np.nan_to_num(_host(count)), shape)
    p = np.broadcast_to(np.clip(np.nan_to_num(_host(prob)), 0.0, 1.0), shape)  # torch reads p outside [0, 1] clipped
    draws = _rng(generator, count).binomial(np.maximum(n, 0).astype(np.int64), p).astype(np.float64)
    out = Tensor._make(_on_device_of(draws, count, count.dtype))
    if count.requires_grad or prob.requires_grad:
        return NotDifferentiable.apply("binomial", out, count, prob)
    return out


# -------------------------------------------------------------------------------- normal


def _check_std(std):
    if isinstance(std, Tensor):
        if not (_host(std) >= 0).all():
            raise RuntimeError("normal expects all elements of std >= 0.0 (found a negative std or nan)")
    elif not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


class Normal(Function):
    """z = mean + std * n with n ~ N(0, 1), mean and std tensors or numbers (at least one a tensor);
    dmean = 0, dstd = 0: torch's derivatives of a sample (NormalBackward1/2/3)."""
    vmap = classmethod(_batching.random_draws)  # batching rule (retrograd.func.vmap's randomness modes)

    @staticmethod
    def forward(ctx, mean, std, generator, dtype):
        ctx._backward_name = "NormalBackward" + str(isinstance(mean, Tensor) + 2 * isinstance(std, Tensor))
        like = mean if isinstance(mean, Tensor) else std
        check_floating("normal_kernel_cpu", like)
        _check_std(std)
        shapes = [tuple(t.shape) for t in (mean, std) if isinstance(t, Tensor)]
        shape = broadcast_shapes(*shapes)
        ctx.inputs = [(tuple(t.shape), t.dtype) if isinstance(t, Tensor) else None for t in (mean, std)]
        m = _host(mean) if isinstance(mean, Tensor) else mean
        s = _host(std) if isinstance(std, Tensor) else std
        draw = _host_rng(generator, like).standard_normal(shape) * s + m
        return _on_device_of(draw, like, dtype or like.dtype)

    @staticmethod
    def jvp(ctx, *tangents):
        """dz = 0 (as torch's)."""
        z = ctx._fw_results[0]
        return z.new_zeros(z.shape)

    @staticmethod
    def backward(ctx, g):
        xp = _backend.array_module(g._data)
        zeros = [Tensor._make(xp.zeros(spec[0], dtype=spec[1].np)) if spec and need else None
                 for spec, need in zip(ctx.inputs, ctx.needs_input_grad)]
        return zeros[0], zeros[1], None, None


_NORMAL_OVERLOADS = (
    " * (Tensor mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (Tensor mean, float std = 1, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (float mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (float mean, float std, tuple of ints size, *, torch.Generator generator = None, Tensor out = None, "
    "torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, bool pin_memory = False, "
    "bool requires_grad = False)\n")


def _kind(value):
    """The type name torch's argument parser prints: Tensor, float, tuple, torch.dtype, ..."""
    if isinstance(value, Tensor):
        return "Tensor"
    if isinstance(value, _dtype.dtype):
        return "torch.dtype"
    if isinstance(value, _backend.device):
        return "torch.device"
    return "torch.layout" if type(value).__name__ == "layout" else type(value).__name__


def _no_normal_overload(mean, std, size, given):
    got = [_kind(mean), _kind(std)] + ([_kind(size)] if size is not None else [])
    got += [f"{name}={_kind(value)}" for name, value in given.items()]
    return TypeError(f"normal() received an invalid combination of arguments - got ({', '.join(got)}), but "
                     f"expected one of:\n{_NORMAL_OVERLOADS}")


def _as_number(x):
    """A 0-dim tensor that does not require grad passes for torch's float mean or std; else None."""
    if not isinstance(x, Tensor):
        return x
    return x.item() if x.ndim == 0 and not x.requires_grad else None


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None, requires_grad=False,
           layout=None, pin_memory=False):
    """Normal samples, torch.normal's four overloads. ``normal(mean, std)`` with a tensor mean and/or std:
    shape broadcast from them, dtype the mean's (else the std's), zero gradient to both; generator= and
    out= only. ``normal(mean, std, size)`` with numbers (or 0-dim tensors that do not require grad): a new
    tensor of ``size`` (a tuple or list; default dtype unless ``dtype`` is given). Any other combination is
    torch's TypeError; a negative std is RuntimeError."""
    given = {name: value for name, value in (("dtype", dtype), ("layout", layout), ("device", device),
                                              ("pin_memory", pin_memory), ("requires_grad", requires_grad))
             if value is not None and value is not False}
    tensors = isinstance(mean, Tensor) or isinstance(std, Tensor)
    if size is not None:
        numbers = _as_number(mean), _as_number(std)
        if None in numbers or not isinstance(size, (tuple, list)):
            raise _no_normal_overload(mean, std, size, given)
        mean, std = numbers
    elif not tensors or given:
        raise _no_normal_overload(mean, std, size, given)
    return _normal(mean, std, size, generator=generator, out=out, dtype=dtype, device=device,
                   requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)


@takes_out(dtype=INTO, resize_warning=None)  # torch's factories resize out silently
def _normal(mean, std, size, *, generator, dtype, device, requires_grad, layout, pin_memory):
    if size is None:  # a tensor mean or std (dtype: out's, when out= is given)
        return Normal.apply(mean, std, generator, _float_dtype(dtype) if dtype is not None else None)
    reject("normal", layout=layout)
    _check_pin_memory(pin_memory)
    _check_std(float(std))
    dt = _float_dtype(dtype)
    device = _at(device)  # torch.set_default_device's device when none is given
    draw = _rng(generator, device).standard_normal(_size((tuple(size),)))
    arr = _backend.cast(draw * float(std) + float(mean), dt.np)
    out = Tensor._make(arr if device is None else _backend.to_device(arr, device))
    if requires_grad:
        out.requires_grad = True
    return out


# --------------------------------------------------------------------- in-place random fills


def _fill_random(self, values):
    """Write ``values`` into ``self`` as an in-place op (version bump; leaf check; a non-leaf's
    gradient through the old values becomes zero, as after copy_)."""
    if hasattr(values, "_vmap_levels"):  # a draw per sample of vmap(randomness='different')
        from .func._randomness import in_place_draw

        return self.copy_(in_place_draw(self, values))
    values = _backend.as_array(values, _backend.array_module(values))  # a device draw stays there
    self.copy_(Tensor._make(_backend.cast(values, self._data.dtype)))
    return self


def uniform_(self, from_=0.0, to=1.0, *, generator=None):
    """Fill with samples of U(from, to)."""
    return _fill_random(self, _rng(generator, self).uniform(from_, to, size=self._data.shape))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with samples of N(mean, std^2)."""
    _check_std(float(std))
    return _fill_random(self, _rng(generator, self).normal(mean, std, size=self._data.shape))


def _full_range(dtype):
    """random_()'s range: [0, 2**mantissa] for floats (every integer they hold exactly), [0, max]
    for integer types, as torch's."""
    if dtype.is_floating_point:
        return 2 ** (np.finfo(dtype.np).nmant + 1) + 1
    return 2 if dtype is _dtype.bool_ else int(np.iinfo(dtype.np).max) + 1


def random_(self, from_=None, to=None, *, generator=None):
    """Fill with integers uniform in [from, to); ``random_(to)`` is [0, to), ``random_()`` every
    non-negative integer self's dtype holds exactly."""
    if to is None:
        from_, to = 0, (_full_range(self.dtype) if from_ is None else from_)
    check_from_to(from_, to)
    return _fill_random(self, _rng(generator, self).integers(from_, to - 1, size=self._data.shape, endpoint=True))


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with samples of Exp(lambd)."""
    return _fill_random(self, _rng(generator, self).exponential(1.0 / lambd, size=self._data.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    """Fill with samples of exp(N(mean, std^2))."""
    return _fill_random(self, _rng(generator, self).lognormal(mean, std, size=self._data.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    """Fill with samples of Cauchy(median, sigma)."""
    return _fill_random(self, median + sigma * _rng(generator, self).standard_cauchy(size=self._data.shape))


def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0.0 < p < 1.0:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p:g}")
    return _fill_random(self, _rng(generator, self).geometric(p, size=self._data.shape))


for _fn in (uniform_, normal_, bernoulli_, random_, exponential_, log_normal_, cauchy_, geometric_):
    tensor_method()(_fn)
tensor_method("bernoulli")(_tensor_bernoulli)
