"""vmap: each op family batched equals a loop over the samples; in_dims/out_dims, nesting,
chunks, randomness, torch's errors, the fallback counter, and per-sample gradients."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from retrograd.func import functional_call, grad, reset_vmap_fallbacks, vmap, vmap_fallbacks
from retrograd.nn import functional as F
from tests.helpers import torch

rng = np.random.default_rng(0)
X = retrograd.tensor(rng.standard_normal((5, 3, 4)))  # 5 samples of (3, 4)
V = retrograd.tensor(rng.standard_normal((5, 4)))
M = retrograd.tensor(rng.standard_normal((4, 6)))
T = retrograd.tensor(rng.integers(0, 4, (5, 3)))
IMG = retrograd.tensor(rng.standard_normal((5, 2, 3, 6, 6)))  # 5 samples of (N=2, C=3, 6, 6)
CONV = nn.Conv2d(3, 4, 3, padding=1).double()
EMB = nn.Embedding(4, 3).double()
LN = nn.LayerNorm(4).double()

FAMILIES = [  # (name, function of one sample, its batched inputs, in_dims)
    ("elementwise", lambda x, v: (x * v + 1).exp() - x.sigmoid() / (v.abs() + 1), (X, V), 0),
    ("unbatched operand", lambda x, m: x.tanh() * m[:, :4].sum(0), (X, M), (0, None)),
    ("unary math", lambda x: x.sin().cos() + x.erf() + F.gelu(x) + F.softplus(x) + x.clamp(-0.5, 0.5), (X,), 0),
    ("reductions", lambda x: (x.sum(), x.mean(1), x.amax(0), x.var(-1), x.logsumexp(0), x.cumsum(1),
                              x.max(dim=1)[0], x.norm(dim=0)), (X,), 0),
    ("softmax", lambda x: (x.softmax(-1), x.log_softmax(0)), (X,), 0),
    ("matmul", lambda x, m, v: (x @ m, v @ m, x @ v, m.t() @ v), (X, M, V), (0, None, 0)),
    ("linear", lambda x, m: F.linear(x, m.t(), m[0]), (X, M), (0, None)),
    ("shape", lambda x: (x.reshape(12), x.view(4, 3), x.t(), x.permute(1, 0), x.unsqueeze(1),
                         x[None].squeeze(0), x.expand(2, 3, 4), x.flatten(), x.transpose(0, 1), x.flip(0)), (X,), 0),
    ("indexing", lambda x: (x[1], x[:, 1:3], x[..., None, 0], x.select(1, 2), x.narrow(0, 1, 2)), (X,), 0),
    ("join", lambda x, v: (retrograd.cat([x, x * 2], 1), retrograd.stack([v, v + 1]),
                           retrograd.cat([v, retrograd.ones(2, dtype=v.dtype)])) + x.split(2, 1), (X, V), 0),
    ("masking", lambda x: (x.masked_fill(x > 0, 0.0), x.tril(), x.triu(1), retrograd.where(x > 0, x, x * 2)), (X,), 0),
    ("batched mask", lambda a, v: a.masked_fill(v > 0, 0.0), (X[0], V), (None, 0)),
    ("conv", lambda img: F.max_pool2d(CONV(img), 2), (IMG,), 0),
    ("embedding", lambda t: EMB(t), (T,), 0),
    ("layer_norm", lambda x: LN(x), (X,), 0),
    ("losses", lambda x, t: (F.cross_entropy(x, t[:3].clamp(0, 3)), F.nll_loss(x.log_softmax(-1), t, reduction="sum"),
                             F.mse_loss(x, x.tanh()), F.cross_entropy(x, t, ignore_index=1)), (X, T), 0),
]


# families whose functions read values outside an op (Python-level checks):
# vmap runs them once per sample, and says so (none of these families now)
LOOPED = {}


def _loop(fn, inputs, in_dims):
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims,) * len(inputs)
    outs = [fn(*[x if d is None else x.select(d, i) for x, d in zip(inputs, dims)]) for i in range(5)]
    if isinstance(outs[0], tuple):
        return tuple(retrograd.stack([o[j] for o in outs]) for j in range(len(outs[0])))
    return retrograd.stack(outs)


def _close(a, b, tol=1e-12):
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y, tol)
        return
    assert tuple(a.shape) == tuple(b.shape), (a.shape, b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name, fn, inputs, in_dims", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_op_family_batched_equals_loop(name, fn, inputs, in_dims):
    reset_vmap_fallbacks()
    batched = vmap(fn, in_dims=in_dims)(*inputs)
    assert vmap_fallbacks() == LOOPED.get(name, {})
    _close(batched, _loop(fn, inputs, in_dims))


def test_ops_without_a_rule_run_per_sample_and_are_counted():
    # poisson of a batched tensor under randomness='same' has no batching rule (one draw replayed per sample)
    rates = retrograd.tensor(rng.uniform(1.0, 5.0, (3, 1000)))
    reset_vmap_fallbacks()
    retrograd.manual_seed(0)
    out = vmap(retrograd.poisson, randomness="same")(rates)
    assert vmap_fallbacks() == {"Poisson": 1}
    expected = []
    for i in range(3):  # each sample draws from the stream as the first did
        retrograd.manual_seed(0)
        expected.append(retrograd.poisson(rates[i]))
    _close(out, retrograd.stack(expected))
    reset_vmap_fallbacks()
    assert vmap_fallbacks() == {}


def test_array_code_on_a_batched_tensor_runs_per_sample_and_is_counted():
    """Any array operation on a batched tensor's values (here unary minus) makes vmap run the
    function once per sample, never a TypeError."""
    def f(a):
        return retrograd.Tensor._make(-a._data) * 2

    reset_vmap_fallbacks()
    _close(vmap(f)(X), _loop(f, (X,), 0))
    assert list(vmap_fallbacks().values()) == [1]


def test_in_dims_out_dims_variants():
    x = X[:, 0]  # (5, 4)
    _close(vmap(lambda a: a * 2, in_dims=1)(x.t()), x * 2)
    _close(vmap(lambda a: a * 2, in_dims=-1)(x.t()), x * 2)
    _close(vmap(lambda a: a * 2, out_dims=1)(x), (x * 2).t())
    _close(vmap(lambda a: a * 2, out_dims=-1)(x), (x * 2).t())
    a, b = vmap(lambda a, c: (a + c, c), in_dims=(0, None), out_dims=(0, None))(x, M[0, :4])
    _close(a, x + M[0, :4])
    _close(b, M[0, :4])
    d = vmap(lambda d: {"s": d["a"] * d["b"]}, in_dims=({"a": 0, "b": None},))({"a": x, "b": M[0, :4]})
    _close(d["s"], x * M[0, :4])
    lst = vmap(lambda pair: [pair[0] + pair[1]])([x, x])
    assert isinstance(lst, list)
    _close(lst[0], x + x)
    _close(vmap(lambda a: retrograd.ones(2))(x), retrograd.ones(5, 2))  # unbatched outputs expanded


def test_nested_vmap():
    x, y = X[:, 0], X[:, 1, :3]  # (5, 4), (5, 3)
    outer = vmap(lambda a: vmap(lambda b: (a * b).sum())(x))(x)
    _close(outer, x @ x.t())
    pairs = vmap(vmap(lambda a, b: a.sum() * b.sum(), in_dims=(None, 0)), in_dims=(0, None))(x, y)
    _close(pairs, x.sum(1)[:, None] * y.sum(1)[None, :])
    _close(vmap(vmap(lambda a: a.softmax(0)))(X), X.softmax(-1))


def test_chunk_size_equals_unchunked():
    f = lambda a: (a @ M).tanh().sum(0)  # noqa: E731
    _close(vmap(f, chunk_size=2)(X), vmap(f)(X))
    _close(vmap(f, chunk_size=1)(X), vmap(f)(X))


def test_randomness_modes():  # (each mode in detail: test_randomness.py)
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda a: F.dropout(a))(X)
    retrograd.manual_seed(0)
    same = vmap(lambda a: F.dropout(retrograd.ones_like(a), 0.5), randomness="same")(X)
    assert (same == same[0]).all()  # one draw shared by the samples
    different = vmap(lambda a: F.dropout(retrograd.ones_like(a), 0.5), randomness="different")(X)
    assert not (different == different[0]).all()  # a draw per sample


@pytest.mark.parametrize("call, error", [
    (lambda t, x: t.func.vmap(lambda a: a, in_dims=(0, 0))(x), ValueError),
    (lambda t, x: t.func.vmap(lambda a: a, in_dims=2)(x), ValueError),
    (lambda t, x: t.func.vmap(lambda a: a, in_dims=None)(x), ValueError),
    (lambda t, x: t.func.vmap(lambda a, b: a + b)(x, x[:2]), ValueError),
    (lambda t, x: t.func.vmap(lambda a, b: a, in_dims=(0, 0))(x, 3), ValueError),
    (lambda t, x: t.func.vmap(lambda a: 3)(x), ValueError),
    (lambda t, x: t.func.vmap(lambda a: a, out_dims=None)(x), ValueError),
    (lambda t, x: t.func.vmap(lambda a: a, randomness="foo")(x), RuntimeError),
    (lambda t, x: t.func.vmap(lambda a: a, chunk_size=0)(x), ValueError),
    (lambda t, x: t.func.vmap(lambda a: a.sum().item())(x), RuntimeError),
    (lambda t, x: t.func.vmap(lambda a: 1 if a.sum() > 0 else 0)(x), RuntimeError),
])
def test_errors_as_torch(call, error):
    with pytest.raises(error):
        call(retrograd, X[:, 0])
    if torch is not None:
        with pytest.raises(error):
            call(torch, torch.tensor(X[:, 0].numpy()))


def _mlp_recipe():
    retrograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = retrograd.randn(16, 6), retrograd.randint(0, 3, (16,))
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def compute_loss(p, b, xb, yb):
        return F.cross_entropy(functional_call(model, (p, b), (xb.unsqueeze(0),)), yb.unsqueeze(0))

    return model, x, y, params, buffers, compute_loss


def test_per_sample_gradients_equal_a_loop_of_autograd_grad_without_fallback():
    model, x, y, params, buffers, compute_loss = _mlp_recipe()
    reset_vmap_fallbacks()
    per_sample = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))(params, buffers, x, y)
    assert vmap_fallbacks() == {}  # every op of the recipe has a batching rule
    for i in range(16):
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        expected = retrograd.autograd.grad(loss, list(model.parameters()))
        for (name, g), e in zip(per_sample.items(), expected):
            np.testing.assert_allclose(g[i].numpy(), e.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_per_sample_gradients_of_mse_with_batched_inputs_and_params():
    w = retrograd.tensor(rng.standard_normal((5, 4)))  # per-sample weights and inputs
    g = vmap(grad(lambda w, x: F.mse_loss(x @ w, x.sum(1))))(w, X)
    expected = retrograd.stack([retrograd.func.grad(lambda w: F.mse_loss(X[i] @ w, X[i].sum(1)))(w[i]) for i in range(5)])
    _close(g, expected)


def test_gradient_through_vmap():
    x = X[:, 0].clone().requires_grad_()
    vmap(lambda a: (a * a).sum())(x).sum().backward()
    _close(x.grad, 2 * x.detach())


def test_top_level_vmap_is_func_vmap():
    assert retrograd.vmap is vmap


def _custom(base, **attrs):
    class Double(base):
        @staticmethod
        def forward(x):
            return x * 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

        @staticmethod
        def backward(ctx, g):
            return g * 2

    for k, v in attrs.items():
        setattr(Double, k, v)
    return Double


def test_custom_function_vmap_as_torch():
    x = X[:, 0]
    with pytest.raises(RuntimeError, match="does not have vmap support"):
        vmap(_custom(retrograd.autograd.Function).apply)(x)

    class OldStyle(retrograd.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(RuntimeError, match="setup_context"):
        vmap(OldStyle.apply)(x)
    reset_vmap_fallbacks()
    _close(vmap(_custom(retrograd.autograd.Function, generate_vmap_rule=True).apply)(x), x * 2)
    assert vmap_fallbacks() == {"Double": 1}  # generate_vmap_rule: run per sample here
    calls = []

    def rule(info, in_dims, a):
        calls.append((info.batch_size, info.randomness, in_dims))
        return a * 2, in_dims[0]

    _close(vmap(_custom(retrograd.autograd.Function, vmap=staticmethod(rule)).apply, in_dims=1)(x.t()), x * 2)
    assert calls == [(5, "error", (0,))]


def test_pytree_node_types_must_match_and_tensor_state_is_not_writable_inside_vmap():
    # torch's pytrees tell a tuple from a list from a namedtuple: an in_dims/out_dims of another
    # node type raises ValueError (retrograd accepted a list for a tuple)
    import collections

    P = collections.namedtuple("P", "x y")
    a, b = retrograd.ones(2, 3), retrograd.ones(3)
    f = lambda x: x[0] + x[1]  # noqa: E731
    assert vmap(f, in_dims=((0, None),))((a, b)).shape == (2, 3)
    assert vmap(f, in_dims=(P(0, None),))(P(a, b)).shape == (2, 3)
    for in_dims, arg in ((([0, None],), (a, b)), (((0, None),), [a, b]), (((0, None),), P(a, b))):
        with pytest.raises(ValueError, match="in_dims is not compatible with the structure"):
            vmap(f, in_dims=in_dims)(arg)
    with pytest.raises(ValueError, match="out_dims is not compatible with the structure"):
        vmap(lambda x: (x, x), out_dims=[0, 1])(a)
    assert vmap(lambda x: [x, x], out_dims=[0, 1])(a)[1].shape == (3, 2)
    # requires_grad_ / requires_grad = / .data of a batched tensor: torch's RuntimeError (they
    # raised AttributeError or returned a tensor)
    for fn in (lambda x: x.clone().requires_grad_(), lambda x: setattr(x, "requires_grad", True)):
        with pytest.raises(RuntimeError, match="call requires_grad_\\(\\) outside of a function being transformed"):
            vmap(fn)(a)
    with pytest.raises(RuntimeError, match="accessing `data` under vmap transform is not allowed"):
        vmap(lambda x: x.data * 2)(a)
