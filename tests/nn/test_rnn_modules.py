"""nn.RNN / LSTM / GRU and the cells: torch's names, shapes, values and gradients; BPTT."""

import numpy as np
import pytest

import retrograd
from retrograd.nn.modules import rnn as rnn_modules
from retrograd.nn.utils import rnn as rnn_utils
from helpers import rand, reference, requires_torch, torch


def _module(lib, name, **kwargs):
    """lib's (retrograd's or torch's) module in float64 with seeded weights, the same in both."""
    m = getattr(rnn_modules if lib is retrograd else lib.nn, name)(**kwargs).double()
    m.load_state_dict({k: lib.tensor(rand(*v.shape, low=-0.5, high=0.5, seed=100 + i))
                       for i, (k, v) in enumerate(sorted(m.state_dict().items()))})
    return m


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def _results(lib, m, out, leaves):
    """Outputs, and the gradients of the leaves and parameters from seeded upstream gradients."""
    out = _flat(out)
    gs = [rand(*o.shape, seed=50 + i) for i, o in enumerate(out)]
    sum((o * lib.tensor(g)).sum() for o, g in zip(out, gs)).backward()
    return ([o.detach().numpy() for o in out], [leaf.grad.numpy() for leaf in leaves],
            [(n, p.grad.numpy()) for n, p in m.named_parameters()])


def _assert_like_torch(run):
    """run(lib) gives the same outputs and gradients with retrograd as with torch (recorded)."""
    (r_out, r_leaves, r_params), (t_out, t_leaves, t_params) = run(retrograd), reference(lambda: run(torch))
    assert len(r_out) == len(t_out) and len(r_leaves) == len(t_leaves) and len(r_params) == len(t_params)
    for r, t in zip(r_out, t_out):
        assert r.shape == t.shape
        np.testing.assert_allclose(r, t, atol=1e-10)
    for r, t in zip(r_leaves, t_leaves):
        np.testing.assert_allclose(r, t, atol=1e-9)
    for (n, p), (tn, tp) in zip(r_params, t_params):
        assert n == tn
        np.testing.assert_allclose(p, tp, atol=1e-9, err_msg=n)


CONFIGS = [
    ("LSTM", dict(input_size=3, hidden_size=4)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True)),
    ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True, bias=False)),
    ("LSTM", dict(input_size=3, hidden_size=4, proj_size=2, num_layers=2, bidirectional=True)),
    ("GRU", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(input_size=3, hidden_size=2)),
    ("RNN", dict(input_size=3, hidden_size=4, num_layers=3, nonlinearity="relu")),
    ("RNN", dict(input_size=3, hidden_size=4, bidirectional=True, bias=False)),
]


def _hx(name, kwargs, B, seed=3):
    D = 2 if kwargs.get("bidirectional") else 1
    L = kwargs.get("num_layers", 1)
    H = kwargs["hidden_size"]
    Hout = kwargs.get("proj_size") or H
    shape = (L * D, B, Hout) if B else (L * D, Hout)
    cshape = (L * D, B, H) if B else (L * D, H)
    h = rand(*shape, seed=seed)
    return (h, rand(*cshape, seed=seed + 1)) if name == "LSTM" else (h,)


@pytest.mark.parametrize("name,kwargs", CONFIGS)
@pytest.mark.parametrize("with_hx", [False, True])
def test_matches_torch(name, kwargs, with_hx):
    T, B = 5, 3
    x = rand(*((B, T, 3) if kwargs.get("batch_first") else (T, B, 3)), seed=1)

    def run(lib):
        m = _module(lib, name, **kwargs)
        leaves = [lib.tensor(a, requires_grad=True) for a in [x] + (list(_hx(name, kwargs, B)) if with_hx else [])]
        args = leaves[:1] + ([tuple(leaves[1:]) if name == "LSTM" else leaves[1]] if with_hx else [])
        return _results(lib, m, m(*args), leaves)

    _assert_like_torch(run)


