"""LDv2: local distribution by learned local affinities (GALD, Li et al., IEEE TIP 2021, Eq. 6–8).

The input is x = concat(X_g, X_l) (X_l: the backbone features). For every position i the module looks at
k×k neighbours s_n sampled with dilation r around i (defaults k=5, r=3) and distributes the global
context locally:

    w_n(i) = softmax_n(θ(x_i) · φ(s_n))        (Eq. 6–7)
    X_gald(i) = Σ_n w_n(i) g(s_n)               (Eq. 8)

θ, φ and g are 1×1 convolutions. The k² weights at i are "the affinity map at i", exposed through the
``affinity`` identity module (tap ``ldv2.affinity``, N×k²×h×w, row-major over the k×k window, offsets
:func:`window_offsets`). The tap is on the forward path: Eq. 8 reads what ``affinity`` returns, so a
forward hook there that returns a tensor replaces the weights (:mod:`gald_viz.interventions`).

Borders use zero padding of the φ and g outputs: a neighbour outside the feature map has key 0 and value 0,
so its logit is exactly 0 — it still takes part in the softmax (weight exp(0)/Z) and contributes nothing.
Near borders X_gald is therefore damped by the share of weight on outside positions;
:mod:`gald_viz.analysis` reports that share with its inside/outside flags.

Memory: no k²-times-larger copy of the keys or values is ever built; the only k²-sized tensors are the
logits/weights (k² per position). Two exact implementations:
- ``"sparse"`` (default on CPU): the window is a fixed sparsity pattern, a CSR matrix with ≤ k² entries
  per row. Eq. 6 is a sampled dense-dense product (``torch.sparse.sampled_addmm``) and Eq. 8 a sparse ×
  dense product, both multi-threaded kernels: Eq. 6–8 (without the 1×1 convs) run ~3× faster than with
  shifted views on 2 CPU cores (benchmarks/ldv2_cost.py times the whole forward).
- ``"shifted"`` (elsewhere): loop over the k² offsets, multiply-accumulating shifted views in place.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from gald_viz.models.backbone import NormLayer

# The CSR kernels used here are exact and differentiable; only the layout API is labelled beta.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)

#: Window patterns kept per module (one per feature size and device; sliding windows reuse one).
PATTERN_CACHE_SIZE = 4


def window_offsets(kernel: int, dilation: int) -> tuple[np.ndarray, np.ndarray]:
    """(dy, dx) in feature cells of the k² neighbours, row-major (the affinity channel order).

    >>> [a.tolist() for a in window_offsets(3, 2)]
    [[-2, -2, -2, 0, 0, 0, 2, 2, 2], [-2, 0, 2, -2, 0, 2, -2, 0, 2]]
    """
    steps = dilation * (np.arange(kernel) - kernel // 2)
    dy, dx = np.meshgrid(steps, steps, indexing="ij")
    return dy.ravel(), dx.ravel()


def _span(offset: int, length: int) -> tuple[int, int]:
    """Positions [a, b) whose neighbour at ``offset`` lies inside [0, length)."""
    return max(0, -offset), min(length, length - offset)


class LDv2(nn.Module):
    """LDv2 module (GALD Eq. 6–8): dilated k×k local attention from x to X_gald.

    Args:
        in_channels: channels of x = concat(X_g, X_l).
        out_channels: channels of g and of X_gald.
        key_channels: channels of θ and φ.
        kernel: window size k (odd).
        dilation: spacing r between sampled neighbours, in feature cells.
        method: ``"auto"`` (``"sparse"`` on CPU, ``"shifted"`` on other devices), ``"sparse"`` or
            ``"shifted"``; both compute the same values.
    """

    #: The module reads x = concat(X_g, X) (Eq. 6); LDv1 reads X_g alone.
    reads_backbone = True
    #: Its inner tap: (name, module inside the LD, meaning); ``tap_channels`` = k² channels.
    inner_tap = ("ldv2.affinity", "affinity", "LDv2 softmax weights over the k×k window at each cell (Eq. 7)")
    #: Meaning of the module output, the ``ld`` tap.
    output_meaning = "X_gald = Σ_n w_n g(s_n) (Eq. 8)"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        key_channels: int,
        kernel: int = 5,
        dilation: int = 3,
        method: str = "auto",
    ) -> None:
        super().__init__()
        if kernel < 1 or kernel % 2 == 0 or dilation < 1:
            raise ValueError(f"LDv2: ldv2_kernel={kernel} must be odd and ldv2_dilation={dilation} >= 1")
        if method not in ("auto", "sparse", "shifted"):
            raise ValueError(f"LDv2: method={method!r} must be 'auto', 'sparse' or 'shifted'")
        self.kernel = kernel
        self.dilation = dilation
        self.tap_channels = kernel**2
        self.method = method
        self.theta = nn.Conv2d(in_channels, key_channels, 1, bias=False)
        self.phi = nn.Conv2d(in_channels, key_channels, 1, bias=False)
        self.g = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.affinity = nn.Identity()
        self._patterns: dict[tuple, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    @classmethod
    def from_options(
        cls, channels: int, backbone_channels: int, options: Mapping[str, Any], norm_layer: NormLayer
    ) -> LDv2:
        """The LDv2 of a zoo model: concat(X_g, X) → ``channels`` (options ``ldv2_key_channels``,
        ``ldv2_kernel``, ``ldv2_dilation``; LDv2 has no normalisation layer)."""
        return cls(
            channels + backbone_channels,
            channels,
            key_channels=options["ldv2_key_channels"],
            kernel=options["ldv2_kernel"],
            dilation=options["ldv2_dilation"],
        )

    def offsets(self) -> list[tuple[int, int]]:
        """(dy, dx) of the k² neighbours in feature cells, row-major (the affinity channel order)."""
        dy, dx = window_offsets(self.kernel, self.dilation)
        return list(zip(dy.tolist(), dx.tolist(), strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # One GEMM for θ, φ and g; float32 under autocast, because the k² logits feed a softmax.
        dtype = torch.promote_types(x.dtype, torch.float32)
        weight = torch.cat([self.theta.weight, self.phi.weight, self.g.weight]).to(dtype)
        with torch.autocast(x.device.type, enabled=False):
            qkv = nn.functional.conv2d(x.to(dtype), weight)
        c = self.theta.out_channels
        query, keys, values = qkv[:, :c], qkv[:, c : 2 * c], qkv[:, 2 * c :]
        if self.method == "sparse" or (self.method == "auto" and x.device.type == "cpu"):
            weigh, distribute = self._sparse_weights, self._sparse_distribute
        else:
            weigh, distribute = self._shifted_weights, self._shifted_distribute
        # On the forward path: a forward hook on ``affinity`` that returns a tensor replaces the weights.
        weights = self.affinity(weigh(query, keys))
        return distribute(weights, values)

    def _spans(self, h: int, w: int) -> list[tuple[int, int, int, int, int, int]]:
        """(dy, dx, y0, y1, x0, x1) per offset: the positions [y0, y1)×[x0, x1) whose neighbour is inside."""
        return [(dy, dx, *_span(dy, h), *_span(dx, w)) for dy, dx in self.offsets()]

    def _shifted_weights(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Eq. 6–7 by shifted views: N×k²×h×w softmax weights."""
        h, w = query.shape[2:]
        spans = self._spans(h, w)
        logits = query.new_zeros(query.shape[0], len(spans), h, w)  # outside neighbours keep logit 0
        for n, (dy, dx, y0, y1, x0, x1) in enumerate(spans):
            if y0 < y1 and x0 < x1:
                window = keys[:, :, y0 + dy : y1 + dy, x0 + dx : x1 + dx]
                logits[:, n, y0:y1, x0:x1] = (query[:, :, y0:y1, x0:x1] * window).sum(dim=1)
        return torch.softmax(logits, dim=1)

    def _shifted_distribute(self, weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Eq. 8 by shifted views, multiply-accumulating in place."""
        spans = self._spans(*values.shape[2:])
        centre = len(spans) // 2
        out = weights[:, centre : centre + 1] * values
        for n, (dy, dx, y0, y1, x0, x1) in enumerate(spans):
            if n != centre and y0 < y1 and x0 < x1:
                window = values[:, :, y0 + dy : y1 + dy, x0 + dx : x1 + dx]
                out[:, :, y0:y1, x0:x1].addcmul_(weights[:, n : n + 1, y0:y1, x0:x1], window)
        return out

    def _pattern(
        self, h: int, w: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """CSR rows/cols of the inside neighbours and their flat indices in hw×k², cached per size."""
        key = (h, w, str(device))
        if key not in self._patterns:
            if len(self._patterns) >= PATTERN_CACHE_SIZE:
                self._patterns.pop(next(iter(self._patterns)))
            # Ordinary tensors even inside inference_mode (the app's analyses), so a later forward with
            # autograd (the inspector's context reach) can use the cached pattern too.
            with torch.inference_mode(False):
                self._patterns[key] = self._new_pattern(h, w, device)
        return self._patterns[key]

    def _new_pattern(
        self, h: int, w: int, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        dy, dx = (torch.from_numpy(a) for a in window_offsets(self.kernel, self.dilation))
        ny, nx = ys.reshape(-1, 1) + dy, xs.reshape(-1, 1) + dx  # hw × k², row-major window
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        # Row-major offsets give increasing column indices within a row, as CSR requires.
        cols = (ny * w + nx)[inside]
        crow = torch.zeros(h * w + 1, dtype=torch.int64)
        crow[1:] = inside.sum(1).cumsum(0)
        flat = inside.reshape(-1).nonzero().squeeze(1)
        return crow.to(device), cols.to(device), flat.to(device)

    def _sparse_weights(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Eq. 6–7 as a sampled dense-dense product on the window pattern: N×k²×h×w softmax weights.

        The weights are computed hw×k² per image; the result is a transposed view of them (no copy), which
        :meth:`_sparse_distribute` reads back contiguously.
        """
        n_img, c, h, w = query.shape
        crow, cols, flat = self._pattern(h, w, query.device)
        k2 = self.tap_channels
        pattern = torch.sparse_csr_tensor(
            crow, cols, query.new_zeros(cols.numel()), size=(h * w, h * w), check_invariants=False
        )
        weights = []
        for b in range(n_img):
            q = query[b].reshape(c, -1).T
            sampled = torch.sparse.sampled_addmm(pattern, q, keys[b].reshape(c, -1), beta=0.0)
            # Outside neighbours keep logit 0 (zero-padded keys); they get no value in Eq. 8.
            logits = query.new_zeros(h * w * k2).index_put((flat,), sampled.values())
            weights.append(torch.softmax(logits.reshape(h * w, k2), dim=1))
        # Skip the stacking copy in the common single-image case.
        stacked = weights[0].unsqueeze(0) if n_img == 1 else torch.stack(weights)
        return stacked.transpose(1, 2).reshape(n_img, k2, h, w)

    def _sparse_distribute(self, weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """Eq. 8 as a sparse (window pattern) × dense product per image."""
        n_img, channels, h, w = values.shape
        crow, cols, flat = self._pattern(h, w, values.device)
        per_cell = weights.flatten(2).transpose(1, 2)  # N×hw×k²: contiguous for the weights computed here
        size = (h * w, h * w)
        outs = []
        for b in range(n_img):
            inside = per_cell[b].reshape(-1).index_select(0, flat)
            affinity = torch.sparse_csr_tensor(crow, cols, inside, size=size, check_invariants=False)
            out = affinity @ values[b].reshape(channels, -1).T  # hw × C
            outs.append(out.T.contiguous().reshape(-1, h, w))
        return outs[0].unsqueeze(0) if n_img == 1 else torch.stack(outs)
