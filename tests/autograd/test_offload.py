"""Activation offloading hooks: same gradients; disk files removed after backward, when the
graph is dropped, and when backward raises."""

import os

import numpy as np
import pytest

import retrograd as torch
from retrograd.autograd.graph import save_on_cpu, save_on_disk


def _forward(x, W):
    return (torch.tanh(x @ W) * x).sum()


def _inputs():
    torch.manual_seed(0)
    return torch.randn(16, 8, requires_grad=True), torch.randn(8, 8, requires_grad=True)


def _reference():
    x, W = _inputs()
    _forward(x, W).backward()
    return x.grad.numpy().copy(), W.grad.numpy().copy()


@pytest.mark.parametrize("hooks", [lambda d: save_on_cpu(), lambda d: save_on_disk(d), lambda d: save_on_disk()])
def test_same_gradients(hooks, tmp_path):
    x, W = _inputs()
    with hooks(str(tmp_path)):
        loss = _forward(x, W)
    loss.backward()
    gx, gW = _reference()
    np.testing.assert_array_equal(x.grad.numpy(), gx)
    np.testing.assert_array_equal(W.grad.numpy(), gW)


def test_disk_files_removed_after_backward(tmp_path):
    x, W = _inputs()
    with save_on_disk(str(tmp_path)):
        loss = _forward(x, W)
    assert len(os.listdir(tmp_path)) >= 3
    loss.backward()
    assert os.listdir(tmp_path) == []


def test_disk_files_removed_when_graph_dropped(tmp_path):
    x, W = _inputs()
    with save_on_disk(str(tmp_path)):
        loss = _forward(x, W)
    assert os.listdir(tmp_path)
    del loss
    assert os.listdir(tmp_path) == []


def test_disk_files_removed_when_backward_raises(tmp_path):
    x, W = _inputs()
    with save_on_disk(str(tmp_path)):
        h = torch.tanh(x @ W)
        loss = (h * x).sum()
    h.register_hook(lambda g: (_ for _ in ()).throw(ValueError("boom")))
    with pytest.raises(ValueError, match="boom"):
        loss.backward()
    del loss, h
    assert os.listdir(tmp_path) == []


def test_temporary_directory_cleaned_up():
    x, W = _inputs()
    with save_on_disk() as hooks:
        loss = _forward(x, W)
    directory = hooks.directory
    assert os.path.isdir(directory)
    loss.backward()
    assert not os.path.exists(directory)
