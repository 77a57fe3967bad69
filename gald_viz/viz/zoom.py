"""The inspector's zoomed, clickable crop: thin objects (poles, people) become clickable.

The click image shows 2048 native px in about 700 screen px; the crop shows a window of native pixels
``factor`` screen pixels each (issue #13, item 12). A click on it maps through its :class:`ZoomWindow`:
native = window origin + ⌊display · window size / displayed size⌋, exact at every zoom and at any shown
size.
"""

from dataclasses import dataclass

import numpy as np

from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.viz.overlays import draw_crosshair, label_overlay

#: Magnifications of the zoomed, clickable crop (screen pixels per native pixel).
ZOOM_FACTORS = (2, 4, 8, 16)
#: (height, width) in screen pixels of the zoomed crop.
ZOOM_DISPLAY = (256, 384)


@dataclass(frozen=True)
class ZoomWindow:
    """The native pixels a zoomed crop shows: columns left … left+width−1, rows top … top+height−1.

    Each native pixel is drawn as ``factor``×``factor`` screen pixels, so a pole 2 px wide is 2·factor
    screen pixels there (issue #13, item 12).
    """

    left: int
    top: int
    width: int
    height: int
    factor: int

    def to_native(self, click: dict) -> tuple[int, int]:
        """Native pixel of a click on the crop as displayed (``click`` width/height: the shown size).

        >>> ZoomWindow(100, 50, 96, 64, 4).to_native({"x": 9, "y": 255, "width": 384, "height": 256})
        (102, 113)
        """
        cx = int(np.floor(click["x"] * self.width / click["width"]))
        cy = int(np.floor(click["y"] * self.height / click["height"]))
        return self.left + min(max(cx, 0), self.width - 1), self.top + min(max(cy, 0), self.height - 1)

    def as_dict(self) -> dict[str, int]:
        """Plain values, for the session state."""
        return {
            "left": self.left,
            "top": self.top,
            "width": self.width,
            "height": self.height,
            "factor": self.factor,
        }


def zoom_window(
    native_size: tuple[int, int], native_xy: tuple[int, int], factor: int, *, display_hw=ZOOM_DISPLAY
) -> ZoomWindow:
    """The window of ``display_hw / factor`` native pixels centred on the point, shifted inside the image.

    >>> zoom_window((1024, 2048), (5, 1000), 4)
    ZoomWindow(left=0, top=960, width=96, height=64, factor=4)
    """
    if factor not in ZOOM_FACTORS:
        raise ValueError(f"zoom factor {factor} is not one of {ZOOM_FACTORS}")
    h, w = native_size
    x, y = native_xy
    cw, ch = min(w, -(-display_hw[1] // factor)), min(h, -(-display_hw[0] // factor))
    left = min(max(x - cw // 2, 0), w - cw)
    top = min(max(y - ch // 2, 0), h - ch)
    return ZoomWindow(int(left), int(top), int(cw), int(ch), int(factor))


def zoom_rgb(
    image: np.ndarray,
    window: ZoomWindow,
    native_xy: tuple[int, int],
    *,
    overlay: np.ndarray | None = None,
    opacity: float = 0.5,
    label_set: LabelSet = CITYSCAPES,
) -> np.ndarray:
    """The window of ``image`` magnified by whole pixels (nearest), with an open crosshair on the point.

    Args:
        image: native H×W×3 uint8.
        window: from :func:`zoom_window`.
        native_xy: the point (drawn if inside the window).
        overlay: native H×W trainIds blended on the crop (prediction or GT), or None.
        opacity: overlay opacity.
        label_set: the overlay's colours.
    """
    rows = slice(window.top, window.top + window.height)
    cols = slice(window.left, window.left + window.width)
    crop = image[rows, cols]
    if overlay is not None:
        crop = label_overlay(crop, overlay[rows, cols], opacity, label_set)
    f = window.factor
    big = np.repeat(np.repeat(crop, f, axis=0), f, axis=1)
    x, y = native_xy
    if 0 <= x - window.left < window.width and 0 <= y - window.top < window.height:
        big = draw_crosshair(
            big, (x - window.left + 0.5) * f, (y - window.top + 0.5) * f, size=max(24, 4 * f)
        )
    return big
