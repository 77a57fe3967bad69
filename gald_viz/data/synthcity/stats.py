"""How often each class appears in a set of label maps: pixel share and number of images."""

import numpy as np

from gald_viz.data.labels import CLASS_NAMES, NUM_CLASSES


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
    """A table of pixel frequency (share of labelled pixels) and images containing each class."""
    total = max(int(pixels.sum()), 1)
    rows = [f"{'class':<14} {'pixel %':>8} {'images':>7} {'of':>4}"]
    for name, px, im in zip(CLASS_NAMES, pixels, images, strict=True):
        rows.append(f"{name:<14} {100.0 * px / total:8.3f} {int(im):7d} {n_images:4d}")
    rows.append(f"classes present in at least one image: {int((images > 0).sum())}/{NUM_CLASSES}")
    return "\n".join(rows)
