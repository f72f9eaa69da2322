"""Optimizers: five steps compared with torch's on the same parameters and gradients, state_dict
round trips, and torch's errors for bad arguments."""

import copy

import numpy as np
import pytest

import retrograd
from helpers import as_recorded, reference, torch
from retrograd import optim
from retrograd.nn import Parameter

SHAPES = [(3, 4), (5,)]

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, amsgrad=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.1, betas=(0.6, 0.8), maximize=True)),
    ("Adam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.1)),
    ("AdamW", dict(lr=0.1, amsgrad=True, weight_decay=0.3)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.1)),
    ("Adamax", dict(lr=0.1, weight_decay=0.1, betas=(0.7, 0.9))),
    ("NAdam", dict(lr=0.1)),
    ("NAdam", dict(lr=0.1, weight_decay=0.1, momentum_decay=0.1)),
    ("NAdam", dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.1, betas=(0.9, 0.9))),
    ("RAdam", dict(lr=0.1, betas=(0.8, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.1, betas=(0.9, 0.9), weight_decay=0.1, decoupled_weight_decay=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.1), maximize=True)),
    ("ASGD", dict(lr=0.1)),
    ("ASGD", dict(lr=0.1, lambd=0.01, alpha=0.5, t0=2, weight_decay=0.1, maximize=True)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.1, eps=(1e-10, 1e-3), d=1.5, weight_decay=0.1, maximize=True, beta2_decay=-0.5)),
]


def _data(seed=0, steps=8, dtype=np.float64):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


def _run(lib, name, kwargs, init, grads, opt_state=None):
    if lib is retrograd:
        params = [Parameter(retrograd.tensor(a.copy())) for a in init]
    else:
        params = [torch.nn.Parameter(torch.tensor(a.copy())) for a in init]
    opt = getattr(lib.optim, name)(params, **kwargs)
    if opt_state is not None:
        opt.load_state_dict(opt_state)
    history = []
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = lib.tensor(g.copy())
        opt.step()
        history.append([p.detach().numpy().copy() for p in params])
    return opt, params, history


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_matches_torch(name, kwargs, dtype):
    init, grads = _data(dtype=dtype)
    steps = 8 if name == "RAdam" else 5  # RAdam's rectified branch starts at step 6 with beta2=0.9
    _, _, ours = _run(retrograd, name, kwargs, init, grads[:steps])
    theirs = reference(lambda: _run(torch, name, kwargs, init, grads[:steps])[2])
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for a, b in zip(ours, theirs):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, **tol)


def _layout(sd):
    """A state_dict as reference() records it, each state tensor as {"tensor": [shape, dtype, values]}."""
    state = {k: {key: {"tensor": [list(v.shape), str(v.dtype), v.numpy()]} if hasattr(v, "shape") else v
                 for key, v in s.items()} for k, s in sd["state"].items()}
    return as_recorded({"param_groups": sd["param_groups"], "state": state})


@pytest.mark.parametrize("name,kwargs", CONFIGS[1::3])
def test_state_dict_layout_matches_torch(name, kwargs):
    init, grads = _data()
    ours, _, _ = _run(retrograd, name, kwargs, init, grads[:2])
    a = _layout(ours.state_dict())
    b = reference(lambda: _layout(_run(torch, name, kwargs, init, grads[:2])[0].state_dict()))
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for k in a["state"]:
        assert a["state"][k].keys() == b["state"][k].keys()
        for key, v in a["state"][k].items():
            w = b["state"][k][key]
            if isinstance(v, dict) and "tensor" in v:
                (shape, dtype, values), (expected_shape, expected_dtype, expected) = v["tensor"], w["tensor"]
                assert shape == expected_shape and dtype == expected_dtype
                np.testing.assert_allclose(values, expected, rtol=1e-6)


