"""DistributedDataParallel checks, run on each rank under ``mpiexec -n 2`` by
tests/distributed/test_ddp.py: ``python ddp_script.py OUT_DIR`` writes ``OUT_DIR/rank<R>.json``
mapping each check's name to "ok" or the failure. Every check runs on every rank, in order."""

import gc
import json
import sys
import traceback
import warnings

import numpy as np

import retrograd as torch
import retrograd.distributed as dist
from retrograd import nn
from retrograd.distributed.algorithms.ddp_comm_hooks import default_hooks
from retrograd.nn.parallel import DistributedDataParallel as DDP
from retrograd.utils.checkpoint import checkpoint

CHECKS = {}


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def mlp(seed, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)).to(dtype)


def batch(step, n=8, dtype=torch.float64):
    """The step's whole batch, the same on every rank (each rank takes its half)."""
    g = np.random.default_rng(100 + step)
    return torch.tensor(g.normal(size=(n, 6)), dtype=dtype), torch.tensor(g.normal(size=(n, 3)), dtype=dtype)


def half(t, r, n):
    k = t.shape[0] // n
    return t[r * k:(r + 1) * k]


def params(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def gathered(arrays):
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, arrays)
    return out


def train(model, r, n, steps=4, lr=0.1, ddp=None, accumulate_step=1):
    """SGD with momentum on mse. With ``ddp`` each rank takes its half of the batch (and at
    ``accumulate_step`` accumulates its two quarters, the first under no_sync); without, the
    model takes the whole batch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for step in range(steps):
        x, y = batch(step)
        opt.zero_grad()
        if ddp is None:
            nn.functional.mse_loss(model(x), y).backward()
        elif step == accumulate_step:
            xs, ys = half(x, r, n), half(y, r, n)
            with ddp.no_sync():
                (nn.functional.mse_loss(ddp(xs[:2]), ys[:2]) / 2).backward()
            (nn.functional.mse_loss(ddp(xs[2:]), ys[2:]) / 2).backward()
        else:
            nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
        opt.step()
    return model


@check
def two_ranks_train_as_one_process_on_the_whole_batch(r, n):
    model = mlp(seed=r)  # ranks start from different weights: DDP broadcasts rank 0's
    ddp = DDP(model)
    for p, q in zip(params(model), params(mlp(seed=0))):
        np.testing.assert_array_equal(p, q)
    train(model, r, n, ddp=ddp)
    reference = train(mlp(seed=0), r, n)
    for p, q in zip(params(model), params(reference)):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-6)
    assert max(abs(p - q).max() for p, q in zip(params(model), params(reference))) < 1e-12
    mine, other = gathered(params(model))
    for p, q in zip(mine, other):
        np.testing.assert_array_equal(p, q)


@check
def no_sync_leaves_gradients_local_then_averages_the_sum(r, n):
    ddp = DDP(mlp(seed=0))
    x, y = batch(0)
    with ddp.no_sync():
        nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
    local = [p.grad.numpy().copy() for p in ddp.parameters()]
    other = gathered(local)[1 - r]
    assert any(not np.allclose(a, b) for a, b in zip(local, other))  # not averaged
    nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
    for p, a, b in zip(ddp.parameters(), local, other):
        np.testing.assert_allclose(p.grad.numpy(), a + b, rtol=1e-12)  # mean over ranks of 2 local grads


@check
def buckets_start_while_backward_runs(r, n):
    """After the first iteration the buckets follow the gradients' ready order; with a small
    cap the first bucket's allreduce starts before backward reaches the first layer."""
    model = mlp(seed=0)
    seen = []
    # registered before DDP's own hook, so it runs first: what is in flight when the first
    # layer's weight gradient (the last one backward computes) arrives
    model[0].weight.register_post_accumulate_grad_hook(
        lambda p: seen.append([b.work is not None for b in ddp.reducer.buckets]))
    ddp = DDP(model, bucket_cap_mb=500 / 2 ** 20)  # by size: 3 buckets
    x, y = batch(0)
    nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
    assert len(ddp._get_ddp_bucket_indices()) == 1  # the first iteration: one bucket, as torch's
    seen.clear()
    nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
    buckets = ddp._get_ddp_bucket_indices()
    assert len(buckets) >= 3, buckets
    assert buckets[0][0] in (4, 5) and 0 in buckets[-1], buckets  # last layer first, first layer last
    assert seen and seen[0][0] and not seen[0][-1], seen  # bucket 0 in flight, the first layer's not yet


