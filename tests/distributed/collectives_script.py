"""Checks of every collective against its definition, run on each rank under ``mpiexec -n 2``
by tests/distributed/test_collectives.py: ``python collectives_script.py OUT_DIR`` writes
``OUT_DIR/rank<R>.json`` mapping each check's name to "ok" or the failure."""

import json
import sys
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
    assert work.result()[0] is t


@check
def broadcast_from_each_rank(r, n):
    for src in range(n):
        t = rank_tensor(r)
        dist.broadcast(t, src=src)
        np.testing.assert_array_equal(t.numpy(), expected(n)[src])


@check
def barrier_returns(r, n):
    assert dist.barrier() is None
    assert dist.barrier(async_op=True).wait()


def main(out_dir):
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    results = {}
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
