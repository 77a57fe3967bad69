"""Segmentation metrics as pure numpy functions.

- :mod:`~gald_viz.metrics.conventions`: default thresholds, radii, threshold labels, convention text.
- :mod:`~gald_viz.metrics.boundary`: G-SCNN boundary F-score, exactly (GALD Table V).
- :mod:`~gald_viz.metrics.confusion`: confusion matrix, IoU, mIoU, pixel accuracy (cityscapesScripts).
- :mod:`~gald_viz.metrics.errors`: error maps, GA-vs-GALD four-way maps, accuracy by boundary distance.
- :mod:`~gald_viz.metrics.scoring`: the per-image scorer, every statistic of an image as named arrays.
- :mod:`~gald_viz.metrics.reduce`: reductions over any set of images (Table V, mIoU, per-image rows).
- :mod:`~gald_viz.metrics.runs`: Table V, per-image and F-vs-tolerance tables of a stored run.
"""

from gald_viz.metrics.boundary import BoundaryPRF, boundary_map, boundary_prf, f_vs_tolerance, radius_px
from gald_viz.metrics.confusion import confusion_matrix, iou_per_class, mean_iou, pixel_accuracy
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, TOLERANCE_RADII
from gald_viz.metrics.errors import distance_band_accuracy, error_map, fourway_map
from gald_viz.metrics.scoring import ImageStats, score_image, score_pair

__all__ = [
    "DEFAULT_THRESHOLDS",
    "TOLERANCE_RADII",
    "BoundaryPRF",
    "ImageStats",
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
    "score_image",
    "score_pair",
]
