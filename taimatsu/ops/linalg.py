"""Matrix products: ``matmul`` (``@``) with 1-D operands and batch broadcasting, ``mm``, ``bmm``,
``mv``, ``dot``, ``outer``, the fused ``addmm``/``addmv``/``baddbmm``/``addbmm``, ``einsum``,
``tensordot``, ``inner``, ``kron`` and ``trace``.

Every product is one ``@`` (or ``einsum``) on the storage arrays. ``matmul``, ``mm``, ``bmm``,
``mv`` and ``dot`` share one Function (``Matmul``; the subclasses only give PyTorch's node names)
and the ``add*`` ops share the fused ``Addmm``; both differentiate through ``_matmul_grads``.
Operands must share a dtype, as in PyTorch (no promotion); the checks run before any work, with
PyTorch's messages, which differ by op.
"""
from __future__ import annotations

import math
import warnings

from .._out import out_variant
from .._tensor_base import TensorBase, make
from ..autograd.function import Function, apply_inplace
from ..autograd.grad_mode import state as _grad_state
from ..dtypes import bfloat16, float16, float32, keep_dtype, legacy_name, to_dtype
from ._autocast import autocast_op
from ._util import check_same_device, wrap_dim
from .elementwise import where
from .shape import broadcast_tensors, cat, stack

__all__ = ["addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "cdist", "cross", "dot", "einsum",
           "ger", "inner", "kron", "matmul", "mm", "mv", "outer", "tensordot", "trace", "vdot"]

# The C++ scalar names PyTorch prints in some dtype errors ("float != long int").
_CPP_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
             "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
             "bool": "bool", "bfloat16": "c10::BFloat16"}


# ------------------------------------------------------------------------------ checks
def _tensors(op: str, names: tuple, *args) -> None:
    """PyTorch's TypeError for a non-tensor argument (instead of an AttributeError later)."""
    for t in args:  # NOTE: the common all-tensor case is this loop only (the ops are hot)
        if not isinstance(t, TensorBase):
            break
    else:
        return
    for i, (name, t) in enumerate(zip(names, args)):
        if not isinstance(t, TensorBase):
            raise TypeError(f"{op}(): argument '{name}' (position {i + 1}) must be Tensor, not "
                            f"{type(t).__name__}")


def _same_device(op: str, *tensors) -> None:
    """``check_same_device``, skipped when all share one device object (the common case)."""
    dev = tensors[0].device
    for t in tensors[1:]:
        if t.device is not dev:
            check_same_device(op, *tensors)
            return


def _plain_mm(input, other) -> bool:
    """True for two tensors that ``mm`` takes without further checks: 2-D, inner sizes equal,
    one non-bool dtype, one device object (the hot case, which skips the general validation)."""
    if isinstance(input, TensorBase) and isinstance(other, TensorBase):
        a, b = input._data, other._data
        return (a.ndim == 2 and b.ndim == 2 and a.shape[1] == b.shape[0] and a.dtype == b.dtype
                and a.dtype.kind != "b" and input.device is other.device)
    return False


def _no_bool(kernel: str, a) -> None:
    if a._data.dtype.kind == "b":
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _legacy(t) -> str:
    return legacy_name(t._data.dtype)


def _check_mm_shapes(a_shape, b_shape, a, b) -> None:
    """``mm``'s checks, with the (possibly folded) 2-D shapes PyTorch reports."""
    (n, k), (k2, m) = a_shape, b_shape
    if k != k2:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({n}x{k} and {k2}x{m})")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            "expected m1 and m2 to have the same dtype, but got: "
            f"{_CPP_NAME[a._data.dtype.name]} != {_CPP_NAME[b._data.dtype.name]}"
        )
    _no_bool("addmm_impl_cpu_", a)


def _check_mv(input_size: int, input_dtype, mat_shape, mat, vec) -> None:
    """``addmv``'s checks (``mv`` passes its would-be output as ``input``)."""
    (n, k), k2 = mat_shape, vec._data.shape[0]
    if k != k2 or (input_size != n and input_size != 1):
        raise RuntimeError(f"size mismatch, got input ({input_size}), mat ({n}x{k}), vec ({k2})")
    if not input_dtype == mat._data.dtype == vec._data.dtype:
        raise RuntimeError(
            f"addmv input tensors must have the same dtype, but got {legacy_name(input_dtype)}, "
            f"{_legacy(mat)}, and {_legacy(vec)}"
        )
    _no_bool("addmv_impl_cpu", mat)


def _check_dot(a, b) -> None:
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(
            f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                           f"{_legacy(a)} and {_legacy(b)}")
    n, m = a._data.shape[0], b._data.shape[0]
    if n != m:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same "
            f"number of elements, but got {n} and {m} elements respectively"
        )
    _no_bool("dot", a)


def _check_bmm_sizes(batch: int, k: int, batch2: int, k2: int) -> None:
    if batch != batch2 or k != k2:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch}, {k}] but got: [{batch2}, {k2}].")


def _check_bmm_dtype(a, b) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_legacy(a)} but found {_legacy(b)}")
    _no_bool("bmm", a)