@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_state_dict_round_trip_continues_identically(name, kwargs):
    init, grads = _data()
    opt, params, _ = _run(retrograd, name, kwargs, init, grads[:3])
    sd = copy.deepcopy(opt.state_dict())
    saved = copy.deepcopy(sd)
    mid = [p.detach().numpy().copy() for p in params]
    _, _, cont = _run(retrograd, name, kwargs, init, grads[:5])
    # a fresh optimizer on fresh parameters holding the values after three steps
    _, _, resumed = _run(retrograd, name, kwargs, mid, grads[3:5], opt_state=sd)
    # (NAdam's mu_product and ASGD's eta and mu, float32 scalars, are cast to the parameters'
    # float64 on load, as torch does)
    tol = 1e-6 if name in ("NAdam", "ASGD") else 0
    for a, b in zip(cont[3:], resumed):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=tol, atol=tol * 0.1)
    # loading copies: stepping the fresh optimizer leaves the saved state untouched
    assert all(isinstance(k, int) for k in sd["state"])
    assert sd["param_groups"] == saved["param_groups"] and sd["state"].keys() == saved["state"].keys()
    for k, entries in saved["state"].items():
        assert sd["state"][k].keys() == entries.keys()
        for key, v in entries.items():
            w = sd["state"][k][key]
            if hasattr(v, "shape"):
                assert str(w.dtype) == str(v.dtype)
                np.testing.assert_array_equal(w.numpy(), v.numpy(), err_msg=f"state[{k}][{key!r}]")
            else:
                assert w == v, (k, key)


def _quadratic(lib, dtype=np.float64):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((6, 4)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    x0 = rng.standard_normal(4).astype(dtype)
    x = (Parameter(retrograd.tensor(x0)) if lib is retrograd else torch.nn.Parameter(torch.tensor(x0)))
    At, bt = lib.tensor(A), lib.tensor(b)

    def loss_fn():
        r = At @ x - bt
        return (r * r).sum() + (x * x * x * x).sum() * 0.1

    return x, loss_fn


@pytest.mark.parametrize("kwargs", [dict(lr=1, max_iter=5), dict(lr=0.5, max_iter=4, history_size=2),
                                    dict(lr=1, max_iter=6, line_search_fn="strong_wolfe")])
def test_lbfgs_matches_torch(kwargs):
    def run(lib):
        x, loss_fn = _quadratic(lib)
        opt = lib.optim.LBFGS([x], **kwargs)

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        losses = [opt.step(closure).item() for _ in range(3)]
        return losses, x.detach().numpy().copy(), opt.state[x]["func_evals"]

    (l1, x1, e1), (l2, x2, e2) = run(retrograd), reference(lambda: run(torch))
    np.testing.assert_allclose(l1, l2, rtol=1e-8)
    np.testing.assert_allclose(x1, x2, rtol=1e-7, atol=1e-9)
    assert e1 == e2


def test_lbfgs_minimises_without_torch():
    x, loss_fn = _quadratic(retrograd)
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    first = float(closure())
    for _ in range(3):
        opt.step(closure)
    assert float(closure()) < first
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [x]}, {"params": [Parameter(retrograd.zeros(2))]}])


def test_training_loop_reduces_loss():
    rng = np.random.default_rng(0)
    X = retrograd.tensor(rng.standard_normal((32, 3)))
    y = X @ retrograd.tensor([1.0, -2.0, 0.5], dtype=retrograd.float64) + 0.3  # (products do not promote)
    w = Parameter(retrograd.zeros(3, dtype=retrograd.float64))
    b = Parameter(retrograd.zeros(1, dtype=retrograd.float64))
    for cls in (optim.SGD, optim.Adam):
        opt = cls([w, b], lr=0.1)
        losses = []
        for _ in range(30):
            opt.zero_grad()
            loss = ((X @ w + b - y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.1 * losses[0]


def test_step_bumps_version_and_runs_without_grad():
    p = Parameter(retrograd.ones(3))
    opt = optim.SGD([p], lr=0.1)
    v = p._version
    p.grad = retrograd.ones(3)
    opt.step()
    assert p._version == v + 1
    assert p.requires_grad and p.grad_fn is None
    np.testing.assert_allclose(p.detach().numpy(), 0.9)
    q = Parameter(retrograd.ones(2))  # params without grad are skipped
    opt2 = optim.Adam([q])
    opt2.step()
    assert len(opt2.state) == 0


def test_closure_loss_returned_and_grad_enabled():
    p = Parameter(retrograd.ones(2))
    opt = optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        assert retrograd.is_grad_enabled()
        loss = (p * p).sum()
        loss.backward()
        return loss

    with retrograd.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 2.0
    np.testing.assert_allclose(p.detach().numpy(), 0.0)


def test_zero_grad():
    p = Parameter(retrograd.ones(2))
    opt = optim.SGD([p], lr=0.1)
    p.grad = retrograd.ones(2)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_param_groups_and_defaults():
    a, b = Parameter(retrograd.ones(2)), Parameter(retrograd.ones(3))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["params"] == [b]
    c = Parameter(retrograd.ones(1))
    opt.add_param_group({"params": [c], "lr": 0.01})
    assert len(opt.param_groups) == 3 and opt.param_groups[2]["nesterov"] is False
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    named = optim.Adam([("w", a), ("b", b)])
    assert named.param_groups[0]["param_names"] == ["w", "b"]
    assert "Adam (" in repr(named) and "lr: 0.001" in repr(named)


def test_errors_match_torch():
    p = Parameter(retrograd.ones(2))
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p}}], lr=0.1)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.Adam([p], lr=-1)
    with pytest.raises(ValueError, match="Invalid momentum value: -0.5"):
        optim.SGD([p], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        optim.RMSprop([p], eps=-1)
    with pytest.raises(ValueError, match="Invalid weight_decay value: -0.1"):
        optim.AdamW([p], weight_decay=-0.1)
    with pytest.raises(ValueError, match="Invalid rho value"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match="Invalid momentum_decay value"):
        optim.NAdam([p], momentum_decay=-1)
    with pytest.raises(ValueError, match="Invalid lr_decay value"):
        optim.Adagrad([p], lr_decay=-1)
    with pytest.raises(RuntimeError, match="`fused` does not support `differentiable`"):
        optim.Adam([p], differentiable=True, fused=True)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})


