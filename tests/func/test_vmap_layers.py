"""vmap's batching rules of the layers (normalization, pooling, attention, einsum, RNNs, padding
and shape ops, gather/scatter, transposed conv, fold/unfold, distances, quantiles): each case
batched equals a loop over the samples, with no op run per sample; vmap(grad(f)) equals each
sample's gradient; and both equal torch.func's where torch is installed."""

import numpy as np
import pytest

import retrograd
from retrograd.func import grad, reset_vmap_fallbacks, vmap, vmap_fallbacks
from tests.helpers import torch

B = 3


def _arr(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _idx(high, *shape, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape)


# (name, make(t, F) -> function of one sample, inputs (arrays, batched along in_dims), in_dims,
#  argnums differentiated by the vmap(grad) check (None: values only))
CASES = [
    ("layer_norm", lambda t, F: lambda x: F.layer_norm(x, (5,)), [_arr(B, 2, 5)], 0, 0),
    ("layer_norm 2 dims, weights", lambda t, F: lambda x, w, b: F.layer_norm(x, (3, 5), w, b),
     [_arr(B, 2, 3, 5), _arr(3, 5, seed=1), _arr(3, 5, seed=2)], (0, None, None), (0, 1, 2)),
    ("layer_norm ensemble", lambda t, F: lambda x, w, b: F.layer_norm(x, (5,), w, b),
     [_arr(B, 2, 5), _arr(B, 5, seed=1), _arr(B, 5, seed=2)], 0, (0, 1, 2)),
    ("layer_norm shared input", lambda t, F: lambda x, w: F.layer_norm(x, (5,), w),
     [_arr(2, 5), _arr(B, 5, seed=1)], (None, 0), 1),
    ("group_norm", lambda t, F: lambda x, w, b: F.group_norm(x, 2, w, b),
     [_arr(B, 2, 4, 3), _arr(4, seed=1), _arr(4, seed=2)], (0, None, None), (0, 1, 2)),
    ("group_norm ensemble", lambda t, F: lambda x, w, b: F.group_norm(x, 4, w, b),
     [_arr(B, 2, 4, 3, 2), _arr(B, 4, seed=1), _arr(B, 4, seed=2)], 0, (0, 1, 2)),
    ("batch_norm train", lambda t, F: lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
     [_arr(B, 4, 3, 2), _arr(3, seed=1), _arr(3, seed=2)], (0, None, None), (0, 1, 2)),
    ("batch_norm train 2d, ensemble", lambda t, F: lambda x, w, b: F.batch_norm(x, None, None, w, b, True),
     [_arr(B, 5, 3), _arr(B, 3, seed=1), _arr(B, 3, seed=2)], 0, (0, 1, 2)),
    ("batch_norm eval", lambda t, F: lambda x, m, v, w: F.batch_norm(x, m, v, w),
     [_arr(B, 4, 3, 2), _arr(3, seed=1), np.abs(_arr(3, seed=2)), _arr(3, seed=3)], (0, None, None, None), (0, 3)),
    ("batch_norm eval, ensemble statistics", lambda t, F: lambda x, m, v: F.batch_norm(x, m, v),
     [_arr(B, 4, 3), _arr(B, 3, seed=1), np.abs(_arr(B, 3, seed=2))], 0, 0),
    ("instance_norm", lambda t, F: lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
     [_arr(B, 2, 3, 4), _arr(3, seed=1), _arr(3, seed=2)], (0, None, None), (0, 1, 2)),
    ("max_pool2d blocks", lambda t, F: lambda x: F.max_pool2d(x, 2), [_arr(B, 2, 3, 4, 6)], 0, 0),
    ("max_pool2d windows, indices", lambda t, F: lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True),
     [_arr(B, 2, 3, 7, 6)], 0, 0),
    ("max_pool1d unbatched sample, dilation", lambda t, F: lambda x: F.max_pool1d(x, 2, 1, dilation=2),
     [_arr(B, 3, 9)], 0, 0),
    ("max_pool3d", lambda t, F: lambda x: F.max_pool3d(x, 2, 1), [_arr(B, 1, 2, 3, 3, 4)], 0, 0),
    ("adaptive_max_pool2d", lambda t, F: lambda x: F.adaptive_max_pool2d(x, (2, 3), return_indices=True),
     [_arr(B, 2, 3, 5, 7)], 0, 0),
    ("nearest upsampling, avg_pool", lambda t, F: lambda x: F.avg_pool2d(F.interpolate(x, scale_factor=2), 3),
     [_arr(B, 2, 3, 4, 4)], 0, 0),
    ("attention", lambda t, F: lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
     [_arr(B, 2, 4, 5), _arr(B, 2, 3, 5, seed=1), _arr(B, 2, 3, 6, seed=2)], 0, (0, 1, 2)),
    ("attention causal, shared keys", lambda t, F: lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, is_causal=True), [_arr(B, 4, 5), _arr(2, 4, 5, seed=1), _arr(2, 4, 3, seed=2)], (0, None, None), 0),
    ("attention per-sample mask, gqa", lambda t, F: lambda q, k, v, m: F.scaled_dot_product_attention(
        q, k, v, m, enable_gqa=True), [_arr(4, 3, 5), _arr(2, 2, 5, seed=1), _arr(2, 2, 5, seed=2), _arr(B, 3, 2, seed=3)],
     (None, None, None, 0), 3),
    ("einsum", lambda t, F: lambda a, b: (t.einsum("ij,jk->ik", a, b), t.einsum("ii->i", b[:, :3]),
                                          t.einsum("...j,kj", a, a), t.einsum("bij,bjk->bik", a[None], b[None])),
     [_arr(B, 2, 3), _arr(3, 4, seed=1)], (0, None), (0, 1)),
    ("einsum both batched", lambda t, F: lambda a, b: t.einsum("ij,kj->ki", a, b),
     [_arr(B, 2, 3), _arr(B, 4, 3, seed=1)], 0, (0, 1)),
    ("pad", lambda t, F: lambda x: (F.pad(x, (1, 2)), F.pad(x, (0, 1, 2, -1), value=3.0)), [_arr(B, 2, 3)], 0, 0),
    ("roll, tile, repeat", lambda t, F: lambda x: (x.roll(1, 0), x.roll((1, -2), (0, 1)), x.roll(2), x.tile((2,)),
                                                   x.tile((2, 1, 3)), x.repeat(2, 1, 1)), [_arr(B, 2, 3)], 0, 0),
    ("diagonal, diag_embed", lambda t, F: lambda x: (x.diagonal(), x.diagonal(1, 1, 0), t.diag_embed(x, 1),
                                                     t.diagonal(x[None], 0, 2, 1)), [_arr(B, 3, 4)], 0, 0),
    ("indexing by index tensors", lambda t, F: lambda x: (
        x[t.tensor([2, 0, 2])], x[:, t.tensor([[1], [0]])], x[t.tensor([0, 1]), :, t.tensor([1, 2])],
        x[1, :, t.tensor([0, 0])], x[..., 1, t.tensor([True, False, True, True])], x[t.tensor([1, 2]), 0]),
     [_arr(B, 3, 2, 4)], 0, 0),
    ("gather, index_select, take", lambda t, F: lambda x: (
        x.gather(1, t.tensor([[0, 3], [1, 1], [2, 0]])), x.index_select(1, t.tensor([3, 0])),
        x.take(t.tensor([[5, 0]])), t.take_along_dim(x, t.tensor([[1], [0], [3]]), 1)), [_arr(B, 3, 4)], 0, 0),
    ("scatter, index_put, index_add", lambda t, F: lambda x, y: (
        y.scatter(1, t.tensor([[0, 3], [1, 2], [2, 0]]), x[:, :2]),
        t.zeros(3, 4, dtype=t.float64).scatter_add(1, t.tensor([[0, 0], [1, 2], [3, 3]]), x[:, 1:3]),
        y.index_put((t.tensor([0, 2]), t.tensor([1, 1])), x[0, :2], accumulate=True),
        x.index_put((t.tensor([2]),), y[0]), y.index_add(1, t.tensor([0, 2, 0, 1]), x)),
     [_arr(B, 3, 4), _arr(3, 4, seed=1)], (0, None), 0),
    ("conv2d per-sample weights", lambda t, F: lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
     [_arr(B, 2, 4, 5, 5), _arr(B, 6, 2, 3, 3, seed=1), _arr(B, 6, seed=2)], 0, (0, 1, 2)),
    ("conv1d shared input, per-sample weights", lambda t, F: lambda x, w: F.conv1d(x, w, stride=2),
     [_arr(2, 3, 9), _arr(B, 4, 3, 3, seed=1)], (None, 0), 1),
    ("conv_transpose2d", lambda t, F: lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, output_padding=1),
     [_arr(B, 2, 3, 4, 4), _arr(3, 2, 3, 3, seed=1), _arr(2, seed=2)], (0, None, None), (0, 1, 2)),
    ("conv_transpose1d per-sample weights", lambda t, F: lambda x, w: F.conv_transpose1d(x, w, groups=2),
     [_arr(B, 2, 4, 6), _arr(B, 4, 3, 2, seed=1)], 0, (0, 1)),
    ("unfold, fold", lambda t, F: lambda x: (F.unfold(x, 2, padding=1), F.fold(F.unfold(x, (2, 3)), (4, 5), (2, 3))),
     [_arr(B, 2, 3, 4, 5)], 0, 0),
    ("cdist, pdist, norms", lambda t, F: lambda x, y: (
        t.cdist(x, y), t.cdist(x, y, p=1.5), t.cdist(x, y, compute_mode="use_mm_for_euclid_dist"), F.pdist(x, 3),
        x.norm(p=3, dim=1), F.pairwise_distance(x, y[:4]), F.cosine_similarity(x, y[1:])),
     [_arr(B, 4, 3), _arr(5, 3, seed=1)], (0, None), (0, 1)),
    ("cdist both batched", lambda t, F: lambda x, y: t.cdist(x, y, compute_mode="use_mm_for_euclid_dist"),
     [_arr(B, 4, 3), _arr(B, 2, 3, seed=1)], 0, (0, 1)),
    ("quantile", lambda t, F: lambda x: (x.quantile(0.3, dim=1), x.quantile(t.tensor([0.2, 0.9], dtype=t.float64)),
                                         x.quantile(0.5, keepdim=True), t.nanquantile(x, 0.7, 0, keepdim=True,
                                                                                      interpolation="midpoint")),
     [_arr(B, 3, 5)], 0, 0),
    ("scatter_reduce", lambda t, F: lambda x, y: (
        y.scatter_reduce(1, t.tensor([[0, 0], [1, 2], [3, 3]]), x[:, :2], "sum"),
        y.scatter_reduce(1, t.tensor([[0, 0], [1, 2], [3, 3]]), x[:, 1:3], "amax", include_self=False),
        y.scatter_reduce(0, t.tensor([[2, 0, 1, 0]]), x[:1], "mean")), [_arr(B, 3, 4), _arr(3, 4, seed=1)], (0, None), 0),
    ("per-sample indices", lambda t, F: lambda x, i, j: (
        x.gather(1, i), t.take_along_dim(x, i[:, :1], 1), x.index_select(1, j), x.index_select(0, j[:2]), x[j],
        x[j[:2, None]], t.gather(x, 0, j[:2, None]), x[t.arange(3), i[:, 0]], x[j[:2], i[:2, 1]], x[j[:2, None], i[0]],
        x[0, i[:, 1]], x[j[:3], ..., None]), [_arr(B, 3, 4), _idx(4, B, 3, 2), _idx(3, B, 5, seed=1)], 0, 0),
    ("per-sample indices into a shared table", lambda t, F: lambda w, i: (w[i], w.gather(0, i[:, None].expand(3, 4))),
     [_arr(5, 4), _idx(5, B, 3)], (None, 0), 0),
    ("embedding", lambda t, F: lambda i, w: (F.embedding(i, w), F.embedding(i, w, padding_idx=2)),
     [_idx(5, B, 2, 3), _arr(5, 4)], (0, None), 1),
    ("embedding per-sample tables", lambda t, F: lambda i, w: (F.embedding(i, w), F.embedding(i, w, padding_idx=-1)),
     [_idx(5, B, 3), _arr(B, 5, 4)], 0, 1),
    ("sort, topk, argmax", lambda t, F: lambda x: (
        *x.sort(1), *x.sort(0, descending=True), x.argsort(-1), *x.topk(2), *x.topk(2, 0, largest=False),
        *x.kthvalue(2, 1, keepdim=True), x.argmax(), x.argmax(1), x.argmin(0, keepdim=True)),
     [_arr(B, 3, 5)], 0, 0),
    ("linalg", lambda t, F: lambda a, b: (
        t.linalg.inv(a), t.linalg.det(a), t.linalg.slogdet(a)[1], t.linalg.solve(a, b), t.linalg.solve(a, b[:, 0]),
        t.linalg.cholesky(a @ a.mT + t.eye(3, dtype=t.float64)), t.linalg.qr(a)[1].abs(), t.linalg.svd(a)[1],
        t.linalg.eigh(a + a.mT)[0]), [_arr(B, 3, 3), _arr(B, 3, 2, seed=1)], 0, (0, 1)),
    ("linalg solve, shared matrix", lambda t, F: lambda a, b: t.linalg.solve(a, b),
     [_arr(3, 3), _arr(B, 3, 2, seed=1)], (None, 0), (0, 1)),
    ("label smoothing, one_hot, masks", lambda t, F: lambda x, y: (
        F.cross_entropy(x, y, label_smoothing=0.2), F.one_hot(y, 5) * x, ~(y > 2), (y > 1).logical_not(),
        (x > 0) & (y < 3)[:, None], (y > 1) | (y < 3), t.logical_xor(x > 0, x < 1), t.logical_and(y > 0, y[0] > 1),
        y & 3, y << 1, (x > 0).all(), (x > -1).any(1), (y > 2).all(0, keepdim=True)),
     [_arr(B, 4, 5), _idx(5, B, 4)], 0, 0),
    ("in-place ops", lambda t, F: lambda x: (
        (lambda y: (y.__setitem__(0, 1.0), y.add_(x), y.mul_(2), y[:, 1].mul_(0), y.masked_fill_(x > 0, 0.5),
                    F.relu(y, inplace=True), y)[-1])(x.clone()),
        (lambda z: (z.fill_(3.0), z.copy_(x * 2), z[1:].zero_(), z)[-1])(x.clone()),
        t.nn.ReLU(inplace=True)(x * 1)), [_arr(B, 3, 4)], 0, 0),
    ("embedding_bag", lambda t, F: lambda i, w, p: (
        F.embedding_bag(i, w), F.embedding_bag(i, w, mode="sum", padding_idx=1), F.embedding_bag(i, w, mode="max"),
        F.embedding_bag(i, w, mode="mean", padding_idx=1), F.embedding_bag(i, w, mode="sum", per_sample_weights=p)),
     [np.array([[[0, 1, 4], [1, 1, 1]], [[2, 3, 3], [4, 0, 1]], [[1, 2, 0], [3, 3, 4]]]), _arr(5, 4), _arr(B, 2, 3, seed=1)],
     (0, None, 0), (1, 2)),
    ("embedding_bag per-sample tables", lambda t, F: lambda i, w: (
        F.embedding_bag(i, w, mode="sum", padding_idx=0), F.embedding(i, w, padding_idx=0)),
     [_idx(5, 2, 3), _arr(B, 5, 4)], (None, 0), 1),
    ("masked_scatter", lambda t, F: lambda x, m, s: (x.masked_scatter(m, s), x.masked_scatter(m[0], s.flip(0))),
     [_arr(B, 3, 4), _arr(B, 3, 4, seed=1) > 0, _arr(B, 4, 3, seed=2)], 0, (0, 2)),
    ("ctc_loss", lambda t, F: lambda x, y: (
        F.ctc_loss(x.log_softmax(-1), y, (6, 5), (3, 2)), F.ctc_loss(x.log_softmax(-1), y, (6, 4), (2, 2), reduction="sum"),
        F.ctc_loss(x.log_softmax(-1), y[0, :2], (6, 5), (1, 1), reduction="none"),
        F.ctc_loss(x[:, 0].log_softmax(-1), y[0], (6,), (3,))),
     [_arr(B, 6, 2, 5), np.array([[[1, 2, 3], [2, 2, 0]], [[4, 1, 2], [3, 3, 3]], [[1, 1, 1], [2, 4, 0]]])], 0, 0),
    ("grid_sample", lambda t, F: lambda x, g: F.grid_sample(x, g, align_corners=False),
     [_arr(B, 1, 2, 4, 5), _arr(B, 1, 3, 3, 2, seed=1) * 0.9], 0, (0, 1)),
]

