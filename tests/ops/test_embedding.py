"""Embedding ops: lookups and bags against finite differences and torch."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import embedding as E
from tests.helpers import check_op, rand, requires_torch, torch


def F(t):
    return E if t is retrograd else t.nn.functional


IDX = np.array([[0, 2, 4], [4, 3, 2]])


@pytest.mark.parametrize("kw", [dict(), dict(padding_idx=2), dict(scale_grad_by_freq=True),
                                dict(padding_idx=-1, scale_grad_by_freq=True)])
def test_embedding(kw):
    exact = not kw  # padding_idx and scale_grad_by_freq alter the gradient on purpose: only torch can judge
    check_op(lambda t, w: F(t).embedding(t.tensor(IDX), w, **kw), (5, 3), gradcheck=exact, gradgradcheck=exact)


@requires_torch
def test_embedding_max_norm_renorms_in_place():
    w = rand(6, 4, low=-3, high=3)
    res = []
    for t in (retrograd, torch):
        wt = t.tensor(w.copy())
        y = F(t).embedding(t.tensor([[1, 2], [2, 5]]), wt, max_norm=1.5)
        res.append((y.numpy(), wt.numpy()))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-6)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-6)


def test_embedding_errors():
    w = retrograd.zeros(3, 2)
    with pytest.raises(IndexError, match="index out of range"):
        E.embedding(retrograd.tensor([3]), w)
    with pytest.raises(RuntimeError, match="indices"):
        E.embedding(retrograd.tensor([1.0]), w)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_offsets(mode):
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 0])
    check_op(lambda t, w: F(t).embedding_bag(t.tensor(idx), w, t.tensor([0, 3, 3, 6]), mode=mode), (6, 3))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_padding(mode):
    idx = np.array([[1, 2, 0], [0, 0, 3]])
    check_op(lambda t, w: F(t).embedding_bag(t.tensor(idx), w, mode=mode, padding_idx=0), (5, 2))


def test_embedding_bag_per_sample_weights_and_last_offset():
    idx = np.array([1, 2, 4, 3])
    check_op(lambda t, w, p: F(t).embedding_bag(t.tensor(idx), w, t.tensor([0, 1, 4]), mode="sum",
                                                per_sample_weights=p, include_last_offset=True), (5, 2), (4,))


def test_many_repeats_scatter():
    idx = np.array([[0] * 40 + [1, 2, 1]])  # more than 16 repeats takes the segment-sum path
    check_op(lambda t, w: F(t).embedding(t.tensor(idx), w), (3, 2), gradgradcheck=False)
