"""Reductions of per-image statistics over any set of images: Table V, mIoU, per-image rows, curves.

Input is always a mapping of statistic name → array stacked over N images, shape (N, ...), as
:func:`stack` makes from :class:`~gald_viz.metrics.scoring.ImageStats` and the results store returns
for a run. The rules, each written once:

- IoU per class = TP / (TP + FP + FN) of the counts summed over the images (cityscapesScripts), NaN
  where a class has no GT and no prediction pixel;
- boundary F per class = the mean over *all* images of the per-image F (G-SCNN, GALD Table V: a class
  absent from both maps scores 1); summed image by image in order, as G-SCNN does;
- the **mean over the classes present** (:func:`present` then :func:`mean_over_present`): mIoU over a
  data set, and the per-image mIoU and F of one image, leave out classes without GT and prediction
  pixels (for one image an absent class's trivial F = 1 would hide a bad image);
- Table V's class mean of F is the unweighted mean over all classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # reduce imports nothing of gald_viz, so metrics.confusion can use its rules
    from gald_viz.metrics.scoring import ImageStats

__all__ = [
    "TableV",
    "stack",
    "present",
    "mean_over_present",
    "iou",
    "table_v",
    "tolerance_curve",
    "image_sizes",
    "image_row",
    "image_rows",
    "gt_all_ignore",
    "all_ignore_warning",
]

Arrays = Mapping[str, np.ndarray]


def stack(images: Sequence[ImageStats], names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The statistics of several images stacked along a new first axis (N, ...).

    Args:
        images: per-image statistics with the same thresholds and classes.
        names: the statistics to keep (default: those every image has).
    """
    if not images:
        return {}
    keep = names if names is not None else [n for n in images[0].arrays if all(n in s.arrays for s in images)]
    return {name: np.stack([s.arrays[name] for s in images]) for name in keep}


