"""GA vs GALD by distance band and class: where does LD fix or break predictions, and accuracy per band.

Built on :func:`gald_viz.metrics.errors.fourway_map` and :func:`~gald_viz.metrics.errors.error_map`
(GALD, Li et al., IEEE TIP 2021, Figs. 1, 6, 7), counted at native pixels in the distance bands of
:mod:`gald_viz.mechanisms.bands`. Summed over classes, :func:`band_accuracy_counts` gives exactly the
``correct``/``total`` of :func:`~gald_viz.metrics.errors.distance_band_accuracy` with the same edges
plus ``inf``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gald_viz.mechanisms.bands import DEFAULT_EDGES, band_index, boundary_distance, check_edges
from gald_viz.metrics.errors import (
    BOTH_RIGHT,
    FOURWAY_IGNORE,
    GALD_BREAKS,
    GALD_FIXES,
    IGNORED,
    RIGHT,
    error_map,
    fourway_map,
)

__all__ = ["band_accuracy_counts", "fourway_band_counts", "fourway_accuracy"]


def _bands(gt, edges, num_classes: int, ignore_index: int, dist: np.ndarray | None) -> tuple[np.ndarray, int]:
    """H×W band of every native pixel, and the number of bands."""
    if dist is None:
        dist = boundary_distance(gt, num_classes, ignore_index)
    return band_index(dist, edges), len(check_edges(edges))


def _band_class_counts(
    category: np.ndarray, keep: np.ndarray, gt: np.ndarray, band: np.ndarray, n_cat: int, n_bands: int, c: int
) -> np.ndarray:
    flat = (category[keep].astype(np.int64) * n_bands + band[keep]) * c + gt[keep].astype(np.int64)
    return np.bincount(flat, minlength=n_cat * n_bands * c).reshape(n_cat, n_bands, c)


def fourway_band_counts(
    pred_ga: np.ndarray,
    pred_gald: np.ndarray,
    gt: np.ndarray,
    edges: Sequence[float] = DEFAULT_EDGES,
    *,
    num_classes: int = 19,
    ignore_index: int = 255,
    dist: np.ndarray | None = None,
) -> np.ndarray:
    """Pixels per four-way category, distance band and GT class for one image.

    Args:
        pred_ga: H×W trainIds of the GA-only model.
        pred_gald: H×W trainIds of the GALD model.
        gt: H×W ground-truth trainIds.
        edges: band edges in native pixels.
        num_classes: number of classes C.
        ignore_index: the GT ignore id (ignored pixels are not counted).
        dist: :func:`~gald_viz.mechanisms.bands.boundary_distance` of ``gt`` if already computed.

    Returns:
        (4, B, C) int64 counts; the first axis is indexed by ``BOTH_RIGHT``, ``GALD_FIXES``,
        ``GALD_BREAKS``, ``BOTH_WRONG`` of :mod:`gald_viz.metrics.errors`.
    """
    fourway, _ = fourway_map(pred_ga, pred_gald, gt, num_classes=num_classes, ignore_index=ignore_index)
    band, n_bands = _bands(gt, edges, num_classes, ignore_index, dist)
    return _band_class_counts(
        fourway, fourway != FOURWAY_IGNORE, np.asarray(gt), band, 4, n_bands, num_classes
    )


def fourway_accuracy(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-model correct pixels from four-way counts: ``(ga_correct, gald_correct, total)``.

    Args:
        counts: (4, …) four-way counts, e.g. from :func:`fourway_band_counts` (summed over images).

    Returns:
        Three arrays of ``counts.shape[1:]``.
    """
    counts = np.asarray(counts)
    return counts[BOTH_RIGHT] + counts[GALD_BREAKS], counts[BOTH_RIGHT] + counts[GALD_FIXES], counts.sum(0)


def band_accuracy_counts(
    pred: np.ndarray,
    gt: np.ndarray,
    edges: Sequence[float] = DEFAULT_EDGES,
    *,
    num_classes: int = 19,
    ignore_index: int = 255,
    dist: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Correct and evaluated pixels of one model per distance band and GT class, for one image.

    Args:
        pred: H×W predicted trainIds.
        gt: H×W ground-truth trainIds.
        edges: band edges in native pixels.
        num_classes: number of classes C.
        ignore_index: the GT ignore id.
        dist: :func:`~gald_viz.mechanisms.bands.boundary_distance` of ``gt`` if already computed.

    Returns:
        ``(correct, total)``, two (B, C) int64 arrays.
    """
    errors = error_map(pred, gt, ignore_index=ignore_index, num_classes=num_classes)
    band, n_bands = _bands(gt, edges, num_classes, ignore_index, dist)
    counts = _band_class_counts(errors, errors != IGNORED, np.asarray(gt), band, 2, n_bands, num_classes)
    return counts[RIGHT], counts.sum(0)
