"""One image of an evaluation job with a :class:`~gald_viz.mechanisms.plan.MechanismPlan`: the intact
forward with its taps recorded, the mechanism arrays, and one forward per knock-out.

The taps are recorded during the job's own forward (``inference.predict``), so the prediction is the
one the plain job makes, bit for bit, and there is no second forward of the intact model. Sliding-window
inference runs the network once per tile and a tap keeps only its last tile, so a model that slides is
refused with a message.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from gald_viz.hooks import FeatureRecorder
from gald_viz.inference import predict
from gald_viz.interventions import intervene
from gald_viz.mechanisms.plan import MechanismPlan, knockout_arrays, taps_for
from gald_viz.metrics.scoring import score_image

__all__ = ["MechanismError", "predict_with_mechanisms"]


class MechanismError(ValueError):
    """The mechanism statistics cannot be taken as asked (e.g. the model slides over tiles)."""


def predict_with_mechanisms(
    net: nn.Module,
    image: np.ndarray,
    gt: np.ndarray,
    plan: MechanismPlan,
    *,
    device,
    thresholds: Sequence[float],
    num_classes: int,
    name: str = "image",
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The intact prediction of one image and the plan's arrays for it (mechanisms and knock-outs).

    Returns:
        ``(pred, arrays)``: H×W uint8 prediction (as ``inference.predict``) and name → array.

    Raises:
        MechanismError: the forward ran more than once (sliding-window inference).
    """
    taps = taps_for(net)
    calls = [0]

    def count(*_args) -> None:
        calls[0] += 1

    handle = net.register_forward_hook(count)
    try:
        with FeatureRecorder(net, taps) as rec:
            pred = predict(net, image, device=device)
    finally:
        handle.remove()
    if calls[0] != 1 and taps:
        raise MechanismError(
            f"{name}: the model ran {calls[0]} forwards (sliding-window inference); mechanism statistics "
            "need one whole-image forward (use a smaller image or a model evaluated whole)"
        )
    recorded = {tap: rec[tap][0].float().numpy() for tap in taps}
    arrays = plan.image_arrays(net, recorded, pred, gt, num_classes=num_classes)
    for knockout in plan.interventions:
        with intervene(net, knockout):
            pred_ko = predict(net, image, device=device)
        scored = score_image(pred_ko, gt, thresholds, tolerance_radii=(), num_classes=num_classes)
        arrays |= knockout_arrays(knockout, pred_ko, pred, scored.arrays)
    return pred, arrays
