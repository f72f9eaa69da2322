"""nn.MultiheadAttention and the Transformer layers: torch's names, values and gradients."""

import warnings

import numpy as np
import pytest

import retrograd
from retrograd import nn
from helpers import rand, reference, requires_torch, torch

# torch's own deprecation/performance notes about the oracle's configuration
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched", "ignore:enable_nested_tensor")


def _seeded(lib, m):
    """m in float64 with its parameters set to seeded uniforms (by name: the same in both libraries)."""
    m = m.double()
    with lib.no_grad():
        for i, (_, p) in enumerate(sorted(m.named_parameters(), key=lambda item: item[0])):
            p.copy_(lib.tensor(rand(*p.shape, low=-0.5, high=0.5, seed=100 + i)))
    return m


def _module(lib, name, *args, **kwargs):
    return _seeded(lib, getattr(lib.nn, name)(*args, **kwargs))


def _results(lib, m, outs, leaves):
    """Outputs (those not None), then the gradients of the leaves and parameters from seeded
    upstream gradients, and the state_dict keys."""
    outs = [o for o in (outs if isinstance(outs, tuple) else (outs,)) if o is not None]
    gs = [rand(*o.shape, seed=40 + i) for i, o in enumerate(outs)]
    sum((o * lib.tensor(g)).sum() for o, g in zip(outs, gs)).backward()
    return ([o.detach().numpy() for o in outs], [leaf.grad.numpy() for leaf in leaves],
            [(n, None if p.grad is None else p.grad.numpy()) for n, p in m.named_parameters()], list(m.state_dict()))


def _assert_like_torch(run, atol=1e-9):
    """run(lib) gives the same results (see _results) with retrograd as with torch (recorded)."""
    (r_out, r_leaves, r_params, r_keys), (t_out, t_leaves, t_params, t_keys) = run(retrograd), reference(
        lambda: run(torch))
    assert r_keys == t_keys and len(r_out) == len(t_out) and len(r_params) == len(t_params)
    for r, t in zip(r_out, t_out):
        assert r.shape == t.shape
        np.testing.assert_allclose(r, t, atol=atol)
    for r, t in zip(r_leaves, t_leaves):
        np.testing.assert_allclose(r, t, atol=atol * 10)
    for (n, p), (_, tp) in zip(r_params, t_params):
        if tp is None:
            assert p is None or not np.any(p), n
            continue
        np.testing.assert_allclose(p, tp, atol=atol * 10, err_msg=n)


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


def _mha_masks(lib, opts, N, H, L, S):
    kw = {}
    kind = opts.get("key_padding_mask")
    if kind:
        m = np.zeros((N, S), dtype=bool)
        m[1, -2:] = True
        m = m if kind == "bool" else np.where(m, -1e9, 0.0) + rand(N, S, seed=11) * 0.1
        kw["key_padding_mask"] = lib.tensor(m)
    kind = opts.get("attn_mask")
    if kind == "bool":
        kw["attn_mask"] = lib.tensor(np.triu(np.ones((L, S), dtype=bool), 1))
    elif kind == "float3d":
        kw["attn_mask"] = lib.tensor(rand(N * H, L, S, seed=12))
    for k in ("need_weights", "average_attn_weights"):
        if k in opts:
            kw[k] = opts[k]
    return kw


@pytest.mark.parametrize("name,ctor,opts", MHA_CONFIGS, ids=[c[0] for c in MHA_CONFIGS])
def test_multihead_attention_matches_torch(name, ctor, opts):
    E, H, N, L = 8, 2, 2, 4
    S = 4 if "kdim" not in ctor else 5
    bf = ctor.get("batch_first", False)
    unbatched = opts.get("unbatched", False)

    def shape(T, F):
        if unbatched:
            return (T, F)
        return (N, T, F) if bf else (T, N, F)

    arrays = [rand(*shape(L, E), seed=1)]
    if name.startswith("cross"):
        arrays += [rand(*shape(S, ctor["kdim"]), seed=2), rand(*shape(S, ctor["vdim"]), seed=3)]

    def run(lib):
        m = _module(lib, "MultiheadAttention", E, H, **ctor)
        leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
        kw = _mha_masks(lib, opts, N, H, L, S)
        if unbatched:
            kw.pop("key_padding_mask", None)
        return _results(lib, m, m(*(leaves if len(leaves) == 3 else leaves * 3), **kw), leaves)

    _assert_like_torch(run)


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


@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
def test_encoder_layer_and_stack_match_torch(cfg):
    E, H, N, L = 8, 2, 2, 5
    layer_kw = dict(dim_feedforward=16, dropout=0.0, **cfg)
    bf = cfg.get("batch_first", False)
    x = rand(*((N, L, E) if bf else (L, N, E)), seed=1)
    mask = np.triu(np.full((L, L), -np.inf), 1)
    kpm = np.zeros((N, L), dtype=bool)
    kpm[0, -1] = True

    def run_layer(lib):
        m = _module(lib, "TransformerEncoderLayer", E, H, **layer_kw)
        xt = lib.tensor(x, requires_grad=True)
        return _results(lib, m, m(xt, src_mask=lib.tensor(mask), src_key_padding_mask=lib.tensor(kpm)), [xt])

    def run_stack(lib):
        m = _seeded(lib, lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(E, H, **layer_kw), 2,
                                                   norm=lib.nn.LayerNorm(E), enable_nested_tensor=False))
        xt = lib.tensor(x, requires_grad=True)
        return _results(lib, m, m(xt, mask=lib.tensor(mask)), [xt])

    _assert_like_torch(run_layer)
    _assert_like_torch(run_stack)
    assert "layers.1.self_attn.in_proj_weight" in run_stack(retrograd)[3]


