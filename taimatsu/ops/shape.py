"""Shape ops: view/reshape, squeeze/unsqueeze, permute/transpose/movedim, expand/broadcast,
repeat/tile, flatten/unflatten, cat/stack, split/chunk/unbind, narrow/select/diagonal, flip/roll,
tril/triu, clone/contiguous and the ``*_scatter`` duals of the slicing views.

Ops that are views in PyTorch return ``x._view(arr, view_fn)``: the result aliases the input's
memory and shares its version counter, and ``view_fn`` redoes the view on any tensor shaped like
the input (autograd replays it for in-place writes through views).
"""
from __future__ import annotations

import functools
import itertools
import operator
import warnings

from .._layouts import check_rank, check_storage, laid_out
from .._out import out_variant
from .._tensor_base import TensorBase, make
from ..autograd.function import Function, apply_inplace
from ..backend import broadcast_view, memory_owner, reshape_view, scatter_add
from ..creation import _device, arange, empty
from ..dtypes import dtype as _DTYPE
from ..dtypes import int64, legacy_name, promote_types, to_dtype
from ..size import Size
from ..size import broadcast_shapes as _broadcast_shapes  # the tensor-pair error message
from ._autocast import autocast_op
from ._util import check_same_device, wrap_dim, wrap_dims
from .convert import contiguous_format, preserve_format

__all__ = [
    "adjoint", "as_strided", "atleast_1d", "atleast_2d", "atleast_3d", "block_diag", "broadcast_shapes",
    "broadcast_tensors", "broadcast_to", "cartesian_prod", "cat", "chunk", "clone",
    "column_stack", "combinations", "concat", "concatenate", "diag", "diag_embed", "diagflat",
    "diagonal", "diagonal_scatter", "dsplit", "dstack", "flatten", "flip", "fliplr", "flipud",
    "hsplit", "hstack", "meshgrid", "moveaxis", "movedim", "narrow", "narrow_copy", "permute",
    "ravel", "repeat_interleave", "reshape", "roll", "rot90", "row_stack", "select",
    "select_scatter", "slice_scatter", "split", "split_with_sizes", "squeeze", "stack", "swapaxes",
    "swapdims", "t", "tensor_split", "tile", "transpose", "tril", "tril_indices", "triu",
    "triu_indices", "unbind", "unflatten", "unsqueeze", "vsplit", "vstack"
]


# ------------------------------------------------------------------------------ argument helpers
def _shape_arg(size) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both mean (2, 3); entries must be integers (or 0-d integer
    tensors), as in PyTorch, where ``view(2, 3.0)`` is a TypeError."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    for s in size:  # NOTE: plain ints (the hot case) need no conversion
        if type(s) is not int:
            return tuple([operator.index(s) for s in size])
    return tuple(size)


def _dim_list(dims) -> tuple:
    """An int or a sequence of ints as a tuple."""
    if isinstance(dims, (tuple, list)):
        return tuple(operator.index(d) for d in dims)
    return (operator.index(dims),)


