"""ASPP global-aggregation head (atrous spatial pyramid pooling).

Chen et al., "Rethinking Atrous Convolution for Semantic Image Segmentation" (DeepLabv3), 2017,
https://arxiv.org/abs/1706.05587, Sec. 3.3: parallel 1×1 and dilated 3×3 convolutions plus an image-level
pooling branch, concatenated and projected by a 1×1 convolution. At output stride 8 the rates are doubled
to (12, 24, 36). One of the GA heads of GALD (Li et al., IEEE TIP 2021, Table I).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from gald_viz.models.backbone import NormLayer, conv_bn_relu


class ASPP(nn.Module):
    """DeepLabv3 ASPP: maps ``in_channels`` → ``out_channels`` at the same resolution.

    Args:
        in_channels: channels of the backbone features X.
        out_channels: channels of X_g (the head width).
        rates: dilations of the three 3×3 branches (12, 24, 36 at output stride 8).
        norm_layer: normalisation layer type.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        rates: Sequence[int] = (12, 24, 36),
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        self.branches = nn.ModuleList([conv_bn_relu(in_channels, out_channels, 1, norm_layer=norm_layer)])
        for rate in rates:
            self.branches.append(
                conv_bn_relu(in_channels, out_channels, 3, dilation=rate, norm_layer=norm_layer)
            )
        # The image-level branch is 1×1 after pooling: a norm layer there would fail on batch-1 training,
        # so it has a bias instead.
        self.image_pool = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_channels, out_channels, 1), nn.ReLU(inplace=True)
        )
        self.project = conv_bn_relu(out_channels * (len(rates) + 2), out_channels, 1, norm_layer=norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [branch(x) for branch in self.branches]
        outs.append(self.image_pool(x).expand(-1, -1, x.shape[2], x.shape[3]))
        return self.project(torch.cat(outs, dim=1))
