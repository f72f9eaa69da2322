"""SyncBatchNorm on 2 MPI ranks equals BatchNorm on the whole batch (one mpiexec for the checks in
sync_batchnorm_script.py); without a process group it is BatchNorm on the local batch."""


import numpy as np
import pytest
from mpi_run import rank_results, requires_mpi

import retrograd as torch
import sync_batchnorm_script
from retrograd import nn


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return rank_results(tmp_path_factory, "sync_batchnorm_script.py")


@requires_mpi
@pytest.mark.parametrize("name", list(sync_batchnorm_script.CHECKS))
def test_sync_batchnorm_on_two_ranks(results, name):
    for rank in range(2):
        assert results[rank][name] == "ok", f"rank {rank}: {results[rank][name]}"


def test_one_process_is_batchnorm_on_the_local_batch():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, dtype=torch.float64, requires_grad=True)
    bn, sync = nn.BatchNorm1d(3).double(), nn.SyncBatchNorm(3).double()
    want_out = bn(x)
    (want_out ** 2).sum().backward()
    want = x.grad.clone()
    x.grad = None
    out = sync(x)
    (out ** 2).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), want_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), want.numpy(), rtol=1e-12)
    np.testing.assert_allclose(sync.running_var.numpy(), bn.running_var.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="number of input channels should be non-zero"):
        nn.SyncBatchNorm(0)(torch.ones(2, 0))


def test_convert_sync_batchnorm_keeps_the_state_and_the_bias_flag():
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(4, bias=False)))
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(net, process_group="group")
    assert isinstance(sync[1], nn.SyncBatchNorm) and isinstance(sync[2][0], nn.SyncBatchNorm)
    assert sync[1].weight is net[1].weight and sync[1].running_mean is net[1].running_mean
    assert sync[2][0].bias is None and sync[1].process_group == "group"
    again = nn.SyncBatchNorm.convert_sync_batchnorm(nn.SyncBatchNorm(3))  # torch converts these too
    assert isinstance(again, nn.SyncBatchNorm)
