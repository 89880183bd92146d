"""Optimizers (``SGD``, ``Adam``, ``AdamW``, ``Adagrad``, ``RMSprop``) and ``lr_scheduler``.

Optimizers take any iterable of leaf tensors (or parameter-group dicts) and update them in place.
"""
from __future__ import annotations

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
