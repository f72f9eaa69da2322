"""Learning-rate schedulers: the sequence over 20 steps compared with torch's, state_dict, errors."""

import math
import warnings

import numpy as np
import pytest

import retrograd
from helpers import reference, requires_torch, torch
from retrograd.nn import Parameter
from retrograd.optim import lr_scheduler as lrs


class Halve:
    """A callable object (its __dict__ goes into LambdaLR's state_dict)."""

    def __init__(self):
        self.factor = 0.5

    def __call__(self, epoch):
        return self.factor ** (epoch // 3)


# (optimizer, optimizer kwargs, scheduler factory given the library's lr_scheduler module and optimizer)
CASES = {
    "StepLR": ("SGD", {}, lambda m, o: m.StepLR(o, step_size=3, gamma=0.5)),
    "MultiStepLR": ("SGD", {}, lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 11], gamma=0.3)),
    "ExponentialLR": ("SGD", {}, lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": ("SGD", {}, lambda m, o: m.CosineAnnealingLR(o, T_max=6, eta_min=0.01)),
    "CosineAnnealingWarmRestarts": ("SGD", {}, lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                                          eta_min=0.001)),
    "LambdaLR": ("SGD", {}, lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 1 / (e + 1))),
    "LambdaLR-per-group": ("SGD", {}, lambda m, o: m.LambdaLR(o, lr_lambda=[Halve(), lambda e: 0.9**e])),
    "MultiplicativeLR": ("SGD", {}, lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.95)),
    "LinearLR": ("SGD", {}, lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=8)),
    "ConstantLR": ("SGD", {}, lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4)),
    "PolynomialLR": ("SGD", {}, lambda m, o: m.PolynomialLR(o, total_iters=12, power=2.0)),
    "OneCycleLR": ("SGD", {"momentum": 0.9}, lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=21)),
    "OneCycleLR-adam-linear-3phase": ("Adam", {}, lambda m, o: m.OneCycleLR(
        o, max_lr=0.3, epochs=3, steps_per_epoch=7, anneal_strategy="linear", three_phase=True, pct_start=0.25)),
    "CyclicLR": ("SGD", {"momentum": 0.9}, lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4)),
    "CyclicLR-triangular2": ("SGD", {"momentum": 0.9}, lambda m, o: m.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=2, step_size_down=3, mode="triangular2")),
    "CyclicLR-exp_range-adam": ("Adam", {}, lambda m, o: m.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.9)),
    "SequentialLR": ("SGD", {}, lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.8),
            m.StepLR(o, step_size=2, gamma=0.5)], milestones=[5, 12])),
    "ChainedScheduler": ("SGD", {}, lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9)])),
    "ChainedScheduler-cosine": ("SGD", {}, lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.2, total_iters=5), m.CosineAnnealingLR(o, T_max=7)])),
}


