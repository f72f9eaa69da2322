"""The differentiable ops, one family per file. Importing a family registers its
Tensor methods; ``retrograd`` re-exports each family's ``__all__`` (the names torch has
at top level), and ``retrograd.nn.functional`` the nn-facing ones."""

from . import (elementwise, comparison, reduction, linalg, shape, indexing, math, activation,  # noqa: F401
               softmax, join, sorting, distance, linear, loss, conv, pooling, normalization, dropout,
               embedding, upsample, attention, rnn, counting, statistics, numeric,
               _numpy_operands)  # (last: it wraps operators the families registered)
