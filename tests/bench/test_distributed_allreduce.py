"""bench.distributed_allreduce runs on 2 ranks (4 KB and 16 KB, 1 round) and prints its table."""

import importlib.util
import re

import pytest

from bench import distributed_allreduce


def _mpiexec():
    from retrograd.distributed.run import find_mpiexec

    try:
        return find_mpiexec()
    except FileNotFoundError:
        return None


@pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or _mpiexec() is None,
                    reason="needs mpi4py and mpiexec (pip install -e '.[distributed]')")
def test_allreduce_bench_prints_bandwidth_table(capsys):
    distributed_allreduce.main(["--rounds", "1", "--seconds", "0.002", "--largest", "16K"])
    out = capsys.readouterr().out
    rows = re.findall(r"^\s+(\d+ KB)\s+([\d.]+) GB/s\s+([\d.]+) GB/s\s+([\d.]+)", out, re.M)
    assert [r[0] for r in rows] == ["4 KB", "16 KB"]
    assert all(float(r[1]) >= 0 and float(r[2]) >= 0 for r in rows)  # printed; never timed here
    assert "lowest ratio" in out


def test_sizes_parse():
    assert [distributed_allreduce._size(s) for s in ("4096", "16K", "64M")] == [4096, 16384, 64 << 20]
