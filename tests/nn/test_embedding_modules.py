"""Embedding and EmbeddingBag modules against torch: lookups, gradients, padding_idx, from_pretrained."""

import numpy as np
import pytest

import retrograd
from retrograd import nn
from tests.nn._layer_helpers import compare_modules

IDX = np.array([[1, 0, 3], [3, 3, 4]])


@pytest.mark.parametrize("kw", [dict(), dict(padding_idx=3), dict(scale_grad_by_freq=True), dict(max_norm=1.0)])
def test_embedding_like_torch(kw):
    compare_modules(lambda lib: lib.nn.Embedding(5, 4, **kw), (IDX,))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_like_torch(mode):
    compare_modules(lambda lib: lib.nn.EmbeddingBag(6, 3, mode=mode),
                    (np.array([1, 2, 5, 5, 0, 3]), np.array([0, 2, 2, 5])), (IDX,))


def test_padding_row_zero_and_no_grad():
    m = nn.Embedding(4, 3, padding_idx=1)
    assert not m.weight.detach().numpy()[1].any()
    m(retrograd.tensor([1, 2, 1])).sum().backward()
    assert not m.weight.grad.numpy()[1].any() and m.weight.grad.numpy()[2].all()
    assert m.weight.dtype == retrograd.float32


def test_from_pretrained():
    w = retrograd.tensor([[1.0, 2.0], [3.0, 4.0]])
    m = nn.Embedding.from_pretrained(w)
    assert not m.weight.requires_grad
    np.testing.assert_array_equal(m(retrograd.tensor([1, 0])).numpy(), [[3, 4], [1, 2]])
    assert nn.Embedding.from_pretrained(w, freeze=False).weight.requires_grad
    b = nn.EmbeddingBag.from_pretrained(w, mode="sum")
    np.testing.assert_array_equal(b(retrograd.tensor([[0, 1]])).numpy(), [[4, 6]])
    assert list(nn.Embedding(3, 2).state_dict()) == ["weight"]
