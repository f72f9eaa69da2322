"""torch.utils.hooks: RemovableHandle, the class of what every ``register_*hook`` returns
(programs name it in type hints and isinstance checks); it lives in autograd/graph.py."""

from ..autograd.graph import RemovableHandle

__all__ = ["RemovableHandle"]
