"""The differentiable ops, one family per file. Importing a family registers its
Tensor methods; ``retrograd`` re-exports each family's ``__all__``."""

from . import elementwise, comparison, reduction, linalg, shape, indexing  # noqa: F401
