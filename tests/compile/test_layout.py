"""Sources written where a later copy would put them (layout.py): attention's joins of q, k, v
gradients and its output's contiguous copy, bitwise equal to eager."""

import math

import numpy as np
import pytest

import retrograd
import retrograd.nn.functional as F
from retrograd._compile import layout
from tests.compile.compare import assert_same_as_eager, fresh_compiler  # noqa: F401
from tests.helpers import rand


def _attention(heads):
    def fn(x, w_attn, b_attn, w_proj, b_proj):  # nanoGPT's CausalSelfAttention
        B, T, C = x.size()
        q, k, v = F.linear(x, w_attn, b_attn).split(C, dim=2)
        k = k.view(B, T, heads, C // heads).transpose(1, 2)
        q = q.view(B, T, heads, C // heads).transpose(1, 2)
        v = v.view(B, T, heads, C // heads).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        mask = retrograd.tril(retrograd.ones(T, T)).view(1, 1, T, T)
        att = F.softmax(att.masked_fill(mask == 0, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return F.linear(y, w_proj, b_proj)
    return fn


def _source(compiled):
    return next(g for gs in compiled._compiled.cache.values() for g in gs if g is not None).program.source


@pytest.mark.parametrize("B,T,C,heads", [(32, 16, 64, 4), (3, 7, 10, 2)])
def test_attention_products_are_written_in_place_bitwise_as_eager(B, T, C, heads):
    arrays = [rand(B, T, C, dtype=np.float32), rand(3 * C, C, seed=1, dtype=np.float32) * 0.3,
              rand(3 * C, seed=2, dtype=np.float32), rand(C, C, seed=3, dtype=np.float32) * 0.3,
              rand(C, seed=4, dtype=np.float32)]
    compiled = assert_same_as_eager(_attention(heads), arrays)
    source = _source(compiled)
    forward, backward = source.split("def backward")
    assert "np.concatenate" not in backward and backward.count("out=_into(") == 2, source  # q's and v's
    assert backward.count("np.copyto(_into(") == 1, source  # k's: its product is k^T's, not a BLAS output
    assert "out=_into(" in forward and ".copy()" not in forward, source  # (att @ v) into y's layout


def test_place_rewrites_single_use_view_chains_only():
    meta = {"g1": ((2, 3, 4), np.float32), "g2": ((2, 3, 2), np.float32), "g3": ((2, 3, 2), np.float32),
            "g4": ((3, 2, 2), np.float32), "g5": ((2, 2, 3), np.float32)}
    # g4's place, g1[:, :, 0:2] seen as (3, 2, 2), has rows of unit stride: the product writes it;
    # g5's, g1[:, :, 2:4] seen as (2, 2, 3), has not: g5 is copied into it
    body = ["    g4 = k0(a, b)", "    g2 = g4.transpose((1, 0, 2))", "    del g4",
            "    g5 = a + 1", "    g3 = g5.transpose((0, 2, 1))", "    del g5",
            "    g1 = np.concatenate([g2, g3], 2)", "    del g2, g3"]
    ns = {}
    out = layout.place(body, meta.get, ns, {"k0"})
    assert out == ["    g1 = np.empty((2, 3, 4), _dtype_g1)", "    np.matmul(a, b, out=_into(g1, _into0))",
                   "    g5 = a + 1", "    np.copyto(_into(g1, _into1), g5)", "    del g5"], out
    buf = np.zeros((2, 3, 4), np.float32)
    layout.into(buf, ns["_into0"])[...] = 1
    assert buf[:, :, :2].all() and not buf[:, :, 2:].any()
    shared = body[:3] + ["    g6 = g2 * 2"] + body[3:]  # g2 read twice: its chain stays, joined by a copy
    out = layout.place(shared, meta.get, {}, {"k0"})
    assert "    g4 = k0(a, b)" in out and "    np.copyto(g1[:, :, 0:2], g2)" in out, out


def test_an_array_joined_twice_keeps_the_join():
    meta = {"g1": ((2, 6), np.float32), "g2": ((2, 3), np.float32), "g3": ((3, 2), np.float32)}
    body = ["    g3 = k0(a, b)", "    g2 = g3.transpose((1, 0))", "    del g3", "    g1 = np.concatenate([g2, g2], 1)"]
    assert layout.place(body, meta.get, {}, {"k0"}) == body
    compiled = assert_same_as_eager(lambda a: retrograd.cat([a.t(), a.t()], 1) * 2, [rand(3, 2)])
    assert "np.concatenate" in _source(compiled)


def test_a_sink_bound_before_is_left_as_it_is():
    # g1 holds another value until the join rebinds it: making the join's array early would replace it
    meta = {"g1": ((2, 3, 4), np.float32), "g2": ((2, 3, 4), np.float32), "g4": ((3, 2, 4), np.float32)}
    body = ["    g1 = a + 1", "    g4 = k0(a, b)", "    g2 = g4.transpose((1, 0, 2))", "    del g4",
            "    g7 = g1 * 2", "    g1 = g2.copy()", "    del g2"]
    assert layout.place(body, meta.get, {}, {"k0"}) == body


def test_into_never_copies():
    spec = ((), (("shape", (6, 2)),))
    with pytest.raises(AttributeError):
        layout.into(np.zeros((3, 4)).T, spec)  # a transposed array cannot be reshaped without a copy


def test_forward_and_backward_functions_keep_their_own_views():
    # a compiled forward (not a training step): its copy's view spec and the backward's join's are
    # constants of one namespace, each under its own name
    B, T, C, heads = 4, 5, 6, 2
    arrays = [rand(B, T, C, dtype=np.float32), rand(3 * C, C, seed=1, dtype=np.float32),
              rand(3 * C, seed=2, dtype=np.float32), rand(C, C, seed=3, dtype=np.float32),
              rand(C, seed=4, dtype=np.float32)]
    compiled = assert_same_as_eager(_attention(heads), arrays)
    source = _source(compiled)
    specs = [line.split("_into(")[1].split(")")[0] for line in source.splitlines() if "_into(" in line]
    assert len(specs) == len(set(specs)) == 4, source
