"""Non-local (NL) global-aggregation head, embedded-Gaussian version.

Wang et al., "Non-local Neural Networks", CVPR 2018, https://arxiv.org/abs/1711.07971, Eq. 1–3 and
Sec. 3.3: y_i = (1/C(x)) Σ_j exp(θ(x_i)ᵀφ(x_j)) g(x_j), i.e. a softmax over all positions j, then
z = W_z y + x (residual, W_z's batch norm starts at zero so the block starts as the identity).
φ and g are max-pooled by 2 (the paper's subsampling trick). One of the GA heads of GALD
(Li et al., IEEE TIP 2021, Table I).
"""

from __future__ import annotations

import torch
from torch import nn

from gald_viz.models.backbone import NormLayer, conv_bn_relu

#: Queries per chunk: bounds the attention matrix to QUERY_CHUNK × (h·w/4) floats, so a 1024×2048 input
#: (33k cells) needs ~140 MB instead of 1.1 GB, with identical results.
QUERY_CHUNK = 4096


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block with a residual connection (NL paper Eq. 1–3, Sec. 3.3).

    Args:
        channels: input and output channels.
        inter_channels: channels of θ, φ, g (the paper uses half the input).
        sub_sample: max-pool φ and g by 2 (Sec. 3.3).
        norm_layer: normalisation after W_z.
    """

    def __init__(
        self,
        channels: int,
        *,
        inter_channels: int | None = None,
        sub_sample: bool = True,
        norm_layer: NormLayer = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        inter = inter_channels or max(channels // 2, 1)
        self.theta = nn.Conv2d(channels, inter, 1)
        self.phi = nn.Conv2d(channels, inter, 1)
        self.g = nn.Conv2d(channels, inter, 1)
        self.pool = nn.MaxPool2d(2, ceil_mode=True) if sub_sample else nn.Identity()
        self.w_z = nn.Sequential(nn.Conv2d(inter, channels, 1, bias=False), norm_layer(channels))
        nn.init.zeros_(self.w_z[1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        q = self.theta(x).flatten(2).transpose(1, 2)  # N × hw × c
        k = self.pool(self.phi(x)).flatten(2)  # N × c × m
        v = self.pool(self.g(x)).flatten(2).transpose(1, 2)  # N × m × c
        y = torch.cat(
            [torch.softmax(q[:, s : s + QUERY_CHUNK] @ k, dim=-1) @ v for s in range(0, h * w, QUERY_CHUNK)],
            dim=1,
        )
        y = y.transpose(1, 2).reshape(n, -1, h, w)
        return x + self.w_z(y)


class NonLocalHead(nn.Module):
    """GA head: 3×3 conv ``in_channels`` → ``out_channels``, then a :class:`NonLocalBlock`.

    Args:
        in_channels: channels of the backbone features X.
        out_channels: channels of X_g (the head width).
        norm_layer: normalisation layer type.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, norm_layer: NormLayer = nn.BatchNorm2d
    ) -> None:
        super().__init__()
        self.reduce = conv_bn_relu(in_channels, out_channels, 3, norm_layer=norm_layer)
        self.block = NonLocalBlock(out_channels, norm_layer=norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.reduce(x))
