"""The fused recurrent-layer Functions (ops/rnn.py): torch's values and gradients, gradcheck."""

import numpy as np
import pytest

import retrograd
from retrograd.ops import rnn as rnn_ops
from retrograd.ops.rnn import rnn_layer
from helpers import rand, reference, torch

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
WEIGHT_NAMES = ["weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"]


def _weights(mode, I, H, D, bias=True, proj=0, seed=0):
    """Per direction [w_ih, w_hh, b_ih, b_hh, w_hr] as float64 arrays (None where absent)."""
    G = GATES[mode]
    Hout = proj or H
    out = []
    for d in range(D):
        s = seed + 10 * d
        out.append([rand(G * H, I, seed=s), rand(G * H, Hout, seed=s + 1),
                    rand(G * H, seed=s + 2) if bias else None,
                    rand(G * H, seed=s + 3) if bias else None,
                    rand(Hout, H, seed=s + 4) if proj else None])
    return out


def _rg(arrays, grad=True):
    return [[retrograd.tensor(a, requires_grad=grad) if a is not None else None for a in w]
            for w in arrays]


def _torch_module(mode, I, H, D, weights, bias=True, proj=0):
    kw = dict(bias=bias, bidirectional=D == 2, dtype=torch.float64)
    if mode == "LSTM":
        m = torch.nn.LSTM(I, H, proj_size=proj, **kw)
    elif mode == "GRU":
        m = torch.nn.GRU(I, H, **kw)
    else:
        m = torch.nn.RNN(I, H, nonlinearity="tanh" if mode == "RNN_TANH" else "relu", **kw)
    with torch.no_grad():
        for d, w in enumerate(weights):
            sfx = "_l0" + ("_reverse" if d else "")
            for name, a in zip(WEIGHT_NAMES, w):
                if a is not None:
                    getattr(m, name + sfx).copy_(torch.tensor(a))
    return m


CONFIGS = [(mode, D, bias, proj) for mode in MODES for D in (1, 2) for bias in (True, False)
           for proj in ((0, 2) if mode == "LSTM" else (0,))]


@pytest.mark.parametrize("mode,D,bias,proj", CONFIGS)
def test_matches_torch(mode, D, bias, proj):
    T, B, I, H = 5, 3, 4, 3
    Hout = proj or H
    x, h0, c0 = rand(T, B, I, seed=1), rand(D, B, Hout, seed=2), rand(D, B, H, seed=3)
    weights = _weights(mode, I, H, D, bias, proj)
    rx, rh, rc = (retrograd.tensor(a, requires_grad=True) for a in (x, h0, c0))
    rw = _rg(weights)
    hx = (rh, rc) if mode == "LSTM" else rh
    out, hn = rnn_layer(mode, rx, hx, rw)
    rstate = hn if mode == "LSTM" else (hn,)
    gs = [rand(*o.shape, seed=20 + i) for i, o in enumerate((out,) + tuple(rstate))]

    def run_torch():
        """Outputs, then the gradients of x, h0, c0 and of each direction's weights."""
        m = _torch_module(mode, I, H, D, weights, bias, proj)
        tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
        tout, thn = m(tx, (th, tc) if mode == "LSTM" else th)
        tstate = thn if mode == "LSTM" else (thn,)
        sum((o * torch.tensor(g)).sum() for o, g in zip((tout,) + tuple(tstate), gs)).backward()
        weight_grads = [[getattr(m, name + "_l0" + ("_reverse" if d else "")).grad.numpy()
                         if a is not None else None for name, a in zip(WEIGHT_NAMES, w)]
                        for d, w in enumerate(weights)]
        return ([o.detach().numpy() for o in (tout,) + tuple(tstate)],
                [tx.grad.numpy(), th.grad.numpy(), tc.grad.numpy() if mode == "LSTM" else None], weight_grads)

    touts, tgrads, tweight_grads = reference(run_torch, inputs=[x, h0, c0])
    for a, b in zip((out,) + tuple(rstate), touts):
        np.testing.assert_allclose(a.detach().numpy(), b, atol=1e-10)
    loss = sum((o * retrograd.tensor(g)).sum() for o, g in zip((out,) + tuple(rstate), gs))
    loss.backward()
    np.testing.assert_allclose(rx.grad.numpy(), tgrads[0], atol=1e-10)
    np.testing.assert_allclose(rh.grad.numpy(), tgrads[1], atol=1e-10)
    if mode == "LSTM":
        np.testing.assert_allclose(rc.grad.numpy(), tgrads[2], atol=1e-10)
    for d, (w, tw) in enumerate(zip(rw, tweight_grads)):
        for name, t, expected in zip(WEIGHT_NAMES, w, tw):
            if t is not None:
                np.testing.assert_allclose(t.grad.numpy(), expected, atol=1e-10, err_msg=f"{name} direction {d}")


def _packed_case(mode, D, lengths, I=3, H=2):
    """Packed data (sorted by decreasing length) and its batch sizes."""
    T = max(lengths)
    batch_sizes = [sum(1 for n in lengths if n > t) for t in range(T)]
    N = sum(lengths)
    return rand(N, I, seed=4), batch_sizes, _weights(mode, I, H, D)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("D", [1, 2])
def test_gradcheck(mode, D):
    T, B, I, H = 3, 2, 2, 2
    x, h0, c0 = rand(T, B, I, seed=1), rand(D, B, H, seed=2), rand(D, B, H, seed=3)
    weights = _weights(mode, I, H, D)
    inputs = [retrograd.tensor(a, requires_grad=True) for a in [x, h0, c0]
              + [a for w in weights for a in w[:4]]]

    def fn(x, h0, c0, *ws):
        ws = [ws[4 * d:4 * d + 4] for d in range(D)]
        out, hn = rnn_layer(mode, x, (h0, c0) if mode == "LSTM" else h0, ws)
        return (out, *hn) if mode == "LSTM" else (out, hn)

    if mode != "LSTM":
        inputs.pop(2)
        fn2 = fn

        def fn(x, h0, *ws):  # noqa: F811
            return fn2(x, h0, None, *ws)

    assert retrograd.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("T", [1, 2, 4])
