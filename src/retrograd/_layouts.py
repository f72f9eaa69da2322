"""``torch.layout`` and ``torch.memory_format`` values. retrograd tensors are all dense and
row-major, so ``strided`` and ``contiguous_format`` / ``preserve_format`` describe every tensor;
the others exist so that programs naming them get a clear error where they are used
(``x.to(memory_format=torch.channels_last)`` raises NotImplementedError, see _unsupported.py)."""


class _Named:
    """A torch singleton that prints as ``torch.<name>`` and pickles as a reference to itself."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    def __reduce__(self):
        return self.name  # the module-level instance of that name


class layout(_Named):
    """A tensor memory layout (``torch.strided`` is the only one retrograd has)."""

    __slots__ = ()


class memory_format(_Named):
    """An order of a dense tensor's dimensions in memory."""

    __slots__ = ()


strided = layout("strided")
# torch's other layouts: comparisons with them work (a retrograd tensor's layout is never one), and
# a factory given one raises NotImplementedError (see _unsupported.py)
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")
contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