def present(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Classes with a GT or prediction pixel among the evaluated pixels: TP + FP + FN > 0 (any shape)."""
    return (tp + fp + fn) > 0


def mean_over_present(values: np.ndarray, mask: np.ndarray) -> np.ndarray | float:
    """Mean over the classes (last axis) where ``mask`` holds; NaN when none does.

    >>> mean_over_present(np.array([[0.5, 1.0, 0.0]]), np.array([True, False, True])).tolist()
    [0.25]
    """
    values = np.asarray(values, dtype=np.float64)
    if not mask.any():
        return float("nan") if values.ndim == 1 else np.full(values.shape[:-1], np.nan)
    out = values[..., mask].mean(axis=-1)
    return float(out) if values.ndim == 1 else out


def iou(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Per-class IoU TP / (TP + FP + FN), NaN where the denominator is 0.

    >>> iou(np.array([3, 0]), np.array([1, 0]), np.array([0, 0])).tolist()
    [0.75, nan]
    """
    union = tp + fp + fn
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


@dataclass(frozen=True)
class TableV:
    """Data-set boundary F and IoU (GALD Table V and cityscapesScripts), values in [0, 1].

    Attributes:
        per_class_f: (T, C) mean over images of the per-image F.
        mean_f: (T,) unweighted class mean.
        iou: (C,) IoU of the summed counts (NaN: class without GT and prediction).
        miou: mean of ``iou`` over the classes present.
        n_images: images reduced.
    """

    per_class_f: np.ndarray
    mean_f: np.ndarray
    iou: np.ndarray
    miou: float
    n_images: int


def table_v(arrays: Arrays) -> TableV:
    """Table V's boundary F and the data-set IoU of N >= 1 images.

    >>> f = np.array([[[0.0, 1.0]], [[1.0, 1.0]]])  # 2 images, 1 threshold, 2 classes
    >>> t = table_v({"boundary_f": f, "tp": np.array([[1, 0], [1, 0]]), "fp": np.zeros((2, 2), int),
    ...              "fn": np.array([[1, 0], [0, 0]])})
    >>> t.per_class_f.tolist(), t.mean_f.tolist(), t.iou.tolist(), t.miou
    ([[0.5, 1.0]], [0.75], [0.6666666666666666, nan], 0.6666666666666666)
    """
    n = len(arrays["boundary_f"]) if "boundary_f" in arrays else 0
    if n == 0:
        raise ValueError("Table V of no image: give at least one")
    # Summed along the image axis one image after the other (float64), like G-SCNN's sum over images.
    per_class = arrays["boundary_f"].sum(axis=0) / n
    tp, fp, fn = (arrays[k].sum(axis=0) for k in ("tp", "fp", "fn"))
    return TableV(
        per_class_f=per_class,
        mean_f=per_class.mean(axis=1),
        iou=iou(tp, fp, fn),
        miou=mean_over_present(iou(tp, fp, fn), present(tp, fp, fn)),
        n_images=n,
    )


def tolerance_curve(arrays: Arrays) -> tuple[list[int], np.ndarray, np.ndarray]:
    """F against fixed radius: (radii, (R, C) mean over images per class, (R,) class mean)."""
    per_class = arrays["tolerance_f"].sum(axis=0) / len(arrays["tolerance_f"])
    return [int(r) for r in arrays["tolerance_radii"][0]], per_class, per_class.mean(axis=1)


def image_sizes(arrays: Arrays) -> tuple[list[tuple[int, int]], list[tuple[int, ...]]]:
    """The distinct (H, W) sizes in order of first appearance and the T radii at each."""
    sizes: dict[tuple[int, int], tuple[int, ...]] = {}
    for (h, w), radii in zip(arrays["image_size"], arrays["radius_px"], strict=True):
        sizes.setdefault((int(h), int(w)), tuple(int(r) for r in radii))
    return list(sizes), list(sizes.values())


def image_row(arrays: Arrays) -> dict[str, float | np.ndarray]:
    """One image's summary (arrays of one image, no image axis): the mean over its classes present.

    Returns:
        ``miou``, ``pixel_accuracy`` (correct / evaluated pixels), ``mean_f`` (T,) and ``present`` (C,).
    """
    tp, fp, fn = arrays["tp"], arrays["fp"], arrays["fn"]
    mask = present(tp, fp, fn)
    total = (tp + fn).sum()
    return {
        "miou": mean_over_present(iou(tp, fp, fn), mask),
        "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
        "mean_f": mean_over_present(arrays["boundary_f"], mask),
        "present": mask,
    }


def image_rows(arrays: Arrays, thresholds: Sequence[float]) -> dict[str, np.ndarray]:
    """Per-image columns for N images: ``miou`` and ``F@<threshold>`` (mean over the classes present)."""
    n = len(arrays["tp"])
    rows = [image_row({k: arrays[k][i] for k in ("tp", "fp", "fn", "boundary_f")}) for i in range(n)]
    columns = {"miou": np.array([r["miou"] for r in rows], dtype=np.float64)}
    for t, th in enumerate(thresholds):
        columns[f"F@{th:g}"] = np.array([r["mean_f"][t] for r in rows], dtype=np.float64).reshape(n)
    return columns


def gt_all_ignore(arrays: Arrays) -> np.ndarray | bool:
    """Whether an image's ground truth is all ignore (no evaluated pixel: TP + FN = 0 for every class).

    Such an image scores boundary F = 1 for every class (no boundary in either map, G-SCNN rule 7) and
    adds nothing to IoU: a perfect score that says nothing. With an image axis, one bool per image.
    """
    return (np.asarray(arrays["tp"]) + np.asarray(arrays["fn"])).sum(axis=-1) == 0


def all_ignore_warning(images: Sequence[str]) -> str:
    """The warning naming images whose ground truth is all ignore."""
    shown = ", ".join(images[:5]) + (f" and {len(images) - 5} more" if len(images) > 5 else "")
    return (
        f"ground truth of {len(images)} image(s) is all ignore (255): {shown}. Their boundary F is 1 for"
        " every class by convention (no boundary in either map) and they add nothing to IoU: the score"
        " says nothing about the prediction"
    )
