"""Checks of every collective against its definition, run on each rank under ``mpiexec -n 2``
by tests/distributed/test_collectives.py: ``python collectives_script.py OUT_DIR`` writes
``OUT_DIR/rank<R>.json`` mapping each check's name to "ok" or the failure."""

import datetime
import json
import os
import sys
import time
import traceback

import numpy as np

import retrograd as torch
import retrograd.distributed as dist

CHECKS = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def rank_tensor(r, dtype=torch.float32, n=4):
    """Rank r's input: distinct values per rank."""
    return torch.arange(n, dtype=torch.float64).mul(r + 1).add(r).to(dtype)


def expected(ranks, dtype=torch.float32, n=4):
    return [rank_tensor(r, dtype, n).numpy() for r in range(ranks)]


@check
def query_functions(r, n):
    assert dist.is_initialized() and dist.is_available() and dist.is_mpi_available()
    assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (r, n, "mpi")


@check
def all_reduce_sum_in_place(r, n):
    t = rank_tensor(r)
    storage, version = t.numpy(), t._version
    assert dist.all_reduce(t) is None
    np.testing.assert_array_equal(t.numpy(), sum(expected(n)))
    assert t.numpy() is storage or np.shares_memory(t.numpy(), storage)
    assert t._version == version + 1


@check
def all_reduce_async_work(r, n):
    t = rank_tensor(r)
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() is True and work.is_completed()
    np.testing.assert_array_equal(t.numpy(), sum(expected(n)))
    assert work.result()[0] is t and work.exception() is None
    t = rank_tensor(r)
    future = dist.all_reduce(t, async_op=True).get_future()
    assert future.wait()[0] is t and future.done()
    np.testing.assert_array_equal(t.numpy(), sum(expected(n)))


@check
def work_wait_with_timeout_raises_and_stays_in_flight(r, n):
    t = rank_tensor(r)
    if r == 1:
        time.sleep(1.0)  # late: rank 0's wait(timeout) expires first
    work = dist.all_reduce(t, async_op=True)
    if r == 0:
        try:
            work.wait(timeout=datetime.timedelta(seconds=0.05))
        except RuntimeError as e:
            assert "all_reduce did not complete within Work.wait(timeout=0:00:00.050000)" in str(e), e
        else:
            raise AssertionError("Work.wait(timeout) did not raise")
        assert not work.is_completed()
    assert work.wait(datetime.timedelta(0))  # torch's default: the group's timeout
    np.testing.assert_array_equal(t.numpy(), sum(expected(n)))


@check
def broadcast_from_each_rank(r, n):
    for src in range(n):
        t = rank_tensor(r)
        version = t._version
        dist.broadcast(t, src=src)
        np.testing.assert_array_equal(t.numpy(), expected(n)[src])
        assert t._version == version + (r != src)  # written (in place) where it is not the source


@check
def barrier_returns(r, n):
    assert dist.barrier() is None
    assert dist.barrier(async_op=True).wait()



DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.uint8)


def _np_reduce(op, arrays):
    """The reduction's definition, in the arrays' own dtype (bfloat16 and float16 rounded per step)."""
    out = arrays[0].copy()
    for a in arrays[1:]:
        if op == "AVG":
            out = (out.astype(np.float64) + a.astype(np.float64)).astype(out.dtype)
        else:
            out = {"SUM": np.add, "PRODUCT": np.multiply, "MAX": np.maximum, "MIN": np.minimum}[op](out, a)
    if op == "AVG":
        out = (out.astype(np.float64) / len(arrays)).astype(out.dtype)
    return out


@check
def all_reduce_every_op_and_dtype(r, n):
    for dtype in DTYPES:
        for op in ("SUM", "PRODUCT", "MAX", "MIN", "AVG"):
            if op == "AVG" and not dtype.is_floating_point:
                continue
            t = rank_tensor(r, dtype)
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
            want = _np_reduce(op, expected(n, dtype))
            assert t.dtype == dtype, (dtype, op, t.dtype)
            np.testing.assert_array_equal(t.numpy(), want, err_msg=f"{op} {dtype}")


@check
def all_reduce_bool_is_or(r, n):
    t = torch.tensor([r == 0, False, True])
    dist.all_reduce(t)
    assert t.tolist() == [True, False, True]
    t = torch.tensor([r == 0, False, True])
    dist.all_reduce(t, op=dist.ReduceOp.MIN)
    assert t.tolist() == [False, False, True]


@check
def all_reduce_avg_of_integers_raises(r, n):
    try:
        dist.all_reduce(torch.ones(2, dtype=torch.int64), op=dist.ReduceOp.AVG)
    except ValueError as e:
        assert "int64" in str(e) and "AVG" in str(e)
    else:
        raise AssertionError("AVG of int64 did not raise")


