"""nn.MultiheadAttention and the Transformer layers: torch's names, values and gradients."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from helpers import rand, requires_torch, torch

# torch's own deprecation/performance notes about the oracle's configuration
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched", "ignore:enable_nested_tensor")


def _load(rm, tm):
    res = rm.load_state_dict({k: retrograd.tensor(v.detach().numpy())
                              for k, v in tm.state_dict().items()})
    assert not res.missing_keys and not res.unexpected_keys
    assert list(rm.state_dict()) == list(tm.state_dict())


def _compare(r_out, t_out, r_leaves, t_leaves, rm, tm, atol=1e-9):
    r_out = [o for o in r_out if o is not None]
    t_out = [o for o in t_out if o is not None]
    assert len(r_out) == len(t_out)
    for r, t in zip(r_out, t_out):
        assert tuple(r.shape) == tuple(t.shape)
        np.testing.assert_allclose(r.detach().numpy(), t.detach().numpy(), atol=atol)
    gs = [rand(*t.shape, seed=40 + i) for i, t in enumerate(t_out)]
    sum((r * retrograd.tensor(g)).sum() for r, g in zip(r_out, gs)).backward()
    sum((t * torch.tensor(g)).sum() for t, g in zip(t_out, gs)).backward()
    for r, t in zip(r_leaves, t_leaves):
        np.testing.assert_allclose(r.grad.numpy(), t.grad.numpy(), atol=atol * 10)
    for (n, p), (_, tp) in zip(rm.named_parameters(), tm.named_parameters()):
        if tp.grad is None:
            assert p.grad is None or not np.any(p.grad.numpy()), n
            continue
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=atol * 10, err_msg=n)


def _pair(name, *args, **kwargs):
    tm = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    rm = getattr(nn, name)(*args, **kwargs).double()
    _load(rm, tm)
    return rm, tm


def _tensors(*arrays):
    return ([retrograd.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


MHA_CONFIGS = [
    ("self", dict(), dict()),
    ("self_bf", dict(batch_first=True), dict()),
    ("cross_kdim", dict(kdim=3, vdim=5), dict()),
    ("nobias", dict(bias=False), dict(average_attn_weights=False)),
    ("bias_kv_zero_attn", dict(add_bias_kv=True, add_zero_attn=True), dict()),
    ("kpm_bool", dict(), dict(key_padding_mask="bool")),
    ("kpm_float_attn_bool", dict(batch_first=True), dict(key_padding_mask="float",
                                                         attn_mask="bool")),
    ("attn_3d_float", dict(), dict(attn_mask="float3d", average_attn_weights=False)),
    ("no_weights", dict(), dict(need_weights=False, attn_mask="bool")),
    ("unbatched", dict(), dict(unbatched=True, attn_mask="bool")),
]


def _mha_masks(opts, N, H, L, S):
    r_kw, t_kw = {}, {}
    kind = opts.get("key_padding_mask")
    if kind:
        m = np.zeros((N, S), dtype=bool)
        m[1, -2:] = True
        m = m if kind == "bool" else np.where(m, -1e9, 0.0) + rand(N, S, seed=11) * 0.1
        r_kw["key_padding_mask"], t_kw["key_padding_mask"] = retrograd.tensor(m), torch.tensor(m)
    kind = opts.get("attn_mask")
    if kind == "bool":
        m = np.triu(np.ones((L, S), dtype=bool), 1)
        r_kw["attn_mask"], t_kw["attn_mask"] = retrograd.tensor(m), torch.tensor(m)
    elif kind == "float3d":
        m = rand(N * H, L, S, seed=12)
        r_kw["attn_mask"], t_kw["attn_mask"] = retrograd.tensor(m), torch.tensor(m)
    for k in ("need_weights", "average_attn_weights"):
        if k in opts:
            r_kw[k] = t_kw[k] = opts[k]
    return r_kw, t_kw


@requires_torch
@pytest.mark.parametrize("name,ctor,opts", MHA_CONFIGS, ids=[c[0] for c in MHA_CONFIGS])
def test_multihead_attention_matches_torch(name, ctor, opts):
    E, H, N, L = 8, 2, 2, 4
    S = 4 if "kdim" not in ctor else 5
    rm, tm = _pair("MultiheadAttention", E, H, **ctor)
    bf = ctor.get("batch_first", False)
    unbatched = opts.pop("unbatched", False) if "unbatched" in opts else False
    opts = dict(opts)

    def shape(T, F):
        if unbatched:
            return (T, F)
        return (N, T, F) if bf else (T, N, F)

    q = rand(*shape(L, E), seed=1)
    if name.startswith("cross"):
        k, v = rand(*shape(S, ctor["kdim"]), seed=2), rand(*shape(S, ctor["vdim"]), seed=3)
        (rq, rk, rv), (tq, tk, tv) = _tensors(q, k, v)
        r_leaves, t_leaves = [rq, rk, rv], [tq, tk, tv]
    else:
        (rq,), (tq,) = _tensors(q)
        rk = rv = rq
        tk = tv = tq
        r_leaves, t_leaves = [rq], [tq]
    r_kw, t_kw = _mha_masks(opts, N, H, L, S)
    if unbatched:
        r_kw.pop("key_padding_mask", None)
        t_kw.pop("key_padding_mask", None)
    r_out = rm(rq, rk, rv, **r_kw)
    t_out = tm(tq, tk, tv, **t_kw)
    _compare(r_out, t_out, r_leaves, t_leaves, rm, tm)


def test_multihead_attention_parameters_and_errors():
    m = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True)
    names = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert names == {"q_proj_weight": (8, 8), "k_proj_weight": (8, 3), "v_proj_weight": (8, 5),
                     "in_proj_bias": (24,), "bias_k": (1, 1, 8), "bias_v": (1, 1, 8),
                     "out_proj.weight": (8, 8), "out_proj.bias": (8,)}
    assert m.in_proj_weight is None
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(8, 3)
    x = retrograd.zeros(3, 2, 8)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        nn.MultiheadAttention(8, 2)(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        nn.MultiheadAttention(8, 2)(x, x, x, attn_mask=retrograd.zeros(2, 2))


def test_multihead_attention_dropout():
    retrograd.manual_seed(0)
    m = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = retrograd.randn(4, 2, 8, requires_grad=True)
    m.eval()
    a, wa = m(x, x, x)
    b, _ = m(x, x, x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_allclose(wa.detach().numpy().sum(-1), 1.0, rtol=1e-5)
    m.train()
    c, wc = m(x, x, x)
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())
    assert (wc.detach().numpy() == 0).any()
    c.sum().backward()
    assert x.grad is not None and m.in_proj_weight.grad is not None



LAYER_CONFIGS = [
    dict(),
    dict(norm_first=True, batch_first=True),
    dict(activation="gelu", bias=False),
]


@requires_torch
@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
def test_encoder_layer_and_stack_match_torch(cfg):
    E, H, N, L = 8, 2, 2, 5
    layer_kw = dict(dim_feedforward=16, dropout=0.0, **cfg)
    rl, tl = _pair("TransformerEncoderLayer", E, H, **layer_kw)
    bf = cfg.get("batch_first", False)
    x = rand(*((N, L, E) if bf else (L, N, E)), seed=1)
    mask = np.triu(np.full((L, L), -np.inf), 1)
    kpm = np.zeros((N, L), dtype=bool)
    kpm[0, -1] = True
    (rx,), (tx,) = _tensors(x)
    kw_r = dict(src_mask=retrograd.tensor(mask), src_key_padding_mask=retrograd.tensor(kpm))
    kw_t = dict(src_mask=torch.tensor(mask), src_key_padding_mask=torch.tensor(kpm))
    _compare([rl(rx, **kw_r)], [tl(tx, **kw_t)], [rx], [tx], rl, tl)

    tenc = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(E, H, **layer_kw, dtype=torch.float64), 2,
        norm=torch.nn.LayerNorm(E, dtype=torch.float64), enable_nested_tensor=False)
    renc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, **layer_kw), 2,
                                 norm=nn.LayerNorm(E)).double()
    _load(renc, tenc)
    assert "layers.1.self_attn.in_proj_weight" in renc.state_dict()
    (rx,), (tx,) = _tensors(x)
    _compare([renc(rx, mask=retrograd.tensor(mask))], [tenc(tx, mask=torch.tensor(mask))],
             [rx], [tx], renc, tenc)


@requires_torch
@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
def test_transformer_matches_torch(cfg):
    E, H, N, S, T = 8, 2, 2, 5, 4
    kw = dict(num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16, dropout=0.0, **cfg)
    rm, tm = _pair("Transformer", E, H, **kw)
    bf = cfg.get("batch_first", False)
    src = rand(*((N, S, E) if bf else (S, N, E)), seed=1)
    tgt = rand(*((N, T, E) if bf else (T, N, E)), seed=2)
    (rs, rt), (ts, tt) = _tensors(src, tgt)
    tmask = nn.Transformer.generate_square_subsequent_mask(T).double()
    ttmask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    np.testing.assert_array_equal(tmask.numpy(), ttmask.numpy())
    mkpm = np.zeros((N, S), dtype=bool)
    mkpm[1, -2:] = True
    r_out = rm(rs, rt, tgt_mask=tmask, memory_key_padding_mask=retrograd.tensor(mkpm),
               tgt_is_causal=True)
    t_out = tm(ts, tt, tgt_mask=ttmask, memory_key_padding_mask=torch.tensor(mkpm),
               tgt_is_causal=True)
    _compare([r_out], [t_out], [rs, rt], [ts, tt], rm, tm)


def test_transformer_structure_and_errors():
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=16)
    keys = set(m.state_dict())
    for k in ("encoder.layers.0.self_attn.in_proj_weight", "encoder.layers.0.linear1.weight",
              "encoder.layers.0.norm1.weight", "encoder.norm.weight",
              "decoder.layers.0.multihead_attn.out_proj.weight", "decoder.layers.0.norm3.bias",
              "decoder.norm.bias"):
        assert k in keys, k
    with pytest.raises(RuntimeError, match="batch number"):
        m(retrograd.zeros(3, 2, 8), retrograd.zeros(3, 3, 8))
    with pytest.raises(RuntimeError, match="d_model"):
        m(retrograd.zeros(3, 2, 8), retrograd.zeros(3, 2, 4))
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation=retrograd.tanh)
    assert layer(retrograd.randn(3, 2, 8)).shape == (3, 2, 8)


def test_transformer_trains_with_clipping():
    retrograd.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1, batch_first=True,
                                       norm_first=True)
    head = nn.Linear(8, 1)
    params = list(layer.parameters()) + list(head.parameters())
    x = retrograd.randn(4, 6, 8)
    y = x.sum(-1, keepdim=True)
    mask = nn.Transformer.generate_square_subsequent_mask(6)
    losses = []
    for _ in range(15):
        loss = ((head(layer(x, src_mask=mask, is_causal=True)) - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        with retrograd.no_grad():
            for p in params:
                p -= 0.05 * p.grad
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_multihead_attention_gradcheck():
    retrograd.manual_seed(0)
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=2).double()
    q = retrograd.tensor(rand(2, 1, 4, seed=1), requires_grad=True)
    k = retrograd.tensor(rand(3, 1, 3, seed=2), requires_grad=True)
    v = retrograd.tensor(rand(3, 1, 2, seed=3), requires_grad=True)
    mask = retrograd.tensor(np.array([[False, False, True], [False, False, False]]))

    def fn(q, k, v, w):  # w is m.q_proj_weight, passed so that gradcheck perturbs it
        return m(q, k, v, attn_mask=mask)

    assert retrograd.autograd.gradcheck(fn, (q, k, v, m.q_proj_weight), eps=1e-6, atol=1e-5,
                                        rtol=1e-4)


def test_encoder_layer_gradcheck():
    retrograd.manual_seed(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu",
                                       norm_first=True).double()
    x = retrograd.tensor(rand(3, 1, 4, seed=1), requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3).double()
    assert retrograd.autograd.gradcheck(lambda x: layer(x, src_mask=mask), (x,), eps=1e-6,
                                        atol=1e-5, rtol=1e-4)
    assert retrograd.autograd.gradgradcheck(lambda x: layer(x, src_mask=mask), (x,), eps=1e-6,
                                            atol=1e-5, rtol=1e-4)


@requires_torch
def test_functional_multi_head_attention_forward():
    E, H, L, S, N = 4, 2, 3, 5, 2
    arrays = dict(q=rand(L, N, E, seed=1), k=rand(S, N, E, seed=2), v=rand(S, N, E, seed=3),
                  w=rand(3 * E, E, seed=4), b=rand(3 * E, seed=5), ow=rand(E, E, seed=6),
                  ob=rand(E, seed=7), bk=rand(1, 1, E, seed=8), bv=rand(1, 1, E, seed=9))
    kpm = np.zeros((N, S), dtype=bool)
    kpm[0, -1] = True
    res = []
    for mod, F in ((retrograd, nn.functional), (torch, torch.nn.functional)):
        t = {k: mod.tensor(a, requires_grad=True) for k, a in arrays.items()}
        out, w = F.multi_head_attention_forward(
            t["q"], t["k"], t["v"], E, H, t["w"], t["b"], t["bk"], t["bv"], True, 0.0, t["ow"],
            t["ob"], key_padding_mask=mod.tensor(kpm), average_attn_weights=False)
        (out.sum() + (w * w).sum()).backward()
        res.append((out, w, t))
    (ro, rw, rt), (to, tw, tt) = res
    np.testing.assert_allclose(ro.detach().numpy(), to.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(rw.detach().numpy(), tw.detach().numpy(), atol=1e-10)
    for k in arrays:
        np.testing.assert_allclose(rt[k].grad.numpy(), tt[k].grad.numpy(), atol=1e-9, err_msg=k)
