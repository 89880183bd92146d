"""Lookup tables: ``Embedding`` and ``EmbeddingBag``."""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...creation import empty
from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module

__all__ = ["Embedding", "EmbeddingBag"]


def _extra_options(module, fields, fmt=str) -> str:
    """``", name=value"`` for each ``(name, default)`` whose value differs from the default
    (shared by the layers' ``extra_repr``)."""
    return "".join(f", {name}={fmt(getattr(module, name))}" for name, default in fields
                   if getattr(module, name) != default)


def _check_padding(padding_idx, num_embeddings: int, name: str):
    """``padding_idx`` as a row number (negative counts from the end), checked."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise AssertionError(f"{name} must be within num_embeddings")
    return padding_idx + num_embeddings if padding_idx < 0 else padding_idx


class _Table(Module):
    """The weight table both layers share: ``N(0, 1)`` init, the padding row zeroed."""

    def _make_weight(self, _weight, requires_grad: bool, device, dtype) -> None:
        if _weight is None:
            self.weight = Parameter(empty((self.num_embeddings, self.embedding_dim),
                                          device=device, dtype=dtype),
                                    requires_grad=requires_grad)
            self.reset_parameters()
        else:
            if list(_weight.shape) != [self.num_embeddings, self.embedding_dim]:
                raise AssertionError("Shape of weight does not match num_embeddings and "
                                     "embedding_dim")
            self.weight = Parameter(_weight, requires_grad=requires_grad)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    @staticmethod
    def _pretrained_shape(embeddings):
        if embeddings.dim() != 2:
            raise AssertionError("Embeddings parameter is expected to be 2-dimensional")
        return embeddings.shape


class Embedding(_Table):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``.

    ``padding_idx`` (negative counts from the end): that row starts at zero and gets no
    gradient. ``max_norm``: looked-up rows are rescaled in place to at most that
    ``norm_type``-norm. ``scale_grad_by_freq``: gradients divided by each index's count in the
    batch. ``sparse=True`` is accepted and gives dense gradients.

    Shape:
        - Input: ``(*)`` integer indices; Output: ``(*, embedding_dim)``.

    Example::

        >>> emb = nn.Embedding(10, 3, padding_idx=0)
        >>> emb(torch.tensor([[0, 2, 4]])).shape
        torch.Size([1, 3, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None,
                 max_norm=None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = _check_padding(padding_idx, num_embeddings, "Padding_idx")
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self._make_weight(_weight, not _freeze, device, dtype)
        self.sparse = sparse

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + _extra_options(
            self, [("padding_idx", None), ("max_norm", None), ("norm_type", 2),
                   ("scale_grad_by_freq", False), ("sparse", False)])

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (2-D), frozen unless ``freeze=False``."""
        rows, cols = cls._pretrained_shape(embeddings)
        return cls(rows, cols, _weight=embeddings, _freeze=freeze, padding_idx=padding_idx,
                   max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


class EmbeddingBag(_Table):
    """Sums, means or maxima (``mode``) of bags of embeddings.

    ``forward(input, offsets=None, per_sample_weights=None)``: ``input`` 2-D ``(B, L)`` (fixed
    bags) or 1-D with ``offsets`` marking where bags start; see :func:`F.embedding_bag`.

    Shape:
        - Output: ``(B, embedding_dim)``.

    Example::

        >>> bag = nn.EmbeddingBag(10, 3, mode="sum")
        >>> bag(torch.tensor([1, 2, 4, 5, 4, 3]), torch.tensor([0, 4])).shape
        torch.Size([2, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean",
                 sparse: bool = False, _weight=None, include_last_offset: bool = False,
                 padding_idx=None, device=None, dtype=None) -> None:
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.padding_idx = _check_padding(padding_idx, num_embeddings, "padding_idx")
        self._make_weight(_weight, True, device, dtype)
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                               self.scale_grad_by_freq, self.mode, self.sparse,
                               per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self) -> str:
        # (mode is always shown: its "default" below is a value it never has)
        return f"{self.num_embeddings}, {self.embedding_dim}" + _extra_options(
            self, [("max_norm", None), ("norm_type", 2), ("scale_grad_by_freq", False),
                   ("mode", None), ("padding_idx", None)], repr)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        mode: str = "mean", sparse: bool = False,
                        include_last_offset: bool = False, padding_idx=None) -> EmbeddingBag:
        """An EmbeddingBag whose weight is ``embeddings`` (2-D), frozen unless
        ``freeze=False``."""
        rows, cols = cls._pretrained_shape(embeddings)
        bag = cls(rows, cols, _weight=embeddings, max_norm=max_norm, norm_type=norm_type,
                  scale_grad_by_freq=scale_grad_by_freq, mode=mode, sparse=sparse,
                  include_last_offset=include_last_offset, padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag
