"""bench.distributed_ddp runs (2 steps, 1 round) and prints its four measurements and the overhead."""

import importlib.util
import re

import pytest


def _mpiexec():
    from retrograd.distributed.run import find_mpiexec

    try:
        return find_mpiexec()
    except FileNotFoundError:
        return None


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or _mpiexec() is None,
                    reason="needs mpi4py and mpiexec (pip install -e '.[distributed]')")
def test_ddp_bench_prints_the_step_times(capsys):
    from bench import distributed_ddp

    distributed_ddp.main(["--steps", "2", "--warmup", "1", "--rounds", "1"])
    out = capsys.readouterr().out
    for name in ("1 process", "2 ranks, DDP", "2 ranks, no_sync", "2 ranks, allreduce"):
        assert re.search(rf"^  {name} +\d+\.\d\d ms$", out, re.M), out
    assert re.search(r"^DDP adds [+-]\d+\.\d% to the 1-process step", out, re.M), out