def test_step_hooks():
    p = Parameter(retrograd.ones(2))
    opt = optim.SGD([p], lr=0.1)
    calls = []
    h1 = opt.register_step_pre_hook(lambda o, a, k: calls.append(("pre", o is opt)))
    h2 = opt.register_step_post_hook(lambda o, a, k: calls.append(("post", o is opt)))
    p.grad = retrograd.ones(2)
    opt.step()
    assert calls == [("pre", True), ("post", True)]
    h1.remove()
    h2.remove()
    opt.step()
    assert len(calls) == 2


def test_load_state_dict_casts_to_param_dtype():
    p = Parameter(retrograd.ones(3, dtype=retrograd.float64))
    opt = optim.Adam([p])
    p.grad = retrograd.ones(3, dtype=retrograd.float64)
    opt.step()
    sd = opt.state_dict()
    q = Parameter(retrograd.ones(3))
    opt2 = optim.Adam([q])
    opt2.load_state_dict(sd)
    st = opt2.state[q]
    assert st["exp_avg"].dtype == retrograd.float32
    assert st["step"].dtype == retrograd.float32 and st["step"].item() == 1.0
    assert st["exp_avg"]._data is not opt.state[p]["exp_avg"]._data


def test_checkpoint_resume_with_module_loader_and_scheduler(tmp_path):
    """A seed-style loop (zero_grad, forward, loss, backward, step) with a DataLoader and a
    scheduler; a checkpoint saved mid-training resumes to exactly the same weights."""
    from retrograd.utils.data import DataLoader, TensorDataset

    rng = np.random.default_rng(0)
    X = retrograd.tensor(rng.standard_normal((48, 4)).astype(np.float32))
    y = retrograd.tensor((rng.standard_normal(48) > 0).astype(np.int64))

    def build():
        retrograd.manual_seed(0)
        model = retrograd.nn.Sequential(retrograd.nn.Linear(4, 16), retrograd.nn.ReLU(), retrograd.nn.Linear(16, 2))
        opt = optim.AdamW(model.parameters(), lr=0.05)
        sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        return model, opt, sched

    def epoch(model, opt, sched, seed):
        loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True,
                            generator=retrograd.Generator().manual_seed(seed))
        total = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = retrograd.nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
        sched.step()
        return total

    model, opt, sched = build()
    losses = [epoch(model, opt, sched, e) for e in range(3)]
    retrograd.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()},
                   tmp_path / "ck.pt")
    losses += [epoch(model, opt, sched, e) for e in range(3, 6)]
    assert losses[-1] < losses[0]

    model2, opt2, sched2 = build()
    ck = retrograd.load(tmp_path / "ck.pt")
    model2.load_state_dict(ck["model"])
    opt2.load_state_dict(ck["opt"])
    sched2.load_state_dict(ck["sched"])
    for e in range(3, 6):
        epoch(model2, opt2, sched2, e)
    for (k, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    assert sched2.get_last_lr() == sched.get_last_lr()


def test_user_defined_optimizer():
    class PlainSGD(optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        @retrograd.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.add_(p.grad, alpha=-group["lr"])

    p = Parameter(retrograd.ones(3))
    opt = PlainSGD([p])
    calls = []
    opt.register_step_post_hook(lambda o, a, k: calls.append(1))
    p.grad = retrograd.ones(3)
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), 0.9)
    assert calls == [1] and opt.state_dict()["param_groups"] == [{"lr": 0.1, "params": [0]}]


