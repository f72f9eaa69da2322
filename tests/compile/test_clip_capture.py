"""Gradient clipping inside a compiled training step (``loss.backward(); clip_grad_norm_(...); opt.step()``):
clip_grad_norm_ and clip_grad_value_ are calls of the generated code after the backward lines before them, as
optimizer.step() is, so the step is one graph (it broke at the clip's ``.item()`` before); the total norm is
the call's tensor at each replay; losses, norms, parameters and gradients bitwise eager's; error_if_nonfinite
raises at replay as eagerly."""

import math

import numpy as np
import pytest

import retrograd
from tests.compile.compare import captures, fresh_compiler  # noqa: F401

nn = retrograd.nn
clip_grad_norm_, clip_grad_value_ = nn.utils.clip_grad_norm_, nn.utils.clip_grad_value_


def _model():
    retrograd.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    return model, retrograd.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def _batches(n=6, scale=3.0):
    rng = np.random.default_rng(0)
    return [(retrograd.from_numpy(rng.normal(0, scale, (16, 4))), retrograd.from_numpy(rng.normal(0, scale, (16, 1))))
            for _ in range(n)]


def _stepper(clip):
    model, opt = _model()

    def step(x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        out = clip(model.parameters())
        opt.step()
        return loss, out

    return model, step


def _same_steps(clip, batches, captures):
    eager_model, eager = _stepper(clip)
    model, step = _stepper(clip)
    compiled = retrograd.compile(step, fullgraph=True)  # (a break would raise)
    for x, y in batches:
        a, b = eager(x, y), compiled(x, y)
        assert a[0].item() == b[0].item()
        if a[1] is not None:
            assert not b[1].requires_grad and b[1].dtype == a[1].dtype
            np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
        for p, q in zip(eager_model.parameters(), model.parameters()):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
            np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert captures[0] == 1  # the other calls replayed


CLIPS = {"norm": lambda ps: clip_grad_norm_(ps, 1.0),
         "norm_then_value": lambda ps: (clip_grad_norm_(ps, 1.0), clip_grad_value_(ps, 0.05))[0],
         "value": lambda ps: clip_grad_value_(ps, 0.05),
         "inf_norm_foreach": lambda ps: clip_grad_norm_(ps, 0.5, norm_type=math.inf, foreach=True),
         "one_norm_no_foreach": lambda ps: clip_grad_norm_(ps, 2.0, norm_type=1, foreach=False),
         "list_and_tensor_norm": lambda ps: clip_grad_norm_(list(ps), 1.0) * 2,
         "deprecated_alias": lambda ps: nn.utils.clip_grad_norm(ps, 1.0)}


@pytest.mark.filterwarnings("ignore:`torch.nn.utils.clip_grad_norm` is now deprecated")
@pytest.mark.parametrize("name", CLIPS)
def test_a_training_step_clipping_gradients_is_one_graph_equal_to_eager(name, captures, fresh_compiler):  # noqa: F811
    _same_steps(CLIPS[name], _batches(), captures)


def test_explain_counts_one_graph_and_no_break(fresh_compiler):  # noqa: F811
    _, step = _stepper(CLIPS["norm_then_value"])
    x, y = _batches(1)[0]
    report = retrograd.compiler.explain(step)(x, y)
    assert (report.graph_count, report.graph_break_count) == (1, 0)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_error_if_nonfinite_raises_at_replay_as_eagerly(captures, fresh_compiler):  # noqa: F811
    clip = lambda ps: clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)  # noqa: E731
    eager_model, eager = _stepper(clip)
    model, step = _stepper(clip)
    compiled = retrograd.compile(step)
    for x, y in _batches(3):
        eager(x, y), compiled(x, y)
    bad = (retrograd.full((16, 4), math.inf, dtype=retrograd.float64), retrograd.zeros(16, 1, dtype=retrograd.float64))
    with pytest.raises(RuntimeError, match="non-finite") as e:
        eager(*bad)
    with pytest.raises(RuntimeError) as c:
        compiled(*bad)
    assert str(c.value) == str(e.value)
    for p, q in zip(eager_model.parameters(), model.parameters()):  # (the step before the raise not taken)
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    assert captures[0] == 1


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_a_nonfinite_norm_without_the_error_scales_as_eagerly(captures, fresh_compiler):  # noqa: F811
    clip = lambda ps: clip_grad_norm_(ps, 1.0)  # noqa: E731
    eager_model, eager = _stepper(clip)
    model, step = _stepper(clip)
    compiled = retrograd.compile(step)
    bad = (retrograd.full((16, 4), math.inf, dtype=retrograd.float64), retrograd.zeros(16, 1, dtype=retrograd.float64))
    for x, y in [*_batches(2), bad]:
        a, b = eager(x, y), compiled(x, y)
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    for p, q in zip(eager_model.parameters(), model.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())  # (nan as eager's)
    assert captures[0] == 1


def test_clipping_gradients_of_a_backward_outside_the_function(captures, fresh_compiler):  # noqa: F811
    # no backward() inside: the clip and the step read the gradients an eager backward left
    results = []
    for compile_it in (False, True):
        model, opt = _model()

        def clip_and_step():
            norm = clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            return norm

        fn = retrograd.compile(clip_and_step, fullgraph=True) if compile_it else clip_and_step
        norms = []
        for x, y in _batches(4):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            norms.append(fn().item())
        results.append((norms, [p.detach().numpy().copy() for p in model.parameters()]))
    assert results[0][0] == results[1][0]
    for p, q in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(p, q)
    assert captures[0] == 1
