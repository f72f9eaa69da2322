"""AdaptiveLogSoftmaxWithLoss: the adaptive softmax of Grave et al. ("Efficient softmax
approximation for GPUs", 2016), as torch.nn's.

The classes are split at the cutoffs into a shortlist [0, cutoffs[0]) and clusters
[cutoffs[i], cutoffs[i+1]). The head scores the shortlist classes and one entry per cluster;
cluster i's classes are scored by its tail, a low-rank projection of in_features //
div_value**(i+1) dims. log p(class) is the head's log-softmax of the class (shortlist) or of
its cluster plus the tail's log-softmax of the class within the cluster.
"""

from collections import namedtuple

from ... import _dtype
from ...ops import softmax as _softmax
from ...ops.join import cat
from ..module import Module
from .container import ModuleList, Sequential
from .linear import Linear

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: forward(input, target) gives ``(output, loss)``, the log-probability of
    each target and their mean negated; ``log_prob`` the (N, n_classes) log-probabilities,
    ``predict`` the most likely class of each row."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        if any(isinstance(c, float) for c in cutoffs):
            raise TypeError(f"cutoffs must be integers, got {cutoffs} (write {[int(c) for c in cutoffs]})")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, device=device, dtype=dtype),
                                        Linear(hidden, size, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for projection, scores in self.tail:
            projection.reset_parameters()
            scores.reset_parameters()

    def forward(self, input_, target):
        if target.ndim > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if target.ndim == 1:
            if input_.ndim == 0 or input_.shape[0] != target.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{input_.shape}")
        elif input_.ndim != 1:
            raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size {input_.shape}")
        if target.dtype not in (_dtype.int64, _dtype.int32):
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: expected an int64 or int32 target (class indices), "
                               f"got {target.dtype}")
        unbatched = input_.ndim == 1
        x = input_.unsqueeze(0) if unbatched else input_
        t = target.reshape(-1).long()
        if t.numel() and (bool((t < 0).any()) or bool((t >= self.n_classes).any())):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{int(t.min())}, {int(t.max())}] were found. ")
        head_lp = _softmax.log_softmax(self.head(x), 1)
        # the head's column of each target: the class itself in the shortlist, else its cluster's entry
        column = t.clone()
        picked = x.new_zeros(t.shape[0])  # the tails' log-probabilities of the targets (0 in the shortlist)
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            in_cluster = (t >= low) & (t < high)
            rows = in_cluster.nonzero().reshape(-1)
            if rows.numel() == 0:
                continue
            column[rows] = self.shortlist_size + i
            within = _softmax.log_softmax(self.tail[i](x[rows]), 1)
            picked = picked.index_add(0, rows, within.gather(1, (t[rows] - low).unsqueeze(1)).squeeze(1))
        output = head_lp.gather(1, column.unsqueeze(1)).squeeze(1) + picked
        loss = (-output).mean()
        return _ASMoutput(output.squeeze(0) if unbatched else output, loss)

    def _full_log_prob(self, input, head_output):
        """(N, n_classes) log-probabilities from the head's output: the shortlist's from the
        head, each cluster's as its head entry plus the tail's log-softmax."""
        head_lp = _softmax.log_softmax(head_output, 1)
        parts = [head_lp[:, :self.shortlist_size]]
        for i, tail in enumerate(self.tail):
            cluster = head_lp[:, self.shortlist_size + i:self.shortlist_size + i + 1]
            parts.append(_softmax.log_softmax(tail(input), 1) + cluster)
        return cat(parts, 1)

    def log_prob(self, input):
        """log p(class | row) of every class, (N, n_classes), for (N, in_features) input."""
        _check_2d("log_prob", input)
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most likely class of each row of (N, in_features) input: the head's argmax where
        that is a shortlist class (no cluster class can be more likely), else the argmax of the
        full log-probabilities (computed for those rows only)."""
        _check_2d("predict", input)
        head_output = self.head(input)
        output = head_output.argmax(1)
        rows = (output >= self.shortlist_size).nonzero().reshape(-1)
        if rows.numel():
            output = output.clone()
            output[rows] = self._full_log_prob(input[rows], head_output[rows]).argmax(1)
        return output


def _check_2d(name, input):
    if input.ndim != 2:
        error = IndexError if input.ndim < 2 else RuntimeError
        raise error(f"AdaptiveLogSoftmaxWithLoss.{name}: expected (N, in_features) input, got input of size "
                    f"{list(input.shape)}")
