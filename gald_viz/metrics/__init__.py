"""Segmentation metrics as pure numpy functions.

- :mod:`~gald_viz.metrics.boundary`: G-SCNN boundary F-score, exactly (GALD Table V).
- :mod:`~gald_viz.metrics.confusion`: confusion matrix, IoU, mIoU, pixel accuracy (cityscapesScripts).
- :mod:`~gald_viz.metrics.errors`: error maps, GA-vs-GALD four-way maps, accuracy by boundary distance.
"""

from gald_viz.metrics.boundary import (
    DEFAULT_THRESHOLDS,
    BoundaryFAccumulator,
    BoundaryFResult,
    BoundaryPRF,
    boundary_f_scores,
    boundary_map,
    boundary_prf,
    f_vs_tolerance,
    radius_px,
)
from gald_viz.metrics.confusion import confusion_matrix, iou_per_class, mean_iou, pixel_accuracy
from gald_viz.metrics.errors import distance_band_accuracy, error_map, fourway_map

__all__ = [
    "DEFAULT_THRESHOLDS",
    "BoundaryFAccumulator",
    "BoundaryFResult",
    "BoundaryPRF",
    "boundary_f_scores",
    "boundary_map",
    "boundary_prf",
    "confusion_matrix",
    "distance_band_accuracy",
    "error_map",
    "f_vs_tolerance",
    "fourway_map",
    "iou_per_class",
    "mean_iou",
    "pixel_accuracy",
    "radius_px",
]