_CAPTURABLE = ['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']


@pytest.mark.parametrize("name, foreach, what, devices", [
    ("Adam", False, "params and state_steps", _CAPTURABLE),
    ("Adam", True, "params and state_steps", _CAPTURABLE[:-1]),
    ("AdamW", False, "params and state_steps", _CAPTURABLE),
    ("Adamax", True, "params and state_steps", _CAPTURABLE[:-1]),
    ("ASGD", False, "params, mus, etas, and state_steps", _CAPTURABLE),
    ("NAdam", False, "params, mu_products and state_steps", _CAPTURABLE),
    ("NAdam", True, "params, mu_products, and state_steps", _CAPTURABLE[:-1]),
    ("RAdam", False, "params and state_steps", _CAPTURABLE),
    ("RMSprop", True, "params and state_steps", _CAPTURABLE),
    ("Rprop", False, "params and state_steps", _CAPTURABLE),
    ("Adadelta", False, "params and state_steps", _CAPTURABLE[:-1]),
])
@pytest.mark.parametrize("differentiable", [False, True])
def test_capturable_with_cpu_parameters_raises_at_step_as_torch(name, foreach, what, devices, differentiable):
    """capturable=True is accepted at construction and by a step with no gradient; a step that
    updates a CPU parameter raises torch 2.13's AssertionError (its message recorded here) and
    leaves the parameter unchanged."""
    if differentiable and foreach:
        pytest.skip("foreach with differentiable raises foreach's own AssertionError")
    p = Parameter(retrograd.ones(2))
    opt = getattr(optim, name)([p], capturable=True, foreach=foreach, differentiable=differentiable)
    opt.step()
    p.grad = retrograd.ones(2)
    message = f"If capturable=True, {what} must be on supported devices: {devices}."
    with pytest.raises(AssertionError) as info:
        opt.step()
    assert str(info.value) == message
    np.testing.assert_array_equal(p.detach().numpy(), np.ones(2, dtype=np.float32))
    if torch is not None:
        tp = torch.nn.Parameter(torch.ones(2))
        topt = getattr(torch.optim, name)([tp], capturable=True, foreach=foreach, differentiable=differentiable)
        tp.grad = torch.ones(2)
        with pytest.raises(AssertionError) as tinfo:
            topt.step()
        assert str(tinfo.value) == message


# The optimizers' add_(x, alpha=a) steps are axpy calls (optim/_update_ops.py, retrograd._blas):
# one rounding, as torch's. Below _blas.MIN_BYTES NumPy's multiply and add run them (two roundings),
# so these tests lower it to put small recorded parameters through BLAS.
_needs_blas = pytest.mark.skipif(not retrograd._blas.available(), reason="no BLAS library found under NumPy")


@_needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("maximize", [False, True])
def test_weight_decay_is_torch_add_with_alpha_bitwise(dtype, maximize, monkeypatch):
    from retrograd.optim.optimizer import _signed_decayed

    monkeypatch.setattr(retrograd._blas, "MIN_BYTES", 0)
    init, grads = _data(dtype=dtype)
    d, g = init[0], grads[0][0]
    kept = g.copy()
    ours = _signed_decayed(g, d, 0.01, maximize)
    theirs = reference(lambda: (-torch.tensor(g) if maximize else torch.tensor(g)).add(torch.tensor(d), alpha=0.01)
                       .numpy(), [d, g, maximize])
    assert np.array_equal(ours, theirs)
    assert np.array_equal(g, kept)  # (the .grad's array is not written)


@_needs_blas
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_asgd_equals_torchs_per_tensor_update_bitwise(dtype, monkeypatch):
    """ASGD's param.add_(grad, alpha=-eta) and weight decay as axpy: torch's foreach=False values
    (its foreach=True path rounds its average otherwise)."""
    monkeypatch.setattr(retrograd._blas, "MIN_BYTES", 0)
    kwargs = dict(lr=0.1, lambd=0.01, alpha=0.5, t0=2, weight_decay=0.1, maximize=True)
    init, grads = _data(dtype=dtype)
    _, _, ours = _run(retrograd, "ASGD", kwargs, init, grads[:5])
    theirs = reference(lambda: _run(torch, "ASGD", dict(kwargs, foreach=False), init, grads[:5])[2])
    for a, b in zip(ours, theirs):
        for x, y in zip(a, b):
            assert np.array_equal(x, y)
