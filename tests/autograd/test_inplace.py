"""In-place ops: version counters, the saved-tensor check, leaf rules, and differentiable
in-place writes through views (CopySlices), compared with torch."""

import random

import numpy as np
import pytest

import retrograd as T
from tests.helpers import requires_torch, torch

INPLACE_OPS = [
    "add_(1)", "sub_(1)", "mul_(2)", "div_(2)", "pow_(2)", "zero_()", "fill_(2)",
    "copy_(M.ones(3))", "clamp_(0, 1)", "relu_()", "sigmoid_()", "tanh_()", "exp_()", "neg_()",
    "abs_()", "sqrt_()", "log_()", "masked_fill_(M.tensor([True, False, True]), 0.)",
    "__setitem__(0, 5.)", "__setitem__(slice(0, 2), M.tensor([1., 2.]))",
    "index_put_((M.tensor([0]),), M.tensor(1.))", "__iadd__(1)", "__isub__(1)", "__imul__(2)",
    "__itruediv__(2)", "__ipow__(2)", "uniform_()", "normal_()", "random_(0, 5)",
]


@pytest.mark.parametrize("op", INPLACE_OPS)
def test_every_inplace_op_bumps_the_version(op):
    x = T.tensor([0.5, 1.0, 2.0])
    view, detached = x[1:], x.detach()
    out = eval("x." + op, {"x": x, "M": T})
    assert x._version == 1 == view._version == detached._version
    if not op.startswith("__"):
        assert out is x


def test_versions_are_shared_by_views_and_match_torch():
    for M in (T, torch) if torch is not None else (T,):
        x = M.zeros(3, 2)
        v = x[0]
        v.add_(1)
        x.t()[0].mul_(2)
        assert (x._version, v._version, x.t()._version, x.detach()._version) == (2, 2, 2, 2)
        assert x.clone()._version == 0


def test_modified_saved_tensor_error_names_op_shape_and_versions():
    x = T.tensor([[1.0, 2.0]], requires_grad=True)
    h = x * 1
    y = h.log()  # LogBackward0 saves h (version 0)
    h.mul_(2)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    msg = str(info.value)
    assert "one of the variables needed for gradient computation has been modified by an " \
           "inplace operation" in msg
    assert "[torch.FloatTensor [1, 2]], which is output 0 of Mul, is at version 1; expected " \
           "version 0 instead" in msg
    assert "LogBackward0" in msg


def test_modified_saved_output_is_caught():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"\[torch.FloatTensor \[2\]\], which is output 0 of Exp, "
                                           r"is at version 1; expected version 0 instead"):
        y.sum().backward()


def test_seed_example_leaf_in_place_fails_and_leaves_data_untouched():
    x = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x ** 2
    for op in ("x.add_(1.0)", "x.mul_(2)", "x.zero_()", "x.fill_(1)", "x.relu_()", "x[0] = 5.0",
               "x.copy_(T.ones(3))", "x.clamp_(0, 1)"):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used "
                                               "in an in-place operation."):
            exec(op, {"x": x, "T": T})
        assert x.tolist() == [1.0, 2.0, 3.0] and x._version == 0
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[:2].mul_(2)


def test_in_place_on_a_leaf_is_allowed_under_no_grad():
    w = T.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with T.no_grad():
        w -= 0.5 * w.grad
        w[0] = 7.0
        w.mul_(2)
    assert w.tolist() == [14.0, 0.0] and w.is_leaf and w.requires_grad and w._version == 3
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("op", ["log_()", "mul_(w)", "mul_(2)", "pow_(2)", "div_(w)", "sqrt_()",
                                "abs_()", "exp_()", "tanh_()", "sigmoid_()", "relu_()",
                                "pow_(w)", "add_(w)", "clamp_(0, 1.5)", "copy_(w)",
                                "masked_fill_(h > 1.5, 0.)", "fill_(2.)", "zero_()", "neg_()",
                                "sub_(w, alpha=2)", "add_(w * w)"])
def test_in_place_on_non_leaf_is_differentiable(op):
    def run(M):
        x = M.tensor([1.0, 2.0], requires_grad=True, dtype=M.float64)
        w = M.tensor([3.0, 4.0], requires_grad=True, dtype=M.float64)
        h = x * 1
        out = eval("h." + op, {"h": h, "w": w})
        assert out is h and not h.is_leaf
        (h * M.tensor([1.0, 10.0], dtype=M.float64)).sum().backward()
        return [None if t.grad is None else t.grad.tolist() for t in (x, w)]

    ours = run(T)
    if torch is not None:
        theirs = run(torch)
        assert (ours[0] is None) == (theirs[0] is None) and (ours[1] is None) == (theirs[1] is None)
        for a, b in zip(ours, theirs):
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-12)
    else:
        assert ours[0] is not None


def test_in_place_with_its_own_saved_operand_fails_like_torch():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.mul_(h)  # MulBackward0 saved h, which mul_ then overwrote
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0 instead"):
        h.sum().backward()


def test_chained_output_saving_in_place_ops_fail_like_torch():
    x = T.tensor([-1.0, 2.0], requires_grad=True)
    h = x * 2
    h.relu_()
    h.sigmoid_()
    h.tanh_()  # TanhBackward0 saves h itself (its output) ...
    h.exp_()  # ... which exp_ overwrites
    with pytest.raises(RuntimeError, match="output 0 of Tanh, is at version 4; expected version 3"):
        h.sum().backward()


def test_copy_and_fill_send_zero_gradients_to_the_overwritten_values():
    x = T.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    h.fill_(2)
    h.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]  # zeros, not None, as torch


# ------------------------------------------------------------------------- views


def test_the_issue_example_through_views():
    x = T.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    h = x * 1
    h[:, 0] *= 2
    v = h[1:]
    v.mul_(3)
    assert h._version == v._version == 3
    assert h.grad_fn.name() == "CopySlicesBackward0"
    (h * h).sum().backward()
    assert x.grad.tolist() == [[8.0, 4.0, 6.0], [288.0, 90.0, 108.0]]  # torch's values


def test_view_grad_fn_is_regenerated_after_its_base_changes():
    x = T.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    h = x * 1
    v = h[0]
    h.mul_(2)  # v now shows 2*x[0]; its graph must say so
    (v * v).sum().backward()
    assert x.grad.tolist() == [[8.0, 16.0, 24.0], [0.0, 0.0, 0.0]]


def test_write_into_a_view_of_a_graph_free_base():
    w = T.tensor([1.0, 2.0], requires_grad=True)
    buf = T.zeros(2, 3)
    buf[:, 1] = w * 3
    assert buf.requires_grad and buf.grad_fn is not None
    (buf * buf).sum().backward()
    assert w.grad.tolist() == [18.0, 36.0]


def test_setitem_with_grad_on_both_sides():
    x = T.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = T.tensor([9.0, 10.0], requires_grad=True)
    h = x.clone()
    h[:, 1] = y * y
    h[0] = h[0] * 2
    (h ** 2).sum().backward()
    assert x.grad.tolist() == [[8.0, 0.0, 24.0], [8.0, 0.0, 12.0]]
    assert y.grad.tolist() == [4 * 2 * 81 * 9.0 * 2, 4 * 100 * 10.0]


def test_view_saved_by_backward_then_modified_is_caught():
    x = T.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    h = x.exp()  # saves h
    v = h.t()[1]
    v.copy_(T.tensor([7.0, 8.0]))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        h.sum().backward()


# A random program of views and in-place ops on ``h = x * 1``; the same program runs in
# torch, and x.grad and w.grad (or the error) must agree.

_VIEWS = ["[{0}:]", "[:, {1}]", ".t()", ".unsqueeze(0)", "[{2}]", "[:, ::2]", ".transpose(0, 1)"]
_OPS = ["mul_(1.5)", "add_(0.5)", "mul_(Q)", "add_(Q)", "copy_(Q)", "sigmoid_()", "tanh_()",
        "exp_()", "setitem", "div_(Q)", "pow_(2)", "mul_(S)", "sub_(Q)", "clamp_(0.2, 3.0)"]


def _program(seed):
    rng = random.Random(seed)
    shapes, prog = [(3, 4)], []
    for _ in range(rng.randint(2, 7)):
        src = rng.randrange(len(shapes))
        sh = shapes[src]
        if rng.random() < 0.45:
            choices = [".unsqueeze(0)"]
            if len(sh) == 2:
                choices += [".t()", "[:, ::2]", "[:, {1}]", "[{2}]", ".transpose(0, 1)"]
            if sh[0] > 1:
                choices.append("[{0}:]")
            code = rng.choice(choices).format(rng.randint(0, 1), rng.randrange(sh[-1]),
                                              rng.randrange(sh[0]))
            probe = np.zeros(sh)
            new_shape = eval("p" + code.replace(".t()", ".T").replace(".unsqueeze(0)", "[None]")
                             .replace(".transpose(0, 1)", ".T"), {"p": probe}).shape
            prog.append(("view", src, code))
            shapes.append(new_shape)
        else:
            prog.append(("inplace", src, rng.choice(_OPS)))
    prog.append(("loss", rng.sample(range(len(shapes)), k=min(len(shapes), rng.randint(1, 3)))))
    return prog


def _run_program(M, prog, seed, x=None, w=None, ts=None, counter=None):
    if x is None:
        g = np.random.default_rng(seed)
        x = M.tensor(g.uniform(0.5, 1.5, (3, 4)), requires_grad=True)
        w = M.tensor(g.uniform(0.5, 1.5, (24,)), requires_grad=True)
        ts, counter = [x * 1], [0]

    def q(shape):
        n = int(np.prod(shape)) if shape else 1
        counter[0] += 1
        return (w[:n] * counter[0]).reshape(shape)

    for step in prog:
        if step[-1] == "no_grad":  # (the step made under no_grad: test_..._with_no_grad_steps_...)
            with M.no_grad():
                _run_program(M, [step[:-1]], seed, x, w, ts, counter)
            continue
        if step[0] == "view":
            ts.append(eval("t" + step[2], {"t": ts[step[1]]}))
        elif step[0] == "inplace":
            t = ts[step[1]]
            shape = tuple(t.shape)
            if step[2] == "setitem":
                if shape:
                    t[0] = q(shape[1:])
            else:
                eval("t." + step[2], {"t": t, "Q": q(shape), "S": M.tensor(1.25, dtype=M.float64)})
        else:
            loss = 0
            for k, i in enumerate(step[1]):
                c = np.random.default_rng(seed + k).uniform(-1, 1, tuple(ts[i].shape))
                loss = loss + (ts[i] * M.tensor(c)).sum()
            loss.backward()
    return x.grad, w.grad


def _outcome(M, prog, seed):
    try:
        xg, wg = _run_program(M, prog, seed)
    except RuntimeError as e:
        return ("error", "modified by an inplace operation" in str(e))
    return ("ok", None if xg is None else np.array(xg.tolist()),
            None if wg is None else np.array(wg.tolist()))


def _outcome_with_modes(M, prog, seed):
    """The program's gradients, or which error it raised: a no_grad view written (directly, or
    its base after it) or the error's first words. (``v[0] = ...`` on such a view names torch's
    Select node, a view of the view; retrograd writes v through index_put_: the message's start
    differs.)"""
    try:
        xg, wg = _run_program(M, prog, seed)
    except RuntimeError as e:
        msg = str(e)
        if "created in no_grad mode" in msg:
            return ("error", "no_grad view " + ("later" if "its base or another view" in msg else "direct"))
        return ("error", msg[:40])
    return ("ok", None if xg is None else np.array(xg.tolist()), None if wg is None else np.array(wg.tolist()))