@pytest.mark.parametrize("name,kwargs", CONFIGS[1:2] + CONFIGS[4:5] + CONFIGS[6:7])
def test_unbatched_matches_torch(name, kwargs):
    def run(lib):
        m = _module(lib, name, **kwargs)
        leaves = [lib.tensor(a, requires_grad=True) for a in [rand(4, 3, seed=1), *_hx(name, kwargs, None)]]
        return _results(lib, m, m(leaves[0], tuple(leaves[1:]) if name == "LSTM" else leaves[1]), leaves)

    _assert_like_torch(run)


@pytest.mark.parametrize("name,kwargs", [CONFIGS[1], CONFIGS[3], CONFIGS[4], CONFIGS[7]])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_matches_torch(name, kwargs, enforce_sorted):
    bf = kwargs.get("batch_first", False)
    lengths = [5, 3, 3, 1] if enforce_sorted else [3, 5, 1, 3]
    B, T = len(lengths), max(lengths)
    x = rand(*((B, T, 3) if bf else (T, B, 3)), seed=1)

    def run(lib):
        utils = rnn_utils if lib is retrograd else lib.nn.utils.rnn
        m = _module(lib, name, **kwargs)
        leaves = [lib.tensor(a, requires_grad=True) for a in [x, *_hx(name, kwargs, B)]]
        packed = utils.pack_padded_sequence(leaves[0], lengths, batch_first=bf, enforce_sorted=enforce_sorted)
        out, state = m(packed, tuple(leaves[1:]) if name == "LSTM" else leaves[1])
        return _results(lib, m, [utils.pad_packed_sequence(out, batch_first=bf)[0], state], leaves)

    _assert_like_torch(run)


def test_parameter_names_shapes_and_init():
    m = rnn_modules.LSTM(10, 20, num_layers=2, bidirectional=True, proj_size=5)
    expected = {
        "weight_ih_l0": (80, 10), "weight_hh_l0": (80, 5), "bias_ih_l0": (80,), "bias_hh_l0": (80,),
        "weight_hr_l0": (5, 20), "weight_ih_l1": (80, 10), "weight_hh_l1_reverse": (80, 5),
        "weight_hr_l1_reverse": (5, 20),
    }
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert len(shapes) == 20
    for n, s in expected.items():
        assert shapes[n] == s, n
    assert all(np.abs(p.detach().numpy()).max() <= 1 / np.sqrt(20) for p in m.parameters())
    g = rnn_modules.GRU(4, 6, bias=False)
    assert [n for n, _ in g.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert tuple(g.weight_ih_l0.shape) == (18, 4)
    assert repr(m) == "LSTM(10, 20, proj_size=5, num_layers=2, bidirectional=True)"
    m.flatten_parameters()
    assert len(m.all_weights) == 4 and len(m.all_weights[0]) == 5


@requires_torch
def test_state_dict_from_torch_loads():
    tm = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True)
    rm = rnn_modules.GRU(3, 4, num_layers=2, bidirectional=True)
    assert list(rm.state_dict()) == list(tm.state_dict())
    res = rm.load_state_dict({k: retrograd.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    assert not res.missing_keys and not res.unexpected_keys


def test_constructor_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        rnn_modules.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        rnn_modules.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="dropout should be a number"):
        rnn_modules.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="nonlinearity"):
        rnn_modules.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        rnn_modules.GRU(3, 4, dropout=0.5)


