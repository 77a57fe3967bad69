"""Validation during training: the mIoU of the main output and of each probe head on unseen SynthCity
val scenes, every ``--val-every`` iterations, and early stopping when the trained heads stop rising.

The heads are scored exactly as the app shows them: :func:`gald_viz.analysis.analyse` gives the
prediction and the Fig. 8 stage predictions (``probe.backbone``, ``probe.ga``) at native size, and the
scoring core's confusion matrix gives their mIoU over the validation images together.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from gald_viz.data.labels import NUM_CLASSES

VAL_SEED = 9100
"""SynthCity val seed of the validation scenes: no bundled model's training or evaluation uses it."""

MAIN = "out"
"""The curve's name for the main output."""


def validation_scores(model: torch.nn.Module, samples) -> dict[str, float]:
    """mIoU of the main output (``"out"``) and of each probe head over ``samples`` (the model's mode is
    kept)."""
    from gald_viz.analysis import analyse
    from gald_viz.metrics.confusion import confusion_matrix, mean_iou

    matrices: dict[str, np.ndarray] = {}
    for sample in samples:
        analysis = analyse(model, sample.image, device=next(model.parameters()).device)
        for head, pred in {MAIN: analysis.pred, **analysis.probe_preds}.items():
            cm = confusion_matrix(pred, sample.label, NUM_CLASSES)
            matrices[head] = matrices.get(head, 0) + cm
    return {head: float(mean_iou(cm)) for head, cm in matrices.items()}


def trained_heads(scores: dict[str, float], probes_only: bool) -> list[str]:
    """The heads whose curve decides early stopping: the probes in ``--probes`` runs, else the main output."""
    return [h for h in scores if h.startswith("probe")] if probes_only else [MAIN]


def stopped_rising(curve: list[dict], heads: list[str], patience: int) -> bool:
    """Whether none of ``heads`` has beaten its best score within the last ``patience`` validations.

    >>> c = [{"scores": {"out": s}} for s in (0.1, 0.3, 0.29, 0.3)]
    >>> stopped_rising(c, ["out"], 2), stopped_rising(c, ["out"], 3)
    (True, False)
    """
    if patience <= 0 or len(curve) <= patience:
        return False
    before = curve[:-patience]
    recent = curve[-patience:]
    for head in heads:
        best = max(point["scores"][head] for point in before)
        if any(point["scores"][head] > best for point in recent):
            return False
    return True


def recorded_scores(metadata: dict[str, str]) -> tuple[dict[str, float], str] | None:
    """The last validation point a checkpoint recorded: ``({head: mIoU}, "N scenes … at iteration T")``,
    or ``None`` when it recorded none (trained without ``--val-every``, or not by gald_viz.train)."""
    curve = json.loads(metadata.get("val_curve", "[]") or "[]")
    if not curve:
        return None
    images = metadata.get("val_images", "?")
    last = curve[-1]
    where = f"{images} unseen SynthCity val scenes (seed {VAL_SEED}), iteration {last['iteration']}"
    return last["scores"], where
