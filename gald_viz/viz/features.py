"""Feature maps as pictures: channel mean, one channel, PCA to RGB, and colour maps.

The GALD paper draws its LDv1 masks as the mean of M over channels (Fig. 7); the same reduction makes
the GA feature map X_g viewable. PCA to RGB shows where X_g's dominant directions change, which is
where global aggregation separates (or fails to separate) regions.
"""

import numpy as np
from matplotlib import colormaps

FEATURE_VIEWS = ("channel mean", "PCA → RGB", "one channel")
"""How a C×h×w feature map can be shown (the Local distribution page's choices)."""


def channel_mean(feature: np.ndarray) -> np.ndarray:
    """Mean over channels of a C×h×w map (GALD Fig. 7 draws LDv1's M this way).

    >>> channel_mean(np.ones((3, 2, 2), np.float16)).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    return np.asarray(feature, dtype=np.float32).mean(axis=0)


def one_channel(feature: np.ndarray, channel: int) -> np.ndarray:
    """Channel ``channel`` of a C×h×w map as float32; raises ValueError naming the valid range."""
    if not 0 <= channel < feature.shape[0]:
        raise ValueError(f"channel: {channel} is outside 0..{feature.shape[0] - 1}")
    return np.asarray(feature[channel], dtype=np.float32)


def normalise(values: np.ndarray, *, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Scale to [0, 1]; by default between the 1st and 99th percentile so outliers do not wash it out.

    Pass ``lo``/``hi`` for maps with a meaning of their own (a sigmoid mask lives in [0, 1]).

    >>> normalise(np.array([0.0, 5.0, 10.0]), lo=0, hi=10).tolist()
    [0.0, 0.5, 1.0]
    """
    v = np.asarray(values, dtype=np.float32)
    if lo is None or hi is None:
        p1, p99 = robust_range(v)
        lo, hi = p1 if lo is None else lo, p99 if hi is None else hi
    span = hi - lo if hi > lo else 1.0
    return np.clip((np.nan_to_num(v, nan=lo) - lo) / span, 0.0, 1.0)


def pca_rgb(feature: np.ndarray) -> np.ndarray:
    """Project a C×h×w map on its first three principal components and show them as RGB.

    Args:
        feature: C×h×w (C ≥ 1; missing components are drawn black).

    Returns:
        h×w×3 uint8.

    >>> pca_rgb(np.random.default_rng(0).normal(size=(8, 4, 5))).shape
    (4, 5, 3)
    """
    c, h, w = feature.shape
    x = np.asarray(feature, dtype=np.float32).reshape(c, -1).T
    x = x - x.mean(axis=0, keepdims=True)
    # SVD of the (pixels × channels) matrix: right singular vectors are the principal directions.
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    proj = x @ vt[:3].T
    rgb = np.zeros((h * w, 3), np.float32)
    for i in range(proj.shape[1]):
        rgb[:, i] = normalise(proj[:, i])
    return (rgb.reshape(h, w, 3) * 255).round().astype(np.uint8)


def heat_rgb(values01: np.ndarray, *, cmap: str = "viridis") -> np.ndarray:
    """Colour a map in [0, 1] with a matplotlib colour map; returns H×W×3 uint8.

    >>> heat_rgb(np.array([[0.0, 1.0]])).shape
    (1, 2, 3)
    """
    lut = (colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    return lut[np.clip(np.rint(np.asarray(values01) * 255), 0, 255).astype(np.intp)]


def feature_view(feature: np.ndarray, view: str, *, channel: int = 0, cmap: str = "viridis") -> np.ndarray:
    """One of :data:`FEATURE_VIEWS` of a C×h×w map as an h×w×3 uint8 picture.

    Raises:
        ValueError: an unknown view (the message lists the valid ones).
    """
    if view == "channel mean":
        return heat_rgb(normalise(channel_mean(feature)), cmap=cmap)
    if view == "PCA → RGB":
        return pca_rgb(feature)
    if view == "one channel":
        return heat_rgb(normalise(one_channel(feature, channel)), cmap=cmap)
    raise ValueError(f"view: {view!r} is not one of {', '.join(FEATURE_VIEWS)}")


#: Colour of cells a scalar map has no value for (ignore-labelled GT, NaN): neutral grey.
NO_VALUE_RGB = (128, 128, 128)


def robust_range(values: np.ndarray) -> tuple[float, float]:
    """The 1st and 99th percentile of the finite values: the default scale of :func:`normalise`.

    >>> robust_range(np.array([1.0, 1.0]))
    (1.0, 1.0)
    """
    finite = _finite(values)
    if not finite.size:
        return 0.0, 1.0
    return float(np.percentile(finite, 1)), float(np.percentile(finite, 99))


def _finite(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, np.float64).ravel()
    return v[np.isfinite(v)]


def data_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values, widened to a span of at least 1e-3 so a flat map still scales.

    The LDv1 mask M = σ(·) of a ReLU output lies in [0.5, 1): on a fixed 0-1 scale it is one flat
    colour, so its panels use this range (issue #13, item 11).

    >>> data_range(np.array([0.6, 0.8]))
    (0.6, 0.8)
    """
    v = _finite(values)
    if not v.size:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-3:
        mid = (lo + hi) / 2
        lo, hi = mid - 5e-4, mid + 5e-4
    return lo, hi


def scalar_rgb(
    values: np.ndarray, lo: float, hi: float, *, cmap: str = "viridis", no_value: np.ndarray | None = None
) -> np.ndarray:
    """Colour ``values`` on the scale ``lo``…``hi``; NaN cells and cells in ``no_value`` are grey."""
    v = np.asarray(values, np.float32)
    rgb = heat_rgb(normalise(v, lo=lo, hi=hi), cmap=cmap)
    hole = ~np.isfinite(v)
    if no_value is not None:
        hole |= no_value
    rgb[hole] = NO_VALUE_RGB
    return rgb


def _fmt(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.2e}"


def colorbar(width: int, lo: float, hi: float, *, cmap: str = "viridis", label: str = "") -> np.ndarray:
    """A horizontal colour bar ``width`` pixels wide with its end values and middle written under it.

    Returns:
        H×width×3 uint8 (white background), to stack under a panel.
    """
    import cv2

    width = max(int(width), 60)
    # Text sized to the bar, which is shown at about two thirds of its width in the app's columns.
    scale = max(0.4, width / 700)
    bar_h = max(8, width // 30)
    text_h = round(24 * scale) + 4
    out = np.full((bar_h + text_h + 4, width, 3), 255, np.uint8)
    ramp = np.linspace(0.0, 1.0, width)[None, :].repeat(bar_h, 0)
    out[2 : 2 + bar_h] = heat_rgb(ramp, cmap=cmap)
    y = 2 + bar_h + round(20 * scale)
    font = cv2.FONT_HERSHEY_SIMPLEX
    left = _fmt(lo)
    mid = f"{label}  {_fmt((lo + hi) / 2)}" if label else _fmt((lo + hi) / 2)
    right = _fmt(hi)
    for text, anchor in ((left, 0.0), (mid, 0.5), (right, 1.0)):
        (tw, _), _ = cv2.getTextSize(text, font, scale, 1)
        x = int(round(anchor * (width - tw)))
        cv2.putText(out, text, (x, y), font, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return out
