"""A compiled MLP training loop gives the eager loop's losses over 20 steps, bitwise, and a
compiled whole training step (backward and optimizer step inside) runs correctly (eagerly, a
graph break at backward in this version)."""

import numpy as np

import retrograd
from retrograd._compile.replay import CompiledFunction
from tests.compile.compare import fresh_compiler  # noqa: F401
from tests.helpers import rand


def _mlp():
    retrograd.manual_seed(0)
    nn = retrograd.nn
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))


def _losses(compiled_step, whole_step=False):
    model = _mlp()
    opt = retrograd.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = retrograd.nn.CrossEntropyLoss()
    x = retrograd.tensor(rand(32, 6, dtype=np.float32))
    y = retrograd.tensor(np.arange(32) % 3)

    def forward(x, y):
        return loss_fn(model(x), y)

    def step(x, y):
        opt.zero_grad()
        loss = forward(x, y)
        loss.backward()
        opt.step()
        return loss

    if whole_step:
        step = retrograd.compile(step)
    elif compiled_step:
        forward = retrograd.compile(forward)
    losses = []
    retrograd.manual_seed(1)
    for i in range(20):
        if i == 10:
            model.eval()
        loss = step(x, y) if whole_step else None
        if not whole_step:
            opt.zero_grad()
            loss = forward(x, y)
            if compiled_step and i not in (0, 10):
                assert isinstance(loss.grad_fn, CompiledFunction)
            loss.backward()
            opt.step()
        losses.append(loss.item())
    return losses


def test_compiled_mlp_loop_matches_eager_losses_over_20_steps():
    assert _losses(True) == _losses(False)


def test_compiled_whole_training_step_runs_correctly():
    assert _losses(False, whole_step=True) == _losses(False)
