"""Masks and index arrays made without an op, captured as recorded steps (as argmax's indices and
gather's keys are): attention's causal mask (a constant of the graph: it depends only on the guarded
shapes), bool/int ``&``, ``|``, ``^`` (compared again at replay, as ``x > 0`` is), ``~`` and
``logical_not`` (made again from their input's array), index_select's index (its key made again at
replay from the index's array, with eager's bounds check). Each is compared with eager's on new data
at every call (a replay baking the first call's mask or index in would differ) and counted as one
capture; ``nonzero`` still breaks (its shape depends on the data, as torch's default)."""

import numpy as np
import pytest

import retrograd
from tests.compile.compare import captures, fresh_compiler  # noqa: F401

F = retrograd.nn.functional


def _same_on_new_data(fn, make, captures, calls=4):
    """fn compiled (fullgraph: a break raises) equals eager in outputs and input gradients on ``calls``
    calls, each with new arrays from ``make(rng)``; one capture."""
    compiled = retrograd.compile(fn, fullgraph=True)
    rng = np.random.default_rng(0)
    for _ in range(calls):
        arrays = make(rng)
        results = []
        for f in (fn, compiled):
            xs = [retrograd.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
            out = f(*xs)
            if out.requires_grad:
                (out * retrograd.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape))).sum().backward()
            results.append((out.detach().numpy(), [x.grad.numpy() if x.grad is not None else None for x in xs]))
        (a, ga), (b, gb) = results
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
        for u, v in zip(ga, gb):
            assert (u is None) == (v is None)
            if u is not None:
                np.testing.assert_array_equal(u, v)
    assert captures[0] == 1


def _normal(*shapes):
    return lambda rng: [rng.normal(size=s) for s in shapes]


def test_a_causal_attention_is_one_graph(captures, fresh_compiler):  # noqa: F811
    def attend(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    _same_on_new_data(attend, _normal((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4)), captures)


def test_a_causal_attention_with_a_float_mask_is_one_graph(captures, fresh_compiler):  # noqa: F811
    def attend(q, k, v, m):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True)

    _same_on_new_data(attend, _normal((2, 5, 4), (2, 6, 4), (2, 6, 4), (5, 6)), captures)


def test_bool_and_or_xor_not_of_masks_replay_each_calls_masks(captures, fresh_compiler):  # noqa: F811
    def masked(x, y):
        m = (x > 0) | (y < 0)
        n = (x > 0.5) & ~(y > 0.2)
        k = retrograd.logical_not(x < -0.5) ^ (y > 0)
        return x * m + y * n - x.logical_not().double() + k.double() * 2 + (m | True).double()

    _same_on_new_data(masked, _normal((3, 4), (3, 4)), captures)


def test_integer_bitwise_ops_replay_each_calls_values(captures, fresh_compiler):  # noqa: F811
    def bits(a, b):
        return (a & b) | (a ^ 3) | ~b

    _same_on_new_data(bits, lambda rng: [rng.integers(0, 64, (5,)), rng.integers(0, 64, (5,))], captures)


def test_a_mask_combined_with_a_key_padding_mask_is_one_graph(captures, fresh_compiler):  # noqa: F811
    def attend(q, pad):
        keep = (pad > 0).unsqueeze(1) & retrograd.ones(5, 5, dtype=retrograd.bool).tril()
        return F.scaled_dot_product_attention(q, q, q, attn_mask=keep.unsqueeze(1))

    def make(rng):
        pad = rng.normal(size=(2, 5))
        pad[:, 0] = 1.0  # (each row keeps one key: no all-masked row)
        return [rng.normal(size=(2, 1, 5, 4)), pad]

    _same_on_new_data(attend, make, captures)


def test_index_select_by_an_index_an_op_made_replays_each_calls_index(captures, fresh_compiler):  # noqa: F811
    def select(x, w):
        rows = x.index_select(0, w.argmax(dim=1))
        cols = retrograd.index_select(x, 1, (w.sum(0) > 0).long())
        return rows.sum(1, keepdim=True) * w + cols.sum(1, keepdim=True)

    _same_on_new_data(select, _normal((4, 3), (4, 3)), captures)


def test_index_select_by_an_input_index_checks_its_bounds_at_each_replay(captures, fresh_compiler):  # noqa: F811
    def select(x, i):
        return x.index_select(1, i) * 2

    compiled = retrograd.compile(select, fullgraph=True)
    x = retrograd.arange(12.0).reshape(3, 4)
    for i in ([0, 3, 1], [2, 2, 0], [1, 0, 3]):
        index = retrograd.tensor(i)
        assert retrograd.equal(compiled(x, index), select(x, index))
    for bad in ([0, 4, 1], [-1, 0, 0]):
        index = retrograd.tensor(bad)
        with pytest.raises(RuntimeError) as eager:
            select(x, index)
        with pytest.raises(RuntimeError) as replayed:
            compiled(x, index)
        assert str(replayed.value) == str(eager.value)
    assert captures[0] == 1


def test_nonzero_still_breaks(fresh_compiler):  # noqa: F811
    # (its shape depends on the data: torch 2.13 breaks there too by default)
    def positive_rows(x):
        return x[(x > 0).nonzero()[:, 0]] * 2

    report = retrograd.compiler.explain(positive_rows)(retrograd.randn(5, 2))
    assert report.graph_break_count == 1


def test_topk_sort_and_argsort_indices_replay_each_calls_order(captures, fresh_compiler):  # noqa: F811
    def ranked(x, w):
        v, i = x.topk(2, dim=1)
        s, j = retrograd.sort(x, dim=0, descending=True)
        a = x.argsort(dim=1)
        small = x.topk(3, dim=0, largest=False).values
        return v * 2 + w.gather(1, i) + s[:, :2] + a[:, :2] + j[:, :2] + small.sum(0)[:2]

    _same_on_new_data(ranked, _normal((4, 5), (4, 5)), captures)


def test_topk_indices_returned_and_used_as_an_index(captures, fresh_compiler):  # noqa: F811
    def top(x, table):
        _, i = x.topk(3)
        return table[i] * x.max(), i

    compiled = retrograd.compile(top, fullgraph=True)
    rng = np.random.default_rng(0)
    table = retrograd.tensor(rng.normal(size=(6,)))
    for _ in range(4):
        x = retrograd.tensor(rng.normal(size=(6,)))
        (a, i), (b, j) = top(x, table), compiled(x, table)
        assert retrograd.equal(a, b) and retrograd.equal(i, j) and j.dtype == retrograd.int64
    assert captures[0] == 1


def test_a_greedy_decoder_feeding_back_topk_from_a_filled_start_token(captures, fresh_compiler):  # noqa: F811
    # seq2seq's decoder: torch.empty(..., dtype=long).fill_(SOS) (a constant written in place) then each step's
    # topk(1) index fed back into the embedding
    retrograd.manual_seed(0)
    emb, lin = retrograd.nn.Embedding(7, 3).double(), retrograd.nn.Linear(3, 7).double()

    def decode(h):
        token = retrograd.empty(2, 1, dtype=retrograd.long).fill_(5)
        outs = []
        for _ in range(3):
            out = lin(emb(token) + h)
            outs.append(out)
            token = out.topk(1)[1].squeeze(-1).detach()
        return retrograd.cat(outs, 1)

    _same_on_new_data(decode, _normal((2, 1, 3)), captures)
