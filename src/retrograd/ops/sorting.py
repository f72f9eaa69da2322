"""(being written: see the op-set and nn issues)"""

__all__ = []