@pytest.mark.parametrize("cfg", LAYER_CONFIGS)
def test_transformer_matches_torch(cfg):
    E, H, N, S, T = 8, 2, 2, 5, 4
    kw = dict(num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16, dropout=0.0, **cfg)
    bf = cfg.get("batch_first", False)
    src = rand(*((N, S, E) if bf else (S, N, E)), seed=1)
    tgt = rand(*((N, T, E) if bf else (T, N, E)), seed=2)
    tmask = nn.Transformer.generate_square_subsequent_mask(T).double().numpy()
    np.testing.assert_array_equal(tmask, reference(
        lambda: torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64).numpy()))
    mkpm = np.zeros((N, S), dtype=bool)
    mkpm[1, -2:] = True

    def run(lib):
        m = _module(lib, "Transformer", E, H, **kw)
        leaves = [lib.tensor(a, requires_grad=True) for a in (src, tgt)]
        out = m(*leaves, tgt_mask=lib.tensor(tmask), memory_key_padding_mask=lib.tensor(mkpm), tgt_is_causal=True)
        return _results(lib, m, out, leaves)

    _assert_like_torch(run)


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


def test_functional_multi_head_attention_forward():
    E, H, L, S, N = 4, 2, 3, 5, 2
    arrays = dict(q=rand(L, N, E, seed=1), k=rand(S, N, E, seed=2), v=rand(S, N, E, seed=3),
                  w=rand(3 * E, E, seed=4), b=rand(3 * E, seed=5), ow=rand(E, E, seed=6),
                  ob=rand(E, seed=7), bk=rand(1, 1, E, seed=8), bv=rand(1, 1, E, seed=9))
    kpm = np.zeros((N, S), dtype=bool)
    kpm[0, -1] = True

    def run(mod):
        t = {k: mod.tensor(a, requires_grad=True) for k, a in arrays.items()}
        out, w = mod.nn.functional.multi_head_attention_forward(
            t["q"], t["k"], t["v"], E, H, t["w"], t["b"], t["bk"], t["bv"], True, 0.0, t["ow"],
            t["ob"], key_padding_mask=mod.tensor(kpm), average_attn_weights=False)
        (out.sum() + (w * w).sum()).backward()
        return out.detach().numpy(), w.detach().numpy(), {k: v.grad.numpy() for k, v in t.items()}

    (ro, rw, rt), (to, tw, tt) = run(retrograd), reference(lambda: run(torch))
    np.testing.assert_allclose(ro, to, atol=1e-10)
    np.testing.assert_allclose(rw, tw, atol=1e-10)
    for k in arrays:
        np.testing.assert_allclose(rt[k], tt[k], atol=1e-9, err_msg=k)


# ------------------------------------------------- TransformerEncoder's nested-tensor path

_WHY_NOT_NESTED = [  # (layer keywords, torch's reason; '' where it takes the nested path)
    (dict(), "encoder_layer.self_attn.batch_first was not True(use batch_first for better inference "
             "performance)"),
    (dict(batch_first=True), ""),
    (dict(batch_first=True, norm_first=True), "encoder_layer.norm_first was True"),
    (dict(batch_first=True, activation="gelu"), ""),
    (dict(batch_first=True, activation="tanh"), "encoder_layer.activation_relu_or_gelu was not True"),
    (dict(batch_first=True, bias=False), "encoder_layer.self_attn was passed bias=False"),
    (dict(batch_first=True, nhead=1), "encoder_layer.self_attn.num_heads is odd"),
]


def _encoder(lib, enable=True, nhead=2, activation="relu", **kwargs):
    act = getattr(lib, activation) if activation == "tanh" else activation
    layer = lib.nn.TransformerEncoderLayer(8, nhead, 16, activation=act, **kwargs)
    return lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=enable)


@pytest.mark.parametrize("lib", ["retrograd", "torch"])
@pytest.mark.parametrize("kwargs,why", _WHY_NOT_NESTED)
def test_enable_nested_tensor_warns_as_torch(lib, kwargs, why):
    lib = retrograd if lib == "retrograd" else torch or pytest.skip("torch is not installed")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        enc = _encoder(lib, **kwargs)
        quiet = _encoder(lib, enable=False, **kwargs)
    messages = [str(w.message) for w in seen if "nested" in str(w.message)]
    assert messages == ([f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why}"]
                        if why else [])
    assert enc.use_nested_tensor == (not why) and not quiet.use_nested_tensor


