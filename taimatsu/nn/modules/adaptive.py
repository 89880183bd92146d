"""``AdaptiveLogSoftmaxWithLoss``: the efficient softmax of Grave et al. for many classes."""
from __future__ import annotations

from collections import namedtuple

from ..._tensor_base import make
from ...ops import shape as _shape
from .. import functional as F
from .container import ModuleList, Sequential
from .linear import Linear
from .module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: frequent classes (below ``cutoffs[0]``) are scored by the ``head``;
    each rarer cluster gets one head entry and its own smaller two-layer ``tail`` projection
    (hidden size ``in_features // div_value ** (i + 1)``).

    ``forward`` returns ``(output, loss)``: the target log-probabilities and their negated
    mean; :meth:`log_prob` gives the full distribution and :meth:`predict` its argmax.

    Shape:
        - Input: ``(N, in_features)`` or ``(in_features,)``; Target: ``(N,)`` or ``()``;
          Output: ``(N,)`` or ``()``; Loss: scalar.

    Example::

        >>> asm = nn.AdaptiveLogSoftmaxWithLoss(16, 100, cutoffs=[10, 40])
        >>> out, loss = asm(torch.randn(8, 16), torch.randint(0, 100, (8,)))
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0,
                 head_bias: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted "
                             "in an increasing order, where each value is between 1 and "
                             "n_classes-1")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, device=device,
                           dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(
                Linear(in_features, hsz, bias=False, device=device, dtype=dtype),
                Linear(hsz, osz, bias=False, device=device, dtype=dtype)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        tdim = target_.dim()
        if tdim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch "
                                   "dimension.")
            if input_.dim() != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs "
                                   f"with size {input_.size()}")
        elif tdim == 0:
            if input_.dim() != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs "
                                   f"with size {input_.size()}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = tdim > 0
        x = input_ if batched else input_.unsqueeze(0)
        xp, dev = x.xp, x.device
        t = target_._data.reshape(-1)
        if t.size and (int(t.min()) < 0 or int(t.max()) >= self.n_classes):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but "
                               f"values in range [{int(t.min())}, {int(t.max())}] were found. ")
        # cluster[n]: 0 for a shortlist target, i for the i-th tail cluster.
        cluster = xp.searchsorted(xp.asarray(self.cutoffs), t, side="right")
        head_index = xp.where(cluster == 0, t, self.shortlist_size + cluster - 1)
        head_logprob = F.log_softmax(self.head(x), 1)
        output = head_logprob.gather(1, make(head_index[:, None], dev)).squeeze(1)
        for i in range(1, self.n_clusters + 1):
            rows = xp.nonzero(cluster == i)[0]
            if not rows.size:
                continue
            local = make((t[rows] - self.cutoffs[i - 1])[:, None], dev)
            rows = make(rows, dev)
            cluster_logprob = F.log_softmax(self.tail[i - 1](x.index_select(0, rows)), 1)
            output = output.index_add(0, rows, cluster_logprob.gather(1, local).squeeze(1))
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def log_prob(self, input):
        """Log-probabilities of all ``n_classes`` classes, shape ``(N, n_classes)``."""
        head_logprob = F.log_softmax(self.head(input), 1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i, tail in enumerate(self.tail):
            cluster_logprob = F.log_softmax(tail(input), 1)
            parts.append(cluster_logprob
                         + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return _shape.cat(parts, 1)

    def predict(self, input):
        """The most likely class of each row, shape ``(N,)``: ``log_prob(input).argmax(1)``."""
        return self.log_prob(input).argmax(1)
