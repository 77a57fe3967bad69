"""Drawing the LDv2 affinity at one pixel: the k×k weights at their dilated sampling positions.

GALD (Li et al., IEEE TIP 2021) Eq. 6-8: the feature at cell i is a softmax-weighted sum over k×k
neighbours sampled with dilation r (Fig. 9 draws these weights at points). Each neighbour is one
feature cell, a block of (effective stride)² native pixels, so each weight is drawn as such a block,
centred on the neighbour's cell centre. Neighbours outside the feature map are zero-padded by the model
(they keep a softmax weight but carry no value); they are drawn as crossed grey blocks outside the image.
"""

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd
from matplotlib import colormaps

from gald_viz.analysis import AffinityView
from gald_viz.models.ldv2 import window_offsets
from gald_viz.viz.overlays import CROSSHAIR_COLOR, draw_crosshair

_VIRIDIS = (colormaps["viridis"](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
_OUTSIDE_FILL = (200, 200, 200)
_OUTSIDE_MARK = (90, 90, 90)


@dataclass(frozen=True)
class Crop:
    """A zoomed neighbourhood of the clicked pixel with the affinity drawn on it.

    Attributes:
        rgb: the picture (S×S×3 uint8).
        window: (x0, y0, x1, y1) of the neighbourhood in native pixels (may extend past the image).
    """

    rgb: np.ndarray
    window: tuple[float, float, float, float]


LABEL_BOX = (0, 0, 0)
"""Fill behind the weight labels of the zoomed window."""


def weight_color(weight: float, top: float) -> tuple[int, int, int]:
    """Viridis colour of a weight relative to the largest weight of the window."""
    idx = int(np.clip(round(255 * weight / top), 0, 255)) if top > 0 else 0
    return tuple(int(v) for v in _VIRIDIS[idx])


def offsets(view: AffinityView, dilation: int) -> np.ndarray:
    """k×k×2 (dy, dx) offsets of the neighbours in feature cells (multiples of the dilation r).

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> offsets(SimpleNamespace(weights=np.zeros((3, 3))), 2)[0, 0].tolist()
    [-2, -2]
    """
    k = view.weights.shape[0]
    return np.stack(window_offsets(k, dilation), axis=-1).reshape(k, k, 2)


def weights_table(view: AffinityView, dilation: int) -> pd.DataFrame:
    """The k×k weights as a table: rows and columns named by their offset in feature cells.

    Outside neighbours are kept (their weight is real: zero padding still enters the softmax).
    """
    k = view.weights.shape[0]
    steps = dilation * (np.arange(k) - k // 2)
    return pd.DataFrame(
        view.weights,
        index=[f"dy={int(s):+d}" for s in steps],
        columns=[f"dx={int(s):+d}" for s in steps],
    )


def _rect(canvas: np.ndarray, x0: float, y0: float, x1: float, y1: float, color, *, alpha: float) -> None:
    h, w = canvas.shape[:2]
    a, b = max(0, int(np.floor(x0))), min(w, int(np.ceil(x1)))
    c, d = max(0, int(np.floor(y0))), min(h, int(np.ceil(y1)))
    if a >= b or c >= d:
        return
    region = canvas[c:d, a:b].astype(np.float32)
    canvas[c:d, a:b] = np.rint(region * (1 - alpha) + np.asarray(color, np.float32) * alpha).astype(np.uint8)


def draw_on_image(
    image: np.ndarray,
    view: AffinityView,
    effective_stride: tuple[float, float],
    *,
    scale: float,
) -> np.ndarray:
    """The whole (display-size) image with each sampled cell outlined in its weight's colour.

    Args:
        image: display-size H×W×3 uint8 picture.
        view: the affinity at the clicked pixel (native coordinates).
        effective_stride: native pixels per feature cell, (y, x).
        scale: display pixels per native pixel.

    Returns:
        A copy with outlines and a crosshair at the clicked pixel (outside cells fall off the image).
    """
    out = np.ascontiguousarray(image.copy())
    sy, sx = effective_stride
    top = float(np.nanmax(view.weights))
    thick = max(1, round(min(sx, sy) * scale / 6))
    for (r, c), weight in np.ndenumerate(view.weights):
        if not view.inside[r, c]:
            continue
        px, py = view.positions[r, c]
        p0 = (round((px - sx / 2) * scale), round((py - sy / 2) * scale))
        p1 = (round((px + sx / 2) * scale), round((py + sy / 2) * scale))
        cv2.rectangle(out, p0, p1, weight_color(weight, top), thick)
    return draw_crosshair(out, (view.x + 0.5) * scale, (view.y + 0.5) * scale)


def zoom_crop(
    image: np.ndarray,
    view: AffinityView,
    effective_stride: tuple[float, float],
    *,
    dilation: int,
    size: int = 600,
) -> Crop:
    """A square neighbourhood of the click, enlarged, with every k×k sampling cell drawn (GALD Fig. 9).

    Cells are filled with their weight's colour (opacity grows with the weight) and labelled with the
    weight; outside-image cells are grey with a cross. The clicked feature cell is outlined in magenta.

    Args:
        image: the native-size H×W×3 uint8 picture to draw on.
        view: the affinity at the clicked pixel.
        effective_stride: native pixels per feature cell, (y, x).
        dilation: r, the window's dilation in feature cells.
        size: side of the returned picture in pixels.
    """
    sy, sx = effective_stride
    k = view.weights.shape[0]
    half = (k // 2) * dilation * max(sx, sy) + 1.5 * max(sx, sy)
    cx, cy = view.centre
    # Whole native pixels, so the crop is a slice (padded where it leaves the image) and one resize.
    x0, y0 = int(np.floor(cx - half)), int(np.floor(cy - half))
    span = int(np.ceil(2 * half)) + 1
    zoom = size / span
    h, w = image.shape[:2]
    sub = image[max(0, y0) : max(0, min(h, y0 + span)), max(0, x0) : max(0, min(w, x0 + span))]
    top_pad, left_pad = min(span, max(0, -y0)), min(span, max(0, -x0))
    if sub.size:
        bottom_pad, right_pad = span - top_pad - sub.shape[0], span - left_pad - sub.shape[1]
        region = cv2.copyMakeBorder(
            np.ascontiguousarray(sub),
            top_pad,
            bottom_pad,
            left_pad,
            right_pad,
            cv2.BORDER_CONSTANT,
            value=_OUTSIDE_FILL,
        )
    else:
        region = np.full((span, span, 3), _OUTSIDE_FILL, np.uint8)
    canvas = cv2.resize(region, (size, size), interpolation=cv2.INTER_NEAREST)
    top = float(np.nanmax(view.weights))
    cell_px = min(sx, sy) * zoom
    font_scale = min(0.5, cell_px / 90)
    for (r, c), weight in np.ndenumerate(view.weights):
        px, py = view.positions[r, c]
        a, b = (px - sx / 2 - x0) * zoom, (py - sy / 2 - y0) * zoom
        e, f = (px + sx / 2 - x0) * zoom, (py + sy / 2 - y0) * zoom
        if view.inside[r, c]:
            _rect(canvas, a, b, e, f, weight_color(weight, top), alpha=0.35 + 0.55 * weight / top)
            cv2.rectangle(canvas, (round(a), round(b)), (round(e), round(f)), (255, 255, 255), 1)
        else:
            _rect(canvas, a, b, e, f, _OUTSIDE_FILL, alpha=1.0)
            cv2.line(canvas, (round(a), round(b)), (round(e), round(f)), _OUTSIDE_MARK, 1, cv2.LINE_AA)
            cv2.line(canvas, (round(a), round(f)), (round(e), round(b)), _OUTSIDE_MARK, 1, cv2.LINE_AA)
            cv2.rectangle(canvas, (round(a), round(b)), (round(e), round(f)), _OUTSIDE_MARK, 1)
        if cell_px < 30:
            continue  # too small to label; the heatmap and table carry the numbers
        text = f"{weight:.2f}"
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        org = (round((a + e - tw) / 2), round((b + f + th) / 2))
        # White on a black box: readable on any image and next to any weight colour (yellow included).
        box = (org[0] - 2, org[1] - th - 2), (org[0] + tw + 2, org[1] + 3)
        cv2.rectangle(canvas, *box, LABEL_BOX, -1)
        cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), 1, cv2.LINE_AA)
    # The clicked pixel's own cell (the query position of Eq. 7).
    a, b = (cx - sx / 2 - x0) * zoom, (cy - sy / 2 - y0) * zoom
    cv2.rectangle(
        canvas, (round(a), round(b)), (round(a + sx * zoom), round(b + sy * zoom)), CROSSHAIR_COLOR, 2
    )
    canvas = draw_crosshair(canvas, (view.x + 0.5 - x0) * zoom, (view.y + 0.5 - y0) * zoom, size=size // 25)
    return Crop(rgb=canvas, window=(x0, y0, x0 + span, y0 + span))