def _check_3d(batch1, batch2) -> None:
    for name, t in (("batch1", batch1), ("batch2", batch2)):
        if t._data.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")


def _broadcast_batch(sa: tuple, sb: tuple) -> tuple:
    """The broadcast of two batch shapes, with PyTorch's error."""
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    out = []
    for i, (x, y) in enumerate(zip(sa, sb)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"at non-singleton dimension {i}")
        out.append(y if x == 1 else x)
    return tuple(out)


def _check_expandable(input, shape: tuple) -> None:
    """The ``add*`` ops expand ``input`` to the product's shape; ``expand`` raises PyTorch's
    errors when it cannot."""
    s = input._data.shape
    if s != shape and (len(s) > len(shape) or any(
            x != 1 and x != y for x, y in zip(reversed(s), reversed(shape)))):
        input.expand(shape)


def _scalars(dtype, beta, alpha):
    """Integer results take integer coefficients (PyTorch truncates them)."""
    if dtype.kind in "iu":
        return int(beta), int(alpha)
    return beta, alpha


# ------------------------------------------------------------------------------ products
def _product(a, b):
    """``a @ b`` on arrays. An N-D (N >= 3) contiguous ``a`` times a matrix or vector is folded
    into one 2-D product: one BLAS call instead of NumPy's loop over the batch (the batched
    ``nn.Linear`` case)."""
    if a.ndim >= 3 and b.ndim <= 2 and a.flags.c_contiguous:
        lead = a.shape[:-1]
        return (a.reshape(math.prod(lead), a.shape[-1]) @ b).reshape(lead + b.shape[1:])
    return a @ b


def _as_matrix(t, k: int):
    """``t`` (..., k) viewed as (M, k) (M = product of the leading dims)."""
    shape = t._data.shape
    return t if len(shape) == 2 else t.reshape(math.prod(shape[:-1]), k)


def _matmul_grads(g, a, b, ndims, need_a: bool, need_b: bool):
    """Gradients of ``a @ b`` for every rank combination, written with differentiable ops.
    A gradient may keep broadcast batch dims: the engine sums it to the input's shape."""
    da, db = ndims
    ga = gb = None
    if da == 1 and db == 1:  # dot: g is 0-d
        ga = g * b if need_a else None
        gb = g * a if need_b else None
    elif db == 1:  # (..., n, k) @ (k,) -> (..., n)
        if need_a:
            ga = g.reshape(g._data.shape + (1,)) * b
        if need_b:
            gf = g if g._data.ndim == 1 else g.reshape(g._data.size)
            gb = gf @ _as_matrix(a, a._data.shape[-1])
    elif da == 1:  # (k,) @ (..., k, m) -> (..., m)
        if need_a:
            ga = b @ g if db == 2 else (b @ g.reshape(g._data.shape + (1,))).reshape(
                b._data.shape[:-1])
        if need_b:
            gb = a.reshape(a._data.shape[0], 1) * g.reshape(g._data.shape[:-1] + (1,) +
                                                          g._data.shape[-1:])
    else:
        if da == 2 and db == 2 and not _grad_state.enabled:
            # Outside create_graph, two matrices (every nn.Linear): the products on the arrays,
            # without transpose views and product nodes that nothing records. A gradient that the
            # checked path below would refuse (a hook changed its shape, dtype or device) takes
            # that path, for its error.
            ge = g._data
            if ge.ndim == 2 and g.device is (b if a is None else a).device:
                if need_a and ge.shape[1] == b._data.shape[1] and ge.dtype == b._data.dtype:
                    ga = make(ge @ b._data.T, g.device)
                if need_b and ge.shape[0] == a._data.shape[0] and ge.dtype == a._data.dtype:
                    gb = make(a._data.T @ ge, g.device)
        if need_a and ga is None:
            ga = g @ b.transpose(-2, -1)
        if need_b and gb is None:
            if db == 2 and da > 2:  # fold the batch into one (k, M) @ (M, m) product
                gb = _as_matrix(a, a._data.shape[-1]).transpose(0, 1) @ _as_matrix(
                    g, g._data.shape[-1])
            else:
                gb = a.transpose(-2, -1) @ g
    return ga, gb


class Matmul(Function):
    """``a @ b`` for already-checked operands of any ranks."""

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        if need_a or need_b:
            ctx.ndims = (a._data.ndim, b._data.ndim)
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return make(keep_dtype(_product(a._data, b._data), a._data), a.device)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _matmul_grads(g, a, b, ctx.ndims, *ctx.needs_input_grad)


# Same Function, PyTorch's node names (grad_fn=<MmBackward0>).
class Mm(Matmul):
    @staticmethod
    def forward(ctx, a, b):
        # Matmul's forward for two matrices: nothing to fold, so no _product call.
        need_a, need_b = ctx.needs_input_grad
        if need_a or need_b:
            ctx.ndims = (2, 2)
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return make(keep_dtype(a._data @ b._data, a._data), a.device)


class Bmm(Matmul):
    pass


class Mv(Matmul):
    pass


class Dot(Matmul):
    pass