def test_forward_errors():
    m = rnn_modules.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input_size. Expected 3, got 5"):
        m(retrograd.zeros(2, 1, 5))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D"):
        m(retrograd.zeros(2, 1, 1, 3))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 4\)"):
        m(retrograd.zeros(5, 2, 3), (retrograd.zeros(1, 3, 4), retrograd.zeros(1, 3, 4)))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        m(retrograd.zeros(5, 2, 3, dtype=retrograd.float64))
    with pytest.raises(RuntimeError, match="same dtype"):
        rnn_modules.GRUCell(3, 4)(retrograd.zeros(2, 3, dtype=retrograd.float64))
    with pytest.raises(RuntimeError, match="hx should also be 2-D"):
        m(retrograd.zeros(5, 3), (retrograd.zeros(1, 1, 4), retrograd.zeros(1, 1, 4)))


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(name, batched):
    x = rand(*((2, 3) if batched else (3,)), seed=1)
    hshape = (2, 4) if batched else (4,)
    hs = [rand(*hshape, seed=2)] + ([rand(*hshape, seed=3)] if name == "LSTMCell" else [])

    def run(lib):
        m = _module(lib, name, input_size=3, hidden_size=4)
        leaves = [lib.tensor(a, requires_grad=True) for a in [x, *hs]]
        return _results(lib, m, m(leaves[0], tuple(leaves[1:]) if name == "LSTMCell" else leaves[1]), leaves)

    _assert_like_torch(run)
    rm = _module(retrograd, name, input_size=3, hidden_size=4)
    out = rm(retrograd.tensor(x))  # default zero state
    assert _flat(out)[0].shape == hshape


def test_cell_loop_bptt_and_relu_cell():
    cell = rnn_modules.RNNCell(2, 3, nonlinearity="relu").double()
    assert repr(cell) == "RNNCell(2, 3, nonlinearity=relu)"
    h = None
    x = retrograd.tensor(rand(20, 4, 2), requires_grad=True)
    for t in range(20):
        h = cell(x[t], h)
    h.sum().backward()
    assert x.grad.shape == (20, 4, 2) and cell.weight_hh.grad is not None


def test_thousand_step_lstm_backprops():
    m = rnn_modules.LSTM(2, 4)
    x = retrograd.randn(1000, 2, 2, requires_grad=True)
    out, (h, c) = m(x)
    (out.sum() + c.sum()).backward()
    assert x.grad.shape == (1000, 2, 2)
    assert np.isfinite(x.grad.numpy()).all() and np.abs(x.grad.numpy()[0]).sum() > 0


def test_thousand_step_cell_loop_backprops():
    cell = rnn_modules.GRUCell(2, 3)
    x = retrograd.randn(1000, 1, 2)
    h = retrograd.zeros(1, 3, requires_grad=True)
    h0 = h
    for t in range(1000):
        h = cell(x[t], h)
    h.sum().backward()
    assert h0.grad is not None and cell.weight_hh.grad is not None


def test_reusing_hidden_state_without_detach_raises():
    m = rnn_modules.LSTM(2, 3)
    state = None
    x = retrograd.randn(4, 1, 2)
    out, state = m(x, state)
    out.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time") as err:
        out, state = m(x, state)
        out.sum().backward()
    assert "detach" in str(err.value)


def test_truncated_bptt_with_detach():
    retrograd.manual_seed(0)
    m = rnn_modules.LSTM(2, 8)
    head = retrograd.nn.Linear(8, 2)
    params = list(m.parameters()) + list(head.parameters())
    data = retrograd.randn(40, 1, 2)
    losses = []
    for _epoch in range(8):
        state = None
        total = 0.0
        for s in range(0, 39, 8):
            x, y = data[s:s + 8], data[s + 1:s + 9]
            out, state = m(x, state)
            state = tuple(t.detach() for t in state)
            loss = ((head(out[:y.shape[0]]) - y) ** 2).mean()
            for p in params:
                p.grad = None
            loss.backward()
            with retrograd.no_grad():
                for p in params:
                    p -= 0.1 * p.grad
            total += loss.item()
        losses.append(total)
    assert losses[-1] < losses[0]


def test_dropout_between_layers():
    retrograd.manual_seed(0)
    m = rnn_modules.GRU(3, 4, num_layers=2, dropout=0.5)
    x = retrograd.randn(5, 2, 3)
    m.eval()
    a, b = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    c = m(x)[0]
    assert not np.allclose(a.detach().numpy(), c.detach().numpy())
    c.sum().backward()
    assert m.weight_ih_l0.grad is not None
