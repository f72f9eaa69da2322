"""Recurrent layers as fused Functions: one graph node per layer (all steps, all directions).

RNN and GRU: forward computes the input projection of every time step in one matmul
(``X W_ih^T + b``), then per step one matmul ``h W_hh^T`` and a few in-place array ops
for the fused gates. Backward is backpropagation through time written as one loop over
the steps in array code: per step a few array ops and one matmul ``dG W_hh`` for the
gradient of the previous state; the weight gradients are then one matmul each over all
steps (``dW_hh = dG^T H_prev``, ``dW_ih = dG^T X``, ``dX = dG W_ih``).

LSTM: the same plan in a transposed layout (see ``_lstm_dir_forward``): per step the
arrays are feature-major, (features, n) for a step of n rows, in flat per-step blocks, so
the gates are contiguous row blocks. Per step one matmul ``[W_hh | W_ih | b] [h; x; 1]``
(input projection and bias included) writes the step's gate block, and the backward's
``dh^T = W_hh^T dG^T`` is one matmul in the shape BLAS is fastest at; after the loop
``[dW_hh | dW_ih | db] = dG^T [H_prev | X | 1]`` is one matmul.

Sequences are handled in the packed layout of ``nn.utils.rnn.PackedSequence``: the rows
of step ``t`` are ``data[offset_t : offset_t + batch_sizes[t]]`` (batch sorted by
decreasing length, so the sequences still running at step ``t`` are the first
``batch_sizes[t]``). A padded batch (T, B, *) is the case where every step has B rows.
A finished sequence keeps its state; the final state of each sequence is its state at
its own last step (the reverse direction starts each sequence at its own last step).

Gate order and formulas are torch's:
  RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu
  LSTM: i, f, g, o = sig, sig, tanh, sig of (W_ih x + b_ih + W_hh h + b_hh) split in four;
        c' = f*c + i*g;  h' = o*tanh(c')  (times W_hr^T with proj_size)
  GRU:  r, z = sig(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z});
        n = tanh(W_in x + b_in + r*(W_hn h + b_hn));  h' = (1-z)*n + z*h

The fused backward runs on arrays. With ``create_graph=True`` (double backward, gradient
penalties) the backward instead replays the layer step by step with tensor ops from the
saved inputs and differentiates that replay, so higher-order gradients are exact (and
as slow as an unfused RNN).
"""

import numpy as np

from . import _cuda_kernels
from .._threads import SMALL_GEMM, blas_threads as _blas_threads
from .._backend import array_module
from .._backend import matmul as _matmul
from ..autograd.forward_ad import composite_jvp
from ..autograd.function import Function
from ..autograd.grad_mode import _state
from . import _batching
from ..tensor import Tensor as _Tensor

_NUM_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _sigmoid_(a, xp):
    """In place: a = sigmoid(a) = (1 + tanh(a/2))/2 (no overflow for large |a|)."""
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _schedule(batch_sizes, reverse):
    """Per step, in processing order: (s, e, ps, m). The step's rows are s:e of the packed
    buffers; its previous state is rows ps:ps+m of the state buffer (the previous step's
    rows, m = 0 at the first step) followed by rows m:n of the initial state (sequences
    that start here: only in the reverse direction of a packed batch)."""
    offsets = [0]
    for n in batch_sizes[:-1]:
        offsets.append(offsets[-1] + n)
    order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
    sched, prev = [], None
    for t in order:
        n, s = batch_sizes[t], offsets[t]
        if prev is None:
            sched.append((s, s + n, 0, 0))
        else:
            sched.append((s, s + n, offsets[prev], min(batch_sizes[prev], n)))
        prev = t
    return sched


def _prev(buf, init, s, e, ps, m, xp):
    """The state before the step at rows s:e (a view unless sequences start at this step)."""
    n = e - s
    if m == n:
        return buf[ps:ps + n]
    if m == 0:
        return init[:n]
    return xp.concatenate([buf[ps:ps + m], init[m:n]])


def _final_rows(sched, batch):
    """Row of each sequence's last processed step (its final state) in the packed buffers."""
    s, e = sched[-1][:2]
    if e - s == batch:
        return slice(s, e)
    idx = np.empty(batch, dtype=np.int64)
    for s, e, _, _ in sched:
        idx[:e - s] = np.arange(s, e)
    return idx


def _prev_all(buf, init, sched, xp, out=None):
    """The previous state of every row (N, H): the right factor of dW_hh = dG^T H_prev
    (written into ``out`` when given)."""
    if out is None:
        out = xp.empty(buf.shape, dtype=buf.dtype)
    for s, e, ps, m in sched:
        out[s:e] = _prev(buf, init, s, e, ps, m, xp)
    return out


# ------------------------------------------------------------------ one direction, forward
# Each returns (Hs, c_n, saved): the state after every step in the packed layout
# (N, H_out) (the layer's output), the LSTM's final cell of each sequence (B, H) (or
# None), and the arrays the backward needs.


def _recurrent(w_hh, hp, xp):
    """h W_hh^T for one step, computed as (W_hh h^T)^T: BLAS is faster in that shape when
    the step has few rows."""
    return _matmul(w_hh, hp.T).T


def _input_projection(X, w_ih, b_ih, b_hh=None):
    G = _matmul(X, w_ih.T)  # half precision through float32 BLAS, rounded back (NumPy's bfloat16 @ is float32)
    if b_ih is not None:
        G += b_ih
        if b_hh is not None:
            G += b_hh
    return G


def _rnn_dir_forward(xp, mode, X, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched):
    G = _input_projection(X, w_ih, b_ih, b_hh)  # becomes the new states, in place
    relu = mode == "RNN_RELU"
    for s, e, ps, m in sched:
        g = G[s:e]
        g += _recurrent(w_hh, _prev(G, h0, s, e, ps, m, xp), xp)
        if relu:
            xp.maximum(g, 0, out=g)
        else:
            xp.tanh(g, out=g)
    return G, None, []


