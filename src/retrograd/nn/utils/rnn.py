"""Variable-length batches for recurrent layers, as ``torch.nn.utils.rnn``.

A ``PackedSequence`` stores the steps of a batch one after the other: the rows of step
``t`` are the sequences still running at ``t``, ordered by decreasing length, so step
``t`` has ``batch_sizes[t]`` rows. Recurrent layers read that layout directly (one
matmul projects every step's input). Packing and padding are row gathers, differentiable
both ways (a gather's backward is a scatter and vice versa).
"""

from collections import namedtuple

import numpy as np

from ... import _backend
from ...autograd.function import Function
from ...ops import _batching
from ...tensor import Tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence", "unpad_sequence", "unpack_sequence", "invert_permutation"]


# ----------------------------------------------------------------------- row gathers


class GatherRows(Function):
    """out[i] = x[idx[i]], or padding_value where idx[i] < 0;  dx[idx[i]] += g[i]
    (each row of x is taken at most once, so the scatter is an assignment)."""

    @classmethod
    def vmap(cls, info, in_dims, x, idx, padding_value=0.0):
        """The samples' rows at once: the batch dim second (after the rows), in the result too."""
        return cls.apply(_batching.front(x, in_dims[0]).movedim(0, 1), idx, padding_value), 1

    @staticmethod
    def forward(ctx, x, idx, padding_value=0.0):
        X = x._data
        xp = _backend.array_module(X)
        valid = idx >= 0
        out = X[xp.asarray(np.where(valid, idx, 0))]
        if not valid.all():
            out[xp.asarray(~valid)] = padding_value
        ctx.idx, ctx.n = idx, X.shape[0]
        return out

    @staticmethod
    def jvp(ctx, *tangents):
        """dout[i] = dx[idx[i]], 0 in the padding rows (x's tangent comes first)."""
        return GatherRows.apply(tangents[0], ctx.idx, 0.0)

    @staticmethod
    def backward(ctx, g):
        return ScatterRows.apply(g, ctx.idx, ctx.n), None, None


class ScatterRows(Function):
    """out (n, *) zeros with out[idx[i]] = g[i] for idx[i] >= 0;  dg[i] = dout[idx[i]]."""

    @classmethod
    def vmap(cls, info, in_dims, g, idx, n):
        """The samples' rows at once: the batch dim second (after the rows), in the result too."""
        return cls.apply(_batching.front(g, in_dims[0]).movedim(0, 1), idx, n), 1

    @staticmethod
    def forward(ctx, g, idx, n):
        G = g._data
        xp = _backend.array_module(G)
        valid = idx >= 0
        out = xp.zeros((n,) + G.shape[1:], dtype=G.dtype)
        out[xp.asarray(idx[valid])] = G[xp.asarray(valid)]
        ctx.idx, ctx.n = idx, n
        return out

    @staticmethod
    def jvp(ctx, *tangents):
        """dout[idx[i]] = dg[i] (linear in g, whose tangent comes first)."""
        return ScatterRows.apply(tangents[0], ctx.idx, ctx.n)

    @staticmethod
    def backward(ctx, g):
        return GatherRows.apply(g, ctx.idx, 0.0), None, None


def _gather_rows(x, idx, padding_value=0.0):
    return GatherRows.apply(x, np.asarray(idx, dtype=np.int64), padding_value)


# --------------------------------------------------------------------- PackedSequence


def _long(values):
    return Tensor._make(np.asarray(values, dtype=np.int64))


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    p = np.asarray(permutation._data if isinstance(permutation, Tensor) else permutation)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=p.dtype)
    return _long(inv)


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Holds the data and the batch size of each step of a packed batch of sequences.

    Build it with ``pack_padded_sequence`` or ``pack_sequence``. data: (sum of lengths, *);
    batch_sizes: int64 (T,); sorted_indices / unsorted_indices: the permutation from the
    original batch order to decreasing length and back (None when already sorted).
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence(data, batch_sizes) given as a tuple
            data, batch_sizes = data
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = _long(batch_sizes)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._with_data(data)

    def cuda(self, *args, **kwargs):
        return self._with_data(self.data.cuda(*args, **kwargs))

    def cpu(self, *args, **kwargs):
        """On the CPU, after ``.to(*args, **kwargs)`` (a dtype, say), as torch's."""
        return self._with_data(self.data.to(*args, **kwargs).cpu())

    def double(self):
        return self._with_data(self.data.double())

    def float(self):
        return self._with_data(self.data.float())

    def half(self):
        return self._with_data(self.data.half())

    def long(self):
        return self._with_data(self.data.long())

    def int(self):
        return self._with_data(self.data.int())

    def detach(self):
        return self._with_data(self.data.detach())

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def _lengths_array(lengths):
    arr = np.asarray(lengths.tolist() if isinstance(lengths, Tensor) else lengths)
    return arr.astype(np.int64).reshape(-1)