def _real_dim(dim: int, ndim: int) -> int:
    """Like ``wrap_dim`` for ops that need an actual dimension (0-d tensors have none)."""
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return wrap_dim(dim, ndim)


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _infer(shape: tuple, numel: int) -> tuple:
    """``shape`` with its one ``-1`` filled in so that it holds ``numel`` elements."""
    neg = None
    known = 1  # the product of the given sizes
    for i, s in enumerate(shape):
        if s == -1:
            if neg is not None:
                raise RuntimeError("only one dimension can be inferred")
            neg = i
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s} at index {i} of shape {list(shape)}")
        else:
            known *= s
    if neg is None:
        if known != numel:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return shape
    if known == 0:
        if numel == 0:
            raise RuntimeError(
                f"cannot reshape tensor of 0 elements into shape {list(shape)} because the "
                "unspecified dimension size -1 can be any value and is ambiguous"
            )
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    if numel % known:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape[:neg] + (numel // known,) + shape[neg + 1:]


def _bounds(start: int | None, end: int | None, n: int) -> tuple:
    """PyTorch's ``slice`` bounds: negatives count from the end, then both clamp into [0, n]
    with ``end >= start``."""
    start = 0 if start is None else operator.index(start)
    end = n if end is None else operator.index(end)
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = min(max(start, 0), n)
    return start, min(max(end, start), n)


# ------------------------------------------------------------------------------ view / reshape
class View(Function):
    """A reshape that aliases the input (also serves squeeze, unsqueeze, flatten, unflatten)."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        try:
            arr = reshape_view(x._data, shape)
        except ValueError:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead."
            ) from None
        # NOTE: replayed as reshape: autograd replays view_fn on gradients of any layout,
        # where a copy is the right answer; on the base's own layout it is a view again.
        return x._view(arr, lambda b: b.reshape(shape))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


class Reshape(Function):
    """A reshape that copies: the input's strides do not allow a view."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return make(x._data.reshape(shape), x.device)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None


def view(input, *size, dtype=None):
    """A view of ``input`` with shape ``size`` (one entry may be -1); never copies.
    ``view(dtype)`` reinterprets the same memory as another dtype (outside autograd, as in
    PyTorch)."""
    if dtype is not None or len(size) == 1 and isinstance(size[0], _DTYPE):
        if dtype is not None and size:
            raise TypeError("view() takes either a shape or a dtype, not both")
        return _view_dtype(input, size[0] if dtype is None else to_dtype(dtype))
    return View.apply(input, _infer(_shape_arg(size), input._data.size))


def _view_dtype(input, dtype):
    """The bits of ``input`` as ``dtype``: the last dim scales by the ratio of element sizes."""
    a, new = input._data, dtype.np
    if new.itemsize != a.itemsize:
        names = f"{legacy_name(a.dtype)} as {legacy_name(new)} (different element sizes)"
        if a.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 to view {names}")
        if a.strides[-1] != a.itemsize:
            raise RuntimeError(f"self.stride(-1) must be 1 to view {names}, but got "
                               f"{a.strides[-1] // a.itemsize}")
        if new.itemsize > a.itemsize and a.shape[-1] * a.itemsize % new.itemsize:
            ratio = new.itemsize // a.itemsize
            raise RuntimeError(f"self.size(-1) must be divisible by {ratio} to view {names}, "
                               f"but got {a.shape[-1]}")
    out = make(a.view(new), input._device)
    out._version = input._version  # the same storage: in-place writes are seen by both
    return out


def view_as(input, other):
    return view(input, other._data.shape)


def _reshape(input, shape: tuple):
    if not input._data.flags.c_contiguous:
        try:
            reshape_view(input._data, shape)
        except ValueError:
            return Reshape.apply(input, shape)
    return View.apply(input, shape)


def reshape(input, *shape):
    """A tensor with ``shape``: a view when the strides allow it (as PyTorch), else a copy."""
    return _reshape(input, _infer(_shape_arg(shape), input._data.size))


def reshape_as(input, other):
    return _reshape(input, tuple(other._data.shape))


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims ``start_dim..end_dim`` into one (a view when possible, like reshape)."""
    shape = input._data.shape
    start, end = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if not shape:
        return _reshape(input, (1,))
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return input
    return _reshape(input, shape[:start] + (_prod(shape[start:end + 1]),) + shape[end + 1:])


def ravel(input):
    """The elements as a 1-D tensor (a view when the input is contiguous)."""
    return _reshape(input, (input._data.size,))


def unflatten(input, dim, sizes):
    """Split dim ``dim`` into ``sizes`` (one may be -1); always a view."""
    shape = input._data.shape
    dim = _real_dim(dim, len(shape))
    sizes = _dim_list(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    n = shape[dim]
    try:
        new = _infer(sizes, n)
    except RuntimeError as e:
        if "only one dimension" in str(e):
            raise
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({n}) in the input tensor"
        ) from None
    return View.apply(input, shape[:dim] + new + shape[dim + 1:])


def squeeze(input, dim=None):
    """Remove size-1 dims: all of them, or those among ``dim`` (an int or a tuple)."""
    shape = input._data.shape
    dims = wrap_dims(dim, len(shape))
    return View.apply(input, tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1)))


def unsqueeze(input, dim):
    """Insert a size-1 dim at ``dim`` (in ``[-ndim-1, ndim]``)."""
    shape = input._data.shape
    dim = wrap_dim(dim, len(shape) + 1)
    return View.apply(input, shape[:dim] + (1,) + shape[dim:])


# ------------------------------------------------------------------------------ dim reordering
class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._view(x._data.transpose(dims), lambda b: b.permute(dims))

    @staticmethod
    def backward(ctx, g):
        inverse = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inverse[d] = i
        return g.permute(inverse), None


def permute(input, *dims):
    """Reorder dims: output dim ``i`` is input dim ``dims[i]`` (a view)."""
    dims = _shape_arg(dims)
    n = input._data.ndim
    if len(dims) != n:
        raise RuntimeError(
            "permute(sparse_coo): number of dimensions in the tensor input does not match the "
            f"length of the desired ordering of dimensions i.e. input.dim() = {n} is not equal to "
            f"len(dims) = {len(dims)}"
        )
    seen = []
    for d in dims:  # one by one, as PyTorch: a duplicate is reported before a later bad dim
        d = wrap_dim(d, n)
        if d in seen:
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        seen.append(d)
    return Permute.apply(input, tuple(seen))


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, d0, d1):
        ctx.dims = (d0, d1)
        return x._view(x._data.swapaxes(d0, d1), lambda b: b.transpose(d0, d1))

    @staticmethod
    def backward(ctx, g):
        d0, d1 = ctx.dims
        return g.transpose(d0, d1), None, None


def transpose(input, dim0, dim1):
    """Swap dims ``dim0`` and ``dim1`` (a view)."""
    n = input._data.ndim
    if type(dim0) is int and type(dim1) is int and -n <= dim0 < n and -n <= dim1 < n:
        return Transpose.apply(input, dim0 % n, dim1 % n)  # the hot case: dims wrapped inline
    d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
    if n == 0:  # a 0-d tensor accepts dims 0/-1 and has nothing to swap
        return View.apply(input, ())
    return Transpose.apply(input, d0, d1)


def swapaxes(input, axis0, axis1):
    return transpose(input, axis0, axis1)


def swapdims(input, dim0, dim1):
    return transpose(input, dim0, dim1)


def t(input):
    """Transpose of a tensor with at most 2 dims (0-d and 1-d tensors come back as views)."""
    n = input._data.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    return Transpose.apply(input, 0, 1) if n == 2 else View.apply(input, input._data.shape)


def _mT(input, name: str = "mT"):
    n = input._data.ndim
    if n < 2:
        raise RuntimeError(
            f"tensor.{name} is only supported on matrices or batches of matrices. Got {n}-D "
            "tensor."
        )
    return transpose(input, -2, -1)


def adjoint(input):
    """Conjugate transpose of the last two dims (tensors here are real: a transpose view)."""
    return _mT(input, "adjoint()")


def movedim(input, source, destination):
    """Move dims ``source`` to positions ``destination`` keeping the others' order (a view)."""
    src, dst = _dim_list(source), _dim_list(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
            f"contain the same number of dims as destination ({list(dst)} dims)"
        )
    n = input._data.ndim
    ws, wd = [wrap_dim(d, n) for d in src], [wrap_dim(d, n) for d in dst]
    if n == 0:  # dims 0/-1 are accepted and there is nothing to move
        return View.apply(input, ())
    for name, given, wrapped in (("source", src, ws), ("destination", dst, wd)):
        if len(set(wrapped)) != len(wrapped):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(given)})")
    order = [None] * n
    for s, d in zip(ws, wd):
        order[d] = s
    rest = iter(d for d in range(n) if d not in ws)
    return permute(input, tuple(next(rest) if o is None else o for o in order))


def moveaxis(input, source, destination):
    return movedim(input, source, destination)


# ------------------------------------------------------------------------------ broadcasting
class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._view(broadcast_view(x._data, shape), lambda b: b.expand(shape))

    @staticmethod
    def backward(ctx, g):
        return g.sum_to_size(ctx.in_shape), None


def expand(input, *size):
    """A broadcast view of ``input`` with ``size`` (-1 keeps a dim); no memory is copied."""
    sizes = _shape_arg(size)
    shape = input._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0:
        kind = legacy_name(input._data.dtype)
        raise RuntimeError(
            f"expand(torch.{kind}Tensor{{{list(shape)}}}, size={list(sizes)}): the "
            f"number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(shape)})"
        )
    for i in range(lead):
        if sizes[i] < 0:
            raise RuntimeError(
                f"The expanded size of the tensor ({sizes[i]}) isn't allowed in a leading, "
                f"non-existing dimension {i}"
            )
    out = list(sizes)
    for i, s in enumerate(shape):
        want = sizes[lead + i]
        if want == -1:
            out[lead + i] = s
        elif s != want and s != 1 or want < 0:
            raise RuntimeError(
                f"The expanded size of the tensor ({want}) must match the existing size ({s}) at "
                f"non-singleton dimension {lead + i}.  Target sizes: {list(sizes)}.  "
                f"Tensor sizes: {list(shape)}"
            )
    out = tuple(out)
    if _prod(out) == input._data.size:
        # Nothing repeats (only size-1 dims added or kept): a plain view, which stays writable
        # (NumPy marks broadcast arrays read-only).
        return View.apply(input, out)
    return Expand.apply(input, out)


