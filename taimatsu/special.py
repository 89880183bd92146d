"""``taimatsu.special``: the functions of ``torch.special`` built so far (most are aliases of
the top-level ones, as in PyTorch)."""
from __future__ import annotations

from .ops.elementwise import erf, exp2, expm1, log1p, round
from .ops.elementwise import sigmoid as expit
from .ops.reduce import log_softmax, logsumexp, softmax
from .ops.special import digamma, erfinv, logit, polygamma, sinc, xlog1py, xlogy
from .ops.special import digamma as psi
from .ops.special import lgamma as gammaln

__all__ = ["digamma", "erf", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p",
           "log_softmax", "logit", "logsumexp", "polygamma", "psi", "round", "sinc", "softmax",
           "xlog1py", "xlogy"]