@requires_torch
@pytest.mark.parametrize("chunk", range(3))
def test_random_programs_with_no_grad_steps_match_torch(chunk):
    """The random view/in-place programs with some views and writes made under no_grad: the
    same error (a view made under no_grad written with grad mode on, or used after a write) or
    the same gradients as torch."""
    for seed in range(1000 + chunk * 40, 1000 + chunk * 40 + 40):
        rng = random.Random(seed)
        prog = [s + ("no_grad",) if s[0] != "loss" and rng.random() < 0.35 else s for s in _program(seed)]
        ours, theirs = _outcome_with_modes(T, prog, seed), _outcome_with_modes(torch, prog, seed)
        assert ours[0] == theirs[0], (seed, prog, ours, theirs)
        if ours[0] == "error":
            assert ours[1] == theirs[1], (seed, prog, ours[1], theirs[1])
            continue
        for a, b in zip(ours[1:], theirs[1:]):
            assert (a is None) == (b is None), (seed, prog)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=str((seed, prog)))


@requires_torch
@pytest.mark.parametrize("chunk", range(6))
def test_random_view_and_in_place_programs_match_torch(chunk):
    for seed in range(chunk * 40, chunk * 40 + 40):
        prog = _program(seed)
        ours, theirs = _outcome(T, prog, seed), _outcome(torch, prog, seed)
        assert ours[0] == theirs[0], (seed, prog, ours, theirs)
        if ours[0] == "error":
            assert ours[1] and theirs[1], (seed, prog)
            continue
        for a, b in zip(ours[1:], theirs[1:]):
            assert (a is None) == (b is None), (seed, prog)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=str((seed, prog)))


def test_view_made_before_its_base_joined_the_graph():
    w = T.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = T.zeros(2, 3)
    v = x[0]
    assert not v.requires_grad
    x.copy_(w.expand(2, 3) * 2)
    assert v.requires_grad and v.grad_fn is not None  # as torch
    (v * v).sum().backward()
    assert w.grad.tolist() == [8.0, 16.0, 24.0]


@pytest.mark.parametrize("write", ["h.mul_(3)", "h[0:1].mul_(5)", "h[1] = 7.0"])
def test_retained_grad_follows_the_new_version(write):
    def run(M):
        x = M.tensor([1.0, 2.0], requires_grad=True)
        h = x * 1
        h.retain_grad()
        exec(write, {"h": h})
        (h * h).sum().backward()
        return h.grad.tolist(), x.grad.tolist()

    ours = run(T)
    assert ours == {"h.mul_(3)": ([6.0, 12.0], [18.0, 36.0]),
                    "h[0:1].mul_(5)": ([10.0, 4.0], [50.0, 4.0]),
                    "h[1] = 7.0": ([2.0, 14.0], [2.0, 0.0])}[write]
    if torch is not None:
        assert ours == run(torch)


@pytest.mark.parametrize("split", ["h.chunk(2)[0]", "h.split(1)[0]", "h.unbind(0)[0]"])
def test_pieces_of_split_follow_a_later_write_to_their_base(split):
    # torch refuses this (multi-output views); retrograd replays the piece from its base,
    # so the gradient is that of the values the piece shows
    x = T.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 1
    piece = eval(split, {"h": h})
    h.mul_(2)
    (piece * piece).sum().backward()
    assert x.grad.tolist() == [[8.0, 16.0], [0.0, 0.0]]


# Views made with grad mode off (torch's creation meta NO_GRAD_MODE / INFERENCE_MODE): each case's
# outcome in torch 2.13, an error's first words or what the case returns.
_NO_GRAD_MSG = "A view was created in no_grad mode and is being modified inplace with grad mode enabled."
_NO_GRAD_LATER = ("A view was created in no_grad mode and its base or another view of its base has been modified "
                  "inplace with grad mode enabled.")
