"""Error maps: right/wrong/ignore, GA-vs-GALD four-way comparison, accuracy by distance to GT boundaries.

These are the pictures behind GALD's qualitative figures (Li et al., IEEE TIP 2021, Figs. 1, 6 and 7): LD
mostly changes predictions near object boundaries and in small regions, so the four-way map shows where
a GALD model fixes or breaks its GA-only counterpart, and the distance bands (a trimap view, as in the
trimap evaluations of Kohli et al. 2009 and DeepLab) show whether the gain sits near boundaries.

A pixel is evaluated when its ground truth is a class ``0..num_classes-1``; 255 and every other id are
ignored, as in :mod:`gald_viz.metrics.confusion`.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from gald_viz.metrics.boundary import label_boundary_map
from gald_viz.metrics.confusion import check_label_pair
from gald_viz.metrics.conventions import PAPER_RADII_PX

__all__ = [
    "RIGHT",
    "WRONG",
    "IGNORED",
    "BOTH_RIGHT",
    "GALD_FIXES",
    "GALD_BREAKS",
    "BOTH_WRONG",
    "FOURWAY_IGNORE",
    "FOURWAY_NAMES",
    "DEFAULT_BANDS",
    "error_map",
    "fourway_map",
    "BandAccuracy",
    "distance_band_accuracy",
]

RIGHT, WRONG, IGNORED = 0, 1, 2
"""Values of :func:`error_map`."""

BOTH_RIGHT, GALD_FIXES, GALD_BREAKS, BOTH_WRONG, FOURWAY_IGNORE = 0, 1, 2, 3, 255
"""Values of :func:`fourway_map`: GA = the global-aggregation-only model, GALD = the same with LD."""

FOURWAY_NAMES: tuple[str, ...] = ("both right", "GALD fixes", "GALD breaks", "both wrong")
"""Names of the four categories, indexed by their map value."""

DEFAULT_BANDS: tuple[float, ...] = (0, *PAPER_RADII_PX, float("inf"))
"""Band edges in pixels: 0–3, 3–5, 5–9, 9–12 and > 12 px, the Table V radii."""


def _evaluated(gt: np.ndarray, num_classes: int) -> np.ndarray:
    return (gt >= 0) & (gt < num_classes)


def error_map(pred: np.ndarray, gt: np.ndarray, ignore_index: int = 255, num_classes: int = 19) -> np.ndarray:
    """Right / wrong / ignore per pixel.

    Args:
        pred: H×W predicted trainIds.
        gt: H×W ground-truth trainIds.
        ignore_index: the GT ignore id (always ignored, as is every id outside the classes).
        num_classes: number of classes C.

    Returns:
        H×W uint8 map: :data:`RIGHT` (0), :data:`WRONG` (1), :data:`IGNORED` (2).

    >>> error_map(np.array([[0, 1, 1]]), np.array([[0, 0, 255]])).tolist()
    [[0, 1, 2]]
    """
    pred, gt = check_label_pair(pred, gt)
    out = np.where(pred == gt, RIGHT, WRONG).astype(np.uint8)
    out[~_evaluated(gt, num_classes) | (gt == ignore_index)] = IGNORED
    return out


def fourway_map(
    pred_ga: np.ndarray,
    pred_gald: np.ndarray,
    gt: np.ndarray,
    num_classes: int = 19,
    ignore_index: int = 255,
) -> tuple[np.ndarray, np.ndarray]:
    """Compare a GA-only and a GALD prediction against the ground truth.

    Args:
        pred_ga: H×W trainIds predicted by the GA-only model.
        pred_gald: H×W trainIds predicted by the GALD model.
        gt: H×W ground-truth trainIds.
        num_classes: number of classes C.
        ignore_index: the GT ignore id.

    Returns:
        ``(map, counts)``: an H×W uint8 map with :data:`BOTH_RIGHT`, :data:`GALD_FIXES` (GA wrong, GALD
        right), :data:`GALD_BREAKS` (GA right, GALD wrong), :data:`BOTH_WRONG`, and
        :data:`FOURWAY_IGNORE` (255) where the GT is not evaluated; and ``counts``, a (4, C) int64 array
        of pixels per category (row) and GT class (column).

    >>> ga, gald, gt = np.array([[0, 1, 0, 1]]), np.array([[0, 0, 1, 1]]), np.array([[0, 0, 0, 255]])
    >>> m, counts = fourway_map(ga, gald, gt, num_classes=2)
    >>> m.tolist(), counts[:, 0].tolist()
    ([[0, 1, 2, 255]], [1, 1, 1, 0])
    """
    pred_ga, gt = check_label_pair(pred_ga, gt, pred_name="pred_ga")
    pred_gald, _ = check_label_pair(pred_gald, gt, pred_name="pred_gald")
    ga_wrong = pred_ga != gt
    gald_wrong = pred_gald != gt
    out = np.full(gt.shape, BOTH_RIGHT, dtype=np.uint8)
    out[ga_wrong & ~gald_wrong] = GALD_FIXES
    out[~ga_wrong & gald_wrong] = GALD_BREAKS
    out[ga_wrong & gald_wrong] = BOTH_WRONG
    evaluated = _evaluated(gt, num_classes) & (gt != ignore_index)
    out[~evaluated] = FOURWAY_IGNORE
    cls = gt[evaluated].astype(np.int64)
    counts = np.bincount(out[evaluated].astype(np.int64) * num_classes + cls, minlength=4 * num_classes)
    return out, counts.reshape(4, num_classes)


@dataclass(frozen=True)
class BandAccuracy:
    """Pixel accuracy by distance to the nearest GT boundary pixel.

    Attributes:
        edges: band edges in pixels; band i holds distances d with ``edges[i] < d <= edges[i+1]`` (the
            first band includes ``edges[0]``).
        accuracy: (B,) correct / evaluated pixels per band (NaN for an empty band).
        correct: (B,) correct pixels per band.
        total: (B,) evaluated pixels per band.
    """

    edges: tuple[float, ...]
    accuracy: np.ndarray
    correct: np.ndarray
    total: np.ndarray

    @property
    def labels(self) -> list[str]:
        """Band names such as ``"0–3 px"`` and ``"> 12 px"``."""
        out = []
        for lo, hi in zip(self.edges[:-1], self.edges[1:], strict=True):
            out.append(f"> {lo:g} px" if np.isinf(hi) else f"{lo:g}–{hi:g} px")
        return out


def boundary_distance(gt: np.ndarray, num_classes: int = 19, ignore_index: int = 255) -> np.ndarray:
    """Exact Euclidean distance of every native pixel to the nearest GT boundary pixel.

    The GT boundary is the union of the class boundaries the boundary F-score uses
    (:func:`gald_viz.metrics.boundary.label_boundary_map`), and one exact distance transform gives every
    distance; an image without any GT boundary is at infinite distance everywhere.

    Returns:
        H×W float64 distances in native pixels (0 on boundary pixels).

    >>> boundary_distance(np.array([[0, 0, 0, 1]], np.uint8), num_classes=2).tolist()
    [[2.0, 1.0, 0.0, 1.0]]
    """
    gt = np.asarray(gt)
    boundary = label_boundary_map(gt, num_classes, ignore_index)
    return ndimage.distance_transform_edt(~boundary) if boundary.any() else np.full(gt.shape, np.inf)


def distance_band_accuracy(
    pred: np.ndarray,
    gt: np.ndarray,
    bands: Sequence[float] = DEFAULT_BANDS,
    num_classes: int = 19,
    ignore_index: int = 255,
) -> BandAccuracy:
    """Accuracy of pixels grouped by their Euclidean distance to the nearest GT boundary (trimap view).

    The GT boundary is the union of the class boundaries the boundary F-score uses
    (:func:`gald_viz.metrics.boundary.label_boundary_map`); distances come from one exact Euclidean
    distance transform. An image without any GT boundary puts every pixel at infinite distance.

    Args:
        pred: H×W predicted trainIds.
        gt: H×W ground-truth trainIds.
        bands: increasing band edges in pixels, starting at 0; ``inf`` closes the last band.
        num_classes: number of classes C.
        ignore_index: the GT ignore id.

    Returns:
        :class:`BandAccuracy`.

    >>> gt = np.zeros((1, 8), np.uint8); gt[0, 4:] = 1
    >>> pred = gt.copy(); pred[0, 0] = 1
    >>> r = distance_band_accuracy(pred, gt, bands=(0, 1, np.inf), num_classes=2)
    >>> r.labels, r.total.tolist(), r.accuracy.tolist()
    (['0–1 px', '> 1 px'], [3, 5], [1.0, 0.8])
    """
    pred, gt = check_label_pair(pred, gt)
    edges = tuple(float(b) for b in bands)
    if len(edges) < 2 or edges[0] != 0 or any(b <= a for a, b in zip(edges[:-1], edges[1:], strict=True)):
        raise ValueError(f"bands must be increasing edges starting at 0, got {tuple(bands)}")
    dist = boundary_distance(gt, num_classes, ignore_index)
    # Pixels farther than the last edge (when it is finite) fall in no band.
    evaluated = _evaluated(gt, num_classes) & (gt != ignore_index) & (dist <= edges[-1])
    d = dist[evaluated]
    right = (pred == gt)[evaluated]
    # Right-closed bands (lo, hi]; d = 0 joins the first band.
    band = np.maximum(np.searchsorted(np.asarray(edges), d, side="left") - 1, 0)
    total = np.bincount(band, minlength=len(edges) - 1)
    correct = np.bincount(band, weights=right, minlength=len(edges) - 1).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        accuracy = np.where(total > 0, correct / np.maximum(total, 1), np.nan)
    return BandAccuracy(edges=edges, accuracy=accuracy, correct=correct, total=total)
