"""LDv1: local distribution by a downsample-upsample mask (GALD, Li et al., IEEE TIP 2021, Eq. 1–3).

https://arxiv.org/abs/1909.07229 (GALDv1, BMVC 2019) and the TIP 2021 version. The GA output X_g
is downsampled by W_d, a stack of log2(d) depth-wise stride-2 3×3 convolutions (each with BN and ReLU),
upsampled bilinearly back to X_g's size and squashed: M = σ(upsample(W_d X_g)) (Eq. 1). The mask
re-weights X_g per position and channel: X_gald = M ⊙ X_g + X_g (Eq. 2). The head then sees
concat(X_gald, X) (Eq. 3), assembled in :mod:`gald_viz.models.gald`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gald_viz.models.backbone import NormLayer


class LDv1(nn.Module):
    """LDv1 module: X_g ↦ M ⊙ X_g + X_g with M = σ(upsample(W_d X_g)) (GALD Eq. 1–2).

    The mask passes through the ``mask`` identity module, the ``ldv1.mask`` tap (N×C×h×w in [0, 1]).

    Args:
        channels: channels of X_g (the mask has as many).
        downsample: rate d of W_d, a power of two ≥ 2 (log2(d) stride-2 convs; the official code uses 8).
        norm_layer: normalisation after each depth-wise conv.
    """

    #: The module reads X_g alone (Eq. 1); LDv2 reads concat(X_g, X).
    reads_backbone = False
    #: Its inner tap: (name, module inside the LD, meaning); ``tap_channels`` channels.
    inner_tap = ("ldv1.mask", "mask", "M = σ(upsample(W_d X_g)), LDv1 mask (Eq. 1)")
    #: Meaning of the module output, the ``ld`` tap, in the GA → LD arrangement.
    output_meaning = "X_gald = M ⊙ X_g + X_g (Eq. 2)"

    def __init__(self, channels: int, *, downsample: int = 8, norm_layer: NormLayer = nn.BatchNorm2d) -> None:
        super().__init__()
        self.tap_channels = channels
        steps = round(math.log2(downsample)) if downsample >= 2 else 0
        if steps < 1 or 2**steps != downsample:
            raise ValueError(f"LDv1: ldv1_downsample={downsample} must be a power of two >= 2")
        self.down = nn.Sequential(
            *(
                nn.Sequential(
                    nn.Conv2d(channels, channels, 3, stride=2, padding=1, groups=channels),
                    norm_layer(channels),
                    nn.ReLU(inplace=True),
                )
                for _ in range(steps)
            )
        )
        self.mask = nn.Identity()

    def forward(self, x_g: torch.Tensor) -> torch.Tensor:
        # With padding 1 and stride 2, coarse cell j sits on fine cell 2j: align_corners=True
        # puts the upsampled values back where they were computed.
        up = F.interpolate(self.down(x_g), size=x_g.shape[2:], mode="bilinear", align_corners=True)
        m = self.mask(torch.sigmoid(up))
        return m * x_g + x_g

    @classmethod
    def from_options(
        cls, channels: int, backbone_channels: int, options: Mapping[str, Any], norm_layer: NormLayer
    ) -> LDv1:
        """The LDv1 of a zoo model distributing ``channels``-channel features (option ``ldv1_downsample``)."""
        return cls(channels, downsample=options["ldv1_downsample"], norm_layer=norm_layer)
