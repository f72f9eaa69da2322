"""Recurrent layers (RNN, LSTM, GRU) and cells, with torch's arguments and parameter names.

Each layer of a module is one fused node over all time steps and both directions
(``retrograd.ops.rnn``): the backward is backpropagation through time in one loop, so
a 1,000-step sequence costs 1,000 small steps and no recursion. Packed sequences run in
their packed layout. Under ``create_graph=True`` (double backward) a layer's backward
differentiates a step-by-step tensor-op replay instead, so higher orders are exact.
"""

import math
import numbers
import warnings

from ... import creation
from ...ops.join import stack
from ...ops.rnn import rnn_directions, rnn_layer
from ...amp.autocast_mode import _state as _amp_state
from ...tensor import Tensor
from .. import init
from ..module import Module
from ..parameter import Parameter
from ..utils.rnn import PackedSequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_NAMES = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _dropout(x, p, training):
    from .. import functional as F

    return F.dropout(x, p, training)


class RNNBase(Module):
    """The common machinery of RNN, LSTM and GRU: parameters, checks and the layer loop."""

    __constants__ = ["mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first",
                     "dropout", "bidirectional", "proj_size"]

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1

        if (not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1
                or isinstance(dropout, bool)):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: {type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")

        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = dict(device=device, dtype=dtype)
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                params = [Parameter(creation.empty((gate_size, layer_input), **kw)),
                          Parameter(creation.empty((gate_size, real_hidden), **kw))]
                if bias:
                    params += [Parameter(creation.empty(gate_size, **kw)),
                               Parameter(creation.empty(gate_size, **kw))]
                if proj_size > 0:
                    params.append(Parameter(creation.empty((proj_size, hidden_size), **kw)))
                suffix = "_reverse" if direction == 1 else ""
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    names += ["weight_hr_l{}{}"]
                names = [n.format(layer, suffix) for n in names]
                for name, param in zip(names, params):
                    setattr(self, name, param)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self):
        """No-op (kept for torch compatibility: there is no cuDNN weight buffer here)."""

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ forward

    def _layer_weights(self, layer):
        D = 2 if self.bidirectional else 1
        out = []
        for d in range(D):
            names = self._all_weights[layer * D + d]
            ws = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append((ws["weight_ih"], ws["weight_hh"], ws.get("bias_ih"), ws.get("bias_hh"),
                        ws.get("weight_hr")))
        return out

    def _check_hidden(self, hx, expected, what="hidden"):
        if tuple(hx.shape) != tuple(expected):
            raise RuntimeError(f"Expected {what} size {tuple(expected)}, got {list(hx.shape)}")

    def forward(self, input, hx=None):
        name = _NAMES[self.mode]
        D = 2 if self.bidirectional else 1
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        is_lstm = self.mode == "LSTM"
        packed = isinstance(input, PackedSequence)
        batch_sizes = None
        if packed:
            x = input.data
            batch_sizes = [int(b) for b in input.batch_sizes.tolist()]
            B = batch_sizes[0]
            sorted_indices, unsorted_indices = input.sorted_indices, input.unsorted_indices
            batched = True
        else:
            x = input
            if not isinstance(x, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, "
                                f"not {type(x).__name__}")
            if x.dim() not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {x.dim()}D instead")
            batched = x.dim() == 3
            if not batched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
            B = x.shape[1]
            sorted_indices = unsorted_indices = None
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        w_dtype = self.weight_ih_l0.dtype
        if x.dtype != w_dtype and not _amp_state.enabled:  # as torch: no check under autocast
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype ({w_dtype}). "
                             f"Convert input: input.to({w_dtype}), or convert model: "
                             f"model.to({x.dtype})")

        h_shape = (self.num_layers * D, B, real_hidden)
        c_shape = (self.num_layers * D, B, self.hidden_size)
        if hx is None:
            h0 = creation.zeros(h_shape, dtype=x.dtype, device=x.device)
            c0 = creation.zeros(c_shape, dtype=x.dtype, device=x.device) if is_lstm else None
        else:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise RuntimeError("LSTM expects hx to be a tuple (h_0, c_0)")
                h0, c0 = hx
            else:
                h0, c0 = hx, None
            if not batched:
                for t in (h0, c0):
                    if t is not None and t.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but "
                                           f"got {t.dim()}-D tensor")
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            else:
                for t in (h0, c0):
                    if t is not None and t.dim() != 3:
                        raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but "
                                           f"got {t.dim()}-D tensor")
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if c0 is not None else None
            self._check_hidden(h0, h_shape, "hidden" if not is_lstm else "hidden[0]")
            if c0 is not None:
                self._check_hidden(c0, c_shape, "hidden[1]")
            if h0.dtype != x.dtype or (c0 is not None and c0.dtype != x.dtype):
                raise RuntimeError(f"Input and hidden tensors are not the same dtype, found input "
                                   f"tensor with {x.dtype} and hidden tensor with {h0.dtype}")

        hs, cs = [], []  # the final states of every layer and direction, stacked as torch does
        layer_in = x
        for layer in range(self.num_layers):
            sl = slice(layer * D, (layer + 1) * D)
            out, h, c = rnn_directions(self.mode, layer_in, h0[sl], c0[sl] if is_lstm else None,
                                       self._layer_weights(layer), batch_sizes)
            hs.extend(h)
            cs.extend(c)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                out = _dropout(out, self.dropout, True)
            layer_in = out
        output = layer_in
        h_n = stack(hs)
        c_n = stack(cs) if is_lstm else None

        if packed:
            if unsorted_indices is not None:
                h_n = h_n.index_select(1, unsorted_indices)
                c_n = c_n.index_select(1, unsorted_indices) if c_n is not None else None
            output = PackedSequence(output, input.batch_sizes, sorted_indices, unsorted_indices)
        elif not batched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

    RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None)
    """

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self_nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self_nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self_nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self_nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self_nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, *args, **kwargs)
        self.nonlinearity = self_nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o (in that order in the weights);
    c_t = f*c_{t-1} + i*g,  h_t = o*tanh(c_t) (projected by W_hr with proj_size > 0).

    LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False, proj_size=0, device=None, dtype=None); forward(input, (h_0, c_0))
    returns output, (h_n, c_n).
    """

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit: r, z, n (in that order in the weights);
    n = tanh(W_in x + b_in + r*(W_hn h + b_hn)),  h_t = (1-z)*n + z*h_{t-1}."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------------- cells


