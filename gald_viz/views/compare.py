"""The Compare page's view: GA vs GALD on one image, as figures, tables and texts.

GA (global aggregation only) against GALD (the same with local distribution), GALD (Li et al., IEEE
TIP 2021): both predictions with linked zoom, the error maps and the four-way map (Fig. 10), per-image
mIoU and boundary F at Table V's tolerances, and the GALD model's stage predictions (Fig. 8). Cached
inputs (analyses, error maps, scores) arrive in :class:`CompareInputs`; nothing here runs a network.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gald_viz.analysis import Analysis
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.data.sample import Sample
from gald_viz.metrics import reduce
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, threshold_index, threshold_label
from gald_viz.pairing import PairReport
from gald_viz.views.parts import Export, display_hw
from gald_viz.viz import paper_figures as pf
from gald_viz.viz.compare import ErrorViews, ImageScores, convention, per_class_table, scores_table
from gald_viz.viz.figures import ImagePanel, synced_panels
from gald_viz.viz.overlays import ERROR_COLORS, FOURWAY_COLORS, label_overlay, resize

PANEL_WIDTH = 330
"""Displayed width of one panel in px; panel heights follow the image's aspect from it."""


@dataclass(frozen=True)
class CompareInputs:
    """What the Compare view is built from (the expensive parts come cached).

    Attributes:
        sample: the image, its GT (or None) and name.
        source_text: the data's provenance.
        ga_name, gald_name: the models as the user picked them.
        gald_ld_kind: the GALD model's local distribution ("ldv1", "ldv2", "none").
        opacity: label overlay opacity.
        ga, gald: the models' analyses of the image.
        errors: error maps at :func:`display_hw` (None without GT).
        scores: (GA, GALD) scores on the image (None without GT).
        pair: what differs between the two models (None: not checked).
        stage_scores: the GALD checkpoint's recorded validation mIoU per head (``out``, ``probe.*``) and
            where it was measured (None: the checkpoint recorded none).
        label_set: the classes of the data and both models (names, colours).
    """

    sample: Sample
    source_text: str
    ga_name: str
    gald_name: str
    gald_ld_kind: str
    opacity: float
    ga: Analysis
    gald: Analysis
    errors: ErrorViews | None = None
    scores: tuple[ImageScores, ImageScores] | None = None
    pair: PairReport | None = None
    stage_scores: tuple[dict[str, float], str] | None = None
    label_set: LabelSet = CITYSCAPES


@dataclass
class ErrorsPart:
    """Errors against the GT: the synced error panels, their legend, export and four-way counts."""

    figure: go.Figure
    legend: str
    export: Export
    counts: pd.DataFrame


@dataclass
class ScoresPart:
    """Scores on this image: one row per model, the conventions line, and per-class tables."""

    table: pd.DataFrame
    convention: str
    scores: dict[str, ImageScores]
    label_set: LabelSet = CITYSCAPES

    def per_class(self, px: int) -> tuple[str, pd.DataFrame]:
        """Title and per-class IoU/F table at the Table V tolerance the paper calls ``px`` (3/5/9/12).

        The tolerance is picked by its index: on an image that is not 1024×2048 the radius differs.
        """
        first = next(iter(self.scores.values()))
        t_index = threshold_index(px)
        label = threshold_label(first.thresholds[t_index], first.radii[t_index])
        return f"Per class at {label}", per_class_table(self.scores, t_index, self.label_set)


@dataclass
class StagesPart:
    """The GALD model's stage predictions (Fig. 8)."""

    title: str
    note: str | None
    figure: go.Figure
    export: Export


@dataclass
class PairPart:
    """What differs between the two models: a one-line summary, warnings, and the aspect table."""

    summary: str
    warnings: tuple[str, ...]
    table: pd.DataFrame


@dataclass
class CompareView:
    """Everything the Compare page shows, top to bottom."""

    title: str
    caption: str
    pair: PairPart | None
    panels: go.Figure
    export: Export
    no_gt: str | None
    errors: ErrorsPart | None
    scores: ScoresPart | None
    stages: StagesPart


