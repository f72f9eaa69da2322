"""DistributedDataParallel on 2 MPI ranks (one mpiexec for all the checks in ddp_script.py), and
what needs no MPI: torch's bucket assignment and the error without a process group."""

import sys

import pytest
from mpi_run import rank_results, requires_mpi

import ddp_script
import retrograd as torch
from helpers import requires_torch
from retrograd.nn.parallel import DistributedDataParallel
from retrograd.nn.parallel._reducer import compute_bucket_assignment_by_size


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return rank_results(tmp_path_factory, "ddp_script.py", timeout=240)


@requires_mpi
@pytest.mark.parametrize("name", list(ddp_script.CHECKS))
def test_ddp_on_two_ranks(results, name):
    for rank in range(2):
        assert results[rank][name] == "ok", f"rank {rank}: {results[rank][name]}"


CASES = [  # (numels, dtypes, limits, order)
    ([100, 200000, 300000, 10, 400000, 5], "ffffff", [1 << 20, 25 << 20], None),
    ([100, 200000, 300000, 10, 400000, 5], "fdfdfd", [1 << 20, 1 << 21], None),
    ([100, 200000, 300000, 10, 400000, 5], "fdfdfd", [1 << 20, 1 << 21], [3, 5, 1, 0, 4, 2]),
    ([3, 4, 5], "fff", [8], [2, 1, 0]),
    ([3, 4, 5], "fff", [sys.maxsize], None),
]


@requires_torch
@pytest.mark.parametrize("numels,dtypes,limits,order", CASES)
def test_bucket_assignment_equals_torchs(numels, dtypes, limits, order):
    import torch as real
    import torch.distributed as real_dist

    def make(lib):
        return [lib.zeros(n, dtype=lib.float32 if k == "f" else lib.float64) for n, k in zip(numels, dtypes)]

    theirs = make(real)
    if order is None:
        want = real_dist._compute_bucket_assignment_by_size(theirs, limits, [False] * len(theirs))
    else:
        want = real_dist._compute_bucket_assignment_by_size([theirs[i] for i in order], limits,
                                                            [False] * len(theirs), order)
    assert compute_bucket_assignment_by_size(make(torch), limits, order) == tuple(want)


def test_without_a_process_group_raises_torchs_error():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedDataParallel(torch.nn.Linear(2, 2))


def test_unsupported_arguments_raise_naming_them():
    for kwargs in ({"mixed_precision": object()}, {"device_mesh": object()},
                   {"skip_all_reduce_unused_params": True}):
        with pytest.raises(NotImplementedError, match=next(iter(kwargs))):
            DistributedDataParallel(torch.nn.Linear(2, 2), **kwargs)
    with pytest.raises(ValueError, match="need to be set at the same time"):
        DistributedDataParallel(torch.nn.Linear(2, 2), delay_all_reduce_named_params=[])
