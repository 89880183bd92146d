"""``taimatsu.special``: the functions of ``torch.special`` built so far (most are aliases of
the top-level ones, as in PyTorch)."""
from __future__ import annotations

from . import _arguments
from .ops import reduce as _reduce
from .ops.elementwise import erf, exp2, expm1, log1p, round
from .ops.elementwise import sigmoid as expit
from .ops.reduce import logsumexp
from .ops.special import digamma, erfinv, logit, polygamma, sinc, xlog1py, xlogy
from .ops.special import digamma as psi
from .ops.special import lgamma as gammaln

__all__ = ["digamma", "erf", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p",
           "log_softmax", "logit", "logsumexp", "polygamma", "psi", "round", "sinc", "softmax",
           "xlog1py", "xlogy"]


# torch.special's softmaxes take ``dtype`` by keyword only (torch.softmax also by position).
def softmax(input, dim, *, dtype=None):
    return _reduce.softmax(input, dim, dtype)


def log_softmax(input, dim, *, dtype=None):
    return _reduce.log_softmax(input, dim, dtype)


_arguments.export(globals(), __all__)  # PyTorch's NumPy-style keyword aliases (axis=, x=, ...)