class Vdot(Matmul):
    pass


@out_variant(dtype="exact")
@autocast_op
def matmul(input, other):
    """Matrix product with NumPy's rules: 1-D operands become a row/column (then dropped), and
    N-D operands are stacks of matrices whose batch dims broadcast.

    Example::

        >>> taimatsu.matmul(taimatsu.ones(10, 3, 4), taimatsu.ones(4, 5)).shape
        taimatsu.Size([10, 3, 5])
    """
    if _plain_mm(input, other):
        return Mm.apply(input, other)
    _tensors("matmul", ("input", "other"), input, other)
    a, b = input._data, other._data
    da, db = a.ndim, b.ndim
    if da == 0 or db == 0:
        raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                           f"{da}D and {db}D")
    _same_device("matmul", input, other)
    # PyTorch dispatches to dot / mv / mm (folding the batch of a larger left operand) / bmm;
    # each path keeps that op's error messages.
    if db == 1:
        if da == 1:
            _check_dot(input, other)
            return Dot.apply(input, other)
        mat = (math.prod(a.shape[:-1]), a.shape[-1])
        _check_mv(mat[0], b.dtype, mat, input, other)
        return (Mv if da == 2 else Matmul).apply(input, other)
    if db == 2:
        lhs = (1, a.shape[0]) if da == 1 else (math.prod(a.shape[:-1]), a.shape[-1])
        _check_mm_shapes(lhs, b.shape, input, other)
        return (Mm if da == 2 else Matmul).apply(input, other)
    batch = math.prod(_broadcast_batch(a.shape[:-2], b.shape[:-2]))
    _check_bmm_sizes(batch, a.shape[-1], batch, b.shape[-2])
    _check_bmm_dtype(input, other)
    return Matmul.apply(input, other)


def _out_dtype(op, out_dtype, *tensors):
    """The operands of a product asked for in ``out_dtype`` (PyTorch's ``mm(a, b, out_dtype)``):
    cast to it, so the product accumulates in it. PyTorch allows the operands' own dtype, or
    float32 for float16/bfloat16 operands."""
    dt, have = to_dtype(out_dtype), tensors[-1].dtype
    if dt != have and not (dt == float32 and have in (float16, bfloat16)):
        raise RuntimeError(f"{op}: out_dtype must be the same as input dtype or fp32 for "
                           "fp16/bf16 inputs")
    return [t.to(dt) if isinstance(t, TensorBase) else t for t in tensors]


@out_variant(dtype="exact")
@autocast_op
def mm(input, mat2, out_dtype=None):
    """Matrix product of two 2-D tensors (no broadcasting; see :func:`matmul`)."""
    if out_dtype is not None:
        return mm(*_out_dtype("mm", out_dtype, input, mat2))
    if _plain_mm(input, mat2):
        return Mm.apply(input, mat2)
    _tensors("mm", ("input", "mat2"), input, mat2)
    for name, t in (("self", input), ("mat2", mat2)):
        if t._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix")
    _same_device("mm", input, mat2)
    _check_mm_shapes(input._data.shape, mat2._data.shape, input, mat2)
    return Mm.apply(input, mat2)


@out_variant(dtype="exact")
@autocast_op
def bmm(input, mat2, out_dtype=None):
    """Batched matrix product of (b, n, k) and (b, k, m) tensors (no broadcasting)."""
    if out_dtype is not None:
        return bmm(*_out_dtype("bmm", out_dtype, input, mat2))
    _tensors("bmm", ("input", "mat2"), input, mat2)
    _check_3d(input, mat2)
    _same_device("bmm", input, mat2)
    (batch, _, k), (batch2, k2, _) = input._data.shape, mat2._data.shape
    _check_bmm_sizes(batch, k, batch2, k2)
    _check_bmm_dtype(input, mat2)
    return Bmm.apply(input, mat2)


@out_variant(dtype="exact")
@autocast_op
def mv(input, vec):
    """Product of a matrix (n, m) and a vector (m,)."""
    _tensors("mv", ("input", "vec"), input, vec)
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(
            f"vector + matrix @ vector expected, got 1, {input._data.ndim}, {vec._data.ndim}")
    _same_device("mv", input, vec)
    _check_mv(input._data.shape[0], vec._data.dtype, input._data.shape, input, vec)
    return Mv.apply(input, vec)


@out_variant(dtype="exact")
@autocast_op
def dot(input, tensor):
    """Dot product of two 1-D tensors of the same length and dtype (a 0-d tensor)."""
    _tensors("dot", ("input", "tensor"), input, tensor)
    _same_device("dot", input, tensor)  # PyTorch's dispatcher checks devices before the kernel
    _check_dot(input, tensor)
    return Dot.apply(input, tensor)


@out_variant(dtype="exact")
def vdot(input, other):
    """Dot product conjugating ``input``; the same as :func:`dot` for real tensors."""
    _tensors("vdot", ("input", "other"), input, other)
    _same_device("vdot", input, other)
    _check_dot(input, other)
    return Vdot.apply(input, other)