def _make(lib, case):
    opt_name, opt_kwargs, factory = CASES[case]
    if lib is retrograd:
        a, b = Parameter(retrograd.ones(2)), Parameter(retrograd.ones(3))
    else:
        a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(3))
    opt = getattr(lib.optim, opt_name)([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, **opt_kwargs)
    return opt, factory(lib.optim.lr_scheduler, opt)


def _momentum(group):
    return group["betas"][0] if "betas" in group else group.get("momentum")


def _sequence(lib, case, steps=20, resume_at=None):
    opt, sched = _make(lib, case)
    out = [(list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
            [_momentum(g) for g in opt.param_groups])]
    for i in range(steps):
        if resume_at is not None and i == resume_at:
            sd = sched.state_dict()
            opt_sd = opt.state_dict()
            opt, sched = _make(lib, case)
            opt.load_state_dict(opt_sd)
            sched.load_state_dict(sd)
        opt.step()
        sched.step()
        out.append((list(sched.get_last_lr()), [g["lr"] for g in opt.param_groups],
                    [_momentum(g) for g in opt.param_groups]))
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_sequence_matches_torch(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _sequence(retrograd, case)
        theirs = reference(lambda: _sequence(torch, case))
    assert len(ours) == len(theirs)
    for (a_last, a_lr, a_m), (b_last, b_lr, b_m) in zip(ours, theirs):
        np.testing.assert_allclose(a_last, b_last, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(a_lr, b_lr, rtol=1e-12, atol=1e-15)
        if b_m[0] is not None:
            np.testing.assert_allclose(a_m, b_m, rtol=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_state_dict_resume(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight = _sequence(retrograd, case)
        resumed = _sequence(retrograd, case, resume_at=7)
    for (a, _, _), (b, _, _) in zip(straight, resumed):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@requires_torch
def test_step_with_epoch_and_warm_restarts_fractional():
    res = []
    for lib in (retrograd, torch):
        p = Parameter(retrograd.ones(1)) if lib is retrograd else torch.nn.Parameter(torch.ones(1))
        opt = lib.optim.SGD([p], lr=1.0)
        s = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)
        seq = []
        for e in [0.5, 1.0, 2.5, 7.25, 3.0]:
            s.step(e)
            seq.append(s.get_last_lr()[0])
        opt2 = lib.optim.SGD([p], lr=1.0)
        s2 = lib.optim.lr_scheduler.StepLR(opt2, step_size=2, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s2.step(5)
        seq.append(s2.get_last_lr()[0])
        res.append(seq)
    np.testing.assert_allclose(res[0], res[1], rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("kwargs", [dict(), dict(mode="max", patience=2, threshold_mode="abs", cooldown=2),
                                    dict(factor=0.5, patience=1, min_lr=[0.01, 0.03], threshold=0.1)])
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.96, 0.8, 0.85, 0.9, 0.99] * 3
    res = []
    for lib in (retrograd, torch):
        a = Parameter(retrograd.ones(1)) if lib is retrograd else torch.nn.Parameter(torch.ones(1))
        b = Parameter(retrograd.ones(1)) if lib is retrograd else torch.nn.Parameter(torch.ones(1))
        opt = lib.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.2}], lr=0.1)
        s = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **{"patience": 3, **kwargs})
        seq = []
        for m in metrics:
            s.step(m if lib is torch else retrograd.tensor(m, dtype=retrograd.float64))
            seq.append(list(s.get_last_lr()) + [s.num_bad_epochs, s.cooldown_counter])
        res.append(seq)
    np.testing.assert_allclose(res[0], res[1], rtol=1e-12)


def test_initial_step_and_last_epoch():
    p = Parameter(retrograd.ones(1))
    opt = retrograd.optim.SGD([p], lr=1.0)
    s = lrs.StepLR(opt, step_size=1, gamma=0.5)
    assert s.last_epoch == 0 and s.get_last_lr() == [1.0] and opt.param_groups[0]["initial_lr"] == 1.0
    s.step()
    assert s.last_epoch == 1 and opt.param_groups[0]["lr"] == 0.5
    sd = s.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 1 and sd["base_lrs"] == [1.0]
    s2 = lrs.StepLR(opt, step_size=1, gamma=0.5, last_epoch=1)  # resuming needs initial_lr
    assert s2.base_lrs == [1.0]
    opt2 = retrograd.optim.SGD([p], lr=1.0)
    with pytest.raises(KeyError, match="initial_lr"):
        lrs.StepLR(opt2, step_size=1, last_epoch=3)
    lam = lrs.LambdaLR(opt2, [Halve()])
    assert lam.state_dict()["lr_lambdas"] == [{"factor": 0.5}]
    assert math.isclose(opt2.param_groups[0]["lr"], 1.0)


def test_errors():
    p = Parameter(retrograd.ones(1))
    opt = retrograd.optim.SGD([p], lr=1.0)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lrs.StepLR(object(), 1)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        lrs.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode foo is unknown!"):
        lrs.ReduceLROnPlateau(opt, mode="foo")
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        lrs.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="total_steps OR"):
        lrs.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        s = lrs.OneCycleLR(opt, max_lr=0.1, total_steps=2)
        s.step()
        s.step()
        s.step()
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lrs.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        lrs.ConstantLR(opt, factor=2)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        lrs.OneCycleLR(opt, max_lr=[0.1, 0.2], total_steps=10)
    opt_nomom = retrograd.optim.Adagrad([p])
    with pytest.raises(ValueError, match="momentum or beta1"):
        lrs.CyclicLR(opt_nomom, 0.01, 0.1)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        lrs.SequentialLR(opt, [lrs.ExponentialLR(opt, 0.9)], milestones=[3])


@pytest.mark.parametrize("case", list(CASES))
def test_state_dict_saves_without_pickle(case, tmp_path):
    import zipfile

    _, sched = _make(retrograd, case)
    sched.step()
    sd = sched.state_dict()
    retrograd.save(sd, tmp_path / "s.pt")
    with zipfile.ZipFile(tmp_path / "s.pt") as zf:
        assert not any(n.startswith("pickles/") for n in zf.namelist())
    back = retrograd.load(tmp_path / "s.pt")
    assert back.keys() == sd.keys() and back.get("last_epoch") == sd.get("last_epoch")


def _sgd_resumed(lr=0.1, initial_lr=0.2):
    opt = retrograd.optim.SGD([Parameter(retrograd.ones(1))], lr=lr, momentum=0.9)
    opt.param_groups[0]["initial_lr"] = initial_lr
    return opt


# torch 2.13's values: resuming with last_epoch=5 keeps the group's lr at construction (the
# chainable forms start from it), then steps on from there
RESUMED = {
    "ExponentialLR": (lambda o: lrs.ExponentialLR(o, 0.5, last_epoch=5), [0.05, 0.025, 0.0125]),
    "LinearLR": (lambda o: lrs.LinearLR(o, 0.5, 1.0, 10, last_epoch=5), [0.10625, 0.1125, 0.11875]),
    "CosineAnnealingLR": (lambda o: lrs.CosineAnnealingLR(o, 10, last_epoch=5), [0.05965628, 0.02763932, 0.00708317]),
    "MultiplicativeLR": (lambda o: lrs.MultiplicativeLR(o, lambda e: 0.5, last_epoch=5), [0.05, 0.025, 0.0125]),
    "PolynomialLR": (lambda o: lrs.PolynomialLR(o, 10, last_epoch=5), [0.075, 0.05, 0.025]),
    "CosineAnnealingLR-0": (lambda o: lrs.CosineAnnealingLR(o, 10, last_epoch=0), [0.09271987, 0.08138079, 0.06709273]),
    "StepLR": (lambda o: lrs.StepLR(o, 3, 0.5, last_epoch=5), [0.05, 0.05, 0.025]),
}