@check
def bucket_order_and_cap_follow_torch(r, n):
    model = mlp(seed=0)
    ddp = DDP(model, find_unused_parameters=True, bucket_cap_mb=700 / 2 ** 20)
    # find_unused_parameters: buckets in reverse parameter order from the start; by size (bytes
    # 768, 128, 2048, 128, 384, 24) torch's assignment closes [0] and [1, 2] at 700 bytes
    assert ddp._get_ddp_bucket_indices() == [[3, 4, 5], [1, 2], [0]], ddp._get_ddp_bucket_indices()
    big = DDP(mlp(seed=0))
    assert big.bucket_bytes_cap == 25 * 2 ** 20 and len(big._get_ddp_bucket_indices()) == 1


@check
def bucket_cap_mb_list_and_init_sync(r, n):
    caps = [700 / 2 ** 20, 3000 / 2 ** 20]  # bytes 768 | 128 + 2048 + 128 + ... in forward order
    ddp = DDP(mlp(seed=0), find_unused_parameters=True, bucket_cap_mb_list=caps)
    assert ddp._get_ddp_bucket_indices() == [[1, 2, 3, 4, 5], [0]], ddp._get_ddp_bucket_indices()
    model = mlp(seed=r)
    DDP(model, init_sync=False)  # no broadcast: each rank keeps its own weights
    mine, other = gathered(params(model))
    assert not np.array_equal(mine[0], other[0])


@check
def batched_grad_copy_trains_the_same(r, n):
    model = mlp(seed=0)
    train(model, r, n, ddp=DDP(model, batched_grad_copy=True))
    for p, q in zip(params(model), params(train(mlp(seed=0), r, n))):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)


@check
def gradient_as_bucket_view_gives_views_and_the_same_training(r, n):
    model = mlp(seed=0)
    ddp = DDP(model, gradient_as_bucket_view=True)
    train(model, r, n, ddp=ddp)
    reference = train(mlp(seed=0), r, n)
    for p, q in zip(params(model), params(reference)):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)
    for p in model.parameters():
        loc = ddp.reducer.location[next(i for i, q in enumerate(ddp.reducer.params) if q is p)]
        assert np.shares_memory(p.grad.numpy(), ddp.reducer.buckets[loc[0]].buffer.numpy())


@check
def static_graph_trains_as_one_process(r, n):
    model = mlp(seed=0)
    train(model, r, n, ddp=DDP(model, static_graph=True))
    for p, q in zip(params(model), params(train(mlp(seed=0), r, n))):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)


