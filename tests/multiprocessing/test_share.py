"""Tensor.share_memory_(), is_shared() and Module.share_memory() (retrograd/multiprocessing/_share.py):
the memory moves to shared memory, every tensor on it follows, a forked child's in-place writes
reach the parent (Hogwild training)."""

import multiprocessing
import warnings

import numpy as np
import pytest

import retrograd as torch
from retrograd.multiprocessing import _share

fork = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")


def _run_forked(target, *args):
    p = multiprocessing.get_context("fork").Process(target=target, args=args)
    p.start()
    p.join()
    assert p.exitcode == 0


def test_share_memory_moves_every_tensor_on_the_memory_as_torch():
    x = torch.arange(12.0).reshape(3, 4)
    view, transposed, detached, data, version = x[1], x.t(), x.detach(), x.data, x._version
    before = x.numpy()  # a NumPy array taken out before keeps the old memory, as in torch
    assert not x.is_shared() and not view.is_shared()
    assert x.share_memory_() is x
    assert all(t.is_shared() for t in (x, view, transposed, detached, data))
    view[0] = 100.0
    detached[2, 3] = -1.0
    assert x[1, 0].item() == 100.0 and transposed[3, 2].item() == -1.0 and data[1, 0].item() == 100.0
    assert transposed.stride() == (1, 4) and view.storage_offset() == 4 and x._version == version + 2
    assert before[1, 0] == 4.0
    assert x.share_memory_() is x and x[1, 0].item() == 100.0  # already shared: nothing moves


def test_share_memory_of_a_view_moves_its_base_and_keeps_read_only_and_empty_tensors():
    base = torch.zeros(6)
    view = base[2:4]
    view.share_memory_()
    assert base.is_shared()
    base[3] = 7.0
    assert view.tolist() == [0.0, 7.0]
    empty = torch.zeros(0).share_memory_()
    assert empty.is_shared() and empty.shape == (0,)
    b16 = torch.ones(3, dtype=torch.bfloat16).share_memory_()
    assert b16.is_shared() and b16.dtype == torch.bfloat16 and b16.tolist() == [1.0, 1.0, 1.0]
    frozen = np.arange(3.0)
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (from_numpy warns that the array is not writable, as torch's)
        read_only = torch.from_numpy(frozen)
    assert read_only.share_memory_().is_shared() and read_only.tolist() == [0.0, 1.0, 2.0]
    assert not read_only._data.flags.writeable  # still read-only there


def test_a_shared_tensor_shrinks_in_its_memory_and_refuses_to_grow_as_torch():
    x = torch.arange(6.0).share_memory_()
    view = x[2:]
    view.resize_(2)  # within the storage: still shared, still on x's memory
    view[0] = -1.0
    assert view.is_shared() and view.storage_offset() == 2 and x[2].item() == -1.0
    with pytest.raises(RuntimeError, match="Trying to resize storage that is not resizable"):
        x.resize_(7)
    assert x.shape == (6,) and x.is_shared()


def test_only_the_tensors_given_are_moved_when_nothing_else_refers_to_their_memory(monkeypatch):
    scans = []
    real = _share.gc.get_objects
    monkeypatch.setattr(_share.gc, "get_objects", lambda: scans.append(1) or real())
    fresh = torch.ones(3).share_memory_()
    model = torch.nn.Linear(3, 2).share_memory()
    assert not scans and fresh.is_shared() and model.weight.is_shared()
    base = torch.ones(3)
    alias = base.detach()
    base.share_memory_()
    assert scans and alias.is_shared()


def test_cuda_tensors_count_as_shared_and_are_not_moved_and_cannot_be_sent_yet():
    from multiprocessing.reduction import ForkingPickler

    import strict_device

    with strict_device.installed():
        x = torch.ones(3, device="cuda")
        data = x._data
        assert x.is_shared() and x.share_memory_() is x and x._data is data  # torch: always shared, a no-op
        with pytest.raises(NotImplementedError, match=r"sending a CUDA tensor \(cuda:0, shape \[3\]\)"):
            ForkingPickler.dumps(x)


@fork
def test_a_forked_childs_in_place_writes_reach_the_parent_only_after_share_memory():
    shared, private = torch.zeros(3).share_memory_(), torch.zeros(3)

    def child():
        shared.add_(torch.tensor([1.0, 2.0, 3.0]))
        private.add_(1.0)

    _run_forked(child)
    assert shared.tolist() == [1.0, 2.0, 3.0] and private.tolist() == [0.0, 0.0, 0.0]


def test_module_share_memory_shares_parameters_grads_and_buffers_keeping_the_objects():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    params = list(model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).pow(2).sum().backward()
    grad = model[0].weight.grad
    assert model.share_memory() is model
    assert list(model.parameters()) == params and all(p is q for p, q in zip(model.parameters(), params))
    assert all(p.is_shared() and p.grad.is_shared() for p in params) and model[0].weight.grad is grad
    assert model[1].running_mean.is_shared() and model[1].num_batches_tracked.is_shared()
    before = model[0].weight.detach().clone()
    opt.step()  # the optimizer built before still updates the (now shared) parameters
    assert not np.array_equal(model[0].weight.detach().numpy(), before.numpy())


def _hogwild_worker(model, steps):
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    for _ in range(steps):
        opt.zero_grad()
        (model.weight * 1.0).sum().backward()  # the gradient is 1: each step takes 1 from every weight
        opt.step()


@fork
def test_hogwild_two_processes_train_one_shared_model_and_the_parent_sees_both():
    model = torch.nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        model.weight.fill_(0.0)
    model.share_memory()
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_hogwild_worker, args=(model, 20)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
        assert w.exitcode == 0
    taken = -model.weight.detach().numpy()
    # each worker's 20 steps took 20 from every weight; two writers racing may lose an update or two
    assert np.all(taken > 20) and np.all(taken <= 40) and np.array_equal(taken, np.round(taken))
