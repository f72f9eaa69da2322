"""Tensors through multiprocessing's queues, pipes and pools (retrograd/multiprocessing/reductions.py
and _segment.py): they move to shared memory and arrive on the sender's memory, with their
requires_grad and type; non-leaf tensors requiring grad are refused, as torch's."""

import gc
import os
import pickle
import sys
from multiprocessing.reduction import ForkingPickler

import pytest

import retrograd as torch
import retrograd.multiprocessing as mp
from retrograd.multiprocessing import _segment, _share
from tests.helpers import requires_torch

import _children

fork = pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")


def test_a_tensor_sent_to_a_spawned_process_is_on_the_senders_memory():
    ctx = mp.get_context("spawn")
    inbox, outbox = ctx.Queue(), ctx.Queue()
    child = ctx.Process(target=_children.add_in_place_and_reply, args=(inbox, outbox))
    child.start()
    x = torch.zeros(2, 3)
    param = torch.nn.Parameter(torch.zeros(2))
    half = torch.zeros(4, dtype=torch.bfloat16)
    inbox.put([x, x.t()[1:], param, half])
    *seen, back = outbox.get(timeout=60)
    inbox.put("received")
    assert x.is_shared() and param.is_shared()  # moved to shared memory to be sent, as torch's
    child.join(60)
    assert child.exitcode == 0
    assert seen == [("Tensor", False, True, torch.float32), ("Tensor", False, True, torch.float32),
                    ("Parameter", True, True, torch.float32), ("Tensor", False, True, torch.bfloat16)]
    # the child's in-place writes are the parent's: x got 1 everywhere, and 1 more where x.t()[1:] is
    assert x.tolist() == [[1.0, 2.0, 2.0], [1.0, 2.0, 2.0]] and param.tolist() == [1.0, 1.0]
    assert half.tolist() == [1.0] * 4
    back[0, 0] = 5.0  # sent back: on the same memory in the sender too
    assert x[0, 0].item() == 5.0 and _share.segment_of(back._data) is _share.segment_of(x._data)


def test_a_non_leaf_tensor_requiring_grad_is_refused_as_torch():
    y = torch.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor which requires_grad"):
        ForkingPickler.dumps(y)
    assert pickle.loads(ForkingPickler.dumps(y.detach())).tolist() == [2.0, 2.0]
    assert not torch.ones(2).is_shared() and pickle.loads(pickle.dumps(torch.ones(2))).is_shared() is False


class Tagged(torch.Tensor):
    pass


class MyParameter(torch.nn.Parameter):
    pass


def test_a_tensor_subclass_arrives_as_its_class_with_its_attributes_a_parameter_subclass_as_parameter():
    tagged = Tagged([1.0, 2.0])
    tagged.tag = "kept"
    plain = torch.ones(2)
    plain.tag = "dropped, as torch's"
    got_tagged, got_plain, got_param, got_buffer = pickle.loads(ForkingPickler.dumps(
        [tagged, plain, MyParameter(torch.zeros(2)), torch.nn.Buffer(torch.ones(2), persistent=False)]))
    assert type(got_tagged) is Tagged and got_tagged.tag == "kept" and got_tagged.is_shared()
    assert type(got_plain) is torch.Tensor and not hasattr(got_plain, "tag") and got_plain.is_shared()
    assert type(got_param) is torch.nn.Parameter and got_param.requires_grad and got_param.is_shared()
    assert got_buffer.persistent is False and got_buffer.is_shared()
    got_tagged[0] = 5.0
    assert tagged[0].item() == 5.0 and tagged.is_shared()


def _double(t):
    return t * 2


@fork
def test_pipes_and_pools_carry_tensors():
    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    x = torch.arange(3.0, requires_grad=True)
    a.send(x)
    got = b.recv()
    assert got.tolist() == [0.0, 1.0, 2.0] and got.requires_grad and got.is_leaf
    with torch.no_grad():
        got[0] = 9.0
    assert x[0].item() == 9.0
    with ctx.Pool(2) as pool:
        out = pool.map(_double, [torch.ones(2), torch.full((2,), 3.0)])
    assert [t.tolist() for t in out] == [[2.0, 2.0], [6.0, 6.0]] and all(t.is_shared() for t in out)


def _fill_from_child(queue, value):
    t = queue.get()
    t.fill_(value)


@fork
def test_the_file_system_strategy_names_the_memory_and_removes_it_when_unused(monkeypatch):
    monkeypatch.setattr(_segment, "strategy", _segment.strategy)  # restored after
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_fill_from_child, args=(queue, 4.0))
    child.start()
    x = torch.zeros(3)
    queue.put(x)
    child.join(60)
    assert child.exitcode == 0 and x.tolist() == [4.0, 4.0, 4.0]
    name = _share.segment_of(x._data).name
    assert name is not None and os.path.exists(name)
    del x
    gc.collect()
    assert not os.path.exists(name)  # the sender's mapping and the received handle were its last uses


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="macOS and Windows have file_system alone")
def test_sharing_strategies_as_torch():
    assert mp.get_all_sharing_strategies() == {"file_descriptor", "file_system"}
    assert mp.get_sharing_strategy() == "file_descriptor"
    with pytest.raises(AssertionError, match="invalid sharing strategy 'bogus'"):
        mp.set_sharing_strategy("bogus")


@requires_torch
def test_the_module_has_torchs_names():
    import torch.multiprocessing as tmp

    names = {n for n in dir(tmp) if not n.startswith("_")} - {"torch", "sys", "ENV_VAR_PARALLEL_START"}
    assert names <= set(dir(mp))