@pytest.mark.parametrize("name", RESUMED)
def test_resuming_with_last_epoch_starts_from_the_groups_lr_as_torch(name):
    make, expected = RESUMED[name]
    opt = _sgd_resumed()
    sched = make(opt)
    assert sched.get_last_lr() == [opt.param_groups[0]["lr"]]
    assert opt.param_groups[0]["lr"] == (0.05 if name == "StepLR" else 0.1)  # StepLR's epoch 6 is a step
    got = []
    for _ in expected:
        opt.step()
        sched.step()
        got.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert sched.state_dict()["_is_initial"] is False


def test_multiplicative_lr_given_epoch_zero_multiplies_as_torch():
    opt = _sgd_resumed(initial_lr=0.1)
    sched = lrs.MultiplicativeLR(opt, lambda e: 0.5)
    opt.step()
    with pytest.warns(UserWarning, match="epoch parameter"):
        sched.step(0)  # not the construction step: the lr is multiplied (torch 2.13)
    assert sched.get_last_lr() == [0.05]


def test_resuming_without_initial_lr_raises_key_error_saying_what_to_do():
    opt = retrograd.optim.SGD([Parameter(retrograd.ones(1))], lr=0.1)
    with pytest.raises(KeyError, match=r"'initial_lr' is not specified in param_groups\[0\].*StepLR.*last_epoch=5"):
        lrs.StepLR(opt, 3, last_epoch=5)


def test_scheduler_step_before_optimizer_step_warns_as_torch():
    opt = retrograd.optim.SGD([Parameter(retrograd.ones(1))], lr=0.1)
    sched = lrs.StepLR(opt, 2)
    with pytest.warns(UserWarning, match=r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        sched.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()  # only the first step is checked
        opt2 = retrograd.optim.SGD([Parameter(retrograd.ones(1))], lr=0.1)
        sched2 = lrs.ExponentialLR(opt2, 0.5)
        opt2.step()
        sched2.step()
        lrs.ReduceLROnPlateau(opt2).step(1.0)  # torch checks neither of these
        lrs.CosineAnnealingWarmRestarts(opt2, 2).step()
    opt3 = retrograd.optim.SGD([Parameter(retrograd.ones(1))], lr=0.1)
    sched3 = lrs.StepLR(opt3, 2)
    opt3.step = lambda closure=None: None
    with pytest.warns(UserWarning, match=r"`optimizer.step\(\)` has been overridden after learning rate scheduler"):
        sched3.step()


TENSOR_LR = {  # torch 2.13, float32 lr tensor 0.1: the formulas run in float32 on the tensors
    "CosineAnnealingLR": (lambda o: lrs.CosineAnnealingLR(o, 5), [0.0904508457, 0.0654508471, 0.0345491469]),
    "LinearLR": (lambda o: lrs.LinearLR(o), [0.0466666669, 0.0599999987, 0.0733333305]),
    "StepLR": (lambda o: lrs.StepLR(o, 2, 0.5), [0.1, 0.05, 0.05]),
}


@pytest.mark.parametrize("name", TENSOR_LR)
def test_a_tensor_lr_keeps_tensors_in_get_last_lr_and_base_lrs_as_torch(name):
    make, expected = TENSOR_LR[name]
    lr = retrograd.tensor(0.1)
    opt = retrograd.optim.Adam([Parameter(retrograd.ones(1))], lr=lr)
    sched = make(opt)
    assert isinstance(sched.base_lrs[0], retrograd.Tensor) and sched.base_lrs[0] is not lr
    got = []
    for _ in expected:
        opt.step()
        sched.step()
        last = sched.get_last_lr()[0]
        assert isinstance(last, retrograd.Tensor) and last is not lr and last.dtype == retrograd.float32
        assert opt.param_groups[0]["lr"] is lr  # updated in place
        got.append(last.item())
    np.testing.assert_allclose(got, expected, rtol=2e-8)


def test_get_lr_outside_step_warns_to_use_get_last_lr_as_torch():
    for make in (lambda o: lrs.StepLR(o, 2), lambda o: lrs.CosineAnnealingWarmRestarts(o, 3),
                 lambda o: lrs.CyclicLR(o, 0.1, 1.0), lambda o: lrs.OneCycleLR(o, 1.0, 10)):
        opt = retrograd.optim.SGD([Parameter(retrograd.ones(1))], lr=0.1, momentum=0.9)
        sched = make(opt)
        with pytest.warns(UserWarning, match=r"please use `get_last_lr\(\)`"):
            sched.get_lr()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt.step()
            sched.step()  # (inside step: no warning)
