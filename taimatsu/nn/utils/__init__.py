"""Parameter utilities: gradient clipping and flattening parameters into one vector."""
from __future__ import annotations

from . import rnn as rnn  # (the module path torch.nn.utils.rnn)
from .clip_grad import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "vector_to_parameters"]
