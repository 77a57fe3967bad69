"""The conventions every gald-viz number follows, in one place: thresholds, radii, labels, convention text.

GALD (Li et al., IEEE TIP 2021) Table V reports G-SCNN's boundary F (Takikawa et al., ICCV 2019) at four
tolerances given as fractions of the image diagonal; at Cityscapes' 1024×2048 they are 3/5/9/12 px. The
F-vs-tolerance curve uses fixed radii of 1-20 px instead (they do not scale with the image size).
Metrics, jobs, the folder CLI, tables, the app's views and pages take these constants and strings from
here, so a threshold is never labelled or explained two ways (see ``docs/DESIGN.md``).
"""

from collections.abc import Sequence

import numpy as np

from gald_viz.data.labels import IGNORE_INDEX, NUM_CLASSES

__all__ = [
    "DEFAULT_THRESHOLDS",
    "GSCNN_CODE_DEFAULT_THRESHOLD",
    "PAPER_IMAGE_SIZE",
    "PAPER_RADII_PX",
    "TOLERANCE_RADII",
    "IOU_CONVENTION",
    "radii_per_size",
    "threshold_label",
    "threshold_index",
    "convention_text",
]

DEFAULT_THRESHOLDS: tuple[float, ...] = (0.00088, 0.001875, 0.00375, 0.005)
"""GALD Table V / G-SCNN paper thresholds as fractions of the image diagonal: 3/5/9/12 px at 1024×2048."""

GSCNN_CODE_DEFAULT_THRESHOLD = 0.0005
"""G-SCNN's released code default for the first threshold (2 px at 1024×2048); the paper uses 0.00088."""

PAPER_IMAGE_SIZE: tuple[int, int] = (1024, 2048)
"""(H, W) of Cityscapes images, the size Table V's radii refer to."""

PAPER_RADII_PX: tuple[int, ...] = (3, 5, 9, 12)
"""Radii of :data:`DEFAULT_THRESHOLDS` at :data:`PAPER_IMAGE_SIZE` (tests check the two agree)."""

TOLERANCE_RADII: tuple[int, ...] = tuple(range(1, 21))
"""Fixed pixel radii of the F-vs-tolerance curve."""

IOU_CONVENTION = (
    "IoU: cityscapesScripts TP / (TP + FP + FN) of counts summed over images; classes without GT and"
    " prediction left out of the mean"
)


def radii_per_size(radii: Sequence[int] | Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Accept one radius per threshold, or one such sequence per image size."""
    if len(radii) and np.ndim(radii[0]) == 0:
        return [tuple(int(r) for r in radii)]
    return [tuple(int(r) for r in per_size) for per_size in radii]


def threshold_label(threshold: float, radii: int | Sequence[int]) -> str:
    """The one label of a threshold: its radius in px and, for a fraction, the fraction of the diagonal.

    Args:
        threshold: a fraction of the image diagonal (< 1) or whole pixels (≥ 1).
        radii: its radius, or its radius at each distinct image size.

    Returns:
        e.g. ``"3 px (0.00088 diag)"``, ``"2/3 px (0.00088 diag)"`` for two image sizes, ``"4 px"``.

    >>> threshold_label(0.00088, 3), threshold_label(0.00088, [2, 3]), threshold_label(4, [4])
    ('3 px (0.00088 diag)', '2/3 px (0.00088 diag)', '4 px')
    """
    radii = [radii] if np.ndim(radii) == 0 else radii
    px = "/".join(str(r) for r in dict.fromkeys(int(r) for r in radii))
    return f"{px} px" if float(threshold) >= 1 else f"{px} px ({float(threshold):g} diag)"


def threshold_index(px: int, paper_radii: Sequence[int] = PAPER_RADII_PX) -> int:
    """The index of a Table V tolerance chosen by its paper radius (3/5/9/12 px); 0 for another value.

    Runs and images at other sizes have other radii, so a tolerance is picked by its index, never by
    looking its pixel count up in an image's radii.

    >>> threshold_index(9), threshold_index(7)
    (2, 0)
    """
    return list(paper_radii).index(px) if px in paper_radii else 0


def convention_text(
    thresholds: Sequence[float],
    radii: Sequence[int] | Sequence[Sequence[int]],
    image_sizes: Sequence[tuple[int, int]] | None = None,
    n_images: int | None = None,
    *,
    ignore_index: int = IGNORE_INDEX,
    num_classes: int = NUM_CLASSES,
    per_image: bool = False,
    iou: bool = False,
) -> str:
    """The one text stating how boundary F (and optionally IoU) numbers were computed.

    Args:
        thresholds: the thresholds (fractions of the diagonal or whole pixels).
        radii: radius per threshold, or one such sequence per image size.
        image_sizes: the distinct (H, W) sizes, aligned with ``radii``.
        n_images: number of images averaged.
        ignore_index: the GT ignore id.
        num_classes: the number of classes of the label set (Table V's class mean is over all of them).
        per_image: numbers of single images (mean over the classes present) rather than Table V's
            data-set reduction.
        iou: add the IoU convention.

    >>> convention_text((0.00088,), [3], [(1024, 2048)], 2)  # doctest: +ELLIPSIS
    'G-SCNN boundary F: r = ceil(th·√(H²+W²)) px for th < 1, th px for th ≥ 1; ... 1024×2048: 3 px.'
    """
    per_size = radii_per_size(radii)
    n = f"{n_images} " if n_images is not None else ""
    if per_image:
        how = (
            "per image, F and IoU are averaged over the classes present in GT or prediction (over a data"
            f" set Table V averages per class over all images, then over all {num_classes} classes)"
        )
    else:
        how = (
            f"per class the mean over all {n}images (class absent from both maps = 1); "
            "table value = unweighted class mean"
        )
    parts = [
        "G-SCNN boundary F: r = ceil(th·√(H²+W²)) px for th < 1, th px for th ≥ 1",
        f"GT {ignore_index} ignored",
        how,
    ]
    if image_sizes:
        sizes = "; ".join(
            f"{h}×{w}: " + "/".join(str(r) for r in rs) + " px"
            for (h, w), rs in zip(image_sizes, per_size, strict=True)
        )
        parts.append(f"thresholds {'/'.join(f'{float(t):g}' for t in thresholds)} at {sizes}")
    text = "; ".join(parts) + "."
    return f"{text} {IOU_CONVENTION}." if iou else text
