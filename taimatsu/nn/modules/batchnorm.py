"""Batch normalization layers: ``BatchNorm1d/2d/3d``, their lazy forms and ``SyncBatchNorm``."""
from __future__ import annotations

from ... import creation
from ...dtypes import int64
from .. import functional as F
from ..parameter import UninitializedBuffer, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module
from .normalization import _register_affine, _reset_affine

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LazyBatchNorm1d", "LazyBatchNorm2d",
           "LazyBatchNorm3d", "SyncBatchNorm"]


class _NormBase(Module):
    """What batch and instance norms share: ``weight``/``bias`` of ``(num_features,)`` and the
    buffers ``running_mean``, ``running_var`` and ``num_batches_tracked`` (PyTorch's names)."""

    _version = 2  # (version 2 added num_batches_tracked; older state dicts load without it)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None, dtype=None,
                 *, bias: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        kw = {"device": device, "dtype": dtype}
        _register_affine(self, (num_features,), affine, bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, **kw))
            self.register_buffer("running_var", creation.ones(num_features, **kw))
            self.register_buffer("num_batches_tracked",
                                 creation.tensor(0, dtype=int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _check_input_dim")

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            # State dicts from before num_batches_tracked existed: it starts at 0.
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                                   else creation.tensor(0, dtype=int64))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


class _BatchNorm(_NormBase):
    def forward(self, input):
        self._check_input_dim(input)
        tracking = self.training and self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if tracking and self.num_batches_tracked is not None and self.momentum is None:
            # momentum=None: the cumulative average over every batch seen so far.
            factor = 1.0 / (float(self.num_batches_tracked) + 1)
        # Batch statistics in training, and in eval mode when no running stats are kept.
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_buffers = not self.training or self.track_running_stats
        out = F.batch_norm(input, self.running_mean if use_buffers else None,
                           self.running_var if use_buffers else None, self.weight, self.bias,
                           bn_training, factor, self.eps)
        # NOTE: counted after the call (PyTorch counts before), so a batch that F.batch_norm
        # refuses leaves every buffer as it was.
        if tracking and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
        return out


class BatchNorm1d(_BatchNorm):
    """Batch normalization over a 2D ``(N, C)`` or 3D ``(N, C, L)`` input.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel; in training the batch's
    statistics are used and folded into ``running_mean``/``running_var`` with ``momentum``
    (``None``: a cumulative average), in eval mode the running ones.

    Shape:
        - Input: ``(N, C)`` or ``(N, C, L)``; Output: same shape.

    Example::

        >>> m = nn.BatchNorm1d(100)
        >>> m(torch.randn(20, 100)).shape
        torch.Size([20, 100])
    """

    def _check_input_dim(self, input) -> None:
        if input.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalization over a 4D ``(N, C, H, W)`` input (see :class:`BatchNorm1d`).

    Shape:
        - Input: ``(N, C, H, W)``; Output: same shape.
    """

    def _check_input_dim(self, input) -> None:
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch normalization over a 5D ``(N, C, D, H, W)`` input (see :class:`BatchNorm1d`).

    Shape:
        - Input: ``(N, C, D, H, W)``; Output: same shape.
    """

    def _check_input_dim(self, input) -> None:
        if input.dim() != 5:
            raise ValueError(f"expected 5D input (got {input.dim()}D input)")


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """A norm whose ``num_features`` is read off its first input."""

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True) -> None:
        # Built with no parameters or buffers, then given placeholders of unknown size.
        super().__init__(0, eps, momentum, False, False, device=device, dtype=dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        kw = {"device": device, "dtype": dtype}
        if affine:
            self.weight = UninitializedParameter(**kw)
            if bias:
                self.bias = UninitializedParameter(**kw)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(**kw)
            self.running_var = UninitializedBuffer(**kw)
            self.num_batches_tracked = creation.tensor(0, dtype=int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def _feature_dim(self, input) -> int:
        return 1

    def initialize_parameters(self, input) -> None:
        if not self.has_uninitialized_params():
            return
        self.num_features = int(input.shape[self._feature_dim(input)])
        for t in (self.weight, self.bias, self.running_mean, self.running_var):
            if t is not None:
                t.materialize((self.num_features,))
        self.reset_parameters()


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """A :class:`BatchNorm1d` whose ``num_features`` comes from ``input.size(1)`` on the first
    call, after which it becomes a ``BatchNorm1d``."""

    cls_to_become = BatchNorm1d
    _check_input_dim = BatchNorm1d._check_input_dim


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """A :class:`BatchNorm2d` whose ``num_features`` comes from the first input."""

    cls_to_become = BatchNorm2d
    _check_input_dim = BatchNorm2d._check_input_dim


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """A :class:`BatchNorm3d` whose ``num_features`` comes from the first input."""

    cls_to_become = BatchNorm3d
    _check_input_dim = BatchNorm3d._check_input_dim


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over an N-D input whose statistics span every process of
    ``process_group``.

    In training, with ``taimatsu.distributed`` initialised and more than one rank in the group
    (``process_group``, default the world), the mean and variance are those of the batch of
    every rank together (ranks may hold different batch sizes) and backward exchanges the
    gradient terms to match; otherwise (one process, eval mode) it is a plain batch norm over
    dim 1 of any input of rank >= 2. Differentiable once, as PyTorch's.

    Shape:
        - Input: ``(N, C, *)``; Output: same shape.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device,
                         dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input) -> None:
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input):
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        group = self._sync_group()
        if group is None:
            return super().forward(input)
        # (imported here: nn.parallel imports nn.modules, so not at this module's import time)
        from ..parallel._functions import SyncBatchNorm as SyncBatchNormFunction

        c = input.size(1)
        for name, t in (("running_mean", self.running_mean), ("running_var", self.running_var),
                        ("weight", self.weight), ("bias", self.bias)):
            if t is not None and t.numel() != c:
                raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
        tracking = self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if tracking and self.momentum is None:  # a cumulative average over every batch seen
            factor = 1.0 / (float(self.num_batches_tracked) + 1)
        out = SyncBatchNormFunction.apply(input, self.weight, self.bias,
                                          self.running_mean if tracking else None,
                                          self.running_var if tracking else None, self.eps,
                                          factor, group)
        if tracking:
            self.num_batches_tracked.add_(1)
        return out

    def _sync_group(self):
        """The process group to share statistics with, or None when there is nothing to share
        (eval mode, no process group, a group of one)."""
        from ... import distributed as dist  # (cheap; loads no MPI until init_process_group)

        if not (self.training and dist.is_initialized()):
            return None
        group = self.process_group if self.process_group else dist.group.WORLD
        return group if dist.get_world_size(group) > 1 else None

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every ``BatchNorm*D`` layer in it replaced by a ``SyncBatchNorm``
        holding the same parameters and buffers (the same tensors, not copies)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, LazyModuleMixin):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out