def _ifog(w, H, xp):
    """Rows (or entries) of an LSTM weight or bias moved from torch's gate order i, f, g, o
    to the internal order i, f, o, g: the three sigmoid gates become one contiguous block."""
    return xp.concatenate([w[:2 * H], w[3 * H:], w[2 * H:3 * H]])


def _blocks(flat, rows, sched):
    """The blocks of a flat per-step buffer (the LSTM's transposed layout, see
    _lstm_dir_forward), in the order of ``sched``: step rows s:e is the contiguous
    (rows, e-s) block at offset rows*s."""
    return [flat[rows * s:rows * e].reshape(rows, e - s) for s, e, _, _ in sched]


def _prev_cols(blocks, init, n, m, xp):
    """The LSTM cell before a step of n rows, transposed (H, n): the first m columns of the
    previous step's block, then rows m:n of the initial cell (like _prev, transposed)."""
    if m == n:
        return blocks[:, :n]
    if m == 0:
        return init[:n].T
    return xp.concatenate([blocks[:, :m], init[m:n].T], axis=1)


_SMALL_BATCH = 32  # (see _lstm_dir_forward's row blocks)


def _small_rows(m, nk):
    """The most rows (a divisor of m, halving) of an (m, k) @ (k, n) product, nk = n*k, whose
    blocks stay within OpenBLAS's small-matrix kernel (SMALL_GEMM multiply-adds)."""
    rows = m
    while rows * nk > SMALL_GEMM and rows % 2 == 0:
        rows //= 2
    return rows


