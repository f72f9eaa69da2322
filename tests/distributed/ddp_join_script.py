"""Uneven inputs under ``Join`` / ``DistributedDataParallel.join()``, run on each rank under
``mpiexec -n 2`` by tests/distributed/test_ddp_join.py: ``python ddp_join_script.py OUT_DIR`` writes
``OUT_DIR/rank<R>.json`` mapping each check's name to "ok" or the failure. Rank 0 has more
batches than rank 1 in every check."""

import sys

import numpy as np

import retrograd as torch
import retrograd.distributed as dist
from retrograd import nn
from retrograd.distributed.algorithms import Join, Joinable, JoinHook
from retrograd.distributed.algorithms.ddp_comm_hooks import default_hooks
from retrograd.nn.parallel import DistributedDataParallel as DDP

from ddp_script import batch, gathered, half, mlp, params, run_checks

CHECKS = {}
STEPS = {0: 5, 1: 3}  # batches per rank


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


def reference(divide_by_initial_world_size, n, lr=0.1):
    """One process: at each step the sum of the gradients of the ranks still training on their
    halves, divided by the world size or by their number; SGD."""
    model = mlp(1)
    for step in range(max(STEPS.values())):
        x, y = batch(step)
        active = [r for r in range(n) if step < STEPS[r]]
        grads = [np.zeros(p.shape) for p in model.parameters()]
        for r in active:
            model.zero_grad()
            nn.functional.mse_loss(model(half(x, r, n)), half(y, r, n)).backward()
            grads = [g + p.grad.numpy() for g, p in zip(grads, model.parameters())]
        divisor = n if divide_by_initial_world_size else len(active)
        with torch.no_grad():
            for p, g in zip(model.parameters(), grads):
                p -= lr * torch.tensor(g / divisor)
    return params(model)


def train_uneven(r, n, lr=0.1, hook=None, **join_kwargs):
    ddp = DDP(mlp(1))
    if hook is not None:
        ddp.register_comm_hook(None, hook)
    opt = torch.optim.SGD(ddp.parameters(), lr=lr)
    with ddp.join(**join_kwargs):
        for step in range(STEPS[r]):
            x, y = batch(step)
            opt.zero_grad()
            nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
            opt.step()
    return params(ddp.module)


def assert_params(got, want):
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@check
def joined_rank_contributes_zeros_to_the_average(r, n):
    got = train_uneven(r, n)
    assert_params(got, reference(True, n))
    theirs = gathered(got)
    assert_params(theirs[0], theirs[1])  # every rank ends with the last joiner's model


@check
def divide_by_the_ranks_still_training(r, n):
    assert_params(train_uneven(r, n, divide_by_initial_world_size=False), reference(False, n))


@check
def a_comm_hook_runs_for_the_joined_rank_too(r, n):
    assert_params(train_uneven(r, n, hook=default_hooks.allreduce_hook), reference(True, n))


@check
def throw_on_early_termination_raises_on_every_rank(r, n):
    try:
        train_uneven(r, n, throw_on_early_termination=True)
    except RuntimeError as e:
        want = "Rank 1 exhausted all inputs." if r == 1 else "Detected at least one rank that exhausted inputs."
        assert want in str(e), str(e)
    else:
        raise AssertionError("no rank raised")


@check
def disabled_join_is_a_plain_loop(r, n):
    ddp = DDP(mlp(1))
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    with ddp.join(enable=False):
        for step in range(2):
            x, y = batch(step)
            opt.zero_grad()
            nn.functional.mse_loss(ddp(half(x, r, n)), half(y, r, n)).backward()
            opt.step()
    theirs = gathered(params(ddp.module))
    assert_params(theirs[0], theirs[1])


@check
def buffers_come_from_the_last_rank_training(r, n):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Linear(8, 3)).double()
    ddp = DDP(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1)
    with ddp.join():
        for step in range(STEPS[r]):
            x, y = batch(step)
            opt.zero_grad()
            nn.functional.mse_loss(ddp(half(x, r, n) + r), half(y, r, n)).backward()  # ranks' batches differ
            opt.step()
    mean = model[1].running_mean.numpy().copy()
    theirs = gathered(mean)
    np.testing.assert_array_equal(theirs[0], theirs[1])
    assert int(model[1].num_batches_tracked) == STEPS[0]  # rank 0's, the last to join


class Counter(Joinable):
    """A joinable that counts what its hook runs (one allreduce per iteration to shadow)."""

    def __init__(self):
        super().__init__()
        self.main, self.post = 0, None

    def step(self):
        work = Join.notify_join_context(self)
        dist.all_reduce(torch.ones(1))
        work.wait()

    def join_hook(self, **kwargs):
        joinable = self

        class Hook(JoinHook):
            def main_hook(self):
                joinable.main += 1
                dist.all_reduce(torch.zeros(1))

            def post_hook(self, is_last_joiner):
                joinable.post = (is_last_joiner, kwargs)

        return Hook()

    @property
    def join_device(self):
        return torch.device("cpu")

    @property
    def join_process_group(self):
        return dist.group.WORLD


@check
def join_runs_main_hooks_while_others_train_and_post_hooks_at_the_end(r, n):
    c = Counter()
    with Join([c], seen=r):
        for _ in range(STEPS[r]):
            c.step()
    assert c.main == STEPS[0] - STEPS[r]
    assert c.post == (r == 0, {"seen": r})


if __name__ == "__main__":
    run_checks(CHECKS, sys.argv[1])