def expand_as(input, other):
    return expand(input, other._data.shape)


def broadcast_to(input, size):
    return expand(input, size)


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to (ints count as 1-D shapes)."""
    result = ()
    for k, s in enumerate(shapes):
        s = tuple(s) if isinstance(s, (tuple, list)) else (operator.index(s),)
        try:
            result = _broadcast_shapes(result, s)
        except RuntimeError:
            bad = next(i for i in range(1, min(len(s), len(result)) + 1)
                       if s[-i] != 1 and result[-i] not in (1, s[-i]))
            raise RuntimeError(
                f"Attempting to broadcast a dimension of length {s[-bad]} at {-bad}! Mismatching "
                f"argument at index {k} had {s}; but expected shape should be broadcastable to "
                f"{list(result)}"
            ) from None
    return Size(result)


def broadcast_tensors(*tensors):
    """Expand all ``tensors`` to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    shape = _broadcast_shapes(*(x._data.shape for x in tensors))
    return tuple(expand(x, shape) for x in tensors)


# ------------------------------------------------------------------------------ copies
class Repeat(Function):
    @staticmethod
    def forward(ctx, x, repeats):
        ctx.meta = (x._data.shape, repeats)
        return make(x.xp.tile(x._data, repeats), x.device)

    @staticmethod
    def backward(ctx, g):
        shape, repeats = ctx.meta
        padded = (1,) * (len(repeats) - len(shape)) + shape
        # Each output dim is (repeat, size) laid out repeat-major: split and sum the repeats.
        split = tuple(v for r, s in zip(repeats, padded) for v in (r, s))
        summed = g.reshape(split).sum(tuple(range(0, len(split), 2)))
        return summed.reshape(shape), None


def repeat(input, *repeats):
    """Tile ``input`` ``repeats[i]`` times along each dim (a copy; extra leading dims allowed)."""
    repeats = _shape_arg(repeats)
    shape = input._data.shape
    if len(repeats) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    padded = (1,) * (len(repeats) - len(shape)) + shape
    out = [r * s for r, s in zip(repeats, padded)]
    for s in out:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {out}")
    return Repeat.apply(input, repeats)


def tile(input, dims):
    """``repeat`` where fewer ``dims`` than tensor dims means leading 1s."""
    dims = _dim_list(dims)
    return repeat(input, (1,) * (input._data.ndim - len(dims)) + dims)


class RepeatInterleave(Function):
    """Element ``i`` along ``dim`` repeated ``repeats[i]`` times (a copy)."""

    @staticmethod
    def forward(ctx, x, repeats, dim):
        ctx.args = (repeats, dim)
        return make(x.xp.repeat(x._data, list(repeats), axis=dim), x.device)

    @staticmethod
    def backward(ctx, g):
        return SegmentSum.apply(g, *ctx.args), None, None


class SegmentSum(Function):
    """The adjoint of RepeatInterleave: consecutive runs of ``repeats[i]`` summed along ``dim``."""

    @staticmethod
    def forward(ctx, g, repeats, dim):
        ctx.args = (repeats, dim)
        xp = g.xp
        a = xp.moveaxis(g._data, dim, 0)
        out = xp.zeros((len(repeats),) + a.shape[1:], a.dtype)
        segment = xp.repeat(xp.arange(len(repeats)), list(repeats))
        scatter_add(xp, out, segment, a)  # exact, unlike differences of a cumulative sum
        return make(xp.ascontiguousarray(xp.moveaxis(out, 0, dim)), g.device)

    @staticmethod
    def backward(ctx, gg):
        return RepeatInterleave.apply(gg, *ctx.args), None, None


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Repeat each element ``repeats`` times (an int, or one count per element) along ``dim``
    (the flattened tensor when None). With only a tensor of counts, the repeated indices."""
    if repeats is None:  # repeat_interleave(counts): indices 0..n-1, each repeated
        counts = input
        return repeat_interleave(arange(counts._data.shape[0], device=counts.device), counts, 0)
    if dim is None:
        input, dim = _reshape(input, (input._data.size,)), 0
    dim = _real_dim(dim, input._data.ndim)
    if isinstance(repeats, TensorBase):
        if repeats._data.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        counts = repeats.tolist()
        if repeats._data.ndim == 0 or len(counts) == 1:
            repeats = int(counts if repeats._data.ndim == 0 else counts[0])
        else:
            n = input._data.shape[dim]
            if len(counts) != n:
                raise RuntimeError(
                    "repeats must have the same size as input along dim, but got repeats.size(0) "
                    f"= {len(counts)} and input.size({dim}) = {n}"
                )
            if min(counts) < 0:
                raise RuntimeError("repeats can not be negative")
            return RepeatInterleave.apply(input, tuple(counts), dim)
    repeats = operator.index(repeats)
    if repeats < 0:
        raise RuntimeError("Repeats must be non-negative")
    # A constant count is a broadcast and a merge of two dims: exact gradients, no scatter.
    shape = input._data.shape
    wide = expand(unsqueeze(input, dim + 1), shape[:dim + 1] + (repeats,) + shape[dim + 1:])
    return _reshape(wide, shape[:dim] + (shape[dim] * repeats,) + shape[dim + 1:])


class Clone(Function):
    @staticmethod
    def forward(ctx, x, memory_format=None):
        # NOTE: C-contiguous unless channels_last(_3d) is asked for (PyTorch's preserve_format
        # keeps a dense input's strides). Autograd's in-place machinery replays view ops on
        # clones of gradients, which needs the standard layout.
        return make(laid_out(x.xp, x._data.copy(), _explicit(memory_format)), x.device)

    @staticmethod
    def backward(ctx, g):
        return g, None


def _explicit(memory_format):
    """The format a copy must take: None (row-major) unless channels_last(_3d) is asked for."""
    return None if memory_format in (None, preserve_format, contiguous_format) else memory_format


def clone(input, *, memory_format=None):
    """A copy that does not share memory (contiguous), differentiable."""
    check_storage("clone", memory_format=memory_format)
    return Clone.apply(input, memory_format)


def contiguous(input, memory_format=contiguous_format):
    """``input`` itself when it is already contiguous (in ``memory_format``), else a copy that
    is."""
    check_storage("contiguous", memory_format=memory_format)
    fmt = _explicit(memory_format)
    if fmt is not None:
        check_rank(fmt, input._data.ndim)
    if input._data.flags.c_contiguous if fmt is None else fmt._is_dense_in(input._data):
        return input
    return Clone.apply(input, fmt)


# ------------------------------------------------------------------------------ cat / stack
def _tensor_list(op: str, tensors) -> list:
    if isinstance(tensors, TensorBase):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    tensors = list(tensors)
    for i, x in enumerate(tensors):
        if not isinstance(x, TensorBase):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(x).__name__}")
    return tensors


def _skipped(a) -> bool:
    """PyTorch's legacy rule: 1-D empty tensors take no part in cat (array ``a``)."""
    return a.ndim == 1 and a.size == 0


