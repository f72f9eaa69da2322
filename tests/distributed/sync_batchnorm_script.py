"""SyncBatchNorm checks, run on each rank under ``mpiexec -n 2`` by
tests/distributed/test_sync_batchnorm.py: ``python sync_batchnorm_script.py OUT_DIR`` writes
``OUT_DIR/rank<R>.json`` mapping each check's name to "ok" or the failure."""

import json
import sys
import traceback

import numpy as np

import retrograd as torch
import retrograd.distributed as dist
from retrograd import nn
from retrograd.nn.parallel import DistributedDataParallel as DDP

CHECKS = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def summed(arr):
    t = torch.tensor(arr)
    dist.all_reduce(t)
    return t.numpy()


def compare(shape, split, momentum, affine=True):
    """SyncBatchNorm on this rank's rows of a whole batch (rows split at ``split``) against
    BatchNorm on the whole batch: output, input gradient, summed weight/bias gradients and the
    running statistics, over two training steps."""
    r = dist.get_rank()
    g = np.random.default_rng(7)
    bn = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}[len(shape)]
    ref = bn(shape[1], momentum=momentum, affine=affine).double()
    sync = nn.SyncBatchNorm(shape[1], momentum=momentum, affine=affine).double()
    if affine:
        weight, bias = torch.tensor(g.normal(size=shape[1])), torch.tensor(g.normal(size=shape[1]))
        with torch.no_grad():
            for m in (ref, sync):
                m.weight.copy_(weight)
                m.bias.copy_(bias)
    rows = slice(0, split) if r == 0 else slice(split, shape[0])
    for step in range(2):
        x = torch.tensor(g.normal(loc=3.0, scale=2.0, size=shape), requires_grad=True)
        w = torch.tensor(g.normal(size=shape))
        ref_out = ref(x)
        (ref_out * w).sum().backward()
        mine = x.detach()[rows].clone().requires_grad_(True)
        out = sync(mine)
        (out * w[rows]).sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), ref_out.detach().numpy()[rows], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(mine.grad.numpy(), x.grad.numpy()[rows], rtol=1e-9, atol=1e-12)
        if affine:
            np.testing.assert_allclose(summed(sync.weight.grad.numpy()), ref.weight.grad.numpy(), rtol=1e-9)
            np.testing.assert_allclose(summed(sync.bias.grad.numpy()), ref.bias.grad.numpy(), rtol=1e-9)
            for m in (ref, sync):
                m.weight.grad = m.bias.grad = None
        np.testing.assert_allclose(sync.running_mean.numpy(), ref.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(sync.running_var.numpy(), ref.running_var.numpy(), rtol=1e-12)
        assert sync.num_batches_tracked.item() == ref.num_batches_tracked.item() == step + 1


@check
def equals_batchnorm_on_the_whole_batch_2d(r, n):
    compare((8, 3, 4, 4), 4, momentum=0.1)


@check
def equals_batchnorm_on_the_whole_batch_1d_uneven_split(r, n):
    compare((9, 5), 3, momentum=0.3)


@check
def equals_batchnorm_with_cumulative_average_and_no_affine(r, n):
    compare((6, 2, 5), 3, momentum=None, affine=False)


@check
def eval_mode_uses_the_running_statistics(r, n):
    sync = nn.SyncBatchNorm(3).double()
    with torch.no_grad():
        sync.running_mean.copy_(torch.tensor([1.0, 2.0, 3.0]))
        sync.running_var.copy_(torch.tensor([4.0, 1.0, 0.25]))
    sync.eval()
    x = torch.randn(4, 3, dtype=torch.float64) + r
    want = (x.numpy() - [1.0, 2.0, 3.0]) / np.sqrt(np.array([4.0, 1.0, 0.25]) + 1e-5)
    np.testing.assert_allclose(sync(x).detach().numpy(), want, rtol=1e-12)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        return self.head(torch.relu(self.bn(self.conv(x))).flatten(1))


@check
def converted_model_under_ddp_trains_as_batchnorm_on_the_whole_batch(r, n):
    model = nn.SyncBatchNorm.convert_sync_batchnorm(Net().double())
    assert isinstance(model.bn, nn.SyncBatchNorm)
    ddp = DDP(model)
    reference = Net().double()
    opts = [torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in (model, reference)]
    g = np.random.default_rng(3)
    for _ in range(3):
        x = torch.tensor(g.normal(size=(8, 2, 5, 5)))
        y = torch.tensor(g.integers(0, 3, size=8))
        for opt in opts:
            opt.zero_grad()
        nn.functional.cross_entropy(ddp(x[4 * r:4 * r + 4]), y[4 * r:4 * r + 4]).backward()
        nn.functional.cross_entropy(reference(x), y).backward()
        for opt in opts:
            opt.step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=0, atol=1e-10, err_msg=name)
    np.testing.assert_allclose(model.bn.running_var.numpy(), reference.bn.running_var.numpy(), rtol=1e-12)


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
    with open(f"{out_dir}/rank{rank}.json", "w") as f:
        json.dump(results, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
