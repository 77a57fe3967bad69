"""How often each class appears in a set of label maps: pixel share and number of images, beside
Cityscapes' published shares."""

import numpy as np

from gald_viz.data.labels import CLASS_NAMES, NUM_CLASSES

CITYSCAPES_PIXEL_PERCENT = {
    "road": 32.7, "sidewalk": 5.3, "building": 20.1, "wall": 0.59, "fence": 0.77, "pole": 1.1243,
    "traffic light": 0.1823, "traffic sign": 0.5015, "vegetation": 14.3, "terrain": 0.98, "sky": 3.5,
    "person": 1.1, "rider": 0.1295, "car": 6.0, "truck": 0.2406, "bus": 0.2271, "train": 0.1907,
    "motorcycle": 0.0848, "bicycle": 0.4030,
}  # fmt: skip
"""Per cent of *all* pixels of Cityscapes' fine annotations (void included) in each of the 19 evaluated
classes, as tabulated ("pixel-wise occ [%]") in github.com/m-birke/automotive-segmentation-datasets,
``cityscapes.md``. :func:`cityscapes_share` renormalises them over the 19 classes."""


def cityscapes_share() -> np.ndarray:
    """Cityscapes' share of labelled (19-class) pixels per trainId, summing to 1.

    >>> share = cityscapes_share()
    >>> round(float(share.sum()), 6), round(100 * float(share[CLASS_NAMES.index("pole")]), 2)
    (1.0, 1.27)
    """
    percent = np.array([CITYSCAPES_PIXEL_PERCENT[name] for name in CLASS_NAMES], np.float64)
    return percent / percent.sum()


def class_stats(labels) -> tuple[np.ndarray, np.ndarray]:
    """Pixel count per class and number of label maps containing each class.

    >>> px, imgs = class_stats([np.array([[0, 0], [13, 255]], np.uint8)])
    >>> int(px[0]), int(px[13]), int(imgs[13]), int(imgs[1])
    (2, 1, 1, 0)
    """
    pixels = np.zeros(NUM_CLASSES, np.int64)
    images = np.zeros(NUM_CLASSES, np.int64)
    for label in labels:
        counts = np.bincount(label.ravel(), minlength=256)[:NUM_CLASSES]
        pixels += counts
        images += counts > 0
    return pixels, images


def format_stats(pixels: np.ndarray, images: np.ndarray, n_images: int) -> str:
    """A table of each class's share of labelled pixels beside Cityscapes', and images containing it."""
    total = max(int(pixels.sum()), 1)
    rows = [f"{'class':<14} {'pixel %':>8} {'Cityscapes %':>12} {'images':>7} {'of':>4}"]
    for name, px, im, city in zip(CLASS_NAMES, pixels, images, cityscapes_share(), strict=True):
        rows.append(f"{name:<14} {100.0 * px / total:8.3f} {100.0 * city:12.3f} {int(im):7d} {n_images:4d}")
    rows.append(f"classes present in at least one image: {int((images > 0).sum())}/{NUM_CLASSES}")
    rows.append("Cityscapes: share of the 19 classes' pixels in its fine annotations (synthcity/stats.py)")
    return "\n".join(rows)