class Cat(Function):
    @staticmethod
    def forward(ctx, dim, dtype, *tensors):
        arrays = [x._data for x in tensors]
        ctx.dim = dim
        ctx.sizes = [None if _skipped(a) else a.shape[dim] for a in arrays]
        kept = [a if a.dtype == dtype else a.astype(dtype) for a in arrays if not _skipped(a)]
        xp = tensors[0].xp
        out = xp.concatenate(kept, axis=dim) if kept else xp.empty((0,), dtype)
        return make(out, tensors[0].device)

    @staticmethod
    def backward(ctx, g):
        sizes = [s for s in ctx.sizes if s is not None]
        pieces = iter(g.split(sizes, ctx.dim) if sizes else ())
        grads = [None, None]
        for i, s in enumerate(ctx.sizes):
            piece = None if s is None else next(pieces)
            if not ctx.needs_input_grad[i + 2]:
                grads.append(None)
            else:  # a skipped empty input still gets its (empty) gradient, as in PyTorch
                grads.append(g.new_zeros(0) if s is None else piece)
        return tuple(grads)


def _result_dtype(tensors, arrays):
    """PyTorch's promotion across all inputs (skipped empty ones included)."""
    first = arrays[0].dtype
    for a in arrays:
        if a.dtype != first:
            return functools.reduce(promote_types, (x.dtype for x in tensors)).np
    return first


def _cat_cast_error(src, dst) -> TypeError:
    return TypeError(f"torch.cat(): input types can't be cast to the desired output type "
                     f"{legacy_name(dst)}")


# cat and the functions built on it refuse an out dtype with PyTorch's TypeError
_cat_out = out_variant(cast_error=_cat_cast_error)


@_cat_out
@autocast_op
def cat(tensors, dim=0):
    """Concatenate ``tensors`` along ``dim``; dtypes promote as in PyTorch, 1-D empty tensors are
    skipped."""
    tensors = _tensor_list("cat", tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    arrays = [x._data for x in tensors]
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    if len(tensors) > 1:
        check_same_device("cat", *tensors, cpu_scalars=False)
    kept = [(i, a.shape) for i, a in enumerate(arrays) if not _skipped(a)]
    dim = wrap_dim(dim, len(kept[0][1])) if kept else 0
    if kept:
        ref = kept[0][1]
        rest = ref[:dim] + ref[dim + 1:]
        for i, shape in kept:
            if len(shape) != len(ref) or shape[:dim] + shape[dim + 1:] != rest:
                _cat_shape_error(ref, shape, dim, i)
    return Cat.apply(dim, _result_dtype(tensors, arrays), *tensors)


def _cat_shape_error(ref: tuple, shape: tuple, dim: int, i: int):
    if len(shape) != len(ref):
        raise RuntimeError(
            f"Tensors must have same number of dimensions: got {len(ref)} and {len(shape)}")
    d = next(d for d, (a, b) in enumerate(zip(ref, shape)) if d != dim and a != b)
    raise RuntimeError(
        f"Sizes of tensors must match except in dimension {dim}. Expected size {ref[d]} but got "
        f"size {shape[d]} for tensor number {i} in the list."
    )


@_cat_out
def concat(tensors, dim=0):
    return cat(tensors, dim)


@_cat_out
def concatenate(tensors, axis=0):
    return cat(tensors, axis)


class Stack(Function):
    @staticmethod
    def forward(ctx, dim, dtype, *tensors):
        ctx.dim = dim
        arrays = [x._data if x._data.dtype == dtype else x._data.astype(dtype) for x in tensors]
        return make(tensors[0].xp.stack(arrays, axis=dim), tensors[0].device)

    @staticmethod
    def backward(ctx, g):
        pieces = g.unbind(ctx.dim)
        return (None, None) + tuple(p if need else None
                                    for p, need in zip(pieces, ctx.needs_input_grad[2:]))


@_cat_out
@autocast_op
def stack(tensors, dim=0):
    """Join equally shaped ``tensors`` along a new dim ``dim``."""
    tensors = _tensor_list("stack", tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    arrays = [x._data for x in tensors]
    shape = arrays[0].shape
    dim = wrap_dim(dim, len(shape) + 1)  # (checked first, as in PyTorch)
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(a.shape)} at entry {i}")
    if len(tensors) > 1:
        check_same_device("stack", *tensors, cpu_scalars=False)
    return Stack.apply(dim, _result_dtype(tensors, arrays), *tensors)


@_cat_out
def hstack(tensors):
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    tensors = atleast_1d(_tensor_list("hstack", tensors))
    return cat(tensors, 0 if tensors[0]._data.ndim == 1 else 1)


@_cat_out
def vstack(tensors):
    """Concatenate along dim 0 after making every tensor at least 2-D."""
    return cat(atleast_2d(_tensor_list("vstack", tensors)), 0)


row_stack = vstack


@_cat_out
def dstack(tensors):
    """Concatenate along dim 2 after making every tensor at least 3-D."""
    return cat(atleast_3d(_tensor_list("dstack", tensors)), 2)


@_cat_out
def column_stack(tensors):
    """Stack 0-d/1-d tensors as columns beside 2-D ones."""
    tensors = _tensor_list("column_stack", tensors)
    cols = [_reshape(x, (x._data.size, 1)) if x._data.ndim <= 1 else x for x in tensors]
    return cat(cols, 1)


def _atleast(n: int, tensors):
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        return tuple(_atleast(n, (x,)) for x in tensors[0])
    if len(tensors) != 1:
        return tuple(_atleast(n, (x,)) for x in tensors)
    x = tensors[0]
    shape = x._data.shape
    if len(shape) >= n:
        return x
    if n == 3 and len(shape) == 2:
        return View.apply(x, shape + (1,))
    if n == 3 and len(shape) == 1:
        return View.apply(x, (1,) + shape + (1,))
    return View.apply(x, (1,) * (n - len(shape)) + shape)


def atleast_1d(*tensors):
    """Each tensor viewed with at least 1 dim (a tuple when given several)."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """Each tensor viewed with at least 2 dims (leading 1s)."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """Each tensor viewed with at least 3 dims: (n,) becomes (1, n, 1), (m, n) (m, n, 1)."""
    return _atleast(3, tensors)


# ------------------------------------------------------------------------------ slicing views
def _slicer(dim: int, index) -> tuple:
    # The trailing Ellipsis keeps NumPy from returning a scalar (not a view) for 0-d results.
    return (slice(None),) * dim + (index, Ellipsis)


class ViewEmbed(Function):
    """Zeros of ``shape`` with ``src`` written into the region ``view_fn(zeros)``: the gradient
    of a slicing view, and ``diag_embed``. Its own gradient is that view of ``g``."""

    @staticmethod
    def forward(ctx, src, shape, view_fn):
        ctx.view_fn = view_fn
        out = make(src.xp.zeros(shape, src._data.dtype), src.device)
        view_fn(out)._data[...] = src._data
        return out

    @staticmethod
    def backward(ctx, g):
        return ctx.view_fn(g), None, None


class ViewScatter(Function):
    """A copy of ``input`` with the region ``view_fn(input)`` replaced by ``src``."""

    @staticmethod
    def forward(ctx, input, src, view_fn):
        ctx.view_fn = view_fn
        ctx.src_shape = src._data.shape
        out = make(input._data.copy(), input.device)
        region = view_fn(out)._data
        if region.shape != src._data.shape:
            raise RuntimeError(
                "expected src to have a size equal to the slice of self. src size = "
                f"{list(src._data.shape)}, slice size = {list(region.shape)}"
            )
        region[...] = src._data
        return out

    @staticmethod
    def backward(ctx, g):
        gi = gs = None
        if ctx.needs_input_grad[0]:
            gi = ViewScatter.apply(g, g.new_zeros(ctx.src_shape), ctx.view_fn)
        if ctx.needs_input_grad[1]:
            gs = ctx.view_fn(g)
        return gi, gs, None


class Slice(Function):
    @staticmethod
    def forward(ctx, x, dim, start, stop, step):
        ctx.in_shape = x._data.shape
        ctx.view_fn = lambda b: _slice(b, dim, start, stop, step)
        return x._view(x._data[_slicer(dim, slice(start, stop, step))], ctx.view_fn)

    @staticmethod
    def backward(ctx, g):
        return ViewEmbed.apply(g, ctx.in_shape, ctx.view_fn), None, None, None, None


def _slice(x, dim: int, start: int, stop: int, step: int):
    return Slice.apply(x, dim, start, stop, step)


def narrow(input, dim, start, length):
    """The view ``input[..., start:start + length, ...]`` along ``dim``."""
    n_dims = input._data.ndim
    if n_dims == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    start, length = operator.index(start), operator.index(length)
    if length < 0:  # (checked before the dim, as in PyTorch)
        raise RuntimeError("narrow(): length must be non-negative.")
    dim = wrap_dim(dim, n_dims)
    n = input._data.shape[dim]
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but got "
                         f"{start})")
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({n}).")
    return _slice(input, dim, start, start + length, 1)


@out_variant(dtype="exact", resize_warning=None)
def narrow_copy(input, dim, start, length):
    return clone(narrow(input, dim, start, length))


class Select(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.in_shape = x._data.shape
        ctx.view_fn = lambda b: b.select(dim, index)
        return x._view(x._data[_slicer(dim, index)], ctx.view_fn)

    @staticmethod
    def backward(ctx, g):
        return ViewEmbed.apply(g, ctx.in_shape, ctx.view_fn), None, None


def _select_args(shape: tuple, dim, index) -> tuple:
    """``(dim, index)`` wrapped to non-negative values, with ``select``'s errors."""
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    dim = wrap_dim(dim, len(shape))
    index = operator.index(index)
    n = shape[dim]
    if not -n <= index < n:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(shape)} at dimension {dim}")
    return dim, index + n if index < 0 else index


