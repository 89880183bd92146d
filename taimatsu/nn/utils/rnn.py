"""Variable-length sequences for the recurrent layers: ``PackedSequence`` and the functions that
pack, pad and unpad.

A packed sequence stores the steps of a batch time-major, each step holding only the sequences
still running (longest first): ``data`` is ``(sum(lengths), *)`` and ``batch_sizes[t]`` says how
many rows step ``t`` has. Packing and padding are index gathers and index puts, so gradients flow
through them.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..._tensor_base import TensorBase, make
from ...creation import tensor
from ...dtypes import float16, float32, float64, int64
from ...ops import shape as _sh

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pack_sequence",
           "pad_packed_sequence", "pad_sequence", "unpack_sequence", "unpad_sequence"]


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences, packed (see the module docstring).

    Made by :func:`pack_padded_sequence` and :func:`pack_sequence`, not by hand. ``batch_sizes``
    is a CPU int64 tensor; ``sorted_indices`` (the batch order packing used) and
    ``unsorted_indices`` (its inverse) are int64 tensors on ``data``'s device, or None.
    """

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), as PyTorch accepts
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        elif batch_sizes.device.type != "cpu":
            raise ValueError(
                "batch_sizes should always be on CPU. Instances of PackedSequence should never be "
                "created manually. They should be instantiated by functions like pack_sequence and "
                "pack_padded_sequences in nn.utils.rnn. "
                "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data.to(...)``; the indices follow ``data`` to its device, ``batch_sizes`` stays."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        return type(self)(data, self.batch_sizes,
                          *(None if i is None else i.to(device=dev)
                            for i in (self.sorted_indices, self.unsorted_indices)))

    def cuda(self, *args, **kwargs) -> PackedSequence:
        return self.to(*args, device="cuda", **kwargs)

    def cpu(self, *args, **kwargs) -> PackedSequence:
        return self.to(*args, device="cpu", **kwargs)

    def double(self) -> PackedSequence:
        return self.to(dtype=float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=int64)

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (None stays None)."""
    if permutation is None:
        return None
    xp, p = permutation.xp, permutation._data
    out = xp.empty_like(p)
    out[p] = xp.arange(p.shape[0], dtype=p.dtype)
    return make(out, permutation.device)


def _lengths_array(lengths):
    if isinstance(lengths, TensorBase):
        if lengths.device.type != "cpu":
            raise RuntimeError(
                f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                f"{lengths.dim()}D {lengths.device} {str(lengths.dtype).split('.')[-1]} tensor")
        return np.asarray(lengths._data, dtype=np.int64).reshape(-1)
    return np.asarray(lengths, dtype=np.int64).reshape(-1)


def _packed_rows(lengths, T):
    """Row positions in a ``(T, B)`` time-major grid of each packed element, and batch_sizes."""
    active = np.arange(T)[:, None] < lengths[None, :]  # sorted lengths: active rows come first
    return np.flatnonzero(active), active.sum(1)


def pack_padded_sequence(input, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences with
    the given ``lengths`` (a list or a CPU tensor).

    With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch is sorted and
    the permutation kept in ``sorted_indices``.
    """
    lens = _lengths_array(lengths)
    batch_dim = 0 if batch_first else 1
    B = input.shape[batch_dim]
    if lens.shape[0] != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.shape[0]} (batch_size={B})")
    sorted_indices = None
    if enforce_sorted:
        if lens.shape[0] > 1 and (np.diff(lens) > 0).any():
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX exportability.")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = make(input.xp.asarray(order), input.device)
        input = input.index_select(batch_dim, sorted_indices)
    if lens.shape[0] and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if batch_first:
        input = input.transpose(0, 1)
    T = int(lens[0]) if lens.shape[0] else 0
    rows, batch_sizes = _packed_rows(lens, T)
    flat = input[:T].reshape(T * B, *input.shape[2:])
    data = flat[make(input.xp.asarray(rows), input.device)]
    return PackedSequence(data, tensor(batch_sizes, dtype=int64), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None):
    """The padded ``(T, B, *)`` batch (``(B, T, *)`` with ``batch_first``) of a packed sequence,
    in the original batch order, and the lengths (a CPU int64 tensor)."""
    data, batch_sizes = sequence.data, np.asarray(sequence.batch_sizes._data, dtype=np.int64)
    T = batch_sizes.shape[0]
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being {T}")
        T = total_length
    B = int(batch_sizes[0])
    lens = (batch_sizes[:, None] > np.arange(B)[None, :]).sum(0)
    rows, _ = _packed_rows(lens, T)
    trailing = tuple(data.shape[1:])
    padded = data.new_full((T * B,) + trailing, padding_value)
    padded = padded.index_put((make(data.xp.asarray(rows), data.device),), data)
    padded = padded.reshape(T, B, *trailing)
    if batch_first:
        padded = padded.transpose(0, 1)
    lengths = tensor(lens, dtype=int64)
    if sequence.unsorted_indices is not None:
        unsorted = sequence.unsorted_indices
        padded = padded.index_select(0 if batch_first else 1, unsorted)
        lengths = tensor(lens[np.asarray(unsorted.cpu()._data)], dtype=int64)
    return padded, lengths


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right"):
    """Stack tensors of shapes ``(L_i, *)`` into ``(T, B, *)`` (``(B, T, *)`` with
    ``batch_first``), padding each to the longest with ``padding_value`` on ``padding_side``."""
    if isinstance(sequences, TensorBase):
        sequences = sequences.unbind(0)
    elif not hasattr(sequences, "__iter__"):
        raise RuntimeError(f"pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}")
    sequences = tuple(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    lens = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    T, B = int(lens.max()), len(sequences)
    first = sequences[0]
    trailing = tuple(first.shape[1:])
    # Batch-major rows: sequence b occupies rows b*T + start_b ... of a (B*T, *) grid.
    start = np.zeros(B, np.int64) if padding_side == "right" else T - lens
    within = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
    rows = np.repeat(np.arange(B) * T + start, lens) + within
    padded = first.new_full((B * T,) + trailing, padding_value)
    padded = padded.index_put((make(first.xp.asarray(rows), first.device),), _sh.cat(sequences))
    padded = padded.reshape(B, T, *trailing)
    return padded if batch_first else padded.transpose(0, 1)


def unpad_sequence(padded_sequences, lengths, batch_first: bool = False) -> list:
    """The list of sequences of a padded batch, each cut to its length (views of the batch)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:int(n)] for seq, n in zip(padded_sequences.unbind(0), _lengths_array(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors ``(L_i, *)``: :func:`pad_sequence` then
    :func:`pack_padded_sequence`."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences) -> list:
    """The list of sequences in a packed sequence, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
