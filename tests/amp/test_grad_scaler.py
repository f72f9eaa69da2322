"""GradScaler: skips steps with inf/nan gradients and adapts its scale as torch's does."""

import numpy as np
import pytest

import retrograd
from helpers import requires_torch, torch


def _run(t, grads, **kwargs):
    p = t.nn.Parameter(t.ones(3))
    opt = t.optim.SGD([p], lr=0.1)
    scaler = t.amp.GradScaler("cpu", **kwargs)
    history = []
    for g in grads:
        opt.zero_grad()
        loss = scaler.scale((p * t.tensor(g, dtype=t.float32)).sum())
        loss.backward()
        scaler.step(opt)
        scaler.update()
        history.append((scaler.get_scale(), p.detach().numpy().copy().tolist()))
    return history, scaler.state_dict()


GRADS = [[1.0, 2.0, 3.0], [float("inf"), 0.0, 0.0], [1.0, 1.0, 1.0], [float("nan"), 1.0, 1.0],
         [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]


def test_skips_inf_steps_and_backs_off():
    history, _ = _run(retrograd, GRADS, init_scale=1024.0, growth_interval=2)
    scales = [h[0] for h in history]
    assert scales[1] == scales[0] / 2  # overflow: back off
    assert history[1][1] == history[0][1]  # and the step was skipped
    assert history[3][1] == history[2][1]


@requires_torch
def test_matches_torch():
    ours, our_state = _run(retrograd, GRADS, init_scale=1024.0, growth_interval=2)
    theirs, their_state = _run(torch, GRADS, init_scale=1024.0, growth_interval=2)
    for (s1, p1), (s2, p2) in zip(ours, theirs):
        assert s1 == s2
        np.testing.assert_allclose(p1, p2, rtol=1e-6)
    assert our_state == {k: (v if not hasattr(v, "item") else v.item()) for k, v in their_state.items()}


def test_unscale_twice_is_an_error():
    p = retrograd.nn.Parameter(retrograd.ones(2))
    opt = retrograd.optim.SGD([p], lr=0.1)
    scaler = retrograd.amp.GradScaler("cpu")
    scaler.scale(p.sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)


def test_state_dict_round_trip():
    s = retrograd.amp.GradScaler("cpu", init_scale=8.0)
    s2 = retrograd.amp.GradScaler("cpu")
    s2.load_state_dict(s.state_dict())
    assert s2.get_scale() == 8.0


@pytest.mark.skipif(retrograd.cuda.is_available(), reason="a GPU is available here")
@pytest.mark.parametrize("make", [lambda t: t.amp.GradScaler("cuda"), lambda t: t.amp.GradScaler()])
def test_a_cuda_scaler_without_cuda_warns_and_disables_itself_as_torchs(make):
    """It scaled the loss by 65536 (the programs' torch.cuda.amp.GradScaler() on a CPU-only machine)."""
    with pytest.warns(UserWarning, match="GradScaler is enabled, but CUDA is not available.  Disabling."):
        scaler = make(retrograd)
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    loss = retrograd.tensor(2.0)
    assert scaler.scale(loss) is loss