def select(input, dim, index):
    """The view of ``input`` at ``index`` along ``dim`` (that dim removed)."""
    return Select.apply(input, *_select_args(input._data.shape, dim, index))


class Split(Function):
    """Consecutive pieces ``[b[i], b[i+1])`` of dim ``dim`` as views; gradient: their concat."""

    @staticmethod
    def forward(ctx, x, dim, bounds):
        ctx.dim = dim
        a = x._data
        return tuple(
            x._view(a[_slicer(dim, slice(s, e))],
                    lambda b, s=s, e=e: _slice(b, dim, s, e, 1))
            for s, e in itertools.pairwise(bounds)
        )

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None


def _split_at(input, dim: int, sizes) -> tuple:
    bounds = [0]
    for s in sizes:
        bounds.append(bounds[-1] + s)
    return Split.apply(input, dim, tuple(bounds))


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    if isinstance(split_size_or_sections, (tuple, list)):
        return split_with_sizes(tensor, split_size_or_sections, dim)
    size = operator.index(split_size_or_sections)
    if not tensor._data.ndim:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    if size < 0:  # (before the dim, as in PyTorch)
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
    dim = _real_dim(dim, tensor._data.ndim)
    n = tensor._data.shape[dim]
    if size == 0 and n != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                           f"size of {n}")
    count = max(-(-n // size), 1) if size else 1
    return _split_at(tensor, dim, [size] * (count - 1) + [n - size * (count - 1)])


def split_with_sizes(input, split_sizes, dim=0):
    sizes = _dim_list(split_sizes)
    dim = _real_dim(dim, input._data.ndim)
    n = input._data.shape[dim]
    if sum(sizes) != n or any(s < 0 for s in sizes):
        raise RuntimeError(
            f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at "
            f"dimension {dim}), but got split_sizes={list(sizes)}"
        )
    return _split_at(input, dim, sizes)


def chunk(input, chunks, dim=0):
    """At most ``chunks`` pieces of equal size (the last may be smaller) along ``dim``."""
    chunks = operator.index(chunks)
    if not input._data.ndim:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    dim = _real_dim(dim, input._data.ndim)
    n = input._data.shape[dim]
    size = -(-n // chunks)
    if size == 0:  # an empty dim still gives ``chunks`` (empty) pieces, as in PyTorch
        return _split_at(input, dim, [0] * chunks)
    return split(input, size, dim)


def tensor_split(input, indices_or_sections, dim=0):
    """Split into ``sections`` near-equal pieces, or at ``indices`` (all views)."""
    dim = _real_dim(dim, input._data.ndim)
    n = input._data.shape[dim]
    arg = indices_or_sections
    if isinstance(arg, TensorBase) and arg._data.ndim == 1:
        arg = arg.tolist()
    if not isinstance(arg, (tuple, list)):
        sections = operator.index(arg)
        if sections <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {sections}")
        q, r = divmod(n, sections)
        return _split_at(input, dim, [q + 1] * r + [q] * (sections - r))
    points = [None] + [operator.index(i) for i in arg] + [None]
    pieces = [_bounds(s, e, n) for s, e in itertools.pairwise(points)]
    if all(a[1] == b[0] for a, b in itertools.pairwise(pieces)):
        return Split.apply(input, dim, tuple(p[0] for p in pieces) + (n,))
    # Decreasing indices make overlapping pieces, which Split's concat gradient cannot express.
    return tuple(_slice(input, dim, s, e, 1) for s, e in pieces)


def _nsplit(name: str, dim: int, min_dims: int, input, indices_or_sections):
    nd = input._data.ndim
    if nd < min_dims:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_dims} dimension, "
                           f"but got a tensor with {nd} dimensions!")
    if isinstance(indices_or_sections, int):
        size = input._data.shape[dim]
        if indices_or_sections == 0 or size % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the split_size "
                               f"{indices_or_sections}!")
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    return _nsplit("hsplit", 0 if input._data.ndim == 1 else 1, 1, input, indices_or_sections)