def swatches(colors: dict[str, tuple[int, int, int]]) -> str:
    """An inline HTML legend: a coloured square before each name."""
    return " · ".join(f"<span style='color:rgb{tuple(rgb)}'>■</span> {name}" for name, rgb in colors.items())


def compare_view(inp: CompareInputs) -> CompareView:
    """Build the Compare page's figures, tables and texts."""
    sample, ga_an, gald_an = inp.sample, inp.ga, inp.gald
    image, gt = sample.image, sample.label
    h, w = image.shape[:2]
    dh, dw = display_hw(image)
    small = resize(image, dh, dw)
    ls = inp.label_set
    colorize = ls.colorize

    def overlay(label_map: np.ndarray) -> np.ndarray:
        return label_overlay(small, resize(label_map, dh, dw, labels=True), inp.opacity, ls)

    def grid(panels: list[ImagePanel], hover: dict, ncols: int, rows_scale: float) -> go.Figure:
        height = round(PANEL_WIDTH * dh / dw * rows_scale)
        return synced_panels(
            panels, native_size=(h, w), hover_labels=hover, ncols=ncols, panel_height=height, label_set=ls
        )

    # The exports colour label maps with the palette (ignore black); the page blends them on the image.
    palette = "Cityscapes palette" if ls.is_cityscapes else f"palette of label set {ls.name!r}"
    caption = (
        f"{inp.source_text}, image {sample.name} ({w}×{h} px). GA: {inp.ga_name}; GALD: {inp.gald_name}. "
        f"{palette}; GT label {ls.ignore_id} (ignore) drawn black."
    )
    panels = [ImagePanel("image", small)]
    hover = {"GA": ga_an.pred, "GALD": gald_an.pred}
    if gt is not None:
        panels.append(ImagePanel("ground truth", overlay(gt)))
        hover = {"GT": gt, **hover}
    panels += [
        ImagePanel(f"GA: {inp.ga_name}", overlay(ga_an.pred)),
        ImagePanel(f"GALD: {inp.gald_name}", overlay(gald_an.pred)),
    ]

    def side_by_side_figure():
        figure_panels = [pf.Panel("image", image)]
        maps = [ga_an.pred, gald_an.pred]
        if gt is not None:
            figure_panels.append(pf.Panel("ground truth", colorize(gt)))
            maps.append(gt)
        figure_panels += [
            pf.Panel(f"GA ({inp.ga_name})", colorize(ga_an.pred)),
            pf.Panel(f"GALD ({inp.gald_name})", colorize(gald_an.pred)),
        ]
        present = pf.classes_present(*maps, label_set=ls)
        return pf.layout(figure_panels, caption=caption, ncols=2, legend_classes=present, label_set=ls)

    errors = None
    if inp.errors is not None:
        err = inp.errors

        def error_figure():
            pics = {
                f"GA errors ({inp.ga_name})": err.ga,
                f"GALD errors ({inp.gald_name})": err.gald,
                "four-way": err.fourway,
            }
            legend_colors = {f"error: {k}": v for k, v in ERROR_COLORS.items()} | {
                f"four-way: {k}": v for k, v in FOURWAY_COLORS.items()
            }
            return pf.fig10_error_maps(
                small,
                resize(gt, dh, dw, labels=True),
                pics,
                caption=caption,
                error_legend=legend_colors,
                label_set=ls,
            )

        error_panels = [
            ImagePanel(f"GA errors: {inp.ga_name}", err.ga),
            ImagePanel(f"GALD errors: {inp.gald_name}", err.gald),
            ImagePanel("four-way: GA vs GALD", err.fourway),
        ]
        errors = ErrorsPart(
            figure=grid(error_panels, hover, 3, 1.4),
            legend=f"Error maps: {swatches(ERROR_COLORS)}  \nFour-way: {swatches(FOURWAY_COLORS)}",
            export=Export(
                "errors", "Export the error maps (Fig. 10 layout)", error_figure, f"errors_{sample.name}"
            ),
            counts=err.fourway_counts,
        )

    stages = {}
    heads = (("probe.backbone", "FCN stage (probe on X"), ("probe.ga", "GA stage (probe on X_g"))
    for head, title in heads:
        if head in gald_an.probe_preds:
            stages[title + _stage_miou(inp, head) + ")"] = gald_an.probe_preds[head]
    stages[f"final ({inp.gald_ld_kind}{_stage_miou(inp, 'out')})"] = gald_an.pred
    stage_panels = [ImagePanel(title, overlay(pred)) for title, pred in stages.items()]
    if gt is not None:
        stage_panels.append(ImagePanel("ground truth", overlay(gt)))
    no_probes = (
        f"`{inp.gald_name}` has no probe heads, so only its final prediction is available (no FCN/GA stages)."
    )
    stage_note = "Stages are 1×1 probe classifiers on the detached backbone output X and GA output X_g. " + (
        f"Validation mIoU: {inp.stage_scores[1]}, recorded in the checkpoint."
        if inp.stage_scores
        else f"`{inp.gald_name}` recorded no validation mIoU for its probes."
    )

    header = f"`{sample.name}` · GA model `{inp.ga_name}` · GALD model `{inp.gald_name}`"
    no_gt = (
        f"`{sample.name}` has no ground truth, so error maps and scores are not available. Upload a label "
        "map or pick a data source with labels."
    )
    return CompareView(
        title="Compare GA and GALD",
        caption=f"{header} · zoom or pan any panel: all follow · GT {ls.ignore_id} (ignore): the bare image",
        pair=None if inp.pair is None else PairPart(inp.pair.summary, inp.pair.warnings, inp.pair.table()),
        panels=grid(panels, hover, 2, 2),
        export=Export(
            "panels", "Export the side-by-side figure", side_by_side_figure, f"compare_{sample.name}"
        ),
        no_gt=None if gt is not None else no_gt,
        errors=errors,
        scores=None if inp.scores is None else _scores_part(inp, h, w),
        stages=StagesPart(
            title=f"Stage predictions of {inp.gald_name} (Fig. 8)",
            note=no_probes if len(stages) == 1 else stage_note,
            figure=grid(stage_panels, {title.split(" (")[0]: pred for title, pred in stages.items()}, 2, 2),
            export=Export(
                "stages",
                "Export Fig. 8 layout",
                lambda: pf.fig8_stage_predictions(image, gt, stages, caption=caption, label_set=ls),
                f"stages_{sample.name}",
            ),
        ),
    )