def _batch_sizes(sorted_lengths):
    T = int(sorted_lengths[0]) if sorted_lengths.size else 0
    return np.array([(sorted_lengths > t).sum() for t in range(T)], dtype=np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) ((B, T, *) with batch_first) of sequences of the given
    lengths. With enforce_sorted=False the batch is sorted by decreasing length first
    (and ``unsorted_indices`` restores the order)."""
    if np.ndim(lengths.tolist() if isinstance(lengths, Tensor) else lengths) != 1:
        raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                           f"{np.ndim(lengths.tolist() if isinstance(lengths, Tensor) else lengths)}D lengths")
    lengths = _lengths_array(lengths)
    B = input.shape[0] if batch_first else input.shape[1]
    T = input.shape[1] if batch_first else input.shape[0]
    if lengths.size != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                         f"{lengths.size} (batch_size={B})")
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if lengths.size and lengths.max() > T:
        raise RuntimeError(f"Lengths {lengths.tolist()} exceed the padded sequence length {T}")
    if enforce_sorted:
        if np.any(lengths[:-1] < lengths[1:]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order = np.arange(B)
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = _long(order)
    sl = lengths[order]
    batch_sizes = _batch_sizes(sl)
    idx = []
    for t, n in enumerate(batch_sizes):
        b = order[:n]
        idx.append(b * T + t if batch_first else t * B + b)
    idx = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
    flat = input.reshape(B * T, *input.shape[2:])
    data = _gather_rows(flat, idx)
    return PackedSequence(data, _long(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Inverse of pack_padded_sequence: (padded (T, B, *) or (B, T, *), lengths int64 (B,)),
    in the batch's original order; positions past each length hold padding_value."""
    data, batch_sizes = sequence.data, np.asarray(sequence.batch_sizes._data, dtype=np.int64)
    T = len(batch_sizes)
    B = int(batch_sizes[0]) if T else 0
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being {T}"
            )
        T_out = total_length
    else:
        T_out = T
    offsets = np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)
    unsorted = sequence.unsorted_indices
    pos = np.arange(B) if unsorted is None else np.asarray(unsorted._data, dtype=np.int64)
    # position of original batch entry b in sorted order is pos[b]
    bsz = np.concatenate([batch_sizes, np.zeros(T_out - T, dtype=np.int64)])[:, None]
    off = np.concatenate([offsets, np.zeros(T_out - T, dtype=np.int64)])[:, None]
    idx = np.where(pos[None, :] < bsz, off + pos[None, :], -1)  # (T_out, B)
    if batch_first:
        idx = idx.T
    padded = _gather_rows(data, idx.reshape(-1), padding_value)
    padded = padded.reshape(*idx.shape, *data.shape[1:])
    sorted_lengths = (batch_sizes[None, :] > np.arange(B)[:, None]).sum(1)
    lengths = sorted_lengths[pos]
    return padded, _long(lengths)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (L_i, *) into (max L, B, *) ((B, max L, *) with
    batch_first), padding with padding_value on the right (or the left)."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if any(s.dim() == 0 for s in sequences):
        raise RuntimeError("pad_sequence pads along each sequence's first dimension: got a 0-dim tensor; "
                           "pass tensors of shape (L, *)")
    from ...ops.join import cat

    lens = [s.shape[0] for s in sequences]
    T = max(lens)
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(
                f"The size of each sequence must match after its first dimension: got "
                f"{list(s.shape)} and [*, {', '.join(map(str, trailing))}]"
            )
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    t = np.arange(T)[:, None]
    L = np.asarray(lens)[None, :]
    shift = (T - L) if padding_side == "left" else 0
    src = t - shift
    idx = np.where((src >= 0) & (src < L), starts[None, :] + src, -1)  # (T, B)
    if batch_first:
        idx = idx.T
    dtype = sequences[0].dtype  # torch's result has the first sequence's dtype (no promotion)
    flat = cat([s.reshape(s.shape[0], *trailing).to(dtype) for s in sequences], 0)
    out = _gather_rows(flat, idx.reshape(-1), padding_value)
    return out.reshape(*idx.shape, *trailing)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *) (sorted by decreasing length unless
    enforce_sorted=False)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of unpadded sequences of a padded batch."""
    lengths = _lengths_array(lengths)
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[i, :int(n)] for i, n in enumerate(lengths)]


def unpack_sequence(packed_sequences):
    """The list of sequences of a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