@out_variant
def outer(input, vec2):
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]`` (dtypes promote)."""
    _tensors("outer", ("input", "vec2"), input, vec2)
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    # NOTE: PyTorch's own definition (a broadcast multiply), so promotion and grads are mul's.
    return input.reshape(input._data.shape[0], 1) * vec2


ger = outer


@out_variant
@autocast_op
def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``; ``input`` broadcasts to the outer product's
    shape, and with ``beta=0`` it is ignored (NaN in it does not propagate)."""
    _tensors("addr", ("input", "vec1", "vec2"), input, vec1, vec2)
    for name, t in (("vec1", vec1), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    shape = (vec1._data.shape[0], vec2._data.shape[0])
    _check_expandable(input, shape)
    beta, alpha = _scalars(input._data.dtype, beta, alpha)
    prod = outer(vec1, vec2)
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:  # input's values are not read; its gradient is 0 (a where, not 0 * input)
        return where(make(input.xp.zeros(shape, dtype=bool), input.device), input, prod)
    return prod + (input if beta == 1 else input * beta)


# ------------------------------------------------------------------------------ cross, cdist
@out_variant(dtype="exact")
@autocast_op
def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim`` (None: the first dim of size 3); the other
    dims broadcast."""
    _tensors("cross", ("input", "other"), input, other)
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in a "
                      "future release.", UserWarning, stacklevel=2)
        dim = next((d for d, n in enumerate(input._data.shape) if n == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return _linalg_cross(input, other, dim)


@out_variant(dtype="exact")
def linalg_cross(input, other, *, dim=-1):
    """``torch.linalg.cross``: the cross product of 3-vectors along ``dim`` (default the last),
    other dims broadcast."""
    _tensors("linalg.cross", ("input", "other"), input, other)
    return _linalg_cross(input, other, dim)


def _linalg_cross(input, other, dim):
    nd = input._data.ndim
    if other._data.ndim != nd:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, nd)
    sa, sb = input._data.shape[d], other._data.shape[d]
    if sa != 3 or sb != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {sa} "
                           f"and {sb}")
    _same_device("linalg.cross", input, other)
    input, other = broadcast_tensors(input, other)
    a0, a1, a2 = input.unbind(d)
    b0, b1, b2 = other.unbind(d)
    res = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=d)
    return res


@autocast_op
def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The ``p``-norm distances between each row of ``x1`` (..., P, M) and of ``x2`` (..., R, M),
    shaped (..., P, R); batch dims broadcast. For p=2 ``compute_mode`` picks, as in PyTorch, the
    matrix-product form (by default when P or R exceeds 25) or the direct one."""
    _tensors("cdist", ("x1", "x2"), x1, x2)
    for name, t in (("X1", x1), ("X2", x2)):
        if t._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{t._data.ndim}D")
    m1, m2 = x1._data.shape[-1], x2._data.shape[-1]
    if m1 != m2:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {m1} X2: {m2}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if compute_mode not in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                            "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    _same_device("cdist", x1, x2)
    rows, cols = x1._data.shape[-2], x2._data.shape[-2]
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or (
            compute_mode == "use_mm_for_euclid_dist_if_necessary" and (rows > 25 or cols > 25))):
        return _euclidean_dist(x1, x2)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)  # (..., P, R, M)
    return diff.norm(p, dim=-1)


def _euclidean_dist(x1, x2):
    """PyTorch's matrix-product form of p=2 distances: one product of (-2 x1, |x1|^2, 1) with
    (x2, 1, |x2|^2), clamped at 0 (rounding can make it negative) before the square root. No
    (P, R, M) temporary; less exact than the direct form for nearly equal rows."""
    n1 = (x1 * x1).sum(-1, keepdim=True)
    n2 = (x2 * x2).sum(-1, keepdim=True)
    a = cat([x1 * -2, n1, n1.new_ones(n1.shape)], dim=-1)
    b = cat([x2, n2.new_ones(n2.shape), n2], dim=-1)
    return matmul(a, b.transpose(-1, -2)).clamp_min(0).sqrt()


# ------------------------------------------------------------------------------ fused add*
class Addmm(Function):
    """``beta * input + alpha * (a @ b)``: one product, scaled and accumulated in place."""

    @staticmethod
    def forward(ctx, input, a, b, beta, alpha):
        need_input, need_a, need_b, _, _ = ctx.needs_input_grad
        if need_input or need_a or need_b:
            ctx.ndims = (a._data.ndim, b._data.ndim)
            ctx.beta, ctx.alpha = beta, alpha
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
        out = a._data @ b._data  # every add* op passes ranks that _product would not fold
        if alpha != 1:
            out *= alpha
        if beta != 0:  # beta == 0 ignores input, NaN included (as PyTorch)
            c = input._data
            if input.device is not a.device:  # a 0-d CPU input beside GPU matrices
                c = a.xp.asarray(c)
            out += c if beta == 1 else c * beta
        return make(keep_dtype(out, a._data), a.device)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_input, need_a, need_b, _, _ = ctx.needs_input_grad
        beta, alpha = ctx.beta, ctx.alpha
        g_input = (g if beta == 1 else g * beta) if need_input else None
        ga = gb = None
        if need_a or need_b:
            ga, gb = _matmul_grads(g if alpha == 1 else g * alpha, a, b, ctx.ndims, need_a,
                                   need_b)
        return g_input, ga, gb, None, None


