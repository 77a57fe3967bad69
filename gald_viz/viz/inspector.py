"""The Local distribution page's compute path: what LDv1 and LDv2 do around a clicked pixel.

GALD (Li et al., IEEE TIP 2021): the GA output X_g (Sec. III-A), the LDv1 mask M (Eq. 1, drawn as its
channel mean in Fig. 7) and the LDv2 affinity at a point (Eq. 6-8, Fig. 9). The work is split so a click
is cheap: :func:`static_panels` colours the whole-image maps once per (model, image, view), and
:func:`click_view` only indexes the cached analysis and draws crosshairs and the k×k window.

The scale chain of a click: display pixel (what the browser showed) → native pixel (x·W/w_display) →
model-input pixel (× ``input_scale``) → feature cell (the stride-8 cell whose centre is nearest).
A click on the zoomed crop maps through its :class:`gald_viz.viz.zoom.ZoomWindow`.
Continuous maps carry a colour bar on the scale they are drawn with (:attr:`StaticPanels.bars`).
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gald_viz.analysis import AffinityView, Analysis, affinity_at
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.mechanisms.ldv1 import FLAT_SPREAD, channel_spreads, mask_spread
from gald_viz.viz import affinity as aff
from gald_viz.viz.features import (
    channel_mean,
    colorbar,
    data_range,
    feature_view,
    one_channel,
    robust_range,
    scalar_rgb,
)
from gald_viz.viz.figures import class_name
from gald_viz.viz.overlays import draw_crosshair, label_overlay, resize


def click_to_native(click: dict, native_size: tuple[int, int]) -> tuple[int, int]:
    """Native pixel of a click on a displayed image: x · W_native / W_displayed, clamped into the image.

    Args:
        click: ``{"x", "y", "width", "height"}`` from streamlit-image-coordinates (display pixels).
        native_size: (H, W) of the native image.

    >>> click_to_native({"x": 511, "y": 10, "width": 1024, "height": 512}, (1024, 2048))
    (1022, 20)
    """
    h, w = native_size
    x = int(np.floor(click["x"] * w / click["width"]))
    y = int(np.floor(click["y"] * h / click["height"]))
    return min(max(x, 0), w - 1), min(max(y, 0), h - 1)


@dataclass(frozen=True)
class PixelChain:
    """Where one clicked point lives in each coordinate system of the model.

    Attributes:
        display: (x, y) in the displayed image and its (width, height), or None without a click.
        native: (x, y) in the image file and the native (width, height).
        model_input: (x, y) after resizing by ``input_scale`` and the input (width, height).
        cell: (row, col) of the feature cell and the feature map's (width, height).
        stride: model-input pixels per cell; effective: native pixels per cell (y, x).
    """

    display: tuple[tuple[int, int], tuple[int, int]] | None
    native: tuple[tuple[int, int], tuple[int, int]]
    model_input: tuple[tuple[float, float], tuple[int, int]]
    cell: tuple[tuple[int, int], tuple[int, int]]
    stride: int
    effective: tuple[float, float]

    def text(self) -> str:
        """The chain as one line of Markdown."""
        parts = []
        if self.display is not None:
            (dx, dy), (dw, dh) = self.display
            parts.append(f"display ({dx}, {dy}) of {dw}×{dh}")
        (nx, ny), (nw, nh) = self.native
        (ix, iy), (iw, ih) = self.model_input
        (row, col), (fw, fh) = self.cell
        parts.append(f"native ({nx}, {ny}) of {nw}×{nh}")
        parts.append(f"model input ({ix:.1f}, {iy:.1f}) of {iw}×{ih}")
        parts.append(
            f"feature cell (row {row}, col {col}) of {fw}×{fh} "
            f"(stride {self.stride}; {self.effective[1]:g} native px per cell)"
        )
        return " → ".join(parts)


def pixel_chain(analysis: Analysis, native_xy: tuple[int, int], click: dict | None = None) -> PixelChain:
    """The display → native → model input → feature cell chain of one point."""
    x, y = native_xy
    sy, sx = analysis.scale
    h, w = analysis.native_size
    ih, iw = analysis.input_size
    fh, fw = analysis.feature_size
    display = None
    if click is not None:
        display = ((int(click["x"]), int(click["y"])), (int(click["width"]), int(click["height"])))
    return PixelChain(
        display=display,
        native=((x, y), (w, h)),
        model_input=(((x + 0.5) / sx - 0.5, (y + 0.5) / sy - 0.5), (iw, ih)),
        cell=(analysis.cell_of(x, y), (fw, fh)),
        stride=analysis.stride,
        effective=analysis.effective_stride,
    )


@dataclass
class StaticPanels:
    """Whole-image pictures of one (model, image), at display size, before any crosshair.

    Attributes:
        base: the picture the user clicks (image, prediction or GT blended on it).
        panels: title → picture (GA stage prediction, GA features, LDv1 mask, affinity maps).
        missing: what the model lacks, one sentence each (shown instead of those panels).
        cautions: why a panel shown says less than it seems to (a flat LDv1 mask), one sentence each.
        bars: title → the colour bar of that panel's scale (continuous maps only), stacked under it
            after the crosshair is drawn.
    """

    base: np.ndarray
    panels: dict[str, np.ndarray] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    cautions: list[str] = field(default_factory=list)
    bars: dict[str, np.ndarray] = field(default_factory=dict)

    def scalar(
        self, title: str, values: np.ndarray, lo: float, hi: float, cmap: str, label: str, size
    ) -> None:
        """Add a continuous map coloured on ``lo``…``hi`` (NaN grey) at ``size`` with its colour bar."""
        ph, pw = size
        self.panels[title] = resize(scalar_rgb(values, lo, hi, cmap=cmap), ph, pw, labels=True)
        self.bars[title] = colorbar(pw, lo, hi, cmap=cmap, label=label)


BACKGROUNDS = ("image", "prediction", "ground truth")


def static_panels(
    analysis: Analysis,
    image: np.ndarray,
    label: np.ndarray | None,
    *,
    display_hw: tuple[int, int],
    background: str,
    opacity: float,
    ga_features: np.ndarray | None,
    ga_view: str,
    ga_channel: int,
    mask_channel: int | None,
    entropy: np.ndarray | None,
    share: np.ndarray | None,
    label_set: LabelSet = CITYSCAPES,
) -> StaticPanels:
    """Colour every whole-image map once (display size), so clicks only add crosshairs.

    Args:
        analysis: the model's analysis of the image.
        image: native H×W×3 uint8.
        label: native GT trainIds or None.
        display_hw: (height, width) of the clickable picture (the maps get half of it).
        background: one of :data:`BACKGROUNDS` for the clickable picture.
        opacity: label overlay opacity.
        ga_features: X_g as C×h×w (for PCA or one channel), or None to use the channel mean.
        ga_view: a :data:`gald_viz.viz.features.FEATURE_VIEWS` entry.
        ga_channel: channel for the "one channel" view.
        mask_channel: LDv1 channel to show besides the mean, or None.
        entropy: h×w LDv2 affinity entropy (nats), or None.
        share: h×w same-GT-class share of the LDv2 weight, or None.
        label_set: the colours of the class maps.
    """
    dh, dw = display_hw
    small = resize(image, dh, dw)
    if background == "prediction":
        base = label_overlay(small, resize(analysis.pred, dh, dw, labels=True), opacity, label_set)
    elif background == "ground truth" and label is not None:
        base = label_overlay(small, resize(label, dh, dw, labels=True), opacity, label_set)
    else:
        base = small
    out = StaticPanels(base=base)

    # The maps sit three to a row, so they are drawn at half the clickable picture's size.
    ph, pw = max(1, dh // 2), max(1, dw // 2)

    def cells(rgb_small: np.ndarray) -> np.ndarray:
        return resize(rgb_small, ph, pw, labels=True)

    if "probe.ga" in analysis.probe_preds:
        out.panels["GA stage prediction (probe on X_g)"] = label_set.colorize(
            resize(analysis.probe_preds["probe.ga"], ph, pw, labels=True)
        )
    else:
        out.missing.append("No GA-stage probe head: the GA-stage prediction (Fig. 8) is not available.")
    size = (ph, pw)
    if ga_features is not None and ga_view == "PCA → RGB":
        out.panels["GA features X_g: PCA → RGB (first 3 components, no scale)"] = cells(
            feature_view(ga_features, ga_view, channel=ga_channel)
        )
    elif ga_features is not None or "ga" in analysis.maps:
        if ga_features is not None and ga_view == "one channel":
            values, what = one_channel(ga_features, ga_channel), f"channel {ga_channel}"
        else:
            values = channel_mean(ga_features) if ga_features is not None else analysis.maps["ga"]
            what = "channel mean"
        lo, hi = robust_range(values)
        out.scalar(f"GA features X_g: {what} (1st-99th percentile)", values, lo, hi, "viridis", "X_g", size)
    else:
        out.missing.append("No GA head (X_g): this model has no global aggregation output.")
    if analysis.ldv1_mask is not None:
        mean = analysis.maps.get("ldv1.mask", channel_mean(analysis.ldv1_mask))
        lo, hi = data_range(mean)
        out.scalar(
            "LDv1 mask: mean of M over channels (Fig. 7), data range", mean, lo, hi, "magma", "M", size
        )
        if caution := _flat_mask_caution(mean, analysis.ldv1_mask):
            out.cautions.append(caution)
        if mask_channel is not None:
            m = one_channel(analysis.ldv1_mask, mask_channel)
            lo, hi = data_range(m)
            out.scalar(f"LDv1 mask: channel {mask_channel} of M, data range", m, lo, hi, "magma", "M", size)
    else:
        out.missing.append("No LDv1: this model has no LDv1 mask M (Eq. 1).")
    if entropy is not None and analysis.ldv2_kernel:
        top = float(np.log(analysis.ldv2_kernel**2))
        title = f"LDv2 affinity entropy (0 … ln {analysis.ldv2_kernel**2} = {top:.2f} nats)"
        out.scalar(title, entropy, 0.0, top, "inferno", "nats", size)
        if share is not None:
            title = "LDv2 weight on same-GT-class neighbours (grey: ignore cells, no class)"
            out.scalar(title, share, 0.0, 1.0, "RdYlGn", "share", size)
    elif analysis.affinity is None:
        out.missing.append("No LDv2: this model has no affinity (Eq. 7) to inspect at a pixel.")
    return out


@dataclass
class ClickView:
    """Everything the page shows for one clicked pixel.

    Attributes:
        chain: the coordinate chain of the point.
        clickable: the clickable picture with crosshair (and the sampled cells, with LDv2).
        panels: the static panels with a crosshair at the point.
        affinity: the LDv2 affinity at the point (None without LDv2).
        crop: the zoomed window (None without LDv2).
        table: the k×k weights as a table (None without LDv2).
        values: point read-outs (classes, mask mean, entropy, share), name → text.
    """

    chain: PixelChain
    clickable: np.ndarray
    panels: dict[str, np.ndarray]
    affinity: AffinityView | None
    crop: aff.Crop | None
    table: pd.DataFrame | None
    values: dict[str, str]


def click_view(
    analysis: Analysis,
    image: np.ndarray,
    label: np.ndarray | None,
    static: StaticPanels,
    native_xy: tuple[int, int],
    *,
    click: dict | None = None,
    label_set: LabelSet = CITYSCAPES,
) -> ClickView:
    """The per-click part: index the analysis at the point and draw it on every panel.

    Args:
        analysis: the model's analysis of the image.
        image: native H×W×3 uint8 (drawn under the zoomed window).
        label: native GT trainIds or None.
        static: the panels from :func:`static_panels`.
        native_xy: the point in native pixels.
        click: the raw click (display coordinates) that chose the point, for the chain.
        label_set: names the classes at the point.
    """
    x, y = native_xy
    h, w = analysis.native_size
    dh, dw = static.base.shape[:2]
    scale = dw / w
    chain = pixel_chain(analysis, native_xy, click)
    row, col = chain.cell[0]
    values = {
        "prediction": class_name(int(analysis.pred[y, x]), label_set),
        "confidence": f"{float(analysis.confidence[y, x]):.3f}",
    }
    if label is not None:
        values["ground truth"] = class_name(int(label[y, x]), label_set)
    if analysis.ldv1_mask is not None:
        values["LDv1 mask mean at cell"] = (
            f"{float(analysis.ldv1_mask[:, row, col].astype(np.float32).mean()):.3f}"
        )
    view = crop = table = None
    if analysis.affinity is not None:
        view = affinity_at(analysis, x, y, label)
        stride = analysis.effective_stride
        clickable = aff.draw_on_image(static.base, view, stride, scale=scale)
        crop = aff.zoom_crop(image, view, stride, dilation=analysis.ldv2_dilation)
        table = aff.weights_table(view, analysis.ldv2_dilation)
        values["entropy"] = f"{view.entropy:.3f} nats ({view.entropy_normalised:.0%} of max)"
        values["same-GT-class share"] = (
            "n/a" if view.same_class_share is None else f"{view.same_class_share:.3f}"
        )
        values["weight on outside positions"] = f"{view.outside_share:.3f}"
    else:
        clickable = draw_crosshair(static.base, (x + 0.5) * scale, (y + 0.5) * scale)
    panels = {}
    for title, rgb in static.panels.items():
        marked = draw_crosshair(rgb, (x + 0.5) * rgb.shape[1] / w, (y + 0.5) * rgb.shape[0] / h)
        bar = static.bars.get(title)
        panels[title] = (
            marked if bar is None else np.vstack([marked, resize(bar, bar.shape[0], rgb.shape[1])])
        )
    return ClickView(
        chain=chain, clickable=clickable, panels=panels, affinity=view, crop=crop, table=table, values=values
    )


def _flat_mask_caution(mean: np.ndarray, mask: np.ndarray) -> str | None:
    """Why an LDv1 mask picture of the channel mean says little, when that mean is flat; None when it
    varies. A flat mean does not tell a trained branch from an untrained one: the single channels of the
    bundled models' M vary (median channel spread 0.19) as much as those of a branch left at its
    initialisation (0.25, the models of issue 14), so the caution points at the measurements that do."""
    spread = mask_spread(mean)
    if spread >= FLAT_SPREAD:
        return None
    return (
        f"The LDv1 mask's channel mean barely varies over this image: it spans {spread:.3f} between its"
        f" 5th and 95th percentile (under {FLAT_SPREAD}), and its panel is stretched to that range, so small"
        f" differences look large. The single channels of M vary more (median channel spread"
        f" {float(np.median(channel_spreads(mask))):.3f}; pick a channel of M), but they do not open"
        " together, and a mask branch left at its initialisation looks the same. How far the branch moved"
        " in training: `python scripts/branch_learning.py`; whether the mask matters: the knock-out"
        " `ldv1.mask=mean` (Mechanisms)."
    )
