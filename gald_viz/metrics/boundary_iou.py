"""Boundary IoU per class (Cheng et al., "Boundary IoU: Improving Object-Centric Image Segmentation
Evaluation", CVPR 2021), as additive per-image intersections and unions.

The rules:

1. width d = max(1, round(ratio · √(H² + W²))) px for a ratio < 1 (default 0.02 of the image diagonal),
   d = ratio px for a whole number ≥ 1;
2. per image and class c: masks ``pred == c`` and ``gt == c``, both zeroed where the GT is not a class
   (255 and every id outside 0…C−1);
3. the boundary region of a binary mask is the mask minus its erosion by a 3×3 square repeated d times,
   the mask padded by zeros at the image border (so a mask touching the border has a boundary there);
4. per image and class: I = |B(pred) ∩ B(gt)|, U = |B(pred) ∪ B(gt)|;
5. over a data set, per class: ΣI / ΣU over images (no union anywhere: undefined, NaN); the summary is
   the mean over the classes that have a union.

d repeated 3×3 erosions equal one erosion by a (2d + 1)² square (with zero padding). All classes of a map
are done at once: a pixel of class c is in c's boundary region exactly when its (2d + 1)² window is not
all c, which one minimum and one maximum filter of the label map (OpenCV) tell for every class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from gald_viz.metrics.confusion import check_label_pair

__all__ = [
    "DEFAULT_RATIO",
    "BoundaryIoU",
    "boundary_iou",
    "boundary_iou_counts",
    "boundary_region",
    "width_px",
]

DEFAULT_RATIO = 0.02
"""Boundary width as a fraction of the image diagonal (Cheng et al.'s default dilation ratio)."""


def width_px(ratio: float, height: int, width: int) -> int:
    """Boundary width d in pixels: max(1, round(ratio · diagonal)) for ratio < 1, else whole pixels.

    >>> width_px(0.02, 1024, 2048), width_px(0.02, 10, 10), width_px(3, 10, 10)
    (46, 1, 3)
    """
    r = float(ratio)
    if not r > 0 or math.isinf(r) or (r >= 1 and r != int(r)):
        raise ValueError(f"boundary width {ratio!r} must be a fraction in (0, 1) or whole pixels >= 1")
    if r >= 1:
        return int(r)
    return max(1, round(r * math.sqrt(float(height * height + width * width))))


def boundary_region(labels: np.ndarray, d: int, background: int = 0) -> np.ndarray:
    """Boundary regions of every region of a label map (or of a binary mask), zeros beyond the border.

    For a binary mask (``background`` 0) this is the mask minus its erosion by a 3×3 square applied
    ``d`` times with the mask padded by zeros. For a label map it is that, for every label other than
    ``background``, at once: a pixel is in the boundary region of its label when a pixel of another label
    (``background`` included) or the outside of the image lies within Chebyshev distance d, i.e. when the
    (2d + 1)² window around it is not uniform, the image padded with ``background``.

    Args:
        labels: H×W bool mask or integer label map (values below 2¹⁶).
        d: boundary width in pixels (≥ 1).
        background: the label that has no boundary region and pads the image.

    Returns:
        H×W bool.

    >>> boundary_region(np.ones((3, 4), bool), 1).astype(int).tolist()
    [[1, 1, 1, 1], [1, 0, 0, 1], [1, 1, 1, 1]]
    """
    labels = np.asarray(labels)
    dtype = np.uint8 if labels.dtype == bool or labels.max(initial=0) < 256 else np.uint16
    labels = np.ascontiguousarray(labels, dtype=dtype)
    if labels.size == 0:
        return np.zeros(labels.shape, bool)
    kernel = np.ones((2 * d + 1, 2 * d + 1), np.uint8)
    border = {"borderType": cv2.BORDER_CONSTANT, "borderValue": background}
    low, high = cv2.erode(labels, kernel, **border), cv2.dilate(labels, kernel, **border)
    return (labels != background) & (low != high)


def boundary_iou_counts(
    pred: np.ndarray,
    gt: np.ndarray,
    num_classes: int = 19,
    ratio: float = DEFAULT_RATIO,
    ignore_index: int = 255,
) -> tuple[np.ndarray, np.ndarray]:
    """Boundary intersections and unions per class for one image.

    Both maps are relabelled so that every pixel outside the evaluated GT gets one background label,
    then :func:`boundary_region` finds the boundary regions of all classes in one pass per map.

    Args:
        pred: H×W predicted trainIds.
        gt: H×W ground-truth trainIds.
        num_classes: number of classes C.
        ratio: boundary width (:func:`width_px`).
        ignore_index: the GT ignore id (like every id outside the classes, it zeroes both masks).

    Returns:
        ``(intersection, union)``, two (C,) int64 arrays of pixels.
    """
    pred, gt = check_label_pair(pred, gt)
    d = width_px(ratio, *gt.shape)
    background = num_classes  # one label that is no class
    evaluated = (gt >= 0) & (gt < num_classes) & (gt != ignore_index)
    gt_labels = np.where(evaluated, gt, background).astype(np.int64)
    pred_ok = evaluated & (pred >= 0) & (pred < num_classes)
    pred_labels = np.where(pred_ok, pred, background).astype(np.int64)
    in_gt = boundary_region(gt_labels, d, background)
    in_pred = boundary_region(pred_labels, d, background)
    size = num_classes + 1
    both = np.bincount(gt_labels[in_gt & in_pred & (gt_labels == pred_labels)], minlength=size)
    union = np.bincount(gt_labels[in_gt], minlength=size) + np.bincount(pred_labels[in_pred], minlength=size)
    return both[:num_classes].astype(np.int64), (union - both)[:num_classes].astype(np.int64)


@dataclass(frozen=True)
class BoundaryIoU:
    """Data-set Boundary IoU from summed counts.

    Attributes:
        per_class: (C,) ΣI / ΣU per class, NaN where no image has a union.
        mean: mean over the classes with a union (NaN if none).
    """

    per_class: np.ndarray
    mean: float


def boundary_iou(intersection: np.ndarray, union: np.ndarray) -> BoundaryIoU:
    """Reduce per-image counts: ``intersection`` and ``union`` are (C,) or (N, C) (summed over N).

    >>> boundary_iou(np.array([[1, 0], [1, 0]]), np.array([[2, 0], [2, 0]])).per_class.tolist()
    [0.5, nan]
    """
    inter = np.asarray(intersection, dtype=np.float64)
    uni = np.asarray(union, dtype=np.float64)
    if inter.ndim == 2:
        inter, uni = inter.sum(0), uni.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.where(uni > 0, inter / np.maximum(uni, 1), np.nan)
    present = per_class[~np.isnan(per_class)]
    return BoundaryIoU(per_class=per_class, mean=float(present.mean()) if present.size else math.nan)