@check
def unsupported_reduce_ops_raise(r, n):
    for op in (dist.ReduceOp.PREMUL_SUM, dist.ReduceOp.BAND, dist.ReduceOp.BXOR):
        try:
            dist.all_reduce(torch.ones(2), op=op)
        except NotImplementedError as e:
            assert op.name in str(e)
        else:
            raise AssertionError(f"{op} did not raise")


@check
def all_reduce_non_contiguous_writes_back(r, n):
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * (r + 1)
    view = base.t()
    dist.all_reduce(view)
    want = np.arange(12, dtype=np.float32).reshape(3, 4) * sum(range(1, n + 1))
    np.testing.assert_array_equal(base.numpy(), want)


@check
def all_reduce_async_all_dtypes_and_avg(r, n):
    works = []
    tensors = [rank_tensor(r, dtype) for dtype in DTYPES if dtype.is_floating_point]
    for t in tensors:
        works.append(dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True))
    for w, t in zip(works, tensors):
        w.wait()
        np.testing.assert_array_equal(t.numpy(), _np_reduce("AVG", expected(n, t.dtype)))
    probe = rank_tensor(r)
    w = dist.all_reduce(probe, async_op=True)
    while not w.is_completed():
        pass
    np.testing.assert_array_equal(probe.numpy(), sum(expected(n)))


@check
def broadcast_dtypes_and_group_src(r, n):
    for dtype in DTYPES + (torch.bool,):
        t = rank_tensor(r, dtype)
        work = dist.broadcast(t, group_src=1, async_op=True)
        work.wait()
        np.testing.assert_array_equal(t.numpy(), expected(n, dtype)[1])


@check
def broadcast_invalid_root_raises(r, n):
    for bad in ({"src": 5}, {"src": None}, {"src": 0, "group_src": 0}):
        try:
            dist.broadcast(torch.ones(1), **bad)
        except (RuntimeError, ValueError):
            pass
        else:
            raise AssertionError(f"broadcast({bad}) did not raise")


@check
def reduce_to_each_rank(r, n):
    for dst in range(n):
        for op in ("SUM", "MAX", "AVG"):
            t = rank_tensor(r)
            dist.reduce(t, dst=dst, op=getattr(dist.ReduceOp, op))
            want = _np_reduce(op, expected(n)) if r == dst else expected(n)[r]
            np.testing.assert_array_equal(t.numpy(), want)
    t = rank_tensor(r, torch.bfloat16)
    dist.reduce(t, group_dst=0, async_op=True).wait()
    if r == 0:
        np.testing.assert_array_equal(t.numpy(), _np_reduce("SUM", expected(n, torch.bfloat16)))


@check
def all_gather_list(r, n):
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.int64):
        out = [torch.zeros(2, 4, dtype=dtype) for _ in range(n)]
        dist.all_gather(out, rank_tensor(r, dtype, 8).reshape(2, 4))
        for i in range(n):
            np.testing.assert_array_equal(out[i].numpy(), expected(n, dtype, 8)[i].reshape(2, 4))
    out = [torch.zeros(4) for _ in range(n)]
    dist.all_gather(out, rank_tensor(r), async_op=True).wait()
    np.testing.assert_array_equal(np.stack([o.numpy() for o in out]), np.stack(expected(n)))
    try:
        dist.all_gather([torch.zeros(4)], rank_tensor(r))
    except RuntimeError as e:
        assert "expected length 2, got 1" in str(e)
    else:
        raise AssertionError("all_gather with a short list did not raise")


@check
def all_gather_into_tensor_both_layouts(r, n):
    flat = torch.zeros(n * 4)
    storage = flat.numpy()
    dist.all_gather_into_tensor(flat, rank_tensor(r))
    np.testing.assert_array_equal(flat.numpy(), np.concatenate(expected(n)))
    assert flat.numpy() is storage
    stacked = torch.zeros(n, 4, dtype=torch.bfloat16)
    dist.all_gather_into_tensor(stacked, rank_tensor(r, torch.bfloat16), async_op=True).wait()
    np.testing.assert_array_equal(stacked.numpy(), np.stack(expected(n, torch.bfloat16)))
    try:
        dist.all_gather_into_tensor(torch.zeros(3), rank_tensor(r))
    except RuntimeError as e:
        assert "world_size times" in str(e)
    else:
        raise AssertionError("all_gather_into_tensor with a wrong size did not raise")


