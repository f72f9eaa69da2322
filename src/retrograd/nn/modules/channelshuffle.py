"""``torch.nn.modules.channelshuffle``: ChannelShuffle, defined with the pixel shuffles."""

from .pixelshuffle import ChannelShuffle

__all__ = ["ChannelShuffle"]
