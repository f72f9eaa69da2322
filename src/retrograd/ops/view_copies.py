"""The copying forms of the view ops (torch.permute_copy, view_copy, ...), which torch's
functionalization emits in place of views: each is its view op followed by a copy, so the
result owns its memory (row-major) and a write to it never reaches the input. Gradients,
tangents and vmap batching are the view op's and clone's."""

from ..autograd.grad_mode import _state, no_grad
from ..tensor import Tensor, _wrap_dim
from ._out import RESIZE_WARNING, SAME, _check_dtype, _write, takes_out
from .counting import NotDifferentiable
from .join import split, split_with_sizes, unbind
from .linalg import diagonal
from .shape import expand, permute, select, squeeze, t, transpose, unfold, unsqueeze, view

__all__ = ["alias_copy", "detach_copy", "diagonal_copy", "expand_copy", "permute_copy", "select_copy",
           "slice_copy", "split_copy", "split_with_sizes_copy", "squeeze_copy", "t_copy", "transpose_copy",
           "unbind_copy", "unfold_copy", "unsqueeze_copy", "view_copy"]


def _own(x):
    """x's values in memory of their own (a differentiable copy)."""
    return x.clone()


@takes_out(dtype=SAME)
def alias_copy(input):
    """A copy of input (torch.alias, then a copy)."""
    return _own(input)


@takes_out(dtype=SAME)
def detach_copy(input):
    """A copy of input outside the graph as torch records it: where input requires grad the
    result does too, and backward through it raises (torch has no derivative for detach_copy)."""
    return NotDifferentiable.apply("detach_copy", input._data.copy(), input)


@takes_out(dtype=SAME)
def diagonal_copy(input, offset=0, dim1=0, dim2=1):
    """A copy of input.diagonal(offset, dim1, dim2)."""
    return _own(diagonal(input, offset, dim1, dim2))


@takes_out(dtype=SAME)
def expand_copy(input, size, *, implicit=False):
    """A copy of input.expand(size) (each broadcast element its own memory). ``implicit`` is
    torch's tracing flag and changes nothing in the result."""
    if not isinstance(implicit, bool):
        raise TypeError(f"expand_copy(): argument 'implicit' must be bool, not {type(implicit).__name__}")
    return _own(expand(input, size))


@takes_out(dtype=SAME)
def permute_copy(input, dims):
    """A copy of input.permute(dims)."""
    return _own(permute(input, dims))


@takes_out(dtype=SAME)
def select_copy(input, dim, index):
    """A copy of input.select(dim, index)."""
    return _own(select(input, dim, index))


@takes_out(dtype=SAME)
def slice_copy(input, dim=0, start=None, end=None, step=1):
    """A copy of input[..., start:end:step] along ``dim`` (positive step)."""
    if step <= 0:
        raise RuntimeError(f"slice step must be positive (slice_copy got step={step})")
    if input.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    dim = _wrap_dim(dim, input.ndim)
    return _own(input[(slice(None),) * dim + (slice(start, end, step),)])


def _write_pieces(name, make_pieces, out, *, as_copy_):
    """torch's out= of the ops returning several tensors (each out a piece; None returned), outside
    autograd. as_copy_ (split_copy): each piece broadcast and converted into its out as copy_ does;
    else (split_with_sizes_copy, unbind_copy) each out of the piece's dtype, resized as any out=."""
    if not isinstance(out, (list, tuple)) or not all(isinstance(o, Tensor) for o in out):
        raise TypeError(f"{name}(): argument 'out' must be tuple of Tensors, not {type(out).__name__}")
    if name == "unbind_copy" and _state.enabled and any(o.requires_grad for o in out):  # (torch checks this one only)
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic differentiation, "
                           "but one of the arguments requires grad. Call it under torch.no_grad().")
    with no_grad():
        pieces = make_pieces()
    if len(out) != len(pieces):
        raise RuntimeError(f"{name}_Tensor_out() expected an out= argument of size {len(pieces)}, got size {len(out)}")
    for o, p in zip(out, pieces):
        if not as_copy_:
            _check_dtype(name, p, o, SAME, RuntimeError)
    with no_grad():
        for o, p in zip(out, pieces):
            if as_copy_:
                o.copy_(p)
            else:
                _write(o, p, RESIZE_WARNING, False, name)


def split_copy(input, split_size, dim=0, *, out=None):
    """Copies of torch.split(input, split_size, dim)'s pieces (a tuple); with ``out`` (a list of
    tensors, one a piece) the pieces are copied there (as copy_: broadcast, converted) and None
    is returned, as torch's."""
    if out is not None:
        return _write_pieces("split_copy", lambda: split(input, split_size, dim), out, as_copy_=True)
    return tuple(_own(p) for p in split(input, split_size, dim))


def split_with_sizes_copy(input, split_sizes, dim=0, *, out=None):
    """Copies of torch.split_with_sizes's pieces; with ``out``, each out of its piece's dtype
    (resized as any out=), and None returned."""
    if out is not None:
        return _write_pieces("split_with_sizes_copy", lambda: split_with_sizes(input, split_sizes, dim), out,
                             as_copy_=False)
    return tuple(_own(p) for p in split_with_sizes(input, split_sizes, dim))


def unbind_copy(input, dim=0, *, out=None):
    """Copies of torch.unbind(input, dim)'s slices; ``out`` as split_with_sizes_copy's (an out that
    requires grad is refused, as torch's)."""
    if out is not None:
        return _write_pieces("unbind_copy", lambda: unbind(input, dim), out, as_copy_=False)
    return tuple(_own(p) for p in unbind(input, dim))


@takes_out(dtype=SAME)
def squeeze_copy(input, dim=None):
    """A copy of input.squeeze(dim) (dim None, an int or a tuple of ints)."""
    return _own(squeeze(input, dim))


@takes_out(dtype=SAME)
def t_copy(input):
    """A copy of input.t()."""
    return _own(t(input))


@takes_out(dtype=SAME)
def transpose_copy(input, dim0, dim1):
    """A copy of input.transpose(dim0, dim1)."""
    return _own(transpose(input, dim0, dim1))


@takes_out(dtype=SAME)
def unfold_copy(input, dimension, size, step):
    """A copy of input.unfold(dimension, size, step) (the windows along ``dimension``)."""
    return _own(unfold(input, dimension, size, step))


@takes_out(dtype=SAME)
def unsqueeze_copy(input, dim):
    """A copy of input.unsqueeze(dim)."""
    return _own(unsqueeze(input, dim))


@takes_out(dtype=SAME)
def view_copy(input, size):
    """A copy of input.view(size); ``size`` a shape, or a dtype (the bytes read as that dtype,
    not differentiable)."""
    return _own(view(input, size))