class RNNCellBase(Module):
    """Parameters weight_ih (G*H, I), weight_hh (G*H, H), bias_ih, bias_hh (G*H)."""

    __constants__ = ["input_size", "hidden_size", "bias"]

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = dict(device=device, dtype=dtype)
        self.weight_ih = Parameter(creation.empty((num_chunks * hidden_size, input_size), **kw))
        self.weight_hh = Parameter(creation.empty((num_chunks * hidden_size, hidden_size), **kw))
        if bias:
            self.bias_ih = Parameter(creation.empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(creation.empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, mode, input, states):
        """One step of the fused layer: input (B, I) or (I,), states [(B, H) or (H,)] or None."""
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {input.dtype} "
                               f"(input) and {self.weight_ih.dtype} ({name} weights)")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        B = x.shape[0]
        n_states = 2 if mode == "LSTM" else 1
        if states is None:
            states = [creation.zeros((B, self.hidden_size), dtype=x.dtype, device=x.device)
                      for _ in range(n_states)]
        else:
            states = [s if batched else s.unsqueeze(0) for s in states]
            for s in states:
                if tuple(s.shape) != (B, self.hidden_size):
                    raise RuntimeError(f"{name}: expected hidden state of shape "
                                       f"{(B, self.hidden_size) if batched else (self.hidden_size,)}"
                                       f", got {list(s.shape)}")
        hx = [s.unsqueeze(0) for s in states]
        weights = [(self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)]
        _, hn = rnn_layer(mode, x.unsqueeze(0), tuple(hx) if mode == "LSTM" else hx[0], weights)
        outs = hn if mode == "LSTM" else (hn,)
        outs = [o.squeeze(0) if batched else o.reshape(self.hidden_size) for o in outs]
        return tuple(outs) if mode == "LSTM" else outs[0]


class RNNCell(RNNCellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), act = tanh or relu."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return self._step(mode, input, None if hx is None else [hx])


class LSTMCell(RNNCellBase):
    """One LSTM step: returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step("LSTM", input, None if hx is None else list(hx))


class GRUCell(RNNCellBase):
    """One GRU step: returns h'."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        return self._step("GRU", input, None if hx is None else [hx])
