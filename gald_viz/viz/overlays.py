"""Raster overlays for the app's panels: display resizing, label blending, crosshairs, error colours.

Everything here takes and returns H×W×3 uint8 RGB arrays, so the same pictures feed Streamlit,
plotly and the matplotlib exports. Colours of the error and four-way maps follow the GALD paper's
Fig. 10 idea (errors highlighted on the image) with a colour-blind-safe palette (Okabe-Ito).
"""

import cv2
import numpy as np

from gald_viz.data.label_set import CITYSCAPES, IGNORE_INDEX, LabelSet

ERROR_COLORS: dict[str, tuple[int, int, int]] = {
    "right": (0, 158, 115),
    "wrong": (213, 94, 0),
    "ignore": (128, 128, 128),
}
"""Colour of each error-map state (a pixel a model gets right, gets wrong, or GT ignores)."""

FOURWAY_COLORS: dict[str, tuple[int, int, int]] = {
    "both right": (220, 220, 220),
    "GALD fixes": (0, 114, 178),
    "GALD breaks": (213, 94, 0),
    "both wrong": (240, 228, 66),
    "ignore": (64, 64, 64),
}
"""Colour of each four-way state (GA vs GALD against GT), the legend order of the Compare page."""

CROSSHAIR_COLOR = (255, 0, 255)


def display_size(height: int, width: int, *, max_width: int) -> tuple[int, int]:
    """The (height, width) a native image is shown at: never wider than ``max_width``, aspect kept.

    >>> display_size(1024, 2048, max_width=1024)
    (512, 1024)
    >>> display_size(100, 200, max_width=1024)
    (100, 200)
    """
    if width <= max_width:
        return height, width
    return max(1, round(height * max_width / width)), max_width


def resize(image: np.ndarray, height: int, width: int, *, labels: bool = False) -> np.ndarray:
    """Resize an image (area averaging) or a label/class map (nearest, so ids stay ids).

    >>> resize(np.zeros((4, 8), np.uint8), 2, 4, labels=True).shape
    (2, 4)
    """
    if image.shape[:2] == (height, width):
        return image
    interp = cv2.INTER_NEAREST if labels else cv2.INTER_AREA
    return cv2.resize(image, (width, height), interpolation=interp)


def blend(
    image: np.ndarray, overlay: np.ndarray, opacity: float, mask: np.ndarray | None = None
) -> np.ndarray:
    """Alpha-blend ``overlay`` on ``image`` (both H×W×3 uint8); ``mask`` limits where it applies.

    >>> blend(np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 200, np.uint8), 0.5).tolist()
    [[[100, 100, 100]]]
    """
    out = image.astype(np.float32) * (1.0 - opacity) + overlay.astype(np.float32) * opacity
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    if mask is not None:
        out = np.where(mask[..., None], out, image)
    return out


def label_overlay(
    image: np.ndarray, label: np.ndarray, opacity: float, label_set: LabelSet = CITYSCAPES
) -> np.ndarray:
    """The label map in the label set's colours over the image; ignore pixels show the bare image."""
    return blend(image, label_set.colorize(label), opacity, mask=label != IGNORE_INDEX)


def draw_crosshair(
    image: np.ndarray, x: float, y: float, *, color: tuple[int, int, int] = CROSSHAIR_COLOR, size: int = 0
) -> np.ndarray:
    """A copy of ``image`` with a crosshair centred on pixel (x, y) (display coordinates).

    The centre stays open: a thin ring of radius ``gap`` around the pixel and four arms that start
    outside it, so a thin target (a pole, a person) under the pixel stays visible (issue #13, item 12).
    Nothing is drawn within ``gap − 1`` pixels of the centre.

    Args:
        image: H×W×3 uint8.
        x, y: the pixel (column, row) in this image's coordinates.
        color: RGB of the lines.
        size: arm length in pixels; 0 picks 4% of the image's larger side.
    """
    out = np.ascontiguousarray(image.copy())
    h, w = out.shape[:2]
    size = size or max(6, round(0.04 * max(h, w)))
    gap = crosshair_gap(size)
    thick = max(1, round(max(h, w) / 800))
    cx, cy = round(x), round(y)
    for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        p0 = (cx + dx * (gap + 2), cy + dy * (gap + 2))
        p1 = (cx + dx * (gap + size), cy + dy * (gap + size))
        cv2.line(out, p0, p1, color, thick + 2, lineType=cv2.LINE_8)
        cv2.line(out, p0, p1, (255, 255, 255), thick, lineType=cv2.LINE_8)
    cv2.circle(out, (cx, cy), gap, color, 1, lineType=cv2.LINE_8)
    return out


def crosshair_gap(size: int) -> int:
    """Radius of the open centre of a crosshair with arms ``size`` long.

    >>> crosshair_gap(40)
    10
    """
    return max(4, size // 4)


def state_rgb(
    states: np.ndarray, colors: dict[str, tuple[int, int, int]], codes: dict[str, int]
) -> np.ndarray:
    """Colour a map of integer states (error or four-way codes) with named colours.

    Args:
        states: H×W integer map.
        colors: name → RGB (e.g. :data:`FOURWAY_COLORS`).
        codes: name → the integer that stands for it in ``states``.

    Returns:
        H×W×3 uint8; codes without a colour are black.

    >>> state_rgb(np.array([[1, 0]]), {"a": (1, 2, 3)}, {"a": 1}).tolist()
    [[[1, 2, 3], [0, 0, 0]]]
    """
    lut = np.zeros((256, 3), np.uint8)
    for name, code in codes.items():
        if name in colors:
            lut[code] = colors[name]
    return lut[np.asarray(states).astype(np.intp) & 255]
