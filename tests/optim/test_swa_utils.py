"""optim.swa_utils: AveragedModel (SWA and EMA), SWALR and update_bn compared with torch."""

import numpy as np
import pytest

import retrograd
from helpers import requires_torch, torch
from retrograd.optim import swa_utils


def _weights(seed):
    rng = np.random.default_rng(seed)
    return {"0.weight": rng.standard_normal((3, 4)).astype(np.float32),
            "0.bias": rng.standard_normal(3).astype(np.float32),
            "1.weight": rng.standard_normal(3).astype(np.float32),
            "1.bias": rng.standard_normal(3).astype(np.float32),
            "1.running_mean": rng.standard_normal(3).astype(np.float32),
            "1.running_var": rng.uniform(0.5, 2, 3).astype(np.float32),
            "1.num_batches_tracked": np.array(seed, dtype=np.int64)}


def _model(lib, seed=0):
    m = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.BatchNorm1d(3))
    m.load_state_dict({k: lib.tensor(v) for k, v in _weights(seed).items()})
    return m


@requires_torch
@pytest.mark.parametrize("mode", ["swa", "ema", "ema-multi", "swa-buffers"])
def test_averaged_model_matches_torch(mode):
    results = []
    for lib in (retrograd, torch):
        su = swa_utils if lib is retrograd else torch.optim.swa_utils
        kwargs = {"swa": {}, "ema": {"avg_fn": su.get_ema_avg_fn(0.9)},
                  "ema-multi": {"multi_avg_fn": su.get_ema_multi_avg_fn(0.8)},
                  "swa-buffers": {"use_buffers": True}}[mode]
        avg = su.AveragedModel(_model(lib), **kwargs)
        for seed in range(1, 5):
            avg.update_parameters(_model(lib, seed))
        results.append({k: v.detach().numpy().copy() for k, v in avg.state_dict().items()})
    assert results[0].keys() == results[1].keys()
    for k in results[0]:
        np.testing.assert_allclose(results[0][k], results[1][k], rtol=1e-6, atol=1e-6, err_msg=k)


@requires_torch
@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.05), dict(swa_lr=[0.01, 0.2], anneal_epochs=3,
                                                               anneal_strategy="linear"),
                                    dict(swa_lr=0.02, anneal_epochs=0)])
def test_swalr_matches_torch(kwargs):
    seqs = []
    for lib in (retrograd, torch):
        a = lib.nn.Parameter(lib.ones(2))
        b = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.3}], lr=0.5)
        s = (swa_utils if lib is retrograd else torch.optim.swa_utils).SWALR(opt, **kwargs)
        seq = [s.get_last_lr()]
        for _ in range(15):
            opt.step()
            s.step()
            seq.append(s.get_last_lr())
        seqs.append(seq)
    np.testing.assert_allclose(seqs[0], seqs[1], rtol=1e-12)


@requires_torch
def test_update_bn_matches_torch():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(3)]
    stats = []
    for lib in (retrograd, torch):
        m = _model(lib)
        m.eval()
        loader = [(lib.tensor(x), 0) for x in xs]
        (swa_utils if lib is retrograd else torch.optim.swa_utils).update_bn(loader, m)
        assert not m.training and m[1].momentum == 0.1
        stats.append([m[1].running_mean.numpy().copy(), m[1].running_var.numpy().copy()])
    for a, b in zip(*stats):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_swa_forward_and_errors():
    m = retrograd.nn.Linear(2, 2)
    avg = swa_utils.AveragedModel(m)
    x = retrograd.randn(3, 2)
    avg.update_parameters(m)
    np.testing.assert_array_equal(avg(x).detach().numpy(), m(x).detach().numpy())
    assert avg.n_averaged.item() == 1
    opt = retrograd.optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must by one of"):
        swa_utils.SWALR(opt, 0.1, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, 0.1, anneal_epochs=-1)


def test_swalr_get_lr_outside_step_warns_to_use_get_last_lr_as_torch():
    import warnings

    p = retrograd.nn.Parameter(retrograd.zeros(2))
    opt = retrograd.optim.SGD([p], lr=0.1)
    sched = retrograd.optim.swa_utils.SWALR(opt, swa_lr=0.05)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sched.get_lr()
        opt.step()
        sched.step()  # (get_lr inside step: no warning)
    assert [str(w.message) for w in caught] == [
        "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."]