class SharedCheckpointed(nn.Module):
    """One Linear run in two reentrant checkpoints: its hook fires in two nested backwards."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Linear(6, 16).double()
        self.shared = nn.Linear(16, 16).double()
        self.head = nn.Linear(16, 3).double()

    def forward(self, x):
        block = lambda h: torch.tanh(self.shared(h))  # noqa: E731
        h = checkpoint(block, torch.tanh(self.inp(x)), use_reentrant=True)
        h = checkpoint(block, h, use_reentrant=True)
        return self.head(h)


@check
def static_graph_reduces_a_weight_shared_by_reentrant_checkpoints(r, n):
    model = SharedCheckpointed()
    train(model, r, n, ddp=DDP(model, static_graph=True))
    assert DDP(SharedCheckpointed(), static_graph=True).reducer.hooks_per_iteration is None
    for p, q in zip(params(model), params(train(SharedCheckpointed(), r, n))):
        np.testing.assert_allclose(p, q, rtol=0, atol=1e-12)


@check
def reentrant_checkpoints_sharing_a_weight_need_static_graph(r, n):
    ddp = DDP(SharedCheckpointed())
    x, y = batch(0)
    try:
        nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
    except RuntimeError as e:
        assert "Expected to mark a variable ready only once" in str(e)
    else:
        raise AssertionError("no error")


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.trunk = nn.Linear(4, 4).double()
        self.used_on_rank0 = nn.Linear(4, 4).double()
        self.never = nn.Linear(4, 4).double()

    def forward(self, x, use):
        h = self.trunk(x)
        return self.used_on_rank0(h) if use else h


@check
def find_unused_parameters_lets_a_rank_skip_a_layer(r, n):
    model = Branchy()
    ddp = DDP(model, find_unused_parameters=True)
    x = torch.ones(2, 4, dtype=torch.float64) * (r + 1)
    for _ in range(2):  # twice: the second forward checks the first reduction finished
        model.zero_grad()
        ddp(x, use=(r == 0)).sum().backward()
    assert model.never.weight.grad is None  # unused everywhere: .grad untouched, as torch's
    grads = gathered([p.grad.numpy() for p in [model.trunk.weight, model.used_on_rank0.weight]])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
    # used on rank 0 only: its gradient is rank 0's over 2 (rank 1 contributed zeros)
    solo = Branchy()
    solo(torch.ones(2, 4, dtype=torch.float64), use=True).sum().backward()
    np.testing.assert_allclose(model.used_on_rank0.weight.grad.numpy(), solo.used_on_rank0.weight.grad.numpy() / 2,
                               rtol=1e-12)


@check
def static_graph_finds_the_unused_parameters_once(r, n):
    model = Branchy()
    ddp = DDP(model, static_graph=True)  # without it (or find_unused_parameters) this raises
    for _ in range(3):
        ddp(torch.ones(2, 4, dtype=torch.float64) * (r + 1), use=False).sum().backward()
    assert model.used_on_rank0.weight.grad is None and model.never.weight.grad is None
    assert ddp.reducer.static_unused == [2, 3, 4, 5]


@check
def unused_parameters_without_the_flag_raise_torchs_error(r, n):
    ddp = DDP(Branchy())
    ddp(torch.ones(2, 4, dtype=torch.float64), use=True).sum().backward()
    try:
        ddp(torch.ones(2, 4, dtype=torch.float64), use=True)
    except RuntimeError as e:
        assert "Expected to have finished reduction in the prior iteration" in str(e), e
        assert "find_unused_parameters=True" in str(e)
        assert f"Parameter indices which did not receive grad for rank {r}: 4 5" in str(e), e
    else:
        raise AssertionError("no error for unused parameters")


@check
def comm_hooks_allreduce_exact_and_fp16_close(r, n):
    x, y = batch(0, dtype=torch.float32)

    def grads(hook):
        ddp = DDP(mlp(seed=0, dtype=torch.float32))
        if hook is not None:
            ddp.register_comm_hook(None, hook)
        nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
        return [p.grad.numpy().copy() for p in ddp.parameters()]

    plain = grads(None)
    for a, b in zip(grads(default_hooks.allreduce_hook), plain):
        np.testing.assert_array_equal(a, b)
    fp16 = grads(default_hooks.fp16_compress_hook)
    bf16 = grads(default_hooks.bf16_compress_hook)
    for a, b, c in zip(fp16, bf16, plain):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, c, rtol=2e-3, atol=1e-4)
        np.testing.assert_allclose(b, c, rtol=2e-2, atol=1e-3)
    assert any(not np.array_equal(a, c) for a, c in zip(fp16, plain))  # really sent as float16
    wrapped = grads(default_hooks.fp16_compress_wrapper(default_hooks.allreduce_hook))
    for a, c in zip(wrapped, plain):
        np.testing.assert_allclose(a, c, rtol=2e-3, atol=1e-4)


@check
def a_comm_hook_sees_buckets_and_its_future_value_is_used(r, n):
    seen = []

    def doubling_hook(state, bucket):
        seen.append((state, bucket.index(), bucket.is_last(), len(bucket.parameters())))
        assert [g.shape for g in bucket.gradients()] == [p.shape for p in bucket.parameters()]
        return default_hooks.allreduce_hook(None, bucket).then(lambda fut: fut.value() * 2)

    ddp = DDP(mlp(seed=0))
    ddp.register_comm_hook("state", doubling_hook)
    x, y = batch(0)
    nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
    assert seen == [("state", 0, True, 6)], seen
    plain = DDP(mlp(seed=0))
    nn.functional.mse_loss(plain(half(x, r, n)), half(y, r, n)).backward()
    for p, q in zip(ddp.parameters(), plain.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), 2 * q.grad.numpy(), rtol=1e-12)
    for bad, exc in ((3, TypeError), (doubling_hook, RuntimeError)):
        try:
            ddp.register_comm_hook(None, bad)
        except exc:
            pass
        else:
            raise AssertionError(f"register_comm_hook({bad!r}) did not raise {exc.__name__}")


class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.register_buffer("count", torch.zeros(1))

    def forward(self, x):
        return self.lin(x) + self.count


@check
def buffers_come_from_rank_0_before_each_forward(r, n):
    m = WithBuffer()
    m.count.fill_(10 + r)
    ddp = DDP(m)
    assert m.count.item() == 10  # at construction
    m.count.fill_(20 + r)
    ddp(torch.ones(1, 2)).sum().backward()
    assert m.count.item() == 20  # before the forward
    m2 = WithBuffer()
    m2.count.fill_(10 + r)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        ddp2 = DDP(m2, broadcast_buffers=False)
    assert any(issubclass(x.category, FutureWarning) and "broadcast_buffers" in str(x.message) for x in w)
    assert m2.count.item() == 10 + r  # broadcast_buffers=False: not even at construction, as torch's
    ddp2(torch.ones(1, 2))
    assert m2.count.item() == 10 + r
    m3 = WithBuffer()
    m3.count.fill_(10 + r)
    ddp3 = DDP(m3, forward_sync_buffers=False)
    assert m3.count.item() == 10  # synced at init
    m3.count.fill_(20 + r)
    ddp3(torch.ones(1, 2))
    assert m3.count.item() == 20 + r


@check
def module_attribute_and_state_dict_keys(r, n):
    m = mlp(seed=0)
    ddp = DDP(m)
    assert ddp.module is m
    assert list(ddp.state_dict()) == ["module." + k for k in m.state_dict()]
    assert ddp.device_ids is None and ddp.output_device is None
    assert all(len(p._post_accumulate_hooks) == 1 for p in m.parameters())
    del ddp
    gc.collect()
    assert all(not p._post_accumulate_hooks for p in m.parameters())  # a dead DDP's hooks are gone
    try:
        DDP(mlp(seed=0), device_ids=[0])
    except ValueError as e:
        assert "device_ids and output_device arguments only work with" in str(e)
    else:
        raise AssertionError("device_ids=[0] on a CPU module did not raise")


def run_checks(checks, out_dir):
    """Run ``checks`` (those named on the command line, else all) on every rank, writing
    ``out_dir/rank<R>.json``: each check's name -> "ok" or its traceback."""
    dist.init_process_group()
    rank, size = dist.get_rank(), dist.get_world_size()
    names = sys.argv[2:] or list(checks)
    results = {}
    for name in names:
        try:
            checks[name](rank, size)
            results[name] = "ok"
        except Exception:
            results[name] = traceback.format_exc()
        dist.barrier()
    with open(f"{out_dir}/rank{rank}.json", "w") as f:
        json.dump(results, f)
    dist.destroy_process_group()


def main(out_dir):
    run_checks(CHECKS, out_dir)


if __name__ == "__main__":
    main(sys.argv[1])
