"""Boundary F-score exactly as G-SCNN computes it (the number in GALD's Table V).

Takikawa et al., "Gated-SCNN: Gated Shape CNNs for Semantic Segmentation", ICCV 2019, ``utils/f_boundary.py``
(after the DAVIS benchmark, Perazzi et al., CVPR 2016); used by GALD (Li et al., IEEE TIP 2021), Table V.
The rules (see the fact sheet in ``docs/DESIGN.md``):

1. tolerance r = ceil(th · √(H² + W²)) px for a threshold th < 1 (a fraction of the image diagonal),
   r = th px for th ≥ 1; the paper's 0.00088 / 0.001875 / 0.00375 / 0.005 give 3 / 5 / 9 / 12 px at
   1024×2048 (G-SCNN's code *defaults* to 0.0005, i.e. 2 px, for the first);
2. per image and class c: masks ``pred == c`` and ``gt == c``, both zeroed where ``gt == 255``;
3. boundary pixel: the mask differs from its east, south or south-east neighbour (neighbours outside the
   image do not exist, so the image border is never a boundary);
4. a boundary pixel matches when a boundary pixel of the other map lies within Euclidean distance ≤ r
   (G-SCNN dilates with ``skimage.morphology.disk(r)``, the offsets with dx² + dy² ≤ r²);
5. P = matched prediction boundary / prediction boundary, R = matched GT boundary / GT boundary,
   F = 2PR / (P + R); no boundary in either: P = R = F = 1; GT only: P = 1, R = 0, F = 0; prediction
   only: P = 0, R = 1, F = 0 (G-SCNN's values for P and R); P + R = 0: F = 0;
6. over a data set, per class: the mean over *all* images of the per-image F (a class absent from both
   maps scores 1); the table value is the unweighted mean over the classes
   (:func:`gald_viz.metrics.reduce.table_v`).

Speed: G-SCNN dilates every boundary map with a disk once per class and threshold (~32 s per
1024×2048 image on 2 cores). Here the boundary pixels of every class come from one pass over the label
map, and each boundary pixel gets its exact squared Euclidean distance to the nearest boundary pixel of
the other map from a k-d tree over the (sparse) boundary pixels, one query per class and direction that
answers every radius at once. Squared distances are integers compared with r², so points at exactly
distance r are never lost to rounding. (An exact distance transform over each class's bounding box gives
the same numbers but touches ~18 Mpx per realistic 1024×2048 image, ~13× slower than the tree.)
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from gald_viz.metrics.confusion import check_label_pair
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, GSCNN_CODE_DEFAULT_THRESHOLD, TOLERANCE_RADII

__all__ = [
    "DEFAULT_THRESHOLDS",
    "GSCNN_CODE_DEFAULT_THRESHOLD",
    "ThresholdError",
    "radius_px",
    "radii_px",
    "check_thresholds",
    "boundary_map",
    "label_boundary_map",
    "BoundaryPRF",
    "boundary_prf",
    "f_vs_tolerance",
]


class ThresholdError(ValueError):
    """A boundary tolerance is neither a fraction in (0, 1) nor a whole number of pixels ≥ 1."""


def radius_px(threshold: float, height: int, width: int) -> int:
    """Tolerance radius in pixels for one threshold (G-SCNN's ``bound_pix``).

    Args:
        threshold: a fraction of the image diagonal (< 1) or a whole number of pixels (≥ 1).
        height: image height H.
        width: image width W.

    Returns:
        ``ceil(threshold · √(H² + W²))`` for a fraction, else ``int(threshold)``; the product is taken in
        float64 as G-SCNN does (0.00088 · 2289.73 = 2.0149 → 3 px at 1024×2048).

    Raises:
        ThresholdError: for a threshold ≤ 0 or a non-whole pixel count.

    >>> [radius_px(th, 1024, 2048) for th in DEFAULT_THRESHOLDS]
    [3, 5, 9, 12]
    >>> [radius_px(th, 512, 1024) for th in DEFAULT_THRESHOLDS], radius_px(4, 512, 1024)
    ([2, 3, 5, 6], 4)
    """
    th = float(threshold)
    if not th > 0 or math.isinf(th):
        raise ThresholdError(f"threshold {threshold!r} must be a fraction in (0, 1) or whole pixels >= 1")
    if th >= 1:
        if th != int(th):
            raise ThresholdError(f"threshold {threshold!r} >= 1 means pixels and must be a whole number")
        return int(th)
    # np.linalg.norm((H, W)) in G-SCNN is sqrt(H*H + W*W) in float64; the same expression here.
    return math.ceil(th * math.sqrt(float(height * height + width * width)))


def radii_px(thresholds: Iterable[float], height: int, width: int) -> tuple[int, ...]:
    """Radii in pixels for several thresholds at one image size.

    Args:
        thresholds: fractions of the diagonal (< 1) or whole pixels (≥ 1).
        height: image height H.
        width: image width W.

    Returns:
        One radius per threshold.

    >>> radii_px((0.0005, 0.00088, 7), 1024, 2048)
    (2, 3, 7)
    """
    return tuple(radius_px(th, height, width) for th in thresholds)


def check_thresholds(thresholds: Iterable[float]) -> tuple[float | int, ...]:
    """Validate thresholds and normalise pixel counts to ``int``.

    Args:
        thresholds: fractions of the diagonal (< 1) or whole pixels (≥ 1), at least one.

    Returns:
        The thresholds, fractions as float and pixel counts as int.

    Raises:
        ThresholdError: when one is invalid or none is given.

    >>> check_thresholds([0.00088, 3.0])
    (0.00088, 3)
    """
    out = []
    for th in thresholds:
        radius_px(th, 1, 1)  # validates
        out.append(int(th) if float(th) >= 1 else float(th))
    if not out:
        raise ThresholdError("thresholds: give at least one")
    return tuple(out)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """G-SCNN / DAVIS ``seg2bmap`` boundary of a binary mask.

    A pixel is on the boundary when its value differs from its east, south or south-east neighbour;
    neighbours outside the image do not exist (bottom row: east only, right column: south only,
    bottom-right pixel: never), so a full mask has no boundary and a mask and its complement have the
    same boundary.

    Args:
        mask: H×W array; non-zero means inside.

    Returns:
        H×W bool boundary map.

    >>> boundary_map(np.array([[0, 0, 0], [0, 1, 1], [0, 1, 1]])).astype(int)
    array([[1, 1, 1],
           [1, 0, 0],
           [1, 0, 0]])
    """
    m = np.asarray(mask).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be H×W, got shape {m.shape}")
    b = np.zeros_like(m)
    b[:, :-1] |= m[:, :-1] != m[:, 1:]
    b[:-1, :] |= m[:-1, :] != m[1:, :]
    b[:-1, :-1] |= m[:-1, :-1] != m[1:, 1:]
    return b


def _compact_labels(labels: np.ndarray, num_classes: int, ignored: np.ndarray | None) -> np.ndarray:
    """Labels with every non-class value (and ``ignored`` pixels) set to ``num_classes`` ("no class")."""
    valid = (labels >= 0) & (labels < num_classes)
    if ignored is not None:
        valid &= ~ignored
    dtype = np.uint8 if num_classes < 255 else np.int32
    return np.where(valid, labels, num_classes).astype(dtype)


def label_boundary_map(labels: np.ndarray, num_classes: int = 19, ignore_index: int = 255) -> np.ndarray:
    """Union over classes of the per-class :func:`boundary_map` of a label map (all GT boundaries).

    A pixel is marked when it lies on the boundary of some class mask ``labels == c``: its east, south or
    south-east neighbour has a different label and at least one of the two is a class (a change between
    two non-class values such as 255 and 254 is no boundary).

    Args:
        labels: H×W trainId map.
        num_classes: number of classes; ids outside ``0..num_classes-1`` are "no class".
        ignore_index: the ignore id (one of the "no class" values; named for the documentation).

    Returns:
        H×W bool map.

    >>> label_boundary_map(np.array([[0, 1, 255, 254]]), num_classes=2).astype(int)
    array([[1, 1, 0, 0]])
    """
    if ignore_index in range(num_classes):
        raise ValueError(f"ignore_index={ignore_index} is one of the {num_classes} classes")
    lab = _compact_labels(np.asarray(labels), num_classes, None)
    b = np.zeros(lab.shape, dtype=bool)
    b[:, :-1] |= lab[:, :-1] != lab[:, 1:]
    b[:-1, :] |= lab[:-1, :] != lab[1:, :]
    b[:-1, :-1] |= lab[:-1, :-1] != lab[1:, 1:]
    return b


def _class_boundary_points(lab: np.ndarray, num_classes: int) -> list[np.ndarray]:
    """Flat indices of the boundary pixels of every class mask ``lab == c``, from one pass over the map.

    p is on the boundary of class c exactly when, for some neighbour q (east, south, south-east), ``lab[p]
    != lab[q]`` and c is ``lab[p]`` or ``lab[q]``. So each changing pixel is a boundary pixel of its own
    class and of each *distinct* other class among its three neighbours; listing a neighbour's class only
    when no earlier neighbour (nor p) has it keeps every (class, pixel) pair once.
    """
    # A neighbour outside the image is replaced by the pixel itself, which never differs.
    east = np.empty_like(lab)
    east[:, :-1], east[:, -1] = lab[:, 1:], lab[:, -1]
    south = np.empty_like(lab)
    south[:-1], south[-1] = lab[1:], lab[-1]
    south_east = south.copy()
    south_east[:-1, :-1], south_east[:, -1] = lab[1:, 1:], lab[:, -1]
    changing = np.flatnonzero((lab != east) | (lab != south) | (lab != south_east))
    a, e, s, se = (m.ravel()[changing] for m in (lab, east, south, south_east))
    none = num_classes
    cls = np.concatenate(
        [
            a,
            np.where(e != a, e, none),
            np.where((s != a) & (s != e), s, none),
            np.where((se != a) & (se != e) & (se != s), se, none),
        ]
    )
    flat = np.tile(changing, 4)
    keep = cls < num_classes
    cls, flat = cls[keep], flat[keep]
    order = np.argsort(cls, kind="stable")
    cls, flat = cls[order], flat[order]
    bounds = np.searchsorted(cls, np.arange(num_classes + 1))
    return [flat[bounds[c] : bounds[c + 1]] for c in range(num_classes)]


def _matched_counts(query: np.ndarray, sites: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """How many ``query`` points have a ``sites`` point within Euclidean distance ≤ r, for each r.

    Args:
        query: (n, 2) float coordinates; sites: (m, 2), m > 0; radii: (T,) int.
    """
    # The bound only prunes the search: the exact test is on the integer squared distance below.
    dist, _ = cKDTree(sites, balanced_tree=False).query(query, k=1, distance_upper_bound=radii.max() + 0.5)
    dist = dist[np.isfinite(dist)]
    # dist = sqrt(k) correctly rounded for an integer k, so rint(dist²) recovers k exactly.
    sq = np.sort(np.rint(dist * dist).astype(np.int64))
    return np.searchsorted(sq, radii.astype(np.int64) ** 2, side="right")


@dataclass(frozen=True)
class BoundaryPRF:
    """Per-image boundary precision, recall and F for T thresholds and C classes.

    Attributes:
        precision: (T, C) float64.
        recall: (T, C) float64.
        f: (T, C) float64, G-SCNN's per-image F.
        thresholds: the T thresholds (fractions of the diagonal, or whole pixels).
        radii: the T radii in pixels at this image size.
        image_size: (H, W).
        n_pred: (C,) boundary pixels of each class in the prediction (after the ignore rule).
        n_gt: (C,) boundary pixels of each class in the ground truth.
        matched_pred: (T, C) prediction boundary pixels within r of a GT boundary pixel.
        matched_gt: (T, C) GT boundary pixels within r of a prediction boundary pixel.
        present: (C,) whether the class has a pixel in the GT or the prediction (after the ignore rule).
    """

    precision: np.ndarray
    recall: np.ndarray
    f: np.ndarray
    thresholds: tuple[float | int, ...]
    radii: tuple[int, ...]
    image_size: tuple[int, int]
    n_pred: np.ndarray
    n_gt: np.ndarray
    matched_pred: np.ndarray
    matched_gt: np.ndarray
    present: np.ndarray


def _prf(
    pred: np.ndarray,
    gt: np.ndarray,
    thresholds: tuple[float | int, ...],
    radii: tuple[int, ...],
    num_classes: int,
    ignore_index: int,
) -> BoundaryPRF:
    if ignore_index in range(num_classes):
        raise ValueError(f"ignore_index={ignore_index} is one of the {num_classes} classes")
    h, w = gt.shape
    c_all, t_all = num_classes, len(radii)
    gt_lab = _compact_labels(gt, num_classes, None)
    pred_lab = _compact_labels(pred, num_classes, gt == ignore_index)
    present = (
        np.bincount(gt_lab.ravel(), minlength=c_all + 1)[:c_all]
        + np.bincount(pred_lab.ravel(), minlength=c_all + 1)[:c_all]
    ) > 0
    pred_pts = _class_boundary_points(pred_lab, num_classes)
    gt_pts = _class_boundary_points(gt_lab, num_classes)
    r = np.asarray(radii, dtype=np.int64)

    n_pred = np.array([len(p) for p in pred_pts], dtype=np.int64)
    n_gt = np.array([len(g) for g in gt_pts], dtype=np.int64)
    matched_pred = np.zeros((t_all, c_all), dtype=np.int64)
    matched_gt = np.zeros((t_all, c_all), dtype=np.int64)
    for c in range(c_all):
        if n_pred[c] and n_gt[c]:
            p_yx = np.stack(np.divmod(pred_pts[c], w), axis=1).astype(np.float64)
            g_yx = np.stack(np.divmod(gt_pts[c], w), axis=1).astype(np.float64)
            matched_pred[:, c] = _matched_counts(p_yx, g_yx, r)
            matched_gt[:, c] = _matched_counts(g_yx, p_yx, r)

    both = (n_pred > 0) & (n_gt > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(both, matched_pred / np.maximum(n_pred, 1), (n_pred == 0).astype(np.float64))
        recall = np.where(both, matched_gt / np.maximum(n_gt, 1), (n_gt == 0).astype(np.float64))
        # Same operation order as G-SCNN (2*P*R/(P+R)) so values agree to the last bit.
        s = precision + recall
        f = np.where(s == 0, 0.0, 2 * precision * recall / np.where(s == 0, 1.0, s))
    # One-sided cases: G-SCNN's (P, R) = (1, 0) or (0, 1) give F = 2·0/1 = 0 above, as it should.
    return BoundaryPRF(
        precision=precision,
        recall=recall,
        f=f,
        thresholds=thresholds,
        radii=tuple(int(x) for x in radii),
        image_size=(h, w),
        n_pred=n_pred,
        n_gt=n_gt,
        matched_pred=matched_pred,
        matched_gt=matched_gt,
        present=present,
    )


def boundary_prf(
    pred: np.ndarray,
    gt: np.ndarray,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    num_classes: int = 19,
    ignore_index: int = 255,
) -> BoundaryPRF:
    """Per-image, per-class boundary precision, recall and F (G-SCNN, GALD Table V).

    Args:
        pred: H×W predicted trainIds (ids outside ``0..num_classes-1`` belong to no class).
        gt: H×W ground-truth trainIds; where ``gt == ignore_index`` both class masks are zeroed.
        thresholds: fractions of the image diagonal (< 1) or whole pixels (≥ 1).
        num_classes: number of classes C.
        ignore_index: the GT ignore id.

    Returns:
        :class:`BoundaryPRF` with (T, C) precision, recall and F.

    >>> gt = np.zeros((8, 8), np.uint8); gt[:, 4:] = 1
    >>> pred = np.zeros((8, 8), np.uint8); pred[:, 5:] = 1
    >>> boundary_prf(pred, gt, thresholds=(1,), num_classes=2).f.tolist()
    [[1.0, 1.0]]
    >>> boundary_prf(pred, gt, thresholds=(0.01,), num_classes=2).radii
    (1,)
    """
    pred, gt = check_label_pair(pred, gt)
    ths = check_thresholds(thresholds)
    return _prf(pred, gt, ths, radii_px(ths, *gt.shape), num_classes, ignore_index)


def f_vs_tolerance(
    pred: np.ndarray,
    gt: np.ndarray,
    radii: Iterable[int] = TOLERANCE_RADII,
    num_classes: int = 19,
    ignore_index: int = 255,
) -> BoundaryPRF:
    """Boundary P/R/F at fixed pixel radii (variant: the tolerance does not scale with the image size).

    All radii come from the same nearest-boundary distances, so a 20-point curve costs about one
    threshold.

    Args:
        pred: H×W predicted trainIds.
        gt: H×W ground-truth trainIds.
        radii: whole pixel radii ≥ 1.
        num_classes: number of classes C.
        ignore_index: the GT ignore id.

    Returns:
        :class:`BoundaryPRF` with one row per radius.

    >>> gt = np.zeros((16, 16), np.uint8); gt[:, 8:] = 1
    >>> pred = np.zeros((16, 16), np.uint8); pred[:, 11:] = 1
    >>> f_vs_tolerance(pred, gt, radii=(2, 3), num_classes=2).f[:, 1].tolist()
    [0.0, 1.0]
    """
    pred, gt = check_label_pair(pred, gt)
    rs = tuple(radii)
    for r in rs:
        if isinstance(r, bool) or not float(r) >= 1 or float(r) != int(r):
            raise ThresholdError(f"radii: {r!r} is not a whole number of pixels >= 1")
    rs = tuple(int(r) for r in rs)
    if not rs:
        raise ThresholdError("radii: give at least one")
    return _prf(pred, gt, rs, rs, num_classes, ignore_index)
