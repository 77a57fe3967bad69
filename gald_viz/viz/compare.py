"""The Compare page's compute path: per-image scores of two models and their display pictures.

GA (global aggregation only) against GALD (the same with local distribution), as in GALD (Li et al.,
IEEE TIP 2021) Fig. 10 and Table V: error maps against the ground truth, the four-way map (both right,
GALD fixes, GALD breaks, both wrong), mIoU and G-SCNN boundary F at 3/5/9/12 px for this one image.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gald_viz.data.label_set import CITYSCAPES, IGNORE_INDEX, LabelSet
from gald_viz.metrics import reduce
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, convention_text, threshold_label
from gald_viz.metrics.errors import (
    FOURWAY_IGNORE,
    FOURWAY_NAMES,
    IGNORED,
    RIGHT,
    WRONG,
    error_map,
    fourway_map,
)
from gald_viz.metrics.scoring import ImageStats, score_image
from gald_viz.viz.overlays import ERROR_COLORS, FOURWAY_COLORS, blend, resize, state_rgb

ERROR_CODES = {"right": RIGHT, "wrong": WRONG, "ignore": IGNORED}
FOURWAY_CODES = {**{name: code for code, name in enumerate(FOURWAY_NAMES)}, "ignore": FOURWAY_IGNORE}


def convention(
    height: int,
    width: int,
    radii: Sequence[int],
    thresholds: Sequence[float],
    num_classes: int = CITYSCAPES.num_classes,
) -> str:
    """One line with the conventions behind every number of one image (image size, ignore label, radii)."""
    return convention_text(thresholds, radii, [(height, width)], 1, num_classes=num_classes, per_image=True)


@dataclass
class ImageScores:
    """One model's scores on one image (a view of :func:`gald_viz.metrics.scoring.score_image`).

    Attributes:
        miou: mean IoU over classes present in GT or prediction (cityscapesScripts, NaN left out).
        pixel_accuracy: correct / evaluated pixels.
        iou: (C,) per-class IoU (NaN for classes absent from both).
        boundary_f: (T, C) per-class boundary F (G-SCNN, absent from both = 1).
        radii: (T,) radii in pixels of the thresholds at this image size.
        thresholds: the T thresholds (diagonal fractions).
        present: (C,) classes present in GT or prediction (non-ignored pixels).
        mean_f: (T,) mean boundary F over the classes present (absent ones would add a trivial 1).
        stats: every statistic of the image.
    """

    miou: float
    pixel_accuracy: float
    iou: np.ndarray
    boundary_f: np.ndarray
    radii: tuple[int, ...]
    thresholds: tuple[float, ...]
    present: np.ndarray
    mean_f: np.ndarray
    stats: ImageStats


def image_scores(
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    label_set: LabelSet = CITYSCAPES,
) -> ImageScores:
    """mIoU, pixel accuracy and boundary F at each threshold for one prediction against its GT."""
    stats = score_image(
        pred, gt, thresholds, tolerance_radii=(), num_classes=label_set.num_classes, ignore_index=IGNORE_INDEX
    )
    row = reduce.image_row(stats.arrays)
    return ImageScores(
        miou=row["miou"],
        pixel_accuracy=row["pixel_accuracy"],
        iou=reduce.iou(stats["tp"], stats["fp"], stats["fn"]),
        boundary_f=stats["boundary_f"],
        radii=stats.radii,
        thresholds=tuple(float(t) for t in thresholds),
        present=row["present"],
        mean_f=row["mean_f"],
        stats=stats,
    )


def scores_table(scores: dict[str, ImageScores]) -> pd.DataFrame:
    """One row per model: mIoU, pixel accuracy and mean boundary F per threshold (radius in px named)."""
    rows = []
    for model, s in scores.items():
        row = {"model": model, "mIoU": s.miou, "pixel acc.": s.pixel_accuracy}
        row |= {
            f"F @ {threshold_label(t, r)}": f for t, r, f in zip(s.thresholds, s.radii, s.mean_f, strict=True)
        }
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def per_class_table(
    scores: dict[str, ImageScores], threshold_index: int, label_set: LabelSet = CITYSCAPES
) -> pd.DataFrame:
    """Per-class IoU and boundary F (one threshold) of each model, classes as rows."""
    frame = pd.DataFrame(index=list(label_set.class_names))
    for model, s in scores.items():
        frame[f"IoU {model}"] = s.iou
        frame[f"F {model}"] = s.boundary_f[threshold_index]
    return frame


@dataclass
class ErrorViews:
    """Error pictures of GA and GALD against the GT, and the four-way counts.

    Attributes:
        ga, gald: H×W×3 uint8 error maps blended on the image (right / wrong / ignore colours).
        fourway: H×W×3 uint8 four-way map blended on the image.
        fourway_counts: table of pixels per four-way state: total and per GT class.
    """

    ga: np.ndarray
    gald: np.ndarray
    fourway: np.ndarray
    fourway_counts: pd.DataFrame


def error_views(
    image: np.ndarray,
    gt: np.ndarray,
    ga: np.ndarray,
    gald: np.ndarray,
    *,
    opacity: float,
    display_hw: tuple[int, int],
    label_set: LabelSet = CITYSCAPES,
) -> ErrorViews:
    """Error maps (GALD Fig. 10) and the four-way map, coloured and blended on the image.

    States and counts come from the native maps (exact); the pictures are drawn at ``display_hw``.

    Args:
        image: native H×W×3 uint8.
        gt, ga, gald: native H×W trainId maps (ground truth, GA prediction, GALD prediction).
        opacity: blend opacity (at least 0.35, so errors stay visible).
        display_hw: (height, width) of the pictures.
        label_set: the classes of the maps (the counts' rows).
    """
    dh, dw = display_hw
    small = resize(image, dh, dw)
    alpha = max(opacity, 0.35)

    def picture(states: np.ndarray, colors, codes) -> np.ndarray:
        return blend(small, state_rgb(resize(states, dh, dw, labels=True), colors, codes), alpha)

    k = label_set.num_classes
    four, counts = fourway_map(ga, gald, gt, num_classes=k, ignore_index=IGNORE_INDEX)
    table = pd.DataFrame(counts.T, index=list(label_set.class_names), columns=list(FOURWAY_NAMES))
    table = table[table.sum(axis=1) > 0]
    total = pd.DataFrame([counts.sum(axis=1)], index=["all classes"], columns=list(FOURWAY_NAMES))
    return ErrorViews(
        ga=picture(error_map(ga, gt), ERROR_COLORS, ERROR_CODES),
        gald=picture(error_map(gald, gt), ERROR_COLORS, ERROR_CODES),
        fourway=picture(four, FOURWAY_COLORS, FOURWAY_CODES),
        fourway_counts=pd.concat([total, table]),
    )
