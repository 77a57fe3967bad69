"""PSP global-aggregation head (pyramid pooling module).

Zhao et al., "Pyramid Scene Parsing Network", CVPR 2017, https://arxiv.org/abs/1612.01105, Sec. 3.2:
average-pool the features into 1×1, 2×2, 3×3 and 6×6 bins, reduce each with a 1×1 convolution, upsample
bilinearly, concatenate with the input and fuse with a 3×3 convolution. One of the GA heads of GALD
(Li et al., IEEE TIP 2021, Table I).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gald_viz.models.backbone import NormLayer, conv_bn_relu


class PSP(nn.Module):
    """Pyramid pooling module: maps ``in_channels`` → ``out_channels`` at the same resolution.

    Args:
        in_channels: channels of the backbone features X.
        out_channels: channels of X_g (the head width).
        bins: pooled grid sizes (PSPNet uses 1, 2, 3, 6).
        norm_layer: normalisation layer type.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        bins: Sequence[int] = (1, 2, 3, 6),
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        reduced = max(in_channels // len(bins), 1)
        # Pooled maps can be 1×1, where batch norm fails on batch-1 training: the 1×1 convs carry a bias.
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(in_channels, reduced, 1), nn.ReLU(inplace=True))
            for b in bins
        )
        self.bottleneck = conv_bn_relu(
            in_channels + reduced * len(bins), out_channels, 3, norm_layer=norm_layer
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[2:]
        pyramid = [x]
        for stage in self.stages:
            # align_corners=True keeps bin centres on the feature grid (cell j ↔ pixel stride·j).
            pyramid.append(F.interpolate(stage(x), size=size, mode="bilinear", align_corners=True))
        return self.bottleneck(torch.cat(pyramid, dim=1))
