"""Every collective of retrograd.distributed against its definition on 2 MPI ranks (one mpiexec
for all the checks in collectives_script.py), and the errors before init_process_group."""

import re
import subprocess
import sys

import pytest
import mpi_run
from mpi_run import rank_results, requires_mpi

import collectives_script
import retrograd as torch
import retrograd.distributed as dist


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return rank_results(tmp_path_factory, "collectives_script.py")


@requires_mpi
@pytest.mark.parametrize("name", ["init_checks", *collectives_script.CHECKS])
def test_collective_on_two_ranks(results, name):
    for rank in range(2):
        assert results[rank][name] == "ok", f"rank {rank}: {results[rank][name]}"


NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."


@pytest.mark.parametrize("call", [
    lambda: dist.all_reduce(torch.ones(2)), lambda: dist.broadcast(torch.ones(2), src=0),
    lambda: dist.barrier(), lambda: dist.get_rank(), lambda: dist.get_world_size(), lambda: dist.get_backend(),
    lambda: dist.all_gather_object([None], 1), lambda: dist.send(torch.ones(1), dst=1), lambda: dist.new_group(),
])
def test_before_init_process_group_raises_torch_error(call):
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match=NOT_INITIALIZED.replace(".", r"\.")):
        call()


@pytest.mark.parametrize("kwargs, exc, text", [
    ({"store": object()}, NotImplementedError, "Store"),
    ({"init_method": "tcp://127.0.0.1:23456"}, NotImplementedError, "init_method='tcp://127.0.0.1:23456'"),
    ({"backend": "ucc"}, ValueError, "Invalid backend: 'ucc'"),
    ({"backend": "cpu:ucc,cuda:nccl"}, ValueError, "Invalid backend: 'cpu:ucc,cuda:nccl'"),
    ({"backend": "cpu:gloo,cuda"}, ValueError, "Invalid backend: 'cpu:gloo,cuda'"),
    ({"pg_options": object()}, NotImplementedError, "pg_options"),
    ({"timeout": 30}, TypeError, "datetime.timedelta"),
    ({"device_id": 0}, ValueError, "device_id=0"),
])
def test_init_process_group_rejects_what_it_cannot_honour(kwargs, exc, text):
    with pytest.raises(exc, match=re.escape(text)):
        dist.init_process_group(**kwargs)
    assert not dist.is_initialized()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without a GPU")
def test_nccl_without_gpu_raises():
    with pytest.raises(RuntimeError, match="no GPUs found"):
        dist.init_process_group("nccl")


def test_nccl_with_gpu_is_refused_as_not_implemented(monkeypatch):
    from retrograd.distributed import process_group

    monkeypatch.setattr(process_group, "is_nccl_available", lambda: True)
    with pytest.raises(NotImplementedError, match="backend='nccl'"):
        dist.init_process_group("nccl")


def test_import_and_is_available_without_mpi4py():
    code = ("import sys; sys.modules['mpi4py'] = None; import retrograd.distributed as d; "
            "assert not d.is_available() and not d.is_mpi_available()\n"
            "try:\n    d.init_process_group()\nexcept RuntimeError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=mpi_run.env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert 'pip install -e ".[distributed]"' in out.stdout