class Addmv(Addmm):
    pass


class Baddbmm(Addmm):
    pass


@out_variant(dtype="exact")
@autocast_op
def addmm(input, mat1, mat2, out_dtype=None, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` in one fused op; ``input`` broadcasts to the
    product's shape (this is ``nn.Linear``'s kernel)."""
    if out_dtype is not None:
        return addmm(*_out_dtype("addmm", out_dtype, input, mat1, mat2), beta=beta, alpha=alpha)
    if _plain_mm(mat1, mat2) and isinstance(input, TensorBase):
        # The hot case (nn.Linear): a bias of the product's shape or its last dim, same dtype
        # and device, float coefficients left as they are.
        c, m = input._data, mat2._data
        if (c.dtype == m.dtype and m.dtype.kind in "fV" and input.device is mat1.device
                and (c.shape == (m.shape[1],) or c.shape == (mat1._data.shape[0], m.shape[1]))):
            return Addmm.apply(input, mat1, mat2, beta, alpha)
    _tensors("addmm", ("input", "mat1", "mat2"), input, mat1, mat2)
    dt = mat2._data.dtype
    if input._data.dtype != dt:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_legacy(input)} "
                           f"and {_legacy(mat2)}")
    if mat1._data.dtype != dt:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {_legacy(mat1)} "
                           f"and {_legacy(mat2)}")
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t._data.ndim}-D tensor")
    _same_device("addmm", input, mat1, mat2)
    _check_mm_shapes(mat1._data.shape, mat2._data.shape, mat1, mat2)
    _check_expandable(input, (mat1._data.shape[0], mat2._data.shape[1]))
    return Addmm.apply(input, mat1, mat2, *_scalars(dt, beta, alpha))


@out_variant(dtype="exact")
@autocast_op
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)`` in one fused op."""
    _tensors("addmv", ("input", "mat", "vec"), input, mat, vec)
    if input._data.ndim > 1 or mat._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input._data.ndim}, "
                           f"{mat._data.ndim}, {vec._data.ndim}")
    _same_device("addmv", input, mat, vec)
    _check_mv(input._data.size, input._data.dtype, mat._data.shape, mat, vec)
    return Addmv.apply(input, mat, vec, *_scalars(mat._data.dtype, beta, alpha))


@out_variant(dtype="exact")
@autocast_op
def baddbmm(input, batch1, batch2, out_dtype=None, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)`` in one fused op."""
    if out_dtype is not None:
        return baddbmm(*_out_dtype("baddbmm", out_dtype, input, batch1, batch2), beta=beta,
                       alpha=alpha)
    _tensors("baddbmm", ("input", "batch1", "batch2"), input, batch1, batch2)
    s1, s2 = batch1._data.shape, batch2._data.shape
    if len(s1) >= 2 and len(s2) >= 3:  # PyTorch expands input before checking the ranks
        _check_expandable(input, (s1[0], s1[1], s2[2]))
    _check_3d(batch1, batch2)
    _same_device("baddbmm", input, batch1, batch2)
    (batch, _, k), (batch2_, k2, _) = s1, s2
    if input._data.dtype != batch1._data.dtype:
        raise RuntimeError(
            f"Input dtypes must be the same, got: input {_CPP_NAME[input._data.dtype.name]}, "
            f"batch1: {_CPP_NAME[batch1._data.dtype.name]}, "
            f"batch2: {_CPP_NAME[batch2._data.dtype.name]}"
        )
    _check_bmm_sizes(batch, k, batch2_, k2)
    _check_bmm_dtype(batch1, batch2)
    return Baddbmm.apply(input, batch1, batch2, *_scalars(batch1._data.dtype, beta, alpha))


@out_variant(dtype="exact", resize_warning=None)
@autocast_op
def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])`` (the batch is summed)."""
    _tensors("addbmm", ("input", "batch1", "batch2"), input, batch1, batch2)
    s1, s2 = batch1._data.shape, batch2._data.shape
    if len(s1) >= 2 and len(s2) >= 3:  # PyTorch expands input before checking the ranks
        _check_expandable(input, (s1[1], s2[2]))
    _check_3d(batch1, batch2)
    _same_device("addbmm", input, batch1, batch2)
    (batch, n, k), (batch2_, k2, m) = s1, s2
    for name, t in (("self", input), ("mat1", batch1)):
        if t._data.dtype != batch2._data.dtype:
            raise RuntimeError(f"{name} and mat2 must have the same dtype, but got {_legacy(t)} "
                               f"and {_legacy(batch2)}")
    if batch != batch2_:
        raise RuntimeError(
            f"batch1 and batch2 must have same number of batches, got {batch} and {batch2_}")
    if k != k2:
        raise RuntimeError(f"Incompatible matrix sizes for bmm ({n}x{k} and {k2}x{m})")
    _no_bool("addmm_impl_cpu_", batch1)
    # The batch sum is a product over (batch, k): one (n, B*k) @ (B*k, m) matmul.
    mat1 = batch1.transpose(0, 1).reshape(n, batch * k)
    mat2 = batch2.reshape(batch * k, m)
    return Addmm.apply(input, mat1, mat2, *_scalars(batch1._data.dtype, beta, alpha))


# ------------------------------------------------------------------------------ einsum
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Einsum(Function):
    """``xp.einsum`` of a canonical equation (letters only, explicit output). The gradient of
    operand i is the einsum of the output gradient with the other operands into i's subscripts."""

    @staticmethod
    def forward(ctx, terms, out, *operands):
        need = ctx.needs_input_grad[2:]
        ctx.terms, ctx.out = terms, out
        ctx.shapes = [o._data.shape for o in operands]
        # operand j is needed for the gradient of every other operand
        ctx.save_for_backward(*(o if any(need[:j] + need[j + 1:]) else None
                                for j, o in enumerate(operands)))
        # (NumPy's einsum has no bfloat16 loop: bfloat16 operands contract in float32, as
        # PyTorch accumulates them, and the result is rounded back)
        arrays = [o._data.astype("float32") if o._data.dtype.kind == "V" else o._data
                  for o in operands]
        # NOTE: optimize=True contracts pairwise through BLAS (fast for large operands, and the
        # only sane order for 3+), but its path search costs ~20 us: small products skip it.
        optimize = len(arrays) > 2 or (len(arrays) == 2 and max(a.size for a in arrays) > 4096)
        eq = f"{','.join(terms)}->{out}"
        res = operands[0].xp.einsum(eq, *arrays, optimize=optimize)
        if len(operands) == 1 and operands[0].xp.may_share_memory(res, arrays[0]):
            # a pure transpose / diagonal: NumPy returns a view, so it is one here too
            return operands[0]._view(res, lambda b: _contract(terms, out, (b,)))
        return make(keep_dtype(res, operands[0]._data), operands[0].device)

    @staticmethod
    def backward(ctx, g):
        saved = ctx.saved_tensors
        terms, out = ctx.terms, ctx.out
        grads = [None, None]
        for i, need in enumerate(ctx.needs_input_grad[2:]):
            grads.append(_einsum_grad(g, i, terms, out, saved, ctx.shapes[i]) if need else None)
        return tuple(grads)


def _einsum_grad(g, i, terms, out, saved, shape):
    """d(einsum)/d(operand i) applied to ``g``."""
    target = list(terms[i])
    ops = [g] + [t for j, t in enumerate(saved) if j != i]
    subs = [out] + [s for j, s in enumerate(terms) if j != i]
    used = set("".join(terms) + out)
    spare = (c for c in _LETTERS if c not in used)
    # A subscript repeated in operand i (a diagonal): its later copies get fresh letters tied to
    # the first by an identity matrix, so the gradient is zero off the diagonal.
    seen = set()
    for p, c in enumerate(target):
        if c in seen:
            fresh = next(spare)
            target[p] = fresh
            ops.append(make(g.xp.eye(shape[p], dtype=g._data.dtype), g.device))
            subs.append(c + fresh)
        seen.add(c)
    # A subscript only operand i has was summed away: the gradient is constant along it.
    present = set("".join(subs))
    kept = "".join(c for c in target if c in present)
    res = _contract(tuple(subs), kept, tuple(ops))
    rshape = res._data.shape
    if len(kept) != len(target):
        it = iter(rshape)
        rshape = tuple(next(it) if c in present else 1 for c in target)
        res = res.reshape(rshape)
    # Broadcast back where operand i was larger than the others' size 1; where operand i had
    # size 1 and the others more, the engine sums.
    full = tuple(s if r == 1 else r for r, s in zip(rshape, shape))
    return res if full == rshape else res.expand(full)


def _contract(terms, out, operands):
    return Einsum.apply(terms, out, *operands)


def _parse_term(eq: str, start: int, stop: int, what: str):
    """Subscript letters of ``eq[start:stop]``, with ``None`` marking the ellipsis."""
    labels = []
    p = start
    while p < stop:
        c = eq[p]
        if c == ".":
            if eq[p:p + 3] != "..." or p + 3 > stop:
                raise RuntimeError(f"einsum(): found '.' for {what} that is not part of any "
                                   "ellipsis")
            if None in labels:
                raise RuntimeError(f"einsum(): found '.' for {what} for which an ellipsis was "
                                   "already found")
            labels.append(None)
            p += 3
            continue
        if c not in _LETTERS:
            if c != " ":
                raise RuntimeError(f"einsum(): invalid subscript given at index {p} in the "
                                   "equation string, subscripts must be in [a-zA-Z]")
        else:
            labels.append(c)
        p += 1
    return labels


def _sublist_term(sub) -> str:
    parts = []
    for s in sub:
        if s is Ellipsis:
            parts.append("...")
        elif not 0 <= s < 52:
            raise ValueError("einsum(): subscript in subscript list is not within the valid "
                             "range [0, 52)")
        else:
            parts.append(_LETTERS[s])
    return "".join(parts)


@autocast_op
def einsum(*args):
    """Sum of products over the subscripts of ``equation`` (NumPy's notation, with ``...`` and
    the implicit output: the ellipsis, then the letters used once, in order ``A-Za-z``).

    Also accepts the operands as one list, and the sublist format ``einsum(op, [0, 1], ...)``.

    Example::

        >>> taimatsu.einsum("bij,bjk->bik", x, y)  # same as taimatsu.bmm(x, y)
    """
    if not args:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], args[1:]
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
    elif isinstance(args[0], TensorBase):
        operands = args[0:-1:2] if len(args) % 2 else args[0::2]
        terms = [_sublist_term(s) for s in args[1::2]]
        equation = ",".join(terms[:len(operands)])
        if len(args) % 2:
            equation += "->" + _sublist_term(args[-1])
    else:
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not "
                        f"{type(args[0]).__name__}")
    if not operands:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    for i, t in enumerate(operands):
        if not isinstance(t, TensorBase):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                            f"{type(t).__name__}")
    terms, out = _canonical(equation, operands)
    first = operands[0]
    for t in operands[1:]:
        if t._data.dtype != first._data.dtype:
            raise RuntimeError(f"expected scalar type {_legacy(first)} but found {_legacy(t)}")
    if len(operands) > 1:
        _no_bool("bmm", first)
    _same_device("einsum", *operands)
    return _contract(terms, out, tuple(operands))


def _canonical(equation: str, operands):
    """Validate ``equation`` against the operands' shapes (PyTorch's errors) and rewrite it
    with letters only: the ellipsis becomes spare letters, the output becomes explicit."""
    arrow = equation.find("->")
    lhs_end = arrow if arrow >= 0 else len(equation)
    bounds, start = [], 0
    for p in range(lhs_end + 1):
        if p == lhs_end or equation[p] == ",":
            bounds.append((start, p))
            start = p + 1
    if len(bounds) > len(operands):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(bounds) < len(operands):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    parsed = [_parse_term(equation, s, e, f"operand {i}") for i, (s, e) in enumerate(bounds)]
    out_labels = (_parse_term(equation, arrow + 2, len(equation), "output")
                  if arrow >= 0 else None)
    used = {c for labels in parsed for c in labels if c is not None}
    spare = [c for c in _LETTERS if c not in used and c not in (out_labels or ())]
    # ellipsis dims, right-aligned across operands, each with one spare letter
    ell_ndim = 0
    for i, (labels, t) in enumerate(zip(parsed, operands)):
        named, ndim = len(labels) - (None in labels), t._data.ndim
        if None in labels:
            if named > ndim:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named})"
                                   f" is more than the number of dimensions ({ndim}) for operand "
                                   f"{i}")
            ell_ndim = max(ell_ndim, ndim - named)
        elif named != ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({ndim}) for operand "
                               f"{i} and no ellipsis was given")
    ell = "".join(spare[:ell_ndim])
    sizes, ell_sizes, terms = {}, [1] * ell_ndim, []
    for i, (labels, t) in enumerate(zip(parsed, operands)):
        shape = t._data.shape
        n_ell = len(shape) - len(labels) + 1 if None in labels else 0
        term, own, d = [], {}, 0
        for c in labels:
            if c is None:
                for j in range(n_ell):
                    pos = ell_ndim - n_ell + j
                    s, prev = shape[d], ell_sizes[pos]
                    if s != prev and s != 1 and prev != 1:
                        raise RuntimeError(  # sic: PyTorch's message lacks the space
                            f"einsum(): dimension {j} covered by ellipsis in operand {i}has size "
                            f"{s} which does not broadcast with previously seen ellipsis with "
                            f"size {prev} for the respective dimension")
                    ell_sizes[pos] = s if prev == 1 else prev
                    d += 1
                term.append(ell[ell_ndim - n_ell:])
                continue
            s = shape[d]
            if c in own and own[c] != s:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the "
                                   f"sizes don't match, {s} != {own[c]}")
            own[c] = s
            prev = sizes.get(c, 1)
            if s != prev and s != 1 and prev != 1:
                raise RuntimeError(f"einsum(): subscript {c} has size {s} for operand {i} which "
                                   f"does not broadcast with previously seen size {prev}")
            sizes[c] = s if prev == 1 else prev
            term.append(c)
            d += 1
        terms.append("".join(term))
    if out_labels is None:
        counts = {}
        for term in terms:
            for c in term:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    else:
        out = ""
        for c in out_labels:
            if c is None:
                out += ell
                continue
            if c in out:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the "
                                   "output")
            if c not in used:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
            out += c
    return tuple(terms), out


@out_variant(dtype="exact", differentiable=True)
@autocast_op
def tensordot(a, b, dims=2):
    """Contract ``dims`` (an int: the last of ``a`` with the first of ``b``; or two lists of
    dims) and keep the rest, ``a``'s free dims first."""
    _tensors("tensordot", ("a", "b"), a, b)
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, TensorBase):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > na or dims > nb:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(-dims, 0)), list(range(dims))
    else:
        da, db = dims
        for pos, (name, d) in enumerate((("dims_self", da), ("dims_other", db))):
            if not isinstance(d, (list, tuple)):
                raise TypeError(f"tensordot(): argument '{name}' (position {pos + 3}) must be "
                                f"tuple of ints, not {type(d).__name__}")
        da, db = list(da), list(db)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    wa = [wrap_dim(d, na) for d in da]
    wb = [wrap_dim(d, nb) for d in db]
    for w, given in ((wa, da), (wb, db)):
        for p, d in enumerate(w):
            if d in w[:p]:
                raise RuntimeError(f"dim {given[p]} appears multiple times in the list of dims")
    la, lb = list(_LETTERS[:na]), list(_LETTERS[na:na + nb])
    for x, y, gx, gy in zip(wa, wb, da, db):
        sx, sy = a._data.shape[x], b._data.shape[y]
        if sx != sy:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {sx} in "
                               f"dim {gx} and second has size {sy} in dim {gy}")
        lb[y] = la[x]
    free = "".join(c for p, c in enumerate(la) if p not in wa) + "".join(
        c for p, c in enumerate(lb) if p not in wb)
    _same_device("tensordot", a, b)
    _no_bool("bmm", a)
    return _contract(("".join(la), "".join(lb)), free, (a, b))


@out_variant(dtype="exact", differentiable=True)
@autocast_op
def inner(input, other):
    """Sum of products over the last dims of ``input`` and ``other`` (a 0-d operand scales)."""
    _tensors("inner", ("input", "other"), input, other)
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError("inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input._data.shape)} and {list(other._data.shape)}")
    return tensordot(input, other, ([-1], [-1]))


@out_variant
def kron(input, other):
    """Kronecker product: block (i, j, ...) of the result is ``input[i, j, ...] * other``."""
    _tensors("kron", ("input", "other"), input, other)
    sa, sb = input._data.shape, other._data.shape
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    # interleave: a as (a0, 1, a1, 1, ...) times b as (1, b0, 1, b1, ...), then merge pairs
    prod = (input.reshape(tuple(x for s in sa for x in (s, 1)))
            * other.reshape(tuple(x for s in sb for x in (1, s))))
    return prod.reshape(tuple(x * y for x, y in zip(sa, sb)))


# ------------------------------------------------------------------------------ trace
class Trace(Function):
    @staticmethod
    def forward(ctx, x):
        a = x._data
        ctx.shape = a.shape
        # integers sum as int64, as in PyTorch's sum
        return make(x.xp.trace(a, dtype="int64" if a.dtype.kind in "iu" else None), x.device)

    @staticmethod
    def backward(ctx, g):
        n, m = ctx.shape
        return make(g.xp.eye(n, m, dtype=g._data.dtype), g.device) * g


@autocast_op
def trace(input):
    """Sum of the main diagonal of a 2-D tensor."""
    _tensors("trace", ("input",), input)
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    _no_bool("trace", input)
    return Trace.apply(input)


# ------------------------------------------------------------------------------ methods
class LinalgMethods:
    """The matrix-product ``Tensor`` methods."""

    __slots__ = ()
    matmul = matmul
    mv = mv
    dot = dot
    vdot = vdot
    outer = outer
    ger = ger
    addmv = addmv
    addbmm = addbmm

    # (the methods have no ``out_dtype``, unlike the functions)
    def mm(self, mat2):
        return mm(self, mat2)

    def bmm(self, mat2):
        return bmm(self, mat2)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    inner = inner
    kron = kron
    trace = trace
    addr = addr
    cross = cross

    @autocast_op
    def __matmul__(self, other):
        if _plain_mm(self, other):  # matmul's hot case, without the call to matmul
            return Mm.apply(self, other)
        if not isinstance(other, TensorBase):
            return NotImplemented
        return matmul(self, other)

    def __rmatmul__(self, other):
        if not isinstance(other, TensorBase):
            return NotImplemented
        return matmul(other, self)

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return _inplace(self, addmm, mat1, mat2, beta, alpha)

    def addmv_(self, mat, vec, *, beta=1, alpha=1):
        return _inplace(self, addmv, mat, vec, beta, alpha)

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return _inplace(self, baddbmm, batch1, batch2, beta, alpha)

    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return _inplace(self, addbmm, batch1, batch2, beta, alpha)

    def addr_(self, vec1, vec2, *, beta=1, alpha=1):
        return _inplace(self, addr, vec1, vec2, beta, alpha)


def _inplace(target, op, a, b, beta, alpha):
    """``target.op_(a, b)``: the out-of-place op written back; its result must fit ``target``
    exactly (no broadcasting of ``target``, as in PyTorch)."""

    def fn(t, x, y):
        res = op(t, x, y, beta=beta, alpha=alpha)
        if res._data.shape != t._data.shape:
            raise RuntimeError(f"Bad in-place call: input tensor size {list(t._data.shape)} and "
                               f"output tensor size {list(res._data.shape)} should match")
        return res

    return apply_inplace(target, fn, a, b)
