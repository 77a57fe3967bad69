"""The training loss and learning-rate schedule (GALD, Li et al., IEEE TIP 2021, Sec. IV-A).

The "poly" learning rate ``lr · (1 - it/iters)^0.9``, an auxiliary loss on backbone stage 3 weighted 0.4,
and optional online hard example mining (OHEM, threshold 0.7 with a minimum number of kept pixels, as in
the official GALD-Net scripts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from gald_viz.data.labels import IGNORE_INDEX

if TYPE_CHECKING:
    from gald_viz.train.config import TrainConfig

AUX_WEIGHT = 0.4  # the paper's weight of the stage-3 auxiliary loss
POLY_POWER = 0.9
OHEM_THRESH = 0.7  # the official GALD-Net OHEM settings
OHEM_MIN_KEPT = 100_000


def poly_lr(base_lr: float, iteration: int, iters: int, power: float = POLY_POWER) -> float:
    """The "poly" schedule: ``base_lr · (1 - iteration / iters) ** power``.

    >>> poly_lr(0.01, 0, 100)
    0.01
    >>> poly_lr(0.01, 100, 100)
    0.0
    """
    return base_lr * max(0.0, 1.0 - iteration / iters) ** power


def ohem_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    thresh: float = OHEM_THRESH,
    min_kept: int = OHEM_MIN_KEPT,
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Cross-entropy over the hard pixels only (online hard example mining).

    A pixel is hard when the predicted probability of its true class is below ``thresh``; when fewer than
    ``min_kept`` pixels are that hard, the threshold rises to the ``min_kept``-th smallest probability so
    the loss always sees at least that many pixels (the official GALD-Net OHEM rule).

    Args:
        logits: ``N×K×H×W`` scores at the label's size.
        target: ``N×H×W`` int64 trainIds, ``ignore_index`` ignored.
        thresh: probability below which a pixel counts as hard.
        min_kept: the least number of pixels kept.
        ignore_index: label value that never contributes.
    """
    loss = F.cross_entropy(logits, target, ignore_index=ignore_index, reduction="none").flatten()
    valid = target.flatten() != ignore_index
    if not valid.any():
        return loss.sum() * 0.0
    prob = torch.exp(-loss.detach())[valid]
    limit = thresh
    if prob.numel() > min_kept > 0:
        limit = max(thresh, torch.kthvalue(prob, min_kept).values.item())
    hard = prob <= limit
    return loss[valid][hard].mean()


def segmentation_loss(
    outputs: dict[str, torch.Tensor], target: torch.Tensor, config: TrainConfig
) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss of ``model.forward_train`` outputs: main + 0.4·aux (+ probes), each at label size.

    In ``--probes`` runs only the probe outputs count, and outputs computed by frozen parts alone are
    skipped. OHEM, when on, applies to the main output only, as in the official scripts; auxiliary and
    probe losses are plain cross-entropy.
    """
    total = target.new_zeros((), dtype=torch.float32)
    parts: dict[str, float] = {}
    for name, logits in outputs.items():
        is_probe = name.startswith("probe.")
        if (config.probes and not is_probe) or (torch.is_grad_enabled() and not logits.requires_grad):
            continue  # an output of frozen parts only (e.g. ``aux`` on a frozen backbone) teaches nothing
        # align_corners=True as in inference.forward_padded: feature cell j sits on input pixel 8·j.
        up = F.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=True)
        if name == "out" and config.ohem:
            loss = ohem_cross_entropy(up, target, thresh=config.ohem_thresh, min_kept=config.ohem_min_kept)
        else:
            loss = F.cross_entropy(up, target, ignore_index=IGNORE_INDEX)
        total = total + (AUX_WEIGHT if name == "aux" else 1.0) * loss
        parts[name] = loss.item()
    return total, parts
