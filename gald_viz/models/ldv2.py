"""LDv2: local distribution by learned local affinities (GALD, Li et al., IEEE TIP 2021, Eq. 6–8).

The input is x = concat(X_g, X_l) (X_l: the backbone features). For every position i the module looks at
k×k neighbours s_n sampled with dilation r around i (defaults k=5, r=3) and distributes the global
context locally:

    w_n(i) = softmax_n(θ(x_i) · φ(s_n))        (Eq. 6–7)
    X_gald(i) = Σ_n w_n(i) g(s_n)               (Eq. 8)

θ, φ and g are 1×1 convolutions. The k² weights at i are "the affinity map at i", exposed through the
``affinity`` identity module (tap ``ldv2.affinity``, N×k²×h×w, row-major over the k×k window).

Borders use zero padding of the φ and g outputs: a neighbour outside the feature map has key 0 and value 0,
so its logit is exactly 0 — it still takes part in the softmax (weight exp(0)/Z) and contributes nothing.
Near borders X_gald is therefore damped by the share of weight on outside positions;
:mod:`gald_viz.analysis` reports that share with its inside/outside flags.

Memory: the module never builds a k²-times-larger copy of the values. It loops over the k² offsets and
reads shifted slices of the padded φ/g maps, so the only k²-sized tensor is the N×k²×h×w logits/weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LDv2(nn.Module):
    """LDv2 module (GALD Eq. 6–8): dilated k×k local attention from x to X_gald.

    Args:
        in_channels: channels of x = concat(X_g, X_l).
        out_channels: channels of g and of X_gald.
        key_channels: channels of θ and φ.
        kernel: window size k (odd).
        dilation: spacing r between sampled neighbours, in feature cells.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, key_channels: int, kernel: int = 5, dilation: int = 3
    ) -> None:
        super().__init__()
        if kernel < 1 or kernel % 2 == 0 or dilation < 1:
            raise ValueError(f"LDv2: ldv2_kernel={kernel} must be odd and ldv2_dilation={dilation} >= 1")
        self.kernel = kernel
        self.dilation = dilation
        self.theta = nn.Conv2d(in_channels, key_channels, 1, bias=False)
        self.phi = nn.Conv2d(in_channels, key_channels, 1, bias=False)
        self.g = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.affinity = nn.Identity()

    def offsets(self) -> list[tuple[int, int]]:
        """(dy, dx) of the k² neighbours in feature cells, row-major (the affinity channel order)."""
        half = self.kernel // 2
        steps = [self.dilation * (j - half) for j in range(self.kernel)]
        return [(dy, dx) for dy in steps for dx in steps]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        pad = self.dilation * (self.kernel // 2)
        query = self.theta(x)
        keys = F.pad(self.phi(x), (pad, pad, pad, pad))
        values = F.pad(self.g(x), (pad, pad, pad, pad))
        windows = [(pad + dy, pad + dx) for dy, dx in self.offsets()]
        logits = torch.stack(
            [(query * keys[:, :, y : y + h, x0 : x0 + w]).sum(dim=1) for y, x0 in windows], dim=1
        )
        weights = self.affinity(torch.softmax(logits, dim=1))
        out = torch.zeros_like(values[:, :, :h, :w])
        for n, (y, x0) in enumerate(windows):
            out = out + weights[:, n : n + 1] * values[:, :, y : y + h, x0 : x0 + w]
        return out
