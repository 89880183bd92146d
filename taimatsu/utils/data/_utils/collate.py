"""``default_collate`` (samples -> one batch) and ``default_convert`` (NumPy -> tensors)."""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from .... import dtypes as _dt
from ...._tensor import Tensor
from ....creation import as_tensor, tensor
from ....ops.shape import stack

__all__ = ["default_collate", "default_convert"]

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)
default_convert_err_msg_format = "default_convert: unsupported NumPy dtype {}"
# NumPy dtypes that have no tensor counterpart (bytes, unicode, object)
_NP_NON_NUMERIC = frozenset("SaUO")


def _rebuild_mapping(elem, values: dict):
    """A mapping of ``elem``'s type holding ``values`` (a plain dict if that type cannot be
    built that way)."""
    if isinstance(elem, collections.abc.MutableMapping):
        clone = copy.copy(elem)
        clone.update(values)
        return clone
    try:
        return type(elem)(values)
    except TypeError:
        return values


def default_convert(data):
    """NumPy arrays and scalars inside ``data`` (nested in mappings, namedtuples and
    sequences) become tensors; everything else is left as it is. The DataLoader applies it to
    each sample when automatic batching is off (``batch_size=None``)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        if data.dtype.char in _NP_NON_NUMERIC:
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # PyTorch's: tuples become lists
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        converted = [default_convert(d) for d in data]
        try:
            return type(data)(converted)
        except TypeError:
            return converted
    return data


def default_collate(batch):
    """Stack a list of samples into a batch, recursing into their structure.

    Tensors are stacked on a new first dimension; NumPy arrays and scalars become tensors
    first; Python floats give a float64 tensor, ints an int64 tensor, bools a bool tensor;
    ``str`` and ``bytes`` stay a list; mappings, namedtuples and sequences are collated field
    by field (tuples and lists come back as lists).

    Example::

        >>> default_collate([(taimatsu.zeros(2), 1), (taimatsu.ones(2), 0)])
        [tensor([[0., 0.], [1., 1.]]), tensor([1, 0])]
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(batch, 0)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_, np.bytes_)):
        if elem.dtype.char in _NP_NON_NUMERIC:
            raise TypeError(default_collate_err_msg_format.format(elem.dtype))
        if elem.ndim == 0:
            return as_tensor(np.asarray(batch))
        return default_collate([as_tensor(b) for b in batch])
    if isinstance(elem, float):
        return tensor(batch, dtype=_dt.float64)
    if isinstance(elem, int):  # bools too: tensor() gives bool for all-bool batches
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuild_mapping(elem, {k: default_collate([d[k] for d in batch]) for k in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)
        except TypeError:
            return columns
    raise TypeError(default_collate_err_msg_format.format(type(elem)))