def _stage_miou(inp: CompareInputs, head: str) -> str:
    """``", val mIoU 54.1 %"`` from the checkpoint's record, or nothing."""
    if inp.stage_scores is None or head not in inp.stage_scores[0]:
        return ""
    return f", val mIoU {100 * inp.stage_scores[0][head]:.1f} %"


def _scores_part(inp: CompareInputs, h: int, w: int) -> ScoresPart:
    """The scores section; every call into the scoring functions of :mod:`gald_viz.viz.compare` is here."""
    ga_scores, gald_scores = inp.scores
    all_scores = {f"GA: {inp.ga_name}": ga_scores, f"GALD: {inp.gald_name}": gald_scores}
    k = inp.label_set.num_classes
    return ScoresPart(
        table=scores_table(all_scores),
        convention=convention(h, w, ga_scores.radii, DEFAULT_THRESHOLDS, k)
        + _all_ignore_note(inp, ga_scores),
        scores=all_scores,
        label_set=inp.label_set,
    )


def _all_ignore_note(inp: CompareInputs, scores: ImageScores) -> str:
    """A warning for ground truth that is all ignore (every F is a conventional 1)."""
    empty = reduce.gt_all_ignore(scores.stats.arrays)
    return f" Warning: {reduce.all_ignore_warning([inp.sample.name])}." if empty else ""