def test_nested_path_pads_with_zeros_as_torch():
    """At inference with a padding mask torch runs the layers on nested tensors and pads the
    result with zeros (before the final norm); with autograd recording it does not."""
    enc = _seeded(retrograd, nn.TransformerEncoder(nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True), 2, norm=nn.LayerNorm(8))).eval()
    x = retrograd.tensor(rand(2, 4, 8, seed=1))
    pad = retrograd.tensor([[False, False, True, True], [False, False, False, True]])
    with retrograd.no_grad():
        y = enc(x, src_key_padding_mask=pad)
    recorded = enc(x, src_key_padding_mask=pad)  # parameters require grad: no nested path
    norm_of_zeros = enc.norm(retrograd.zeros(8, dtype=retrograd.float64)).detach().numpy()
    for b, s in [(0, 2), (0, 3), (1, 3)]:
        np.testing.assert_allclose(y[b, s].numpy(), norm_of_zeros)
        assert not np.allclose(recorded[b, s].detach().numpy(), norm_of_zeros)
    keep = ~pad.numpy()
    np.testing.assert_allclose(y.numpy()[keep], recorded.detach().numpy()[keep], atol=1e-12)
    if torch is not None:
        tenc = _seeded(torch, torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(
            8, 2, 16, dropout=0.0, batch_first=True), 2, norm=torch.nn.LayerNorm(8))).eval()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note that its nested tensors are a prototype
            ty = tenc(torch.tensor(rand(2, 4, 8, seed=1)), src_key_padding_mask=torch.tensor(pad.numpy()))
        np.testing.assert_allclose(y.numpy(), ty.numpy(), atol=1e-10)


def _mask_warnings(lib):
    """The mismatched-mask warnings of each call, by case: torch deprecates a padding mask whose
    dtype differs from the attention mask's, and warns where its modules combine the two."""
    b, d = lib.bool, lib.float64
    x = lib.zeros(3, 2, 4, dtype=d)
    mha = lib.nn.MultiheadAttention(4, 1).double()
    enc_layer = lib.nn.TransformerEncoderLayer(4, 1, 8, 0.0).double()
    encoder = lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(4, 1, 8, 0.0), 2,
                                        enable_nested_tensor=False).double()
    dec_layer = lib.nn.TransformerDecoderLayer(4, 1, 8, 0.0).double()
    square, pad = (lambda dt: lib.zeros(3, 3, dtype=dt)), (lambda dt: lib.zeros(2, 3, dtype=dt))
    cases = {
        "mha float mask, bool padding": lambda: mha(x, x, x, attn_mask=square(d), key_padding_mask=pad(b)),
        "mha bool mask, float padding": lambda: mha(x, x, x, attn_mask=square(b), key_padding_mask=pad(d)),
        "mha float32 mask, float64 padding": lambda: mha(x, x, x, attn_mask=square(lib.float32),
                                                         key_padding_mask=pad(d), need_weights=False),
        "mha same dtypes": lambda: mha(x, x, x, attn_mask=square(b), key_padding_mask=pad(b)),
        "functional": lambda: lib.nn.functional.multi_head_attention_forward(
            x, x, x, 4, 1, mha.in_proj_weight, mha.in_proj_bias, None, None, False, 0.0, mha.out_proj.weight,
            mha.out_proj.bias, attn_mask=square(b), key_padding_mask=pad(d)),
        "encoder layer": lambda: enc_layer(x, src_mask=square(d), src_key_padding_mask=pad(b)),
        "encoder": lambda: encoder(x, mask=square(d), src_key_padding_mask=pad(b)),
        "decoder layer": lambda: dec_layer(x, x, tgt_mask=square(d), tgt_key_padding_mask=pad(b)),
        "decoder layer, memory padding only": lambda: dec_layer(x, x, tgt_mask=square(d),
                                                                memory_key_padding_mask=pad(b)),
    }
    found = {}
    for name, call in cases.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        found[name] = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return found


def _mismatch(mask, other):
    return f"Support for mismatched {mask} and {other} is deprecated. Use same type for both instead."


MASK_WARNINGS = {  # torch 2.13's
    "mha float mask, bool padding": [_mismatch("key_padding_mask", "attn_mask")],
    "mha bool mask, float padding": [_mismatch("key_padding_mask", "attn_mask")],
    "mha float32 mask, float64 padding": [_mismatch("key_padding_mask", "attn_mask")] * 2,  # module, functional
    "mha same dtypes": [],
    "functional": [_mismatch("key_padding_mask", "attn_mask")],
    "encoder layer": [_mismatch("src_key_padding_mask", "src_mask")],  # once: the layer passes float masks on
    "encoder": [_mismatch("src_key_padding_mask", "mask")],
    "decoder layer": [_mismatch("key_padding_mask", "attn_mask")],
    "decoder layer, memory padding only": [],
}


def test_mismatched_mask_dtypes_warn_as_torchs():
    """The translation tutorial's float causal mask next to bool padding masks warned in torch
    and was silent here."""
    assert _mask_warnings(retrograd) == MASK_WARNINGS


@requires_torch
def test_the_recorded_mask_warnings_are_torchs():
    assert _mask_warnings(torch) == MASK_WARNINGS
