"""The per-image scorer: every statistic of one prediction against its ground truth, as named arrays.

One call gives what GALD's evaluation needs of an image (Li et al., IEEE TIP 2021): cityscapesScripts'
IoU statistics (:mod:`gald_viz.metrics.confusion`), G-SCNN's boundary P/R/F at the Table V thresholds
with the counts behind them (:mod:`gald_viz.metrics.boundary`), and boundary F at fixed 1-20 px radii.
:func:`score_pair` adds the GA-vs-GALD four-way counts of two predictions of the same image.

Every statistic is a named numpy array in :attr:`ImageStats.arrays`; apart from the axis entries
(``image_size``, ``radius_px``, ``tolerance_radii``) each is additive over images, so a data set is
reduced by summing (see :mod:`gald_viz.metrics.reduce`) and a new statistic is a new entry, nothing
else. The results store keeps exactly these arrays per image. Names, shapes (C classes, T thresholds,
R tolerance radii) and meaning:

==================== ========= ===============================================================
name                 shape     meaning
==================== ========= ===============================================================
image_size           (2,)      H, W
tp, fp, fn           (C,)      IoU statistics over evaluated pixels (cityscapesScripts)
gt_pixels            (C,)      evaluated GT pixels of the class (tp + fn)
pred_pixels          (C,)      predicted pixels of the class, whole image
radius_px            (T,)      tolerance radius of each threshold at this image size
boundary_precision   (T, C)    G-SCNN boundary precision
boundary_recall      (T, C)    G-SCNN boundary recall
boundary_f           (T, C)    G-SCNN boundary F (absent from both maps = 1)
pred_boundary_px     (C,)      prediction boundary pixels (after the ignore rule)
gt_boundary_px       (C,)      GT boundary pixels
matched_pred         (T, C)    prediction boundary pixels within r of a GT boundary pixel
matched_gt           (T, C)    GT boundary pixels within r of a prediction boundary pixel
tolerance_radii      (R,)      fixed radii of the F-vs-tolerance curve (absent when R = 0)
tolerance_f          (R, C)    boundary F at each fixed radius (absent when R = 0)
==================== ========= ===============================================================

:func:`score_pair` returns ``fourway`` (C, 4): per GT class the pixels both right, GALD fixes, GALD
breaks, both wrong (:data:`FOURWAY_COLUMNS`).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from gald_viz.data.labels import IGNORE_INDEX, NUM_CLASSES
from gald_viz.metrics.boundary import check_thresholds, f_vs_tolerance, radii_px
from gald_viz.metrics.confusion import check_label_pair, confusion_matrix, iou_stats
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, TOLERANCE_RADII
from gald_viz.metrics.errors import BOTH_RIGHT, BOTH_WRONG, GALD_BREAKS, GALD_FIXES, fourway_map

__all__ = ["AXES", "FOURWAY_COLUMNS", "ImageStats", "score_image", "score_pair"]

AXES = ("image_size", "radius_px", "tolerance_radii")
"""The entries that label axes rather than count something; every other entry is additive."""

FOURWAY_COLUMNS = ("both_right", "gald_fixes", "gald_breaks", "both_wrong")
"""Columns of the ``fourway`` statistic of :func:`score_pair`."""


@dataclass(frozen=True)
class ImageStats:
    """Every statistic of one image (see the module's table).

    Attributes:
        thresholds: the T boundary thresholds (fractions of the diagonal, or whole pixels).
        arrays: statistic name → numpy array.
    """

    thresholds: tuple[float | int, ...]
    arrays: Mapping[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def image_size(self) -> tuple[int, int]:
        """(H, W)."""
        h, w = self.arrays["image_size"]
        return int(h), int(w)

    @property
    def radii(self) -> tuple[int, ...]:
        """The T radii in pixels at this image size."""
        return tuple(int(r) for r in self.arrays["radius_px"])


def score_image(
    pred: np.ndarray,
    gt: np.ndarray,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    *,
    tolerance_radii: Iterable[int] = TOLERANCE_RADII,
    num_classes: int = NUM_CLASSES,
    ignore_index: int = IGNORE_INDEX,
    pred_name: str = "pred",
    gt_name: str = "gt",
) -> ImageStats:
    """Score one prediction against its ground truth.

    Args:
        pred: H×W predicted trainIds.
        gt: H×W ground-truth trainIds (``ignore_index`` and other non-class ids are not evaluated).
        thresholds: boundary tolerances, diagonal fractions (< 1) or whole pixels (≥ 1).
        tolerance_radii: fixed radii of the F-vs-tolerance curve; empty for none.
        num_classes: number of classes C.
        ignore_index: the GT ignore id.
        pred_name: how to name ``pred`` in error messages.
        gt_name: how to name ``gt`` in error messages.

    Returns:
        :class:`ImageStats`.

    >>> gt = np.zeros((8, 8), np.uint8); gt[:, 4:] = 1
    >>> s = score_image(gt, gt, (1,), tolerance_radii=(), num_classes=2)
    >>> s["tp"].tolist(), s["boundary_f"].tolist(), s.radii
    ([32, 32], [[1.0, 1.0]], (1,))
    """
    pred, gt = check_label_pair(pred, gt, pred_name=pred_name, gt_name=gt_name)
    ths = check_thresholds(thresholds)
    radii = radii_px(ths, *gt.shape)
    curve = tuple(int(r) for r in tolerance_radii)
    cm = confusion_matrix(pred, gt, num_classes=num_classes, ignore_index=ignore_index)
    tp, fp, fn = iou_stats(cm)
    # Table V's radii and the curve's in one pass: every radius comes from the same nearest-boundary
    # distances, so the rows picked for the thresholds equal boundary_prf's to the last bit.
    all_radii = tuple(sorted(set(curve) | set(radii)))
    prf = f_vs_tolerance(pred, gt, radii=all_radii, num_classes=num_classes, ignore_index=ignore_index)
    rows = [all_radii.index(r) for r in radii]
    arrays = {
        "image_size": np.array(gt.shape, dtype=np.int64),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "gt_pixels": tp + fn,
        "pred_pixels": _predicted_pixels(pred, gt, cm, num_classes),
        "radius_px": np.array(radii, dtype=np.int64),
        "boundary_precision": prf.precision[rows],
        "boundary_recall": prf.recall[rows],
        "boundary_f": prf.f[rows],
        "pred_boundary_px": prf.n_pred,
        "gt_boundary_px": prf.n_gt,
        "matched_pred": prf.matched_pred[rows],
        "matched_gt": prf.matched_gt[rows],
    }
    if curve:
        at = [all_radii.index(r) for r in curve]
        arrays |= {"tolerance_radii": np.array(curve, dtype=np.int64), "tolerance_f": prf.f[at]}
    return ImageStats(thresholds=ths, arrays=arrays)


def _predicted_pixels(pred: np.ndarray, gt: np.ndarray, cm: np.ndarray, num_classes: int) -> np.ndarray:
    """Pixels predicted as each class in the whole image.

    The confusion matrix's columns count them where the GT is evaluated; only the few pixels whose GT
    is not evaluated are counted again (cheaper than a second bincount over the whole image).
    """
    rest = pred[(gt < 0) | (gt >= num_classes)]
    rest = rest[(rest >= 0) & (rest < num_classes)]
    return cm[:, :num_classes].sum(axis=0) + np.bincount(rest, minlength=num_classes)


def score_pair(
    pred_ga: np.ndarray,
    pred_gald: np.ndarray,
    gt: np.ndarray,
    *,
    num_classes: int = NUM_CLASSES,
    ignore_index: int = IGNORE_INDEX,
) -> dict[str, np.ndarray]:
    """Statistics of a GA-only and a GALD prediction of one image: ``fourway`` (C, 4) int64.

    >>> ga, gald, gt = np.array([[0, 1, 0, 1]]), np.array([[0, 0, 1, 1]]), np.array([[0, 0, 0, 255]])
    >>> score_pair(ga, gald, gt, num_classes=2)["fourway"][0].tolist()
    [1, 1, 1, 0]
    """
    _, counts = fourway_map(pred_ga, pred_gald, gt, num_classes=num_classes, ignore_index=ignore_index)
    return {"fourway": counts[[BOTH_RIGHT, GALD_FIXES, GALD_BREAKS, BOTH_WRONG]].T.astype(np.int64)}