def test_lstm_output_rows_copied_from_the_step_blocks(T):
    # a padded batch without projection: every h_t but the last reaches the output through the
    # next step's input block, in one copy after the loop (each direction's own order); the
    # values of the step-by-step replay with tensor ops
    D, B, I, H = 2, 3, 2, 4
    x, h0, c0 = (retrograd.tensor(a) for a in (rand(T, B, I, seed=1), rand(D, B, H, seed=2), rand(D, B, H, seed=3)))
    ws = _rg(_weights("LSTM", I, H, D), grad=False)
    out, (hn, cn) = rnn_layer("LSTM", x, (h0, c0), [w[:4] for w in ws])
    for d in range(D):
        r_out, r_h, r_c = rnn_ops._replay_layer("LSTM", d == 1, x, *ws[d][:4], h0[d], c0[d], None, None)
        np.testing.assert_allclose(out[..., d * H:(d + 1) * H].numpy(), r_out.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(hn[d].numpy(), r_h.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(cn[d].numpy(), r_c.numpy(), rtol=1e-12, atol=1e-12)


def test_lstm_backward_runs_of_steps():
    # the LSTM backward computes its gate factors for runs of steps of one row count
    sched = rnn_ops._schedule([4, 4, 4, 3, 3, 1], reverse=False)
    assert rnn_ops._runs(sched, 2) == [(0, 2), (2, 3), (3, 5), (5, 6)]
    back = rnn_ops._schedule([4, 4, 4, 3, 3, 1], reverse=True)  # steps from the last one
    assert rnn_ops._runs(back, 8) == [(0, 1), (1, 3), (3, 6)]
    flat = np.arange(2 * 19)
    v = rnn_ops._run_blocks(flat, 2, back, 3, 6)  # steps 2, 1, 0 (rows 8:12, 4:8, 0:4)
    assert v.shape == (3, 2, 4) and v[0].ravel().tolist() == list(range(16, 24))
    assert v[2].ravel().tolist() == list(range(0, 8))


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("D", [1, 2])
def test_lstm_gradcheck_over_several_runs(D, packed, monkeypatch):
    # runs of 2 steps: factors computed per run, the first step of each run taking the previous
    # run's cell (and the initial cell where sequences start, in the reverse direction)
    monkeypatch.setattr(rnn_ops, "_RUN", 2)
    lengths = [5, 4, 4, 1]
    x, bs, weights = _packed_case("LSTM", D, lengths, I=2, H=2)
    if not packed:
        x, bs = rand(5, 4, 2, seed=4), None
    inputs = [retrograd.tensor(x, requires_grad=True),
              retrograd.tensor(rand(D, 4, 2, seed=5), requires_grad=True),
              retrograd.tensor(rand(D, 4, 2, seed=6), requires_grad=True)] + \
        [retrograd.tensor(a, requires_grad=True) for w in weights for a in w[:4]]

    def fn(x, h0, c0, *ws):
        ws = [ws[4 * d:4 * d + 4] for d in range(D)]
        out, (hn, cn) = rnn_layer("LSTM", x, (h0, c0), ws, batch_sizes=bs)
        return out, hn, cn

    assert retrograd.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("packed", [False, True])
def test_lstm_forward_in_row_blocks_with_one_blas_thread(packed, monkeypatch):
    # with one BLAS thread and steps of at most _SMALL_BATCH rows, each step's product runs as
    # row blocks of the weights (small enough for OpenBLAS's small-matrix kernel, SMALL_GEMM,
    # made tiny here): the whole product's values and gradients
    x, bs, weights = _packed_case("LSTM", 2, [5, 4, 4, 1], I=2, H=4)
    if not packed:
        x, bs = rand(5, 4, 2, seed=4), None
    inputs = [retrograd.tensor(x, requires_grad=True),
              retrograd.tensor(rand(2, 4, 4, seed=5), requires_grad=True),
              retrograd.tensor(rand(2, 4, 4, seed=6), requires_grad=True)] + \
        [retrograd.tensor(a, requires_grad=True) for w in weights for a in w[:4]]

    def fn(x, h0, c0, *ws):
        out, (hn, cn) = rnn_layer("LSTM", x, (h0, c0), [ws[:4], ws[4:]], batch_sizes=bs)
        return out, hn, cn

    def values_and_grads():
        outs = fn(*inputs)
        grads = retrograd.autograd.grad(sum((o * o).sum() for o in outs), inputs)
        return [t.detach().numpy() for t in (*outs, *grads)]

    monkeypatch.setattr(rnn_ops, "_blas_threads", lambda: 2)
    whole = values_and_grads()
    rows = []
    monkeypatch.setattr(rnn_ops, "_blas_threads", lambda: 1)
    monkeypatch.setattr(rnn_ops, "SMALL_GEMM", 4 * 4 * (4 + 2 + 1))  # 4 rows of 16 (n 4, k 7)
    monkeypatch.setattr(rnn_ops, "_small_rows", lambda m, nk, f=rnn_ops._small_rows: rows.append(f(m, nk)) or rows[-1])
    blocks = values_and_grads()
    assert rows == [4, 4]  # a layer per direction
    monkeypatch.setattr(rnn_ops, "_SMALL_BATCH", 3)  # steps of more rows: the whole product
    values_and_grads()
    assert rows == [4, 4]
    for a, b in zip(whole, blocks):
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-13)
    assert retrograd.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("D", [1, 2])
def test_packed_gradcheck(mode, D):
    lengths = [3, 2, 2, 1]
    x, bs, weights = _packed_case(mode, D, lengths)
    H = 2
    inputs = [retrograd.tensor(x, requires_grad=True),
              retrograd.tensor(rand(D, 4, H, seed=5), requires_grad=True),
              retrograd.tensor(rand(D, 4, H, seed=6), requires_grad=True),
              retrograd.tensor(weights[0][1], requires_grad=True)]

    def fn(x, h0, c0, w_hh):
        ws = [[weights[0][0], w_hh] + weights[0][2:4]] + [w[:4] for w in weights[1:]]
        ws = [[retrograd.tensor(a) if not isinstance(a, retrograd.Tensor) else a for a in w]
              for w in ws]
        out, hn = rnn_layer(mode, x, (h0, c0) if mode == "LSTM" else h0, ws, batch_sizes=bs)
        return (out, *hn) if mode == "LSTM" else (out, hn)

    assert retrograd.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("D", [1, 2])
def test_packed_matches_torch(mode, D):
    lengths = [4, 3, 3, 1]
    I, H, B = 3, 2, len(lengths)
    x, bs, weights = _packed_case(mode, D, lengths, I, H)
    h0, c0 = rand(D, B, H, seed=5), rand(D, B, H, seed=6)
    rx, rh, rc = (retrograd.tensor(a, requires_grad=True) for a in (x, h0, c0))
    rw = _rg(weights)
    out, hn = rnn_layer(mode, rx, (rh, rc) if mode == "LSTM" else rh, rw, batch_sizes=bs)
    rstate = hn if mode == "LSTM" else (hn,)
    gs = [rand(*o.shape, seed=20 + i) for i, o in enumerate((out,) + tuple(rstate))]

    def run_torch():
        m = _torch_module(mode, I, H, D, weights)
        tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
        tout, thn = m(torch.nn.utils.rnn.PackedSequence(tx, torch.tensor(bs)), (th, tc) if mode == "LSTM" else th)
        touts = (tout.data,) + (thn if mode == "LSTM" else (thn,))
        sum((o * torch.tensor(g)).sum() for o, g in zip(touts, gs)).backward()
        return ([o.detach().numpy() for o in touts],
                [tx.grad.numpy(), th.grad.numpy(), m.weight_hh_l0.grad.numpy()])

    touts, (tx_grad, th_grad, tw_hh_grad) = reference(run_torch, inputs=[x, h0, c0])
    for a, b in zip((out,) + tuple(rstate), touts, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b, atol=1e-10)
    sum((o * retrograd.tensor(g)).sum() for o, g in zip((out,) + tuple(rstate), gs)).backward()
    np.testing.assert_allclose(rx.grad.numpy(), tx_grad, atol=1e-10)
    np.testing.assert_allclose(rh.grad.numpy(), th_grad, atol=1e-10)
    np.testing.assert_allclose(rw[0][1].grad.numpy(), tw_hh_grad, atol=1e-10)


@pytest.mark.parametrize("D", [1, 2])
def test_packed_lstm_projection_all_grads_match_torch(D):
    """Packed LSTM with proj_size: every output and every gradient (cells, all weights of
    both directions), where steps have different widths and the state is H_out wide."""
    lengths = [4, 3, 3, 1]
    I, H, P, B = 3, 4, 2, len(lengths)
    x, bs, _ = _packed_case("LSTM", D, lengths, I, H)
    weights = _weights("LSTM", I, H, D, proj=P)
    h0, c0 = rand(D, B, P, seed=5), rand(D, B, H, seed=6)
    rx, rh, rc = (retrograd.tensor(a, requires_grad=True) for a in (x, h0, c0))
    rw = _rg(weights)
    out, (hn, cn) = rnn_layer("LSTM", rx, (rh, rc), rw, batch_sizes=bs)
    outs = (out, hn, cn)
    gs = [rand(*o.shape, seed=20 + i) for i, o in enumerate(outs)]

    def run_torch():
        m = _torch_module("LSTM", I, H, D, weights, proj=P)
        tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
        tout, (thn, tcn) = m(torch.nn.utils.rnn.PackedSequence(tx, torch.tensor(bs)), (th, tc))
        touts = (tout.data, thn, tcn)
        sum((o * torch.tensor(g)).sum() for o, g in zip(touts, gs)).backward()
        weight_grads = [[getattr(m, name + "_l0" + ("_reverse" if d else "")).grad.numpy() for name in WEIGHT_NAMES]
                        for d in range(D)]
        return [o.detach().numpy() for o in touts], [t.grad.numpy() for t in (tx, th, tc)], weight_grads

    touts, tgrads, tweight_grads = reference(run_torch, inputs=[x, h0, c0])
    for a, b in zip(outs, touts, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b, atol=1e-10)
    sum((o * retrograd.tensor(g)).sum() for o, g in zip(outs, gs)).backward()
    for a, b in zip((rx, rh, rc), tgrads):
        np.testing.assert_allclose(a.grad.numpy(), b, atol=1e-10)
    for d, (w, tw) in enumerate(zip(rw, tweight_grads, strict=True)):
        for name, t, expected in zip(WEIGHT_NAMES, w, tw):
            np.testing.assert_allclose(t.grad.numpy(), expected, atol=1e-10, err_msg=f"{name} direction {d}")


def test_float32_stays_float32():
    x = retrograd.tensor(rand(4, 2, 3, dtype=np.float32), requires_grad=True)
    w = _weights("LSTM", 3, 5, 1)[0]
    ws = [[retrograd.tensor(a.astype(np.float32), requires_grad=True) for a in w[:4]]]
    h0 = retrograd.zeros(1, 2, 5)
    out, (hn, cn) = rnn_layer("LSTM", x, (h0, h0), ws)
    assert out.dtype == retrograd.float32 and hn.dtype == retrograd.float32
    out.sum().backward()
    assert x.grad.dtype == retrograd.float32 and ws[0][1].grad.dtype == retrograd.float32


def test_one_node_per_layer_and_direction():
    """As torch's CPU LSTM: a MkldnnRnnLayerBackward0 per direction, whose edges are (input,
    w_ih, w_hh, b_ih, b_hh, h0, c0); the output concatenates the directions, the states stack."""
    x = retrograd.tensor(rand(6, 2, 3), requires_grad=True)
    ws = _rg(_weights("LSTM", 3, 4, 2))
    h0 = retrograd.zeros(2, 2, 4, dtype=retrograd.float64)
    out, (hn, cn) = rnn_layer("LSTM", x, (h0, h0), [w[:4] for w in ws])
    assert out.grad_fn.name() == "CatBackward0"
    assert hn.grad_fn.name() == cn.grad_fn.name() == "StackBackward0"
    nodes = [f for f, _ in out.grad_fn.next_functions]
    assert [f for f, _ in hn.grad_fn.next_functions] == [f for f, _ in cn.grad_fn.next_functions] == nodes
    for node, w in zip(nodes, ws):
        assert node.name() == "MkldnnRnnLayerBackward0"  # torch's CPU LSTM layer node
        edges = [f for f, _ in node.next_functions]
        assert edges[0] is x.grad_fn or edges[0].variable is x
        assert [e.variable for e in edges[1:5]] == list(w[:4]) and edges[5:] == [None, None]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("D,packed", [(1, False), (2, True)])
def test_gradgradcheck(mode, D, packed):
    """create_graph=True differentiates a tensor-op replay of the layer."""
    lengths = [2, 2, 1]
    B, I, H = len(lengths), 2, 2
    bs = [3, 2] if packed else None
    x = rand(sum(lengths), I, seed=1) if packed else rand(2, B, I, seed=1)
    weights = _weights(mode, I, H, D)
    inputs = [retrograd.tensor(a, requires_grad=True)
              for a in [x, rand(D, B, H, seed=2), rand(D, B, H, seed=3), weights[0][1],
                        weights[0][2]]]

    def fn(x, h0, c0, w_hh, b_ih):
        ws = [[retrograd.tensor(a) if a is not None else None for a in w[:4]] for w in weights]
        ws[0][1], ws[0][2] = w_hh, b_ih
        out, hn = rnn_layer(mode, x, (h0, c0) if mode == "LSTM" else h0, ws, batch_sizes=bs)
        return (out, *hn) if mode == "LSTM" else (out, hn + 0 * c0)

    assert retrograd.autograd.gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_double_backward_matches_torch():
    """A gradient penalty through an LSTM with a projection: d/dW of |dL/dx|^2."""
    T, B, I, H, P = 3, 2, 2, 3, 2
    x, weights = rand(T, B, I, seed=1), _weights("LSTM", I, H, 1, proj=P)
    rx = retrograd.tensor(x, requires_grad=True)
    rw = _rg(weights)
    h0 = retrograd.zeros(1, B, P, dtype=retrograd.float64)
    c0 = retrograd.zeros(1, B, H, dtype=retrograd.float64)
    out, _ = rnn_layer("LSTM", rx, (h0, c0), rw)
    (gx,) = retrograd.autograd.grad((out ** 2).sum(), rx, create_graph=True)
    (gx ** 2).sum().backward()

    def run_torch():
        m = _torch_module("LSTM", I, H, 1, weights, proj=P)
        tx = torch.tensor(x, requires_grad=True)
        tout, _ = m(tx)
        (tgx,) = torch.autograd.grad((tout ** 2).sum(), tx, create_graph=True)
        (tgx ** 2).sum().backward()
        return tgx.detach().numpy(), [getattr(m, name + "_l0").grad.numpy() for name in WEIGHT_NAMES]

    tgx, tweight_grads = reference(run_torch, inputs=[x])
    np.testing.assert_allclose(gx.detach().numpy(), tgx, atol=1e-10)
    for r, name, expected in zip(rw[0], WEIGHT_NAMES, tweight_grads, strict=True):
        np.testing.assert_allclose(r.grad.numpy(), expected, atol=1e-9, err_msg=name)


def test_long_sequence_backprops():
    T = 1000
    x = retrograd.tensor(rand(T, 1, 2), requires_grad=True)
    ws = _rg(_weights("LSTM", 2, 3, 1))
    h0 = retrograd.zeros(1, 1, 3, dtype=retrograd.float64)
    out, _ = rnn_layer("LSTM", x, (h0, h0), [w[:4] for w in ws])
    out[-1].sum().backward()
    assert x.grad.shape == (T, 1, 2) and np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_saved_memory_grows_linearly(mode):
    """What backward keeps is O(T) (a few arrays of (T*B, gates*H)), one node per layer."""

    def saved_bytes(T):
        x = retrograd.tensor(rand(T, 2, 3), requires_grad=True)
        ws = _rg(_weights(mode, 3, 4, 1))
        h0 = retrograd.zeros(1, 2, 4, dtype=retrograd.float64)
        out, _ = rnn_layer(mode, x, (h0, h0) if mode == "LSTM" else h0, [w[:4] for w in ws])
        return sum(t.numel() * t.element_size() for t in out.grad_fn.saved_tensors
                   if t is not None)

    a, b = saved_bytes(100), saved_bytes(200)
    per_step = (b - a) / 100
    # per row (x2 rows): x, gates, states, cells, and for the LSTM tanh(cells) (kept so
    # that its backward needs no tanh)
    assert per_step <= 2 * 8 * (3 + 4 * 4 + 4 + 4 + (4 if mode == "LSTM" else 0))
    assert abs((b - a) - (saved_bytes(300) - b)) < 1e-9


def test_inplace_change_of_output_is_caught():
    x = retrograd.tensor(rand(3, 2, 2), requires_grad=True)
    ws = _rg(_weights("LSTM", 2, 2, 1))
    h0 = retrograd.zeros(1, 2, 2, dtype=retrograd.float64)
    out, _ = rnn_layer("LSTM", x, (h0, h0), [w[:4] for w in ws])
    out.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