# cases whose vmap(grad) torch.func cannot run (it raises): their gradients are checked against the loop only
TORCH_VMAP_GRAD_RAISES = {"label smoothing, one_hot, masks", "ctc_loss"}


def _modules(lib):
    return (retrograd, retrograd.nn.functional) if lib == "rg" else (torch, torch.nn.functional)


def _tensors(lib, arrays):
    t = _modules(lib)[0]
    return [t.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]


def _sample(xs, dims, i):
    return [x if d is None else x.select(d, i) for x, d in zip(xs, dims)]


def _dims(in_dims, n):
    return in_dims if isinstance(in_dims, tuple) else (in_dims,) * n


def _flat(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _scalar(fn):
    """A scalar function of the outputs whose gradient reaches every output element."""
    def f(*args):
        total = 0
        for o in _flat(fn(*args)):
            if o.dtype.is_floating_point:
                total = total + (o * o).sum() + o.sum()
        return total
    return f


def _close(a, b, tol=1e-10):
    a, b = _flat(a), _flat(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert tuple(x.shape) == tuple(y.shape), (x.shape, y.shape)
        np.testing.assert_allclose(np.asarray(x.detach().numpy(), dtype=float),
                                   np.asarray(y.detach().numpy(), dtype=float), rtol=tol, atol=tol)


def _stacked(outs):
    first = _flat(outs[0])
    return [retrograd.stack([_flat(o)[j] for o in outs]) for j in range(len(first))]


@pytest.mark.parametrize("name, make, arrays, in_dims, argnums", CASES, ids=[c[0] for c in CASES])
def test_rule_equals_a_loop_and_torch(name, make, arrays, in_dims, argnums):
    fn = make(*_modules("rg"))
    xs = _tensors("rg", arrays)
    dims = _dims(in_dims, len(xs))
    reset_vmap_fallbacks()
    out = vmap(fn, in_dims=in_dims)(*xs)
    assert vmap_fallbacks() == {}, "an op ran per sample"
    _close(out, _stacked([fn(*_sample(xs, dims, i)) for i in range(B)]))
    grads = None
    if argnums is not None:
        reset_vmap_fallbacks()
        grads = vmap(grad(_scalar(fn), argnums=argnums), in_dims=in_dims)(*xs)
        assert vmap_fallbacks() == {}, "an op ran per sample under vmap(grad)"
        per_sample = [grad(_scalar(fn), argnums=argnums)(*_sample(xs, dims, i)) for i in range(B)]
        _close(grads, _stacked(per_sample))
    if torch is None:
        return
    tfn = make(*_modules("torch"))
    txs = _tensors("torch", arrays)
    _close(out, [retrograd.tensor(o.numpy()) for o in _flat(torch.func.vmap(tfn, in_dims=in_dims)(*txs))])
    if argnums is not None and name not in TORCH_VMAP_GRAD_RAISES:
        tgrads = torch.func.vmap(torch.func.grad(_scalar(tfn), argnums=argnums), in_dims=in_dims)(*txs)
        _close(grads, [retrograd.tensor(g.numpy()) for g in _flat(tgrads)])


def test_nested_vmap_of_layer_norm_and_group_norm():
    F = retrograd.nn.functional
    x = retrograd.tensor(_arr(B, 2, 4, 3))
    reset_vmap_fallbacks()
    _close(vmap(vmap(lambda a: F.layer_norm(a, (3,))))(x), F.layer_norm(x, (3,)))
    _close(vmap(vmap(lambda a: F.group_norm(a[None], 2)[0]))(x), F.group_norm(x.reshape(-1, 4, 3), 2).reshape(x.shape))
    assert vmap_fallbacks() == {}


def test_batch_norm_training_with_unbatched_running_stats_raises_as_torch():
    F = retrograd.nn.functional
    bn = retrograd.nn.BatchNorm1d(3).double()
    with pytest.raises(RuntimeError, match="running_mean or running_var, which will be updated in place"):
        vmap(bn)(retrograd.tensor(_arr(B, 4, 3)))
    with pytest.raises(RuntimeError, match="were not batched"):
        vmap(lambda a: F.instance_norm(a, retrograd.zeros(3), retrograd.ones(3)))(retrograd.tensor(_arr(B, 2, 3, 4)))
    bn.eval()  # running statistics read, not written: batched
    reset_vmap_fallbacks()
    _close(vmap(bn)(retrograd.tensor(_arr(B, 4, 3))), bn(retrograd.tensor(_arr(B, 4, 3)).reshape(-1, 3)).reshape(B, 4, 3))
    assert vmap_fallbacks() == {}


RECURRENT = [("RNN", dict(nonlinearity="relu")), ("LSTM", dict(num_layers=2, bidirectional=True)),
             ("GRU", dict(batch_first=True)), ("LSTM", dict(proj_size=2)), ("RNN", dict(bidirectional=True))]


@pytest.mark.parametrize("kind, options", RECURRENT, ids=[f"{k} {o}" for k, o in RECURRENT])
def test_recurrent_layers_batched_and_per_sample_gradients(kind, options):
    """vmap of a recurrent module (the samples' sequences side by side in one layer), and its
    per-sample parameter gradients (the layer replayed step by step with batched weights)."""
    retrograd.manual_seed(0)
    module = getattr(retrograd.nn, kind)(5, 4, **options).double()
    x = retrograd.tensor(_arr(B, 4, 2, 5))
    params = {k: v.detach() for k, v in module.named_parameters()}

    def run(lib_module, functional_call):
        return lambda p, a: _flat(functional_call(lib_module, p, (a,)))[0]

    f = run(module, retrograd.func.functional_call)
    reset_vmap_fallbacks()
    out = vmap(f, in_dims=(None, 0))(params, x)
    grads = vmap(grad(_scalar(f)), in_dims=(None, 0))(params, x)
    assert vmap_fallbacks() == {}
    _close(out, retrograd.stack([f(params, x[i]) for i in range(B)]))
    for i in range(B):
        _close(list(grad(_scalar(f))(params, x[i]).values()), [g[i] for g in grads.values()])
    if torch is None:
        return
    tmodule = getattr(torch.nn, kind)(5, 4, **options).double()
    tparams = {k: torch.tensor(v.numpy()) for k, v in params.items()}
    tf = run(tmodule, torch.func.functional_call)
    tx = torch.tensor(x.numpy())
    # torch.func.vmap has no batching rule for its recurrent layers (it raises): torch per sample
    _close(out, retrograd.tensor(torch.stack([tf(tparams, tx[i]) for i in range(B)]).detach().numpy()))
    tgrads = [torch.func.grad(_scalar(tf))(tparams, tx[i]) for i in range(B)]
    _close(list(grads.values()), [retrograd.tensor(torch.stack([g[k] for g in tgrads]).numpy()) for k in grads])


def test_zero_grad_to_batched():
    """grid_sample's node that gives the grid a zero gradient, with either argument batched."""
    from retrograd.ops.upsample import _ZeroGradTo

    y, other = retrograd.tensor(_arr(B, 2, 3)), retrograd.tensor(_arr(4, seed=1))
    reset_vmap_fallbacks()
    _close(vmap(_ZeroGradTo.apply, in_dims=(0, None))(y, other), y)
    _close(vmap(_ZeroGradTo.apply, in_dims=(None, 0))(y[0], y[:, 0]), y[0].expand(B, 2, 3))
    gy, go = vmap(grad(lambda a, o: (_ZeroGradTo.apply(a, o) ** 2).sum(), argnums=(0, 1)))(y, y[:, :, 0])
    assert vmap_fallbacks() == {}
    _close(gy, 2 * y)
    _close(go, retrograd.zeros(B, 2, dtype=retrograd.float64))


def test_argmax_of_all_elements_keeps_the_samples_dims():
    """argmax(keepdim=True) of a (3, 5) sample is (1, 1), so the batch's is (B, 1, 1) (torch.func.vmap
    gives (B, 1) there, unlike its own per-sample result)."""
    x = retrograd.tensor(_arr(B, 3, 5))
    out = vmap(lambda a: a.argmax(keepdim=True))(x)
    _close(out, retrograd.stack([x[i].argmax(keepdim=True) for i in range(B)]))
    assert tuple(out.shape) == (B, 1, 1)


def test_in_place_op_on_an_unbatched_tensor_with_a_batched_operand_raises_as_torch():
    for t in (retrograd,) + ((torch,) if torch is not None else ()):
        x = t.tensor(_arr(B, 3, 4))
        with pytest.raises(RuntimeError):  # (torch's add_ words it as a shape mismatch)
            t.func.vmap(lambda a: t.zeros(3, 4, dtype=t.float64).add_(a))(x)
        with pytest.raises(RuntimeError, match="inplace arithmetic"):
            t.func.vmap(lambda a: t.zeros(3, 4, dtype=t.float64).copy_(a))(x)


def test_in_place_op_on_a_vmapped_input_writes_into_it_as_torch():
    x = retrograd.tensor(_arr(B, 3, 4))
    expected = x * 2 + 1
    reset_vmap_fallbacks()
    vmap(lambda a: a.mul_(2).add_(1))(x)
    assert vmap_fallbacks() == {}
    _close(x, expected)


@pytest.mark.parametrize("kind, options", [("LSTM", {}), ("GRU", dict(bidirectional=True)), ("RNN", dict(num_layers=2))])
def test_packed_sequences_batched(kind, options):
    """Packed sequences (pack_padded_sequence's row gathers and the layer's packed steps) of every
    sample in one packed batch; values and gradients against a loop and torch per sample."""
    retrograd.manual_seed(0)
    module = getattr(retrograd.nn, kind)(5, 3, **options).double()
    x = retrograd.tensor(_arr(B, 4, 2, 5))

    def run(lib, m):
        rnn = lib.nn.utils.rnn
        return lambda a: rnn.pad_packed_sequence(m(rnn.pack_padded_sequence(a, [2, 4], enforce_sorted=False))[0])[0]

    f = run(retrograd, module)
    reset_vmap_fallbacks()
    out = vmap(f)(x)
    grads = vmap(grad(_scalar(f)))(x)
    assert vmap_fallbacks() == {}
    _close(out, retrograd.stack([f(x[i]) for i in range(B)]))
    _close(grads, retrograd.stack([grad(_scalar(f))(x[i]) for i in range(B)]))
    if torch is not None:
        tmodule = getattr(torch.nn, kind)(5, 3, **options).double()
        tmodule.load_state_dict({k: torch.tensor(v.numpy()) for k, v in module.state_dict().items()})
        tf = run(torch, tmodule)
        _close(out, [retrograd.tensor(torch.stack([tf(torch.tensor(x[i].numpy())) for i in range(B)]).detach().numpy())])


def test_jacobians_of_lookups_batch_their_backward_scatters():
    """jacrev under vmap runs the backward with batched cotangents: embedding's and max pooling's
    backward ops (RowScatter, the block scatter) batched too."""
    F = retrograd.nn.functional
    idx = retrograd.tensor([[0, 2], [2, 4]])
    w = retrograd.tensor(_arr(B, 5, 3))
    x = retrograd.tensor(_arr(B, 1, 2, 4, 4))
    for f, a in ((lambda t: F.embedding(idx, t, padding_idx=4), w), (lambda t: F.max_pool2d(t, 2), x)):
        reset_vmap_fallbacks()
        jac = vmap(retrograd.func.jacrev(f))(a)
        assert vmap_fallbacks() == {}
        _close(jac, retrograd.stack([retrograd.func.jacrev(f)(a[i]) for i in range(B)]))
