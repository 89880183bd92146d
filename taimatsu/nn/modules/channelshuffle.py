"""Channel shuffling (ShuffleNet)."""
from __future__ import annotations

from .. import functional as F
from .module import Module

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    """Interleave the channels of ``(N, C, *)`` across ``groups``: seen as a
    ``(groups, C / groups)`` table, the channels are read column by column.

    Shape:
        - Input: ``(N, C, *)``; Output: the same shape.
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
