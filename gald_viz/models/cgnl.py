"""CGNL global-aggregation head (compact generalized non-local), as used by GALD-Net.

Yue et al., "Compact Generalized Non-local Network", NeurIPS 2018, https://arxiv.org/abs/1810.13125,
Sec. 3: θ/φ/g ("t", "p", "g") 1×1 convolutions, channels split into groups; with the dot-product kernel
each group reduces to one scalar s_g = Σ over channels and positions of p_g·g_g, and its output is
s_g · t_g. The groups are concatenated, mixed by a grouped 1×1 conv ``z``, normalised by GroupNorm ``gn``
and added to the input. GALD-Net's official code uses this form (no softmax, no scaling) as its GA head;
the parameter names t, p, g, z, gn match its ``head.a2block.long_relation`` keys.
"""

from __future__ import annotations

import torch
from torch import nn

from gald_viz.models.backbone import NormLayer, conv_bn_relu


class CGNLBlock(nn.Module):
    """Grouped dot-product CGNL block with residual (Yue et al. 2018, Eq. 4 with the dot-product kernel).

    Args:
        channels: input and output channels (official GALD-Net: 512).
        inter_channels: channels of t, p, g (official: 256).
        groups: channel groups, each with its own scalar (official: 8).
    """

    def __init__(self, channels: int, inter_channels: int, *, groups: int = 8) -> None:
        super().__init__()
        if inter_channels % groups or channels % groups:
            raise ValueError(
                f"CGNLBlock: channels={channels} and inter_channels={inter_channels} "
                f"must be multiples of groups={groups}"
            )
        self.groups = groups
        self.t = nn.Conv2d(channels, inter_channels, 1, bias=False)
        self.p = nn.Conv2d(channels, inter_channels, 1, bias=False)
        self.g = nn.Conv2d(channels, inter_channels, 1, bias=False)
        self.z = nn.Conv2d(inter_channels, channels, 1, groups=groups, bias=False)
        self.gn = nn.GroupNorm(groups, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        t = self.t(x).reshape(n, self.groups, -1)
        p = self.p(x).reshape(n, self.groups, -1)
        g = self.g(x).reshape(n, self.groups, -1)
        # The scalar sums ~c·h·w products: accumulate in float32 so autocast (fp16) cannot overflow it.
        scalar = (p.float() * g.float()).sum(dim=2, keepdim=True)
        y = (scalar * t.float()).to(t.dtype).reshape(n, -1, h, w)
        return self.gn(self.z(y)) + x


class CGNLHead(nn.Module):
    """GA head: 3×3 conv ``in_channels`` → ``out_channels``, then a :class:`CGNLBlock`.

    Args:
        in_channels: channels of the backbone features X.
        out_channels: channels of X_g (the head width).
        groups: CGNL groups (8 as in GALD-Net; reduced to fit small widths).
        norm_layer: normalisation layer type of the 3×3 conv.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, groups: int = 8, norm_layer: NormLayer = nn.BatchNorm2d
    ) -> None:
        super().__init__()
        self.reduce = conv_bn_relu(in_channels, out_channels, 3, norm_layer=norm_layer)
        self.long_relation = CGNLBlock(out_channels, out_channels // 2, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.long_relation(self.reduce(x))