_NO_GRAD_VIEW_CASES = {
    "view of a non-leaf, changed with grad on": ("v = y[:2]", "v.mul_(2)", _NO_GRAD_MSG),
    "view of a leaf": ("v = x.view(3)", "v.add_(1)", _NO_GRAD_MSG),
    "base without grad, number other": ("v = (x.detach() * 2)[:2]", "v.add_(1)", "ok"),
    "base without grad, other requires grad": ("v = (x.detach() * 2)[:2]", "v.add_(x[:2] * 1)", _NO_GRAD_MSG),
    "view of it made with grad on": ("v = y[:2]", "v[:1].add_(1)", "Output 0 of Slice is a view of a view which "
                                     "was created in no_grad mode and is being modified inplace with grad mode"),
    "base changed, then the view used": ("v = y[:2]", "y.add_(1); v * 2", _NO_GRAD_LATER),
    "changed under no_grad, then used": ("v = y[:2]", "M.no_grad().__enter__(); v.add_(1); "
                                         "M.set_grad_enabled(True); v * 2", _NO_GRAD_LATER),
    "base changed, then is_leaf read": ("v = y[:2]", "y.add_(1); v.is_leaf", _NO_GRAD_LATER),
    "unbind's pieces": ("v = y.unbind(0)[1]", "v.add_(1)", _NO_GRAD_MSG),
    "split's pieces": ("v = y.split(1)[0]", "v.add_(1)", _NO_GRAD_MSG),
    "in-place view op": ("v = y[:2]", "v.unsqueeze_(0)", _NO_GRAD_MSG),
    "copy_ into it": ("v = y[:2]", "v.copy_(M.ones(2))", _NO_GRAD_MSG),
    "changed under no_grad only": ("v = y[:2]", "M.no_grad().__enter__(); v.add_(1); M.set_grad_enabled(True)", "ok"),
    "made in inference mode": ("INFERENCE v = y[:2]", "v.add_(1)", "A view was created in inference mode and is "
                               "being modified inplace in normal mode."),
    "detach_ of it": ("v = (x.detach() * 2)[:2]", "v.detach_()", "Can't detach views in-place. Use detach() "
                      "instead. If you are using DistributedDataParallel (DDP) for training, and "
                      "gradient_as_bucket_view is set as True"),
    # what such a view reports: it requires grad (as its base), is a leaf, and its gradient goes nowhere
    "its flags": ("v = y[:2]", "out = (v.requires_grad, v.is_leaf, v.grad_fn is None, (v * 3).requires_grad)",
                  (True, True, True, True)),
    "backward through it": ("v = y[:2]", "(v * 3).sum().backward(); out = (x.grad, v.grad)", (None, None)),
    "gradient with respect to it": ("v = y[:2]", "M.autograd.grad((v * 3).sum(), v)",
                                    "The differentiated Tensor at index 0 appears to not have been used in the graph"),
}


def _no_grad_view_outcome(M, make, then):
    x = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    env = {"M": M, "x": x, "y": y.reshape(3, 1) if "unbind" in make or "split" in make else y}
    mode = M.inference_mode() if make.startswith("INFERENCE ") else M.no_grad()
    try:
        with mode:
            exec(make.removeprefix("INFERENCE "), env)
        exec(then, env)
    except RuntimeError as e:
        return str(e)
    finally:
        M.set_grad_enabled(True)
    return env.get("out", "ok")


@pytest.mark.parametrize("case", list(_NO_GRAD_VIEW_CASES))
def test_views_made_with_grad_mode_off_as_torch(case):
    make, then, expected = _NO_GRAD_VIEW_CASES[case]
    out = _no_grad_view_outcome(T, make, then)
    if isinstance(expected, str) and expected != "ok":
        assert out.startswith(expected), out
    else:
        assert out == expected


@requires_torch
@pytest.mark.parametrize("case", list(_NO_GRAD_VIEW_CASES))
def test_no_grad_view_outcomes_are_torchs(case):
    make, then, expected = _NO_GRAD_VIEW_CASES[case]
    out = _no_grad_view_outcome(torch, make, then)
    if isinstance(expected, str) and expected != "ok":
        assert out.startswith(expected), out
    else:
        assert out == expected


def test_retained_grad_of_a_view_follows_its_node_after_its_base_changed():
    """After its base changed in place, a view's grad_fn is replayed from the base; retain_grad's
    .grad follows the new node, as torch's (it stayed None: the old node never ran)."""
    def run(M):
        x = M.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        v = y[1:]
        v.retain_grad()
        y.add_(1)
        (v * 3).sum().backward()
        return v.grad.tolist(), x.grad.tolist()

    assert run(T) == ([3.0, 3.0], [0.0, 6.0, 6.0])
    if torch is not None:
        assert run(torch) == ([3.0, 3.0], [0.0, 6.0, 6.0])