def vsplit(input, indices_or_sections):
    return _nsplit("vsplit", 0, 2, input, indices_or_sections)


def dsplit(input, indices_or_sections):
    return _nsplit("dsplit", 2, 3, input, indices_or_sections)


class Unbind(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        a = x._data
        return tuple(x._view(a[_slicer(dim, i)], lambda b, i=i: b.select(dim, i))
                     for i in range(a.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, ctx.dim), None


def unbind(input, dim=0):
    """The slices along ``dim`` as a tuple of views."""
    dim = _real_dim(dim, input._data.ndim)
    return Unbind.apply(input, dim)


# ------------------------------------------------------------------------------ diagonals
def _diagonal_array(xp, a, offset: int, d1: int, d2: int):
    """A writable strided view of the diagonal (NumPy's ``diagonal`` is read-only)."""
    rest = [d for d in range(a.ndim) if d not in (d1, d2)]
    a = a.transpose(rest + [d1, d2])
    a = a[..., :, offset:] if offset >= 0 else a[..., -offset:, :]
    n = max(min(a.shape[-2], a.shape[-1]), 0)
    return xp.lib.stride_tricks.as_strided(
        a, a.shape[:-2] + (n,), a.strides[:-2] + (a.strides[-2] + a.strides[-1],))


class Diagonal(Function):
    @staticmethod
    def forward(ctx, x, offset, d1, d2):
        ctx.in_shape = x._data.shape
        ctx.view_fn = lambda b: b.diagonal(offset, d1, d2)
        return x._view(_diagonal_array(x.xp, x._data, offset, d1, d2), ctx.view_fn)

    @staticmethod
    def backward(ctx, g):
        return ViewEmbed.apply(g, ctx.in_shape, ctx.view_fn), None, None, None


def _diag_dims(dim1, dim2, ndim):
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The view of the diagonal ``offset`` of the planes ``(dim1, dim2)``, appended as last dim."""
    d1, d2 = _diag_dims(dim1, dim2, input._data.ndim)
    return Diagonal.apply(input, operator.index(offset), d1, d2)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Tensors whose ``(dim1, dim2)`` diagonal ``offset`` holds ``input``'s last dim (else 0)."""
    shape = input._data.shape
    d1, d2 = _diag_dims(dim1, dim2, len(shape) + 1)
    n = shape[-1] + abs(offset)
    rest = iter(shape[:-1])
    out = tuple(n if d in (d1, d2) else next(rest) for d in range(len(shape) + 1))
    return ViewEmbed.apply(input, out, lambda b: b.diagonal(offset, d1, d2))


@out_variant(dtype="exact", differentiable=True)
def diag(input, diagonal=0):
    """1-D: a matrix with ``input`` on diagonal ``diagonal``; 2-D: a copy of that diagonal."""
    nd = input._data.ndim
    if nd == 1:
        return diag_embed(input, diagonal, 0, 1)
    if nd == 2:
        return clone(Diagonal.apply(input, operator.index(diagonal), 0, 1))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """A copy of ``input`` with its ``diagonal(offset, dim1, dim2)`` replaced by ``src``."""
    d1, d2 = _diag_dims(dim1, dim2, input._data.ndim)
    return ViewScatter.apply(input, src, lambda b: b.diagonal(offset, d1, d2))


def select_scatter(input, src, dim, index):
    """A copy of ``input`` with ``select(dim, index)`` replaced by ``src``."""
    dim, index = _select_args(input._data.shape, dim, index)
    return ViewScatter.apply(input, src, lambda b: b.select(dim, index))


@out_variant(dtype="exact", differentiable=True)
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """A copy of ``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``."""
    dim = _real_dim(dim, input._data.ndim)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    s, e = _bounds(start, end, input._data.shape[dim])
    return ViewScatter.apply(input, src, lambda b: _slice(b, dim, s, e, step))


# ------------------------------------------------------------------------------ sliding windows
class Unfold(Function):
    """Windows of ``size`` every ``step`` along ``dim`` (a view; windows may overlap)."""

    @staticmethod
    def forward(ctx, x, dim, size, step):
        a = x._data
        ctx.args = (a.shape, dim, size, step)
        count = (a.shape[dim] - size) // step + 1
        shape = a.shape[:dim] + (count,) + a.shape[dim + 1:] + (size,)
        st = a.strides
        strides = st[:dim] + (st[dim] * step,) + st[dim + 1:] + (st[dim],)
        arr = x.xp.lib.stride_tricks.as_strided(a, shape, strides)
        return x._view(arr, lambda b: b.unfold(dim, size, step))

    @staticmethod
    def backward(ctx, g):
        return UnfoldBackward.apply(g, *ctx.args), None, None, None


class UnfoldBackward(Function):
    """The adjoint of Unfold: every window element added back to its place (overlaps sum)."""

    @staticmethod
    def forward(ctx, g, in_shape, dim, size, step):
        ctx.args = (dim, size, step)
        a = g._data
        out = g.xp.zeros(in_shape, a.dtype)
        count = a.shape[dim]
        for j in range(size):  # a loop over the window, not the elements
            out[_slicer(dim, slice(j, j + step * (count - 1) + 1, step))] += a[..., j]
        return make(out, g.device)

    @staticmethod
    def backward(ctx, gg):
        return gg.unfold(*ctx.args), None, None, None, None


def unfold(input, dimension, size, step):
    """A view of all windows of ``size`` elements, ``step`` apart, along ``dimension``; the
    window becomes a new last dim."""
    shape = input._data.shape
    dim = wrap_dim(dimension, len(shape))
    n = shape[dim] if shape else 1
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if not shape:
        return narrow(View.apply(input, (1,)), 0, 0, size)
    return Unfold.apply(input, dim, size, step)


# ------------------------------------------------------------------------------ flips and masks
class Flip(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return make(x.xp.flip(x._data, dims).copy(), x.device)

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dims), None


def flip(input, dims):
    """A copy with the order of elements reversed along ``dims``."""
    return Flip.apply(input, wrap_dims(_dim_list(dims), input._data.ndim))


def fliplr(input):
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


def flipud(input):
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


class Roll(Function):
    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.args = (shifts, dims)
        return make(x.xp.roll(x._data, shifts, dims), x.device)

    @staticmethod
    def backward(ctx, g):
        shifts, dims = ctx.args
        neg = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
        return Roll.apply(g, neg, dims), None, None


def roll(input, shifts, dims=None):
    """Rotate elements along ``dims`` by ``shifts`` (the flattened tensor when ``dims`` is None)."""
    shifts = _dim_list(shifts)
    dims = () if dims is None else _dim_list(dims)
    if not input._data.size:  # PyTorch returns an empty input as it is, dims unchecked
        return clone(input)
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return Roll.apply(input, shifts[0], None)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    nd = input._data.ndim
    return Roll.apply(input, shifts, tuple(_real_dim(d, nd) for d in dims))


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by 90 degrees ``k`` times in the plane ``dims`` (from the first dim towards the
    second)."""
    dims = _dim_list(dims)
    nd = input._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    d0, d1 = wrap_dim(dims[0], nd), wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and "
                           f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return clone(input)


class Tri(Function):
    """tril (``upper`` False) or triu of the last two dims."""

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.args = (diagonal, upper)
        fn = x.xp.triu if upper else x.xp.tril
        return make(fn(x._data, diagonal), x.device)

    @staticmethod
    def backward(ctx, g):
        return Tri.apply(g, *ctx.args), None, None


def _check_tri(input, upper: bool) -> None:
    if input._data.ndim < 2:
        raise RuntimeError(f"{'triu' if upper else 'tril'}: input tensor must have at least 2 "
                           "dimensions")


def _tri(input, diagonal, upper):
    _check_tri(input, upper)
    return Tri.apply(input, operator.index(diagonal), upper)


@out_variant(dtype="exact")
def tril(input, diagonal=0):
    """The lower triangle (on and below diagonal ``diagonal``) of the last two dims; rest 0."""
    return _tri(input, diagonal, False)


@out_variant(dtype="exact")
def triu(input, diagonal=0):
    """The upper triangle (on and above diagonal ``diagonal``) of the last two dims; rest 0."""
    return _tri(input, diagonal, True)


def _tri_fast(upper):
    def fast(x, diagonal):
        _check_tri(x, upper)
        x._data[...] = (x.xp.triu if upper else x.xp.tril)(x._data, diagonal)

    return fast


# ------------------------------------------------------------------------------ as_strided
def _storage_of(x):
    """``(storage array (flat), x's offset in it)``, in elements."""
    owner = memory_owner(x._data)
    start = (x.data_ptr() - make(owner, x.device).data_ptr()) // x._data.itemsize
    return owner.reshape(-1), start


def _positions(xp, shape, strides, offset):
    """The storage index of every element of a strided view (an int64 array of ``shape``)."""
    pos = xp.full(shape, offset, dtype=int64.np)
    for d, (n, st) in enumerate(zip(shape, strides)):
        axis = [-1 if i == d else 1 for i in range(len(shape))]
        pos += xp.arange(n, dtype=int64.np).reshape(axis) * st
    return pos


class AsStrided(Function):
    @staticmethod
    def forward(ctx, x, size, stride, offset):
        xp = x.xp
        flat, start = _storage_of(x)
        ctx.args = (flat.size, start, x._data.shape, x.stride(), size, stride, offset)
        arr = xp.lib.stride_tricks.as_strided(flat[offset:], size,
                                              tuple(st * flat.itemsize for st in stride))
        return x._view(arr, lambda b: b.as_strided(size, stride, offset))

    @staticmethod
    def backward(ctx, g):
        # The gradient of each storage element is the sum over the output elements that read
        # it (windows may overlap); the input then reads its own elements from that.
        n, start, shape, in_strides, size, stride, offset = ctx.args
        xp = g.xp
        out_pos = make(_positions(xp, size, stride, offset).reshape(-1), g.device)
        in_pos = make(_positions(xp, shape, in_strides, start), g.device)
        storage = g.new_zeros((n,)).index_add(0, out_pos, g.reshape(-1))
        return storage[in_pos], None, None, None


def as_strided(input, size, stride, storage_offset=None):
    """A view of ``input``'s storage with the given ``size``, ``stride`` (in elements) and
    ``storage_offset`` (default: ``input``'s own); windows may overlap."""
    size, stride = tuple(_shape_arg(size)), tuple(_shape_arg(stride))
    if len(size) != len(stride):
        raise RuntimeError("mismatch in length of strides and shape")
    if any(st < 0 for st in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    flat, start = _storage_of(input)
    offset = start if storage_offset is None else operator.index(storage_offset)
    need = offset + 1 + sum((n - 1) * st for n, st in zip(size, stride)) if all(size) else 0
    if need > flat.size:
        item = input._data.itemsize
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {item} requiring a storage size of "
                           f"{need * item} are out of bounds for storage of size "
                           f"{flat.size * item}")
    return AsStrided.apply(input, size, stride, offset)


# ------------------------------------------------------------------------------ index grids
def _tri_indices(row, col, offset, upper, dtype, device):
    for name, n in (("row", row), ("col", col)):
        if n < 0:
            raise RuntimeError(f"{name} must be non-negative, got{n}")
    dev = _device(device)
    xp = dev.xp
    above = xp.arange(col).reshape(1, col) - xp.arange(row).reshape(row, 1)  # column - row
    rows, cols = xp.nonzero(above >= offset if upper else above <= offset)  # row-major order
    return make(xp.stack([rows, cols]).astype(to_dtype(dtype).np), dev)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None, pin_memory=False,
                 requires_grad=False):
    """The (2, N) row and column indices of the upper triangle of a ``row x col`` matrix, from
    diagonal ``offset`` up."""
    check_storage("triu_indices", layout, pin_memory)
    out = _tri_indices(row, col, offset, True, dtype or int64, device)
    return out.requires_grad_(True) if requires_grad else out


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None, pin_memory=False,
                 requires_grad=False):
    """The (2, N) row and column indices of the lower triangle of a ``row x col`` matrix, from
    diagonal ``offset`` down."""
    check_storage("tril_indices", layout, pin_memory)
    out = _tri_indices(row, col, offset, False, dtype or int64, device)
    return out.requires_grad_(True) if requires_grad else out


def meshgrid(*tensors, indexing=None):
    """Coordinate grids from 1-d tensors: ``indexing="ij"`` (the default) gives grids shaped
    ``(len(t0), len(t1), ...)``, ``"xy"`` swaps the first two dims (Cartesian order)."""
    if len(tensors) == 1 and not isinstance(tensors[0], TensorBase):
        tensors = tuple(tensors[0])
    tensors = _tensor_list("meshgrid", tensors)
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                           f"received: {indexing}")
    for t in tensors:
        if t._data.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t}")
        if t._data.dtype != tensors[0]._data.dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    check_same_device("meshgrid", *tensors)
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        tensors[0], tensors[1] = tensors[1], tensors[0]
    sizes = tuple(t._data.size for t in tensors)
    n = len(tensors)
    grids = [t.reshape(tuple(-1 if i == k else 1 for i in range(n))).expand(sizes)
             for k, t in enumerate(tensors)]
    if swap:  # built as "ij" over (t1, t0, ...), handed back in the caller's order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    """All combinations of the elements of 1-d tensors, as rows ``(N, len(tensors))``
    (one tensor: itself)."""
    if len(tensors) == 1:
        return tensors[0]
    return stack([g.reshape(-1) for g in meshgrid(*tensors, indexing="ij")], dim=1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of the 1-d ``input``'s elements (in order; with
    ``with_replacement``, elements may repeat), as rows ``(N, r)``."""
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input._data.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty((0,))
    n = input._data.shape[0]
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    xp = input.xp
    idx = xp.asarray(list(itertools.chain.from_iterable(pick(range(n), r))), dtype=int64.np)
    return input[make(idx, input.device)].reshape(-1, r)