@check
def reduce_scatter_tensor_sum_avg(r, n):
    for op in ("SUM", "AVG", "MAX"):
        out = torch.zeros(2)
        dist.reduce_scatter_tensor(out, rank_tensor(r, n=2 * n), op=getattr(dist.ReduceOp, op))
        want = _np_reduce(op, expected(n, n=2 * n))[2 * r:2 * r + 2]
        np.testing.assert_array_equal(out.numpy(), want)
    out = torch.zeros(2, dtype=torch.float16)
    dist.reduce_scatter_tensor(out, rank_tensor(r, torch.float16, 2 * n), async_op=True).wait()
    np.testing.assert_array_equal(out.numpy(), _np_reduce("SUM", expected(n, torch.float16, 2 * n))[2 * r:2 * r + 2])


@check
def gather_and_scatter(r, n):
    for root in range(n):
        lst = [torch.zeros(4) for _ in range(n)] if r == root else None
        dist.gather(rank_tensor(r), lst, dst=root)
        if r == root:
            for i in range(n):
                np.testing.assert_array_equal(lst[i].numpy(), expected(n)[i])
        out = torch.zeros(4, dtype=torch.int64)
        src_list = [rank_tensor(i, torch.int64) * 10 for i in range(n)] if r == root else None
        dist.scatter(out, src_list, src=root)
        np.testing.assert_array_equal(out.numpy(), expected(n, torch.int64)[r] * 10)
    # torch's errors, raised before any communication: the root without the list, the others with one
    for op, name, place, kw in (("gather", "gather_list", "destination", "dst"),
                                ("scatter", "scatter_list", "source", "src")):
        try:
            getattr(dist, op)(rank_tensor(r), None if r == 1 else [torch.zeros(4)] * n, **{kw: 1})
        except ValueError as e:
            want = (f"Argument ``{name}`` must be specified on {place} rank." if r == 1 else
                    f"Argument ``{name}`` must NOT be specified on non-{place} ranks.")
            assert str(e) == want, (str(e), want)
        else:
            raise AssertionError(f"{op} with a misplaced {name} did not raise")


@check
def all_to_all_single_equal_and_split(r, n):
    inp = torch.arange(4 * n, dtype=torch.float32) + 100 * r
    out = torch.zeros(4 * n)
    dist.all_to_all_single(out, inp)
    want = np.concatenate([np.arange(4 * n, dtype=np.float32)[4 * r:4 * r + 4] + 100 * s for s in range(n)])
    np.testing.assert_array_equal(out.numpy(), want)
    # rank s sends s + 1 + i rows to rank i: input rows = sum over i, output rows from each s
    in_splits = [r + 1 + i for i in range(n)]
    out_splits = [s + 1 + r for s in range(n)]
    inp = (torch.arange(sum(in_splits) * 3, dtype=torch.float64).reshape(-1, 3) + 1000 * r)
    out = torch.zeros(sum(out_splits), 3, dtype=torch.float64)
    dist.all_to_all_single(out, inp, out_splits, in_splits, async_op=True).wait()
    pieces = []
    for s in range(n):
        rows = np.arange(sum(s + 1 + i for i in range(n)) * 3, dtype=np.float64).reshape(-1, 3) + 1000 * s
        start = sum(s + 1 + i for i in range(r))
        pieces.append(rows[start:start + s + 1 + r])
    np.testing.assert_array_equal(out.numpy(), np.concatenate(pieces))


@check
def send_recv_and_isend_irecv(r, n):
    peer = 1 - r
    t = torch.zeros(3, dtype=torch.bfloat16)
    if r == 0:
        dist.send(torch.tensor([1.5, 2.5, 3.5], dtype=torch.bfloat16), dst=1, tag=7)
        assert dist.recv(t) == 1  # from any source
        np.testing.assert_array_equal(t.numpy().astype(np.float32), [4, 5, 6])
    else:
        assert dist.recv(t, src=0, tag=7) == 0
        np.testing.assert_array_equal(t.numpy().astype(np.float32), [1.5, 2.5, 3.5])
        dist.send(torch.tensor([4.0, 5.0, 6.0], dtype=torch.bfloat16), dst=0)
    a = torch.full((5,), float(r))
    b = torch.zeros(5)
    works = [dist.isend(a, dst=peer), dist.irecv(b, src=peer)]
    for w in works:
        w.wait()
    assert works[1].source_rank() == peer
    np.testing.assert_array_equal(b.numpy(), np.full(5, float(peer), np.float32))
    try:
        dist.send(a, dst=r)
    except ValueError as e:
        assert "should not be the same as the rank of the current process" in str(e)
    else:
        raise AssertionError("send to self did not raise")


