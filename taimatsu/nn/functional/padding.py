"""Padding: pad in every mode."""
from __future__ import annotations

import operator

from ..._tensor_base import TensorBase
from ...ops.resample import Pad

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _int_list(values, fn: str, arg: str, position: int) -> tuple:
    """``values`` as a tuple of ints, with PyTorch's argument-parser TypeError otherwise."""
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{fn}(): argument '{arg}' (position {position}) must be tuple of ints, "
                        f"not {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, (bool, float)):
            raise TypeError(f"{fn}(): argument '{arg}' (position {position}) must be tuple of "
                            f"ints, but found element of type {type(v).__name__} at pos {i}")
        out.append(operator.index(v))
    return tuple(out)


def pad(input, pad, mode: str = "constant", value: float | None = None):
    """Pad the last ``len(pad) // 2`` dims of ``input``.

    ``pad`` lists (before, after) amounts from the last dim backwards: ``(left, right)``,
    ``(left, right, top, bottom)``, ``(left, right, top, bottom, front, back)``; negative amounts
    crop. ``mode`` is ``'constant'`` (fill ``value``, default 0; any number of dims),
    ``'reflect'``, ``'replicate'`` or ``'circular'`` (1-3 padded dims of a batched or unbatched
    input). Differentiable: border gradients are summed back onto the entries they copy.

    Example::

        >>> F.pad(torch.arange(4.).view(1, 1, 4), (2, 1), mode="reflect")
        tensor([[[2., 1., 0., 1., 2., 3., 2.]]])
    """
    if not isinstance(input, TensorBase):
        raise TypeError(f"pad(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    amounts = _int_list(pad, "pad", "pad", 2)
    shape = input._data.shape
    ndim = len(shape)
    if len(amounts) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(amounts) // 2
    if k > ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           f"dimension but got padding length {len(amounts)} and input of "
                           f"dimension {ndim}")
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    # pads[i] is (axis, before, after), from the last axis backwards as PyTorch lists them.
    pads = [(ndim - 1 - i, amounts[2 * i], amounts[2 * i + 1]) for i in range(k)]
    if mode == "constant":
        for axis, lo, hi in pads:
            if shape[axis] + min(lo, 0) + min(hi, 0) < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
        fill = 0 if value is None else value
    else:
        if value is not None and value != 0:
            raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
        _check_spatial(shape, pads, mode)
        fill = 0
    return Pad.apply(input, tuple(p for p in pads if p[1] or p[2]), mode, fill)


def _check_spatial(shape: tuple, pads: list, mode: str) -> None:
    """PyTorch's checks for reflect / replicate / circular padding of 1-3 trailing dims."""
    k, ndim = len(pads), len(shape)
    if ndim not in (k + 1, k + 2) or k > 3:
        raise NotImplementedError(
            f"Padding size {2 * k} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode == "circular":
        for axis, lo, hi in pads:
            kept = shape[axis] + min(lo, 0) + min(hi, 0)
            if kept < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
            if lo > kept or hi > kept:
                raise RuntimeError("Padding value causes wrapping around more than once.")
        return
    if 0 in (shape[1:] if ndim == k + 2 else shape):  # only a batch may be empty
        raise RuntimeError(
            f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and "
            f"other non-zero dimensions for input, but got: {list(shape)}")
    if mode == "reflect":
        for i, (axis, lo, hi) in enumerate(pads):
            if lo >= shape[axis] or hi >= shape[axis]:
                raise RuntimeError(
                    f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding "
                    f"input dimension, but got: padding ({lo}, {hi}) at dimension {axis} of input "
                    f"{list(shape)}")
    sizes = [shape[axis] + lo + hi for axis, lo, hi in pads]
    # NOTE: PyTorch refuses a 1-d output below 1 but, for 2-d and 3-d, only when every output
    # size is below 1; a negative one among positive ones fails as a negative dimension.
    if all(s < 1 for s in sizes):
        names = "DHW"[3 - k:]
        given = [f"{c}: {n}" for c, n in zip(names, shape[ndim - k:])]
        given = " ".join(given[:-1]) + (", " if k > 1 else "") + given[-1]  # PyTorch's spacing
        got = " ".join(f"{c}: {s}" for c, s in zip(names, sizes[::-1]))
        raise RuntimeError(f"input ({given}) is too small. Calculated output {got}")
    for s in sizes:
        if s < 0:
            out = list(shape[:ndim - k]) + sizes[::-1]
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {out}")
