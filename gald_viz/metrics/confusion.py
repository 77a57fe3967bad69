"""Confusion matrix, per-class IoU, mIoU and pixel accuracy with cityscapesScripts' definitions.

Cordts et al., "The Cityscapes Dataset for Semantic Urban Scene Understanding", CVPR 2016; the definitions
follow ``cityscapesscripts/evaluation/evalPixelLevelSemanticLabeling.py`` (``getIouScoreForLabel``,
``getScoreAverage``), rewritten here in trainId space because that script calls ``np.in1d``, which
NumPy 2.4 removed:

- TP = pixels of class c predicted as c; FN = pixels of class c predicted as anything else, *including*
  labels that are not a class (the script counts a void prediction as a miss);
- FP = pixels predicted as c whose ground truth is another evaluated class (ignored GT never counts);
- IoU = TP / (TP + FP + FN), NaN when the denominator is 0 (no GT and no prediction of c);
- the mean skips NaN classes.

Ground truth outside ``0..num_classes-1`` (255 and any other id) is not evaluated, as the script skips
labels marked ``ignoreInEval``.
"""

import numpy as np

from gald_viz.metrics.reduce import iou, mean_over_present, present

__all__ = [
    "LabelMapError",
    "check_label_pair",
    "confusion_matrix",
    "iou_stats",
    "iou_per_class",
    "mean_iou",
    "pixel_accuracy",
]


class LabelMapError(ValueError):
    """A prediction or ground-truth label map cannot be evaluated (shape, dtype or pairing)."""


def check_label_pair(
    pred: np.ndarray, gt: np.ndarray, *, pred_name: str = "pred", gt_name: str = "gt"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a prediction / ground-truth pair of H×W integer label maps.

    Args:
        pred: H×W integer (or bool) label map.
        gt: H×W integer (or bool) label map of the same size.
        pred_name: how to name ``pred`` in error messages (a file name, for instance).
        gt_name: how to name ``gt`` in error messages.

    Returns:
        Both arrays as numpy arrays.

    Raises:
        LabelMapError: when a map is not 2-D, not integer, or the sizes differ.

    >>> check_label_pair(np.zeros((2, 3), np.uint8), np.ones((3, 2), np.uint8))
    Traceback (most recent call last):
    ...
    gald_viz.metrics.confusion.LabelMapError: pred is 2x3 (H×W) but gt is 3x2
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    for arr, name in ((pred, pred_name), (gt, gt_name)):
        if arr.ndim != 2:
            raise LabelMapError(f"{name} must be a single-channel H×W label map, got shape {arr.shape}")
        if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
            raise LabelMapError(f"{name} must hold integer class ids, got dtype {arr.dtype}")
    if pred.shape != gt.shape:
        (ph, pw), (gh, gw) = pred.shape, gt.shape
        raise LabelMapError(f"{pred_name} is {ph}x{pw} (H×W) but {gt_name} is {gh}x{gw}")
    return pred, gt


def confusion_matrix(
    pred: np.ndarray, gt: np.ndarray, num_classes: int = 19, ignore_index: int = 255
) -> np.ndarray:
    """Count (ground truth, prediction) pairs over the evaluated pixels.

    Args:
        pred: H×W predicted trainIds.
        gt: H×W ground-truth trainIds; pixels outside ``0..num_classes-1`` (``ignore_index`` among them)
            are not counted.
        num_classes: number of classes C.
        ignore_index: the ignore label; named for clarity, every GT id outside the classes is skipped.

    Returns:
        ``(C, C + 1)`` int64 matrix: rows are the GT class, columns the predicted class, and the last
        column counts predictions outside ``0..C-1`` (always wrong; cityscapesScripts counts them as
        false negatives). ``cm[:, :C]`` is the square class-by-class matrix.

    >>> confusion_matrix(np.array([[0, 1, 255]]), np.array([[0, 0, 1]]), num_classes=2)
    array([[1, 1, 0],
           [0, 0, 1]])
    """
    pred, gt = check_label_pair(pred, gt)
    if ignore_index in range(num_classes):
        raise ValueError(f"ignore_index={ignore_index} is one of the {num_classes} classes")
    g, p = gt.ravel(), pred.ravel()
    # Comparisons in the maps' own (usually uint8) dtype: ~3x faster than widening 2 Mpx first.
    valid = (g >= 0) & (g < num_classes)
    g, p = g[valid], p[valid]
    other = (p < 0) | (p >= num_classes)
    index = g.astype(np.intp) * (num_classes + 1)
    index += np.where(other, num_classes, p)
    counts = np.bincount(index, minlength=num_classes * (num_classes + 1))
    return counts.reshape(num_classes, num_classes + 1)


def iou_stats(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and false negatives per class (cityscapesScripts' definitions).

    Args:
        cm: ``(C, C + 1)`` matrix from :func:`confusion_matrix` (a square ``(C, C)`` matrix works too).

    Returns:
        ``(tp, fp, fn)``, each a ``(C,)`` int64 array.

    >>> tp, fp, fn = iou_stats(np.array([[3, 1, 2], [0, 4, 0]]))
    >>> tp.tolist(), fp.tolist(), fn.tolist()
    ([3, 4], [0, 1], [3, 0])
    """
    cm = np.asarray(cm, dtype=np.int64)
    c = cm.shape[0]
    tp = np.diagonal(cm[:, :c]).copy()
    fp = cm[:, :c].sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    return tp, fp, fn


def iou_per_class(cm: np.ndarray) -> np.ndarray:
    """Per-class intersection over union TP / (TP + FP + FN).

    Args:
        cm: confusion matrix from :func:`confusion_matrix`, summed over a data set for dataset IoU.

    Returns:
        ``(C,)`` float64; NaN where the class has no GT and no prediction pixel.

    >>> iou_per_class(np.array([[3, 1, 2], [0, 4, 0]])).tolist()
    [0.5, 0.8]
    >>> iou_per_class(np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]])).tolist()
    [0.75, 0.8, nan]
    """
    return iou(*iou_stats(cm))


def mean_iou(cm: np.ndarray) -> float:
    """Mean IoU over the classes whose IoU is defined (cityscapesScripts' ``getScoreAverage``).

    Args:
        cm: confusion matrix from :func:`confusion_matrix`.

    Returns:
        The unweighted mean of the non-NaN per-class IoUs, NaN when none is defined.

    >>> mean_iou(np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]]))
    0.775
    """
    tp, fp, fn = iou_stats(cm)
    return mean_over_present(iou(tp, fp, fn), present(tp, fp, fn))


def pixel_accuracy(cm: np.ndarray) -> float:
    """Share of evaluated pixels whose prediction equals the ground truth.

    Args:
        cm: confusion matrix from :func:`confusion_matrix`.

    Returns:
        Correct / evaluated pixels, NaN when no pixel was evaluated.

    >>> pixel_accuracy(np.array([[3, 1, 2], [0, 4, 0]]))
    0.7
    """
    cm = np.asarray(cm, dtype=np.int64)
    total = cm.sum()
    return float(np.trace(cm[:, : cm.shape[0]]) / total) if total else float("nan")
