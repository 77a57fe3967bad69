"""The Local distribution page's view: what LDv2 mixes at a clicked pixel, next to GA outputs and LDv1.

GALD (Li et al., IEEE TIP 2021): the LDv2 affinity at a point (Eq. 6-8, Fig. 9), the GA output X_g and
the LDv1 mask M (Eq. 1, Fig. 7). The page builds it in two steps: :func:`controls` says what its widgets
offer for the model, and :func:`local_view` turns the cached whole-image panels
(:func:`gald_viz.viz.inspector.static_panels`) and the clicked pixel into figures, tables and texts.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gald_viz.analysis import Analysis
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.data.sample import Sample
from gald_viz.hooks import available_taps
from gald_viz.views.parts import Export, display_hw
from gald_viz.viz import paper_figures as pf
from gald_viz.viz.features import channel_mean
from gald_viz.viz.figures import weights_heatmap
from gald_viz.viz.inspector import StaticPanels, click_view
from gald_viz.viz.overlays import draw_crosshair
from gald_viz.viz.zoom import ZoomWindow, zoom_rgb, zoom_window

MAPS_PER_ROW = 3


@dataclass(frozen=True)
class Controls:
    """What the page's widgets offer for one model.

    Attributes:
        has_ga: the model has a GA head (X_g views are enabled).
        ga_channel_max: the last X_g channel.
        mask_channel_max: the last LDv1 channel of M, or None without LDv1.
    """

    has_ga: bool
    ga_channel_max: int
    mask_channel_max: int | None


def controls(analysis: Analysis, model) -> Controls:
    """The widget ranges of a model and its analysis."""
    taps = {t.name: t for t in available_taps(model)}
    return Controls(
        has_ga="ga" in taps,
        ga_channel_max=(taps["ga"].channels if "ga" in taps else 1) - 1,
        mask_channel_max=None if analysis.ldv1_mask is None else analysis.ldv1_mask.shape[0] - 1,
    )


@dataclass(frozen=True)
class Choices:
    """The view the user picked: how X_g is drawn, which LDv1 channel, what the clickable picture shows."""

    ga_view: str
    ga_channel: int
    mask_channel: int | None
    background: str

    @classmethod
    def from_widgets(cls, ga_view: str, ga_channel: float, mask_channel: float | None, background: str):
        """From widget values: a negative LDv1 channel means none."""
        mask = None if mask_channel is None or mask_channel < 0 else int(mask_channel)
        return cls(ga_view=ga_view, ga_channel=int(ga_channel), mask_channel=mask, background=background)

    def panel_settings(self, image: np.ndarray, opacity: float) -> dict[str, object]:
        """The view settings of :func:`gald_viz.viz.inspector.static_panels` (the panels' cache key)."""
        return {
            "display_hw": display_hw(image),
            "background": self.background,
            "opacity": opacity,
            "ga_view": self.ga_view,
            "ga_channel": self.ga_channel,
            "mask_channel": self.mask_channel,
        }

    @property
    def wants_features(self) -> bool:
        """The X_g view needs the full features (PCA, one channel), not only their channel mean."""
        return self.ga_view != "channel mean"


@dataclass
class AffinityPart:
    """The LDv2 window at the point: zoomed crop, weights table, and the Fig. 9 export."""

    title: str
    crop: np.ndarray
    crop_caption: str
    table: pd.DataFrame
    caption: str
    export: Export


@dataclass
class LocalView:
    """Everything the Local distribution page shows for one clicked pixel, top to bottom."""

    missing: list[str]
    cautions: list[str]
    prompt: str
    clickable: np.ndarray
    point: str
    pixel: str
    readout: dict[str, list[str]]
    heatmap: go.Figure | None
    affinity: AffinityPart | None
    map_rows: list[list[tuple[str, np.ndarray]]]
    exports: list[Export]


def local_view(
    an: Analysis,
    sample: Sample,
    static: StaticPanels,
    native_xy: tuple[int, int],
    *,
    click: dict | None,
    model_name: str,
    source_text: str,
    mask_channel: int | None,
    label_set: LabelSet = CITYSCAPES,
) -> LocalView:
    """Build the page for the point ``native_xy`` (chosen by ``click``, or None when it came from the URL)."""
    image, gt = sample.image, sample.label
    h, w = image.shape[:2]
    x, y = native_xy
    view = click_view(an, image, gt, static, native_xy, click=click, label_set=label_set)
    affinity = None
    if view.affinity is not None:
        k, r = an.ldv2_kernel, an.ldv2_dilation
        share = view.values["same-GT-class share"]
        caption = (
            f"LDv2 affinity (GALD Eq. 7) of {model_name} at native pixel ({x}, {y}) of {sample.name} "
            f"({w}×{h}); feature cell {view.affinity.cell}, k={k}, r={r}, {an.effective_stride[1]:g} native "
            f"px per cell; entropy {view.affinity.entropy:.3f} nats; same-GT-class share {share}."
        )
        affinity = AffinityPart(
            title=f"LDv2 affinity at ({x}, {y}): {k}×{k} weights, dilation {r}",
            crop=view.crop.rgb,
            crop_caption="Sampling positions around the point (grey × = outside the image)",
            table=view.table,
            caption=f"Entropy {view.affinity.entropy:.3f} nats (uniform = ln {k**2}); share on neighbours "
            f"with the clicked pixel's GT class: {share}. Outside positions are zero-padded keys: they keep "
            "a softmax weight but add no value.",
            export=Export(
                "fig9",
                "Export Fig. 9 layout",
                lambda: pf.fig9_affinity(
                    view.crop.rgb,
                    view.affinity.weights,
                    view.affinity.inside,
                    draw_crosshair(image, x + 0.5, y + 0.5),
                    marker=(x, y),
                    caption=caption,
                    window=view.crop.window,
                ),
                f"affinity_{sample.name}_{x}_{y}",
            ),
        )
    titles = list(view.panels)
    return LocalView(
        missing=[f"`{model_name}`: {line}" for line in static.missing],
        cautions=[f"`{model_name}`: {line}" for line in static.cautions],
        prompt="**Click the image** to inspect a pixel"
        + (" (LDv2 window drawn in place)." if view.affinity else "."),
        clickable=view.clickable,
        point=f"**Point:** {view.chain.text()}",
        pixel=f"**Native pixel:** `x={x}, y={y}`",
        readout={"read-out": list(view.values), "value": list(view.values.values())},
        heatmap=None
        if view.affinity is None
        else weights_heatmap(view.affinity.weights, view.affinity.inside, dilation=an.ldv2_dilation),
        affinity=affinity,
        map_rows=[
            [(t, view.panels[t]) for t in titles[start : start + MAPS_PER_ROW]]
            for start in range(0, len(titles), MAPS_PER_ROW)
        ],
        exports=_map_exports(
            an, sample, view.panels, (x, y), model_name, source_text, mask_channel, label_set
        ),
    )


def _map_exports(
    an: Analysis,
    sample: Sample,
    panels: dict[str, np.ndarray],
    native_xy: tuple[int, int],
    model_name: str,
    source_text: str,
    mask_channel: int | None,
    label_set: LabelSet = CITYSCAPES,
) -> list[Export]:
    """The exports under the maps: the LDv1 mask (Fig. 7) and the maps with the point marked."""
    image = sample.image
    h, w = image.shape[:2]
    x, y = native_xy
    base_caption = f"{model_name} on {sample.name} ({w}×{h}), {source_text}."
    exports = []
    if an.ldv1_mask is not None:
        exports.append(
            Export(
                "fig7",
                "Export Fig. 7 layout (LDv1 mask)",
                lambda: pf.fig7_ldv1_mask(
                    image,
                    channel_mean(an.ldv1_mask),
                    an.pred,
                    caption="LDv1 mask M (GALD Eq. 1), mean over channels, coloured on its data range "
                    "(M = σ of a ReLU output lies in [0.5, 1)). " + base_caption,
                    channel=None if mask_channel is None else (mask_channel, an.ldv1_mask[mask_channel]),
                    label_set=label_set,
                ),
                f"ldv1_mask_{sample.name}",
            )
        )
    if panels:
        exports.append(
            Export(
                "maps",
                "Export these maps",
                lambda: pf.layout(
                    [pf.Panel(title, rgb) for title, rgb in panels.items()],
                    caption=f"Maps with the clicked pixel ({x}, {y}) marked. " + base_caption,
                    ncols=min(MAPS_PER_ROW, len(panels)),
                    legend_classes=pf.classes_present(an.pred, label_set=label_set),
                    label_set=label_set,
                ),
                f"maps_{sample.name}",
            )
        )
    return exports


@dataclass
class ZoomPart:
    """The magnified crop around the point: itself clickable, its clicks mapped through ``window``."""

    rgb: np.ndarray
    window: ZoomWindow
    caption: str


def zoom_part(
    an: Analysis,
    sample: Sample,
    native_xy: tuple[int, int],
    factor: int,
    background: str,
    opacity: float,
    label_set: LabelSet = CITYSCAPES,
) -> ZoomPart:
    """The zoomed crop (``factor`` screen pixels per native pixel) on the chosen background."""
    window = zoom_window(an.native_size, native_xy, factor)
    overlay = None
    if background == "prediction":
        overlay = an.pred
    elif background == "ground truth" and sample.label is not None:
        overlay = sample.label
    rgb = zoom_rgb(sample.image, window, native_xy, overlay=overlay, opacity=opacity, label_set=label_set)
    caption = (
        f"Zoom ×{factor}: native columns {window.left}–{window.left + window.width - 1}, rows "
        f"{window.top}–{window.top + window.height - 1}; click here to pick a native pixel exactly."
    )
    return ZoomPart(rgb=rgb, window=window, caption=caption)