def block_diag(*tensors):
    """A block-diagonal matrix from 0-, 1- or 2-d tensors (a 1-d tensor is one row)."""
    mats = []
    for i, t in enumerate(tensors):
        nd = t._data.ndim
        if nd > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                               f"Input {i} has {nd} dimensions")
        mats.append(t.reshape(1, -1) if nd < 2 else t)
    if not mats:
        return empty((1, 0))
    check_same_device("block_diag", *mats)
    dt = mats[0].dtype
    for m in mats[1:]:
        dt = promote_types(dt, m.dtype)
    mats = [m.to(dt) for m in mats]
    width = sum(m._data.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m._data.shape
        rows.append(cat([m.new_zeros((r, left)), m, m.new_zeros((r, width - left - c))], dim=1))
        left += c
    return cat(rows, dim=0)


def diagflat(input, offset=0):
    """A square matrix with ``input``'s elements (flattened) on diagonal ``offset``."""
    return diag(input.reshape(-1), offset)


# ------------------------------------------------------------------------------ Tensor methods
class ShapeMethods:
    """The shape ``Tensor`` methods."""

    __slots__ = ()
    view = view
    view_as = view_as
    reshape = reshape
    reshape_as = reshape_as
    flatten = flatten
    unflatten = unflatten
    ravel = ravel
    squeeze = squeeze
    unsqueeze = unsqueeze
    permute = permute
    transpose = transpose
    swapaxes = swapaxes
    swapdims = swapdims
    t = t
    adjoint = adjoint
    movedim = movedim
    moveaxis = moveaxis
    expand = expand
    expand_as = expand_as
    repeat = repeat
    repeat_interleave = repeat_interleave
    unfold = unfold
    clone = clone
    contiguous = contiguous
    split_with_sizes = split_with_sizes
    chunk = chunk
    unbind = unbind
    tensor_split = tensor_split
    narrow = narrow
    narrow_copy = narrow_copy
    select = select
    fliplr = fliplr
    flipud = flipud
    roll = roll
    rot90 = rot90
    diagonal = diagonal
    diag = diag
    diag_embed = diag_embed
    diagflat = diagflat
    as_strided = as_strided
    tril = tril
    triu = triu
    select_scatter = select_scatter
    slice_scatter = slice_scatter
    diagonal_scatter = diagonal_scatter

    def split(self, split_size, dim=0):
        return split(self, split_size, dim)

    def tile(self, *dims):
        return tile(self, _shape_arg(dims))

    def flip(self, *dims):
        return flip(self, _shape_arg(dims))

    def broadcast_to(self, *size):
        return expand(self, *size)

    # ``x.hsplit(2)``, ``x.hsplit([1, 3])`` and ``x.hsplit(1, 3)``, as PyTorch's methods take
    def hsplit(self, *indices):
        return hsplit(self, indices[0] if len(indices) == 1 else indices)

    def vsplit(self, *indices):
        return vsplit(self, indices[0] if len(indices) == 1 else indices)

    def dsplit(self, *indices):
        return dsplit(self, indices[0] if len(indices) == 1 else indices)

    def tril_(self, diagonal=0):
        return apply_inplace(self, tril, diagonal, fast=_tri_fast(False))

    def triu_(self, diagonal=0):
        return apply_inplace(self, triu, diagonal, fast=_tri_fast(True))

    @property
    def T(self):
        """All dims reversed (the transpose of a matrix)."""
        if self._data.ndim > 2:
            warnings.warn(
                "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is "
                "deprecated and it will throw an error in a future release. Consider `x.mT` to "
                "transpose batches of matrices or `x.permute(*torch.arange(x.ndim - 1, -1, -1))` "
                "to reverse the dimensions of a tensor.", UserWarning, stacklevel=2)
        return permute(self, tuple(reversed(range(self._data.ndim))))

    @property
    def mT(self):
        """The last two dims swapped (a batch of transposed matrices)."""
        return _mT(self)

    @property
    def mH(self):
        """The conjugate transpose of the last two dims (tensors here are real)."""
        return _mT(self, "mH")

    @property
    def H(self):
        """The conjugate transpose of a matrix (tensors here are real); 0-d: a view of itself."""
        n = self._data.ndim
        if n == 0:
            return View.apply(self, ())
        if n != 2:
            raise RuntimeError(
                f"tensor.H is only supported on matrices (2-D tensors). Got {n}-D tensor." +
                (" For batches of matrices, consider using tensor.mH" if n > 2 else "")
            )
        return transpose(self, 0, 1)