def _lstm_dir_forward(xp, mode, X, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched):
    """LSTM in a transposed layout: every per-step array is feature-major, (features, n)
    for a step of n rows, so each gate is a contiguous row block, the step's matmul writes
    straight into its gate block and the elementwise work runs on contiguous arrays.

    Flat buffers of per-step blocks (_blocks: step s:e at offset rows*s):
      Z (K, n), K = H_out + I (+ 1 with biases): the step's [h_{t-1}^T; x_t^T; 1], so with
        W (4H, K) = [W_hh | W_ih | b_ih + b_hh] one matmul W Z_t is the step's whole
        pre-activation, input projection and bias included;
      G (4H, n): the activated gates;  C (H, n): the cell c_t.
    """
    H = w_ih.shape[0] // 4
    N, I = X.shape
    B, P = h0.shape  # P = H_out: the projection size, or H
    dt = X.dtype
    bias = b_ih is not None
    K = P + I + bias
    # internal gate order i, f, o, g. sigmoid(a) = (1 + tanh(a/2))/2: with the i, f, o rows
    # of W halved (exact in binary floating point) one tanh per step serves all four
    # gates, and one affine pass over the contiguous i, f, o block finishes the sigmoids
    W = xp.empty((4 * H, K), dtype=dt)
    W[:, :P] = _ifog(w_hh, H, xp)
    W[:, P:P + I] = _ifog(w_ih, H, xp)
    if bias:
        W[:, K - 1] = _ifog(b_ih + b_hh, H, xp)
    W[:3 * H] *= 0.5
    # with one BLAS thread and steps of at most _SMALL_BATCH rows, the step's product runs as row
    # blocks of W small enough for OpenBLAS's small-matrix kernel (one NumPy call): its packed
    # kernel copies all of W at every step (1.2-1.6x slower at batch 8-32, H 64-1024); from
    # batch 64 the packed kernel is as fast or faster; with more threads the whole product,
    # which BLAS splits over them
    small = xp is np and B <= _SMALL_BATCH and _blas_threads() == 1
    rows = _small_rows(4 * H, B * K) if small else 4 * H
    if rows < 4 * H:
        W = W.reshape(4 * H // rows, rows, K)  # (blocks, rows, K): one batched product per step
    Z = xp.empty(K * N, dtype=dt)
    Zs = _blocks(Z, K, sched)
    fused = type(W) is not np.ndarray and _cuda_kernels.fits(W)  # CUDA: a step's gate math in one kernel
    if N == B * len(sched):  # every step B rows: all steps' x^T and 1 in one copy each
        Zv = Z.reshape(len(sched), K, B)
        Zv[:, P:P + I] = X.reshape(len(sched), B, I).transpose(0, 2, 1)
        if bias:
            Zv[:, K - 1] = 1
        Zs[0][:P] = h0.T  # the first step's previous state
    else:
        for z, (s, e, _, m) in zip(Zs, sched):
            z[P:P + I] = X[s:e].T
            if bias:
                z[K - 1] = 1
            if m < e - s:  # sequences whose previous state is the initial one
                z[:P, m:] = h0[m:e - s].T
    G = xp.empty(4 * H * N, dtype=dt)
    C = xp.empty(H * N, dtype=dt)
    Gs, Cs = _blocks(G, 4 * H, sched), _blocks(C, H, sched)
    Zs.append(Zs[0][:, :0])  # (after the last step h_t feeds no Z)
    m_next = [st[3] for st in sched[1:]] + [0]  # the rows of each h_t the next step takes
    M = xp.empty((H, N), dtype=dt) if w_hr is not None else None  # o*tanh(c) before W_hr
    Hs = xp.empty((N, P), dtype=dt)
    cn = xp.empty((B, H), dtype=dt)
    tmp = xp.empty(H * B, dtype=dt)
    hb = xp.empty(P * B, dtype=dt)
    cp = None
    mul, tanh = xp.multiply, xp.tanh
    # a padded batch without projection: each h_t but the last is in the next step's Z rows, so
    # the output's rows are copied from Z in one call after the loop (not one copy a step)
    bulk = not fused and M is None and N == B * len(sched)
    for k, (s, e, _, m) in enumerate(sched):
        n = e - s
        g4, c = Gs[k], Cs[k]
        xp.matmul(W, Zs[k], out=g4.reshape(-1, rows, n) if W.ndim == 3 else g4.reshape(4 * H, n))
        # h_t^T goes to the next step's Z rows (straight there when it feeds all of them)
        m1 = m_next[k]
        z1 = Zs[k + 1][:P]
        h = z1 if m1 == n == z1.shape[1] else hb[:P * n].reshape(P, n)
        mh = h if M is None else M[:, s:e]  # o*tanh(c_t): h_t, or W_hr's input with a projection
        if fused:  # (h_t also written to the output's rows, without a projection)
            _cuda_kernels.lstm_cell_forward(g4, _prev_cols(cp, c0, n, m, xp), c, mh, Hs[s:e] if M is None else None)
        else:
            tanh(g4, out=g4)
            sig = g4[:3 * H]  # i, f, o = (1 + tanh(a/2))/2
            sig *= 0.5
            sig += 0.5
            i, f, o, g = g4.reshape(4, H, n)
            mul(f, _prev_cols(cp, c0, n, m, xp), out=c)  # c_t = f*c_{t-1} + i*g
            ig = tmp[:H * n].reshape(H, n)
            mul(i, g, out=ig)
            c += ig
            tc = tanh(c, out=ig)
            mul(o, tc, out=mh)
        if M is not None:
            xp.matmul(w_hr, mh, out=h)  # h_t = W_hr (o*tanh(c_t))
        if h is not z1:
            z1[:, :m1] = h[:, :m1]
        if not (fused and M is None) and not (bulk and h is z1):
            Hs[s:e] = h.T
        if m1 < n:
            cn[m1:n] = c[:, m1:].T  # the rows that do not go on end here: final cells
        cp = c
    if bulk and len(sched) > 1:  # h_t is in the Z block of the step after t in processing order
        T = len(sched)
        Zv, H3 = Z.reshape(T, K, B), Hs.reshape(T, B, P)
        if sched[0][0] == 0:
            H3[:-1] = Zv[1:, :P].transpose(0, 2, 1)
        else:  # the reverse direction
            H3[1:] = Zv[:-1, :P].transpose(0, 2, 1)
    return Hs, cn, [G, C] + ([M] if M is not None else [])


def _gru_dir_forward(xp, mode, X, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, sched):
    H = w_hh.shape[1]
    G = _input_projection(X, w_ih, b_ih)  # becomes r, z, n in place
    N = X.shape[0]
    Hs = xp.empty((N, H), dtype=X.dtype)
    HN = xp.empty((N, H), dtype=X.dtype)  # W_hn h + b_hn, needed for dr
    fused = type(G) is not np.ndarray and _cuda_kernels.fits(G)  # CUDA: a step's gate math in one kernel
    for s, e, ps, m in sched:
        hp = _prev(Hs, h0, s, e, ps, m, xp)
        if fused:
            hp = xp.ascontiguousarray(hp)
            _cuda_kernels.gru_cell_forward(G[s:e], _matmul(hp, w_hh.T), b_hh, hp, HN[s:e], Hs[s:e])
            continue
        gh = _recurrent(w_hh, hp, xp)
        if b_hh is not None:
            gh += b_hh
        g = G[s:e]
        rz = g[:, :2 * H]
        rz += gh[:, :2 * H]
        _sigmoid_(rz, xp)
        hn = gh[:, 2 * H:]
        HN[s:e] = hn
        nn = g[:, 2 * H:]
        nn += g[:, :H] * hn
        xp.tanh(nn, out=nn)
        h = Hs[s:e]
        xp.subtract(hp, nn, out=h)
        h *= g[:, H:2 * H]
        h += nn
    return Hs, None, [G, HN]


_FORWARD = {"RNN_TANH": _rnn_dir_forward, "RNN_RELU": _rnn_dir_forward,
            "LSTM": _lstm_dir_forward, "GRU": _gru_dir_forward}


# ----------------------------------------------------------------- one direction, backward
# RNN and GRU return (dG_ih, dG_hh): the gradients of the pre-activations fed by W_ih
# (all steps, (N, gates*H)) and by W_hh; the LSTM returns (dG^T, dH_out^T, M) in its
# transposed layout. ``douts[k]`` is dL/dout of the rows of step sched[k]; dh (and dc)
# are updated in place to the gradients of the initial state.


def _rnn_dir_backward(xp, mode, Hs, saved, h0, c0, w_hh, w_hr, sched, douts, dh, dc,
                      need_h0=True):
    dG = xp.empty_like(Hs)
    relu = mode == "RNN_RELU"
    for k in range(len(sched) - 1, -1, -1):
        s, e, _, _ = sched[k]
        n = e - s
        d = dh[:n] + douts[k]
        h = Hs[s:e]
        if relu:
            d *= h > 0
        else:
            d *= 1 - h * h
        dG[s:e] = d
        dh[:n] = d @ w_hh
    return dG, dG


_RUN = 8  # steps whose gate factors the LSTM backward computes together (1.25 MB at H 256, B 32: in L2)


def _runs(sched, limit):
    """The steps (processing order) in runs [ka, kb) of at most ``limit`` consecutive steps of
    one row count n: within a run each step's previous state is all of the step before it,
    and the run's blocks in a flat per-step buffer are adjacent (see _run_blocks)."""
    runs, ka = [], 0
    for k in range(1, len(sched) + 1):
        if k == len(sched) or k - ka == limit or sched[k][1] - sched[k][0] != sched[ka][1] - sched[ka][0]:
            runs.append((ka, k))
            ka = k
    return runs


def _run_blocks(flat, rows, sched, ka, kb):
    """Steps ka..kb-1 (one run) of a flat per-step buffer (_blocks) as one (L, rows, n) view in
    processing order (their offsets go up with k forwards, down in the reverse direction)."""
    n = sched[ka][1] - sched[ka][0]
    first, last = sched[ka][0], sched[kb - 1][0]
    if first <= last:
        return flat[rows * first:rows * (last + n)].reshape(kb - ka, rows, n)
    return flat[rows * last:rows * (first + n)].reshape(kb - ka, rows, n)[::-1]


def _lstm_dir_backward(xp, mode, Hs, saved, h0, c0, w_hh, w_hr, sched, douts, dh, dc,
                       need_h0=True):
    """BPTT in the forward's transposed layout (see _lstm_dir_forward): dh^T, dc^T are kept
    (features, B) and the gate gradients dG_t^T (4H, n) in per-step blocks, so that
    dh_{t-1}^T = W_hh^T dG_t^T is one matmul in BLAS's fast shape. Returns dG^T (4H, N)
    (torch's gate order i, f, g, o, step s:e in columns s:e), dH_out^T (P, N) and M for
    the projection (None without).

    With the forward's gates s = sigmoid (i, f, o), g = tanh and cells c_t:
      dm_t = dL/dh_t (through W_hr with a projection),  dc_t = dm_t A_t + f_{t+1} dc_{t+1},
      dG_t = [F_i dc_t, F_f dc_t, F_g dc_t, F_o dm_t],
    where A = o (1 - tanh^2 c), F_i = i(1-i) g, F_f = f(1-f) c_{t-1}, F_g = (1-g^2) i and
    F_o = o(1-o) tanh c depend on the forward's values only. Those factors are computed for
    a run of steps at once (_RUN steps: a few NumPy calls on arrays that stay in L2; i g and
    o tanh c each serve two of them), so the sequential loop is left with dm_t, dc_t, dG_t,
    the cell path f_t dc_t and the matmul."""
    G, C = saved[:2]
    M = saved[2] if len(saved) > 2 else None
    H = w_hh.shape[0] // 4
    N = Hs.shape[0]
    B, P = dh.shape
    dt = G.dtype
    fused = type(G) is not np.ndarray and _cuda_kernels.fits(G)  # CUDA: a step's gate math in one kernel
    # (P, 4H), a transposed view (BLAS takes it as it is; a transposed copy costs more than it
    # saves): the columns in the internal order i, f, o, g of the CUDA kernel's dG, else torch's
    whhT = _ifog(w_hh, H, xp).T if fused else w_hh.T
    whr = xp.ascontiguousarray(w_hr.T) if M is not None else None
    # every step B rows (a padded batch): each step's dG^T goes to its own contiguous block of a
    # run's buffer (as G's), copied into dG^T's columns after the run, while the buffer is in
    # L2 (~10x cheaper than writing each step's columns of dG^T: 1024 rows in as many pages, a
    # TLB miss each; and cheaper than one copy of all steps' blocks after the loop)
    blocked = not fused and N == B * len(sched)
    dGT = xp.empty((4 * H, N), dtype=dt) if blocked else None
    dGb = xp.empty((min(_RUN, len(sched)), 4 * H, B), dtype=dt) if blocked else None
    if dGT is None:
        # dG^T with step s:e in columns s:e; the rows padded by 16 entries so that the step's
        # columns of consecutive rows do not fall in the same cache set (N is often 2^k)
        dGT = xp.empty((4 * H, N + 16), dtype=dt)[:, :N]
    dHT = xp.empty((P, N), dtype=dt) if M is not None else None  # dL/dh_t^T for dW_hr
    dhT = xp.ascontiguousarray(dh.T)
    dcT = xp.ascontiguousarray(dc.T)
    dmb = xp.empty(P * B, dtype=dt)
    dmp = xp.empty(H * B, dtype=dt) if M is not None else None
    dcb = xp.empty(H * B, dtype=dt)
    Gs, Cs = _blocks(G, 4 * H, sched), _blocks(C, H, sched)
    mul, sub = xp.multiply, xp.subtract
    if fused:
        fold = M is None  # the kernel also adds dout_t to dh_t
        for k in range(len(sched) - 1, -1, -1):
            s, e, _, m = sched[k]
            n = e - s
            dm = dmb[:P * n].reshape(P, n)
            if not fold:
                xp.add(dhT[:, :n].T, douts[k], out=dm.T)
            if M is not None:
                dHT[:, s:e] = dm
                dm = xp.matmul(whr, dm, out=dmp[:H * n].reshape(H, n))  # through h_t = W_hr m_t
            dG = dGT[:, s:e]
            _cuda_kernels.lstm_cell_backward(Gs[k], Cs[k], _prev_cols(Cs[k - 1] if k else None, c0, n, m, xp),
                                             dhT[:, :n] if fold else dm, dcT[:, :n], dG, douts[k] if fold else None)
            if k or need_h0:
                xp.matmul(whhT, dG, out=dhT[:, :n])
        dh[...] = dhT.T
        dc[...] = dcT.T
        return _ifog(dGT, H, xp), dHT, M
    L = min(_RUN, len(sched))
    Fb = xp.empty(L * 4 * H * B, dtype=dt)  # F of a run of steps, torch's gate order
    Ab = xp.empty(L * H * B, dtype=dt)
    for ka, kb in reversed(_runs(sched, _RUN)):
        n = sched[ka][1] - sched[ka][0]
        Gr = _run_blocks(G, 4 * H, sched, ka, kb)  # (L, 4H, n): i, f, o = sigmoid, g = tanh
        Cr = _run_blocks(C, H, sched, ka, kb)
        F = Fb[:(kb - ka) * 4 * H * n].reshape(kb - ka, 4 * H, n)
        A = Ab[:(kb - ka) * H * n].reshape(kb - ka, H, n)
        i, f, o, g = Gr[:, :H], Gr[:, H:2 * H], Gr[:, 2 * H:3 * H], Gr[:, 3 * H:]
        Fi, Ff, Fg, Fo = F[:, :H], F[:, H:2 * H], F[:, 2 * H:3 * H], F[:, 3 * H:]
        sub(1, Gr[:, :3 * H], out=F[:, :3 * H])  # 1-i, 1-f, and 1-o (for now in F_g's place)
        tc = xp.tanh(Cr, out=A)
        mul(o, tc, out=Fo)  # o tanh c
        A *= Fo  # A = o (1 - tanh^2 c) = o - (o tanh c) tanh c
        sub(o, A, out=A)
        Fo *= Fg  # F_o = o(1-o) tanh c = (1-o) (o tanh c)
        mul(i, g, out=Fg)  # i g
        Fi *= Fg  # F_i = i(1-i) g = (1-i) (i g)
        Fg *= g  # F_g = (1-g^2) i = i - (i g) g
        sub(i, Fg, out=Fg)
        Ff *= f  # F_f = f(1-f) c_{t-1}
        Ff[1:] *= Cr[:-1]
        Ff[0] *= _prev_cols(Cs[ka - 1] if ka else None, c0, n, sched[ka][3], xp)
        # the step's views, made once per run (the loop below is the sequential part)
        dmo = dmb[:P * n].reshape(P, n)
        dmoT = dmo.T
        dhn, dcn = dhT[:, :n], dcT[:, :n]
        dhnT = dhn.T
        dct = dcb[:H * n].reshape(H, n)
        F3 = F[:, :3 * H].reshape(kb - ka, 3, H, n)
        for k in range(kb - 1, ka - 1, -1):
            s, e = sched[k][:2]
            j = k - ka
            # dm_t = dL/dh_t: from the output and from step t+1 (written as the transposes: the
            # iteration then runs along dout's rows, about 2x faster than along its columns)
            xp.add(dhnT, douts[k], out=dmoT)
            dm = dmo
            if M is not None:
                dHT[:, s:e] = dm
                dm = xp.matmul(whr, dm, out=dmp[:H * n].reshape(H, n))  # through h_t = W_hr m_t
            mul(dm, A[j], out=dct)
            dct += dcn
            dG = dGb[j] if blocked else dGT[:, s:e]
            mul(F3[j], dct, out=dG[:3 * H].reshape(3, H, n))
            mul(Fo[j], dm, out=dG[3 * H:])
            mul(dct, f[j], out=dcn)  # the cell path to step t-1: f_t dc_t
            if k or need_h0:
                xp.matmul(whhT, dG, out=dhn)  # dh_{t-1}^T = W_hh^T dG_t^T
        if blocked:  # the run's steps are B columns each, ascending (or, in reverse, descending)
            t0, t1 = sched[ka][0] // B, sched[kb - 1][0] // B
            run = dGb[:kb - ka] if t0 <= t1 else dGb[kb - ka - 1::-1]
            dGT.reshape(4 * H, len(sched), B)[:, min(t0, t1):max(t0, t1) + 1] = run.transpose(1, 0, 2)
    dh[...] = dhT.T
    dc[...] = dcT.T
    return dGT, dHT, M


def _gru_dir_backward(xp, mode, Hs, saved, h0, c0, w_hh, w_hr, sched, douts, dh, dc,
                      need_h0=True):
    G, HN = saved
    H = HN.shape[1]
    dGi = xp.empty_like(G)
    dGh = xp.empty_like(G)
    fused = type(G) is not np.ndarray and _cuda_kernels.fits(G)  # CUDA: a step's gate math in one kernel
    for k in range(len(sched) - 1, -1, -1):
        s, e, ps, m = sched[k]
        n = e - s
        if fused:
            hp = xp.ascontiguousarray(_prev(Hs, h0, s, e, ps, m, xp))
            _cuda_kernels.gru_cell_backward(G[s:e], HN[s:e], hp, xp.ascontiguousarray(douts[k]), dh[:n],
                                            dGi[s:e], dGh[s:e])
            dh[:n] += dGh[s:e] @ w_hh
            continue
        dhn = dh[:n] + douts[k]
        g = G[s:e]
        r, z, nn = g[:, :H], g[:, H:2 * H], g[:, 2 * H:]
        di, dgh = dGi[s:e], dGh[s:e]
        dnp = dhn * (1 - z) * (1 - nn * nn)
        di[:, 2 * H:] = dnp
        dgh[:, 2 * H:] = dnp * r
        di[:, :H] = dnp * HN[s:e] * r * (1 - r)
        di[:, H:2 * H] = dhn * (_prev(Hs, h0, s, e, ps, m, xp) - nn) * z * (1 - z)
        dgh[:, :2 * H] = di[:, :2 * H]
        dh[:n] = dhn * z + dgh @ w_hh
    return dGi, dGh


_BACKWARD = {"RNN_TANH": _rnn_dir_backward, "RNN_RELU": _rnn_dir_backward,
             "LSTM": _lstm_dir_backward, "GRU": _gru_dir_backward}


def _lstm_weight_grads(xp, res, Hs, h0, X, sched, bias, need):
    """The LSTM's weight gradients [w_ih, w_hh, b_ih, b_hh, w_hr] (None where not needed)
    from its backward's (dG^T, dH_out^T, M): [dW_hh | dW_ih | db] = dG^T [H_prev | X | 1]
    in one matmul (db = the sum of dG's rows; dG^T's rows in torch's gate order), each
    part copied out of it; dW_hr = dH_out^T M."""
    dGT, dHT, M = res
    N, P = Hs.shape
    I = X.shape[1]
    out = [None] * 5
    if any(need[:4]):
        HX = xp.empty((N, P + I + bias), dtype=X.dtype)
        _prev_all(Hs, h0, sched, xp, out=HX[:, :P])
        HX[:, P:P + I] = X
        if bias:
            HX[:, P + I] = 1
        gw = dGT @ HX
        for j, cols in ((0, slice(P, P + I)), (1, slice(0, P)), (2, P + I), (3, P + I)):
            if need[j]:
                out[j] = _Tensor._make(xp.ascontiguousarray(gw[:, cols]))
    if need[4] and M is not None:
        out[4] = _Tensor._make(dHT @ M.T)
    return out


# --------------------------------------------------------------------------- the Function


class RNNLayer(Function):
    """One direction of one recurrent layer, every step in one node (torch's CPU LSTM layer
    node, ``mkldnn_rnn_layer``: a node per layer and direction, its edges in torch's order).

    apply(x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, mode, batch_sizes, reverse) with biases,
    c0 (all but LSTM) and w_hr (no projection) None where absent; x is (T, B, I) with
    batch_sizes None, or packed (N, I) with batch_sizes the rows of each step; reverse runs
    the steps backwards (the second direction). h0, c0: (B, H_out), (B, H). Returns
    (out, h_n, c_n) for LSTM, else (out, h_n): out (T, B, H_out) or (N, H_out).

    Backward (BPTT, steps in reverse processing order):
      dpre_t = act'(pre_t) * (dout_t + dh_t);  dh_{t-1} = dpre_t W_hh  (plus LSTM's cell path
      dc_{t-1} = f_t * dc_t and GRU's direct path z_t * dh_t);  then over all steps
      dW_ih = dPre^T X,  dX = dPre W_ih,  dW_hh = dPre_h^T H_prev,  db = sum dPre.
    Saved: the input, the weights, the initial state, the output (the states of every
    step), the gate activations (and the LSTM cells). The BPTT loop runs on arrays; under
    create_graph=True the backward differentiates a tensor-op replay instead.
    """
    _autocast = "lower"

    @classmethod
    def vmap(cls, info, in_dims, x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, mode, batch_sizes, reverse):
        """Unbatched weights: the samples' sequences side by side in one layer, padded (T, B*N, I)
        or packed (each step's rows of every sample, sequence-major; batched weights take the
        replay in rnn_directions instead)."""
        if any(in_dims[i] is not None for i in (1, 2, 3, 4, 7)):
            raise _batching.NoRule(f"{cls.__name__} with batched weights")
        b = info.batch_size

        def first(t, d):
            return t.expand((b,) + tuple(t.shape)) if d is None else _batching.front(t, d)

        x = first(x, in_dims[0])
        if batch_sizes is not None:
            return _packed_side_by_side(cls, b, x, first(h0, in_dims[5]), None if c0 is None else first(c0, in_dims[6]),
                                        (w_ih, w_hh, b_ih, b_hh), w_hr, mode, batch_sizes, reverse)
        t, n = x.shape[1], x.shape[2]
        side = x.movedim(0, 1).reshape(t, b * n, x.shape[3])
        h = first(h0, in_dims[5]).reshape(b * n, -1)
        c = None if c0 is None else first(c0, in_dims[6]).reshape(b * n, -1)
        res = cls.apply(side, w_ih, w_hh, b_ih, b_hh, h, c, w_hr, mode, None, reverse)
        out = res[0].reshape(t, b, n, -1)
        states = tuple(r.reshape(b, n, -1) for r in res[1:])
        return (out,) + states, (1,) + (0,) * len(states)

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, mode, batch_sizes, reverse):
        X = x._data
        xp = array_module(X)
        padded = batch_sizes is None
        if padded:
            T, B = X.shape[0], X.shape[1]
            batch_sizes = (B,) * T
            X = X.reshape(T * B, X.shape[2])
        weights = (w_ih, w_hh, b_ih, b_hh, w_hr)
        arrays = [w._data if w is not None else None for w in weights]
        sched = _schedule(batch_sizes, reverse)
        Hs, cn, saved = _FORWARD[mode](xp, mode, X, h0._data, c0._data if c0 is not None else None,
                                       *arrays, sched)
        last = _final_rows(sched, h0.shape[0])
        hn = Hs[last].copy() if isinstance(last, slice) else Hs[xp.asarray(last)]
        out = _Tensor._make(Hs.reshape(T, B, Hs.shape[1]) if padded else Hs)
        ctx.mode, ctx.batch_sizes, ctx.reverse, ctx.x_shape = mode, batch_sizes, reverse, x.shape
        # the states of every step are the output itself, saved by reference (an in-place
        # change of the output is caught by the version check)
        ctx.save_for_backward(x, h0, c0, out, *weights, *[_Tensor._make(a) for a in saved])
        return (out, hn, cn) if mode == "LSTM" else (out, hn)

    @staticmethod
    def jvp(ctx, *tangents):
        """The tangents of the layer's step-by-step replay (_replay_layer) by its ops' rules:
        per step dpre_t = dx_t W_ih^T + x_t dW_ih^T + dh_{t-1} W_hh^T + h_{t-1} dW_hh^T + db,
        then RNN: dh_t = act'(pre_t) dpre_t;  LSTM: d(i, f, o) = s(1-s) dpre, dg = (1-g^2) dpre,
        dc_t = df c_{t-1} + f dc_{t-1} + di g + i dg,  dh_t = do tanh c_t + o (1 - tanh^2 c_t) dc_t
        (then W_hr);  GRU: dr, dz alike, dn = (1-n^2)(dpre_n + dr hn + r dhn) with hn = W_hn h + b_hn,
        dh_t = dn + dz (h_{t-1} - n) + z (dh_{t-1} - dn). A finished sequence keeps its tangent."""
        mode, batch_sizes, reverse = ctx._fw_args[8:]
        return composite_jvp(lambda *a: _replay_layer(mode, reverse, *a, batch_sizes),
                             ctx._fw_args[:8], tangents[:8])

    @staticmethod
    def backward(ctx, dout, dhn, dcn=None):
        if _state.enabled:  # create_graph=True: differentiate a tensor-op replay instead
            return _replay_backward(ctx, dout, dhn, dcn)
        x, h0, c0, out, w_ih, w_hh, b_ih, b_hh, w_hr, *rest = ctx.saved_tensors
        rest = [t._data for t in rest]
        w_ih, w_hh, b_ih, b_hh, w_hr = [w._data if w is not None else None for w in (w_ih, w_hh, b_ih, b_hh, w_hr)]
        X = x._data
        xp = array_module(X)
        padded = X.ndim == 3
        if padded:
            X = X.reshape(-1, X.shape[2])
        N = X.shape[0]
        Hout = dhn.shape[1]
        Hs = out._data.reshape(N, Hout)
        dO = dout._data
        # needs_input_grad by apply's argument: x 0, w_ih 1, w_hh 2, b_ih 3, b_hh 4, h0 5, c0 6, w_hr 7
        need = ctx.needs_input_grad
        dh = dhn._data.copy()
        dc = dcn._data.copy() if ctx.mode == "LSTM" else None
        sched = _schedule(ctx.batch_sizes, ctx.reverse)
        B = ctx.batch_sizes[0]
        # dL/dout of each step's rows, views of a copy made in one pass: the step loop reads them
        # from contiguous memory (a batch_first dout is a transposed view, its step rows a
        # sequence apart). The LSTM backward works feature-major: its douts are the transposes of
        # contiguous (H_out, B) blocks (its per-step add then runs along memory, not across it)
        if padded and ctx.mode == "LSTM" and xp is np:
            DT = np.ascontiguousarray(dO.transpose(0, 2, 1))
            douts = [DT[st // B].T for st, _, _, _ in sched]
        else:
            dO = xp.ascontiguousarray(dO)
            douts = [dO[st // B] if padded else dO[st:e] for st, e, _, _ in sched]
        res = _BACKWARD[ctx.mode](xp, ctx.mode, Hs, rest, h0._data, c0._data if c0 is not None else None,
                                  w_hh, w_hr, sched, douts, dh, dc, need[5])
        gx = None
        if ctx.mode == "LSTM":
            gw_ih, gw_hh, gb_ih, gb_hh, gw_hr = _lstm_weight_grads(
                xp, res, Hs, h0._data, X, sched, b_ih is not None, need[1:5] + need[7:8])
            if need[0]:
                gx = res[0].T @ w_ih  # dX = dG W_ih
        else:
            dGi, dGh = res
            gw_ih = gw_hh = gw_hr = None
            if need[0]:
                gx = dGi @ w_ih
            if need[1] and need[2] and dGi is dGh:
                # [dW_hh | dW_ih] = dG^T [H_prev | X]: one matmul for both
                HX = xp.empty((N, Hout + X.shape[1]), dtype=X.dtype)
                _prev_all(Hs, h0._data, sched, xp, out=HX[:, :Hout])
                HX[:, Hout:] = X
                gw = dGh.T @ HX
                gw_hh = _Tensor._make(xp.ascontiguousarray(gw[:, :Hout]))
                gw_ih = _Tensor._make(xp.ascontiguousarray(gw[:, Hout:]))
            else:
                if need[1]:
                    gw_ih = _Tensor._make(dGi.T @ X)
                if need[2]:
                    gw_hh = _Tensor._make(dGh.T @ _prev_all(Hs, h0._data, sched, xp))
            gb_ih = _Tensor._make(dGi.sum(0)) if need[3] else None
            gb_hh = _Tensor._make(dGh.sum(0)) if need[4] else None
        gx = _Tensor._make(gx.reshape(ctx.x_shape)) if gx is not None else None
        gh0 = _Tensor._make(dh) if need[5] else None
        gc0 = _Tensor._make(dc) if dc is not None and need[6] else None
        return gx, gw_ih, gw_hh, gb_ih, gb_hh, gh0, gc0, gw_hr, None, None, None


# ------------------------------------------------------- double backward: tensor-op replay


def _replay_layer(mode, reverse, x, w_ih, w_hh, b_ih, b_hh, h, c, w_hr, batch_sizes):
    """The same layer direction written step by step with tensor ops (differentiable to any
    order). Only used for create_graph=True, where the graph it records is the point."""
    from .join import cat

    padded = x.ndim == 3
    if padded:
        T, B = x.shape[0], x.shape[1]
        X = x.reshape(T * B, x.shape[2])
        batch_sizes = (B,) * T
    else:
        X, B = x, batch_sizes[0]
    H = w_hh.shape[1] if mode == "GRU" else w_ih.shape[0] // _NUM_GATES[mode]
    rows = {}
    for s, e, _, _ in _schedule(batch_sizes, reverse):
        n = e - s
        hp = h[:n]
        gi = X[s:e] @ w_ih.t()
        gh = hp @ w_hh.t()
        if b_ih is not None:
            gi, gh = gi + b_ih, gh + b_hh
        if mode == "LSTM":
            g = gi + gh
            i, f = g[:, :H].sigmoid(), g[:, H:2 * H].sigmoid()
            gg, o = g[:, 2 * H:3 * H].tanh(), g[:, 3 * H:].sigmoid()
            cn = f * c[:n] + i * gg
            hn = o * cn.tanh()
            if w_hr is not None:
                hn = hn @ w_hr.t()
            c = cn if n == B else cat([cn, c[n:]], 0)
        elif mode == "GRU":
            r = (gi[:, :H] + gh[:, :H]).sigmoid()
            z = (gi[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
            nn = (gi[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
            hn = nn + z * (hp - nn)
        else:
            pre = gi + gh
            hn = pre.relu() if mode == "RNN_RELU" else pre.tanh()
        h = hn if n == B else cat([hn, h[n:]], 0)
        rows[s] = hn
    out = cat([rows[k] for k in sorted(rows)], 0)
    if padded:
        out = out.reshape(T, B, out.shape[1])
    return (out, h, c) if mode == "LSTM" else (out, h)


def _replay_backward(ctx, dout, dhn, dcn):
    """Gradients as a differentiable function of the inputs: replay the layer with tensor
    ops from (aliases of) the saved inputs and differentiate it with create_graph=True."""
    from ..autograd.engine import grad

    x, h0, c0, _, w_ih, w_hh, b_ih, b_hh, w_hr = ctx.saved_tensors[:9]
    args = [x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr]  # apply's tensor arguments, in order
    need = ctx.needs_input_grad[:8]
    # aliases, so the replay's gradients stop at them (not at the inputs' own producers)
    # (forward AD's double-VJP runs this backward for inputs that carry a tangent but need no grad)
    alias = [(a.view_as(a) if a.requires_grad else a.detach().requires_grad_()) if a is not None and nd else a
             for a, nd in zip(args, need)]
    outs = _replay_layer(ctx.mode, ctx.reverse, *alias, ctx.batch_sizes)
    grads_out = (dout, dhn, dcn) if ctx.mode == "LSTM" else (dout, dhn)
    targets = [i for i, (a, nd) in enumerate(zip(alias, need)) if a is not None and nd]
    got = grad(outs, [alias[i] for i in targets], grad_outputs=grads_out, create_graph=True,
               allow_unused=True)
    result = [None] * len(alias)
    for i, g in zip(targets, got):
        result[i] = g
    return (*result, None, None, None)


def _packed_side_by_side(cls, b, x, h0, c0, weights, w_hr, mode, batch_sizes, reverse):
    """A packed layer of B samples' packed sequences x (B, rows, I) as one packed batch: step t
    holds the rows (sequence j, sample s) as row j*B + s, so that each step's active sequences
    stay a prefix; h0/c0 (B, N, H) alike; the outputs put back in each sample's order."""
    n = x.shape[1]
    starts = np.cumsum((0,) + tuple(batch_sizes[:-1]))
    rows = np.concatenate([(st + np.arange(k)[:, None] + n * np.arange(b)[None, :]).reshape(-1)
                           for st, k in zip(starts, batch_sizes)])
    back = np.argsort(rows)

    def seq_major(t):
        return t.movedim(0, 1).reshape(-1, t.shape[-1])

    res = cls.apply(x.reshape(b * n, -1)[rows], *weights, seq_major(h0), None if c0 is None else seq_major(c0), w_hr,
                    mode, tuple(b * k for k in batch_sizes), reverse)
    out = res[0][back].reshape(b, n, -1)
    states = tuple(r.reshape(-1, b, r.shape[-1]).movedim(1, 0) for r in res[1:])
    return (out,) + states, 0


class RNNTanhLayer(RNNLayer):
    pass


class RNNReluLayer(RNNLayer):
    pass


class LSTMLayer(RNNLayer):
    _backward_name = "MkldnnRnnLayerBackward0"  # torch's CPU LSTM layer node, one per layer and direction
    _listed_inputs = 7  # its edges: input, w_ih, w_hh, b_ih, b_hh, h0, c0, absent biases included


class GRULayer(RNNLayer):
    _autocast = {"cuda": "lower"}  # torch's CPU GRU has no autocast kernel (no mkldnn_rnn_layer)


_LAYER = {"RNN_TANH": RNNTanhLayer, "RNN_RELU": RNNReluLayer, "LSTM": LSTMLayer, "GRU": GRULayer}


def rnn_directions(mode, input, h0, c0, weights, batch_sizes=None):
    """One recurrent layer over a whole sequence, a node per direction as torch's CPU LSTM:
    returns (output, [h_n of each direction], [c_n of each direction, LSTM only]).
    The directions' outputs are concatenated along the features (CatBackward0).

    h0, c0: (D, B, H_out), (D, B, H) (c0 None but for LSTM). weights: per direction
    (w_ih, w_hh, b_ih, b_hh[, w_hr]), biases None when absent. batch_sizes: see rnn_layer."""
    if mode not in _NUM_GATES:
        raise ValueError(f"Unknown recurrent mode '{mode}', expected one of {list(_NUM_GATES)}")
    if batch_sizes is not None:
        batch_sizes = tuple(int(b) for b in batch_sizes)
    outs, hs, cs = [], [], []
    for d, w in enumerate(weights):
        w_ih, w_hh, b_ih, b_hh, w_hr = tuple(w) + (None,) * (5 - len(w))
        if _batching.batched(w_ih, w_hh, b_ih, b_hh, w_hr):
            # vmap over weights (an ensemble's, or vmap(grad(f))'s parameters): the step-by-step
            # replay, each step's ops batched by their rules (per-sample weight gradients)
            res = _replay_layer(mode, d == 1, input, w_ih, w_hh, b_ih, b_hh, h0[d],
                                c0[d] if c0 is not None else None, w_hr, batch_sizes)
        else:
            res = _LAYER[mode].apply(input, w_ih, w_hh, b_ih, b_hh, h0[d], c0[d] if c0 is not None else None,
                                     w_hr, mode, batch_sizes, d == 1)
        outs.append(res[0])
        hs.append(res[1])
        if mode == "LSTM":
            cs.append(res[2])
    if len(outs) == 1:
        return outs[0], hs, cs
    from .join import cat

    return cat(outs, -1), hs, cs


def rnn_layer(mode, input, hx, weights, batch_sizes=None):
    """One recurrent layer over a whole sequence (one or two directions).

    mode: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'. input: (T, B, I), or packed data
    (N, I) with ``batch_sizes`` (a sequence of ints, non-increasing). hx: h_0 (D, B, H_out),
    or (h_0, c_0) for LSTM. weights: per direction (w_ih, w_hh, b_ih, b_hh[, w_hr]), biases
    None when absent. Returns (output, h_n) or, for LSTM, (output, (h_n, c_n)), the states
    stacked over the directions (StackBackward0, as torch).
    """
    from .join import stack

    h0, c0 = hx if mode == "LSTM" else (hx, None)
    out, hs, cs = rnn_directions(mode, input, h0, c0, weights, batch_sizes)
    return (out, (stack(hs), stack(cs))) if mode == "LSTM" else (out, stack(hs))