@check
def new_group_sub_communicators(r, n):
    solo = dist.new_group([1])
    if r == 1:
        assert (dist.get_rank(solo), dist.get_world_size(solo)) == (0, 1)
        t = torch.ones(2)
        dist.all_reduce(t, group=solo)
        np.testing.assert_array_equal(t.numpy(), [1, 1])
        assert dist.get_process_group_ranks(solo) == [1]
        assert dist.get_global_rank(solo, 0) == 1
    else:
        assert solo is dist.GroupMember.NON_GROUP_MEMBER
        assert dist.get_rank(solo) == -1 and dist.get_world_size(solo) == -1
        assert dist.all_reduce(torch.ones(2), group=solo) is None
    reversed_group = dist.new_group([1, 0], sort_ranks=False)
    assert dist.get_rank(reversed_group) == 1 - r
    t = rank_tensor(r)
    dist.broadcast(t, src=1, group=reversed_group)  # src is a global rank
    np.testing.assert_array_equal(t.numpy(), expected(n)[1])
    t = rank_tensor(r)
    dist.broadcast(t, group_src=1, group=reversed_group)  # group rank 1 is global rank 0
    np.testing.assert_array_equal(t.numpy(), expected(n)[0])
    dist.destroy_process_group(reversed_group)
    try:
        dist.all_reduce(torch.ones(1), group=reversed_group)
    except ValueError:
        pass
    else:
        raise AssertionError("a destroyed group still ran a collective")
    try:
        dist.new_group([0, 5])
    except ValueError as e:
        assert "Rank 5 is out of range. Valid ranks are 0 to 1 (world_size=2)" in str(e)  # torch's message
    else:
        raise AssertionError("new_group with rank 5 of 2 did not raise")


@check
def object_collectives(r, n):
    objs = [None] * n
    dist.all_gather_object(objs, {"rank": r, "list": list(range(r))})
    assert objs == [{"rank": i, "list": list(range(i))} for i in range(n)]
    lst = [f"from {r}", r * 10, None]
    dist.broadcast_object_list(lst, src=1)
    assert lst == ["from 1", 10, None]
    gathered = [None] * n if r == 0 else None
    dist.gather_object(("x", r), gathered, dst=0)
    if r == 0:
        assert gathered == [("x", i) for i in range(n)]


@check
def collectives_on_leaves_requiring_grad_keep_grad_mode(r, n):
    w = torch.ones(3, requires_grad=True)
    dist.all_reduce(w)  # as torch: in place on a leaf, no autograd error
    assert w.requires_grad and w.grad_fn is None
    np.testing.assert_array_equal(w.detach().numpy(), np.full(3, n, np.float32))


@check
def type_errors_name_the_argument(r, n):
    for call, name in ((lambda: dist.all_reduce([1.0]), "tensor"),
                       (lambda: dist.all_gather(torch.ones(2), torch.ones(2)), "tensor_list")):
        try:
            call()
        except TypeError as e:
            assert f"`{name}`" in str(e)
        else:
            raise AssertionError("no TypeError")


def raises(exc_type, text, call):
    try:
        call()
    except exc_type as e:
        assert text in str(e), f"{text!r} not in {e!r}"
    else:
        raise AssertionError(f"{call} did not raise {exc_type.__name__}")


def init_checks():
    """init_process_group's checks of its arguments against MPI, gloo on MPI, init after destroy."""
    os.environ["RANK"] = "7"
    raises(RuntimeError, "RANK=7 from the environment disagrees with MPI", dist.init_process_group)
    del os.environ["RANK"]
    raises(RuntimeError, "world_size=5", lambda: dist.init_process_group(world_size=5))
    assert not dist.is_initialized()
    dist.init_process_group("cpu:gloo,cuda:nccl")  # torch's per-device form: CPU tensors on MPI
    assert dist.get_backend() == "cpu:gloo,cuda:nccl"
    t = torch.ones(2)
    dist.all_reduce(t)
    assert t.tolist() == [2.0, 2.0]
    dist.destroy_process_group()
    dist.init_process_group("gloo", init_method="env://", world_size=2)
    assert dist.get_backend() == "gloo" == dist.Backend.GLOO
    raises(ValueError, "twice", dist.init_process_group)
    t = torch.ones(2)
    dist.all_reduce(t)
    assert t.tolist() == [2.0, 2.0]
    dist.destroy_process_group()
    assert not dist.is_initialized()


def main(out_dir):
    results = {}
    try:
        init_checks()
        results["init_checks"] = "ok"
    except Exception:
        results["init_checks"] = traceback.format_exc()
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    for name, fn in CHECKS.items():
        try:
            fn(rank, size)
            results[name] = "ok"
        except Exception:
            results[name] = traceback.format_exc()
        dist.barrier()
    dist.destroy_process_group()
    with open(f"{out_dir}/rank{rank}.json", "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1])
